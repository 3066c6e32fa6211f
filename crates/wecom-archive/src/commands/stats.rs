//! `stats`: what the archive holds, for people or (with --json) for scripts.

use std::process::ExitCode;

use wecom_daemon::config::{Config, CorpConfig};
use wecom_store::{MediaStats, Stats};
use wecom_views::{ArchiveCounts, ArchiveStats, MediaView};
use wecom_wire::text::Escaped;

use super::{open_reader, thousands};
use crate::cli::StatsArgs;

pub fn run(config: &Config, corp: &CorpConfig, args: &StatsArgs) -> anyhow::Result<ExitCode> {
    if matches!(&corp.store, wecom_store::StoreLocation::Sqlite(path) if !path.exists()) {
        anyhow::bail!(
            "archive {} does not exist yet: run `wecom-archive sync` first",
            corp.archive_path.display()
        );
    }
    let store = open_reader(&corp.store)?;
    let mut view = wecom_views::archive_stats(&*store, &corp.corp_id, &media_location(config))?;
    view.search = super::search::figures(config, corp, &*store);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&view)?);
    } else {
        print!("{}", render_stats(&view));
    }
    Ok(ExitCode::SUCCESS)
}

/// The `stats` document as text.
fn render_stats(v: &ArchiveStats) -> String {
    let mut out = render_counts(&v.counts);
    out.push_str(&render_media_view(&v.media));
    out.push_str(&super::names::render_names_view(&v.names));
    out.push_str(&super::search::render_figures(v.search.as_ref()));
    let gaps = &v.seq_gaps;
    if gaps.count == 0 {
        out.push_str("  completeness: no holes in the archived seqs\n");
    } else {
        out.push_str(&format!(
            "  completeness: {} hole(s) in the archived seqs ({} seqs; normal for records outside the archive scope), first: {}\n",
            gaps.count,
            gaps.missing_seqs,
            gaps.ranges
                .iter()
                .take(5)
                .map(|(a, b)| format!("{a}–{b}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !v.per_day.is_empty() {
        out.push_str("  messages per day (China time)\n");
        for (d, n) in &v.per_day {
            out.push_str(&format!("    {d}  {:>8}\n", thousands(*n)));
        }
    }
    out
}

/// Records, decryption and quarantine of `s` as text.
pub fn render(corp_id: &str, s: &Stats) -> String {
    render_counts(&ArchiveCounts::new(corp_id, s))
}

fn render_counts(s: &ArchiveCounts) -> String {
    let mut out = String::new();
    out.push_str(&format!("corp {}\n", s.corp_id));
    out.push_str(&format!(
        "  records stored (encrypted)  {}\n",
        thousands(s.records)
    ));
    out.push_str(&format!(
        "  decrypted                   {}\n",
        thousands(s.decrypted)
    ));
    out.push_str(&format!(
        "  failed                      {}\n",
        thousands(s.failed)
    ));
    for (code, n) in &s.failed_by_code {
        out.push_str(&format!(
            "    code {code:<6}                {}\n",
            thousands(*n)
        ));
    }
    out.push_str(&format!(
        "  distinct msgids             {}\n",
        thousands(s.distinct_msgids)
    ));
    out.push_str(&format!("  cursor (last seq)           {}\n", s.cursor_seq));
    out.push_str(&format!(
        "  quarantined items (raw)     {}\n",
        thousands(s.quarantined)
    ));
    for (kind, n) in &s.quarantined_by_kind {
        out.push_str(&format!("    {kind:<24}{:>8}\n", thousands(*n)));
    }
    if s.quarantined > 0 {
        out.push_str("    (see `wecom-archive cursor show`)\n");
    }
    if !s.by_action.is_empty() {
        out.push_str("  by action\n");
        for (a, n) in &s.by_action {
            // Actions and message types come from the decrypted records: shown escaped.
            let a = Escaped(a).to_string();
            out.push_str(&format!("    {a:<24}{:>8}\n", thousands(*n)));
        }
    }
    if !s.by_msgtype.is_empty() {
        out.push_str("  by message type\n");
        let mut types: Vec<_> = s.by_msgtype.iter().collect();
        types.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (t, n) in types {
            let t = Escaped(t).to_string();
            out.push_str(&format!("    {t:<24}{:>8}\n", thousands(*n)));
        }
    }
    out
}

/// Where media objects live, as configured (a folder, or s3://bucket/prefix).
pub fn media_location(config: &Config) -> String {
    if config.media.backend == "s3" {
        format!(
            "s3://{}/{}",
            config.media.s3_bucket.as_deref().unwrap_or(""),
            config.media.s3_prefix.as_deref().unwrap_or("")
        )
    } else {
        config.media.dir.display().to_string()
    }
}

/// The media figures of `m` (objects at `media_dir`) as text.
pub fn render_media(m: &MediaStats, media_dir: &str) -> String {
    render_media_view(&MediaView::new(m, media_dir))
}

pub fn render_media_view(m: &MediaView) -> String {
    let mut out = format!(
        "  media ({})\n    jobs {}  done {}  pending {}  to retry {}  failed {}  expired {}\n    objects {} ({} bytes), quarantined {}\n",
        m.media_dir,
        thousands(m.total),
        thousands(m.done),
        thousands(m.pending),
        thousands(m.failed_retryable),
        thousands(m.failed_permanent),
        thousands(m.expired),
        thousands(m.objects),
        thousands(m.bytes),
        thousands(m.quarantined_objects),
    );
    for (code, n) in &m.failed_by_code {
        let code = Escaped(code).to_string();
        out.push_str(&format!("    {code:<24}{:>8}\n", thousands(*n)));
    }
    out
}
