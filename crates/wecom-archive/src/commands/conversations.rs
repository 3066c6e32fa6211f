//! `conversations list` and `conversations show`: the archive by conversation, in time order.

use std::collections::{BTreeSet, HashMap};
use std::process::ExitCode;

use anyhow::bail;
use serde_json::json;
use wecom_daemon::config::CorpConfig;
use wecom_store::names::{ConsentStatus, ConsentSubject, DisplayName, DisplaySource};
use wecom_store::{ConversationSummary, StoredMessage};

use super::{open_reader, thousands};
use crate::cli::ConversationsCommand;

pub fn run(corp: &CorpConfig, cmd: &ConversationsCommand) -> anyhow::Result<ExitCode> {
    if !corp.archive_path.exists() {
        bail!(
            "archive {} does not exist yet: run `wecom-archive sync` first",
            corp.archive_path.display()
        );
    }
    let store = open_reader(&corp.archive_path)?;
    match cmd {
        ConversationsCommand::List {
            limit,
            offset,
            json,
        } => {
            let (list, names) = {
                let guard = &store;
                let list = guard.conversations(&corp.corp_id, *limit, *offset)?;
                // One lookup for every room and sender on the page.
                let ids: Vec<String> = list
                    .iter()
                    .flat_map(|c| {
                        std::iter::once(c.roomid.clone())
                            .filter(|r| !r.is_empty())
                            .chain(c.senders.iter().cloned())
                    })
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let shown = guard.display_names(&corp.corp_id, &ids, None)?;
                let names: HashMap<String, DisplayName> =
                    shown.into_iter().map(|d| (d.id.clone(), d)).collect();
                (list, names)
            };
            let name = |id: &str| -> String {
                names
                    .get(id)
                    .filter(|d| d.source != DisplaySource::Id)
                    .map_or_else(|| id.to_owned(), |d| d.text.clone())
            };
            if *json {
                let items: Vec<_> = list
                    .iter()
                    .map(|c| {
                        let mut v = summary_json(c);
                        v["room_name"] = json!(
                            names
                                .get(&c.roomid)
                                .filter(|d| d.source != DisplaySource::Id)
                                .map(|d| d.text.clone())
                        );
                        v["sender_names"] =
                            json!(c.senders.iter().map(|s| name(s)).collect::<Vec<_>>());
                        v
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&items)?);
            } else {
                for c in &list {
                    let title = if c.roomid.is_empty() {
                        c.key.clone()
                    } else {
                        format!("{} {}", name(&c.roomid), c.key)
                    };
                    safe_println!(
                        "{:<6} {:>7} msgs  {} – {}  {}  ({})",
                        if c.is_group { "group" } else { "1:1" },
                        thousands(c.messages),
                        china_time(c.first_msgtime),
                        china_time(c.last_msgtime),
                        title,
                        c.senders
                            .iter()
                            .take(5)
                            .map(|s| name(s))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                if list.len() == *limit {
                    safe_println!("… more with --offset {}", offset + limit);
                }
            }
        }
        ConversationsCommand::Show {
            key,
            after,
            limit,
            json,
        } => {
            let cursor = match after {
                Some(a) => Some(parse_cursor(a)?),
                None => None,
            };
            let (page, names, declined) = {
                let guard = &store;
                let page = guard.conversation_messages(&corp.corp_id, key, cursor, *limit)?;
                let senders: Vec<String> = page
                    .iter()
                    .map(|m| m.from.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let roomid = page
                    .iter()
                    .map(|m| m.roomid.as_str())
                    .find(|r| !r.is_empty());
                let shown = guard.display_names(&corp.corp_id, &senders, roomid)?;
                let names: HashMap<String, String> =
                    shown.into_iter().map(|d| (d.id, d.text)).collect();
                // A one-to-one chat with a contact who declined archiving is one-sided or empty
                // from then on: say so.
                let mut declined = Vec::new();
                if let (true, Some(first)) = (key.starts_with("pair:"), page.first()) {
                    let parties: BTreeSet<&str> = std::iter::once(first.from.as_str())
                        .chain(first.tolist.iter().map(String::as_str))
                        .collect();
                    for id in &parties {
                        for c in guard.consents(&corp.corp_id, id)? {
                            let with_pair = matches!(&c.subject, ConsentSubject::Pair { userid, external_userid }
                                if parties.contains(userid.as_str()) && external_userid == id);
                            if with_pair && c.status == ConsentStatus::Disagree {
                                declined.push(c);
                            }
                        }
                    }
                }
                (page, names, declined)
            };
            if *json {
                let items: Vec<_> = page
                    .iter()
                    .map(|m| {
                        let mut v = message_json(m);
                        v["from_name"] = json!(names.get(&m.from));
                        v
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&items)?);
            } else {
                if page.is_empty() && cursor.is_none() {
                    safe_println!("no messages in conversation {key}");
                }
                for c in &declined {
                    safe_println!(
                        "note: {} declined archiving (since {}): WeCom does not archive this conversation while that stands",
                        names.get(&c.external_userid).unwrap_or(&c.external_userid),
                        china_time(c.status_change_time.saturating_mul(1000))
                    );
                }
                for m in &page {
                    safe_println!("{}", render_line(m, names.get(&m.from).map(String::as_str)));
                }
                if let (true, Some(last)) = (page.len() == *limit, page.last()) {
                    safe_println!("… next page: --after {}:{}", last.msgtime, last.seq);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_cursor(s: &str) -> anyhow::Result<(i64, u64)> {
    let parsed = s
        .split_once(':')
        .and_then(|(t, q)| Some((t.parse().ok()?, q.parse().ok()?)));
    parsed.ok_or_else(|| {
        anyhow::anyhow!("--after takes MSGTIME:SEQ as printed at the end of a page, not `{s}`")
    })
}

/// One message as a line; `from_name` is the sender's display name, when known.
fn render_line(m: &StoredMessage, from_name: Option<&str>) -> String {
    let mut marks = Vec::new();
    if let Some(by) = &m.recalled_by {
        marks.push(format!(
            "recalled by {} at {}",
            m.recalled_by_user.as_deref().unwrap_or(by),
            m.recalled_at.map(china_time).unwrap_or_default()
        ));
    }
    if let Some(q) = &m.quote_of {
        marks.push(format!("quotes {q}"));
    }
    if m.external {
        marks.push("external".into());
    }
    if !m.warnings.is_empty() {
        marks.push(format!("{} parse warning(s)", m.warnings.len()));
    }
    let text: String = m.text.replace('\n', " ⏎ ").chars().take(120).collect();
    format!(
        "{}  {:<34} {:<20} {}{}",
        china_time(m.msgtime),
        from_name.unwrap_or(&m.from),
        m.msgtype.as_deref().unwrap_or(m.action.as_str()),
        text,
        if marks.is_empty() {
            String::new()
        } else {
            format!("  [{}]", marks.join("; "))
        }
    )
}

fn summary_json(c: &ConversationSummary) -> serde_json::Value {
    json!({
        "key": c.key, "is_group": c.is_group, "roomid": c.roomid, "messages": c.messages,
        "first_msgtime": c.first_msgtime, "last_msgtime": c.last_msgtime, "senders": c.senders,
    })
}

fn message_json(m: &StoredMessage) -> serde_json::Value {
    json!({
        "seq": m.seq, "msgid": m.msgid, "action": m.action, "from": m.from, "tolist": m.tolist,
        "roomid": m.roomid, "msgtime": m.msgtime, "msgtype": m.msgtype, "conversation": m.conversation,
        "text": m.text, "external": m.external, "updown_stream": m.updown_stream,
        "recall_of": m.recall_of, "recalled_by": m.recalled_by, "recalled_by_user": m.recalled_by_user,
        "recalled_at": m.recalled_at, "quote_of": m.quote_of, "warnings": m.warnings,
    })
}

/// `YYYY-MM-DD HH:MM:SS` in China time (UTC+8), the time zone WeCom's users read.
pub fn china_time(ms: i64) -> String {
    wecom_wire::text::datetime(ms.div_euclid(1000).saturating_add(8 * 3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn china_time_is_utc_plus_eight() {
        assert_eq!(china_time(0), "1970-01-01 08:00:00");
        assert_eq!(china_time(1_547_087_894_783), "2019-01-10 10:38:14");
        assert_eq!(china_time(1_709_222_400_000), "2024-03-01 00:00:00");
        assert_eq!(china_time(-1000), "1970-01-01 07:59:59");
    }

    #[test]
    fn cursors_parse_or_explain() {
        assert_eq!(
            parse_cursor("1700000000000:42").expect("cursor"),
            (1_700_000_000_000, 42)
        );
        assert!(parse_cursor("yesterday").is_err());
    }
}
