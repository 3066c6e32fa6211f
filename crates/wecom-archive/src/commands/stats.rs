//! `stats`: what the archive holds, for people or (with --json) for scripts.

use std::process::ExitCode;

use serde_json::json;
use wecom_daemon::config::{Config, CorpConfig};
use wecom_store::Stats;

use super::{open_reader, thousands};
use crate::cli::StatsArgs;
use wecom_store::MediaStats;
use wecom_wire::text::Escaped;

pub fn run(config: &Config, corp: &CorpConfig, args: &StatsArgs) -> anyhow::Result<ExitCode> {
    if !corp.archive_path.exists() {
        anyhow::bail!(
            "archive {} does not exist yet: run `wecom-archive sync` first",
            corp.archive_path.display()
        );
    }
    let store = open_reader(&corp.archive_path)?;
    let (stats, media, gaps, days, names) = {
        let guard = &store;
        (
            guard.stats(&corp.corp_id)?,
            guard.media_stats(&corp.corp_id)?,
            guard.seq_gaps(&corp.corp_id, 1000)?,
            guard.daily_counts(&corp.corp_id)?,
            guard.name_stats(&corp.corp_id)?,
        )
    };
    let media_dir = media_location(config);
    if args.json {
        let mut v = stats_json(&corp.corp_id, &stats);
        v["media"] = media_json(&media, &media_dir);
        v["names"] = super::names::names_json(&names);
        v["seq_gaps"] = json!({
            "count": gaps.len(),
            "missing_seqs": gaps.iter().map(|(a, b)| b - a + 1).sum::<u64>(),
            "ranges": gaps.iter().take(20).map(|(a, b)| json!([a, b])).collect::<Vec<_>>(),
        });
        v["per_day"] = days
            .iter()
            .map(|(d, n)| (d.clone(), json!(n)))
            .collect::<serde_json::Map<_, _>>()
            .into();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", render(&corp.corp_id, &stats));
        print!("{}", render_media(&media, &media_dir));
        print!("{}", super::names::render_names(&names));
        if gaps.is_empty() {
            println!("  completeness: no holes in the archived seqs");
        } else {
            println!(
                "  completeness: {} hole(s) in the archived seqs ({} seqs; normal for records outside the archive scope), first: {}",
                gaps.len(),
                gaps.iter().map(|(a, b)| b - a + 1).sum::<u64>(),
                gaps.iter()
                    .take(5)
                    .map(|(a, b)| format!("{a}–{b}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if !days.is_empty() {
            println!("  messages per day (China time)");
            for (d, n) in &days {
                println!("    {d}  {:>8}", thousands(*n));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn stats_json(corp_id: &str, s: &Stats) -> serde_json::Value {
    json!({
        "corp_id": corp_id,
        "records": s.records,
        "decrypted": s.decrypted,
        "failed": s.failed,
        "failed_by_code": s.failed_by_code.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "distinct_msgids": s.distinct_msgids,
        "cursor_seq": s.cursor_seq,
        "by_msgtype": s.by_msgtype,
        "by_action": s.by_action,
        "first_msgtime": s.first_msgtime,
        "last_msgtime": s.last_msgtime,
        "quarantined": s.quarantined_by_kind.values().sum::<u64>(),
        "quarantined_by_kind": s.quarantined_by_kind,
    })
}

pub fn render(corp_id: &str, s: &Stats) -> String {
    let mut out = String::new();
    out.push_str(&format!("corp {corp_id}\n"));
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
    let quarantined: u64 = s.quarantined_by_kind.values().sum();
    out.push_str(&format!(
        "  quarantined items (raw)     {}\n",
        thousands(quarantined)
    ));
    for (kind, n) in &s.quarantined_by_kind {
        out.push_str(&format!("    {kind:<24}{:>8}\n", thousands(*n)));
    }
    if quarantined > 0 {
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

pub fn media_json(m: &MediaStats, media_dir: &str) -> serde_json::Value {
    json!({
        "total": m.total,
        "done": m.done,
        "pending": m.pending + m.downloading,
        "downloading": m.downloading,
        "failed": m.failed_retryable + m.failed_permanent,
        "failed_retryable": m.failed_retryable,
        "failed_permanent": m.failed_permanent,
        "expired": m.expired,
        "failed_by_code": m.failed_by_code,
        "objects": m.objects,
        "bytes": m.bytes,
        "quarantined_objects": m.quarantined_objects,
        "oldest_pending_msgtime": m.oldest_pending_msgtime_ms,
        "media_dir": media_dir,
    })
}

pub fn render_media(m: &MediaStats, media_dir: &str) -> String {
    let mut out = format!(
        "  media ({media_dir})\n    jobs {}  done {}  pending {}  to retry {}  failed {}  expired {}\n    objects {} ({} bytes), quarantined {}\n",
        thousands(m.total),
        thousands(m.done),
        thousands(m.pending + m.downloading),
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
