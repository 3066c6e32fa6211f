//! The daemon's figures for `/metrics`, `/readyz` and the completeness watch: per corp, the
//! archive's statistics are computed off the request path (after every sync that stored records
//! and on a timer) and kept in memory with the time they were computed; a scrape only reads them
//! and the runner's status, deriving time-dependent figures (lag, time to loss) at scrape time.
//! Readiness reasons never carry file paths.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::warn;
use wecom_server::{CorpSnapshot, Observer};
use wecom_store::ArchiveReader;
use wecom_store::names::NameStats;
use wecom_store::{MediaStats, Stats, StoreError, StoreErrorKind};
use wecom_sync::RunnerHandle;

use crate::rules::{at_risk_since, readiness, time_to_loss};

use wecom_wire::clock::now_ms;

/// What the archive said about one corp when last asked.
#[derive(Debug, Clone)]
struct Figures {
    computed_at_ms: i64,
    stats: Stats,
    media: MediaStats,
    names: NameStats,
}

#[derive(Debug, Default)]
struct Cached {
    /// The last successful computation.
    good: Option<Figures>,
    /// Why the last computation failed, in short words without paths (None after a success).
    error: Option<String>,
}

/// One corp as the daemon's observer sees it.
pub struct CorpView {
    /// The corp's id.
    pub corp_id: String,
    /// Its archive, read only.
    pub store: Arc<dyn ArchiveReader>,
    /// Its runner's status.
    pub handle: Arc<RunnerHandle>,
    /// Vendor-library worker restarts (0 for the native source); must be cheap.
    pub worker_restarts: Box<dyn Fn() -> u64 + Send + Sync>,
    /// Paths that may appear in error texts (archive, keys, media, vendor library), each with the
    /// words that replace it in readiness reasons.
    pub paths: Vec<(PathBuf, &'static str)>,
    /// Several nodes: whether this node holds the corp's lease.
    pub lease: Option<tokio::sync::watch::Receiver<bool>>,
    cached: Mutex<Cached>,
}

impl CorpView {
    /// A corp with no figures computed yet.
    pub fn new(
        corp_id: String,
        store: Arc<dyn ArchiveReader>,
        handle: Arc<RunnerHandle>,
        worker_restarts: Box<dyn Fn() -> u64 + Send + Sync>,
        paths: Vec<(PathBuf, &'static str)>,
    ) -> CorpView {
        CorpView {
            corp_id,
            store,
            handle,
            worker_restarts,
            paths,
            lease: None,
            cached: Mutex::new(Cached::default()),
        }
    }
}

/// The daemon's [`Observer`]: reads only memory.
pub struct DaemonObserver {
    /// Every corp the daemon runs.
    pub corps: Vec<CorpView>,
    /// WeCom's retention window, for the time to loss.
    pub retention: Duration,
}

/// A store error in a few words and what to do, without the path it carries.
fn short_reason(e: &StoreError) -> String {
    match e.kind() {
        StoreErrorKind::DiskFull => "the archive's disk is full: free space".to_owned(),
        StoreErrorKind::PermissionDenied => {
            "no permission to write the archive: check the owner and mode of the archive file and its folder".to_owned()
        }
        StoreErrorKind::Busy => {
            "the archive stayed locked by another process: stop the other writer".to_owned()
        }
        StoreErrorKind::Corrupt => {
            "the archive file is damaged or not an archive database: restore it from a backup"
                .to_owned()
        }
        StoreErrorKind::SchemaTooNew => {
            "the archive was written by a newer wecom-archive: upgrade".to_owned()
        }
        StoreErrorKind::Io => "i/o error on the archive: check the disk".to_owned(),
        _ => "the archive could not be read: see the log".to_owned(),
    }
}

impl DaemonObserver {
    /// Recomputes every corp's figures from the archive. Blocking (it waits for the archive):
    /// call it on a blocking thread, never on the request path.
    pub fn refresh(&self) {
        for view in &self.corps {
            let computed_at_ms = now_ms();
            let s = &view.store;
            let result = s
                        .ping()
                        .and_then(|()| {
                            Ok(Figures {
                                computed_at_ms,
                                stats: s.stats(&view.corp_id)?,
                                media: s.media_stats(&view.corp_id)?,
                                names: s.name_stats(&view.corp_id)?,
                            })
                        })
                        .map_err(|e| {
                            warn!(corp_id = %view.corp_id, error = %e, "cannot read the archive's figures for metrics");
                            short_reason(&e)
                        });
            let mut cached = view.cached.lock().unwrap_or_else(PoisonError::into_inner);
            match result {
                Ok(f) => {
                    cached.good = Some(f);
                    cached.error = None;
                }
                Err(reason) => cached.error = Some(reason),
            }
        }
    }

    fn corp_snapshot(&self, view: &CorpView, now: i64) -> CorpSnapshot {
        let status = view.handle.status();
        let mut snap = CorpSnapshot {
            corp_id: view.corp_id.clone(),
            lag_records: status.last_backlog,
            syncs_ok: status.syncs_ok,
            syncs_failed: status.syncs_failed,
            lag_seconds: status
                .last_caught_up_ms
                .map(|t| (now - t).max(0) as f64 / 1000.0),
            worker_restarts: (view.worker_restarts)(),
            ..CorpSnapshot::default()
        };
        let (figures, error) = {
            let cached = view.cached.lock().unwrap_or_else(PoisonError::into_inner);
            (cached.good.clone(), cached.error.clone())
        };
        if let Some(f) = figures {
            let (stats, media, names) = (f.stats, f.media, f.names);
            snap.figures_age_seconds = Some((now - f.computed_at_ms).max(0) as f64 / 1000.0);
            snap.names = [
                ("room", "named", names.rooms_named),
                ("room", "unresolvable", names.rooms_unresolvable),
                ("room", "unchecked", names.rooms_unchecked),
                ("person", "named", names.people_named),
                ("person", "unresolvable", names.people_unresolvable),
                ("person", "unchecked", names.people_unchecked),
            ]
            .into_iter()
            .map(|(k, st, n)| ((k.to_owned(), st.to_owned()), n))
            .collect();
            snap.media_by_state = [
                ("pending", media.pending),
                ("downloading", media.downloading),
                ("done", media.done),
                ("failed_retryable", media.failed_retryable),
                ("failed_permanent", media.failed_permanent),
                ("expired", media.expired),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            let oldest_media = media.oldest_pending_msgtime_ms;
            snap.media_oldest_pending_age_seconds =
                oldest_media.map(|t| (now - t).max(0) as f64 / 1000.0);
            // The runner's cursor moves with every commit; the stored one only at a refresh.
            snap.last_seq = stats.cursor_seq.max(status.cursor);
            snap.records_total = stats.records;
            snap.records_by_type = stats.by_msgtype;
            snap.decrypt_failures_by_code = stats.failed_by_code;
            snap.time_to_loss_seconds = time_to_loss(
                at_risk_since(status.last_caught_up_ms, stats.last_msgtime, oldest_media),
                self.retention,
                now,
            );
        }
        snap.not_ready = readiness(&status, error.as_deref(), &view.paths).err();
        snap.lease_held = view.lease.as_ref().map(|held| *held.borrow());
        snap
    }
}

impl Observer for DaemonObserver {
    fn snapshot(&self) -> Vec<CorpSnapshot> {
        let now = now_ms();
        self.corps
            .iter()
            .map(|view| self.corp_snapshot(view, now))
            .collect()
    }
}

/// The shortest gap between two refreshes, however often they are asked for (each reads the whole
/// archive's statistics).
const MIN_REFRESH_GAP: Duration = Duration::from_secs(1);

/// Keeps the figures fresh until cancelled: at once, after every `wake` (a sync stored records,
/// media results were recorded, a names pass ended; at most one per [`MIN_REFRESH_GAP`]) and every
/// `interval`. Each refresh runs on a blocking thread.
pub async fn refresh_figures(
    observer: Arc<DaemonObserver>,
    wake: Arc<Notify>,
    interval: Duration,
    cancel: CancellationToken,
) {
    loop {
        let started = tokio::time::Instant::now();
        let o = observer.clone();
        let refreshed = tokio::task::spawn_blocking(move || o.refresh());
        tokio::select! {
            () = cancel.cancelled() => return,
            joined = refreshed => {
                if let Err(e) = joined {
                    warn!(error = %e, "refreshing the metrics figures failed");
                }
            }
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = wake.notified() => {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep_until(started + MIN_REFRESH_GAP) => {}
                }
            }
            () = tokio::time::sleep(interval) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    fn observer(dir: &std::path::Path) -> (Arc<DaemonObserver>, wecom_store::Roles) {
        let store = wecom_store::open(&wecom_store::StoreLocation::Sqlite(dir.join("archive.db")))
            .expect("open archive");
        let view = CorpView::new(
            "wwcorp".to_owned(),
            store.reader.clone(),
            RunnerHandle::new(),
            Box::new(|| 7),
            vec![(dir.join("archive.db"), "the archive")],
        );
        (
            Arc::new(DaemonObserver {
                corps: vec![view],
                retention: Duration::from_secs(5 * 86_400),
            }),
            store,
        )
    }

    #[test]
    fn a_scrape_answers_from_memory_while_the_archive_is_held() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (observer, _store) = observer(dir.path());
        observer.refresh();
        // A long write holds the archive; a scrape must not wait for it.
        let held = rusqlite::Connection::open(dir.path().join("archive.db")).expect("open");
        held.execute_batch("BEGIN EXCLUSIVE")
            .expect("hold the archive");
        let (tx, rx) = mpsc::channel();
        let o = observer.clone();
        let scraper = std::thread::spawn(move || {
            let _ = tx.send(o.snapshot());
        });
        let snaps = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the scrape waited for the archive");
        drop(held);
        scraper.join().expect("scraper");
        let s = &snaps[0];
        assert_eq!(s.corp_id, "wwcorp");
        assert_eq!(s.worker_restarts, 7);
        assert_eq!(s.records_total, 0);
        assert_eq!(s.media_by_state.get("pending"), Some(&0));
        assert!(s.figures_age_seconds.is_some(), "{s:?}");
        assert_eq!(s.not_ready.as_deref(), Some("not caught up yet"));
    }

    #[test]
    fn before_the_first_refresh_there_are_no_archive_figures() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (observer, _store) = observer(dir.path());
        let s = &observer.snapshot()[0];
        assert_eq!(s.figures_age_seconds, None);
        assert!(s.media_by_state.is_empty());
    }

    #[test]
    fn store_errors_are_told_without_paths() {
        let e = StoreError::DiskFull {
            path: PathBuf::from("/srv/wecom/archive.db"),
            op: "commit",
            cause: "full".into(),
        };
        let reason = short_reason(&e);
        assert!(!reason.contains('/'), "{reason}");
        assert!(reason.contains("disk is full"), "{reason}");
    }
}
