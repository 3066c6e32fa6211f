//! Versioned schema migrations: numbered `.sql` files under `migrations/`, embedded in the binary,
//! applied in order in one transaction and recorded in `schema_migrations`.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{err, now_ms};
use crate::StoreError;

/// One schema step. Versions start at 1 and increase by one; a released migration is never edited,
/// only followed by a new one.
pub(crate) struct Migration {
    pub(crate) version: i64,
    pub(crate) name: &'static str,
    pub(crate) sql: &'static str,
}

pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../../migrations/0001_init.sql"),
    },
    // Followed by deriving the existing messages again (`super::derive`).
    Migration {
        version: 2,
        name: "message_model",
        sql: include_str!("../../migrations/0002_message_model.sql"),
    },
    // Followed by creating the media jobs of the existing messages (`super::media::backfill`).
    Migration {
        version: 3,
        name: "media",
        sql: include_str!("../../migrations/0003_media.sql"),
    },
    // Names, scope and consent: new tables only; existing messages are found by the first
    // discovery pass.
    Migration {
        version: 4,
        name: "names",
        sql: include_str!("../../migrations/0004_names.sql"),
    },
    // Quarantined items of hostile or broken pages: a new table only.
    Migration {
        version: 5,
        name: "quarantine",
        sql: include_str!("../../migrations/0005_quarantine.sql"),
    },
    // The change feed: a position per stored message (existing ones numbered in storage order),
    // and names discovery moved from its rowid watermark onto it.
    Migration {
        version: 6,
        name: "feed",
        sql: include_str!("../../migrations/0006_feed.sql"),
    },
    // Conversation summaries kept with every stored message, for a list that reads no messages.
    Migration {
        version: 7,
        name: "conversation_summaries",
        sql: include_str!("../../migrations/0007_conversation_summaries.sql"),
    },
    // Accounts of the HTTP API (users, sessions) and the append-only access audit log: new
    // tables only.
    Migration {
        version: 8,
        name: "accounts",
        sql: include_str!("../../migrations/0008_accounts.sql"),
    },
    // The read side of the HTTP API: conversation participants and the external flag (existing
    // messages filled by SQL, the external-id shape by `super::summary::backfill_external`),
    // people's departments, media jobs by object.
    Migration {
        version: 9,
        name: "read_side",
        sql: include_str!("../../migrations/0009_read_side.sql"),
    },
];

/// `PRAGMA application_id` of an archive database ('WECA'); set by 0001_init.sql.
pub(crate) const APPLICATION_ID: i64 = 0x5745_4341;

/// The newest schema version this build knows.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Brings the database to schema version `target` (the newest, except in tests that build old
/// archives), refusing files that belong to another application or to a newer build.
pub(crate) fn migrate(conn: &mut Connection, path: &Path, target: i64) -> Result<(), StoreError> {
    const OP: &str = "migrating the schema";
    // IMMEDIATE takes the write lock before reading the version, so two processes opening the same
    // new file cannot both apply 0001.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err(path, OP))?;

    let app_id: i64 = tx
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(err(path, OP))?;
    if app_id != 0 && app_id != APPLICATION_ID {
        return Err(StoreError::Corrupt {
            path: path.to_owned(),
            op: OP,
            cause: format!("its application_id {app_id:#x} belongs to another application"),
        });
    }

    let tracked = tx
        .query_row(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'",
            [],
            |_| Ok(()),
        )
        .optional()
        .map_err(err(path, OP))?
        .is_some();
    if !tracked {
        // A database with tables but no migration history is someone else's: writing our schema
        // into it would mix two applications' data.
        let foreign: i64 = tx
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                [],
                |row| row.get(0),
            )
            .map_err(err(path, OP))?;
        if foreign > 0 {
            return Err(StoreError::Corrupt {
                path: path.to_owned(),
                op: OP,
                cause: "it has tables but no schema_migrations table".to_owned(),
            });
        }
        tx.execute_batch(
            "CREATE TABLE schema_migrations (
                 version       INTEGER NOT NULL PRIMARY KEY,
                 name          TEXT    NOT NULL,
                 applied_at_ms INTEGER NOT NULL
             ) STRICT",
        )
        .map_err(err(path, OP))?;
    }

    let current: i64 = tx
        .query_row(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            [],
            |row| row.get(0),
        )
        .map_err(err(path, OP))?;
    let known = latest_version();
    if current > known {
        return Err(StoreError::SchemaTooNew {
            path: path.to_owned(),
            found: current,
            known,
        });
    }

    for m in MIGRATIONS
        .iter()
        .filter(|m| m.version > current && m.version <= target)
    {
        tx.execute_batch(m.sql).map_err(err(path, OP))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?1, ?2, ?3)",
            params![m.version, m.name, now_ms()],
        )
        .map_err(err(path, OP))?;
    }
    tx.commit().map_err(err(path, OP))
}
