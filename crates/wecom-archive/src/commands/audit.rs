//! `audit list|verify`: the access audit log of the archive holding the accounts, read-only
//! beside a running daemon. `verify` recomputes the hash chain and exits
//! [`EXIT_AUDIT_BROKEN`] naming the first broken entry.

use std::process::ExitCode;

use anyhow::Context as _;
use wecom_daemon::config::Config;
use wecom_store::{AuditFilter, AuditReader, AuditRecord, ChainCheck, StoreLocation};

use super::conversations::china_time;
use super::users::accounts_archive;
use crate::cli::AuditCommand;

/// Exit code of `audit verify` when a link of the chain does not hold.
pub const EXIT_AUDIT_BROKEN: u8 = 5;

pub fn run(config: &Config, cmd: &AuditCommand) -> anyhow::Result<ExitCode> {
    let archive = accounts_archive(config)?;
    if let StoreLocation::Sqlite(path) = archive
        && !path.exists()
    {
        anyhow::bail!(
            "archive {} does not exist yet: nothing has been audited",
            path.display()
        );
    }
    let log = wecom_store::open_audit_reader(archive)
        .with_context(|| format!("cannot read archive {archive}"))?;
    match cmd {
        AuditCommand::List {
            user,
            action,
            since,
            limit,
            json,
        } => list(
            &*log,
            &AuditFilter {
                username: user.clone(),
                action: action.clone(),
                since_ms: *since,
                until_ms: None,
                after_seq: 0,
                limit: *limit,
            },
            *json,
        ),
        AuditCommand::Verify { json } => verify(&*log, *json),
    }
}

fn list(log: &dyn AuditReader, filter: &AuditFilter, as_json: bool) -> anyhow::Result<ExitCode> {
    for r in log.list(filter)? {
        if as_json {
            println!("{}", record_json(&r));
        } else {
            let e = &r.entry;
            let who = if e.username.is_empty() {
                "(unknown)"
            } else {
                e.username.as_str()
            };
            safe_println!(
                "{:>6}  {}  {:<16} {:<15} {:<18} {:<6} {}{}{}",
                r.seq,
                china_time(e.at_ms),
                who,
                e.address,
                e.action,
                e.outcome,
                e.target,
                if e.corp_id.is_empty() {
                    String::new()
                } else {
                    format!(" (corp {})", e.corp_id)
                },
                if e.detail == "{}" {
                    String::new()
                } else {
                    format!(" {}", e.detail)
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn record_json(r: &AuditRecord) -> serde_json::Value {
    let e = &r.entry;
    let detail: serde_json::Value = serde_json::from_str(&e.detail)
        .unwrap_or_else(|_| serde_json::Value::String(e.detail.clone()));
    serde_json::json!({
        "seq": r.seq,
        "at_ms": e.at_ms,
        "username": e.username,
        "address": e.address,
        "action": e.action,
        "corp_id": e.corp_id,
        "target": e.target,
        "detail": detail,
        "outcome": e.outcome.as_str(),
        "prev_hash": r.prev_hash,
        "hash": r.hash,
    })
}

fn verify(log: &dyn AuditReader, as_json: bool) -> anyhow::Result<ExitCode> {
    match log.verify()? {
        ChainCheck::Intact { entries, head_hash } => {
            if as_json {
                println!(
                    "{}",
                    serde_json::json!({"intact": true, "entries": entries, "head_hash": head_hash})
                );
            } else {
                println!("audit log intact: {entries} entries, head hash {head_hash}");
            }
            Ok(ExitCode::SUCCESS)
        }
        ChainCheck::Broken(broken) => {
            if as_json {
                println!(
                    "{}",
                    serde_json::json!({
                        "intact": false,
                        "broken_seq": broken.seq,
                        "reason": broken.to_string(),
                    })
                );
            } else {
                println!("audit log BROKEN at entry {}: {broken}", broken.seq);
            }
            eprintln!(
                "error: the audit log's hash chain breaks at entry {}: {broken}",
                broken.seq
            );
            Ok(ExitCode::from(EXIT_AUDIT_BROKEN))
        }
    }
}
