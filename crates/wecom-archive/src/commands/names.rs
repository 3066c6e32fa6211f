//! Names: one resolution pass after `sync`, and the `rooms` and `people` listings.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;
use tokio_util::sync::CancellationToken;
use wecom_daemon::config::{Config, CorpConfig};
use wecom_names::NameReport;
use wecom_store::names::{ConsentStatus, NameStats, PartyKind, fallback_label};
use wecom_store::{ArchiveReader, Roles};
use wecom_views::NamesView;

use super::conversations::china_time;
use super::{Writers, open_reader, thousands};
use crate::cli::{PeopleCommand, RoomsCommand};

/// One pass after a sync. Names never fail a sync: problems are printed and left for next time.
pub async fn resolve_once(
    config: &Config,
    corp: &CorpConfig,
    store: &Roles,
    cancel: &CancellationToken,
) -> Option<NameReport> {
    report_names(
        &corp.corp_id,
        wecom_daemon::names::resolve_once(config, corp, store, cancel).await,
    )
}

/// Prints a names pass's report, or its problem as a warning (names never fail a command).
pub fn report_names(
    corp_id: &str,
    pass: Result<Option<NameReport>, wecom_daemon::DaemonError>,
) -> Option<NameReport> {
    match pass {
        Ok(Some(report)) => {
            print_report(corp_id, &report);
            Some(report)
        }
        Ok(None) => None,
        // The pass's error already names the corp and names.
        Err(e @ wecom_daemon::DaemonError::Names { .. }) => {
            eprintln!("warning: {e}");
            None
        }
        Err(e) => {
            eprintln!("warning: corp {corp_id}: names: {e}");
            None
        }
    }
}

/// `names refresh [--all]`: makes entries due now and runs one pass.
pub fn refresh(config: &Config, corp: &CorpConfig, all: bool) -> anyhow::Result<ExitCode> {
    if !config.names.enabled {
        bail!("names are disabled in the configuration ([names] enabled = false)");
    }
    require_archive(corp)?;
    let mut writers = Writers::default();
    let store = writers.open(&corp.store)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let changed = store.directory.recheck_names(&corp.corp_id, all, now)?;
    safe_println!(
        "corp {}: {} rooms and people to check again",
        corp.corp_id,
        thousands(changed)
    );
    let report = super::runtime()?.block_on(resolve_once(
        config,
        corp,
        &store,
        &CancellationToken::new(),
    ));
    let stats = store.reader.name_stats(&corp.corp_id)?;
    print!("{}", render_names(&stats));
    Ok(match report {
        Some(r) if !r.rate_limited && !r.unreachable => ExitCode::SUCCESS,
        // Rate limited or failed: what is left is due at the next pass (`sync` or `run`).
        _ => ExitCode::from(2),
    })
}

fn print_report(corp_id: &str, r: &NameReport) {
    let checked = r.rooms_named
        + r.rooms_unresolvable
        + r.rooms_failed
        + r.people_named
        + r.people_unresolvable
        + r.people_failed;
    if checked == 0 && r.permit.is_none() && r.consent_subjects_checked == 0 && !r.unreachable {
        return;
    }
    safe_println!(
        "corp {corp_id}: names: {} rooms named, {} unresolvable, {} to retry; {} people named, {} unresolvable, {} to retry; {} consent checks{}{}",
        thousands(r.rooms_named),
        thousands(r.rooms_unresolvable),
        thousands(r.rooms_failed),
        thousands(r.people_named),
        thousands(r.people_unresolvable),
        thousands(r.people_failed),
        thousands(r.consent_subjects_checked),
        if r.rate_limited {
            "; rate limited, the rest follows later"
        } else if r.unreachable {
            "; the APIs look unreachable, the rest follows later"
        } else {
            ""
        },
        if r.disabled.is_empty() {
            String::new()
        } else {
            format!("; unavailable: {}", r.disabled.join(", "))
        }
    );
}

/// Names, scope and consent figures as text.
pub fn render_names(n: &NameStats) -> String {
    render_names_view(&NamesView::from(n))
}

pub fn render_names_view(n: &NamesView) -> String {
    format!(
        "names:\n  rooms        {} named of {} ({} unresolvable, {} not checked yet)\n  people       {} named of {} ({} unresolvable, {} not checked yet)\n  scope        {} users archived; consent {} agreed, {} disagreed\n",
        thousands(n.rooms_named),
        thousands(n.rooms_total),
        thousands(n.rooms_unresolvable),
        thousands(n.rooms_unchecked),
        thousands(n.people_named),
        thousands(n.people_total),
        thousands(n.people_unresolvable),
        thousands(n.people_unchecked),
        thousands(n.permit_users),
        thousands(n.consent_agree),
        thousands(n.consent_disagree),
    )
}

/// Refuses a corp whose archive was never created (a read-only command has nothing to read).
pub(super) fn require_archive(corp: &CorpConfig) -> anyhow::Result<()> {
    if matches!(&corp.store, wecom_store::StoreLocation::Sqlite(path) if !path.exists()) {
        bail!(
            "archive {} does not exist yet: run `wecom-archive sync` first",
            corp.archive_path.display()
        );
    }
    Ok(())
}

/// For the read-only commands (`rooms`, `people`).
fn open_existing(corp: &CorpConfig) -> anyhow::Result<Arc<dyn ArchiveReader>> {
    require_archive(corp)?;
    open_reader(&corp.store)
}

/// `name (state)` for listings: the name, or what is known about why there is none.
fn label(name: Option<&str>, id: &str, state: &str, error: Option<&str>) -> String {
    match (name, error) {
        (Some(n), _) if state == "named" => n.to_owned(),
        (Some(n), _) => format!("{n} [{state}]"),
        (None, Some(e)) if state == "unresolvable" => format!("(unresolvable: {e})"),
        (None, _) => format!("({state}) {}", fallback_label(id)),
    }
}

pub fn rooms(corp: &CorpConfig, cmd: &RoomsCommand) -> anyhow::Result<ExitCode> {
    let store = open_existing(corp)?;
    match cmd {
        RoomsCommand::List {
            limit,
            offset,
            json,
        } => {
            let list = wecom_views::rooms(&*store, &corp.corp_id, *limit, *offset)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(ExitCode::SUCCESS);
            }
            for r in &list {
                safe_println!(
                    "{:<30}  {:<8} {:>4} members {:>7} msgs  {}",
                    r.roomid,
                    r.kind.as_deref().unwrap_or("?"),
                    r.members,
                    thousands(r.messages),
                    label(r.name.as_deref(), &r.roomid, &r.state, r.error.as_deref())
                );
            }
            if list.is_empty() && *offset == 0 {
                safe_println!("no rooms in the archive yet");
            }
            if list.len() == *limit {
                safe_println!("… more with --offset {}", offset + limit);
            }
        }
        RoomsCommand::Show { roomid, json } => {
            let Some(detail) = wecom_views::room(&*store, &corp.corp_id, roomid)? else {
                bail!("room {roomid} is not in the archive");
            };
            if *json {
                println!("{}", serde_json::to_string_pretty(&detail)?);
                return Ok(ExitCode::SUCCESS);
            }
            let r = &detail.room;
            safe_println!(
                "{}  {}",
                r.roomid,
                label(r.name.as_deref(), &r.roomid, &r.state, r.error.as_deref())
            );
            safe_println!(
                "  kind {}, owner {}, created {}, {} messages",
                r.kind.as_deref().unwrap_or("unknown"),
                if r.owner.is_empty() { "?" } else { &r.owner },
                r.created_at
                    .map_or_else(|| "?".to_owned(), |t| china_time(t.saturating_mul(1000))),
                thousands(r.messages)
            );
            if !r.notice.is_empty() {
                safe_println!("  notice: {}", r.notice);
            }
            if let Some(e) = &r.error {
                safe_println!("  last check: {e}");
            }
            if detail.name_history.len() > 1 {
                safe_println!("  names over time:");
                for h in &detail.name_history {
                    safe_println!("    {}  {}", china_time(h.observed_at_ms), h.name);
                }
            }
            safe_println!("  members ({}):", detail.members.len());
            for m in &detail.members {
                safe_println!(
                    "    {:<34} {:<9} {}{}",
                    m.id,
                    m.kind,
                    m.display_name,
                    if m.is_admin { "  (admin)" } else { "" }
                );
            }
            for c in &detail.consent {
                safe_println!(
                    "  consent: {} {} since {}",
                    c.external_userid,
                    c.status,
                    china_time(c.status_change_time.saturating_mul(1000))
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn people(corp: &CorpConfig, cmd: &PeopleCommand) -> anyhow::Result<ExitCode> {
    let store = open_existing(corp)?;
    match cmd {
        PeopleCommand::List {
            limit,
            offset,
            json,
        } => {
            let list = wecom_views::people(&*store, &corp.corp_id, *limit, *offset)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(ExitCode::SUCCESS);
            }
            for p in &list {
                let extra = if p.corp_name.is_empty() {
                    &p.position
                } else {
                    &p.corp_name
                };
                safe_println!(
                    "{:<34} {:<9} {}{}",
                    p.id,
                    p.kind,
                    label(p.name.as_deref(), &p.id, &p.state, p.error.as_deref()),
                    if extra.is_empty() {
                        String::new()
                    } else {
                        format!("  · {extra}")
                    }
                );
            }
            if list.is_empty() && *offset == 0 {
                safe_println!("no people in the archive yet");
            }
            if list.len() == *limit {
                safe_println!("… more with --offset {}", offset + limit);
            }
        }
        PeopleCommand::Show { id, json } => {
            let Some(detail) = wecom_views::person(&*store, &corp.corp_id, id)? else {
                bail!("{id} is not in the archive");
            };
            if *json {
                println!("{}", serde_json::to_string_pretty(&detail)?);
                return Ok(ExitCode::SUCCESS);
            }
            let person = &detail.person;
            safe_println!(
                "{}  {}",
                person.id,
                label(
                    person.name.as_deref(),
                    &person.id,
                    &person.state,
                    person.error.as_deref()
                )
            );
            safe_println!("  kind {}", person.kind);
            if !person.corp_name.is_empty() {
                safe_println!("  corp {}", person.corp_name);
            }
            if !person.position.is_empty() {
                safe_println!("  position {}", person.position);
            }
            if !person.creator.is_empty() {
                safe_println!("  created by {}", person.creator);
            }
            if let Some(e) = &person.error {
                safe_println!("  last check: {e}");
            }
            match detail.in_archive_scope {
                Some(true) => safe_println!("  in the archive scope"),
                Some(false) => safe_println!(
                    "  no longer in the archive scope: their chats with others outside it are not archived"
                ),
                None if detail.scope_checked_at_ms.is_none() => {}
                None if person.kind == PartyKind::Internal.as_str() => safe_println!(
                    "  not in the archive scope (as last fetched): only chats with archived members are kept"
                ),
                None => {}
            }
            for c in &detail.consent {
                let with = if c.subject == "pair" {
                    format!("with {}", c.userid)
                } else {
                    format!("in room {}", c.roomid)
                };
                safe_println!(
                    "  consent {with}: {}{}",
                    c.status,
                    if c.status == ConsentStatus::Disagree.as_str() {
                        " — this conversation is not archived"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
