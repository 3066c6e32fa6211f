//! The PostgreSQL backend: every store role on one PostgreSQL database (or one schema of it), for
//! archives that outgrow one SQLite file and one process. Several nodes may open the same archive:
//! each corp's page commits are fenced by the corp's lease (see [`PgStore::acquire_lease`]), media
//! claims carry the claiming node and a deadline, and everything else is plain transactions.
//!
//! Connections come from a small pool (r2d2) of blocking clients (the `postgres` crate, over
//! tokio-postgres on a runtime of its own per connection), so the store's calls block as the traits
//! say and must run off the async runtime (`crate::blocking`). Writes run in READ COMMITTED
//! transactions that lock the rows they depend on (the feed head, the lease); a serialization
//! failure or a deadlock is retried. Reads run in REPEATABLE READ, READ ONLY transactions: one
//! snapshot per call, as SQLite's readers have.
//!
//! Migrations (`migrations/NNNN_*.sql`) are applied when the store is opened for writing, each in
//! the transaction that records it, under a transaction-scoped advisory lock, so several nodes
//! starting at once migrate once and a failure leaves the schema as it was.

mod accounts;
mod commit;
mod lease;
mod media;
mod names;
mod read;
mod writer;

#[cfg(test)]
pub(crate) mod tests;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use postgres::config::SslMode;
use postgres::error::SqlState;
use postgres::{Client, IsolationLevel, Transaction};
use r2d2_postgres::PostgresConnectionManager;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::StoreError;

pub use lease::{Lease, LeaseHolder};

type Manager = PostgresConnectionManager<MakeRustlsConnect>;
type Pooled = r2d2::PooledConnection<Manager>;

/// The migrations, in order: (version, name, SQL).
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] =
    &[(1, "archive", include_str!("migrations/0001_archive.sql"))];

/// The newest schema version this build knows.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// The table recording which migrations were applied.
const SCHEMA_TABLE: &str = "wecom_archive_schema";

/// The key of the advisory lock migrations run under ("wecom-ar" in ASCII).
const MIGRATION_LOCK: i64 = 0x7765_636f_6d2d_6172;

/// How many times a write is tried when PostgreSQL aborts it for a serialization failure or a
/// deadlock (nothing of it was committed).
const WRITE_ATTEMPTS: u32 = 5;

/// Where a PostgreSQL archive lives and how to reach it. `Debug` and `Display` never show the
/// password.
#[derive(Clone, PartialEq, Eq)]
pub struct PgOptions {
    /// `postgres://user@host:5432/database?sslmode=…` (a key=value string works too). A password
    /// in the URL is accepted but better kept in [`PgOptions::password`].
    ///
    /// TLS (rustls) follows `sslmode`: `require` always speaks TLS and verifies the server's
    /// certificate, against the system's roots and [`PgOptions::ca_file`], and its host name;
    /// `prefer` asks for TLS, verified the same way, and speaks plain only when the server does not
    /// offer TLS (a certificate that fails verification is refused, never skipped); `disable`
    /// speaks plain. A URL without `sslmode` speaks plain, as `disable` (unlike libpq, whose
    /// `prefer` default would accept any certificate): set `sslmode=require` for a database
    /// reached over a network.
    pub url: String,
    /// The password, when it is not in the URL (the daemon reads it from the environment).
    pub password: Option<String>,
    /// The schema holding the archive's tables (created when missing); `None`: the user's default
    /// (`public`). Several archives can share one database in schemas of their own.
    pub schema: Option<String>,
    /// This node's name in leases and media claims: unique per running process.
    pub node: String,
    /// Connections at most in this store's pool.
    pub pool_size: u32,
    /// A PEM file of one or more CA certificates trusted for the server's certificate, besides
    /// the system's roots (a managed database's own CA, or a self-signed server certificate).
    pub ca_file: Option<PathBuf>,
}

impl PgOptions {
    /// Options for `url` with the defaults: the default schema, a node name from the host name and
    /// process id, 8 connections.
    pub fn new(url: impl Into<String>) -> PgOptions {
        PgOptions {
            url: url.into(),
            password: None,
            schema: None,
            node: default_node_name(),
            pool_size: 8,
            ca_file: None,
        }
    }

    /// The database as shown to people: host, port, database, user and schema, never a password.
    pub fn target(&self) -> String {
        let schema = self
            .schema
            .as_deref()
            .map(|s| format!(" (schema {s})"))
            .unwrap_or_default();
        match self.url.parse::<postgres::Config>() {
            Ok(config) => {
                let hosts: Vec<String> = config
                    .get_hosts()
                    .iter()
                    .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
                    .map(|(host, port)| match host {
                        postgres::config::Host::Tcp(h) => format!("{h}:{port}"),
                        postgres::config::Host::Unix(p) => format!("{}:{port}", p.display()),
                    })
                    .collect();
                let user = config.get_user().unwrap_or("");
                let db = config.get_dbname().unwrap_or(user);
                format!("postgres://{user}@{}/{db}{schema}", hosts.join(","))
            }
            Err(_) => format!("postgres://(unreadable URL){schema}"),
        }
    }
}

impl fmt::Debug for PgOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgOptions")
            .field("target", &self.target())
            .field("password", &self.password.as_ref().map(|_| "(set)"))
            .field("node", &self.node)
            .field("pool_size", &self.pool_size)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl fmt::Display for PgOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.target())
    }
}

/// `<host name>-<pid>`: unique among running processes on a network.
pub fn default_node_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".to_owned());
    format!("{host}-{}", std::process::id())
}

/// What to do when the server's certificate is not trusted.
const TLS_FIX: &str = "set [archive] ca_file to the CA certificate (PEM) that signed the server's \
                       certificate, or check the host name in [archive] url (it must be a name \
                       the certificate was issued to)";

/// Whether `e` is a refusal of the server's certificate (rustls, possibly inside an I/O error).
fn is_tls_refusal(e: &(dyn std::error::Error + 'static)) -> bool {
    let rustls_error = e.downcast_ref::<rustls::Error>().or_else(|| {
        e.downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    });
    match rustls_error {
        Some(rustls::Error::InvalidCertificate(_)) => true,
        Some(_) => false,
        None => e.to_string().contains("certificate"),
    }
}

/// The TLS connector for connections in `mode`: rustls with the aws-lc-rs provider, trusting the
/// system's roots and the certificates of `ca_file`. Roots are loaded only when TLS may be spoken;
/// `ca_file`, when set, is always read, so that a wrong path is reported at once.
fn tls_connector(
    mode: SslMode,
    ca_file: Option<&std::path::Path>,
) -> Result<MakeRustlsConnect, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(path) = ca_file {
        for cert in read_ca_file(path)? {
            roots
                .add(cert)
                .map_err(|e| ca_file_error(path, &format!("a certificate is not usable: {e}")))?;
        }
    }
    if mode != SslMode::Disable {
        // Certificates the system store holds but rustls cannot use are skipped.
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::InvalidInput {
            op: "setting up TLS to the database",
            cause: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// The certificates of the PEM file `path` (at least one).
fn read_ca_file(
    path: &std::path::Path,
) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, StoreError> {
    use rustls_pki_types::pem::PemObject as _;
    let pem = std::fs::read(path).map_err(|e| ca_file_error(path, &e.to_string()))?;
    let certs: Vec<_> = rustls_pki_types::CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| ca_file_error(path, &format!("it is not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(ca_file_error(path, "it holds no PEM certificate"));
    }
    Ok(certs)
}

fn ca_file_error(path: &std::path::Path, cause: &str) -> StoreError {
    StoreError::InvalidInput {
        op: "reading [archive] ca_file",
        cause: format!(
            "{}: {cause}; set [archive] ca_file to a readable PEM file of the CA certificate(s) \
             that signed the database server's certificate",
            path.display()
        ),
    }
}

/// Sets the schema on every new connection of the pool.
#[derive(Debug)]
struct OnConnect {
    schema: Option<String>,
}

impl r2d2::CustomizeConnection<Client, postgres::Error> for OnConnect {
    fn on_acquire(&self, client: &mut Client) -> Result<(), postgres::Error> {
        if let Some(schema) = &self.schema {
            client.batch_execute(&format!("SET search_path TO {}", quote_ident(schema)))?;
        }
        Ok(())
    }
}

/// The PostgreSQL archive: every role of the store on one pool of connections. Open it with
/// [`PgStore::open`] (creating and migrating the schema) or [`PgStore::open_read_only`].
pub struct PgStore {
    pool: r2d2::Pool<Manager>,
    /// How to connect (for connections outside the pool: LISTEN).
    config: postgres::Config,
    /// The TLS connector of every connection.
    tls: MakeRustlsConnect,
    schema: Option<String>,
    target: String,
    node: String,
    /// The lease tokens this store holds, by corp: page commits of a corp check theirs.
    fences: Mutex<HashMap<String, i64>>,
    /// Whether page commits must hold their corp's lease (set once any lease was taken: a store
    /// opened by a single-node command commits without one).
    fenced: std::sync::atomic::AtomicBool,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the archive database, creates the schema when missing and migrates it to the
    /// newest version (once, whatever number of nodes start together). Refuses, naming the problem
    /// and its fix: an unreachable server, a refused login, a missing database, a read-only
    /// server (a replica), a schema holding another application's tables, a schema written by a
    /// newer build.
    pub fn open(options: &PgOptions) -> Result<PgStore, StoreError> {
        let store = PgStore::connect(options)?;
        store.migrate(options.schema.as_deref())?;
        Ok(store)
    }

    /// Connects to an existing archive to read it (a replica serves): nothing is created or
    /// migrated. An archive of another version is refused ([`StoreError::SchemaTooOld`] names
    /// the fix).
    pub fn open_read_only(options: &PgOptions) -> Result<PgStore, StoreError> {
        let store = PgStore::connect(options)?;
        let mut conn = store.conn("opening read-only")?;
        let version = store.schema_version(&mut conn, "opening read-only")?;
        let known = latest_version();
        match version {
            None => Err(StoreError::Foreign {
                target: store.target.clone(),
                cause: format!("it has no wecom-archive schema (no table {SCHEMA_TABLE})"),
            }),
            Some(found) if found > known => Err(StoreError::SchemaTooNew {
                path: PathBuf::from(&store.target),
                found,
                known,
            }),
            Some(found) if found < known => Err(StoreError::SchemaTooOld {
                path: PathBuf::from(&store.target),
                found,
                known,
            }),
            Some(_) => {
                drop(conn);
                Ok(store)
            }
        }
    }

    fn connect(options: &PgOptions) -> Result<PgStore, StoreError> {
        let mut config: postgres::Config =
            options
                .url
                .parse()
                .map_err(|e: postgres::Error| StoreError::InvalidInput {
                    op: "reading the PostgreSQL URL",
                    cause: format!(
                        "{e}; write it as postgres://user@host:5432/database (the password \
                         belongs in the environment)"
                    ),
                })?;
        if let Some(password) = &options.password {
            config.password(password);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("wecom-archive");
        }
        if let Some(schema) = &options.schema {
            validate_schema_name(schema)?;
        }
        if config.get_ssl_mode() == SslMode::Prefer && !options.url.contains("sslmode") {
            // No sslmode in the URL: plain, as documented on `PgOptions::url`.
            config.ssl_mode(SslMode::Disable);
        }
        let tls = tls_connector(config.get_ssl_mode(), options.ca_file.as_deref())?;
        let target = options.target();
        // One connection first, so that a refusal is reported as what it is, at once.
        let first = config
            .connect(tls.clone())
            .map_err(|e| pg_error(&target, "connecting", &e))?;
        drop(first.close());
        let manager = PostgresConnectionManager::new(config.clone(), tls.clone());
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size.max(2))
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(30))
            .connection_customizer(Box::new(OnConnect {
                schema: options.schema.clone(),
            }))
            .build_unchecked(manager);
        Ok(PgStore {
            pool,
            config,
            tls,
            schema: options.schema.clone(),
            target,
            node: options.node.clone(),
            fences: Mutex::new(HashMap::new()),
            fenced: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Removes the schema of `options` and everything in it (benchmarks and tests clean up with
    /// it). Refuses without a schema: the default schema is never dropped.
    pub fn drop_schema(options: &PgOptions) -> Result<(), StoreError> {
        let Some(schema) = options.schema.as_deref() else {
            return Err(StoreError::InvalidInput {
                op: "dropping a schema",
                cause: "no schema is set; the default schema is never dropped".to_owned(),
            });
        };
        validate_schema_name(schema)?;
        let store = PgStore::connect(options)?;
        let mut conn = store.conn("dropping a schema")?;
        conn.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {} CASCADE",
            quote_ident(schema)
        ))
        .map_err(|e| store.error("dropping a schema", &e))
    }

    /// The database as shown to people (never a password).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// This node's name in leases and media claims.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The archive by role, all on this store: what [`crate::open`] returns.
    pub fn roles(self: Arc<Self>) -> crate::Roles {
        crate::Roles {
            writer: Arc::clone(&self) as Arc<dyn crate::ArchiveWriter>,
            reader: Arc::clone(&self) as Arc<dyn crate::ArchiveReader>,
            media: Arc::clone(&self) as Arc<dyn crate::MediaQueue>,
            directory: Arc::clone(&self) as Arc<dyn crate::Directory>,
            accounts: Arc::clone(&self) as Arc<dyn crate::Accounts>,
            audit: Arc::clone(&self) as Arc<dyn crate::AuditLog>,
            cluster: Some(self as Arc<dyn crate::Cluster>),
        }
    }

    /// A connection from the pool (a new one when none is idle and the pool is not full).
    pub(crate) fn conn(&self, op: &'static str) -> Result<Pooled, StoreError> {
        self.pool.get().map_err(|e| StoreError::Unavailable {
            target: self.target.clone(),
            op,
            cause: e.to_string(),
        })
    }

    /// Runs `f` in one READ COMMITTED transaction and commits it; retried (from the start) when
    /// PostgreSQL aborted it for a serialization failure or a deadlock. `f` must lock what it
    /// reads and then writes (`SELECT … FOR UPDATE`).
    pub(crate) fn write<T>(
        &self,
        op: &'static str,
        mut f: impl FnMut(&mut Transaction<'_>) -> Result<T, TxError>,
    ) -> Result<T, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut conn = self.conn(op)?;
            let result = (|| {
                let mut tx = conn.transaction()?;
                let value = f(&mut tx)?;
                tx.commit()?;
                Ok(value)
            })();
            match result {
                Ok(value) => return Ok(value),
                Err(TxError::Pg(e)) if attempt < WRITE_ATTEMPTS && is_retryable(&e) => continue,
                Err(TxError::Pg(e)) => return Err(pg_error(&self.target, op, &e)),
                Err(TxError::Store(e)) => return Err(e),
            }
        }
    }

    /// Runs `f` in one REPEATABLE READ, READ ONLY transaction: everything it reads is one
    /// snapshot.
    pub(crate) fn read<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<T, TxError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn(op)?;
        let result = (|| {
            let mut tx = conn
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let value = f(&mut tx)?;
            tx.commit()?;
            Ok(value)
        })();
        result.map_err(|e| match e {
            TxError::Pg(e) => pg_error(&self.target, op, &e),
            TxError::Store(e) => e,
        })
    }

    /// Maps a driver error of `op` to a [`StoreError`] naming this database.
    pub(crate) fn error(&self, op: &'static str, e: &postgres::Error) -> StoreError {
        pg_error(&self.target, op, e)
    }

    fn fences(&self) -> MutexGuard<'_, HashMap<String, i64>> {
        self.fences.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The schema version recorded in the database; `None` when it has no schema table.
    fn schema_version(
        &self,
        conn: &mut Client,
        op: &'static str,
    ) -> Result<Option<i64>, StoreError> {
        let exists: bool = conn
            .query_one(
                "SELECT to_regclass(quote_ident(current_schema()) || '.' || $1) IS NOT NULL",
                &[&SCHEMA_TABLE],
            )
            .and_then(|row| row.try_get(0))
            .map_err(|e| self.error(op, &e))?;
        if !exists {
            return Ok(None);
        }
        let version: Option<i64> = conn
            .query_one(&format!("SELECT max(version) FROM {SCHEMA_TABLE}"), &[])
            .and_then(|row| row.try_get(0))
            .map_err(|e| self.error(op, &e))?;
        Ok(Some(version.unwrap_or(0)))
    }

    /// Creates the schema when missing and applies every migration not applied yet, each in the
    /// transaction that records it, under the migration lock.
    fn migrate(&self, schema: Option<&str>) -> Result<(), StoreError> {
        const OP: &str = "migrating the archive schema";
        let mut conn = self.conn(OP)?;
        let read_only: String = conn
            .query_one("SHOW transaction_read_only", &[])
            .and_then(|row| row.try_get(0))
            .map_err(|e| self.error(OP, &e))?;
        if read_only == "on" {
            return Err(StoreError::Refused {
                target: self.target.clone(),
                op: OP,
                cause: "the server accepts no writes (a read-only replica, or \
                        default_transaction_read_only is on)"
                    .to_owned(),
                fix: "point [archive] url at the primary server; a replica serves only reading \
                      commands",
            });
        }
        let known = latest_version();
        let target = self.target.clone();
        let result = (|| -> Result<(), TxError> {
            let mut tx = conn.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
            if let Some(schema) = schema {
                tx.batch_execute(&format!(
                    "CREATE SCHEMA IF NOT EXISTS {}",
                    quote_ident(schema)
                ))?;
            }
            let current_schema: Option<String> =
                tx.query_one("SELECT current_schema()", &[])?.try_get(0)?;
            let Some(current_schema) = current_schema else {
                return Err(StoreError::Refused {
                    target: target.clone(),
                    op: OP,
                    cause: "no schema is current (the search_path names none that exists)"
                        .to_owned(),
                    fix: "set [archive] schema, or create the user's schema",
                }
                .into());
            };
            let has_table: bool = tx
                .query_one(
                    "SELECT to_regclass(quote_ident(current_schema()) || '.' || $1) IS NOT NULL",
                    &[&SCHEMA_TABLE],
                )?
                .try_get(0)?;
            if !has_table {
                let others: Vec<String> = tx
                    .query(
                        "SELECT table_name::text FROM information_schema.tables \
                         WHERE table_schema = current_schema() ORDER BY table_name LIMIT 5",
                        &[],
                    )?
                    .iter()
                    .map(|row| row.try_get(0))
                    .collect::<Result<_, _>>()?;
                if !others.is_empty() {
                    return Err(StoreError::Foreign {
                        target: target.clone(),
                        cause: format!(
                            "schema {current_schema} holds tables of another application ({}…) \
                             and no wecom-archive schema table",
                            others.join(", ")
                        ),
                    }
                    .into());
                }
                tx.batch_execute(&format!(
                    "CREATE TABLE {SCHEMA_TABLE} (\
                         version    BIGINT      PRIMARY KEY,\
                         name       TEXT        NOT NULL,\
                         applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                ))?;
            }
            let found: Option<i64> = tx
                .query_one(&format!("SELECT max(version) FROM {SCHEMA_TABLE}"), &[])?
                .try_get(0)?;
            let found = found.unwrap_or(0);
            if found > known {
                return Err(StoreError::SchemaTooNew {
                    path: PathBuf::from(&target),
                    found,
                    known,
                }
                .into());
            }
            for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
                tx.batch_execute(sql)?;
                tx.execute(
                    &format!("INSERT INTO {SCHEMA_TABLE} (version, name) VALUES ($1, $2)"),
                    &[version, name],
                )?;
            }
            tx.commit()?;
            Ok(())
        })();
        result.map_err(|e| match e {
            TxError::Pg(e) => self.error(OP, &e),
            TxError::Store(e) => e,
        })
    }
}

/// An error inside a transaction: the driver's, or one the store raises itself.
#[derive(Debug)]
pub(crate) enum TxError {
    Pg(postgres::Error),
    Store(StoreError),
}

impl From<postgres::Error> for TxError {
    fn from(e: postgres::Error) -> TxError {
        TxError::Pg(e)
    }
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> TxError {
        TxError::Store(e)
    }
}

fn is_retryable(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    )
}

/// Maps a driver error to a [`StoreError`] whose message names the database, the problem and,
/// where there is one, the fix.
pub(crate) fn pg_error(target: &str, op: &'static str, e: &postgres::Error) -> StoreError {
    let Some(db) = e.as_db_error() else {
        // No answer from the server: it cannot be reached, the connection broke, or TLS failed.
        let mut cause = e.to_string();
        let mut tls_refused = false;
        let mut source = std::error::Error::source(e);
        while let Some(inner) = source {
            cause = format!("{cause}: {inner}");
            tls_refused |= is_tls_refusal(inner);
            source = inner.source();
        }
        if tls_refused {
            return StoreError::Refused {
                target: target.to_owned(),
                op,
                cause,
                fix: TLS_FIX,
            };
        }
        return StoreError::Unavailable {
            target: target.to_owned(),
            op,
            cause,
        };
    };
    let cause = format!("{} ({})", db.message(), db.code().code());
    let code = db.code();
    let refused = |fix: &'static str| StoreError::Refused {
        target: target.to_owned(),
        op,
        cause: cause.clone(),
        fix,
    };
    if *code == SqlState::INVALID_PASSWORD || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
    {
        refused(
            "check the user in [archive] url and set its password in WECOM_ARCHIVE_DB_PASSWORD \
             (or PGPASSWORD)",
        )
    } else if *code == SqlState::INVALID_CATALOG_NAME {
        refused("create the database (createdb) or fix its name in [archive] url")
    } else if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
        refused("point [archive] url at the primary server; a replica serves only reading commands")
    } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
        refused("grant the user the rights to create and write tables in the archive's schema")
    } else if *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
        || *code == SqlState::LOCK_NOT_AVAILABLE
    {
        StoreError::Busy {
            path: PathBuf::from(target),
            op,
            cause,
        }
    } else if *code == SqlState::DISK_FULL {
        StoreError::DiskFull {
            path: PathBuf::from(target),
            op,
            cause,
        }
    } else if code.code().starts_with("08")
        || code.code().starts_with("57P")
        || *code == SqlState::TOO_MANY_CONNECTIONS
    {
        StoreError::Unavailable {
            target: target.to_owned(),
            op,
            cause,
        }
    } else if code.code().starts_with("23") || *code == SqlState::RAISE_EXCEPTION {
        StoreError::Conflict { op, cause }
    } else {
        StoreError::Backend { op, cause }
    }
}

/// Schema names are plain identifiers: letters, digits and `_`, not starting with a digit, at most
/// 63 bytes (PostgreSQL's limit).
fn validate_schema_name(schema: &str) -> Result<(), StoreError> {
    let ok = !schema.is_empty()
        && schema.len() <= 63
        && schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !schema.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidInput {
            op: "reading [archive] schema",
            cause: format!(
                "{schema:?} is not a plain schema name: use letters, digits and _ (at most 63)"
            ),
        })
    }
}

/// `name` quoted as an SQL identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A seq as stored: its i64 bits (seqs above 2^63 are never committed by the cursor rules, but a
/// quarantined item may carry one).
pub(crate) fn seq_to_sql(seq: u64) -> i64 {
    i64::from_ne_bytes(seq.to_ne_bytes())
}

/// A stored seq back.
pub(crate) fn seq_from_sql(stored: i64) -> u64 {
    u64::from_ne_bytes(stored.to_ne_bytes())
}

/// Text as PostgreSQL can store it: a NUL (which it refuses in text) becomes U+2400 ␀. Used for
/// every text column whose value comes from WeCom; the exact bytes stay in BYTEA columns.
pub(crate) fn pg_text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') {
        std::borrow::Cow::Owned(s.replace('\0', "\u{2400}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}
