//! The daemon's judgement as plain functions of plain data: when a corp is ready, how long until
//! data leaves WeCom's retention window, and when that deserves a warning or an error. No clock,
//! no I/O: the callers pass `now`.

use std::path::PathBuf;
use std::time::Duration;

use wecom_sync::RunnerStatus;

/// Syncs failing in a row (network noise otherwise) before a corp is reported not ready.
pub const FAILURES_BEFORE_NOT_READY: u32 = 3;

/// Whether a corp is ready, or the reason it is not, without file paths.
///
/// In order: the archive's figures could not be read (`archive_error`); the archive could not
/// store records (not ready from the first failure: a storage fault is never noise);
/// [`FAILURES_BEFORE_NOT_READY`] syncs failed in a row; the corp was never caught up. `paths`
/// are the paths an error text may quote, each with the words that replace it.
pub fn readiness(
    status: &RunnerStatus,
    archive_error: Option<&str>,
    paths: &[(PathBuf, &'static str)],
) -> Result<(), String> {
    let last_error = || {
        scrub_paths(
            status.last_error.as_deref().unwrap_or("unknown error"),
            paths,
        )
    };
    if let Some(reason) = archive_error {
        Err(format!("archive unreachable: {reason}"))
    } else if status.store_failing {
        Err(format!(
            "the archive cannot store records: {}",
            last_error()
        ))
    } else if status.consecutive_failures >= FAILURES_BEFORE_NOT_READY {
        Err(format!(
            "{} syncs failed in a row: {}",
            status.consecutive_failures,
            last_error()
        ))
    } else if status.last_caught_up_ms.is_none() && !status.standby {
        // A node standing by for a corp another node syncs is ready: it takes the corp over
        // when that node's lease lapses.
        Err("not caught up yet".to_owned())
    } else {
        Ok(())
    }
}

/// Since when data is at risk (ms since the epoch), or `None` when nothing says.
///
/// Everything older than the last catch-up is archived; what is not fetched yet is at most as
/// old as that moment (or, before any catch-up, the newest archived message). A pending media
/// object is at risk from its message's time on.
pub fn at_risk_since(
    last_caught_up_ms: Option<i64>,
    newest_archived_ms: Option<i64>,
    oldest_pending_media_ms: Option<i64>,
) -> Option<i64> {
    match (
        last_caught_up_ms.or(newest_archived_ms),
        oldest_pending_media_ms,
    ) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Seconds until data at risk since `since_ms` leaves a retention window of `retention`
/// (negative once it has), or `None` when nothing is known to be at risk.
pub fn time_to_loss(since_ms: Option<i64>, retention: Duration, now_ms: i64) -> Option<f64> {
    since_ms.map(|t| retention.as_secs_f64() - now_ms.saturating_sub(t).max(0) as f64 / 1000.0)
}

/// How loud a time to loss is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossAlarm {
    /// Falling behind: worth a warning.
    Warn,
    /// Data leaves the window soon: operator action needed.
    Error,
}

/// The alarm for `time_to_loss_secs`: an error below `error_below`, a warning below
/// `warn_below`, nothing otherwise (or when the time to loss is unknown).
pub fn loss_alarm(
    time_to_loss_secs: Option<f64>,
    warn_below: Duration,
    error_below: Duration,
) -> Option<LossAlarm> {
    let ttl = time_to_loss_secs?;
    if ttl < error_below.as_secs_f64() {
        Some(LossAlarm::Error)
    } else if ttl < warn_below.as_secs_f64() {
        Some(LossAlarm::Warn)
    } else {
        None
    }
}

/// Replaces the known paths in `text`, then any other absolute path, by short words.
pub fn scrub_paths(text: &str, paths: &[(PathBuf, &'static str)]) -> String {
    let mut out = text.to_owned();
    let mut known: Vec<(String, &str)> = paths
        .iter()
        .map(|(p, w)| (p.display().to_string(), *w))
        .filter(|(p, _)| p.len() > 1)
        .collect();
    // Longest first, so a file is replaced before its folder.
    known.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    for (p, words) in known {
        out = out.replace(&p, words);
    }
    out.split(' ')
        .map(|word| {
            let bare = word.trim_start_matches(['(', '"', '\'', '`']);
            if bare.starts_with('/') && bare.len() > 1 {
                let lead = &word[..word.len() - bare.len()];
                let tail: String = bare
                    .chars()
                    .rev()
                    .take_while(|c| matches!(c, ')' | '"' | '\'' | '`' | ':' | ',' | ';' | '.'))
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                format!("{lead}<path>{tail}")
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn caught_up() -> RunnerStatus {
        RunnerStatus {
            last_caught_up_ms: Some(1_000),
            ..RunnerStatus::default()
        }
    }

    fn check_ready(status: &RunnerStatus, archive_error: Option<&str>, expect: Result<(), &str>) {
        let paths = [(PathBuf::from("/srv/wecom/archive.db"), "the archive")];
        assert_eq!(
            readiness(status, archive_error, &paths),
            expect.map_err(str::to_owned),
            "{status:?}"
        );
    }

    #[test]
    fn a_caught_up_corp_is_ready() {
        check_ready(&caught_up(), None, Ok(()));
    }

    #[test]
    fn a_corp_never_caught_up_is_not_ready() {
        check_ready(&RunnerStatus::default(), None, Err("not caught up yet"));
    }

    #[test]
    fn a_failing_store_is_not_ready_at_the_first_failure() {
        let status = RunnerStatus {
            store_failing: true,
            consecutive_failures: 1,
            last_error: Some("disk full at /srv/wecom/archive.db".to_owned()),
            ..caught_up()
        };
        check_ready(
            &status,
            None,
            Err("the archive cannot store records: disk full at the archive"),
        );
    }

    #[test]
    fn network_failures_make_a_corp_not_ready_from_the_third_in_a_row() {
        let mut status = RunnerStatus {
            last_error: Some("connection refused".to_owned()),
            ..caught_up()
        };
        for failures in 1..FAILURES_BEFORE_NOT_READY {
            status.consecutive_failures = failures;
            check_ready(&status, None, Ok(()));
        }
        status.consecutive_failures = FAILURES_BEFORE_NOT_READY;
        check_ready(
            &status,
            None,
            Err("3 syncs failed in a row: connection refused"),
        );
        status.last_error = None;
        check_ready(&status, None, Err("3 syncs failed in a row: unknown error"));
    }

    #[test]
    fn an_unreadable_archive_comes_before_every_other_reason() {
        let status = RunnerStatus {
            store_failing: true,
            consecutive_failures: 5,
            ..RunnerStatus::default()
        };
        check_ready(
            &status,
            Some("the archive's disk is full: free space"),
            Err("archive unreachable: the archive's disk is full: free space"),
        );
    }

    #[test]
    fn data_is_at_risk_from_the_older_of_the_catch_up_and_the_oldest_pending_media() {
        assert_eq!(at_risk_since(None, None, None), None);
        assert_eq!(at_risk_since(Some(50), Some(90), None), Some(50));
        assert_eq!(at_risk_since(None, Some(90), None), Some(90));
        assert_eq!(at_risk_since(Some(50), None, Some(20)), Some(20));
        assert_eq!(at_risk_since(Some(50), None, Some(70)), Some(50));
        assert_eq!(at_risk_since(None, None, Some(70)), Some(70));
    }

    #[test]
    fn time_to_loss_counts_down_the_retention_window() {
        let retention = Duration::from_secs(5 * 86_400);
        assert_eq!(time_to_loss(None, retention, 10_000), None);
        assert_eq!(
            time_to_loss(Some(10_000), retention, 10_000),
            Some(5.0 * 86_400.0)
        );
        assert_eq!(
            time_to_loss(Some(0), retention, 3_600_000),
            Some(5.0 * 86_400.0 - 3600.0)
        );
        // A clock that went back counts as no time passed.
        assert_eq!(
            time_to_loss(Some(20_000), retention, 10_000),
            Some(5.0 * 86_400.0)
        );
        // Past the window the time to loss is negative: data is already gone.
        assert_eq!(
            time_to_loss(Some(0), Duration::from_secs(10), 15_000),
            Some(-5.0)
        );
    }

    #[test]
    fn the_alarm_rises_below_the_warn_and_error_thresholds() {
        let (warn, error) = (24 * HOUR, 6 * HOUR);
        let at = |hours: f64| loss_alarm(Some(hours * 3600.0), warn, error);
        assert_eq!(loss_alarm(None, warn, error), None);
        assert_eq!(at(48.0), None);
        assert_eq!(at(24.0), None, "the threshold itself is not below it");
        assert_eq!(at(23.9), Some(LossAlarm::Warn));
        assert_eq!(at(6.0), Some(LossAlarm::Warn));
        assert_eq!(at(5.9), Some(LossAlarm::Error));
        assert_eq!(at(-1.0), Some(LossAlarm::Error));
    }

    #[test]
    fn readiness_reasons_carry_no_paths() {
        let paths = vec![
            (PathBuf::from("/srv/wecom/archive.db"), "the archive"),
            (PathBuf::from("/srv/wecom"), "the archive's folder"),
        ];
        let text = "committing records after seq 5 failed: disk full at /srv/wecom/archive.db: nothing of this commit was written; free space, then try again (No space left on device (os error 28)) and cannot open (/var/lib/other/file.pem)";
        assert_eq!(
            scrub_paths(text, &paths),
            "committing records after seq 5 failed: disk full at the archive: nothing of this commit was written; free space, then try again (No space left on device (os error 28)) and cannot open (<path>)"
        );
    }
}
