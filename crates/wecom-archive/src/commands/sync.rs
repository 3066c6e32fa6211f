//! `sync` and `redecrypt`: the pull loop with a progress line, and the retry of stored failures.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;

use tokio_util::sync::CancellationToken;
use wecom_crypto::KeyRing;
use wecom_daemon::config::{Config, CorpConfig};
use wecom_daemon::{SourceOverrides, SyncPlan};
use wecom_store::{MediaStats, Roles};
use wecom_sync::{Progress, SyncReport, redecrypt as redecrypt_all};

use super::{Writers, runtime, thousands};
use crate::cli::SyncArgs;
use crate::keys::load_key_ring;

pub fn run(config: &Config, selected: Option<&str>, args: &SyncArgs) -> anyhow::Result<ExitCode> {
    struct Target<'a> {
        corp: &'a CorpConfig,
        keys: Arc<KeyRing>,
        store: Roles,
    }
    let mut targets = Vec::new();
    // Held until the command ends: one writer per archive.
    let mut writers = Writers::default();
    for corp in config.selected(selected)? {
        let keys = Arc::new(load_key_ring(&corp.keys_dir)?);
        if keys.is_empty() {
            tracing::warn!(corp_id = %corp.corp_id, dir = %corp.keys_dir.display(), "no private keys: records are stored encrypted and reported as failures until a key is added");
        }
        let store = writers.open(&corp.store)?;
        warn_if_readable(config, corp);
        targets.push(Target { corp, keys, store });
    }
    let limit = args.limit.unwrap_or(config.sync.page_limit);
    let blobs = if config.media.enabled && !args.no_media {
        Some(config.open_blobs()?)
    } else {
        None
    };
    let overrides = SourceOverrides {
        source: args.source.source,
        sdk_library: args.source.sdk_library.clone(),
    };
    let interval = Duration::from_secs(
        args.interval
            .unwrap_or(config.sync.follow_interval_secs)
            .max(1),
    );
    let rt = runtime()?;
    let outcome = rt.block_on(async {
        let cancel = CancellationToken::new();
        // SIGINT and SIGTERM both finish the page in flight, give claimed media jobs back and end
        // with 128 + the signal's number; a second signal ends the process at once.
        let signals = Interrupt::listen(cancel.clone())?;
        let progress = progress_printer();
        let work = async {
            let mut outcome = Outcome::default();
            loop {
                // One corp failing never stops the others.
                for t in &targets {
                    let plan = SyncPlan {
                        config,
                        corp: t.corp,
                        overrides: &overrides,
                        store: t.store.clone(),
                        keys: t.keys.clone(),
                        limit,
                        progress: Some(&progress),
                        media: blobs.clone(),
                        names: !args.no_names,
                        search: true,
                    };
                    match sync_once(plan, &cancel).await {
                        Ok(report) => {
                            outcome.decrypt_failures += report.failed;
                            print_report(&t.corp.corp_id, &report);
                        }
                        Err(e) => {
                            outcome.failed_corps += 1;
                            eprintln!(
                                "error: corp {}: {}",
                                t.corp.corp_id,
                                wecom_wire::text::Escaped(&format!("{e:#}"))
                            );
                        }
                    }
                }
                if !args.follow || cancel.is_cancelled() {
                    return outcome;
                }
                tokio::select! {
                    () = tokio::time::sleep(interval) => {}
                    () = cancel.cancelled() => return outcome,
                }
            }
        };
        let outcome = work.await;
        anyhow::Ok(Outcome {
            signal: signals.received(),
            ..outcome
        })
    })?;
    Ok(outcome.exit_code())
}

/// Warns about private keys and archive files that other users can read (`doctor` fails on them).
fn warn_if_readable(config: &Config, corp: &CorpConfig) {
    let keys = crate::keys::key_files(&corp.keys_dir);
    // A key is private whatever the group setting says.
    let open = crate::files::too_open(&keys, false)
        .into_iter()
        .chain(crate::files::too_open(
            &crate::files::archive_files(&corp.archive_path),
            config.group_readable,
        ));
    for file in open {
        eprintln!("warning: corp {}: {file}; run `{}`", corp.corp_id, file.fix);
    }
}

/// What a `sync` invocation ended with, and so its exit code.
#[derive(Debug, Default)]
struct Outcome {
    failed_corps: usize,
    decrypt_failures: u64,
    signal: Option<Signal>,
}

impl Outcome {
    /// The documented exit codes, most important first: interrupted (130 SIGINT, 143 SIGTERM),
    /// a corp's sync failed (1), records of this run failed to decrypt (3), success (0).
    fn exit_code(&self) -> ExitCode {
        if let Some(signal) = self.signal {
            ExitCode::from(signal.exit_code())
        } else if self.failed_corps > 0 {
            ExitCode::FAILURE
        } else if self.decrypt_failures > 0 {
            eprintln!(
                "warning: {} records of this run failed to decrypt; they are stored: fix the keys, then run `redecrypt` (exit code {EXIT_DECRYPT_FAILURES})",
                thousands(self.decrypt_failures)
            );
            ExitCode::from(EXIT_DECRYPT_FAILURES)
        } else {
            ExitCode::SUCCESS
        }
    }
}

/// `sync`'s exit code when it archived everything it fetched but some records failed to decrypt.
pub const EXIT_DECRYPT_FAILURES: u8 = 3;

/// A termination signal `sync` and `run` stop gracefully on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

impl Signal {
    /// 128 + the signal number, as a shell reports a process the signal ended.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// Listens for SIGINT and SIGTERM for the life of the runtime: the first cancels `cancel`, a
/// second ends the process at once.
pub struct Interrupt {
    received: Arc<Mutex<Option<Signal>>>,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl Interrupt {
    pub fn listen(cancel: CancellationToken) -> anyhow::Result<Interrupt> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let received = Arc::new(Mutex::new(None));
        let slot = received.clone();
        let listener = tokio::spawn(async move {
            loop {
                let signal = tokio::select! {
                    Some(()) = int.recv() => Signal::Interrupt,
                    Some(()) = term.recv() => Signal::Terminate,
                    else => return,
                };
                let first = slot
                    .lock()
                    .map(|mut s: std::sync::MutexGuard<'_, Option<Signal>>| {
                        s.replace(signal).is_none()
                    })
                    .unwrap_or(true);
                if first {
                    eprintln!(
                        "{}: finishing the page in flight and giving claimed media back (send it again to stop at once)",
                        signal.name()
                    );
                    cancel.cancel();
                } else {
                    eprintln!("{}: stopping at once", signal.name());
                    std::process::exit(i32::from(signal.exit_code()));
                }
            }
        });
        Ok(Interrupt { received, listener })
    }

    /// The first signal received, if any.
    pub fn received(&self) -> Option<Signal> {
        self.received.lock().ok().and_then(|s| *s)
    }
}

/// A progress line on stderr at most every two seconds.
pub fn progress_printer() -> impl Fn(&Progress) + Sync {
    let last = Mutex::new(Instant::now());
    move |p: &Progress| {
        let Ok(mut last) = last.lock() else { return };
        if last.elapsed() >= Duration::from_secs(2) {
            *last = Instant::now();
            let rate = p.records as f64 / p.elapsed.as_secs_f64().max(1e-9);
            eprintln!(
                "synced {} records ({:.0}/s), {} failed, {} replayed, {} quarantined, cursor {}",
                thousands(p.records),
                rate,
                thousands(p.failed),
                thousands(p.replayed),
                thousands(p.quarantined),
                p.cursor
            );
        }
    }
}

/// One pull of one corp with a progress line ([`wecom_daemon::sync_once`]), its media, names and
/// search lines printed; the pull's report comes back for the caller to print, or its error (after the
/// partial report, when the pull did anything).
pub async fn sync_once(
    plan: SyncPlan<'_>,
    cancel: &CancellationToken,
) -> anyhow::Result<SyncReport> {
    let corp_id = plan.corp.corp_id.clone();
    let outcome = wecom_daemon::sync_once(plan, cancel).await?;
    match &outcome.media {
        Some(Ok(m)) => print_media(&corp_id, m, outcome.media_waiting.as_ref()),
        None => {}
        Some(Err(e)) => eprintln!("error: corp {corp_id}: media: {e}"),
    }
    if let Some(names) = outcome.names {
        super::names::report_names(&corp_id, names);
    }
    if let Some(search) = outcome.search {
        super::search::report_index(&corp_id, search);
    }
    match outcome.pull {
        Ok(report) => Ok(report),
        Err(e) => {
            if let Some(partial) = e.partial() {
                let replays_only = matches!(e, wecom_daemon::DaemonError::ReplayOnly { .. });
                if partial.records > 0 || (replays_only && partial.replayed > 0) {
                    print_report(&corp_id, partial);
                }
            }
            Err(e.into())
        }
    }
}

/// The media line of a sync, and what is left waiting to retry: a fault (a full disk, a server
/// that failed) leaves jobs due later, and after the recovery the operator learns how many and
/// when the next one is due.
fn print_media(corp_id: &str, m: &wecom_media::MediaReport, waiting: Option<&MediaStats>) {
    if m.started > 0 || m.failed > 0 || m.expired > 0 || m.deferred > 0 {
        println!(
            "corp {corp_id}: media {} downloaded ({} already stored, {} bytes), {} to retry later, {} deferred (storage), {} failed, {} expired (WeCom answered 301048)",
            thousands(m.done),
            thousands(m.deduplicated),
            thousands(m.bytes),
            thousands(m.retry_later),
            thousands(m.deferred),
            thousands(m.failed),
            thousands(m.expired)
        );
    }
    let Some(stats) = waiting else {
        return;
    };
    if let Some(line) = waiting_line(stats.failed_retryable, stats.next_attempt_at_ms, now_ms()) {
        println!("corp {corp_id}: {line}");
    }
}

/// `media: 3 jobs waiting to retry, the next due in 25 min; …`, or nothing when none waits.
fn waiting_line(waiting: u64, next_ms: Option<i64>, now_ms: i64) -> Option<String> {
    if waiting == 0 {
        return None;
    }
    let due = match next_ms {
        Some(t) if t > now_ms => {
            let secs = (t - now_ms) / 1000;
            if secs >= 3600 {
                format!("the next due in {:.1} h", secs as f64 / 3600.0)
            } else if secs >= 60 {
                format!("the next due in {} min", secs / 60)
            } else {
                format!("the next due in {secs} s")
            }
        }
        _ => "the next due now".to_owned(),
    };
    Some(format!(
        "media: {} jobs waiting to retry, {due}; the next `sync` (or the running daemon) takes them, `media retry` makes them all due now",
        thousands(waiting)
    ))
}

use wecom_wire::clock::now_ms;

fn print_report(corp_id: &str, r: &SyncReport) {
    println!(
        "corp {corp_id}: synced {} records in {} pages ({} new, {} already archived, {} failed to decrypt); cursor {} → {} in {:.1}s",
        thousands(r.records),
        r.pages,
        thousands(r.inserted),
        thousands(r.duplicates),
        thousands(r.failed),
        r.cursor_before,
        r.cursor_after,
        r.elapsed.as_secs_f64()
    );
    if r.replayed > 0 {
        println!(
            "corp {corp_id}: the server also sent {} records already archived (replays, counted apart)",
            thousands(r.replayed)
        );
    }
    if r.quarantined > 0 {
        println!(
            "corp {corp_id}: {} item(s) kept raw in quarantine (unreadable, or an implausible seq); see `wecom-archive cursor show --corp {corp_id}`",
            thousands(r.quarantined)
        );
    }
    if let Some(at) = r.held_at {
        println!(
            "corp {corp_id}: stopped at seq {at}: the only items the server sends after it are quarantined, so the cursor cannot move past them by itself; see `wecom-archive cursor show --corp {corp_id}`"
        );
    }
}

pub fn redecrypt(corp: &CorpConfig) -> anyhow::Result<ExitCode> {
    let keys = Arc::new(load_key_ring(&corp.keys_dir)?);
    let mut writers = Writers::default();
    let store = writers.open(&corp.store)?;
    let report = runtime()?.block_on(redecrypt_all(store.writer, keys, &corp.corp_id))?;
    println!(
        "redecrypt: {} failed records retried, {} now decrypted, {} still failing",
        thousands(report.attempted),
        thousands(report.fixed),
        thousands(report.still_failing)
    );
    for (code, n) in &report.still_failing_by_code {
        println!("  code {code}: {}", thousands(*n));
    }
    Ok(if report.still_failing == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_waiting_line_says_how_many_and_when() {
        assert_eq!(waiting_line(0, Some(5), 0), None);
        let line = waiting_line(1234, Some(1_000 + 25 * 60_000), 1_000).expect("line");
        assert!(
            line.starts_with("media: 1,234 jobs waiting to retry, the next due in 25 min;"),
            "{line}"
        );
        let line = waiting_line(2, Some(0), 1_000).expect("line");
        assert!(line.contains("the next due now"), "{line}");
        let line = waiting_line(2, Some(1_000 + 2 * 3_600_000), 1_000).expect("line");
        assert!(line.contains("the next due in 2.0 h"), "{line}");
    }
}
