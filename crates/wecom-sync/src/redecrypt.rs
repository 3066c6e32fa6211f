//! Retrying every stored failure with the current key ring (e.g. after `keys add` of an old key).

use std::collections::BTreeMap;
use std::sync::Arc;

use wecom_crypto::KeyRing;
use wecom_store::Outcome;

use crate::decrypt::{decrypt_item, now_ms};
use crate::engine::{SharedStore, SyncError, blocking};

/// Batch size of one resolve transaction.
const BATCH: usize = 1000;

/// What a redecrypt run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedecryptReport {
    pub attempted: u64,
    pub fixed: u64,
    pub still_failing: u64,
    pub still_failing_by_code: BTreeMap<i32, u64>,
}

/// Re-runs decryption for every failed record of `corp_id`; fixed records move into the archive,
/// the others keep their failure with an updated reason and attempt count.
pub async fn redecrypt(
    store: SharedStore,
    keys: Arc<KeyRing>,
    corp_id: &str,
) -> Result<RedecryptReport, SyncError> {
    let corp = corp_id.to_owned();
    let failed = {
        let store = store.clone();
        let corp = corp.clone();
        wecom_store::blocking(move || store.failed_records(&corp, usize::MAX)).await?
    };
    let mut report = RedecryptReport::default();
    let mut batches = Vec::new();
    let mut rest = failed;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(BATCH));
        batches.push(rest);
        rest = tail;
    }
    for batch in batches {
        let keys = keys.clone();
        let results: Vec<(String, Outcome)> = blocking(move || {
            batch
                .into_iter()
                .map(|f| {
                    let outcome = decrypt_item(&keys, &f.item);
                    (f.item.msgid, outcome)
                })
                .collect()
        })
        .await?;
        for (_, outcome) in &results {
            report.attempted += 1;
            match outcome {
                Outcome::Decrypted { .. } => report.fixed += 1,
                Outcome::Failed(f) => {
                    report.still_failing += 1;
                    *report.still_failing_by_code.entry(f.code).or_default() += 1;
                }
            }
        }
        let store = store.clone();
        let corp = corp.clone();
        wecom_store::blocking(move || store.resolve_failures(&corp, &results, now_ms())).await?;
    }
    Ok(report)
}
