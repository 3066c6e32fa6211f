//! A decrypted archive built straight from the emulator's plaintext corpus (realistic text), with
//! no RSA and no HTTP, so search benchmarks can start from a million messages in about a minute.
//! The records go through the store's writer role exactly as the sync engine commits them.

use std::path::Path;
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{Context, bail};
use wecom_emulator::{CorpusGenerator, CorpusSpec, PlainRecord, TextStyle};
use wecom_store::{IngestedRecord, PageCommit, StoreLocation};
use wecom_wire::ChatDataItem;

/// Records per committed page, as a sync page.
const PAGE: usize = 1000;

/// Pages generated ahead of the committing thread.
const AHEAD: usize = 4;

/// What [`build_plain_archive`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlainArchive {
    /// Records committed (all new: the archive was empty).
    pub records: u64,
    /// Seconds the generating thread spent generating and parsing the records.
    pub generate_secs: f64,
    /// Seconds spent in `commit_page`.
    pub commit_secs: f64,
    /// Seconds from start to the last commit (generation overlaps committing).
    pub total_secs: f64,
}

/// Generates `messages` records of the realistic-text corpus of `seed` and commits them, as
/// decrypted messages, to a new SQLite archive at `path` for `corp_id`, in pages of 1000.
/// Generation and parsing run on a thread of their own, ahead of the committing thread.
/// `progress(committed, messages)` is called after each page. The encrypted fields of each record
/// are left empty: nothing was encrypted. Refuses an archive that already holds records of the
/// corp, whose seqs would clash.
pub fn build_plain_archive(
    path: &Path,
    corp_id: &str,
    messages: usize,
    seed: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> anyhow::Result<PlainArchive> {
    let started = Instant::now();
    let roles = wecom_store::open(&StoreLocation::Sqlite(path.to_owned()))
        .with_context(|| format!("cannot open archive {}", path.display()))?;
    if roles.reader.max_record_seq(corp_id)?.is_some() {
        bail!(
            "archive {} already holds records of {corp_id}",
            path.display()
        );
    }
    let spec = CorpusSpec {
        corp_id: corp_id.to_owned(),
        text: TextStyle::Realistic,
        ..CorpusSpec::new(seed, 0)
    };
    let (pages, received) = mpsc::sync_channel::<PageCommit>(AHEAD);
    std::thread::scope(|s| {
        let generator = s.spawn(move || generate_pages(&spec, messages, &pages));
        let mut committed = 0u64;
        let mut commit_secs = 0.0;
        // Ends when the generator has sent its last page (or stopped because this loop failed
        // and dropped the receiver).
        for page in received {
            let commit = Instant::now();
            roles
                .writer
                .commit_page(corp_id, &page)
                .with_context(|| format!("cannot commit to archive {}", path.display()))?;
            commit_secs += commit.elapsed().as_secs_f64();
            committed += page.records.len() as u64;
            progress(committed, messages as u64);
        }
        let generate_secs = generator
            .join()
            .map_err(|_| anyhow::anyhow!("the corpus generator panicked"))?;
        Ok(PlainArchive {
            records: committed,
            generate_secs,
            commit_secs,
            total_secs: started.elapsed().as_secs_f64(),
        })
    })
}

/// Sends `messages` records in pages; returns the seconds spent. Stops early if the receiver is
/// gone.
fn generate_pages(spec: &CorpusSpec, messages: usize, pages: &mpsc::SyncSender<PageCommit>) -> f64 {
    let mut secs = 0.0;
    let mut generator = CorpusGenerator::new(spec);
    let mut left = messages;
    while left > 0 {
        let started = Instant::now();
        let n = left.min(PAGE);
        left -= n;
        let fetched_at_ms = now_ms();
        let records: Vec<IngestedRecord> = generator
            .next_records(n)
            .into_iter()
            .map(|r| ingested(r, fetched_at_ms))
            .collect();
        let page = PageCommit {
            cursor: generator.last_seq(),
            records,
            quarantined: Vec::new(),
        };
        secs += started.elapsed().as_secs_f64();
        if pages.send(page).is_err() {
            break;
        }
    }
    secs
}

/// One record as the sync engine would store it after decryption: parsed and derived the same way
/// (`wecom_sync::outcome_of_plaintext`), with empty encrypted fields.
fn ingested(record: PlainRecord, fetched_at_ms: i64) -> IngestedRecord {
    // The emulator writes valid envelopes; were one not, it is kept as a failure, as sync would.
    let outcome = wecom_sync::outcome_of_plaintext(record.plaintext.into_bytes());
    IngestedRecord {
        item: ChatDataItem {
            seq: record.seq,
            msgid: record.msgid,
            publickey_ver: 1,
            encrypt_random_key: String::new(),
            encrypt_chat_msg: String::new(),
        },
        fetched_at_ms,
        outcome,
    }
}

use wecom_wire::clock::now_ms;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_decrypted_archive_of_realistic_text() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("archive.db");
        let mut calls = Vec::new();
        let built = build_plain_archive(&path, "wwplain", 3000, 7, &mut |done, total| {
            calls.push((done, total))
        })
        .expect("build");
        assert_eq!(built.records, 3000);
        assert_eq!(calls.len(), 3);
        assert_eq!(calls.last(), Some(&(3000, 3000)));

        let reader = wecom_store::open_reader(&StoreLocation::Sqlite(path.clone())).expect("open");
        let stats = reader.stats("wwplain").expect("stats");
        assert_eq!(
            (stats.records, stats.decrypted, stats.failed),
            (3000, 3000, 0)
        );
        assert_eq!(stats.cursor_seq, 3000);
        let texts = stats.by_msgtype.get("text").copied().unwrap_or(0);
        assert!(texts > 1500, "{texts} text messages");

        // Every text message has searchable text.
        let mut seen = 0;
        for conversation in reader.conversations("wwplain", 10_000, 0).expect("list") {
            let mut after = None;
            loop {
                let page = reader
                    .conversation_messages("wwplain", &conversation.key, after, 500)
                    .expect("page");
                let Some(last) = page.last() else { break };
                after = Some((last.msgtime, last.seq));
                for m in page.iter().filter(|m| m.msgtype.as_deref() == Some("text")) {
                    seen += 1;
                    assert!(!m.text.trim().is_empty(), "seq {} has no text", m.seq);
                }
            }
        }
        assert_eq!(seen, texts);

        // A second build into the same archive would clash with its seqs.
        let again = build_plain_archive(&path, "wwplain", 10, 7, &mut |_, _| {});
        assert!(again.is_err());
    }
}
