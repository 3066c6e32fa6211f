//! [`SqliteStore`]: the archive in one embedded SQLite file (WAL, synchronous=FULL), one transaction
//! per page with cached prepared statements.
//!
//! Storage of `seq`: WeCom's seq is a u64. It is stored as the i64 with the same bit pattern
//! (`seq as i64`, read back with `as u64`), so every seq seen in practice (< 2^63) reads the same in
//! plain SQL and values above `i64::MAX` round-trip exactly. Above `i64::MAX` the stored values are
//! negative, so SQL order is not u64 order: ordered reads walk the non-negative range and then the
//! negative one ([`U64_ORDER`]), each an index range scan.

mod accounts;
mod derive;
mod links;
mod media;
mod migrate;
mod names;
mod read;
mod summary;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{
    CachedStatement, Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior,
    params,
};
use wecom_model::Envelope;
use wecom_wire::ChatDataItem;

use crate::StoreError;
use crate::media::{MediaJob, MediaJobResult, MediaJobState, MediaStats, MessageMedia};
use crate::names::{
    Consent, ConsentDue, ConsentSubject, DiscoverStats, Discovery, DisplayName, NameStats,
    PartyKind, PermitChange, PermitUser, PersonEntry, PersonResolution, RoomDetail, RoomEntry,
    RoomResolution,
};
use crate::rules::{self, NewLinks};
use crate::store::{
    ArchiveReader, ArchiveWriter, CommitStats, ConversationFilter, ConversationSummary,
    CursorChange, Derived, Directory, FailedRecord, Failure, MediaQueue, Outcome, PageCommit,
    ResolveStats, Stats, StoredMessage, StoredQuarantine,
};
use links::Links;
use summary::Summaries;

/// How long a statement waits for another connection's write lock before failing with `Busy`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The two stored-seq ranges whose concatenation is ascending u64 order (see the module docs).
const U64_ORDER: [(i64, i64); 2] = [(0, i64::MAX), (i64::MIN, -1)];

/// Key for decrypted non-switch records that carry no msgtype, in [`Stats::by_msgtype`].
const NO_MSGTYPE: &str = "(none)";

const INSERT_RECORD: &str = "INSERT INTO records \
     (corp_id, seq, msgid, publickey_ver, encrypt_random_key, encrypt_chat_msg, fetched_at_ms) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING";
const INSERT_MESSAGE: &str = "INSERT INTO messages \
     (corp_id, msgid, seq, action, from_id, tolist, roomid, msgtime, msgtype, json, plaintext, \
      conversation, is_group, external, updown_stream, recall_of, recalled_by, recalled_at_ms, \
      quote_user, quote_text, quote_reply, quote_of, text, warnings, feed_pos) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
      ?19, ?20, ?21, ?22, ?23, ?24, ?25)";
const INSERT_FAILURE: &str = "INSERT INTO failures \
     (corp_id, msgid, seq, stage, code, reason, attempts, first_failed_at_ms, last_failed_at_ms, plaintext) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7, ?8)";
const UPSERT_CURSOR: &str = "INSERT INTO cursors (corp_id, seq, updated_at_ms) VALUES (?1, ?2, ?3) \
     ON CONFLICT (corp_id) DO UPDATE SET seq = excluded.seq, updated_at_ms = excluded.updated_at_ms";
const UPSERT_QUARANTINE: &str = "INSERT INTO quarantined_items \
     (corp_id, seq, kind, reason, raw, cursor_seq, first_seen_at_ms, last_seen_at_ms, times_seen) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 1) \
     ON CONFLICT (corp_id, raw) DO UPDATE SET last_seen_at_ms = excluded.last_seen_at_ms, \
     times_seen = times_seen + 1 RETURNING times_seen";
const SELECT_FAILURE_SEQ: &str = "SELECT seq FROM failures WHERE corp_id = ?1 AND msgid = ?2";
const DELETE_FAILURE: &str = "DELETE FROM failures WHERE corp_id = ?1 AND msgid = ?2";
const UPDATE_FAILURE: &str = "UPDATE failures SET stage = ?3, code = ?4, reason = ?5, plaintext = ?6, \
     attempts = attempts + 1, last_failed_at_ms = ?7 WHERE corp_id = ?1 AND msgid = ?2";
const SELECT_FAILED_RECORDS: &str = "SELECT r.seq, r.msgid, r.publickey_ver, r.encrypt_random_key, \
     r.encrypt_chat_msg, f.stage, f.code, f.reason, f.plaintext, f.attempts, f.first_failed_at_ms, \
     f.last_failed_at_ms \
     FROM failures f JOIN records r ON r.corp_id = f.corp_id AND r.msgid = f.msgid \
     WHERE f.corp_id = ?1 AND f.seq BETWEEN ?2 AND ?3 ORDER BY f.seq LIMIT ?4";
const SELECT_RECORD_IDS: &str = "SELECT seq, msgid FROM records \
     WHERE corp_id = ?1 AND seq BETWEEN ?2 AND ?3 ORDER BY seq";

/// The archive store on SQLite: the writer connection behind a mutex (one write transaction at a
/// time), and a [`SqliteReader`] beside it whose reads never wait for a page commit. Implements
/// [`ArchiveWriter`], [`MediaQueue`], [`Directory`], [`crate::Accounts`] and [`crate::AuditLog`];
/// its reader implements [`ArchiveReader`].
/// `Send + Sync`: share it in an `Arc` ([`SqliteStore::roles`]).
pub struct SqliteStore {
    writer: Arc<Mutex<Connection>>,
    reader: Arc<SqliteReader>,
    /// For error messages; `:memory:` for an in-memory store.
    path: PathBuf,
}

/// Reads of an SQLite archive, each on a read-only connection of its own from a small pool (WAL
/// lets them run beside the writer), or — for an in-memory archive, which has one connection —
/// on the writer's. `Send + Sync`.
pub struct SqliteReader {
    source: ReadSource,
    path: PathBuf,
}

enum ReadSource {
    /// Read-only connections opened on demand; up to [`IDLE_READERS`] are kept for reuse.
    Pool {
        idle: Mutex<Vec<Connection>>,
        /// Opened as immutable (a read-only mount where SQLite cannot keep its `-shm`).
        immutable: bool,
    },
    /// The writer's connection (an in-memory archive).
    Shared(Arc<Mutex<Connection>>),
}

/// Idle read-only connections kept per archive: enough for the daemon's readers and an API's
/// handful of concurrent requests; more are opened when needed and closed after use.
const IDLE_READERS: usize = 4;

/// A connection lent to one read: returned to the pool (or the writer's mutex released) on drop.
pub(crate) enum ReadConn<'a> {
    Pooled {
        conn: Option<Connection>,
        idle: &'a Mutex<Vec<Connection>>,
    },
    Shared(MutexGuard<'a, Connection>),
}

impl std::ops::Deref for ReadConn<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match self {
            // Always `Some` until drop.
            ReadConn::Pooled { conn: Some(c), .. } => c,
            ReadConn::Pooled { conn: None, .. } => {
                unreachable!("a pooled connection is taken only on drop")
            }
            ReadConn::Shared(guard) => guard,
        }
    }
}

impl Drop for ReadConn<'_> {
    fn drop(&mut self) {
        if let ReadConn::Pooled { conn, idle } = self
            && let Some(conn) = conn.take()
        {
            let mut idle = lock(idle);
            if idle.len() < IDLE_READERS && conn.is_autocommit() {
                idle.push(conn);
            }
        }
    }
}

/// Locks a mutex, also after a panic elsewhere held it: a connection left mid-transaction by a
/// panic was rolled back when its `Transaction` dropped.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Drop for SqliteStore {
    /// Closes the idle read-only connections before the writer, so the writer's connection is the
    /// last one and SQLite checkpoints the write-ahead log into the database file when it closes
    /// (a read-only connection cannot, and a log left behind would hold every page of the run).
    fn drop(&mut self) {
        if let ReadSource::Pool { idle, .. } = &self.reader.source {
            lock(idle).clear();
        }
    }
}

impl std::fmt::Debug for SqliteReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteReader")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed, along with its parent directories) the archive at `path` and
    /// migrates it to the newest schema. Errors name the path.
    ///
    /// The files are created with the process umask's modes (SQLite gives `-wal` and `-shm` the
    /// database file's mode). A missing permission or a read-only file system — on the folder,
    /// the file, or SQLite's `-wal`/`-shm` beside it — is [`StoreError::PermissionDenied`].
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| io_err(path, "creating its directory", &e))?;
        }
        // Never open the database file with a descriptor of our own: closing it would drop every
        // POSIX lock this process's SQLite connections hold on it. SQLite's "unable to open
        // database file" is explained afterwards instead.
        let conn = Connection::open(path)
            .map_err(err(path, "opening"))
            .map_err(|e| explain_cannot_open(path, e))?;
        SqliteStore::init(conn, path.to_owned(), true, migrate::latest_version())
            .map_err(|e| explain_cannot_open(path, e))
    }

    /// Opens the existing archive at `path` for reading only: nothing is created, migrated or
    /// written, and no write lock is ever taken, so it works beside a running writer, on a
    /// read-only mount and for a user who may only read the files. Where SQLite cannot set up its
    /// shared-memory index (no `-shm` and a folder it may not write, as on a read-only mount) the
    /// file is opened as immutable; a write-ahead log that then cannot be read is reported in the
    /// log, since what it holds is not shown.
    ///
    /// An archive written by an older build is [`StoreError::SchemaTooOld`]: a writing command
    /// upgrades it.
    pub fn open_read_only(path: &Path) -> Result<SqliteReader, StoreError> {
        const OP: &str = "opening read-only";
        if let Err(e) = std::fs::metadata(path) {
            return Err(io_err(path, OP, &e));
        }
        let plain = open_reader_conn(path, false).and_then(|conn| {
            let version = read_schema(&conn, path)?;
            Ok((conn, version, false))
        });
        let (conn, version, immutable) = match plain {
            Ok(opened) => opened,
            Err(first)
                if matches!(
                    first.kind(),
                    crate::StoreErrorKind::Io | crate::StoreErrorKind::PermissionDenied
                ) =>
            {
                // No `-shm` and no right to create one: read the file as it is.
                let conn = open_reader_conn(path, true)?;
                let version = read_schema(&conn, path).map_err(|_| first)?;
                let mut wal = path.as_os_str().to_owned();
                wal.push("-wal");
                if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
                    warn_wal_unread(path);
                }
                (conn, version, true)
            }
            Err(e) => return Err(e),
        };
        let known = migrate::latest_version();
        if version > known {
            return Err(StoreError::SchemaTooNew {
                path: path.to_owned(),
                found: version,
                known,
            });
        }
        if version < known {
            return Err(StoreError::SchemaTooOld {
                path: path.to_owned(),
                found: version,
                known,
            });
        }
        Ok(SqliteReader {
            source: ReadSource::Pool {
                idle: Mutex::new(vec![conn]),
                immutable,
            },
            path: path.to_owned(),
        })
    }

    /// Opens the archive at `path` migrated only up to schema `version`, as an older build would
    /// have left it: for tests of upgrades.
    #[cfg(test)]
    pub(crate) fn open_with_max_migration(
        path: &Path,
        version: i64,
    ) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path).map_err(err(path, "opening"))?;
        SqliteStore::init(conn, path.to_owned(), true, version)
    }

    /// A fresh archive in memory, gone when dropped — for tests and dry runs.
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(err(&path, "opening"))?;
        SqliteStore::init(conn, path, false, migrate::latest_version())
    }

    fn init(
        mut conn: Connection,
        path: PathBuf,
        on_disk: bool,
        schema: i64,
    ) -> Result<SqliteStore, StoreError> {
        const OP: &str = "opening";
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err(&path, OP))?;
        if on_disk {
            // The first statement that reads the file: a file that is not SQLite fails here.
            // WAL lets readers (stats, verification) run while a page commits; if the filesystem
            // cannot do WAL, SQLite keeps its rollback journal, which is as durable, only slower.
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| {
                row.get::<_, String>(0)
            })
            .map_err(err(&path, OP))?;
        }
        // FULL: a committed page survives power loss, which is what lets the cursor move with it.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err(&path, OP))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(err(&path, OP))?;
        // A page commit touches the messages' indexes all over a large archive: 64 MiB of page
        // cache (taken as it is used; SQLite's default is 2 MiB) keeps their upper levels in memory.
        conn.pragma_update(None, "cache_size", -65_536)
            .map_err(err(&path, OP))?;
        // Room for every statement of the hot paths, so none is ever re-prepared.
        conn.set_prepared_statement_cache_capacity(64);
        migrate::migrate(&mut conn, &path, schema)?;
        if schema >= derive::SINCE_VERSION {
            // Also after an upgrade that was interrupted: the rows left are still pending.
            derive::derive_pending(&mut conn, &path, schema)?;
        }
        if schema >= media::SINCE_VERSION {
            // Also after an interrupted backfill: it resumes where it stopped.
            media::backfill(&mut conn, &path, now_ms())?;
        }
        if schema >= summary::PARTICIPANTS_SINCE_VERSION {
            // Once after 0009 (or again after an interrupted pass).
            summary::backfill_external(&mut conn, &path)?;
        }
        let writer = Arc::new(Mutex::new(conn));
        let source = if on_disk {
            ReadSource::Pool {
                idle: Mutex::new(Vec::new()),
                immutable: false,
            }
        } else {
            ReadSource::Shared(Arc::clone(&writer))
        };
        let reader = Arc::new(SqliteReader {
            source,
            path: path.clone(),
        });
        Ok(SqliteStore {
            writer,
            reader,
            path,
        })
    }

    /// The reader beside this writer.
    pub fn reader(&self) -> Arc<SqliteReader> {
        Arc::clone(&self.reader)
    }

    /// The archive by role, all on this store: what [`crate::open`] returns.
    pub fn roles(self: Arc<Self>) -> crate::Roles {
        let reader: Arc<dyn ArchiveReader> = self.reader();
        let store = self;
        crate::Roles {
            writer: Arc::clone(&store) as Arc<dyn ArchiveWriter>,
            media: Arc::clone(&store) as Arc<dyn MediaQueue>,
            directory: Arc::clone(&store) as Arc<dyn Directory>,
            accounts: Arc::clone(&store) as Arc<dyn crate::Accounts>,
            audit: store as Arc<dyn crate::AuditLog>,
            reader,
            cluster: None,
        }
    }

    /// The writer connection, for tests that look below the traits.
    #[cfg(test)]
    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.lock()
    }

    /// The writer connection, for one write (or a read that must see the writer's own state).
    fn lock(&self) -> MutexGuard<'_, Connection> {
        lock(&self.writer)
    }

    fn read_conn(&self) -> Result<ReadConn<'_>, StoreError> {
        self.reader.read_conn()
    }
}

impl SqliteReader {
    /// A connection for one read: an idle pooled one, a new one, or the writer's (in memory).
    fn read_conn(&self) -> Result<ReadConn<'_>, StoreError> {
        match &self.source {
            ReadSource::Shared(writer) => Ok(ReadConn::Shared(lock(writer))),
            ReadSource::Pool { idle, immutable } => {
                let pooled = lock(idle).pop();
                let conn = match pooled {
                    Some(conn) => conn,
                    None => open_reader_conn(&self.path, *immutable)?,
                };
                Ok(ReadConn::Pooled {
                    conn: Some(conn),
                    idle,
                })
            }
        }
    }
}

impl SqliteReader {
    /// The feed positions of the corp's messages whose searchable text SQLite's
    /// `LIKE '%needle%'` matches (ASCII case-insensitive; `%`, `_` and `\\` in `needle` are
    /// literal): a scan of every row. The search benchmark's baseline; the archive never
    /// searches this way.
    pub fn like_scan(&self, corp_id: &str, needle: &str) -> Result<Vec<u64>, StoreError> {
        const OP: &str = "scanning message texts";
        let mut pattern = String::with_capacity(needle.len() + 2);
        pattern.push('%');
        for c in needle.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        let conn = self.read_conn()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT feed_pos FROM messages WHERE corp_id = ?1 AND text LIKE ?2 ESCAPE '\\'",
            )
            .map_err(err(&self.path, OP))?;
        let rows = stmt
            .query_map(params![corp_id, pattern], |r| r.get::<_, i64>(0))
            .map_err(err(&self.path, OP))?;
        rows.map(|r| r.map(|p| u64::try_from(p).unwrap_or(0)))
            .collect::<rusqlite::Result<Vec<u64>>>()
            .map_err(err(&self.path, OP))
    }

    /// Hands every message's feed position and searchable text to `f`, in feed order: the plain
    /// substring scan search is checked against.
    pub fn scan_texts(
        &self,
        corp_id: &str,
        f: &mut dyn FnMut(u64, &str),
    ) -> Result<(), StoreError> {
        const OP: &str = "scanning message texts";
        let conn = self.read_conn()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT feed_pos, text FROM messages WHERE corp_id = ?1 ORDER BY feed_pos",
            )
            .map_err(err(&self.path, OP))?;
        let mut rows = stmt.query(params![corp_id]).map_err(err(&self.path, OP))?;
        while let Some(row) = rows.next().map_err(err(&self.path, OP))? {
            let pos: i64 = row.get(0).map_err(err(&self.path, OP))?;
            let text: Option<String> = row.get(1).map_err(err(&self.path, OP))?;
            f(
                u64::try_from(pos).unwrap_or(0),
                text.as_deref().unwrap_or(""),
            );
        }
        Ok(())
    }
}

/// Opens one read-only connection to the archive at `path`.
fn open_reader_conn(path: &Path, immutable: bool) -> Result<Connection, StoreError> {
    const OP: &str = "opening a reader";
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
        | rusqlite::OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(uri(path, immutable), flags).map_err(err(path, OP))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(err(path, OP))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// A read-only connection to the existing archive at `path`, at this build's schema version (an
/// older or newer one is refused, naming the fix): the source of `crate::transfer`, which reads
/// every table beside a running writer.
pub(crate) fn open_source(path: &Path) -> Result<Connection, StoreError> {
    if let Err(e) = std::fs::metadata(path) {
        return Err(io_err(path, "opening the source archive", &e));
    }
    let conn = open_reader_conn(path, false)?;
    let found = read_schema(&conn, path)?;
    let known = migrate::latest_version();
    if found > known {
        return Err(StoreError::SchemaTooNew {
            path: path.to_owned(),
            found,
            known,
        });
    }
    if found < known {
        return Err(StoreError::SchemaTooOld {
            path: path.to_owned(),
            found,
            known,
        });
    }
    Ok(conn)
}

/// A read transaction, so multi-query reads see one consistent snapshot. A read connection never
/// has a transaction open when it is lent, so none is open here.
fn snapshot<'c>(
    conn: &'c Connection,
    path: &Path,
    op: &'static str,
) -> Result<Transaction<'c>, StoreError> {
    Transaction::new_unchecked(conn, TransactionBehavior::Deferred).map_err(err(path, op))
}

/// Runs `f` in one immediate (write) transaction on the writer connection and commits it; every
/// error names `op`.
fn write<T>(
    conn: &mut Connection,
    path: &Path,
    op: &'static str,
    f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
) -> Result<T, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err(path, op))?;
    let out = f(&tx).map_err(err(path, op))?;
    tx.commit().map_err(err(path, op))?;
    Ok(out)
}

impl ArchiveWriter for SqliteStore {
    fn cursor(&self, corp_id: &str) -> Result<u64, StoreError> {
        self.reader.cursor(corp_id)
    }

    fn commit_page(&self, corp_id: &str, page: &PageCommit) -> Result<CommitStats, StoreError> {
        let mut conn = self.lock();
        let path = &self.path;
        // IMMEDIATE: take the write lock up front instead of upgrading mid-page, where a concurrent
        // writer would turn into a busy error after work was done.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err(path, "starting a page commit"))?;
        let mut stats = CommitStats::default();
        let committed_at = now_ms();
        {
            let mut insert_record = tx
                .prepare_cached(INSERT_RECORD)
                .map_err(err(path, "inserting into records"))?;
            let mut insert_message = tx
                .prepare_cached(INSERT_MESSAGE)
                .map_err(err(path, "inserting into messages"))?;
            let mut links = Links::new(&tx, path)?;
            let mut feed = FeedHead::read(&tx, path, corp_id)?;
            let mut summaries = Summaries::new(&tx, path)?;
            let mut insert_jobs = tx
                .prepare_cached(media::INSERT_JOB)
                .map_err(err(path, "inserting into media_jobs"))?;
            let mut insert_failure = tx
                .prepare_cached(INSERT_FAILURE)
                .map_err(err(path, "inserting into failures"))?;

            for record in &page.records {
                let item = &record.item;
                let seq = seq_to_sql(item.seq);
                // The encrypted record first: whatever happens to its outcome, it is kept.
                let inserted = insert_record
                    .execute(params![
                        corp_id,
                        seq,
                        item.msgid,
                        item.publickey_ver,
                        item.encrypt_random_key,
                        item.encrypt_chat_msg,
                        record.fetched_at_ms,
                    ])
                    .map_err(err(path, "inserting into records"))?;
                if inserted == 0 {
                    stats.duplicates += 1;
                    continue;
                }
                stats.inserted += 1;
                match &record.outcome {
                    Outcome::Decrypted {
                        plaintext,
                        envelope,
                        derived,
                    } => store_message(
                        &mut insert_message,
                        &mut links,
                        &mut feed,
                        &mut summaries,
                        &mut insert_jobs,
                        path,
                        NewMessage {
                            corp_id,
                            msgid: &item.msgid,
                            seq,
                            envelope,
                            plaintext,
                            derived,
                            now_ms: committed_at,
                        },
                    )?,
                    Outcome::Failed(failure) => {
                        insert_failure
                            .execute(params![
                                corp_id,
                                item.msgid,
                                seq,
                                failure.stage,
                                failure.code,
                                failure.reason,
                                record.fetched_at_ms,
                                failure.plaintext,
                            ])
                            .map_err(err(path, "inserting into failures"))?;
                        stats.failed += 1;
                    }
                }
            }

            // Quarantined items in the same transaction: every item the server sent is kept.
            for q in &page.quarantined {
                let times_seen: i64 = tx
                    .prepare_cached(UPSERT_QUARANTINE)
                    .map_err(err(path, "inserting into quarantined_items"))?
                    .query_row(
                        params![
                            corp_id,
                            q.seq.map(seq_to_sql),
                            q.reason.kind(),
                            q.reason.describe(),
                            q.raw,
                            seq_to_sql(page.cursor),
                            committed_at,
                        ],
                        |r| r.get(0),
                    )
                    .map_err(err(path, "inserting into quarantined_items"))?;
                if times_seen == 1 {
                    stats.quarantined += 1;
                }
            }

            summaries.finish()?;
            feed.write(&tx, path, corp_id)?;
            tx.prepare_cached(UPSERT_CURSOR)
                .and_then(|mut s| s.execute(params![corp_id, seq_to_sql(page.cursor), now_ms()]))
                .map_err(err(path, "moving the cursor"))?;
        }
        tx.commit().map_err(err(path, "committing a page"))?;
        Ok(stats)
    }

    fn set_cursor(&self, corp_id: &str, seq: u64, force: bool) -> Result<CursorChange, StoreError> {
        let mut conn = self.lock();
        write(&mut conn, &self.path, "setting the cursor", |tx| {
            let previous = read_cursor(tx, corp_id)?;
            let count_between = |table: &str, lo: u64, hi: u64| -> rusqlite::Result<u64> {
                // (lo, hi] in u64 order, over the two stored ranges.
                let sql = format!(
                    "SELECT count(*) FROM {table} WHERE corp_id = ?1 AND seq BETWEEN ?2 AND ?3"
                );
                let mut n = 0u64;
                let Some(first) = lo.checked_add(1) else {
                    return Ok(0);
                };
                for (a, b) in u64_subranges(first, hi) {
                    let c: i64 = tx
                        .prepare_cached(&sql)?
                        .query_row(params![corp_id, seq_to_sql(a), seq_to_sql(b)], |r| r.get(0))?;
                    n += count(c);
                }
                Ok(n)
            };
            let mut change = CursorChange {
                previous,
                now: previous,
                ..CursorChange::default()
            };
            if seq < previous {
                change.records_passed = count_between("records", seq, previous)?;
            } else {
                change.quarantined_skipped = count_between("quarantined_items", previous, seq)?;
            }
            if change.records_passed > 0 && !force {
                return Ok(change);
            }
            tx.prepare_cached(UPSERT_CURSOR)?.execute(params![
                corp_id,
                seq_to_sql(seq),
                now_ms()
            ])?;
            change.now = seq;
            change.moved = true;
            Ok(change)
        })
    }

    fn failed_records(&self, corp_id: &str, limit: usize) -> Result<Vec<FailedRecord>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading failed records";
        let tx = snapshot(&conn, &self.path, OP)?;
        let mut out = Vec::new();
        let mut stmt = tx
            .prepare_cached(SELECT_FAILED_RECORDS)
            .map_err(err(&self.path, OP))?;
        for (lo, hi) in U64_ORDER {
            let remaining = limit.saturating_sub(out.len());
            if remaining == 0 {
                break;
            }
            let remaining = sql_int(remaining);
            let rows = stmt
                .query_map(params![corp_id, lo, hi, remaining], |row| {
                    Ok(FailedRecord {
                        item: ChatDataItem {
                            seq: seq_from_sql(row.get(0)?),
                            msgid: row.get(1)?,
                            publickey_ver: row.get(2)?,
                            encrypt_random_key: row.get(3)?,
                            encrypt_chat_msg: row.get(4)?,
                        },
                        failure: Failure {
                            stage: row.get(5)?,
                            code: row.get(6)?,
                            reason: row.get(7)?,
                            plaintext: row.get(8)?,
                        },
                        attempts: row.get(9)?,
                        first_failed_at_ms: row.get(10)?,
                        last_failed_at_ms: row.get(11)?,
                    })
                })
                .map_err(err(&self.path, OP))?;
            for row in rows {
                out.push(row.map_err(err(&self.path, OP))?);
            }
        }
        Ok(out)
    }

    fn resolve_failures(
        &self,
        corp_id: &str,
        results: &[(String, Outcome)],
        now_ms: i64,
    ) -> Result<ResolveStats, StoreError> {
        let mut conn = self.lock();
        let path = &self.path;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err(path, "starting to resolve failures"))?;
        let mut stats = ResolveStats::default();
        {
            let mut select_seq = tx
                .prepare_cached(SELECT_FAILURE_SEQ)
                .map_err(err(path, "reading failures"))?;
            let mut insert_message = tx
                .prepare_cached(INSERT_MESSAGE)
                .map_err(err(path, "inserting into messages"))?;
            let mut links = Links::new(&tx, path)?;
            let mut feed = FeedHead::read(&tx, path, corp_id)?;
            let mut summaries = Summaries::new(&tx, path)?;
            let mut insert_jobs = tx
                .prepare_cached(media::INSERT_JOB)
                .map_err(err(path, "inserting into media_jobs"))?;
            let mut delete_failure = tx
                .prepare_cached(DELETE_FAILURE)
                .map_err(err(path, "deleting from failures"))?;
            let mut update_failure = tx
                .prepare_cached(UPDATE_FAILURE)
                .map_err(err(path, "updating failures"))?;

            for (msgid, outcome) in results {
                match outcome {
                    Outcome::Decrypted {
                        plaintext,
                        envelope,
                        derived,
                    } => {
                        let seq: Option<i64> = select_seq
                            .query_row(params![corp_id, msgid], |row| row.get(0))
                            .optional()
                            .map_err(err(path, "reading failures"))?;
                        let Some(seq) = seq else {
                            stats.not_found += 1;
                            continue;
                        };
                        store_message(
                            &mut insert_message,
                            &mut links,
                            &mut feed,
                            &mut summaries,
                            &mut insert_jobs,
                            path,
                            NewMessage {
                                corp_id,
                                msgid,
                                seq,
                                envelope,
                                plaintext,
                                derived,
                                now_ms,
                            },
                        )?;
                        delete_failure
                            .execute(params![corp_id, msgid])
                            .map_err(err(path, "deleting from failures"))?;
                        stats.resolved += 1;
                    }
                    Outcome::Failed(failure) => {
                        let updated = update_failure
                            .execute(params![
                                corp_id,
                                msgid,
                                failure.stage,
                                failure.code,
                                failure.reason,
                                failure.plaintext,
                                now_ms,
                            ])
                            .map_err(err(path, "updating failures"))?;
                        if updated == 0 {
                            stats.not_found += 1;
                        } else {
                            stats.still_failed += 1;
                        }
                    }
                }
            }
            summaries.finish()?;
            feed.write(&tx, path, corp_id)?;
        }
        tx.commit()
            .map_err(err(path, "committing resolved failures"))?;
        Ok(stats)
    }
}

impl ArchiveReader for SqliteReader {
    fn cursor(&self, corp_id: &str) -> Result<u64, StoreError> {
        let conn = self.read_conn()?;
        read_cursor(&conn, corp_id).map_err(err(&self.path, "reading the cursor"))
    }

    fn feed(
        &self,
        corp_id: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let conn = self.read_conn()?;
        read::feed(&conn, corp_id, after, limit).map_err(err(&self.path, "reading the change feed"))
    }

    fn feed_head(&self, corp_id: &str) -> Result<u64, StoreError> {
        let conn = self.read_conn()?;
        read_feed_head(&conn, corp_id)
            .map(count)
            .map_err(err(&self.path, "reading the feed head"))
    }

    fn follower_position(&self, corp_id: &str, follower: &str) -> Result<u64, StoreError> {
        let conn = self.read_conn()?;
        read_follower_position(&conn, corp_id, follower)
            .map(count)
            .map_err(err(&self.path, "reading a follower's position"))
    }

    fn stats(&self, corp_id: &str) -> Result<Stats, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading stats";
        let tx = snapshot(&conn, &self.path, OP)?;
        read_stats(&tx, corp_id).map_err(err(&self.path, OP))
    }

    fn quarantined_items(
        &self,
        corp_id: &str,
        limit: usize,
    ) -> Result<Vec<StoredQuarantine>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading quarantined items";
        let tx = snapshot(&conn, &self.path, OP)?;
        let mut out = Vec::new();
        let row = |r: &rusqlite::Row<'_>| -> rusqlite::Result<StoredQuarantine> {
            Ok(StoredQuarantine {
                seq: r.get::<_, Option<i64>>(0)?.map(seq_from_sql),
                kind: r.get(1)?,
                reason: r.get(2)?,
                raw_len: count(r.get(3)?),
                cursor_seq: seq_from_sql(r.get(4)?),
                first_seen_at_ms: r.get(5)?,
                last_seen_at_ms: r.get(6)?,
                times_seen: count(r.get(7)?),
            })
        };
        const COLUMNS: &str = "seq, kind, reason, length(raw), cursor_seq, first_seen_at_ms, \
             last_seen_at_ms, times_seen";
        let ranged = format!(
            "SELECT {COLUMNS} FROM quarantined_items WHERE corp_id = ?1 AND seq BETWEEN ?2 AND ?3 \
             ORDER BY seq, id LIMIT ?4"
        );
        let unseq = format!(
            "SELECT {COLUMNS} FROM quarantined_items WHERE corp_id = ?1 AND seq IS NULL \
             ORDER BY id LIMIT ?2"
        );
        let read = || -> rusqlite::Result<()> {
            for (lo, hi) in U64_ORDER {
                let remaining = sql_int(limit.saturating_sub(out.len()));
                for r in tx
                    .prepare_cached(&ranged)?
                    .query_map(params![corp_id, lo, hi, remaining], row)?
                {
                    out.push(r?);
                }
            }
            let remaining = sql_int(limit.saturating_sub(out.len()));
            for r in tx
                .prepare_cached(&unseq)?
                .query_map(params![corp_id, remaining], row)?
            {
                out.push(r?);
            }
            Ok(())
        };
        let mut read = read;
        read().map_err(err(&self.path, OP))?;
        Ok(out)
    }

    fn max_record_seq(&self, corp_id: &str) -> Result<Option<u64>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading the largest seq";
        let tx = snapshot(&conn, &self.path, OP)?;
        let mut best = None;
        for (lo, hi) in U64_ORDER {
            let max: Option<i64> = tx
                .prepare_cached(
                    "SELECT max(seq) FROM records WHERE corp_id = ?1 AND seq BETWEEN ?2 AND ?3",
                )
                .and_then(|mut s| s.query_row(params![corp_id, lo, hi], |r| r.get(0)))
                .map_err(err(&self.path, OP))?;
            if let Some(m) = max {
                best = Some(seq_from_sql(m));
            }
        }
        Ok(best)
    }

    fn sample_records(
        &self,
        corp_id: &str,
        newest: usize,
    ) -> Result<Vec<ChatDataItem>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading a sample of the stored records";
        let tx = snapshot(&conn, &self.path, OP)?;
        let newest = sql_int(newest);
        let mut stmt = tx
            .prepare_cached(
                "SELECT seq, msgid, publickey_ver, encrypt_random_key, encrypt_chat_msg \
                 FROM records WHERE rowid IN ( \
                   SELECT rowid FROM records WHERE corp_id = ?1 ORDER BY rowid DESC LIMIT ?2) \
                 OR rowid IN ( \
                   SELECT max(r) FROM (SELECT rowid AS r, publickey_ver AS v FROM records \
                     WHERE corp_id = ?1 ORDER BY rowid DESC LIMIT 10000) GROUP BY v) \
                 ORDER BY rowid DESC",
            )
            .map_err(err(&self.path, OP))?;
        stmt.query_map(params![corp_id, newest], |row| {
            Ok(ChatDataItem {
                seq: seq_from_sql(row.get(0)?),
                msgid: row.get(1)?,
                publickey_ver: row.get(2)?,
                encrypt_random_key: row.get(3)?,
                encrypt_chat_msg: row.get(4)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(err(&self.path, OP))
    }

    fn record_ids(&self, corp_id: &str) -> Result<Vec<(u64, String)>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading record ids";
        let tx = snapshot(&conn, &self.path, OP)?;
        let mut stmt = tx
            .prepare_cached(SELECT_RECORD_IDS)
            .map_err(err(&self.path, OP))?;
        let mut out = Vec::new();
        for (lo, hi) in U64_ORDER {
            let rows = stmt
                .query_map(params![corp_id, lo, hi], |row| {
                    Ok((seq_from_sql(row.get(0)?), row.get(1)?))
                })
                .map_err(err(&self.path, OP))?;
            for row in rows {
                out.push(row.map_err(err(&self.path, OP))?);
            }
        }
        Ok(out)
    }

    fn plaintext(&self, corp_id: &str, msgid: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading a plaintext";
        let tx = snapshot(&conn, &self.path, OP)?;
        let read = |sql: &str| -> rusqlite::Result<Option<Option<Vec<u8>>>> {
            tx.prepare_cached(sql)?
                .query_row(params![corp_id, msgid], |row| row.get(0))
                .optional()
        };
        let message = read("SELECT plaintext FROM messages WHERE corp_id = ?1 AND msgid = ?2")
            .map_err(err(&self.path, OP))?;
        if let Some(bytes) = message {
            return Ok(bytes);
        }
        let failure = read("SELECT plaintext FROM failures WHERE corp_id = ?1 AND msgid = ?2")
            .map_err(err(&self.path, OP))?;
        Ok(failure.flatten())
    }

    fn conversations(
        &self,
        corp_id: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        self.conversation_list(corp_id, &ConversationFilter::default(), limit, offset)
    }

    fn conversation_list(
        &self,
        corp_id: &str,
        filter: &ConversationFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "listing conversations";
        let tx = snapshot(&conn, &self.path, OP)?;
        read::conversation_list(&tx, corp_id, filter, limit, offset).map_err(err(&self.path, OP))
    }

    fn conversation_messages_before(
        &self,
        corp_id: &str,
        key: &str,
        before: (i64, u64),
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading a conversation";
        read::conversation_messages_before(&conn, corp_id, key, before, limit)
            .map_err(err(&self.path, OP))
    }

    fn conversation_involves(
        &self,
        corp_id: &str,
        key: &str,
        ids: &[String],
    ) -> Result<bool, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading a conversation's participants";
        read::conversation_involves(&conn, corp_id, key, ids).map_err(err(&self.path, OP))
    }

    fn conversations_involving(
        &self,
        corp_id: &str,
        ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "finding conversations by participant";
        read::conversations_involving(&conn, corp_id, ids).map_err(err(&self.path, OP))
    }

    fn media_by_sha256(
        &self,
        corp_id: &str,
        sha256: &str,
    ) -> Result<Vec<MessageMedia>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "finding media by content";
        media::media_by_sha256(&conn, corp_id, sha256).map_err(err(&self.path, OP))
    }

    fn messages_media(
        &self,
        corp_id: &str,
        msgids: &[String],
    ) -> Result<Vec<MessageMedia>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading messages' media";
        media::messages_media(&conn, corp_id, msgids).map_err(err(&self.path, OP))
    }

    fn department_members(
        &self,
        corp_id: &str,
        departments: &[u64],
    ) -> Result<Vec<String>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading department members";
        read::department_members(&conn, corp_id, departments).map_err(err(&self.path, OP))
    }

    fn conversation_messages(
        &self,
        corp_id: &str,
        key: &str,
        after: Option<(i64, u64)>,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading a conversation";
        let tx = snapshot(&conn, &self.path, OP)?;
        read::conversation_messages(&tx, corp_id, key, after, limit).map_err(err(&self.path, OP))
    }

    fn message(&self, corp_id: &str, msgid: &str) -> Result<Option<StoredMessage>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading a message";
        let tx = snapshot(&conn, &self.path, OP)?;
        read::message(&tx, corp_id, msgid).map_err(err(&self.path, OP))
    }

    fn ping(&self) -> Result<(), StoreError> {
        let conn = self.read_conn()?;
        conn.query_row("SELECT 1", [], |_| Ok(()))
            .map_err(err(&self.path, "answering a ping"))
    }

    fn seq_gaps(&self, corp_id: &str, limit: usize) -> Result<Vec<(u64, u64)>, StoreError> {
        let conn = self.read_conn()?;
        // Seqs are stored as the i64 of the same bits, so u64 order is the non-negative range
        // followed by the negative one: gaps inside each, plus the one between them.
        const OP: &str = "reading seq gaps";
        let tx = snapshot(&conn, &self.path, OP)?;
        let mut out = Vec::new();
        let mut last_below: Option<u64> = None;
        let read = |out: &mut Vec<(u64, u64)>,
                    last_below: &mut Option<u64>|
         -> rusqlite::Result<()> {
            let mut gaps = tx.prepare_cached(
                "SELECT prev, seq FROM (
                     SELECT seq, LAG(seq) OVER (ORDER BY seq) AS prev
                     FROM records WHERE corp_id = ?1 AND seq BETWEEN ?2 AND ?3)
                 WHERE prev IS NOT NULL AND seq > prev + 1
                 ORDER BY seq LIMIT ?4",
            )?;
            let mut bounds = tx.prepare_cached(
                "SELECT min(seq), max(seq) FROM records WHERE corp_id = ?1 AND seq BETWEEN ?2 AND ?3",
            )?;
            for (lo, hi) in U64_ORDER {
                let (min, max): (Option<i64>, Option<i64>) =
                    bounds.query_row(params![corp_id, lo, hi], |r| Ok((r.get(0)?, r.get(1)?)))?;
                let (Some(min), Some(max)) = (min, max) else {
                    continue;
                };
                if let Some(below) = *last_below {
                    let min = seq_from_sql(min);
                    if min > below + 1 && out.len() < limit {
                        out.push((below + 1, min - 1));
                    }
                }
                let remaining = sql_int(limit.saturating_sub(out.len()));
                for r in gaps.query_map(params![corp_id, lo, hi, remaining], |r| {
                    Ok((seq_from_sql(r.get(0)?), seq_from_sql(r.get(1)?)))
                })? {
                    let (prev, seq) = r?;
                    out.push((prev + 1, seq - 1));
                }
                *last_below = Some(seq_from_sql(max));
            }
            Ok(())
        };
        read(&mut out, &mut last_below).map_err(err(&self.path, OP))?;
        out.truncate(limit);
        Ok(out)
    }

    fn daily_counts(&self, corp_id: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let conn = self.read_conn()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT date(msgtime / 1000 + 8 * 3600, 'unixepoch') AS day, count(*)
                 FROM messages WHERE corp_id = ?1 AND msgtime > 0
                 GROUP BY day ORDER BY day",
            )
            .map_err(err(&self.path, "counting messages per day"))?;
        let rows = stmt
            .query_map([corp_id], |r| {
                Ok((r.get::<_, String>(0)?, count(r.get(1)?)))
            })
            .map_err(err(&self.path, "counting messages per day"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(err(&self.path, "counting messages per day"))
    }

    fn media_stats(&self, corp_id: &str) -> Result<MediaStats, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading media stats";
        let tx = snapshot(&conn, &self.path, OP)?;
        media::stats(&tx, corp_id).map_err(err(&self.path, OP))
    }

    fn media_jobs(
        &self,
        corp_id: &str,
        state: Option<MediaJobState>,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<MediaJob>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "listing media jobs";
        media::jobs(&conn, corp_id, state, after_id, limit).map_err(err(&self.path, OP))
    }

    fn message_media(&self, corp_id: &str, msgid: &str) -> Result<Vec<MessageMedia>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading a message's media";
        media::message_media(&conn, corp_id, msgid).map_err(err(&self.path, OP))
    }

    fn rooms(
        &self,
        corp_id: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<RoomEntry>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "listing rooms";
        names::rooms(&conn, corp_id, limit, offset).map_err(err(&self.path, OP))
    }

    fn room(&self, corp_id: &str, roomid: &str) -> Result<Option<RoomDetail>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading a room";
        let tx = snapshot(&conn, &self.path, OP)?;
        names::room(&tx, corp_id, roomid).map_err(err(&self.path, OP))
    }

    fn people(
        &self,
        corp_id: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<PersonEntry>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "listing people";
        names::people(&conn, corp_id, limit, offset).map_err(err(&self.path, OP))
    }

    fn person(&self, corp_id: &str, id: &str) -> Result<Option<PersonEntry>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading a person";
        names::person(&conn, corp_id, id).map_err(err(&self.path, OP))
    }

    fn name_stats(&self, corp_id: &str) -> Result<NameStats, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading name stats";
        let tx = snapshot(&conn, &self.path, OP)?;
        names::stats(&tx, corp_id).map_err(err(&self.path, OP))
    }

    fn display_names(
        &self,
        corp_id: &str,
        ids: &[String],
        roomid: Option<&str>,
    ) -> Result<Vec<DisplayName>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading display names";
        let tx = snapshot(&conn, &self.path, OP)?;
        names::display_names(&tx, corp_id, ids, roomid).map_err(err(&self.path, OP))
    }

    fn permit_users(&self, corp_id: &str) -> Result<Vec<PermitUser>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading the permit list";
        names::permit_users(&conn, corp_id).map_err(err(&self.path, OP))
    }

    fn permit_checked_at(&self, corp_id: &str) -> Result<Option<i64>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading when the permit list was checked";
        names::permit_checked_at(&conn, corp_id).map_err(err(&self.path, OP))
    }

    fn consents(&self, corp_id: &str, id: &str) -> Result<Vec<Consent>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading consent";
        names::consents(&conn, corp_id, id).map_err(err(&self.path, OP))
    }
}

impl MediaQueue for SqliteStore {
    fn claim_media_jobs(
        &self,
        corp_id: &str,
        now_ms: i64,
        retention_edge_ms: i64,
        limit: usize,
    ) -> Result<Vec<MediaJob>, StoreError> {
        let mut conn = self.lock();
        media::claim(
            &mut conn,
            &self.path,
            corp_id,
            now_ms,
            retention_edge_ms,
            limit,
        )
    }

    fn record_media_results(
        &self,
        corp_id: &str,
        results: &[MediaJobResult],
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let mut conn = self.lock();
        media::record(&mut conn, &self.path, corp_id, results, now_ms)
    }

    fn requeue_interrupted_media_jobs(
        &self,
        corp_id: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let conn = self.lock();
        media::requeue_interrupted(&conn, &self.path, corp_id, now_ms)
    }

    fn retry_media_jobs(
        &self,
        corp_id: &str,
        include_permanent: bool,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let mut conn = self.lock();
        media::retry(&mut conn, &self.path, corp_id, include_permanent, now_ms)
    }
}

impl Directory for SqliteStore {
    fn record_discovered(
        &self,
        corp_id: &str,
        found: &Discovery,
        through: u64,
        now_ms: i64,
    ) -> Result<DiscoverStats, StoreError> {
        let mut conn = self.lock();
        write(&mut conn, &self.path, "recording discovered names", |tx| {
            let stats = names::record_discovered(tx, corp_id, found, now_ms)?;
            write_follower_position(tx, corp_id, names::FOLLOWER, through, now_ms)?;
            Ok(stats)
        })
    }

    fn due_rooms(
        &self,
        corp_id: &str,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<RoomEntry>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading due rooms";
        let tx = snapshot(&conn, &self.path, OP)?;
        names::due_rooms(&tx, corp_id, now_ms, limit).map_err(err(&self.path, OP))
    }

    fn record_room(
        &self,
        corp_id: &str,
        roomid: &str,
        resolution: &RoomResolution,
        now_ms: i64,
        next_check_ms: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.lock();
        const OP: &str = "recording a room";
        if PartyKind::of(roomid).is_none() {
            return Err(names::empty_id(OP, "the roomid"));
        }
        write(&mut conn, &self.path, OP, |tx| {
            names::record_room(tx, corp_id, roomid, resolution, now_ms, next_check_ms)
        })
    }

    fn due_people(
        &self,
        corp_id: &str,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<PersonEntry>, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading due people";
        let tx = snapshot(&conn, &self.path, OP)?;
        names::due_people(&tx, corp_id, now_ms, limit).map_err(err(&self.path, OP))
    }

    fn record_person(
        &self,
        corp_id: &str,
        id: &str,
        resolution: &PersonResolution,
        now_ms: i64,
        next_check_ms: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.lock();
        const OP: &str = "recording a person";
        let Some(kind) = PartyKind::of(id) else {
            return Err(names::empty_id(OP, "the id"));
        };
        write(&mut conn, &self.path, OP, |tx| {
            names::record_person(tx, corp_id, id, kind, resolution, now_ms, next_check_ms)
        })
    }

    fn recheck_names(
        &self,
        corp_id: &str,
        include_named: bool,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let mut conn = self.lock();
        write(&mut conn, &self.path, "making names due again", |tx| {
            names::recheck(tx, corp_id, include_named, now_ms)
        })
    }

    fn record_permit_users(
        &self,
        corp_id: &str,
        ids: &[String],
        now_ms: i64,
    ) -> Result<PermitChange, StoreError> {
        let mut conn = self.lock();
        write(&mut conn, &self.path, "recording the permit list", |tx| {
            names::record_permit_users(tx, corp_id, ids, now_ms)
        })
    }

    fn permit_checked_at(&self, corp_id: &str) -> Result<Option<i64>, StoreError> {
        self.reader.permit_checked_at(corp_id)
    }

    fn due_consent_checks(
        &self,
        corp_id: &str,
        checked_before_ms: i64,
        limit: usize,
    ) -> Result<ConsentDue, StoreError> {
        let conn = self.read_conn()?;
        const OP: &str = "reading due consent checks";
        let tx = snapshot(&conn, &self.path, OP)?;
        names::due_consent_checks(&tx, corp_id, checked_before_ms, limit)
            .map_err(err(&self.path, OP))
    }

    fn record_consent(
        &self,
        corp_id: &str,
        checked: &[ConsentSubject],
        statuses: &[Consent],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.lock();
        write(&mut conn, &self.path, "recording consent", |tx| {
            names::record_consent(tx, corp_id, checked, statuses, now_ms)
        })
    }
}

fn read_cursor(conn: &Connection, corp_id: &str) -> rusqlite::Result<u64> {
    let seq: Option<i64> = conn
        .prepare_cached("SELECT seq FROM cursors WHERE corp_id = ?1")?
        .query_row([corp_id], |row| row.get(0))
        .optional()?;
    Ok(seq.map_or(0, seq_from_sql))
}

fn read_stats(conn: &Connection, corp_id: &str) -> rusqlite::Result<Stats> {
    let count_of = |sql: &str| -> rusqlite::Result<u64> {
        let n: i64 = conn
            .prepare_cached(sql)?
            .query_row([corp_id], |row| row.get(0))?;
        Ok(count(n))
    };
    let records = count_of("SELECT count(*) FROM records WHERE corp_id = ?1")?;
    // GROUP BY walks the (corp_id, msgid) index in order; count(DISTINCT) would build a temporary
    // b-tree of every msgid instead.
    let distinct_msgids = count_of(
        "SELECT count(*) FROM (SELECT msgid FROM records WHERE corp_id = ?1 GROUP BY msgid)",
    )?;
    let decrypted = count_of("SELECT count(*) FROM messages WHERE corp_id = ?1")?;

    let failed_by_code: BTreeMap<i32, u64> = conn
        .prepare_cached("SELECT code, count(*) FROM failures WHERE corp_id = ?1 GROUP BY code")?
        .query_map([corp_id], |row| Ok((row.get(0)?, count(row.get(1)?))))?
        .collect::<rusqlite::Result<_>>()?;

    let mut by_msgtype: BTreeMap<String, u64> = conn
        .prepare_cached(
            "SELECT msgtype, count(*) FROM messages \
             WHERE corp_id = ?1 AND msgtype IS NOT NULL GROUP BY msgtype",
        )?
        .query_map([corp_id], |row| Ok((row.get(0)?, count(row.get(1)?))))?
        .collect::<rusqlite::Result<_>>()?;
    let mut untyped = conn.prepare_cached(
        "SELECT action = 'switch', count(*) FROM messages \
         WHERE corp_id = ?1 AND msgtype IS NULL GROUP BY 1",
    )?;
    for row in untyped.query_map([corp_id], |row| Ok((row.get::<_, bool>(0)?, row.get(1)?)))? {
        let (switch, n) = row?;
        let key = if switch { "switch" } else { NO_MSGTYPE };
        *by_msgtype.entry(key.to_owned()).or_default() += count(n);
    }

    let by_action = conn
        .prepare_cached("SELECT action, count(*) FROM messages WHERE corp_id = ?1 GROUP BY action")?
        .query_map([corp_id], |row| Ok((row.get(0)?, count(row.get(1)?))))?
        .collect::<rusqlite::Result<_>>()?;

    let (first_msgtime, last_msgtime) = conn
        .prepare_cached(
            "SELECT min(msgtime), max(msgtime) FROM messages WHERE corp_id = ?1 AND msgtime <> 0",
        )?
        .query_row([corp_id], |row| Ok((row.get(0)?, row.get(1)?)))?;

    let conversations = count_of(
        "SELECT count(*) FROM (SELECT conversation FROM messages \
         WHERE corp_id = ?1 AND conversation IS NOT NULL GROUP BY conversation)",
    )?;
    let recalled =
        count_of("SELECT count(*) FROM messages WHERE corp_id = ?1 AND recalled_by IS NOT NULL")?;
    let with_warnings = count_of(
        "SELECT count(*) FROM messages INDEXED BY messages_with_warnings WHERE corp_id = ?1 AND warnings IS NOT NULL",
    )?;

    Ok(Stats {
        records,
        decrypted,
        failed: failed_by_code.values().sum(),
        failed_by_code,
        quarantined_by_kind: conn
            .prepare_cached(
                "SELECT kind, count(*) FROM quarantined_items WHERE corp_id = ?1 GROUP BY kind",
            )?
            .query_map([corp_id], |row| Ok((row.get(0)?, count(row.get(1)?))))?
            .collect::<rusqlite::Result<_>>()?,
        distinct_msgids,
        cursor_seq: read_cursor(conn, corp_id)?,
        by_msgtype,
        by_action,
        first_msgtime,
        last_msgtime,
        conversations,
        recalled,
        with_warnings,
    })
}

/// The corp's change-feed head during one write transaction: positions are handed out in storage
/// order and the head is written back before the commit, in the same transaction.
struct FeedHead {
    last: i64,
    read: i64,
}

impl FeedHead {
    fn read(tx: &Transaction<'_>, path: &Path, corp_id: &str) -> Result<FeedHead, StoreError> {
        let last = read_feed_head(tx, corp_id).map_err(err(path, "reading the feed head"))?;
        Ok(FeedHead { last, read: last })
    }

    fn next_pos(&mut self) -> i64 {
        self.last += 1;
        self.last
    }

    fn write(&self, tx: &Transaction<'_>, path: &Path, corp_id: &str) -> Result<(), StoreError> {
        if self.last == self.read {
            return Ok(());
        }
        tx.prepare_cached(
            "INSERT INTO feed_heads (corp_id, last_pos) VALUES (?1, ?2) \
             ON CONFLICT (corp_id) DO UPDATE SET last_pos = excluded.last_pos",
        )
        .and_then(|mut s| s.execute(params![corp_id, self.last]))
        .map_err(err(path, "moving the feed head"))?;
        Ok(())
    }
}

/// The last feed position handed out for the corp (0 if none).
fn read_feed_head(conn: &Connection, corp_id: &str) -> rusqlite::Result<i64> {
    Ok(conn
        .prepare_cached("SELECT last_pos FROM feed_heads WHERE corp_id = ?1")?
        .query_row([corp_id], |row| row.get(0))
        .optional()?
        .unwrap_or(0))
}

/// The stored position of a follower (0 if none).
fn read_follower_position(
    conn: &Connection,
    corp_id: &str,
    follower: &str,
) -> rusqlite::Result<i64> {
    Ok(conn
        .prepare_cached("SELECT pos FROM follower_positions WHERE corp_id = ?1 AND follower = ?2")?
        .query_row([corp_id, follower], |row| row.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Moves a follower's position forward to `pos` (never backwards: a stale pass that finishes
/// after a newer one cannot make it redo work).
fn write_follower_position(
    tx: &Transaction<'_>,
    corp_id: &str,
    follower: &str,
    pos: u64,
    now_ms: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO follower_positions (corp_id, follower, pos, updated_at_ms) \
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (corp_id, follower) DO UPDATE \
         SET pos = excluded.pos, updated_at_ms = excluded.updated_at_ms \
         WHERE excluded.pos > follower_positions.pos",
    )?
    .execute(params![
        corp_id,
        follower,
        i64::try_from(pos).unwrap_or(i64::MAX),
        now_ms
    ])?;
    Ok(())
}

/// A decrypted message on its way into the `messages` table.
struct NewMessage<'a> {
    corp_id: &'a str,
    /// The record's msgid, which the message is stored under.
    msgid: &'a str,
    seq: i64,
    envelope: &'a Envelope,
    plaintext: &'a [u8],
    derived: &'a Derived,
    /// When it is stored: the creation time of its media jobs.
    now_ms: i64,
}

/// Inserts one decrypted message with its derived columns, linked both ways to the messages already
/// stored in the transaction: marked if its recall came first, marking what it recalls, pointing
/// at what it quotes; and queues a download job per media reference.
fn store_message(
    insert: &mut CachedStatement<'_>,
    links: &mut Links<'_>,
    feed: &mut FeedHead,
    summaries: &mut Summaries<'_>,
    insert_jobs: &mut CachedStatement<'_>,
    path: &Path,
    m: NewMessage<'_>,
) -> Result<(), StoreError> {
    let NewMessage {
        corp_id,
        msgid,
        seq,
        envelope,
        plaintext,
        derived,
        now_ms,
    } = m;
    let NewLinks {
        recalled_by: recalled,
        quote_of,
    } = rules::links_for(links, corp_id, msgid, envelope.msgtime, derived)?;
    let feed_pos = feed.next_pos();
    let tolist = serde_json::Value::from(envelope.tolist.clone()).to_string();
    let quote = derived.quote.as_ref();
    insert
        .execute(params![
            corp_id,
            msgid,
            seq,
            envelope.action.as_str(),
            envelope.from,
            tolist,
            envelope.roomid,
            envelope.msgtime,
            envelope.msgtype,
            envelope.json,
            plaintext,
            derived.conversation,
            derived.is_group,
            derived.external,
            derived.updown_stream,
            derived.recall_of,
            recalled.as_ref().map(|(by, _)| by),
            recalled.as_ref().map(|(_, at)| at),
            quote.map(|q| &q.user),
            quote.map(|q| &q.text),
            quote.map(|q| &q.reply),
            quote_of,
            derived.text,
            warnings_to_sql(&derived.warnings),
            feed_pos,
        ])
        .map_err(err(path, "inserting into messages"))?;
    rules::mark_what_it_recalls(links, corp_id, msgid, envelope.msgtime, derived)?;
    summaries.count(
        corp_id,
        &derived.conversation,
        &envelope.from,
        &envelope.tolist,
        derived.external,
        envelope.msgtime,
    )?;
    // Its media jobs in the same transaction: a stored message never lacks them.
    media::insert_jobs(
        insert_jobs,
        path,
        corp_id,
        msgid,
        envelope.msgtime,
        &derived.media,
        now_ms,
    )
}

/// `usize` limits and offsets as SQL integers (anything beyond `i64::MAX` means "all").
fn sql_int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Warnings as stored: a JSON array of strings, NULL when there are none (so "has warnings" is
/// `warnings IS NOT NULL`, served by a partial index).
fn warnings_to_sql(warnings: &[String]) -> Option<String> {
    (!warnings.is_empty()).then(|| serde_json::Value::from(warnings.to_vec()).to_string())
}

/// The stored form of a seq: the i64 with the same bit pattern (see the module docs).
/// `[a, b]` in u64 order as ranges that each stay on one side of 2^63, so `BETWEEN` over the stored
/// i64 values is an ordered range scan.
fn u64_subranges(a: u64, b: u64) -> Vec<(u64, u64)> {
    const HALF: u64 = 1 << 63;
    if a > b {
        Vec::new()
    } else if a < HALF && b >= HALF {
        vec![(a, HALF - 1), (HALF, b)]
    } else {
        vec![(a, b)]
    }
}

fn seq_to_sql(seq: u64) -> i64 {
    seq as i64
}

fn seq_from_sql(stored: i64) -> u64 {
    stored as u64
}

/// SQL counts are never negative.
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

pub(crate) use wecom_wire::clock::now_ms;

/// Maps a SQLite error to a [`StoreError`] naming the database and what was being done.
/// An I/O error of the file system around the database, with a missing permission or a read-only
/// mount named as such.
fn io_err(path: &Path, op: &'static str, e: &std::io::Error) -> StoreError {
    let cause = e.to_string();
    let path = path.to_owned();
    if crate::lock::is_permission(e) {
        StoreError::PermissionDenied { path, op, cause }
    } else {
        StoreError::Io { path, op, cause }
    }
}

/// SQLite reports a folder it may not write (for its `-wal`/`-shm`) as "unable to open database
/// file": when that folder cannot take a new file, say so.
fn explain_cannot_open(path: &Path, e: StoreError) -> StoreError {
    let StoreError::Io { op, cause, .. } = &e else {
        return e;
    };
    let dir = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => dir.to_owned(),
        None => PathBuf::from("."),
    };
    let probe = dir.join(format!(".wecom-archive-write-test-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            e
        }
        Err(probe_error) if crate::lock::is_permission(&probe_error) => {
            StoreError::PermissionDenied {
                path: dir,
                op,
                cause: format!("{cause}; the folder refuses new files: {probe_error}"),
            }
        }
        Err(_) => e,
    }
}

/// The `file:` URI of `path` for SQLite, optionally immutable (read without any locking or
/// `-shm`, trusting that nobody changes the file).
fn uri(path: &Path, immutable: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("file:");
    for &b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/._-~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    if immutable {
        out.push_str("?immutable=1");
    }
    out
}

/// The schema version of an archive, read without writing anything.
fn read_schema(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    const OP: &str = "reading the schema version";
    let app_id: i64 = conn
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(err(path, OP))?;
    if app_id == 0 {
        // A file the first writer has not set up yet (or an empty one): nothing to read.
        return Ok(0);
    }
    if app_id != migrate::APPLICATION_ID {
        return Err(StoreError::Corrupt {
            path: path.to_owned(),
            op: OP,
            cause: format!("its application_id {app_id:#x} is not an archive's"),
        });
    }
    conn.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_migrations",
        [],
        |row| row.get(0),
    )
    .map_err(err(path, OP))
}

/// The store logs nothing else; this one warning is printed on stderr for the operator.
fn warn_wal_unread(path: &Path) {
    eprintln!(
        "warning: {} is read as it is on disk: its write-ahead log ({}-wal) cannot be used from          here (read-only folder), so records its writer stored since its last checkpoint are not          shown; open it once with a writing command where it is writable to fold them in",
        path.display(),
        path.display()
    );
}

pub(crate) fn err(path: &Path, op: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |e| {
        let cause = e.to_string();
        let path = path.to_owned();
        let code = match &e {
            rusqlite::Error::SqliteFailure(f, _) => Some(f.code),
            // A stored value this build cannot read (wrong type or out of range) is damage.
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::Utf8Error(..) => Some(ErrorCode::DatabaseCorrupt),
            _ => None,
        };
        match code {
            Some(ErrorCode::ConstraintViolation) => StoreError::Conflict { op, cause },
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                StoreError::Busy { path, op, cause }
            }
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
                StoreError::Corrupt { path, op, cause }
            }
            Some(ErrorCode::DiskFull) => StoreError::DiskFull { path, op, cause },
            Some(ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
                StoreError::PermissionDenied { path, op, cause }
            }
            Some(
                ErrorCode::SystemIoFailure
                | ErrorCode::CannotOpen
                | ErrorCode::NoLargeFileSupport
                | ErrorCode::FileLockingProtocolFailed,
            ) => StoreError::Io { path, op, cause },
            _ => StoreError::Backend { op, cause },
        }
    }
}
