//! `cursor show|set`: the sync cursor by hand, to recover from a server's implausible answers
//! (a seq of 2^64−1 once moved it past everything) without editing the database.

use std::process::ExitCode;

use wecom_daemon::config::CorpConfig;

use super::{Writers, open_reader, thousands};
use crate::cli::CursorCommand;

pub fn run(corp: &CorpConfig, cmd: &CursorCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CursorCommand::Show { json } => show(corp, *json),
        CursorCommand::Set { seq, force } => set(corp, *seq, *force),
    }
}

fn show(corp: &CorpConfig, as_json: bool) -> anyhow::Result<ExitCode> {
    if matches!(&corp.store, wecom_store::StoreLocation::Sqlite(path) if !path.exists()) {
        anyhow::bail!(
            "archive {} does not exist yet: run `wecom-archive sync` first",
            corp.archive_path.display()
        );
    }
    let store = open_reader(&corp.store)?;
    let status = wecom_views::cursor_status(&*store, &corp.corp_id)?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(ExitCode::SUCCESS);
    }
    let cursor = status.cursor;
    println!("corp {}", status.corp_id);
    println!("  cursor                {cursor}");
    match status.max_archived_seq {
        Some(m) => println!("  largest archived seq  {m}"),
        None => println!("  largest archived seq  (no records yet)"),
    }
    if cursor >= wecom_sync::IMPLAUSIBLE_SEQ {
        println!(
            "  the cursor is 2^63 or more, beyond any real archive: a server's broken answer moved it \
             there and nothing newer can be fetched; set it back with \
             `wecom-archive cursor set --seq {} --force`",
            status.max_archived_seq.unwrap_or(0)
        );
    }
    println!(
        "  quarantined items     {} ({} above the cursor or without a seq)",
        thousands(status.quarantined),
        status.quarantined_above_cursor
    );
    for q in &status.quarantined_items {
        let seq = q
            .seq
            .map_or_else(|| "(no seq)".to_owned(), |s| s.to_string());
        println!(
            "    seq {seq:<20} {:<16} seen {}x, {} bytes: {}",
            q.kind,
            q.times_seen,
            q.bytes,
            printable(&q.reason)
        );
    }
    if status.quarantined_above_cursor > 0 {
        println!(
            "  the sync cannot move past quarantined items by itself; if their seqs are real, \
             move the cursor with `wecom-archive cursor set --seq N`"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn set(corp: &CorpConfig, seq: u64, force: bool) -> anyhow::Result<ExitCode> {
    // A writer like `sync`: one at a time, told who holds the archive otherwise (exit 4).
    let mut writers = Writers::default();
    let store = writers.open(&corp.store)?;
    let change = store.writer.set_cursor(&corp.corp_id, seq, force)?;
    let previous = change.previous;
    if !change.moved {
        anyhow::bail!(
            "refused: moving the cursor of corp {} back from {previous} to {seq} passes {} archived \
             record(s), which the next sync would fetch again (only as duplicates, but rarely what \
             is meant); check the seq, or add --force to move it anyway",
            corp.corp_id,
            thousands(change.records_passed)
        );
    }
    if seq == previous {
        println!("corp {}: the cursor is already at {seq}", corp.corp_id);
    } else if seq > previous {
        println!(
            "corp {}: cursor moved forward from {previous} to {seq}. The next sync fetches the \
             records after {seq}: whatever the server holds at seqs {}..={seq} ({} seqs) will not \
             be fetched{}",
            corp.corp_id,
            previous + 1,
            thousands(seq - previous),
            if change.quarantined_skipped > 0 {
                format!(
                    "; {} quarantined item(s) lie in that range",
                    thousands(change.quarantined_skipped)
                )
            } else {
                String::new()
            }
        );
    } else {
        println!(
            "corp {}: cursor moved back from {previous} to {seq}. The next sync fetches again {} \
             archived record(s) (kept once, counted as replays) and whatever the server holds after {seq}",
            corp.corp_id,
            thousands(change.records_passed)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The text with control characters escaped, so a server's bytes cannot drive the terminal.
fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}
