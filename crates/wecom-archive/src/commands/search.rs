//! `search`, `index status` and `index rebuild`: full-text search of a corp's messages (read-only,
//! beside a running daemon), the index's figures, and its rebuild from the archive (a writing
//! command: it holds the archive's writer lock).

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::bail;
use tokio_util::sync::CancellationToken;
use wecom_daemon::config::{Config, CorpConfig};
use wecom_search::{
    Filters, Hit, IndexProgress, IndexStatus, Indexer, MAX_LIMIT, SearchError, SearchIndex,
    SearchRequest, Searcher, Sort,
};
use wecom_store::ArchiveReader;
use wecom_views::SearchFigures;
use wecom_wire::text::Escaped;

use super::conversations::china_time;
use super::names::require_archive;
use super::{UsageError, Writers, open_reader, thousands};
use crate::cli::{IndexCommand, SearchArgs, SearchSort};

/// Hits per page when `--limit` is not given (with `--all`, pages of [`MAX_LIMIT`]).
const DEFAULT_LIMIT: usize = 20;
const DAY_MS: i64 = 86_400_000;

pub fn search(config: &Config, corp: &CorpConfig, args: &SearchArgs) -> anyhow::Result<ExitCode> {
    require_enabled(config)?;
    let mut request = request(args);
    // The caller's mistakes first, whether or not an index exists yet.
    check_request(&request).map_err(usage)?;
    require_archive(corp)?;
    let archive = open_reader(&corp.store)?;
    let index = SearchIndex::open(&config.search_index_dir(corp), &corp.corp_id)?;
    let lag = archive
        .feed_head(&corp.corp_id)?
        .saturating_sub(index.position()?);
    if lag > 0 {
        eprintln!(
            "note: {} messages are not indexed yet, so they are not searched: the next `sync` (or the running daemon) indexes them",
            thousands(lag)
        );
    }
    let searcher = Searcher::open(index, archive)?;
    let marks = Marks::for_stdout();
    let mut shown = 0_usize;
    loop {
        let page = searcher.search(&request).map_err(usage)?;
        for hit in &page.hits {
            if args.json {
                println!("{}", serde_json::to_string(hit)?);
            } else {
                print!("{}", render_hit(hit, marks));
            }
        }
        shown += page.hits.len();
        match page.next_cursor {
            Some(next) if args.all => request.cursor = Some(next),
            next => {
                footer(args, page.total, shown, next.as_deref());
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
}

/// The search the arguments describe.
fn request(args: &SearchArgs) -> SearchRequest {
    let limit = match args.limit {
        Some(n) => usize::try_from(n).unwrap_or(MAX_LIMIT),
        None if args.all => MAX_LIMIT,
        None => DEFAULT_LIMIT,
    };
    SearchRequest {
        query: args.query.clone(),
        filters: Filters {
            conversation: args.conversation.clone(),
            participant: args.participant.clone(),
            from: args.from.clone(),
            room: args.room.clone(),
            external: if args.external {
                Some(true)
            } else if args.internal {
                Some(false)
            } else {
                None
            },
            msgtypes: args.types.clone(),
            has_media: args.has_media.then_some(true),
            recalled: args.recalled.then_some(true),
            since_ms: args.since,
            // `--until D` includes all of day D.
            until_ms: args.until.map(|midnight| midnight.saturating_add(DAY_MS)),
            within: None,
            conversations: None,
        },
        sort: match args.sort {
            SearchSort::Relevance => Sort::Relevance,
            SearchSort::Time => Sort::Time,
        },
        limit,
        cursor: args.cursor.clone(),
    }
}

/// A search error as the command reports it: the caller's mistakes (a query, a type, a cursor)
/// exit [`super::EXIT_USAGE`] with their one sentence.
fn usage(e: SearchError) -> anyhow::Error {
    if e.is_usage() {
        UsageError(e.to_string()).into()
    } else {
        e.into()
    }
}

/// The usage errors the searcher would find, found before any file is opened: the query (which
/// may be empty when an option filters), and the message types.
fn check_request(request: &SearchRequest) -> Result<(), SearchError> {
    if !(request.query.trim().is_empty() && request.filters != Filters::default()) {
        wecom_search::query::parse(&request.query)?;
    }
    for t in &request.filters.msgtypes {
        wecom_search::query::check_type(t)?;
    }
    Ok(())
}

/// The last line: how many hits and how to see more. With `--json` it goes to stderr (and only
/// when there is more), so stdout carries nothing but hits.
fn footer(args: &SearchArgs, total: u64, shown: usize, next: Option<&str>) {
    let more = next.map(|c| {
        format!(
            "{} of {} hits shown; the next page: --cursor {}  (or --all for every hit)",
            thousands(shown as u64),
            thousands(total),
            Escaped(c)
        )
    });
    if args.json {
        if let Some(more) = more {
            eprintln!("{more}");
        }
        return;
    }
    match more {
        Some(more) => println!("{more}"),
        None if total == 0 => println!("no messages match"),
        None if args.cursor.is_some() => println!(
            "{} of {} hits shown on this page; it is the last",
            thousands(shown as u64),
            thousands(total)
        ),
        None => println!("{} hit(s)", thousands(total)),
    }
}

/// How a snippet's matches are marked: bold on a terminal, 【…】 elsewhere.
#[derive(Debug, Clone, Copy)]
pub struct Marks {
    open: &'static str,
    close: &'static str,
}

impl Marks {
    pub fn for_stdout() -> Marks {
        if std::io::stdout().is_terminal() {
            Marks {
                open: "\x1b[1m",
                close: "\x1b[0m",
            }
        } else {
            Marks::plain()
        }
    }

    pub fn plain() -> Marks {
        Marks {
            open: "【",
            close: "】",
        }
    }
}

/// One hit as a block: when, where, who and what, then the snippet with the matches marked.
/// Everything from the archive is escaped ([`wecom_wire::text`]); only the marks are not.
pub fn render_hit(hit: &Hit, marks: Marks) -> String {
    let m = &hit.message;
    let place = hit.conversation_name.as_deref().unwrap_or(&m.conversation);
    let mut head = format!(
        "{}  {}  {}  ({})",
        china_time(m.msgtime),
        place,
        m.from_name.as_deref().unwrap_or(&m.from),
        m.msgtype.as_deref().unwrap_or(m.action.as_str()),
    );
    if hit.recalled {
        head.push_str("  [recalled]");
    }
    let mut out = format!("{}\n", Escaped(&head));
    let text = &hit.snippet.text;
    if text.is_empty() {
        // A message without text (an image, a voice message) found by its sender's or room's
        // name, or by the filters alone.
        return out;
    }
    out.push_str("    ");
    let shown = |s: &str| Escaped(&s.replace('\n', " ⏎ ")).to_string();
    let mut at = 0;
    for &[start, end] in &hit.snippet.highlights {
        // Ranges come from the searcher; a range that does not fit is shown unmarked.
        let (Some(before), Some(matched)) = (text.get(at..start), text.get(start..end)) else {
            continue;
        };
        out.push_str(&shown(before));
        out.push_str(marks.open);
        out.push_str(&shown(matched));
        out.push_str(marks.close);
        at = end;
    }
    out.push_str(&shown(text.get(at..).unwrap_or_default()));
    out.push('\n');
    out
}

pub fn index(config: &Config, corp: &CorpConfig, cmd: &IndexCommand) -> anyhow::Result<ExitCode> {
    require_enabled(config)?;
    require_archive(corp)?;
    match cmd {
        IndexCommand::Status { json } => status(config, corp, *json),
        IndexCommand::Rebuild => rebuild(config, corp),
    }
}

fn status(config: &Config, corp: &CorpConfig, json: bool) -> anyhow::Result<ExitCode> {
    let archive = open_reader(&corp.store)?;
    let index = SearchIndex::open(&config.search_index_dir(corp), &corp.corp_id)?;
    let status = index.status(&*archive)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", render_status(&status));
    }
    Ok(ExitCode::SUCCESS)
}

fn render_status(s: &IndexStatus) -> String {
    let mut out = format!(
        "corp {}: search index {}\n  messages indexed  {}\n  feed position     {} of {} (lag {})\n  size              {} bytes\n",
        s.corp_id,
        Escaped(&s.path),
        thousands(s.documents),
        s.position,
        s.head,
        thousands(s.lag),
        thousands(s.size_bytes),
    );
    if s.lag > 0 {
        out.push_str(&format!(
            "  {} messages are not indexed yet: the next `sync` (or the running daemon) indexes them\n",
            thousands(s.lag)
        ));
    }
    out
}

/// Recreates the index and indexes the whole archive, holding the archive's writer lock (so no
/// daemon or sync writes the index meanwhile).
fn rebuild(config: &Config, corp: &CorpConfig) -> anyhow::Result<ExitCode> {
    let mut writers = Writers::default();
    let store = writers.open(&corp.store)?;
    let dir = config.search_index_dir(corp);
    let index = match SearchIndex::open_or_create(&dir, &corp.corp_id) {
        Ok(index) => index,
        Err(e) => {
            let why = match &e {
                SearchError::Corrupt { .. } => "cannot be read",
                SearchError::Incompatible { .. } => "was built by another version",
                SearchError::WrongCorp { .. } => "belongs to another corp",
                _ => return Err(e.into()),
            };
            eprintln!(
                "note: the search index {} {why}: recreating it",
                Escaped(&dir.display().to_string())
            );
            SearchIndex::recreate(&dir, &corp.corp_id)?
        }
    };
    let indexer = Indexer::open(index, store.reader.clone(), config.indexer_options())?;
    let started = Instant::now();
    let mut last = Instant::now();
    let mut progress = |p: &IndexProgress| {
        if last.elapsed() >= Duration::from_secs(2) {
            last = Instant::now();
            let rate = p.indexed as f64 / started.elapsed().as_secs_f64().max(1e-9);
            eprintln!(
                "indexed {} messages ({rate:.0}/s), feed position {} of {}",
                thousands(p.indexed),
                p.position,
                p.head
            );
        }
    };
    let report = indexer.rebuild(&CancellationToken::new(), &mut progress)?;
    let status = indexer.index().status(&*store.reader)?;
    safe_println!(
        "corp {}: search index rebuilt: {} messages indexed in {:.1}s; feed position {} of {} (lag {}), {} bytes in {}",
        corp.corp_id,
        thousands(report.indexed),
        started.elapsed().as_secs_f64(),
        status.position,
        status.head,
        thousands(status.lag),
        thousands(status.size_bytes),
        status.path
    );
    Ok(ExitCode::SUCCESS)
}

/// The index's figures for `stats`, or `None` when it does not exist or cannot be read.
pub fn figures(
    config: &Config,
    corp: &CorpConfig,
    archive: &dyn ArchiveReader,
) -> Option<SearchFigures> {
    let index = SearchIndex::open(&config.search_index_dir(corp), &corp.corp_id).ok()?;
    let status = index.status(archive).ok()?;
    Some(SearchFigures {
        indexed: status.documents,
        lag: status.lag,
    })
}

/// The search line of `stats`.
pub fn render_figures(f: Option<&SearchFigures>) -> String {
    match f {
        Some(f) if f.lag == 0 => format!(
            "  search index: {} messages indexed, up to date\n",
            thousands(f.indexed)
        ),
        Some(f) => format!(
            "  search index: {} messages indexed, {} not yet\n",
            thousands(f.indexed),
            thousands(f.lag)
        ),
        None => {
            "  search index: none (`sync` or `run` builds it; `index status` says why)\n".to_owned()
        }
    }
}

/// The search line of a `sync`.
pub fn report_index(
    corp_id: &str,
    pass: Result<Option<wecom_search::IndexReport>, wecom_daemon::DaemonError>,
) {
    match pass {
        Ok(Some(r)) => {
            let lag = r.head.saturating_sub(r.position);
            let state = if r.cancelled {
                format!("stopped, {} messages to go", thousands(lag))
            } else if lag == 0 {
                "up to date".to_owned()
            } else {
                format!("{} messages to go", thousands(lag))
            };
            let updated = if r.updated > 0 {
                format!(" ({} re-indexed as recalled)", thousands(r.updated))
            } else {
                String::new()
            };
            println!(
                "corp {corp_id}: search index: {} messages indexed{updated}, {state}",
                thousands(r.indexed)
            );
        }
        Ok(None) => {}
        // The error names the corp, the index folder and the way out.
        Err(e) => eprintln!("warning: {}", Escaped(&e.to_string())),
    }
}

fn require_enabled(config: &Config) -> anyhow::Result<()> {
    if !config.search.enabled {
        bail!("search is disabled in the configuration ([search] enabled = false)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(text: &str, highlights: Vec<[usize; 2]>) -> Hit {
        let m = wecom_store::StoredMessage {
            seq: 1,
            msgid: "m1".into(),
            action: "send".into(),
            from: "zhangsan".into(),
            tolist: vec!["lisi".into()],
            roomid: String::new(),
            msgtime: 1_709_222_400_000,
            msgtype: Some("text".into()),
            conversation: "pair:lisi|zhangsan".into(),
            text: text.into(),
            external: false,
            updown_stream: false,
            recall_of: None,
            recalled_by: None,
            recalled_by_user: None,
            recalled_at: None,
            quote_of: None,
            warnings: Vec::new(),
            json: String::new(),
            feed_pos: 1,
        };
        Hit {
            message: wecom_views::MessageView::new(m, Some("张三".into())),
            conversation_name: Some("张三、李四".into()),
            recalled: false,
            snippet: wecom_search::Snippet {
                text: text.into(),
                highlights,
            },
            score: None,
        }
    }

    #[test]
    fn a_hit_shows_when_where_who_and_the_match_marked_and_escaped() {
        let h = hit("合同\x1b[31m已发\n请查收", vec![[0, 6], [11, 14]]);
        assert_eq!(
            render_hit(&h, Marks::plain()),
            "2024-03-01 00:00:00  张三、李四  张三  (text)\n    【合同】\\x1b[31m【已】发 ⏎ 请查收\n"
        );
        // A range that does not fit the text is shown unmarked instead of failing.
        let h = hit("合同", vec![[1, 2], [0, 99]]);
        assert_eq!(
            render_hit(&h, Marks::plain()),
            "2024-03-01 00:00:00  张三、李四  张三  (text)\n    合同\n"
        );
    }
}
