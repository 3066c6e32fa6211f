//! Moving a SQLite archive to PostgreSQL: [`copy_sqlite_to_postgres`] copies every table of the
//! archive in batches, resumably, and [`verify`] compares both sides table by table (row count and
//! a digest of every row).
//!
//! How the copy works:
//! - every table of the SQLite archive is in [`TABLES`] (with its columns, key and whether the
//!   archive ever deletes its rows) or named in [`SQLITE_ONLY`] (bookkeeping of the SQLite
//!   backend) — and every table of the PostgreSQL schema likewise, or in [`POSTGRES_ONLY`]; the copy
//!   refuses to start when a table or a column is in neither, and a test fails, so a migration
//!   added later cannot be forgotten here;
//! - one pass reads the source in one read snapshot (a running daemon keeps writing beside it)
//!   in primary-key order, a batch at a time, and upserts each batch into the target in one
//!   transaction that also records how far the pass got (table `migration_progress` in the
//!   target): a pass killed at any point resumes after its last committed batch. A row is written
//!   only when it is new or differs (`ON CONFLICT … DO UPDATE … WHERE … IS DISTINCT FROM …`), so
//!   a second pass writes exactly what was appended or changed since: messages that gained recall
//!   or quote marks, media jobs that changed state, names, cursors, sessions, …;
//! - tables whose rows the archive deletes (failures resolved, room members and departments
//!   replaced, consents replaced, people found to be rooms) lose in the target, at the end of
//!   their pass, the rows the source no longer has; the other tables only ever grow, so a target
//!   holding more of their rows than the source was written by someone else and is refused;
//! - a pass resumed after an interruption continues in a new snapshot of the source: when the
//!   source kept changing meanwhile, a row may refer to one an earlier table did not have yet
//!   (a foreign key), which is refused with the fix: a new pass (`restart`);
//! - identity sequences are moved past the copied ids; `quarantined_items.raw_sha256` is
//!   computed; booleans become BOOLEAN; text holding NUL is stored with U+2400 in its place, as
//!   the PostgreSQL backend stores it (`pg_text`) — the bytes of every record stay exact in
//!   BYTEA columns;
//! - `media_jobs.claimed_by`/`claim_until_ms` (PostgreSQL only) stay NULL: a job copied while
//!   `downloading` is put back by the workers' start, as in SQLite.
//!
//! The digest of a table is the SHA-256 of its rows in primary-key order (bytewise order of
//! text, as SQLite's BINARY collation and PostgreSQL's "C" collation sort), each value encoded
//! canonically: NULL, integer (booleans are the integers 0 and 1), text (after the NUL mapping
//! above, so a source text with NUL digests as what PostgreSQL holds) or bytes (BLOB and BYTEA
//! alike), each tagged and length-prefixed.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;

use postgres::types::ToSql;
use rusqlite::types::ValueRef;
use sha2::{Digest, Sha256};

use crate::StoreError;
use crate::postgres::{PgOptions, PgStore, TxError, pg_text};

/// How a column is stored: SQLite type → PostgreSQL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// INTEGER → BIGINT.
    Int,
    /// INTEGER 0/1 → BOOLEAN.
    Bool,
    /// TEXT → TEXT (NUL mapped to U+2400).
    Text,
    /// BLOB → BYTEA.
    Blob,
    /// Only in PostgreSQL: the SHA-256 of the named BLOB column, computed while copying.
    Sha256Of(&'static str),
}

/// A column of a copied table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
}

/// Whether the archive ever deletes rows of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rows {
    /// Rows are added and changed, never deleted: a target with rows the source lacks was
    /// written by someone else.
    Kept,
    /// Rows are deleted too: the copy deletes in the target what the source no longer has.
    Deleted,
}

/// A table copied from SQLite to PostgreSQL.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Table {
    pub(crate) name: &'static str,
    pub(crate) columns: &'static [Column],
    /// The primary key, in order.
    pub(crate) key: &'static [&'static str],
    pub(crate) rows: Rows,
    /// The key is an identity column (`id`) whose sequence follows the copied ids.
    pub(crate) identity: bool,
}

const fn i(name: &'static str) -> Column {
    Column {
        name,
        kind: Kind::Int,
    }
}
const fn b(name: &'static str) -> Column {
    Column {
        name,
        kind: Kind::Bool,
    }
}
const fn t(name: &'static str) -> Column {
    Column {
        name,
        kind: Kind::Text,
    }
}
const fn x(name: &'static str) -> Column {
    Column {
        name,
        kind: Kind::Blob,
    }
}

/// Tables of the SQLite archive that are its own bookkeeping, not archive data: not copied.
pub(crate) const SQLITE_ONLY: &[&str] =
    &["schema_migrations", "media_backfill", "external_backfill"];

/// Tables of the PostgreSQL archive with no SQLite counterpart: not copied (`corp_leases` and
/// `cluster_nodes` belong to the running nodes; `migration_progress` is this copy's own).
pub(crate) const POSTGRES_ONLY: &[&str] = &[
    "wecom_archive_schema",
    "corp_leases",
    "cluster_nodes",
    PROGRESS_TABLE,
];

/// Columns only the PostgreSQL archive has (left at their defaults).
pub(crate) const POSTGRES_ONLY_COLUMNS: &[(&str, &str)] = &[
    // The order records were stored in (an identity PostgreSQL fills; SQLite's rowid).
    ("records", "id"),
    ("media_jobs", "claimed_by"),
    ("media_jobs", "claim_until_ms"),
];

/// The copy's progress, kept in the target.
const PROGRESS_TABLE: &str = "migration_progress";

/// Every copied table, in an order that satisfies the foreign keys.
pub(crate) const TABLES: &[Table] = &[
    Table {
        name: "records",
        columns: &[
            t("corp_id"),
            i("seq"),
            t("msgid"),
            i("publickey_ver"),
            t("encrypt_random_key"),
            t("encrypt_chat_msg"),
            i("fetched_at_ms"),
        ],
        key: &["corp_id", "seq"],
        rows: Rows::Kept,
        identity: false,
    },
    Table {
        name: "messages",
        columns: &[
            t("corp_id"),
            t("msgid"),
            i("seq"),
            t("action"),
            t("from_id"),
            t("tolist"),
            t("roomid"),
            i("msgtime"),
            t("msgtype"),
            t("json"),
            x("plaintext"),
            t("conversation"),
            b("is_group"),
            b("external"),
            b("updown_stream"),
            t("recall_of"),
            t("recalled_by"),
            i("recalled_at_ms"),
            t("quote_user"),
            t("quote_text"),
            t("quote_reply"),
            t("quote_of"),
            t("text"),
            t("warnings"),
            i("feed_pos"),
        ],
        key: &["corp_id", "msgid"],
        rows: Rows::Kept,
        identity: false,
    },
    Table {
        name: "failures",
        columns: &[
            t("corp_id"),
            t("msgid"),
            i("seq"),
            t("stage"),
            i("code"),
            t("reason"),
            i("attempts"),
            i("first_failed_at_ms"),
            i("last_failed_at_ms"),
            x("plaintext"),
        ],
        key: &["corp_id", "msgid"],
        rows: Rows::Deleted,
        identity: false,
    },
    Table {
        name: "cursors",
        columns: &[t("corp_id"), i("seq"), i("updated_at_ms")],
        key: &["corp_id"],
        rows: Rows::Kept,
        identity: false,
    },
    Table {
        name: "quarantined_items",
        columns: &[
            i("id"),
            t("corp_id"),
            i("seq"),
            t("kind"),
            t("reason"),
            x("raw"),
            Column {
                name: "raw_sha256",
                kind: Kind::Sha256Of("raw"),
            },
            i("cursor_seq"),
            i("first_seen_at_ms"),
            i("last_seen_at_ms"),
            i("times_seen"),
        ],
        key: &["id"],
        rows: Rows::Kept,
        identity: true,
    },
    Table {
        name: "feed_heads",
        columns: &[t("corp_id"), i("last_pos")],
        key: &["corp_id"],
        rows: Rows::Kept,
        identity: false,
    },
    Table {
        name: "follower_positions",
        columns: &[t("corp_id"), t("follower"), i("pos"), i("updated_at_ms")],
        key: &["corp_id", "follower"],
        rows: Rows::Kept,
        identity: false,
    },
    Table {
        name: "conversations",
        columns: &[
            t("corp_id"),
            t("conversation"),
            i("messages"),
            i("first_msgtime"),
            i("last_msgtime"),
            b("external"),
        ],
        key: &["corp_id", "conversation"],
        rows: Rows::Kept,
        identity: false,
    },
    Table {
        name: "conversation_senders",
        columns: &[t("corp_id"), t("conversation"), t("from_id"), i("messages")],
        key: &["corp_id", "conversation", "from_id"],
        rows: Rows::Kept,
        identity: false,
    },
    Table {
        name: "conversation_participants",
        columns: &[t("corp_id"), t("conversation"), t("participant")],
        key: &["corp_id", "conversation", "participant"],
        rows: Rows::Kept,
        identity: false,
    },
    Table {
        name: "media_jobs",
        columns: &[
            i("id"),
            t("corp_id"),
            t("msgid"),
            t("path"),
            t("sdkfileid"),
            t("kind"),
            t("extension"),
            t("md5_expected"),
            i("size_expected"),
            i("msgtime_ms"),
            t("state"),
            i("attempts"),
            i("md5_mismatches"),
            t("error_code"),
            t("last_error"),
            i("next_attempt_at_ms"),
            i("created_at_ms"),
            i("updated_at_ms"),
            t("sha256"),
            t("object_area"),
        ],
        key: &["id"],
        rows: Rows::Kept,
        identity: true,
    },
    Table {
        name: "media_objects",
        columns: &[
            t("corp_id"),
            t("area"),
            t("sha256"),
            i("size"),
            t("md5"),
            t("content_type"),
            t("backend"),
            t("key"),
            i("first_stored_at_ms"),
        ],
        key: &["corp_id", "area", "sha256"],
        rows: Rows::Kept,
        identity: false,
    },
    Table {
        name: "rooms",
        columns: &[
            t("corp_id"),
            t("roomid"),
            t("state"),
            t("kind"),
            t("name"),
            t("owner"),
            i("created_at"),
            t("notice"),
            i("member_count"),
            i("errcode"),
            t("error"),
            i("attempts"),
            b("has_external"),
            i("first_seen_ms"),
            i("checked_at_ms"),
            i("next_check_ms"),
        ],
        key: &["corp_id", "roomid"],
        rows: Rows::Kept,
        identity: false,
    },
    Table {
        name: "room_members",
        columns: &[
            t("corp_id"),
            t("roomid"),
            t("id"),
            t("kind"),
            i("join_time"),
            i("join_scene"),
            t("inviter"),
            t("group_nickname"),
            t("name"),
            b("is_admin"),
        ],
        key: &["corp_id", "roomid", "id"],
        rows: Rows::Deleted,
        identity: false,
    },
    Table {
        name: "room_names",
        columns: &[
            i("id"),
            t("corp_id"),
            t("roomid"),
            t("name"),
            i("observed_at_ms"),
        ],
        key: &["id"],
        rows: Rows::Kept,
        identity: true,
    },
    Table {
        name: "people",
        columns: &[
            t("corp_id"),
            t("id"),
            t("kind"),
            t("state"),
            t("name"),
            t("corp_name"),
            t("position"),
            i("external_type"),
            t("creator"),
            i("errcode"),
            t("error"),
            i("attempts"),
            i("first_seen_ms"),
            i("checked_at_ms"),
            i("next_check_ms"),
            t("departments"),
        ],
        key: &["corp_id", "id"],
        rows: Rows::Deleted,
        identity: false,
    },
    Table {
        name: "person_departments",
        columns: &[t("corp_id"), i("department"), t("id")],
        key: &["corp_id", "department", "id"],
        rows: Rows::Deleted,
        identity: false,
    },
    Table {
        name: "permit_users",
        columns: &[
            t("corp_id"),
            t("userid"),
            b("in_scope"),
            i("first_seen_ms"),
            i("last_seen_ms"),
        ],
        key: &["corp_id", "userid"],
        rows: Rows::Kept,
        identity: false,
    },
    Table {
        name: "permit_checks",
        columns: &[t("corp_id"), i("checked_at_ms")],
        key: &["corp_id"],
        rows: Rows::Kept,
        identity: false,
    },
    Table {
        name: "consent_checks",
        columns: &[
            t("corp_id"),
            t("subject_kind"),
            t("subject_id"),
            t("subject_external"),
            i("checked_at_ms"),
        ],
        key: &["corp_id", "subject_kind", "subject_id", "subject_external"],
        rows: Rows::Kept,
        identity: false,
    },
    Table {
        name: "consents",
        columns: &[
            t("corp_id"),
            t("subject_kind"),
            t("subject_id"),
            t("subject_external"),
            t("external_userid"),
            t("status"),
            i("status_change_time"),
            i("checked_at_ms"),
        ],
        key: &[
            "corp_id",
            "subject_kind",
            "subject_id",
            "subject_external",
            "external_userid",
        ],
        rows: Rows::Deleted,
        identity: false,
    },
    Table {
        name: "users",
        columns: &[
            i("id"),
            t("username"),
            t("password_hash"),
            t("role"),
            t("corps"),
            t("scope_userids"),
            t("scope_departments"),
            b("disabled"),
            i("created_at_ms"),
            i("updated_at_ms"),
            i("password_changed_at_ms"),
            i("failed_logins"),
            i("locked_until_ms"),
        ],
        key: &["id"],
        rows: Rows::Kept,
        identity: true,
    },
    Table {
        name: "sessions",
        columns: &[
            t("token_sha256"),
            i("user_id"),
            i("created_at_ms"),
            i("last_seen_ms"),
            i("expires_at_ms"),
            t("address"),
            b("revoked"),
        ],
        key: &["token_sha256"],
        rows: Rows::Kept,
        identity: false,
    },
    Table {
        name: "audit_log",
        columns: &[
            i("seq"),
            i("at_ms"),
            t("username"),
            t("address"),
            t("action"),
            t("corp_id"),
            t("target"),
            t("detail"),
            t("outcome"),
            t("prev_hash"),
            t("hash"),
        ],
        key: &["seq"],
        rows: Rows::Kept,
        identity: false,
    },
];

/// Where a copy is, reported after every batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// The table being copied.
    pub table: &'static str,
    /// Rows of the table read from the source so far in this pass.
    pub rows_read: u64,
    /// The table's rows in the source (in this pass's snapshot).
    pub rows_total: u64,
    /// Rows of the table written (inserted or changed, and deleted) so far in this pass.
    pub rows_written: u64,
    /// Rows read per second since this run started on this table.
    pub rows_per_second: f64,
    /// The table is finished.
    pub done: bool,
}

/// What a copy did to one table in this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopy {
    /// The table.
    pub table: &'static str,
    /// Rows read from the source in this run.
    pub rows_read: u64,
    /// Rows inserted or changed in the target in this run (rows equal on both sides are not
    /// written).
    pub rows_written: u64,
    /// Rows deleted in the target in this run (the source deleted them since the last pass).
    pub rows_deleted: u64,
}

/// What [`copy_sqlite_to_postgres`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// The pass number (1 for the first copy into this target; each finished pass adds one).
    pub pass: i64,
    /// This run continued a pass an earlier run left unfinished.
    pub resumed: bool,
    /// The progress callback asked to stop: the pass is unfinished (the next run resumes it).
    pub stopped: bool,
    /// Per table, in copy order (tables this run did not reach are absent).
    pub tables: Vec<TableCopy>,
}

impl CopyReport {
    /// Rows inserted, changed or deleted in the target by this run.
    pub fn rows_written(&self) -> u64 {
        self.tables
            .iter()
            .map(|t| t.rows_written + t.rows_deleted)
            .sum()
    }
}

/// The comparison of one table by [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCheck {
    /// The table.
    pub table: &'static str,
    /// Rows in the source.
    pub source_rows: u64,
    /// Rows in the target.
    pub target_rows: u64,
    /// SHA-256 (hex) of the source's rows, canonically encoded, in key order.
    pub source_digest: String,
    /// The same over the target's rows.
    pub target_digest: String,
}

impl TableCheck {
    /// Both sides hold the same rows.
    pub fn matches(&self) -> bool {
        self.source_rows == self.target_rows && self.source_digest == self.target_digest
    }
}

/// A value read from either side.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Val {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

impl Val {
    /// Appends the canonical encoding (tag, then the value; text and bytes length-prefixed).
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Val::Null => out.push(0),
            Val::Int(v) => {
                out.push(1);
                out.extend_from_slice(&v.to_be_bytes());
            }
            Val::Text(s) => {
                out.push(2);
                out.extend_from_slice(&(s.len() as u64).to_be_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            Val::Blob(v) => {
                out.push(3);
                out.extend_from_slice(&(v.len() as u64).to_be_bytes());
                out.extend_from_slice(v);
            }
        }
    }
}

const OP_COPY: &str = "copying the archive to PostgreSQL";
const OP_VERIFY: &str = "verifying the copy";

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn source_err<'a>(path: &'a Path, op: &'static str) -> impl Fn(rusqlite::Error) -> StoreError + 'a {
    move |e| StoreError::Backend {
        op,
        cause: format!("reading {}: {e}", path.display()),
    }
}

/// The source columns of a table (computed columns are not read).
fn source_columns(table: &Table) -> impl Iterator<Item = &'static Column> {
    table
        .columns
        .iter()
        .filter(|c| !matches!(c.kind, Kind::Sha256Of(_)))
}

/// `SELECT <columns> FROM <table>` in key order, after a key when `after` (the key's columns as
/// parameters), up to `limit` when given.
fn source_select(table: &Table, after: bool, limit: bool) -> String {
    let cols: Vec<String> = source_columns(table).map(|c| quote(c.name)).collect();
    let key: Vec<String> = table.key.iter().map(|k| quote(k)).collect();
    let mut sql = format!("SELECT {} FROM {}", cols.join(", "), quote(table.name));
    if after {
        let params: Vec<String> = (1..=table.key.len()).map(|n| format!("?{n}")).collect();
        sql.push_str(&format!(
            " WHERE ({}) > ({})",
            key.join(", "),
            params.join(", ")
        ));
    }
    sql.push_str(&format!(" ORDER BY {}", key.join(", ")));
    if limit {
        let n = if after { table.key.len() + 1 } else { 1 };
        sql.push_str(&format!(" LIMIT ?{n}"));
    }
    sql
}

/// One source row as the target holds it: text mapped, computed columns computed.
fn source_row(table: &Table, row: &rusqlite::Row<'_>, path: &Path) -> Result<Vec<Val>, StoreError> {
    let mut out = Vec::with_capacity(table.columns.len());
    let mut idx = 0;
    for col in table.columns {
        if let Kind::Sha256Of(of) = col.kind {
            let pos = table.columns.iter().position(|c| c.name == of);
            let value = match pos.and_then(|p| out.get(p)) {
                Some(Val::Blob(bytes)) => Val::Blob(Sha256::digest(bytes).to_vec()),
                Some(Val::Null) | None => Val::Null,
                Some(_) => Val::Null,
            };
            out.push(value);
            continue;
        }
        let value = row.get_ref(idx).map_err(source_err(path, OP_COPY))?;
        idx += 1;
        let wrong = |found: &str| StoreError::Corrupt {
            path: path.to_owned(),
            op: OP_COPY,
            cause: format!(
                "{}.{} holds {found}, not the {:?} the schema declares",
                table.name, col.name, col.kind
            ),
        };
        out.push(match (col.kind, value) {
            (_, ValueRef::Null) => Val::Null,
            (Kind::Int | Kind::Bool, ValueRef::Integer(v)) => Val::Int(v),
            (Kind::Text, ValueRef::Text(bytes)) => {
                let s = std::str::from_utf8(bytes).map_err(|_| wrong("text that is not UTF-8"))?;
                Val::Text(pg_text(s).into_owned())
            }
            (Kind::Blob, ValueRef::Blob(bytes)) => Val::Blob(bytes.to_vec()),
            (_, ValueRef::Integer(_)) => return Err(wrong("an integer")),
            (_, ValueRef::Real(_)) => return Err(wrong("a real")),
            (_, ValueRef::Text(_)) => return Err(wrong("text")),
            (_, ValueRef::Blob(_)) => return Err(wrong("a blob")),
        });
    }
    Ok(out)
}

fn key_of(table: &Table, row: &[Val]) -> Vec<Val> {
    table
        .key
        .iter()
        .filter_map(|k| table.columns.iter().position(|c| c.name == *k))
        .filter_map(|p| row.get(p).cloned())
        .collect()
}

fn key_to_json(key: &[Val]) -> String {
    let values: Vec<serde_json::Value> = key
        .iter()
        .map(|v| match v {
            Val::Int(n) => serde_json::Value::from(*n),
            Val::Text(s) => serde_json::Value::from(s.as_str()),
            Val::Blob(b) => serde_json::Value::from(hex::encode(b)),
            Val::Null => serde_json::Value::Null,
        })
        .collect();
    serde_json::Value::Array(values).to_string()
}

fn key_from_json(table: &Table, text: &str) -> Result<Vec<Val>, StoreError> {
    let bad = || StoreError::Corrupt {
        path: PROGRESS_TABLE.into(),
        op: OP_COPY,
        cause: format!("the saved position of table {} is unreadable", table.name),
    };
    let values: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|_| bad())?;
    if values.len() != table.key.len() {
        return Err(bad());
    }
    values
        .iter()
        .zip(table.key)
        .map(|(v, k)| {
            let kind = table
                .columns
                .iter()
                .find(|c| c.name == *k)
                .map(|c| c.kind)
                .ok_or_else(bad)?;
            match (kind, v) {
                (Kind::Int | Kind::Bool, serde_json::Value::Number(n)) => {
                    n.as_i64().map(Val::Int).ok_or_else(bad)
                }
                (Kind::Text, serde_json::Value::String(s)) => Ok(Val::Text(s.clone())),
                _ => Err(bad()),
            }
        })
        .collect()
}

fn bind_sqlite(key: &[Val]) -> Vec<rusqlite::types::Value> {
    key.iter()
        .map(|v| match v {
            Val::Null => rusqlite::types::Value::Null,
            Val::Int(n) => rusqlite::types::Value::Integer(*n),
            // A key text from the target has NUL mapped; keys with NUL are not expected (ids).
            Val::Text(s) => rusqlite::types::Value::Text(s.clone()),
            Val::Blob(b) => rusqlite::types::Value::Blob(b.clone()),
        })
        .collect()
}

/// The PostgreSQL array type of a column.
fn pg_array_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Int => "int8[]",
        Kind::Bool => "bool[]",
        Kind::Text => "text[]",
        Kind::Blob | Kind::Sha256Of(_) => "bytea[]",
    }
}

/// One array parameter per column (of kind `kinds[n]`), over `rows`.
fn pg_arrays(kinds: &[Kind], rows: &[Vec<Val>]) -> Vec<Box<dyn ToSql + Sync>> {
    kinds
        .iter()
        .enumerate()
        .map(|(n, kind)| -> Box<dyn ToSql + Sync> {
            let values = rows.iter().map(|row| row.get(n));
            match kind {
                Kind::Int => Box::new(
                    values
                        .map(|v| match v {
                            Some(Val::Int(n)) => Some(*n),
                            _ => None,
                        })
                        .collect::<Vec<Option<i64>>>(),
                ),
                Kind::Bool => Box::new(
                    values
                        .map(|v| match v {
                            Some(Val::Int(n)) => Some(*n != 0),
                            _ => None,
                        })
                        .collect::<Vec<Option<bool>>>(),
                ),
                Kind::Text => Box::new(
                    values
                        .map(|v| match v {
                            Some(Val::Text(s)) => Some(s.clone()),
                            _ => None,
                        })
                        .collect::<Vec<Option<String>>>(),
                ),
                Kind::Blob | Kind::Sha256Of(_) => Box::new(
                    values
                        .map(|v| match v {
                            Some(Val::Blob(b)) => Some(b.clone()),
                            _ => None,
                        })
                        .collect::<Vec<Option<Vec<u8>>>>(),
                ),
            }
        })
        .collect()
}

/// The upsert of a batch: new rows inserted, differing rows updated, equal rows untouched.
fn upsert_sql(table: &Table) -> String {
    let cols: Vec<String> = table.columns.iter().map(|c| quote(c.name)).collect();
    let arrays: Vec<String> = table
        .columns
        .iter()
        .enumerate()
        .map(|(n, c)| format!("${}::{}", n + 1, pg_array_type(c.kind)))
        .collect();
    let key: Vec<String> = table.key.iter().map(|k| quote(k)).collect();
    let rest: Vec<&Column> = table
        .columns
        .iter()
        .filter(|c| !table.key.contains(&c.name))
        .collect();
    let conflict = if rest.is_empty() {
        "DO NOTHING".to_owned()
    } else {
        let set: Vec<String> = rest
            .iter()
            .map(|c| format!("{0} = EXCLUDED.{0}", quote(c.name)))
            .collect();
        let old: Vec<String> = rest
            .iter()
            .map(|c| format!("{}.{}", quote(table.name), quote(c.name)))
            .collect();
        let new: Vec<String> = rest
            .iter()
            .map(|c| format!("EXCLUDED.{}", quote(c.name)))
            .collect();
        format!(
            "DO UPDATE SET {} WHERE ROW({}) IS DISTINCT FROM ROW({})",
            set.join(", "),
            old.join(", "),
            new.join(", ")
        )
    };
    format!(
        "INSERT INTO {} ({}) SELECT * FROM unnest({}) ON CONFLICT ({}) {}",
        quote(table.name),
        cols.join(", "),
        arrays.join(", "),
        key.join(", "),
        conflict
    )
}

/// The kinds of a table's key columns.
fn key_kinds(table: &Table) -> Vec<Kind> {
    table
        .key
        .iter()
        .filter_map(|k| table.columns.iter().find(|c| c.name == *k).map(|c| c.kind))
        .collect()
}

/// A value of a PostgreSQL row as the digest sees it.
fn pg_value(row: &postgres::Row, n: usize, kind: Kind) -> Result<Val, postgres::Error> {
    Ok(match kind {
        Kind::Int => row
            .try_get::<_, Option<i64>>(n)?
            .map_or(Val::Null, Val::Int),
        Kind::Bool => row
            .try_get::<_, Option<bool>>(n)?
            .map_or(Val::Null, |v| Val::Int(i64::from(v))),
        Kind::Text => row
            .try_get::<_, Option<String>>(n)?
            .map_or(Val::Null, Val::Text),
        Kind::Blob | Kind::Sha256Of(_) => row
            .try_get::<_, Option<Vec<u8>>>(n)?
            .map_or(Val::Null, Val::Blob),
    })
}

/// `ORDER BY` of a table's key in bytewise order (text keys collated "C", as SQLite's BINARY).
fn pg_key_order(table: &Table) -> String {
    let parts: Vec<String> = table
        .key
        .iter()
        .map(|k| {
            let text = table
                .columns
                .iter()
                .any(|c| c.name == *k && c.kind == Kind::Text);
            if text {
                format!("{} COLLATE \"C\"", quote(k))
            } else {
                quote(k)
            }
        })
        .collect();
    parts.join(", ")
}

/// A schema difference between the copy's table map and a database.
fn schema_mismatch(side: &str, problems: &[String]) -> StoreError {
    StoreError::Backend {
        op: "checking the tables to copy",
        cause: format!(
            "the {side} schema does not match the copy's table map ({}); this build cannot \
             migrate it: use the wecom-archive build that wrote the archive",
            problems.join("; ")
        ),
    }
}

/// Problems of a database's tables (name → columns) against the table map.
fn compare_schema(
    found: &[(String, Vec<String>)],
    only_here: &[&str],
    only_here_columns: &[(&str, &str)],
    side_is_sqlite: bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, columns) in found {
        if only_here.contains(&name.as_str()) {
            continue;
        }
        let Some(table) = TABLES.iter().find(|t| t.name == name) else {
            problems.push(format!("table {name} is not handled"));
            continue;
        };
        for col in columns {
            let mapped = table
                .columns
                .iter()
                .any(|c| c.name == col && !(side_is_sqlite && matches!(c.kind, Kind::Sha256Of(_))));
            let extra = only_here_columns
                .iter()
                .any(|(t, c)| *t == name.as_str() && c == col);
            if !mapped && !extra {
                problems.push(format!("column {name}.{col} is not handled"));
            }
        }
        for c in table.columns {
            if side_is_sqlite && matches!(c.kind, Kind::Sha256Of(_)) {
                continue;
            }
            if !columns.iter().any(|col| col == c.name) {
                problems.push(format!("column {name}.{} is missing", c.name));
            }
        }
    }
    for table in TABLES {
        if !found.iter().any(|(name, _)| name == table.name) {
            problems.push(format!("table {} is missing", table.name));
        }
    }
    problems
}

/// The tables and columns of the SQLite archive.
pub(crate) fn sqlite_tables(
    conn: &rusqlite::Connection,
    path: &Path,
) -> Result<Vec<(String, Vec<String>)>, StoreError> {
    let e = source_err(path, "reading the source schema");
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name",
        )
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(&e)?;
    names
        .into_iter()
        .map(|name| {
            let cols: Vec<String> = conn
                .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
                .and_then(|mut s| s.query_map([&name], |r| r.get(0))?.collect())
                .map_err(&e)?;
            Ok((name, cols))
        })
        .collect()
}

/// The tables and columns of the PostgreSQL archive (its current schema).
pub(crate) fn postgres_tables(
    tx: &mut postgres::Transaction<'_>,
) -> Result<Vec<(String, Vec<String>)>, postgres::Error> {
    let rows = tx.query(
        "SELECT c.table_name::text, c.column_name::text FROM information_schema.columns c \
         JOIN information_schema.tables t USING (table_schema, table_name) \
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
         ORDER BY c.table_name, c.ordinal_position",
        &[],
    )?;
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for row in rows {
        let table: String = row.try_get(0)?;
        let column: String = row.try_get(1)?;
        match out.last_mut() {
            Some((name, cols)) if *name == table => cols.push(column),
            _ => out.push((table, vec![column])),
        }
    }
    Ok(out)
}

/// Copies the SQLite archive at `source` into the PostgreSQL archive `target` (created and
/// migrated when new), `batch_rows` rows per transaction, calling `progress` after every batch
/// (returning `ControlFlow::Break` stops the copy after that batch: the next run resumes). See the
/// module documentation for what is copied and how. `restart` abandons an unfinished pass and
/// starts a new one.
///
/// Refuses a target that a running archive writes (a corp lease held and unexpired), a target
/// holding rows the source lacks in a table whose rows are never deleted, and a schema on either
/// side that does not match this build's table map.
pub fn copy_sqlite_to_postgres(
    source: &Path,
    target: &PgOptions,
    batch_rows: usize,
    restart: bool,
    progress: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
) -> Result<CopyReport, StoreError> {
    let batch_rows = batch_rows.max(1);
    let store = PgStore::open(target)?;
    let mut src = crate::sqlite::open_source(source)?;
    let e = source_err(source, OP_COPY);

    // Both schemas match the table map.
    let problems = compare_schema(&sqlite_tables(&src, source)?, SQLITE_ONLY, &[], true);
    if !problems.is_empty() {
        return Err(schema_mismatch("source (SQLite)", &problems));
    }
    let problems = store.write(OP_COPY, |tx| {
        tx.batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {PROGRESS_TABLE} (\
                 tbl          TEXT    PRIMARY KEY,\
                 pass         BIGINT  NOT NULL,\
                 after_key    TEXT,\
                 done         BOOLEAN NOT NULL,\
                 rows_read    BIGINT  NOT NULL,\
                 rows_written BIGINT  NOT NULL)"
        ))?;
        Ok(compare_schema(
            &postgres_tables(tx)?,
            POSTGRES_ONLY,
            POSTGRES_ONLY_COLUMNS,
            false,
        ))
    })?;
    if !problems.is_empty() {
        return Err(schema_mismatch("target (PostgreSQL)", &problems));
    }

    // One snapshot of the source for the whole run.
    let snapshot = src
        .transaction_with_behavior(rusqlite::TransactionBehavior::Deferred)
        .map_err(&e)?;
    let mut totals = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let n: i64 = snapshot
            .query_row(
                &format!("SELECT count(*) FROM {}", quote(table.name)),
                [],
                |r| r.get(0),
            )
            .map_err(&e)?;
        totals.push(u64::try_from(n).unwrap_or(0));
    }

    // The target is not in use, and holds nothing the source lacks.
    let store_target = store.target().to_owned();
    let (pass, resumed, saved) = store.write(OP_COPY, |tx| {
        let leases = tx.query(
            "SELECT corp_id, holder FROM corp_leases WHERE expires_at > now() ORDER BY corp_id",
            &[],
        )?;
        if let Some(row) = leases.first() {
            let corp: String = row.try_get(0)?;
            let holder: String = row.try_get(1)?;
            return Err(StoreError::Refused {
                target: store_target.clone(),
                op: OP_COPY,
                cause: format!(
                    "a running archive writes it: node {holder} holds the lease of corp {corp}"
                ),
                fix: "stop every wecom-archive node using this database (or wait until its \
                      lease lapses), or choose another database or --schema",
            }
            .into());
        }
        for (table, total) in TABLES.iter().zip(&totals) {
            if table.rows != Rows::Kept {
                continue;
            }
            let n: i64 = tx
                .query_one(&format!("SELECT count(*) FROM {}", quote(table.name)), &[])?
                .try_get(0)?;
            if u64::try_from(n).unwrap_or(0) > *total {
                return Err(refuse_extra(&store_target, table.name, n, *total).into());
            }
        }
        let rows = tx.query(
            &format!("SELECT tbl, pass, after_key, done FROM {PROGRESS_TABLE}"),
            &[],
        )?;
        let mut saved = Vec::new();
        let mut pass = 0i64;
        for row in rows {
            let tbl: String = row.try_get(0)?;
            let p: i64 = row.try_get(1)?;
            let after: Option<String> = row.try_get(2)?;
            let done: bool = row.try_get(3)?;
            pass = pass.max(p);
            saved.push((tbl, after, done));
        }
        let finished = TABLES
            .iter()
            .all(|t| saved.iter().any(|(n, _, done)| n == t.name && *done));
        if saved.is_empty() || finished || restart {
            let next = pass + 1;
            tx.execute(&format!("DELETE FROM {PROGRESS_TABLE}"), &[])?;
            for table in TABLES {
                tx.execute(
                    &format!(
                        "INSERT INTO {PROGRESS_TABLE} \
                         (tbl, pass, after_key, done, rows_read, rows_written) \
                         VALUES ($1, $2, NULL, FALSE, 0, 0)"
                    ),
                    &[&table.name, &next],
                )?;
            }
            Ok((next, false, Vec::new()))
        } else {
            Ok((pass, true, saved))
        }
    })?;

    let mut report = CopyReport {
        pass,
        resumed,
        stopped: false,
        tables: Vec::new(),
    };
    for (table, total) in TABLES.iter().zip(totals) {
        let state = saved.iter().find(|(n, _, _)| n == table.name);
        if state.is_some_and(|(_, _, done)| *done) {
            continue;
        }
        let mut after = match state.and_then(|(_, after, _)| after.as_deref()) {
            Some(text) => Some(key_from_json(table, text)?),
            None => None,
        };
        let mut copy = TableCopy {
            table: table.name,
            rows_read: 0,
            rows_written: 0,
            rows_deleted: 0,
        };
        let started = Instant::now();
        let upsert = upsert_sql(table);
        loop {
            let rows = read_batch(&snapshot, source, table, after.as_deref(), batch_rows)?;
            let last = rows.last().map(|r| key_of(table, r));
            let finished = rows.len() < batch_rows;
            // At the end of a table whose rows the archive deletes: the keys the source has.
            let source_keys = if finished && table.rows == Rows::Deleted {
                Some(all_keys(&snapshot, source, table)?)
            } else {
                None
            };
            let kinds: Vec<Kind> = table.columns.iter().map(|c| c.kind).collect();
            let params = pg_arrays(&kinds, &rows);
            let after_json = last.as_ref().or(after.as_ref()).map(|k| key_to_json(k));
            let read = rows.len() as u64;
            let store_target = store.target().to_owned();
            let (written, deleted) = store
                .write(OP_COPY, |tx| {
                    let refs: Vec<&(dyn ToSql + Sync)> =
                        params.iter().map(|p| p.as_ref()).collect();
                    let written = if rows.is_empty() {
                        0
                    } else {
                        tx.execute(upsert.as_str(), &refs)?
                    };
                    let mut deleted = 0;
                    if finished {
                        match &source_keys {
                            Some(keys) => deleted = delete_missing(tx, table, keys)?,
                            None => {
                                let n: i64 = tx
                                    .query_one(
                                        &format!("SELECT count(*) FROM {}", quote(table.name)),
                                        &[],
                                    )?
                                    .try_get(0)?;
                                if u64::try_from(n).unwrap_or(0) > total {
                                    return Err(
                                        refuse_extra(&store_target, table.name, n, total).into()
                                    );
                                }
                            }
                        }
                        if table.identity {
                            tx.execute(
                                &format!(
                                    "SELECT setval(pg_get_serial_sequence($1, 'id'), \
                                 coalesce(max(id), 0) + 1, false) FROM {}",
                                    quote(table.name)
                                ),
                                &[&table.name],
                            )?;
                        }
                    }
                    let read_i = i64::try_from(read).unwrap_or(i64::MAX);
                    let written_i = i64::try_from(written + deleted).unwrap_or(i64::MAX);
                    tx.execute(
                        &format!(
                            "UPDATE {PROGRESS_TABLE} SET after_key = $2, done = $3, \
                         rows_read = rows_read + $4, rows_written = rows_written + $5 \
                         WHERE tbl = $1"
                        ),
                        &[&table.name, &after_json, &finished, &read_i, &written_i],
                    )?;
                    Ok((written, deleted))
                })
                .map_err(|e| {
                    // A pass resumed in a newer snapshot of a source that kept changing can meet a
                    // row whose parent an earlier table copied before it existed.
                    if resumed && e.kind() == crate::StoreErrorKind::Conflict {
                        StoreError::Refused {
                            target: store.target().to_owned(),
                            op: OP_COPY,
                            cause: e.to_string(),
                            fix: "the source changed while the pass was interrupted: run the copy \
                              again with --restart (a new pass)",
                        }
                    } else {
                        e
                    }
                })?;
            copy.rows_read += read;
            copy.rows_written += written;
            copy.rows_deleted += deleted;
            let seconds = started.elapsed().as_secs_f64();
            let flow = progress(&Progress {
                table: table.name,
                rows_read: copy.rows_read,
                rows_total: total,
                rows_written: copy.rows_written + copy.rows_deleted,
                rows_per_second: if seconds > 0.0 {
                    copy.rows_read as f64 / seconds
                } else {
                    0.0
                },
                done: finished,
            });
            let last_table = TABLES.last().is_some_and(|t| t.name == table.name);
            if flow.is_break() && !(finished && last_table) {
                report.tables.push(copy);
                report.stopped = true;
                return Ok(report);
            }
            if finished {
                break;
            }
            after = last;
        }
        report.tables.push(copy);
    }
    drop(snapshot);
    Ok(report)
}

fn refuse_extra(target: &str, table: &str, found: i64, total: u64) -> StoreError {
    StoreError::Refused {
        target: target.to_owned(),
        op: OP_COPY,
        cause: format!(
            "its table {table} has {found} rows, more than the source's {total}: another archive \
             (or a running node) wrote it"
        ),
        fix: "migrate into an empty database or a new --schema, or stop the nodes writing this \
              one and point --from at their archive",
    }
}

fn read_batch(
    conn: &rusqlite::Connection,
    path: &Path,
    table: &Table,
    after: Option<&[Val]>,
    limit: usize,
) -> Result<Vec<Vec<Val>>, StoreError> {
    let e = source_err(path, OP_COPY);
    let sql = source_select(table, after.is_some(), true);
    let mut stmt = conn.prepare_cached(&sql).map_err(&e)?;
    let mut params = after.map(bind_sqlite).unwrap_or_default();
    params.push(rusqlite::types::Value::Integer(
        i64::try_from(limit).unwrap_or(i64::MAX),
    ));
    let mut rows = stmt.query(rusqlite::params_from_iter(params)).map_err(&e)?;
    let mut out = Vec::with_capacity(limit.min(100_000));
    while let Some(row) = rows.next().map_err(&e)? {
        out.push(source_row(table, row, path)?);
    }
    Ok(out)
}

fn all_keys(
    conn: &rusqlite::Connection,
    path: &Path,
    table: &Table,
) -> Result<HashSet<Vec<Val>>, StoreError> {
    let e = source_err(path, OP_COPY);
    let mut stmt = conn
        .prepare(&source_select(table, false, false))
        .map_err(&e)?;
    let mut rows = stmt.query([]).map_err(&e)?;
    let mut out = HashSet::new();
    while let Some(row) = rows.next().map_err(&e)? {
        let values = source_row(table, row, path)?;
        out.insert(key_of(table, &values));
    }
    Ok(out)
}

/// Deletes the target's rows of `table` whose key is not in `keys`; returns how many.
fn delete_missing(
    tx: &mut postgres::Transaction<'_>,
    table: &Table,
    keys: &HashSet<Vec<Val>>,
) -> Result<u64, TxError> {
    let kinds = key_kinds(table);
    let key_cols: Vec<String> = table.key.iter().map(|k| quote(k)).collect();
    let rows = tx.query(
        &format!("SELECT {} FROM {}", key_cols.join(", "), quote(table.name)),
        &[],
    )?;
    let mut gone = Vec::new();
    for row in rows {
        let key = kinds
            .iter()
            .enumerate()
            .map(|(n, kind)| pg_value(&row, n, *kind))
            .collect::<Result<Vec<Val>, _>>()?;
        if !keys.contains(&key) {
            gone.push(key);
        }
    }
    if gone.is_empty() {
        return Ok(0);
    }
    let params = pg_arrays(&kinds, &gone);
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
    let arrays: Vec<String> = kinds
        .iter()
        .enumerate()
        .map(|(n, k)| format!("${}::{}", n + 1, pg_array_type(*k)))
        .collect();
    let deleted = tx.execute(
        &format!(
            "DELETE FROM {} WHERE ({}) IN (SELECT * FROM unnest({}))",
            quote(table.name),
            key_cols.join(", "),
            arrays.join(", ")
        ),
        &refs,
    )?;
    Ok(deleted)
}

/// Compares the SQLite archive at `source` with the PostgreSQL archive `target`, table by table:
/// row counts and digests (see the module documentation), each side read in one snapshot.
pub fn verify(source: &Path, target: &PgOptions) -> Result<Vec<TableCheck>, StoreError> {
    let store = PgStore::open_read_only(target)?;
    let mut src = crate::sqlite::open_source(source)?;
    let e = source_err(source, OP_VERIFY);
    let snapshot = src
        .transaction_with_behavior(rusqlite::TransactionBehavior::Deferred)
        .map_err(&e)?;
    let mut sources = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let mut stmt = snapshot
            .prepare(&source_select(table, false, false))
            .map_err(&e)?;
        let mut rows = stmt.query([]).map_err(&e)?;
        let mut hasher = Sha256::new();
        let mut count = 0u64;
        let mut buf = Vec::new();
        while let Some(row) = rows.next().map_err(&e)? {
            buf.clear();
            for value in source_row(table, row, source)? {
                value.encode(&mut buf);
            }
            hasher.update(&buf);
            count += 1;
        }
        sources.push((count, hex::encode(hasher.finalize())));
    }
    drop(snapshot);
    let targets = store.read(OP_VERIFY, |tx| {
        let mut out = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            let cols: Vec<String> = table.columns.iter().map(|c| quote(c.name)).collect();
            let sql = format!(
                "SELECT {} FROM {} ORDER BY {}",
                cols.join(", "),
                quote(table.name),
                pg_key_order(table)
            );
            let no_params: [&(dyn ToSql + Sync); 0] = [];
            let mut rows = tx.query_raw(sql.as_str(), no_params)?;
            let mut hasher = Sha256::new();
            let mut count = 0u64;
            let mut buf = Vec::new();
            use postgres::fallible_iterator::FallibleIterator;
            while let Some(row) = rows.next()? {
                buf.clear();
                for (n, col) in table.columns.iter().enumerate() {
                    pg_value(&row, n, col.kind)?.encode(&mut buf);
                }
                hasher.update(&buf);
                count += 1;
            }
            out.push((count, hex::encode(hasher.finalize())));
        }
        Ok(out)
    })?;
    Ok(TABLES
        .iter()
        .zip(sources)
        .zip(targets)
        .map(
            |((table, (source_rows, source_digest)), (target_rows, target_digest))| TableCheck {
                table: table.name,
                source_rows,
                target_rows,
                source_digest,
                target_digest,
            },
        )
        .collect())
}

/// Every media object the SQLite archive at `source` records (both areas, every corp), by corp,
/// area and SHA-256: what `migrate --media-to` copies to the new blob store.
pub fn media_objects(source: &Path) -> Result<Vec<(String, crate::MediaObject)>, StoreError> {
    const OP: &str = "listing the media objects";
    let conn = crate::sqlite::open_source(source)?;
    let e = source_err(source, OP);
    let mut stmt = conn
        .prepare(
            "SELECT corp_id, area, sha256, size, md5, content_type, backend, key \
             FROM media_objects ORDER BY corp_id, area, sha256",
        )
        .map_err(&e)?;
    let mut rows = stmt.query([]).map_err(&e)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(&e)? {
        let area: String = row.get(1).map_err(&e)?;
        let area = match area.as_str() {
            "objects" => crate::MediaArea::Objects,
            "quarantine" => crate::MediaArea::Quarantine,
            other => {
                return Err(StoreError::Corrupt {
                    path: source.to_owned(),
                    op: OP,
                    cause: format!("a media object has the unknown area {other:?}"),
                });
            }
        };
        let size: i64 = row.get(3).map_err(&e)?;
        out.push((
            row.get(0).map_err(&e)?,
            crate::MediaObject {
                sha256: row.get(2).map_err(&e)?,
                size: u64::try_from(size).unwrap_or(0),
                md5: row.get(4).map_err(&e)?,
                content_type: row.get(5).map_err(&e)?,
                backend: row.get(6).map_err(&e)?,
                key: row.get(7).map_err(&e)?,
                area,
            },
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
