//! One module per command; this one dispatches and holds what several commands share.

/// `println!` for a line built from archived or server-provided text (names, ids, message text,
/// errmsg): the whole line is printed with its control characters and ANSI escapes escaped
/// ([`wecom_wire::text`]), so what WeCom sent cannot drive the operator's terminal. The archive
/// itself keeps the bytes exactly; only what is shown changes.
macro_rules! safe_println {
    ($($arg:tt)*) => {
        println!("{}", wecom_wire::text::Escaped(&format!($($arg)*)))
    };
}

mod audit;
mod bench;
mod bench_api;
mod bench_corpus;
mod bench_search;
mod bench_web;
mod conversations;
mod cursor;
mod decrypt;
mod demo;
mod doctor;
mod emulator;
mod init;
mod keys;
mod media;
mod migrate;
mod names;
mod run;
mod search;
mod stats;
mod sync;
mod users;

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use wecom_daemon::config::Config;
use wecom_store::{ArchiveReader, LockError, Roles, StoreLocation, WriterLock};

use crate::cli::{BenchCommand, Cli, Command};

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let env: HashMap<String, String> = std::env::vars().collect();
    let corp = cli.corp.as_deref();
    match cli.command {
        Command::Init(args) => init::run(&args),
        Command::Keys(cmd) => {
            let config = load(&cli.config, &env)?;
            keys::run(config.corp(corp)?, cmd)
        }
        Command::Sync(args) => sync::run(&load(&cli.config, &env)?, corp, &args),
        Command::Run(args) => run::run(&load(&cli.config, &env)?, corp, &args),
        Command::Redecrypt => {
            let config = load(&cli.config, &env)?;
            sync::redecrypt(config.corp(corp)?)
        }
        Command::Stats(args) => {
            let config = load(&cli.config, &env)?;
            stats::run(&config, config.corp(corp)?, &args)
        }
        Command::Conversations(cmd) => {
            let config = load(&cli.config, &env)?;
            conversations::run(config.corp(corp)?, &cmd)
        }
        Command::Rooms(cmd) => {
            let config = load(&cli.config, &env)?;
            names::rooms(config.corp(corp)?, &cmd)
        }
        Command::Names(crate::cli::NamesCommand::Refresh { all }) => {
            let config = load(&cli.config, &env)?;
            names::refresh(&config, config.corp(corp)?, all)
        }
        Command::People(cmd) => {
            let config = load(&cli.config, &env)?;
            names::people(config.corp(corp)?, &cmd)
        }
        Command::Doctor(args) => {
            let config = load(&cli.config, &env)?;
            doctor::run(&config, config.corp(corp)?, &args)
        }
        Command::Cursor(cmd) => {
            let config = load(&cli.config, &env)?;
            cursor::run(config.corp(corp)?, &cmd)
        }
        Command::Search(args) => {
            let config = load(&cli.config, &env)?;
            search::search(&config, config.corp(corp)?, &args)
        }
        Command::Index(cmd) => {
            let config = load(&cli.config, &env)?;
            search::index(&config, config.corp(corp)?, &cmd)
        }
        Command::Media(cmd) => {
            let config = load(&cli.config, &env)?;
            media::run(&config, config.corp(corp)?, &cmd)
        }
        Command::Emulator(args) => emulator::run(&args),
        Command::Decrypt(args) => decrypt::run(&cli.config, &env, corp, &args),
        Command::Demo(args) => demo::run(&args),
        Command::Bench(BenchCommand::Ingest {
            messages,
            rsa_seconds,
            decrypt_threads,
            store,
        }) => bench::ingest(messages, rsa_seconds, decrypt_threads, store.as_deref()),
        Command::Bench(BenchCommand::Read {
            messages,
            rsa_seconds,
            decrypt_threads,
        }) => bench::read(messages, rsa_seconds, decrypt_threads),
        Command::Bench(BenchCommand::Search {
            messages,
            ingest_messages,
            rsa_seconds,
        }) => bench_search::search(messages, ingest_messages, rsa_seconds),
        Command::Bench(BenchCommand::Api {
            messages,
            clients,
            requests,
            ingest_messages,
        }) => bench_api::api(bench_api::ApiBenchOptions {
            messages,
            clients,
            requests,
            ingest_messages,
        }),
        Command::Bench(BenchCommand::Web { messages, loads }) => {
            bench_web::web(bench_web::WebBenchOptions { messages, loads })
        }
        Command::User(cmd) => users::run(&load(&cli.config, &env)?, corp, &env, &cmd),
        Command::Audit(cmd) => audit::run(&load(&cli.config, &env)?, &cmd),
        Command::Migrate(args) => migrate::run(&cli.config, &env, corp, &args),
    }
}

fn load(path: &Path, env: &HashMap<String, String>) -> anyhow::Result<Config> {
    let config = Config::load(path, env)?;
    crate::files::restrict_umask(config.group_readable);
    Ok(config)
}

/// The async runtime for commands that need one; blocking work goes to its blocking pool.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Exit code of a writing command when another process holds the archive's writer lock.
pub const EXIT_ARCHIVE_LOCKED: u8 = 4;

/// Exit code of a command given something it cannot use (a search query, a date, a message
/// type, a page cursor), as for a command line clap refuses.
pub const EXIT_USAGE: u8 = 2;

/// Something the caller got wrong, said in one sentence: the command exits [`EXIT_USAGE`].
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Opens an archive for writing, creating it if needed. Only with its [`WriterLock`] held (see
/// [`Writers`]); `demo` and `bench` use archives of their own.
fn open_store(path: &Path) -> anyhow::Result<Roles> {
    wecom_store::open(&StoreLocation::Sqlite(path.to_owned())).map_err(|e| {
        let holders = holders_if_busy(&e, path);
        anyhow::anyhow!("cannot open archive {}: {e}{holders}", path.display())
    })
}

/// For a "database locked" error, who holds the archive open (empty otherwise, or when unknown).
fn holders_if_busy(error: &wecom_store::StoreError, path: &Path) -> String {
    if error.kind() == wecom_store::StoreErrorKind::Busy {
        wecom_daemon::holders::describe(path)
    } else {
        String::new()
    }
}

/// Opens an existing archive for reading only: no lock is taken and nothing is written, so it
/// works beside a running writer and on a read-only mount (or a PostgreSQL replica).
fn open_reader(location: &StoreLocation) -> anyhow::Result<Arc<dyn ArchiveReader>> {
    wecom_store::open_reader(location).with_context(|| format!("cannot read archive {location}"))
}

/// The writer locks a writing command holds, one per archive file (corps may share one), for as
/// long as it lives. A PostgreSQL archive has no file lock (several nodes share it; leases fence
/// their commits): it is opened once and shared by the corps.
#[derive(Default)]
pub struct Writers {
    held: Vec<WriterLock>,
    postgres: Vec<(wecom_store::PgOptions, Roles)>,
}

impl Writers {
    /// Takes the archive's writer lock (once per file) and opens it for writing. Another holder
    /// is a [`wecom_store::LockError::Held`] naming it, which ends the command with
    /// [`EXIT_ARCHIVE_LOCKED`].
    pub fn open(&mut self, location: &StoreLocation) -> anyhow::Result<Roles> {
        let archive = match location {
            StoreLocation::Sqlite(path) => path.as_path(),
            StoreLocation::Postgres(options) => {
                if let Some((_, roles)) = self.postgres.iter().find(|(o, _)| o == options) {
                    return Ok(roles.clone());
                }
                let roles = wecom_store::open(location)
                    .with_context(|| format!("cannot open archive {location}"))?;
                self.postgres.push((options.clone(), roles.clone()));
                return Ok(roles);
            }
        };
        let lock_path = wecom_store::lock_path(archive);
        if !self.held.iter().any(|l| l.path() == lock_path) {
            match WriterLock::acquire(archive) {
                Ok(lock) => self.held.push(lock),
                // The same file under another name, already locked by this process.
                Err(LockError::Held {
                    holder: Some(h), ..
                }) if h.pid == std::process::id() => {}
                Err(e) => return Err(e.into()),
            }
        }
        open_store(archive)
    }
}

/// `12345` → `12,345`, for summaries people read.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
