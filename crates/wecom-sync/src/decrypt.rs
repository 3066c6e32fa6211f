//! Turning encrypted records into store outcomes. CPU-bound: runs on blocking threads only.

use wecom_crypto::{KeyRing, decrypt_record};
use wecom_model::parse_envelope;
use wecom_store::{Derived, Failure, IngestedRecord, Outcome, PageCommit};
use wecom_wire::{ChatDataItem, SdkCode};

/// The SDK-style code recorded when a record decrypts but is not a readable envelope
/// (10002, "data could not be parsed").
pub const JSON_FAILURE_CODE: i32 = 10002;

/// Decrypts and parses one record, and derives what the store keeps about the message (here, on
/// the decrypting threads, so the single committing thread never parses JSON). Never fails: a
/// failure is an outcome to store, not to drop.
pub fn decrypt_item(keys: &KeyRing, item: &ChatDataItem) -> Outcome {
    match decrypt_record(
        keys,
        item.publickey_ver,
        &item.encrypt_random_key,
        &item.encrypt_chat_msg,
    ) {
        Err(e) => Outcome::Failed(Failure {
            stage: e.stage().to_owned(),
            code: e.code().code(),
            reason: e.to_string(),
            plaintext: None,
        }),
        Ok(plaintext) => outcome_of_plaintext(plaintext),
    }
}

/// What the store keeps of a record that decrypted to `plaintext`: the parsed envelope and what is
/// derived from it, or — when it is not a readable envelope — a failure keeping the plaintext.
pub fn outcome_of_plaintext(plaintext: Vec<u8>) -> Outcome {
    match parse_envelope(&plaintext) {
        Ok(envelope) => Outcome::Decrypted {
            plaintext,
            derived: Derived::from_envelope(&envelope),
            envelope,
        },
        Err(e) => Outcome::Failed(Failure {
            stage: "json".to_owned(),
            code: SdkCode::DataParse.code(),
            reason: e.to_string(),
            plaintext: Some(plaintext),
        }),
    }
}

/// Decrypts a page on up to `threads` threads (the RSA step dominates), keeping record order.
/// Lowers the calling thread below the rest of the process (the lowest niceness of the normal
/// scheduling policy on Linux). Never needs privileges; a failure only leaves the priority as it
/// was.
fn lower_priority() {
    if let Err(e) =
        thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min)
    {
        tracing::debug!(error = ?e, "cannot lower a decryption thread's priority");
    }
}

pub fn decrypt_page(
    keys: &KeyRing,
    items: Vec<ChatDataItem>,
    cursor: u64,
    threads: usize,
) -> PageCommit {
    let fetched_at_ms = now_ms();
    let threads = threads.max(1).min(items.len().max(1));
    let chunk = items.len().div_ceil(threads).max(1);
    // Always on threads of its own, each lowered in priority first: decryption is the bulk of an
    // ingest and may use every idle core, but a read, a commit or a request must never wait
    // behind it for a core. (The threads end with the page, so the priority is never restored.)
    let outcomes: Vec<Outcome> = {
        std::thread::scope(|s| {
            let handles: Vec<_> = items
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        lower_priority();
                        part.iter()
                            .map(|i| decrypt_item(keys, i))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .zip(items.chunks(chunk))
                .flat_map(|(h, part)| {
                    // A panic in a decrypt thread is a bug; record it as a failure, never drop the records.
                    h.join().unwrap_or_else(|_| {
                        part.iter()
                            .map(|_| {
                                Outcome::Failed(Failure {
                                    stage: "internal".to_owned(),
                                    code: SdkCode::System.code(),
                                    reason: "decryption thread panicked".to_owned(),
                                    plaintext: None,
                                })
                            })
                            .collect()
                    })
                })
                .collect()
        })
    };
    let records = items
        .into_iter()
        .zip(outcomes)
        .map(|(item, outcome)| IngestedRecord {
            item,
            fetched_at_ms,
            outcome,
        })
        .collect();
    PageCommit {
        records,
        cursor,
        quarantined: Vec::new(),
    }
}

pub(crate) use wecom_wire::clock::now_ms;

#[cfg(test)]
mod tests {
    use super::*;

    /// The niceness of the calling thread, from `/proc` (field 19 of its `stat`).
    fn niceness() -> i64 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("stat");
        let (_, fields) = stat.rsplit_once(')').expect("comm");
        fields
            .split_whitespace()
            .nth(16)
            .and_then(|n| n.parse().ok())
            .expect("nice field")
    }

    #[test]
    fn a_decryption_thread_runs_below_the_rest_of_the_process() {
        let (before, after) = std::thread::spawn(|| {
            let before = niceness();
            lower_priority();
            (before, niceness())
        })
        .join()
        .expect("thread");
        assert!(after > before, "niceness {before} → {after}");
        // The caller's own thread is left as it was.
        assert_eq!(niceness(), before);
    }
}
