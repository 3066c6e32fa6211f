//! `doctor`: checks a corp's setup one step at a time and explains each failure with a fix.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use wecom_client::{ApiClient, ApiError, ApiErrorKind};
use wecom_daemon::config::{Config, CorpConfig, SourceKind};
use wecom_wire::directory::{CustomerGroupListRequest, SecretKind};
use wecom_wire::text::{Escaped, redact_url};
use wecom_wire::{ArchiveSource, SdkCode, SourceError, SourceErrorKind};

use super::{open_reader, runtime};
use crate::cli::SourceArgs;
use crate::keys::{load_key_ring, read_key_dir};
use wecom_crypto::{RecordError, decrypt_record};
use wecom_daemon::{Source, SourceOverrides};

struct Report {
    failed: usize,
}

/// Every detail is printed escaped: it often quotes the server (errmsg) or the configuration.
impl Report {
    fn ok(&mut self, what: &str, detail: impl AsRef<str>) {
        println!("ok    {what:<22} {}", Escaped(detail.as_ref()));
    }
    fn warn(&mut self, what: &str, detail: impl AsRef<str>) {
        println!("warn  {what:<22} {}", Escaped(detail.as_ref()));
    }
    fn fail(&mut self, what: &str, detail: impl AsRef<str>, fix: impl AsRef<str>) {
        self.failed += 1;
        println!(
            "FAIL  {what:<22} {}\n      {:<22} fix: {}",
            Escaped(detail.as_ref()),
            "",
            Escaped(fix.as_ref())
        );
    }
}

/// What an API refusal about names means, and how to fix it.
fn explain_api(e: &ApiError, secret: &str) -> String {
    match (&e.kind, e.errcode()) {
        (_, Some(40001)) => {
            format!("WeCom does not accept the {secret}: copy it again from the admin console")
        }
        (_, Some(48002)) => format!(
            "the {secret} may not call this API: use the secret named in the configuration comments"
        ),
        (_, Some(60020)) => "add this machine's public IP to the app's 可信IP".to_owned(),
        (ApiErrorKind::Network | ApiErrorKind::Timeout, _) => {
            "check the network path to base_url (proxy, firewall)".to_owned()
        }
        _ => "see the message".to_owned(),
    }
}

/// Names: each secret is tried on one cheap API. Only a secret that is configured and refused
/// fails; a missing optional secret is a warning (what it names stays shown by id).
async fn check_names(config: &Config, corp: &CorpConfig, r: &mut Report) {
    let api = match config
        .api_config(corp)
        .map_err(|e| format!("{e:#}"))
        .and_then(|c| ApiClient::new(c).map_err(|e| e.to_string()))
    {
        Ok(api) => api,
        Err(e) => {
            r.fail("names", e, "fix the setting named above");
            return;
        }
    };
    let scope = match api.permit_user_list(None).await {
        Ok(ids) => {
            r.ok(
                "names: archive secret",
                format!("{} users in the archive scope", ids.len()),
            );
            ids
        }
        Err(e) => {
            r.fail(
                "names: archive secret",
                e.to_string(),
                explain_api(&e, "archive secret"),
            );
            Vec::new()
        }
    };
    if api.has_secret(SecretKind::Contacts) {
        // Any userid will do: 60111 (no such user) also proves the token is accepted.
        let probe = scope.first().map_or("wecom-archive-doctor", String::as_str);
        match api.user(probe).await {
            Ok(_) => r.ok("names: contacts secret", "employees are named (user/get)"),
            Err(e) if e.errcode() == Some(60111) || e.errcode() == Some(60011) => {
                r.ok("names: contacts secret", "accepted (user/get)");
            }
            Err(e) => r.fail(
                "names: contacts secret",
                e.to_string(),
                explain_api(&e, "contacts secret"),
            ),
        }
    } else {
        r.warn(
            "names: contacts secret",
            "not configured: employees are shown by userid (set contacts_secret, the 通讯录 secret)",
        );
    }
    if api.has_secret(SecretKind::CustomerContact) {
        let probe = CustomerGroupListRequest {
            status_filter: 0,
            owner_filter: None,
            cursor: String::new(),
            limit: 1,
        };
        match api.customer_group_list(&probe).await {
            Ok(_) => r.ok(
                "names: customer secret",
                "customer groups and external contacts are named (externalcontact/*)",
            ),
            Err(e) => r.fail(
                "names: customer secret",
                e.to_string(),
                explain_api(&e, "customer-contact secret"),
            ),
        }
    } else {
        r.warn(
            "names: customer secret",
            "not configured: customer groups and external contacts are shown by id (set customer_secret, the 客户联系 secret)",
        );
    }
}

/// The cursor and the quarantined items: an implausible cursor or items held above it mean
/// archiving is stuck until someone acts.
fn check_cursor(corp: &CorpConfig, s: &wecom_store::Stats, max_jump: u64, r: &mut Report) {
    let cursor = s.cursor_seq;
    let fix_cmd = format!("wecom-archive cursor show --corp {}", corp.corp_id);
    let checked = open_reader(&corp.store).and_then(|store| {
        let guard = &store;
        Ok((
            guard.max_record_seq(&corp.corp_id)?,
            guard.quarantined_items(&corp.corp_id, 100_000)?,
        ))
    });
    let (max_seq, items) = match checked {
        Ok(v) => v,
        Err(e) => {
            r.fail("cursor", format!("{e:#}"), "check the archive named above");
            return;
        }
    };
    if cursor >= wecom_sync::IMPLAUSIBLE_SEQ {
        r.fail(
            "cursor",
            format!("the cursor is {cursor}, 2^63 or more: no real archive gets there, so nothing newer can be fetched"),
            format!(
                "set it back to the largest archived seq: `wecom-archive cursor set --corp {} --seq {} --force`",
                corp.corp_id,
                max_seq.unwrap_or(0)
            ),
        );
    } else if let Some(m) = max_seq.filter(|m| cursor > *m && cursor - *m > max_jump) {
        r.fail(
            "cursor",
            format!("the cursor ({cursor}) is far beyond the largest archived seq ({m})"),
            format!("if that was not done on purpose, set it back: `wecom-archive cursor set --corp {} --seq {m} --force`", corp.corp_id),
        );
    }
    let ahead = items
        .iter()
        .filter(|q| q.seq.is_none_or(|seq| seq > cursor))
        .count();
    let total: u64 = s.quarantined_by_kind.values().sum();
    if ahead > 0 {
        r.fail(
            "quarantine",
            format!("{ahead} quarantined item(s) lie above the cursor {cursor} (unreadable, or an implausible seq): the sync cannot move past them by itself"),
            format!("look at them with `{fix_cmd}`; if their seqs are real, move the cursor with `cursor set`, else report the server's answers to WeCom"),
        );
    } else if total > 0 {
        let kinds: Vec<String> = s
            .quarantined_by_kind
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        r.warn(
            "quarantine",
            format!("{total} item(s) the server sent were kept raw instead of archived ({}); nothing is blocked, see `{fix_cmd}`", kinds.join(", ")),
        );
    }
}

/// How many sampled records `doctor` decrypts besides the newest of each key version.
const SAMPLE_NEWEST: usize = 20;

/// The configured keys against what is stored: the newest records, and the newest of each
/// `publickey_ver`, must decrypt. A wrong key in `keys/v<N>.pem` fails here, naming the version,
/// instead of passing until the next sync stores every record as a failure.
fn check_stored_records(corp: &CorpConfig, r: &mut Report) {
    // An unreadable key folder already failed the keys check.
    let Ok(ring) = load_key_ring(&corp.keys_dir) else {
        return;
    };
    let sample = match open_reader(&corp.store)
        .and_then(|s| Ok(s.sample_records(&corp.corp_id, SAMPLE_NEWEST)?))
    {
        Ok(sample) => sample,
        Err(e) => {
            r.fail(
                "stored records",
                format!("{e:#}"),
                match corp.store {
                    wecom_store::StoreLocation::Sqlite(_) => {
                        "check the path and permissions of [archive] path"
                    }
                    wecom_store::StoreLocation::Postgres(_) => {
                        "check [archive] url, the password in WECOM_ARCHIVE_DB_PASSWORD and that \
                         the database server runs (`wecom-archive sync` creates the schema)"
                    }
                },
            );
            return;
        }
    };
    // Per key version: records tried, records that failed, the first reason.
    let mut by_version: BTreeMap<u32, (usize, usize, Option<RecordError>)> = BTreeMap::new();
    for item in &sample {
        let entry = by_version.entry(item.publickey_ver).or_default();
        entry.0 += 1;
        if let Err(e) = decrypt_record(
            &ring,
            item.publickey_ver,
            &item.encrypt_random_key,
            &item.encrypt_chat_msg,
        ) {
            entry.1 += 1;
            entry.2.get_or_insert(e);
        }
    }
    for (version, (tried, failed, why)) in by_version {
        let key_file = corp.keys_dir.join(format!("v{version}.pem"));
        match why {
            None => r.ok(
                "stored records",
                format!("the {tried} newest sampled records of key v{version} decrypt"),
            ),
            Some(RecordError::NoKey { .. }) => r.fail(
                "stored records",
                format!(
                    "{failed} of the {tried} newest sampled records use key v{version}, which is not configured"
                ),
                format!(
                    "add that version's private key (`keys add --version {version} --file key.pem`), then run `redecrypt`"
                ),
            ),
            Some(e) => r.fail(
                "stored records",
                format!(
                    "{failed} of the {tried} newest sampled records of key v{version} do not decrypt with {}: {e}",
                    key_file.display()
                ),
                format!(
                    "{} is not the private key of public key version {version} (see the admin console): put the right key there, then run `redecrypt`",
                    key_file.display()
                ),
            ),
        }
    }
}

/// What a failed first request means, and how to fix it.
fn explain(e: &SourceError) -> (String, &'static str) {
    let hint = match &e.kind {
        SourceErrorKind::Api { errcode: 40001 } | SourceErrorKind::Api { errcode: 40013 } => {
            "check corp_id and the 会话内容存档 Secret (管理工具 → 会话内容存档)"
        }
        SourceErrorKind::Api { errcode: 48002 } => {
            "this is an app secret: use the 会话内容存档 Secret instead"
        }
        SourceErrorKind::Api { errcode: 301042 } | SourceErrorKind::Sdk(SdkCode::IpNotAllowed) => {
            "add this machine's public IP to 可信IP in the 会话内容存档 settings"
        }
        SourceErrorKind::Network | SourceErrorKind::Timeout => {
            "check the network path to the archive API (base_url / proxy / firewall); try the proxy from this machine"
        }
        SourceErrorKind::Sdk(SdkCode::Network) => {
            "the vendor library reports 10001 for network errors AND for a wrong secret: check the proxy, then the secret (run doctor with --source native to tell them apart)"
        }
        SourceErrorKind::HttpStatus(_) => {
            "the server answered with an HTTP error: check base_url and any proxy in between"
        }
        _ => "see the message; `wecom-archive decrypt` helps with per-record problems",
    };
    (e.to_string(), hint)
}

/// Fails for each of `paths` that others may read, naming the file and the `chmod` that fixes it.
fn check_private(
    r: &mut Report,
    what: &str,
    paths: &[std::path::PathBuf],
    group_readable: bool,
    present: usize,
    noun: &str,
) {
    let open = crate::files::too_open(paths, group_readable);
    if open.is_empty() {
        if present > 0 {
            r.ok(
                what,
                format!("{present} {noun}, readable by the owner only"),
            );
        }
        return;
    }
    for file in open {
        r.fail(what, file.to_string(), format!("run `{}`", file.fix));
    }
}

/// The archive's files are private, and the archive and media folders take new files (a writer
/// needs both; checked also before the first sync, when nothing exists yet).
fn check_files(config: &Config, corp: &CorpConfig, r: &mut Report) {
    let files: Vec<_> = crate::files::archive_files(&corp.archive_path)
        .into_iter()
        .filter(|p| p.exists())
        .collect();
    check_private(
        r,
        "archive file modes",
        &files,
        config.group_readable,
        files.len(),
        "files",
    );
    let folder = corp
        .archive_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut writable = vec![("archive folder", folder.to_owned())];
    if config.media.enabled && config.media.backend != "s3" {
        writable.push(("media folder", config.media.dir.clone()));
    }
    for (what, dir) in writable {
        match crate::files::check_writable(&dir) {
            Ok(()) => r.ok(what, format!("{} is writable", dir.display())),
            Err(e) => r.fail(
                what,
                e,
                "give this user write access to that folder (chown/chmod), or remount it \
                 read-write, or configure another place; readers (`stats`) work without it, \
                 `sync` and `run` do not",
            ),
        }
    }
    if matches!(corp.store, wecom_store::StoreLocation::Sqlite(_))
        && corp.archive_path.exists()
        && let Err(e) = std::fs::OpenOptions::new()
            .write(true)
            .open(&corp.archive_path)
    {
        r.fail(
            "archive file",
            format!("{} cannot be opened for writing: {e}", corp.archive_path.display()),
            "give this user write access to the archive file, or remount its file system read-write",
        );
    }
}

pub fn run(config: &Config, corp: &CorpConfig, args: &SourceArgs) -> anyhow::Result<ExitCode> {
    let mut r = Report { failed: 0 };
    let overrides = SourceOverrides {
        source: args.source,
        sdk_library: args.sdk_library.clone(),
    };
    let kind = overrides.source.unwrap_or(corp.source);
    println!("corp {} — source {:?}", corp.corp_id, kind);

    // Keys.
    let keys = match read_key_dir(&corp.keys_dir) {
        Ok(k) if k.is_empty() => {
            r.fail(
                "private keys",
                format!("none in {}", corp.keys_dir.display()),
                "run `wecom-archive init` or `keys add --version N --file key.pem`",
            );
            Vec::new()
        }
        Ok(k) => {
            let versions: Vec<String> = k
                .iter()
                .map(|k| format!("v{} (RSA-{})", k.version, k.key.bits()))
                .collect();
            r.ok("private keys", versions.join(", "));
            k
        }
        Err(e) => {
            r.fail(
                "private keys",
                format!("{e:#}"),
                "fix or remove the file named above",
            );
            Vec::new()
        }
    };

    // Private keys must be readable by their owner only.
    let key_files = crate::keys::key_files(&corp.keys_dir);
    check_private(
        &mut r,
        "key file modes",
        &key_files,
        false,
        key_files.len(),
        "keys",
    );

    // Files: who may read the archive, and whether this user can write where it lives.
    check_files(config, corp, &mut r);

    // Archive.
    if !matches!(&corp.store, wecom_store::StoreLocation::Sqlite(path) if !path.exists()) {
        match open_reader(&corp.store).and_then(|s| Ok(s.stats(&corp.corp_id)?)) {
            Ok(s) => {
                r.ok(
                    "archive",
                    format!(
                        "{} ({} records, cursor {})",
                        corp.store, s.records, s.cursor_seq
                    ),
                );
                check_cursor(corp, &s, config.sync.max_seq_jump, &mut r);
                check_stored_records(corp, &mut r);
                if let Some(n) = s.failed_by_code.get(&10007) {
                    r.fail(
                        "key versions",
                        format!("{n} records need a key version that is not configured"),
                        "add the old private key with `keys add --version N`, then `redecrypt`",
                    );
                }
            }
            Err(e) => r.fail(
                "archive",
                format!("{e:#}"),
                match corp.store {
                    wecom_store::StoreLocation::Sqlite(_) => {
                        "check the path and permissions of [archive] path"
                    }
                    wecom_store::StoreLocation::Postgres(_) => {
                        "check [archive] url, the password in WECOM_ARCHIVE_DB_PASSWORD and that \
                         the database server runs (`wecom-archive sync` creates the schema)"
                    }
                },
            ),
        }
    } else {
        r.warn(
            "archive",
            format!(
                "{} does not exist yet (created by the first sync)",
                corp.archive_path.display()
            ),
        );
    }

    // Proxy reachability.
    for proxy in corp
        .proxy
        .iter()
        .chain(corp.sdk_proxy.iter())
        .filter(|p| !p.is_empty())
    {
        let hostport = proxy
            .split("://")
            .nth(1)
            .unwrap_or(proxy)
            .rsplit('@')
            .next()
            .unwrap_or("")
            .trim_end_matches('/');
        match std::net::ToSocketAddrs::to_socket_addrs(&hostport)
            .ok()
            .and_then(|mut a| a.next())
            .map(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(3)))
        {
            Some(Ok(_)) => r.ok("proxy", format!("{hostport} accepts connections")),
            Some(Err(e)) => r.fail(
                "proxy",
                format!("{hostport}: {e}"),
                "start the proxy or fix its address",
            ),
            None => r.fail(
                "proxy",
                format!("`{}` has no host:port", redact_url(proxy)),
                "write it as http://host:port or socks5h://host:port",
            ),
        }
    }

    // Callback.
    match &corp.callback {
        Some(_) => r.ok(
            "callback",
            format!(
                "configured: URL path /callback/{} on `run`'s server",
                corp.corp_id
            ),
        ),
        None => r.warn(
            "callback",
            "not configured: `run` polls only (set callback_token and callback_aes_key)",
        ),
    }

    // Source: library, token, one GetChatData with limit 1.
    let rt = runtime()?;
    rt.block_on(async {
        if kind == SourceKind::Sdk
            && let Some(lib) = overrides.sdk_library.as_ref().or(corp.sdk_library.as_ref())
        {
            {
                match wecom_sdk::check_library_file(lib) {
                    Ok(()) => r.ok("vendor library", format!("{} is a loadable ELF for this machine", lib.display())),
                    Err(e) => r.fail("vendor library", e.to_string(), "download the Linux SDK for this architecture from WeCom's 会话内容存档 documentation"),
                }
            }
        }
        let source = match Source::open(config, corp, &overrides).await {
            Ok(s) => s,
            Err(e) => {
                r.fail("source", format!("{e:#}"), "fix the setting named above");
                return;
            }
        };
        match source.fetch_page(0, 1).await {
            Ok(page) => {
                r.ok("token + GetChatData", format!("answered ({} record(s) after seq 0)", page.items.len()));
                if let Some(item) = page.items.first() {
                    if keys.iter().any(|k| k.version == item.publickey_ver) {
                        r.ok("key version", format!("the oldest available record uses v{}, which is configured", item.publickey_ver));
                    } else {
                        r.fail(
                            "key version",
                            format!("the oldest available record uses v{}, which is not configured", item.publickey_ver),
                            "add that version's private key (`keys add`); check the version shown in the admin console",
                        );
                    }
                }
            }
            Err(e) => {
                let (what, fix) = explain(&e);
                r.fail("token + GetChatData", what, fix);
            }
        }
        source.shutdown().await;
        if config.names.enabled {
            check_names(config, corp, &mut r).await;
        }
    });
    println!();
    if r.failed == 0 {
        println!("all checks passed");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{} check(s) failed", r.failed);
        Ok(ExitCode::FAILURE)
    }
}
