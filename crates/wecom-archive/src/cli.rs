//! The command line: every command and flag, with help text.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Archives WeCom 会话内容存档 (chat archive) data: pulls every record, decrypts it without the
/// vendor library, and keeps it in a crash-safe local archive.
#[derive(Debug, Parser)]
#[command(name = "wecom-archive", version)]
pub struct Cli {
    /// Configuration file.
    #[arg(
        long,
        short,
        global = true,
        env = "WECOM_ARCHIVE_CONFIG",
        default_value = "wecom-archive.toml"
    )]
    pub config: PathBuf,

    /// The corp to work on, when several are configured (default: all for `sync`, else the only one).
    #[arg(long, global = true, env = "WECOM_ARCHIVE_CORP")]
    pub corp: Option<String>,

    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Log filter (e.g. `info`, `wecom_sync=debug`); RUST_LOG works too.
    #[arg(long, global = true, env = "WECOM_ARCHIVE_LOG", default_value = "warn")]
    pub log: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a key pair and a commented configuration for a real corp.
    Init(InitArgs),
    /// Manage the RSA private keys, one per `publickey_ver`.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Pull new records until caught up (or keep following with --follow).
    Sync(SyncArgs),
    /// The daemon: every configured corp kept in sync (callbacks + polling), with /metrics.
    Run(RunArgs),
    /// Retry every record that failed to decrypt or parse, with the current keys.
    Redecrypt,
    /// Counts of the archive: records, decrypted, failures by code, cursor, types.
    Stats(StatsArgs),
    /// Conversations in the archive, and their messages in time order.
    #[command(subcommand)]
    Conversations(ConversationsCommand),
    /// Rooms (group chats) with their names, members and name history.
    #[command(subcommand)]
    Rooms(RoomsCommand),
    /// People and robots with their names, archive scope and consent.
    #[command(subcommand)]
    People(PeopleCommand),
    /// Ask WeCom for names now: `names refresh` re-checks rooms and people without a name
    /// (after adding a secret); `--all` also re-checks the named ones (to catch renames now).
    #[command(subcommand)]
    Names(NamesCommand),
    /// Full-text search of the messages: every message containing the words (exact substrings,
    /// Chinese included), best first or newest first.
    Search(SearchArgs),
    /// The search index: `status`, and `rebuild` it from the archive.
    #[command(subcommand)]
    Index(IndexCommand),
    /// Media jobs: `status` and `retry`.
    #[command(subcommand)]
    Media(MediaCommand),
    /// The sync cursor (the last archived seq): `show` it with what lies around it, or `set` it
    /// by hand to recover from a server's implausible answer.
    #[command(subcommand)]
    Cursor(CursorCommand),
    /// Check the setup step by step (keys, archive, proxy, library, token, first request).
    Doctor(SourceArgs),
    /// Run the WeCom emulator standalone.
    Emulator(EmulatorArgs),
    /// Decrypt one record by hand and say exactly which step fails.
    Decrypt(DecryptArgs),
    /// Run the whole pipeline against an in-process emulator and print a summary.
    Demo(DemoArgs),
    /// Benchmarks that print their figures.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Accounts of the HTTP API (kept in the first configured corp's archive): `add`, `list`,
    /// `disable`, `enable`, `passwd`. Passwords are read from stdin; there is no default one.
    #[command(subcommand)]
    User(UserCommand),
    /// The access audit log: `list` its entries, `verify` its hash chain (exit 5 naming the
    /// first broken entry).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Copy the archive to PostgreSQL (and its media to S3), resumably, then verify every table.
    ///
    /// The source is only read, so a first pass can run beside the running daemon; then stop the
    /// daemon and run the same command again: it copies only what was added or changed since
    /// (and resumes a pass that was interrupted), and its verification must then show every
    /// table equal. The password comes from WECOM_ARCHIVE_DB_PASSWORD (or PGPASSWORD), never
    /// from the command line. Exit 0 when every table matches, 1 otherwise.
    Migrate(MigrateArgs),
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Folder to write the configuration and keys into.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// The corp id (企业ID), if known already.
    #[arg(long)]
    pub corp_id: Option<String>,
    /// The key version the admin console will assign to the public key.
    #[arg(long, default_value_t = 1)]
    pub key_version: u32,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the private keys the archive can use.
    List,
    /// Add a private key (PEM, PKCS#1 or PKCS#8) for a key version.
    Add {
        /// The `publickey_ver` this key decrypts.
        #[arg(long)]
        version: u32,
        /// The PEM file.
        #[arg(long)]
        file: PathBuf,
    },
}

/// Where records come from, for this run only.
#[derive(Debug, Clone, clap::Args)]
pub struct SourceArgs {
    /// `native` (our client) or `sdk` (the vendor library); overrides each corp's `source`.
    #[arg(long)]
    pub source: Option<wecom_daemon::config::SourceKind>,
    /// Path of libWeWorkFinanceSdk_C.so for `--source sdk`.
    #[arg(long)]
    pub sdk_library: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Keep polling after catching up.
    #[arg(long)]
    pub follow: bool,
    /// Seconds between polls with --follow (overrides the configuration).
    #[arg(long)]
    pub interval: Option<u64>,
    /// Records per request, 1..=1000 (overrides the configuration).
    #[arg(long)]
    pub limit: Option<u32>,
    /// Do not download media this time (jobs stay queued).
    #[arg(long)]
    pub no_media: bool,
    /// Do not ask WeCom for room and people names this time (new ids stay unnamed until later).
    #[arg(long)]
    pub no_names: bool,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Address of the HTTP server (overrides [server] listen); port 0 picks a free one.
    #[arg(long)]
    pub listen: Option<String>,
    /// Seconds between reconciliation polls per corp (overrides [sync] poll_interval_secs).
    #[arg(long)]
    pub poll_interval: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum CursorCommand {
    /// The cursor, the largest archived seq, and the quarantined items around them.
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Set the cursor: the next sync fetches the records after `--seq`. Moving it backwards past
    /// archived records (they would be fetched again) needs `--force`; moving it forward skips
    /// whatever the server holds in between, which is said before it is done.
    Set {
        #[arg(long)]
        seq: u64,
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MediaCommand {
    /// Jobs by state, the oldest pending one, bytes stored, and why jobs failed.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Make failed-but-retryable jobs due now; with --failed also revive permanently failed ones.
    Retry {
        #[arg(long)]
        failed: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The PostgreSQL database: postgres://user@host:5432/database (no password in it).
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// The schema to hold the archive (created when missing; default: the user's default).
    #[arg(long)]
    pub schema: Option<String>,
    /// The SQLite archive to copy (default: the configured corp's archive).
    #[arg(long, value_name = "ARCHIVE.DB")]
    pub from: Option<PathBuf>,
    /// Rows per transaction.
    #[arg(long, default_value_t = 5000)]
    pub batch_rows: usize,
    /// Start a new pass instead of resuming an interrupted one.
    #[arg(long)]
    pub restart: bool,
    /// Also copy every media object (and the quarantine) from the configured media directory to
    /// this bucket: s3://bucket/prefix[?endpoint=…&region=…]. Credentials from
    /// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; objects already there are skipped.
    #[arg(long, value_name = "S3_URL")]
    pub media_to: Option<String>,
    /// The S3 endpoint (default: the URL's `endpoint`, else https://s3.<region>.amazonaws.com).
    #[arg(long)]
    pub s3_endpoint: Option<String>,
    /// The S3 region (default: the URL's `region`, else us-east-1).
    #[arg(long)]
    pub s3_region: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Words that must all occur (any substring; case and full-width letters are folded),
    /// "a quoted phrase", -word to exclude, and the filters from:ID room:ID type:T
    /// after:YYYY-MM-DD before:YYYY-MM-DD. A query starting with `-` goes last, after `--`
    /// (`search --json -- -退款 保单`).
    pub query: String,
    /// Only this conversation (its key, as `conversations list` prints it).
    #[arg(long, value_name = "KEY")]
    pub conversation: Option<String>,
    /// Only messages this id sent or received.
    #[arg(long, value_name = "ID")]
    pub participant: Option<String>,
    /// Only messages this id sent.
    #[arg(long, value_name = "ID")]
    pub from: Option<String>,
    /// Only messages of this room.
    #[arg(long, value_name = "ROOMID")]
    pub room: Option<String>,
    /// Only messages of this type (text, image, file, …); repeated: any of them.
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Only messages with external contacts.
    #[arg(long, conflicts_with = "internal")]
    pub external: bool,
    /// Only messages without external contacts.
    #[arg(long)]
    pub internal: bool,
    /// Only messages with a media object (image, voice, video, file, …).
    #[arg(long)]
    pub has_media: bool,
    /// Only messages that were recalled.
    #[arg(long)]
    pub recalled: bool,
    /// Messages from this day on (YYYY-MM-DD, China time).
    #[arg(long, value_name = "DATE", value_parser = china_day)]
    pub since: Option<i64>,
    /// Messages up to and including this day (YYYY-MM-DD, China time).
    #[arg(long, value_name = "DATE", value_parser = china_day)]
    pub until: Option<i64>,
    /// Best matches first, or newest first.
    #[arg(long, value_enum, default_value_t = SearchSort::Relevance)]
    pub sort: SearchSort,
    /// Hits per page, 1..=1000 (default 20; with --all, pages of 1000).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub limit: Option<u64>,
    /// Continue where the previous page ended (its cursor is printed after it).
    #[arg(long, conflicts_with = "all")]
    pub cursor: Option<String>,
    /// Every hit, page after page.
    #[arg(long)]
    pub all: bool,
    /// One JSON object per hit and line.
    #[arg(long)]
    pub json: bool,
}

/// The order of search hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SearchSort {
    /// Best matches first (BM25), newest first among equals.
    Relevance,
    /// Newest first.
    Time,
}

/// Midnight (China time) of a `YYYY-MM-DD` day, as Unix ms.
fn china_day(s: &str) -> Result<i64, String> {
    wecom_search::query::china_midnight_ms(s)
        .ok_or_else(|| format!("`{s}` is not a date: write YYYY-MM-DD (China time)"))
}

#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Messages indexed, the index's change-feed position against the archive's head, the lag and
    /// the size on disk.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Recreate the index from the archive (a damaged or outdated one too). Takes the archive's
    /// writer lock: stop `run` first.
    Rebuild,
}

#[derive(Debug, Subcommand)]
pub enum ConversationsCommand {
    /// Conversations by most recent activity: group chats by room, one-to-one chats by the pair.
    List {
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
        #[arg(long)]
        json: bool,
    },
    /// One conversation's messages in time order, a page at a time.
    Show {
        /// The conversation key, as `conversations list` prints it (e.g. `room:wr…` or `pair:a|b`).
        key: String,
        /// Continue after this `MSGTIME:SEQ` (printed at the end of the previous page).
        #[arg(long)]
        after: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RoomsCommand {
    /// Every room: named ones by name, then the others (with why they have no name).
    List {
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
        #[arg(long)]
        json: bool,
    },
    /// One room: kind, owner, notice, members with their names, earlier names, consent.
    Show {
        roomid: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum NamesCommand {
    /// Make unnamed (or, with --all, every) room and person due now and run one resolution pass.
    Refresh {
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PeopleCommand {
    /// Every person and robot: named ones by name, then the others.
    List {
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
        #[arg(long)]
        json: bool,
    },
    /// One person: name, kind, corp, whether they are in the archive scope, consent.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct EmulatorArgs {
    /// Address to listen on (loopback).
    #[arg(long, default_value = "127.0.0.1:8700")]
    pub listen: SocketAddr,
    /// Address of the CONNECT proxy through which the vendor library reaches the emulator.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub proxy_listen: SocketAddr,
    /// Corpus seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Messages in the initial corpus.
    #[arg(long, default_value_t = 5000)]
    pub messages: usize,
    /// Keep appending messages at this rate (messages per second).
    #[arg(long)]
    pub live: Option<f64>,
    /// Records after this seq are encrypted with key version 2.
    #[arg(long)]
    pub rotate_at: Option<u64>,
    /// Write a client configuration (and the generated private keys beside it) to this path.
    #[arg(long)]
    pub write_config: Option<PathBuf>,
    /// Send msgaudit_notify callbacks to this URL when live mode appends records.
    #[arg(long, requires_all = ["callback_token", "callback_aes_key"])]
    pub callback_url: Option<String>,
    #[arg(long)]
    pub callback_token: Option<String>,
    /// The EncodingAESKey (43 characters).
    #[arg(long)]
    pub callback_aes_key: Option<String>,
    /// Seconds between callbacks at most (WeCom: 15).
    #[arg(long, default_value_t = 15.0)]
    pub callback_interval: f64,
    /// Share of callbacks dropped on purpose (0.0–1.0).
    #[arg(long, default_value_t = 0.0)]
    pub callback_drop: f64,
    #[arg(long, default_value = "wwemulator00000001")]
    pub corp_id: String,
    #[arg(long, default_value = "emulator-archive-secret")]
    pub secret: String,
}

#[derive(Debug, clap::Args)]
pub struct DecryptArgs {
    /// The RSA-decrypted random key (what DecryptData calls encrypt_key).
    #[arg(long, requires = "encrypt_msg", conflicts_with = "chatdata")]
    pub encrypt_key: Option<String>,
    /// The record's encrypt_chat_msg.
    #[arg(long, requires = "encrypt_key")]
    pub encrypt_msg: Option<String>,
    /// A file holding one `chatdata` item as JSON; its random key is RSA-decrypted with the
    /// configured keys first.
    #[arg(long)]
    pub chatdata: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where the demo archive, keys and configuration go.
    #[arg(long, default_value = "demo-data")]
    pub dir: PathBuf,
    /// Messages in the emulator's corpus.
    #[arg(long, default_value_t = 5000)]
    pub messages: usize,
    /// Corpus seed.
    #[arg(long, default_value_t = 20261129)]
    pub seed: u64,
    /// Exit after the summary instead of serving the web app (for scripts).
    #[arg(long)]
    pub no_serve: bool,
    /// Where the web app is served after the summary; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8780")]
    pub listen: String,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Messages/s from the emulator through the client, decryption and the SQLite commit,
    /// against the RSA private-key rate of this machine.
    Ingest {
        #[arg(long, default_value_t = 100_000)]
        messages: usize,
        /// Seconds spent measuring the RSA baseline.
        #[arg(long, default_value_t = 3.0)]
        rsa_seconds: f64,
        /// Threads decrypting a page (default: two per core).
        #[arg(long)]
        decrypt_threads: Option<usize>,
        /// Also ingest into this PostgreSQL database (postgres://user@host/db; in a schema of
        /// its own, dropped afterwards), beside SQLite in the same run.
        #[arg(long, value_name = "URL")]
        store: Option<String>,
    },
    /// Read latencies (a conversation page, the conversation list) while pages commit, against
    /// the same reads on the idle archive, and the ingest rate beside the reads.
    Read {
        #[arg(long, default_value_t = 200_000)]
        messages: usize,
        /// Seconds spent measuring the RSA baseline.
        #[arg(long, default_value_t = 3.0)]
        rsa_seconds: f64,
        /// Threads decrypting a page during the ingest (default: two per core).
        #[arg(long)]
        decrypt_threads: Option<usize>,
    },
    /// Search latency over a large archive (realistic text, built without RSA) against `LIKE`
    /// scans of the same rows, zero false negatives against a substring scan, indexing
    /// throughput and size, and the ingest rate with the indexer following.
    Search {
        #[arg(long, default_value_t = 1_000_000)]
        messages: usize,
        /// Encrypted messages ingested with the indexer beside the sync (0: skip that part).
        #[arg(long, default_value_t = 20_000)]
        ingest_messages: usize,
        /// Seconds spent measuring the RSA baseline of the ingest part.
        #[arg(long, default_value_t = 3.0)]
        rsa_seconds: f64,
    },
    /// Latencies of the HTTP API (the conversation list, a page of 50 messages, a search, a
    /// media Range request) with concurrent signed-in clients on loopback through the real
    /// server: on a quiet archive, then while `sync` commits RSA-encrypted pages into the same
    /// archive; and the ingest rate beside the reads.
    Api {
        /// Messages of the served archive (realistic text, built without RSA).
        #[arg(long, default_value_t = 1_000_000)]
        messages: usize,
        /// Concurrent clients, each signed in with a session of its own.
        #[arg(long, default_value_t = 50)]
        clients: usize,
        /// Requests per client per phase (the phase during ingest also ends with the ingest).
        #[arg(long, default_value_t = 200)]
        requests: usize,
        /// RSA-encrypted messages synced into the same archive during the second phase.
        #[arg(long, default_value_t = 20_000)]
        ingest_messages: usize,
    },
    /// The web app's pages in headless Chromium (WebDriver): first paint and load of the transcript
    /// and of a search page on a large archive, against the sign-in page.
    Web {
        /// Messages of the served archive (realistic text, built without RSA).
        #[arg(long, default_value_t = 1_000_000)]
        messages: usize,
        /// Loads of each page.
        #[arg(long, default_value_t = 20)]
        loads: usize,
    },
}

/// A user's role, as `user add --role` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Everything: users, the audit log, every corp it is bound to.
    Admin,
    /// Every conversation of its corps, raw JSON, exports.
    Auditor,
    /// Only conversations with an employee of its scope (--scope-user, --scope-department).
    Reviewer,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from stdin (one line; at least 12 characters).
    Add {
        /// The username: letters, digits, `.`, `_`, `-`, `@` (unique, ignoring case).
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// A corp the user may see (repeat for several; default: the corp of --corp, or the
        /// only one configured). Not `--corp`, which selects the corp a command works on.
        #[arg(long = "corp-id", value_name = "ID")]
        corp_ids: Vec<String>,
        /// Reviewers: an employee (userid) whose conversations the user may see (repeat).
        #[arg(long = "scope-user", value_name = "ID")]
        scope_users: Vec<String>,
        /// Reviewers: a department (numeric id) whose employees' conversations the user may
        /// see (repeat).
        #[arg(long = "scope-department", value_name = "ID")]
        scope_departments: Vec<u64>,
        /// Read the password from stdin (required: a password is never a command-line
        /// argument).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Every user: role, corps, scope, state (never a password or its hash).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Refuse the user's sign-in and end every session of theirs.
    Disable { name: String },
    /// Let a disabled user sign in again.
    Enable { name: String },
    /// Set a new password, read from stdin; every session of the user ends.
    Passwd {
        name: String,
        /// Read the password from stdin (required).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Entries oldest first: when, who, from where, what, outcome.
    List {
        /// Only this user (`cli:NAME` for commands run on the command line).
        #[arg(long, value_name = "USER")]
        user: Option<String>,
        /// Only this action (e.g. `user.add`, `session.create`).
        #[arg(long, value_name = "ACTION")]
        action: Option<String>,
        /// Entries from this day on (YYYY-MM-DD, China time).
        #[arg(long, value_name = "DATE", value_parser = china_day)]
        since: Option<i64>,
        /// At most this many entries.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        /// One JSON object per entry and line.
        #[arg(long)]
        json: bool,
    },
    /// Recompute the hash chain: exit 0 when every link holds, 5 naming the first broken entry
    /// (edited, deleted or reordered) otherwise.
    Verify {
        #[arg(long)]
        json: bool,
    },
}

/// Logging goes to stderr, so that stdout carries only command output.
pub fn init_tracing(cli: &Cli) {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| cli.log.clone());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
