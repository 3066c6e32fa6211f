//! The pull loop as a three-stage pipeline — fetch, decrypt, commit — so the network, the CPU-bound
//! RSA work and the SQLite commit overlap. Each page is committed with its cursor in one
//! transaction, strictly in fetch order.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};
use wecom_crypto::KeyRing;
use wecom_store::{ArchiveWriter, PageCommit, StoreError};
use wecom_wire::{ArchiveSource, ChatDataItem, ChatPage, QuarantinedItem, SourceError};

use crate::decrypt::decrypt_page;

/// The archive writer the engine commits through (shared; the store serialises its writes).
pub type SharedStore = Arc<dyn ArchiveWriter>;

/// How one sync run behaves.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub corp_id: String,
    /// Records per getchatdata call (1..=1000).
    pub page_limit: u32,
    /// Threads that decrypt one page.
    pub decrypt_threads: usize,
    /// Stop after this many pages (used to interrupt runs on purpose in tests and benchmarks).
    pub max_pages: Option<u64>,
    /// The largest plausible step of seq past a non-zero cursor or the previous item of a page;
    /// an item further away is quarantined and never moves the cursor ([`screen_page`]).
    pub max_seq_jump: u64,
    /// How many times a page holding only records at or below the cursor is fetched again before
    /// the sync ends with [`SyncError::ReplayOnly`].
    pub replay_retries: u32,
    /// The pause before the first such retry, doubled for each next one.
    pub replay_backoff: Duration,
}

/// Default [`SyncOptions::max_seq_jump`]: one billion. A corp archiving ten million messages a
/// day would need 100 days to move its seq that far, longer than WeCom keeps any record (5 days;
/// 90 in 数据与智能专区), so a larger step is a broken or hostile answer, not a gap.
pub const DEFAULT_MAX_SEQ_JUMP: u64 = 1_000_000_000;

/// Seqs from 2^63 on are implausible: no archive gets there, and one such item moving the cursor
/// would end archiving for good.
pub const IMPLAUSIBLE_SEQ: u64 = 1 << 63;

impl SyncOptions {
    pub fn new(corp_id: impl Into<String>) -> SyncOptions {
        SyncOptions {
            corp_id: corp_id.into(),
            page_limit: wecom_wire::MAX_LIMIT,
            // Two per core: smaller chunks keep both cores busy while the commit of the previous
            // page and the fetch of the next one take their share (measured: ratio 0.71 -> 0.75).
            decrypt_threads: 2 * std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            max_pages: None,
            max_seq_jump: DEFAULT_MAX_SEQ_JUMP,
            replay_retries: 3,
            replay_backoff: Duration::from_millis(200),
        }
    }
}

/// What one sync run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub pages: u64,
    /// Records above the cursor they were fetched at (new to this sync).
    pub records: u64,
    /// Records at or below the cursor they were fetched at (a server replaying what was archived);
    /// kept as duplicates, never counted as records.
    pub replayed: u64,
    /// Items quarantined for the first time (unreadable, or an implausible seq).
    pub quarantined: u64,
    /// The sync stopped at a page whose only items above the cursor are quarantined: the cursor
    /// cannot move past them by itself (see `wecom-archive cursor`).
    pub held_at: Option<u64>,
    pub inserted: u64,
    pub duplicates: u64,
    pub failed: u64,
    pub cursor_before: u64,
    pub cursor_after: u64,
    pub elapsed: Duration,
}

/// Progress after each committed page.
#[derive(Debug, Clone)]
pub struct Progress {
    pub pages: u64,
    pub records: u64,
    pub replayed: u64,
    pub quarantined: u64,
    pub failed: u64,
    pub cursor: u64,
    pub elapsed: Duration,
}

/// Why a sync run stopped early. Everything committed before the error stays committed and the
/// cursor stands after the last committed page.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("fetching records after seq {cursor} failed: {error}")]
    Source {
        error: SourceError,
        cursor: u64,
        partial: Box<SyncReport>,
    },
    #[error("archive store: {0}")]
    Store(#[from] StoreError),
    /// Committing a page failed (disk full, the database locked by another process, damage).
    /// Everything before that page stays committed; nothing of it is.
    #[error("committing records after seq {cursor} failed: {error}")]
    Commit {
        error: StoreError,
        cursor: u64,
        partial: Box<SyncReport>,
    },
    /// The server answered, several times in a row, only records already archived.
    #[error(
        "the server keeps returning only records already archived (seq ≤ {cursor}) after {attempts} \
         requests, so nothing newer can be fetched; check the corp's archive service with WeCom, and \
         whether the cursor is right (`wecom-archive cursor show`)"
    )]
    ReplayOnly {
        cursor: u64,
        attempts: u32,
        partial: Box<SyncReport>,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

struct FetchedPage {
    items: Vec<ChatDataItem>,
    quarantined: Vec<QuarantinedItem>,
    cursor: u64,
    meta: PageMeta,
}

/// What the fetch stage learnt about a page, carried to the commit stage's report.
#[derive(Clone, Copy)]
struct PageMeta {
    records: u64,
    replayed: u64,
    held: bool,
}

/// A page sorted into what is archived, what is quarantined and where the cursor goes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ScreenedPage {
    /// Items to archive: new ones and replays (which the store keeps as duplicates).
    pub items: Vec<ChatDataItem>,
    pub quarantined: Vec<QuarantinedItem>,
    /// The cursor after the page: the largest plausible seq above the old cursor, else the old one.
    pub cursor: u64,
    /// Items above the old cursor that are archived.
    pub fresh: u64,
    /// Items at or below the old cursor.
    pub replayed: u64,
    /// Quarantined items above the old cursor or without a readable seq.
    pub held: u64,
}

/// Sorts a page against the cursor. An item is quarantined, and never moves the cursor, when its
/// seq is 2^63 or more, or lies more than `max_jump` past the reference: the cursor when it is not
/// 0 (a first sync starts wherever WeCom's retention starts), then the previous accepted item of
/// the page. Unreadable items (already quarantined) with a plausible seq move the cursor like
/// records: their bytes are kept, and the items after them must not wait for them.
pub fn screen_page(page: ChatPage, cursor: u64, max_jump: u64) -> ScreenedPage {
    enum Entry {
        Item(ChatDataItem),
        Raw(QuarantinedItem),
    }
    let mut entries: Vec<(Option<u64>, Entry)> = page
        .items
        .into_iter()
        .map(|i| (Some(i.seq), Entry::Item(i)))
        .chain(page.quarantined.into_iter().map(|q| (q.seq, Entry::Raw(q))))
        .collect();
    entries.sort_by_key(|(seq, _)| (seq.is_none(), *seq));
    let mut out = ScreenedPage {
        cursor,
        ..ScreenedPage::default()
    };
    let mut reference = (cursor != 0).then_some(cursor);
    for (seq, entry) in entries {
        let verdict = match seq {
            None => None,
            Some(seq) if seq >= IMPLAUSIBLE_SEQ => {
                Some(wecom_wire::QuarantineReason::ImplausibleSeq)
            }
            Some(seq) if seq <= cursor => {
                if let Entry::Item(item) = entry {
                    out.replayed += 1;
                    out.items.push(item);
                } else if let Entry::Raw(raw) = entry {
                    out.quarantined.push(raw);
                }
                continue;
            }
            Some(seq) => match reference {
                Some(from) if seq - from > max_jump => {
                    Some(wecom_wire::QuarantineReason::SeqJump { from, max_jump })
                }
                _ => {
                    reference = Some(seq);
                    out.cursor = seq;
                    None
                }
            },
        };
        match (entry, verdict) {
            (Entry::Item(item), None) => {
                out.fresh += 1;
                out.items.push(item);
            }
            (Entry::Item(item), Some(reason)) => {
                out.held += 1;
                out.quarantined
                    .push(QuarantinedItem::from_item(&item, reason));
            }
            (Entry::Raw(raw), verdict) => {
                // Its own reason (unreadable) stands; an implausible seq only keeps the cursor.
                if verdict.is_some() || raw.seq.is_none() {
                    out.held += 1;
                }
                out.quarantined.push(raw);
            }
        }
    }
    out
}

/// Pulls until the source returns an empty page (or `cancel` fires, or `max_pages` is reached).
pub async fn sync_until_caught_up<S: ArchiveSource>(
    source: &S,
    store: SharedStore,
    keys: Arc<KeyRing>,
    opts: &SyncOptions,
    cancel: &CancellationToken,
    progress: &(dyn Fn(&Progress) + Sync),
) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    let corp = opts.corp_id.clone();
    let cursor_before = {
        let store = store.clone();
        let corp = corp.clone();
        wecom_store::blocking(move || store.cursor(&corp)).await?
    };
    debug!(corp_id = %corp, cursor = cursor_before, "sync starting");

    let (page_tx, mut page_rx) = mpsc::channel::<FetchedPage>(2);
    let (commit_tx, mut commit_rx) = mpsc::channel::<(PageCommit, PageMeta)>(2);
    // Any stage that fails stops the other two: a sync never hangs on a full channel whose reader
    // is gone. `cancel` (the caller's) stops all three the same way, without an error.
    let stop = cancel.child_token();

    let fetcher = {
        let stop = stop.clone();
        async move {
            let mut cursor = cursor_before;
            let mut pages = 0u64;
            let mut replay_pages = 0u32;
            loop {
                if stop.is_cancelled() || opts.max_pages.is_some_and(|m| pages >= m) {
                    return Ok(());
                }
                let page = tokio::select! {
                    page = source.fetch_page(cursor, opts.page_limit) => page,
                    () = stop.cancelled() => return Ok(()),
                };
                let page = match page {
                    Ok(page) => page,
                    Err(e) => {
                        stop.cancel();
                        return Err(FetchError::Source(e));
                    }
                };
                if page.items.is_empty() && page.quarantined.is_empty() {
                    return Ok(());
                }
                let screened = screen_page(page, cursor, opts.max_seq_jump);
                let moved = screened.cursor > cursor;
                // Only records at or below the cursor: a server replaying what is archived. The
                // page is still stored (duplicates change nothing; a record missing after a manual
                // cursor move is kept), then asked again a few times, then the sync ends instead
                // of looping forever.
                let replay_only = !moved && screened.held == 0 && screened.fresh == 0;
                // Nothing moves the cursor but quarantined items lie above it: stored, and the
                // sync ends here (the same page would come again).
                let held = !moved && !replay_only;
                if held {
                    warn!(corp_id = %opts.corp_id, cursor, quarantined = screened.quarantined.len(), "the page's only items above the cursor are quarantined; the cursor stays (see `wecom-archive cursor show`)");
                }
                pages += 1;
                cursor = screened.cursor;
                let fetched = FetchedPage {
                    items: screened.items,
                    quarantined: screened.quarantined,
                    cursor,
                    meta: PageMeta {
                        records: screened.fresh,
                        replayed: screened.replayed,
                        held,
                    },
                };
                let sent = tokio::select! {
                    sent = page_tx.send(fetched) => sent.is_ok(),
                    () = stop.cancelled() => false,
                };
                if !sent || held {
                    return Ok(());
                }
                if !replay_only {
                    replay_pages = 0;
                    continue;
                }
                replay_pages += 1;
                if replay_pages > opts.replay_retries {
                    // Not a failure of the other stages: they finish what was sent.
                    return Err(FetchError::ReplayOnly {
                        attempts: replay_pages,
                    });
                }
                let delay = opts
                    .replay_backoff
                    .saturating_mul(2u32.saturating_pow(replay_pages - 1));
                warn!(corp_id = %opts.corp_id, cursor, replayed = screened.replayed, attempt = replay_pages, "the server answered only records already archived; asking again");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = stop.cancelled() => return Ok(()),
                }
            }
        }
    };

    let threads = opts.decrypt_threads;
    let decryptor = {
        let stop = stop.clone();
        async move {
            while let Some(page) = tokio::select! {
                page = page_rx.recv() => page,
                () = stop.cancelled() => None,
            } {
                let keys = keys.clone();
                let meta = page.meta;
                let commit = match blocking(move || {
                    let mut commit = decrypt_page(&keys, page.items, page.cursor, threads);
                    commit.quarantined = page.quarantined;
                    commit
                })
                .await
                {
                    Ok(commit) => (commit, meta),
                    Err(e) => {
                        stop.cancel();
                        return Err(e);
                    }
                };
                let sent = tokio::select! {
                    sent = commit_tx.send(commit) => sent.is_ok(),
                    () = stop.cancelled() => false,
                };
                if !sent {
                    break;
                }
            }
            Ok::<(), SyncError>(())
        }
    };

    let committer = {
        let stop = stop.clone();
        let corp = corp.clone();
        async move {
            let mut report = SyncReport {
                cursor_before,
                cursor_after: cursor_before,
                ..SyncReport::default()
            };
            // A page already decrypted is still committed after the caller's cancel (the page in
            // flight is finished); after another stage's failure nothing more is committed.
            while let Some((commit, meta)) = commit_rx.recv().await {
                let store = store.clone();
                let corp = corp.clone();
                let cursor = commit.cursor;
                let stats = wecom_store::blocking(move || store.commit_page(&corp, &commit))
                    .await
                    .map_err(SyncError::Store);
                let stats = match stats {
                    Ok(stats) => stats,
                    Err(e) => {
                        stop.cancel();
                        return Err((e, report));
                    }
                };
                report.pages += 1;
                report.records += meta.records;
                report.replayed += meta.replayed;
                report.quarantined += stats.quarantined;
                if meta.held {
                    report.held_at = Some(cursor);
                }
                report.inserted += stats.inserted;
                report.duplicates += stats.duplicates;
                report.failed += stats.failed;
                report.cursor_after = cursor;
                progress(&Progress {
                    pages: report.pages,
                    records: report.records,
                    replayed: report.replayed,
                    quarantined: report.quarantined,
                    failed: report.failed,
                    cursor,
                    elapsed: started.elapsed(),
                });
            }
            Ok::<SyncReport, (SyncError, SyncReport)>(report)
        }
    };

    let (fetched, decrypted, committed) = tokio::join!(fetcher, decryptor, committer);
    let mut report = match committed {
        Ok(report) => report,
        Err((error, mut partial)) => {
            partial.elapsed = started.elapsed();
            return Err(match error {
                SyncError::Store(error) => SyncError::Commit {
                    error,
                    cursor: partial.cursor_after,
                    partial: Box::new(partial),
                },
                other => other,
            });
        }
    };
    report.elapsed = started.elapsed();
    decrypted?;
    match fetched {
        Ok(()) => {}
        Err(FetchError::Source(error)) => {
            return Err(SyncError::Source {
                error,
                cursor: report.cursor_after,
                partial: Box::new(report),
            });
        }
        Err(FetchError::ReplayOnly { attempts }) => {
            return Err(SyncError::ReplayOnly {
                cursor: report.cursor_after,
                attempts,
                partial: Box::new(report),
            });
        }
    }
    info!(
        corp_id = %opts.corp_id,
        pages = report.pages,
        records = report.records,
        failed = report.failed,
        replayed = report.replayed,
        quarantined = report.quarantined,
        cursor = report.cursor_after,
        "sync caught up"
    );
    Ok(report)
}

/// Why the fetch stage stopped early.
enum FetchError {
    Source(SourceError),
    ReplayOnly { attempts: u32 },
}

/// Runs CPU-bound work (decryption) off the async runtime's threads; store calls go through
/// [`wecom_store::blocking`].
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, SyncError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SyncError::Internal(format!("blocking task failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wecom_wire::QuarantineReason;

    fn item(seq: u64) -> ChatDataItem {
        ChatDataItem {
            seq,
            msgid: format!("m{seq}"),
            publickey_ver: 1,
            encrypt_random_key: "k".into(),
            encrypt_chat_msg: "c".into(),
        }
    }

    fn page(seqs: &[u64]) -> ChatPage {
        ChatPage {
            items: seqs.iter().map(|s| item(*s)).collect(),
            quarantined: Vec::new(),
        }
    }

    fn seqs(items: &[ChatDataItem]) -> Vec<u64> {
        items.iter().map(|i| i.seq).collect()
    }

    #[test]
    fn a_first_sync_starts_wherever_the_server_starts() {
        let s = screen_page(page(&[5_000_000_000_000, 5_000_000_000_001]), 0, 1000);
        assert_eq!(seqs(&s.items), [5_000_000_000_000, 5_000_000_000_001]);
        assert_eq!((s.cursor, s.fresh, s.held), (5_000_000_000_001, 2, 0));
    }

    #[test]
    fn implausible_seqs_and_jumps_are_quarantined_and_keep_the_cursor() {
        let s = screen_page(page(&[11, 12, 5000, 5001, u64::MAX, 1 << 63]), 10, 1000);
        assert_eq!(seqs(&s.items), [11, 12]);
        assert_eq!(s.cursor, 12);
        let reasons: Vec<(Option<u64>, QuarantineReason)> = s
            .quarantined
            .iter()
            .map(|q| (q.seq, q.reason.clone()))
            .collect();
        let jump = QuarantineReason::SeqJump {
            from: 12,
            max_jump: 1000,
        };
        assert_eq!(
            reasons,
            [
                (Some(5000), jump.clone()),
                (Some(5001), jump),
                (Some(1 << 63), QuarantineReason::ImplausibleSeq),
                (Some(u64::MAX), QuarantineReason::ImplausibleSeq),
            ]
        );
        // Against the cursor itself.
        let s = screen_page(page(&[2000]), 10, 1000);
        assert_eq!((s.cursor, s.held, s.items.len()), (10, 1, 0));
        // Within the bound, and the bound is inclusive.
        let s = screen_page(page(&[1010, 2010]), 10, 1000);
        assert_eq!((s.cursor, s.fresh), (2010, 2));
    }

    #[test]
    fn replays_are_kept_and_counted_apart() {
        let s = screen_page(page(&[3, 4, 9, 10, 11]), 10, 1000);
        assert_eq!((s.replayed, s.fresh, s.cursor), (4, 1, 11));
        assert_eq!(s.items.len(), 5);
        let s = screen_page(page(&[1, 2]), 10, 1000);
        assert_eq!((s.replayed, s.fresh, s.held, s.cursor), (2, 0, 0, 10));
    }

    #[test]
    fn unreadable_items_with_a_plausible_seq_move_the_cursor() {
        let mut p = page(&[11]);
        p.quarantined = vec![
            QuarantinedItem {
                seq: Some(12),
                raw: b"{".to_vec(),
                reason: QuarantineReason::Unparseable("x".into()),
            },
            QuarantinedItem {
                seq: None,
                raw: b"5".to_vec(),
                reason: QuarantineReason::Unparseable("y".into()),
            },
        ];
        let s = screen_page(p, 10, 1000);
        assert_eq!(
            (s.cursor, s.fresh, s.held, s.quarantined.len()),
            (12, 1, 1, 2)
        );
    }
}
