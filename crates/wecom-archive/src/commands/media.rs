//! `media status` and `media retry`.

use std::process::ExitCode;

use wecom_daemon::config::{Config, CorpConfig};
use wecom_store::MediaJobState;

use super::stats::{media_location, render_media_view};
use super::{Writers, open_reader};
use crate::cli::MediaCommand;

use wecom_wire::clock::now_ms;

pub fn run(config: &Config, corp: &CorpConfig, cmd: &MediaCommand) -> anyhow::Result<ExitCode> {
    if matches!(&corp.store, wecom_store::StoreLocation::Sqlite(path) if !path.exists()) {
        anyhow::bail!(
            "archive {} does not exist yet: run `wecom-archive sync` first",
            corp.archive_path.display()
        );
    }
    match cmd {
        MediaCommand::Status { json } => {
            let store = open_reader(&corp.store)?;
            let status = wecom_views::media_status(
                &*store,
                &corp.corp_id,
                &media_location(config),
                now_ms(),
            )?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!("{}", render_media_view(&status.media));
                if let Some(age) = status.oldest_pending_age_seconds {
                    println!(
                        "    oldest pending job: message {:.1} hours old",
                        age as f64 / 3600.0
                    );
                }
                let failed =
                    store.media_jobs(&corp.corp_id, Some(MediaJobState::FailedPermanent), 0, 20)?;
                for j in failed {
                    println!(
                        "    failed: msgid {} {} — {}",
                        j.msgid,
                        j.kind,
                        j.last_error.as_deref().unwrap_or("")
                    );
                }
            }
        }
        MediaCommand::Retry { failed } => {
            let mut writers = Writers::default();
            let store = writers.open(&corp.store)?;
            let n = store
                .media
                .retry_media_jobs(&corp.corp_id, *failed, now_ms())?;
            println!(
                "{n} media job(s) are due again; the next `sync` or the running daemon downloads them"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
