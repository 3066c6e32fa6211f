//! Environment overrides: secrets belong in the environment, so every one can be set there. The
//! environment is passed in as data (a map), never read here.

use std::collections::HashMap;
use std::path::PathBuf;

use super::schema::ConfigFile;

/// Environment variables that override the file, with what each sets. With several corps,
/// `WECOM_ARCHIVE_SECRET_<CORPID>` (corp id upper-cased) sets one corp's secret, and
/// `WECOM_ARCHIVE_CONTACTS_SECRET_<CORPID>` / `WECOM_ARCHIVE_CUSTOMER_SECRET_<CORPID>` its others.
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("WECOM_ARCHIVE_CORP_ID", "corp.corp_id (one corp only)"),
    ("WECOM_ARCHIVE_SECRET", "corp.secret (one corp only)"),
    (
        "WECOM_ARCHIVE_CONTACTS_SECRET",
        "corp.contacts_secret (one corp only)",
    ),
    (
        "WECOM_ARCHIVE_CUSTOMER_SECRET",
        "corp.customer_secret (one corp only)",
    ),
    ("WECOM_ARCHIVE_BASE_URL", "corp.base_url"),
    ("WECOM_ARCHIVE_PROXY", "corp.proxy"),
    ("WECOM_ARCHIVE_PROXY_PASSWORD", "corp.proxy_password"),
    ("WECOM_ARCHIVE_DB", "archive.path"),
    ("WECOM_ARCHIVE_DB_URL", "archive.url"),
    (
        "WECOM_ARCHIVE_DB_PASSWORD",
        "archive.password (PGPASSWORD too)",
    ),
    ("WECOM_ARCHIVE_NODE", "archive.node"),
    ("WECOM_ARCHIVE_KEYS_DIR", "keys.dir"),
    ("WECOM_ARCHIVE_SDK_LIBRARY", "corp.sdk_library"),
    ("WECOM_ARCHIVE_S3_SECRET_KEY", "media.s3_secret_key"),
    ("WECOM_ARCHIVE_METRICS_TOKEN", "server.metrics_token"),
];

/// Sets what the environment overrides in the file as written (an empty variable counts as
/// unset). A corp's own `archive_path` and `keys_dir` still win over `WECOM_ARCHIVE_DB` and
/// `WECOM_ARCHIVE_KEYS_DIR`, as they win over `[archive]` and `[keys]`.
pub fn apply(file: &mut ConfigFile, env: &HashMap<String, String>) {
    let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
    if let [only] = file.corp.as_mut_slice() {
        if let Some(v) = get("WECOM_ARCHIVE_CORP_ID") {
            only.corp_id = v;
        }
        if let Some(v) = get("WECOM_ARCHIVE_SECRET") {
            only.secret = v;
        }
        if let Some(v) = get("WECOM_ARCHIVE_CONTACTS_SECRET") {
            only.contacts_secret = Some(v);
        }
        if let Some(v) = get("WECOM_ARCHIVE_CUSTOMER_SECRET") {
            only.customer_secret = Some(v);
        }
    }
    for c in &mut file.corp {
        let upper = c.corp_id.to_ascii_uppercase();
        if let Some(v) = get(&format!("WECOM_ARCHIVE_SECRET_{upper}")) {
            c.secret = v;
        }
        if let Some(v) = get(&format!("WECOM_ARCHIVE_CONTACTS_SECRET_{upper}")) {
            c.contacts_secret = Some(v);
        }
        if let Some(v) = get(&format!("WECOM_ARCHIVE_CUSTOMER_SECRET_{upper}")) {
            c.customer_secret = Some(v);
        }
        if let Some(v) = get("WECOM_ARCHIVE_BASE_URL") {
            c.base_url = v;
        }
        if let Some(v) = get("WECOM_ARCHIVE_PROXY") {
            c.proxy = Some(v);
        }
        if let Some(v) = get("WECOM_ARCHIVE_PROXY_PASSWORD") {
            c.proxy_password = Some(v);
        }
        if let Some(v) = get("WECOM_ARCHIVE_SDK_LIBRARY") {
            c.sdk_library = Some(PathBuf::from(v));
        }
    }
    if let Some(v) = get("WECOM_ARCHIVE_DB") {
        file.archive.path = PathBuf::from(v);
    }
    if let Some(v) = get("WECOM_ARCHIVE_DB_URL") {
        file.archive.url = Some(v);
    }
    if let Some(v) = get("WECOM_ARCHIVE_DB_PASSWORD").or_else(|| get("PGPASSWORD")) {
        file.archive.password = Some(v);
    }
    if let Some(v) = get("WECOM_ARCHIVE_NODE") {
        file.archive.node = Some(v);
    }
    if let Some(v) = get("WECOM_ARCHIVE_KEYS_DIR") {
        file.keys.dir = PathBuf::from(v);
    }
    if let Some(v) = get("WECOM_ARCHIVE_S3_SECRET_KEY") {
        file.media.s3_secret_key = Some(v);
    }
    if let Some(v) = get("WECOM_ARCHIVE_METRICS_TOKEN") {
        file.server.metrics_token = Some(v);
    }
}
