//! Names: one resolution pass after `sync`, and the `rooms` and `people` listings.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use wecom_daemon::config::{Config, CorpConfig};
use wecom_names::NameReport;
use wecom_store::names::{Consent, NameStats, PersonEntry, RoomEntry, fallback_label};
use wecom_store::{ArchiveReader, Roles};

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
    let store = writers.open(&corp.archive_path)?;
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

pub fn names_json(n: &NameStats) -> serde_json::Value {
    json!({
        "rooms_total": n.rooms_total,
        "rooms_named": n.rooms_named,
        "rooms_unresolvable": n.rooms_unresolvable,
        "rooms_unchecked": n.rooms_unchecked,
        "people_total": n.people_total,
        "people_named": n.people_named,
        "people_unresolvable": n.people_unresolvable,
        "people_unchecked": n.people_unchecked,
        "permit_users": n.permit_users,
        "consent_agree": n.consent_agree,
        "consent_disagree": n.consent_disagree,
    })
}

pub fn render_names(n: &NameStats) -> String {
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

fn require_archive(corp: &CorpConfig) -> anyhow::Result<()> {
    if !corp.archive_path.exists() {
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
    open_reader(&corp.archive_path)
}

fn room_json(r: &RoomEntry) -> serde_json::Value {
    json!({
        "roomid": r.roomid,
        "state": r.state.as_str(),
        "kind": r.kind.map(|k| k.as_str()),
        "name": r.name,
        "owner": r.owner,
        "created_at": r.created_at,
        "notice": r.notice,
        "members": r.member_count,
        "messages": r.messages,
        "errcode": r.errcode,
        "error": r.error,
        "checked_at_ms": r.checked_at_ms,
        "next_check_ms": r.next_check_ms,
    })
}

fn person_json(p: &PersonEntry) -> serde_json::Value {
    json!({
        "id": p.id,
        "kind": p.kind.as_str(),
        "state": p.state.as_str(),
        "name": p.name,
        "corp_name": p.corp_name,
        "position": p.position,
        "external_type": p.external_type,
        "creator": p.creator,
        "errcode": p.errcode,
        "error": p.error,
        "checked_at_ms": p.checked_at_ms,
        "next_check_ms": p.next_check_ms,
    })
}

fn consent_json(c: &Consent) -> serde_json::Value {
    let (kind, userid, roomid) = match &c.subject {
        wecom_store::names::ConsentSubject::Pair { userid, .. } => ("pair", userid.as_str(), ""),
        wecom_store::names::ConsentSubject::Room { roomid } => ("room", "", roomid.as_str()),
    };
    json!({
        "subject": kind,
        "userid": userid,
        "roomid": roomid,
        "external_userid": c.external_userid,
        "status": c.status.as_str(),
        "status_change_time": c.status_change_time,
        "checked_at_ms": c.checked_at_ms,
    })
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
            let list = store.rooms(&corp.corp_id, *limit, *offset)?;
            if *json {
                let items: Vec<_> = list.iter().map(room_json).collect();
                println!("{}", serde_json::to_string_pretty(&items)?);
                return Ok(ExitCode::SUCCESS);
            }
            for r in &list {
                safe_println!(
                    "{:<30}  {:<8} {:>4} members {:>7} msgs  {}",
                    r.roomid,
                    r.kind.map_or("?", |k| k.as_str()),
                    r.member_count,
                    thousands(r.messages),
                    label(
                        r.name.as_deref(),
                        &r.roomid,
                        r.state.as_str(),
                        r.error.as_deref()
                    )
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
            let (detail, consents, names) = {
                let guard = &store;
                let Some(detail) = guard.room(&corp.corp_id, roomid)? else {
                    bail!("room {roomid} is not in the archive");
                };
                let ids: Vec<String> = detail.members.iter().map(|m| m.id.clone()).collect();
                let names = guard.display_names(&corp.corp_id, &ids, Some(roomid))?;
                (detail, guard.consents(&corp.corp_id, roomid)?, names)
            };
            if *json {
                let members: Vec<_> = detail
                    .members
                    .iter()
                    .zip(&names)
                    .map(|(m, n)| {
                        json!({
                            "id": m.id,
                            "kind": m.kind.as_str(),
                            "display_name": n.text,
                            "join_time": m.join_time,
                            "join_scene": m.join_scene,
                            "inviter": m.inviter,
                            "group_nickname": m.group_nickname,
                            "is_admin": m.is_admin,
                        })
                    })
                    .collect();
                let history: Vec<_> = detail
                    .history
                    .iter()
                    .map(|h| json!({"name": h.name, "observed_at_ms": h.observed_at_ms}))
                    .collect();
                let consents: Vec<_> = consents.iter().map(consent_json).collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "room": room_json(&detail.entry),
                        "members": members,
                        "name_history": history,
                        "consent": consents,
                    }))?
                );
                return Ok(ExitCode::SUCCESS);
            }
            let r = &detail.entry;
            safe_println!(
                "{}  {}",
                r.roomid,
                label(
                    r.name.as_deref(),
                    &r.roomid,
                    r.state.as_str(),
                    r.error.as_deref()
                )
            );
            safe_println!(
                "  kind {}, owner {}, created {}, {} messages",
                r.kind.map_or("unknown", |k| k.as_str()),
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
            if detail.history.len() > 1 {
                safe_println!("  names over time:");
                for h in &detail.history {
                    safe_println!("    {}  {}", china_time(h.observed_at_ms), h.name);
                }
            }
            safe_println!("  members ({}):", detail.members.len());
            for (m, n) in detail.members.iter().zip(&names) {
                safe_println!(
                    "    {:<34} {:<9} {}{}",
                    m.id,
                    m.kind.as_str(),
                    n.text,
                    if m.is_admin { "  (admin)" } else { "" }
                );
            }
            for c in &consents {
                safe_println!(
                    "  consent: {} {} since {}",
                    c.external_userid,
                    c.status.as_str(),
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
            let list = store.people(&corp.corp_id, *limit, *offset)?;
            if *json {
                let items: Vec<_> = list.iter().map(person_json).collect();
                println!("{}", serde_json::to_string_pretty(&items)?);
                return Ok(ExitCode::SUCCESS);
            }
            for p in &list {
                let extra = if p.corp_name.is_empty() {
                    p.position.clone()
                } else {
                    p.corp_name.clone()
                };
                safe_println!(
                    "{:<34} {:<9} {}{}",
                    p.id,
                    p.kind.as_str(),
                    label(
                        p.name.as_deref(),
                        &p.id,
                        p.state.as_str(),
                        p.error.as_deref()
                    ),
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
            let (person, consents, scope, scope_checked) = {
                let guard = &store;
                let Some(person) = guard.person(&corp.corp_id, id)? else {
                    bail!("{id} is not in the archive");
                };
                let scope = guard
                    .permit_users(&corp.corp_id)?
                    .into_iter()
                    .find(|u| u.userid == *id);
                let checked = guard.permit_checked_at(&corp.corp_id)?;
                (person, guard.consents(&corp.corp_id, id)?, scope, checked)
            };
            if *json {
                let consents: Vec<_> = consents.iter().map(consent_json).collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "person": person_json(&person),
                        "in_archive_scope": scope.as_ref().map(|s| s.in_scope),
                        "consent": consents,
                    }))?
                );
                return Ok(ExitCode::SUCCESS);
            }
            safe_println!(
                "{}  {}",
                person.id,
                label(
                    person.name.as_deref(),
                    &person.id,
                    person.state.as_str(),
                    person.error.as_deref()
                )
            );
            safe_println!("  kind {}", person.kind.as_str());
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
            match &scope {
                Some(s) if s.in_scope => safe_println!("  in the archive scope"),
                Some(_) => safe_println!(
                    "  no longer in the archive scope: their chats with others outside it are not archived"
                ),
                None if scope_checked.is_none() => {}
                None if person.kind == wecom_store::names::PartyKind::Internal => safe_println!(
                    "  not in the archive scope (as last fetched): only chats with archived members are kept"
                ),
                None => {}
            }
            for c in &consents {
                let with = match &c.subject {
                    wecom_store::names::ConsentSubject::Pair { userid, .. } => {
                        format!("with {userid}")
                    }
                    wecom_store::names::ConsentSubject::Room { roomid } => {
                        format!("in room {roomid}")
                    }
                };
                safe_println!(
                    "  consent {with}: {}{}",
                    c.status.as_str(),
                    if c.status == wecom_store::names::ConsentStatus::Disagree {
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
