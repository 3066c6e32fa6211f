//! `migrate`: copies the SQLite archive to PostgreSQL (and the media directory to S3), resumably,
//! then verifies every table (row count and digest on both sides).
//!
//! The source is only read (no writer lock): a first pass runs beside the daemon, the operator
//! then stops the daemon and runs the command again, which copies what changed since.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::AsyncReadExt;
use wecom_blob::{Area, BlobStore, Expectations, OnMismatch, S3BlobStore, S3Config, Sha256Hex};
use wecom_daemon::config::Config;
use wecom_store::PgOptions;
use wecom_store::transfer::{self, Progress, TableCheck};

use crate::cli::MigrateArgs;

pub fn run(
    config_path: &Path,
    env: &HashMap<String, String>,
    corp: Option<&str>,
    args: &MigrateArgs,
) -> anyhow::Result<ExitCode> {
    refuse_password_in_url(&args.to)?;
    let config = if args.from.is_none() || args.media_to.is_some() {
        Some(super::load(config_path, env)?)
    } else {
        None
    };
    let source: PathBuf = match (&args.from, &config) {
        (Some(path), _) => path.clone(),
        (None, Some(config)) => config.corp(corp)?.archive_path.clone(),
        (None, None) => bail!("name the archive to copy with --from or --config"),
    };
    if !source.exists() {
        bail!("archive {} does not exist", source.display());
    }
    let mut options = PgOptions::new(args.to.clone());
    options.schema = args.schema.clone();
    options.password = env
        .get("WECOM_ARCHIVE_DB_PASSWORD")
        .or_else(|| env.get("PGPASSWORD"))
        .cloned();
    options.pool_size = 2;

    println!("copying {} to {}", source.display(), options.target());
    let mut shown: Option<(&'static str, Instant)> = None;
    let report = transfer::copy_sqlite_to_postgres(
        &source,
        &options,
        args.batch_rows,
        args.restart,
        &mut |p: &Progress| {
            let due = match shown {
                Some((table, at)) => table != p.table || at.elapsed() >= Duration::from_secs(1),
                None => true,
            };
            if due || p.done {
                eprintln!(
                    "  {:<26} {:>12}/{} rows read, {} written, {:.0} rows/s{}",
                    p.table,
                    super::thousands(p.rows_read),
                    super::thousands(p.rows_total),
                    super::thousands(p.rows_written),
                    p.rows_per_second,
                    if p.done { ", done" } else { "" }
                );
                shown = Some((p.table, Instant::now()));
            }
            ControlFlow::Continue(())
        },
    )
    .with_context(|| format!("cannot copy {} to {}", source.display(), options.target()))?;
    println!(
        "pass {}{}: {} rows read, {} rows written (inserted, changed or deleted)",
        report.pass,
        if report.resumed { " (resumed)" } else { "" },
        super::thousands(report.tables.iter().map(|t| t.rows_read).sum()),
        super::thousands(report.rows_written()),
    );

    if let (Some(url), Some(config)) = (&args.media_to, &config) {
        copy_media(config, &source, url, args, env)?;
    }

    let checks = transfer::verify(&source, &options)
        .with_context(|| format!("cannot verify the copy in {}", options.target()))?;
    print!("{}", render_checks(&checks));
    let differ = checks.iter().filter(|c| !c.matches()).count();
    if differ == 0 {
        println!("verified: every table holds the same rows on both sides");
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "{differ} table(s) differ: if the daemon was running, stop it and run migrate again"
        );
        Ok(ExitCode::FAILURE)
    }
}

/// A password belongs in the environment, where `ps` and shell histories do not show it.
fn refuse_password_in_url(url: &str) -> anyhow::Result<()> {
    let with_password = match url.split_once("://") {
        Some((_, rest)) => {
            let authority = rest.split(['/', '?']).next().unwrap_or("");
            authority
                .rsplit_once('@')
                .is_some_and(|(userinfo, _)| userinfo.contains(':'))
                || rest.contains("password=")
        }
        None => url.contains("password="),
    };
    if with_password {
        bail!(
            "--to must not carry the password: remove it from the URL and set \
             WECOM_ARCHIVE_DB_PASSWORD (or PGPASSWORD) instead"
        );
    }
    Ok(())
}

/// The verification as a table: one line per table, digests shortened to 16 hex digits.
fn render_checks(checks: &[TableCheck]) -> String {
    let mut out = format!(
        "{:<26} {:>12} {:>12}  {:<16}  {:<16}  {}\n",
        "table", "source rows", "target rows", "source digest", "target digest", "result"
    );
    for c in checks {
        out.push_str(&format!(
            "{:<26} {:>12} {:>12}  {:<16}  {:<16}  {}\n",
            c.table,
            c.source_rows,
            c.target_rows,
            &c.source_digest[..16.min(c.source_digest.len())],
            &c.target_digest[..16.min(c.target_digest.len())],
            if c.matches() { "ok" } else { "DIFFERENT" }
        ));
    }
    out
}

/// `s3://bucket/prefix?endpoint=…&region=…` → (bucket, prefix, endpoint, region).
fn parse_s3_url(url: &str) -> anyhow::Result<(String, String, Option<String>, Option<String>)> {
    let Some(rest) = url.strip_prefix("s3://") else {
        bail!("--media-to {url:?} is not an s3://bucket/prefix URL");
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
    if bucket.is_empty() {
        bail!("--media-to {url:?} names no bucket: write s3://bucket/prefix");
    }
    let mut endpoint = None;
    let mut region = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("endpoint", v)) => endpoint = Some(v.to_owned()),
            Some(("region", v)) => region = Some(v.to_owned()),
            _ => bail!("--media-to: unknown parameter {pair:?} (endpoint and region are known)"),
        }
    }
    Ok((
        bucket.to_owned(),
        prefix.trim_matches('/').to_owned(),
        endpoint,
        region,
    ))
}

/// Copies every media object the archive records from the configured media directory to the
/// bucket, skipping those already there; each upload is verified as the media workers' are
/// (size and MD5 against the archive's record, SHA-256 by its address).
fn copy_media(
    config: &Config,
    source: &Path,
    url: &str,
    args: &MigrateArgs,
    env: &HashMap<String, String>,
) -> anyhow::Result<()> {
    if config.media.backend == "s3" {
        bail!("the configured media store is already S3: --media-to copies a media directory");
    }
    let (bucket, prefix, url_endpoint, url_region) = parse_s3_url(url)?;
    let (Some(access_key), Some(secret_key)) = (
        env.get("AWS_ACCESS_KEY_ID").filter(|v| !v.is_empty()),
        env.get("AWS_SECRET_ACCESS_KEY").filter(|v| !v.is_empty()),
    ) else {
        bail!("--media-to needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment");
    };
    let region = args
        .s3_region
        .clone()
        .or(url_region)
        .unwrap_or_else(|| "us-east-1".to_owned());
    let endpoint = args
        .s3_endpoint
        .clone()
        .or(url_endpoint)
        .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
    let mut s3 = S3Config::new(endpoint, region, bucket, access_key, secret_key);
    s3.prefix = prefix;
    s3.session_token = env.get("AWS_SESSION_TOKEN").cloned();
    let target = S3BlobStore::new(&s3).context("cannot set up the S3 media store")?;
    let from = wecom_blob::FsBlobStore::open(&config.media.dir)
        .with_context(|| format!("cannot open media directory {}", config.media.dir.display()))?;
    let objects = transfer::media_objects(source)?;
    println!(
        "copying {} media object(s) from {} to {}",
        objects.len(),
        config.media.dir.display(),
        target.describe().location
    );
    let (copied, skipped) = super::runtime()?.block_on(copy_objects(&from, &target, &objects))?;
    println!("media: {copied} object(s) copied, {skipped} already there");
    Ok(())
}

/// Copies `objects` (once per area and address) from one store to the other, skipping those the
/// target has; returns (copied, skipped).
async fn copy_objects(
    from: &dyn BlobStore,
    target: &dyn BlobStore,
    objects: &[(String, wecom_store::MediaObject)],
) -> anyhow::Result<(u64, u64)> {
    let mut seen = HashSet::new();
    let (mut copied, mut skipped) = (0u64, 0u64);
    for (_, object) in objects {
        let area = match object.area {
            wecom_store::MediaArea::Objects => Area::Objects,
            wecom_store::MediaArea::Quarantine => Area::Quarantine,
        };
        if !seen.insert((area, object.sha256.clone())) {
            continue;
        }
        let sha: Sha256Hex = object
            .sha256
            .parse()
            .map_err(|e| anyhow::anyhow!("the archive records a bad object address: {e}"))?;
        if target.exists(area, &sha).await? {
            skipped += 1;
            continue;
        }
        copy_object(from, target, area, &sha, object).await?;
        copied += 1;
        if copied.is_multiple_of(100) {
            eprintln!("  media: {copied} copied, {skipped} already there");
        }
    }
    Ok((copied, skipped))
}

async fn copy_object(
    from: &dyn BlobStore,
    to: &dyn BlobStore,
    area: Area,
    sha: &Sha256Hex,
    object: &wecom_store::MediaObject,
) -> anyhow::Result<()> {
    let mut reader = from
        .open(area, sha)
        .await
        .with_context(|| format!("cannot read media object {}", from.key(area, sha)))?;
    let mut writer = to.begin().await?;
    let mut buf = vec![0u8; 512 * 1024];
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                let _ = writer.abort().await;
                return Err(e).with_context(|| format!("cannot read {}", from.key(area, sha)));
            }
        };
        if n == 0 {
            break;
        }
        writer.write_chunk(&buf[..n]).await?;
    }
    // A quarantined object is published into the quarantine as the workers do it: as bytes
    // that fail their expectations (here an MD5 that differs from theirs in one digit).
    let expect = match area {
        Area::Objects => Expectations {
            size: Some(object.size),
            md5: Some(object.md5.clone()),
            on_mismatch: OnMismatch::Reject,
        },
        Area::Quarantine => Expectations {
            size: Some(object.size),
            md5: Some(other_md5(&object.md5)),
            on_mismatch: OnMismatch::Quarantine,
        },
    };
    let stored = writer
        .finish(expect)
        .await
        .with_context(|| format!("cannot store media object {}", to.key(area, sha)))?;
    if stored.sha256 != *sha || stored.area != area {
        bail!(
            "media object {} does not hold the bytes of its address (they hash to {}): the media \
             directory is damaged there",
            from.key(area, sha),
            stored.sha256
        );
    }
    Ok(())
}

/// An MD5 (hex) that differs from `md5` in its first digit.
fn other_md5(md5: &str) -> String {
    let mut out = String::with_capacity(32);
    let mut chars = md5.chars();
    out.push(if chars.next() == Some('0') { '1' } else { '0' });
    out.extend(chars);
    if out.len() != 32 {
        return "0".repeat(31) + "1";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn put(
        store: &dyn BlobStore,
        bytes: &[u8],
        quarantine: bool,
    ) -> wecom_blob::StoredObject {
        let mut w = store.begin().await.expect("begin");
        w.write_chunk(bytes).await.expect("write");
        let expect = if quarantine {
            Expectations {
                size: None,
                md5: Some("0".repeat(32)),
                on_mismatch: OnMismatch::Quarantine,
            }
        } else {
            Expectations::default()
        };
        w.finish(expect).await.expect("finish")
    }

    fn record(o: &wecom_blob::StoredObject) -> (String, wecom_store::MediaObject) {
        (
            "corp".to_owned(),
            wecom_store::MediaObject {
                sha256: o.sha256.to_string(),
                size: o.size,
                md5: o.md5.clone(),
                content_type: o.content_type.to_owned(),
                backend: "fs".to_owned(),
                key: o.key.clone(),
                area: match o.area {
                    Area::Objects => wecom_store::MediaArea::Objects,
                    Area::Quarantine => wecom_store::MediaArea::Quarantine,
                },
            },
        )
    }

    #[test]
    fn media_objects_and_the_quarantine_are_copied_verified_and_skipped_when_there() {
        let dir = tempfile::tempdir().expect("tempdir");
        let from = wecom_blob::FsBlobStore::open(dir.path().join("from")).expect("from");
        let to = wecom_blob::FsBlobStore::open(dir.path().join("to")).expect("to");
        let rt = crate::commands::runtime().expect("runtime");
        rt.block_on(async {
            let a = put(&from, b"an object", false).await;
            let q = put(&from, b"quarantined bytes", true).await;
            assert_eq!(q.area, Area::Quarantine);
            let objects = vec![record(&a), record(&q), record(&a)];
            assert_eq!(
                copy_objects(&from, &to, &objects).await.expect("copy"),
                (2, 0)
            );
            assert!(to.exists(Area::Objects, &a.sha256).await.expect("exists"));
            assert!(
                to.exists(Area::Quarantine, &q.sha256)
                    .await
                    .expect("exists")
            );
            assert!(!to.exists(Area::Objects, &q.sha256).await.expect("exists"));
            let copied = std::fs::read(to.path(Area::Quarantine, &q.sha256)).expect("read");
            assert_eq!(copied, b"quarantined bytes");
            // A second run finds them there.
            assert_eq!(
                copy_objects(&from, &to, &objects).await.expect("copy"),
                (0, 2)
            );

            // A damaged source object (same size, other bytes) is refused, naming it.
            let b = put(&from, b"third object", false).await;
            let path = from.path(Area::Objects, &b.sha256);
            let mut perms = std::fs::metadata(&path).expect("meta").permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            std::fs::set_permissions(&path, perms).expect("writable");
            std::fs::write(&path, b"THIRD OBJECT").expect("damage");
            let err = copy_objects(&from, &to, &[record(&b)])
                .await
                .expect_err("refused");
            assert!(format!("{err:#}").contains(b.sha256.as_str()), "{err:#}");
            assert!(!to.exists(Area::Objects, &b.sha256).await.expect("exists"));
        });
    }

    #[test]
    fn passwords_on_the_command_line_are_refused() {
        assert!(refuse_password_in_url("postgres://u@h:5432/db").is_ok());
        assert!(refuse_password_in_url("postgres://h/db?sslmode=require").is_ok());
        assert!(refuse_password_in_url("postgres://u:secret@h/db").is_err());
        assert!(refuse_password_in_url("host=h user=u password=secret").is_err());
        let err = refuse_password_in_url("postgres://u:secret@h/db").expect_err("refused");
        assert!(!err.to_string().contains("secret"));
    }

    #[test]
    fn s3_urls_are_read() {
        assert_eq!(
            parse_s3_url("s3://media/arch/ive/?endpoint=http://127.0.0.1:9000&region=cn")
                .expect("url"),
            (
                "media".to_owned(),
                "arch/ive".to_owned(),
                Some("http://127.0.0.1:9000".to_owned()),
                Some("cn".to_owned())
            )
        );
        assert!(parse_s3_url("s3:///x").is_err());
        assert!(parse_s3_url("https://x").is_err());
        assert_eq!(other_md5(&"0".repeat(32)), format!("1{}", "0".repeat(31)));
        assert_ne!(
            other_md5("368b6c18c82e6441bfd89b343e9d2429"),
            "368b6c18c82e6441bfd89b343e9d2429"
        );
    }
}
