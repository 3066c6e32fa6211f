//! `conversations list` and `conversations show`: the archive by conversation, in time order.

use std::process::ExitCode;

use anyhow::bail;
use wecom_daemon::config::CorpConfig;
use wecom_views::{MessageView, PageCursor};

use super::{open_reader, thousands};
use crate::cli::ConversationsCommand;

pub fn run(corp: &CorpConfig, cmd: &ConversationsCommand) -> anyhow::Result<ExitCode> {
    if matches!(&corp.store, wecom_store::StoreLocation::Sqlite(path) if !path.exists()) {
        bail!(
            "archive {} does not exist yet: run `wecom-archive sync` first",
            corp.archive_path.display()
        );
    }
    let store = open_reader(&corp.store)?;
    match cmd {
        ConversationsCommand::List {
            limit,
            offset,
            json,
        } => {
            let list = wecom_views::conversations(&*store, &corp.corp_id, *limit, *offset)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for c in &list {
                    let title = if c.roomid.is_empty() {
                        c.key.clone()
                    } else {
                        format!("{} {}", c.room_name.as_ref().unwrap_or(&c.roomid), c.key)
                    };
                    safe_println!(
                        "{:<6} {:>7} msgs  {} – {}  {}  ({})",
                        if c.is_group { "group" } else { "1:1" },
                        thousands(c.messages),
                        china_time(c.first_msgtime),
                        china_time(c.last_msgtime),
                        title,
                        c.sender_names
                            .iter()
                            .take(5)
                            .map(String::as_str)
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
            let page = wecom_views::conversation_page(&*store, &corp.corp_id, key, cursor, *limit)?;
            if *json {
                // The messages alone: the shape scripts read since before pages had a cursor.
                println!("{}", serde_json::to_string_pretty(&page.messages)?);
            } else {
                if page.messages.is_empty() && cursor.is_none() {
                    safe_println!("no messages in conversation {key}");
                }
                for c in &page.declined {
                    // The contact's name when a message of the page carries it.
                    let name = page
                        .messages
                        .iter()
                        .find(|m| m.from == c.external_userid)
                        .and_then(|m| m.from_name.as_ref())
                        .unwrap_or(&c.external_userid);
                    safe_println!(
                        "note: {} declined archiving (since {}): WeCom does not archive this conversation while that stands",
                        name,
                        china_time(c.status_change_time.saturating_mul(1000))
                    );
                }
                for m in &page.messages {
                    safe_println!("{}", render_line(m));
                }
                if let Some(next) = page.next_after {
                    safe_println!("… next page: --after {next}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_cursor(s: &str) -> anyhow::Result<PageCursor> {
    s.parse().map_err(|_| {
        anyhow::anyhow!("--after takes MSGTIME:SEQ as printed at the end of a page, not `{s}`")
    })
}

/// One message as a line.
fn render_line(m: &MessageView) -> String {
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
        m.from_name.as_deref().unwrap_or(&m.from),
        m.msgtype.as_deref().unwrap_or(m.action.as_str()),
        text,
        if marks.is_empty() {
            String::new()
        } else {
            format!("  [{}]", marks.join("; "))
        }
    )
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
            PageCursor {
                msgtime: 1_700_000_000_000,
                seq: 42
            }
        );
        assert!(parse_cursor("yesterday").is_err());
    }
}
