//! `demo`: emulator → native client → decryption → SQLite, in one process, in under a minute.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use tokio_util::sync::CancellationToken;
use wecom_daemon::config::Config;
use wecom_emulator::Emulator;
use wecom_search::{SearchIndex, SearchRequest, Searcher};

use super::emulator::{client_config_file, emulator_config, generate_keys, write_client_config};
use super::stats::render;
use super::sync::sync_once;
use super::{open_store, runtime, thousands};
use crate::cli::DemoArgs;
use crate::keys::load_key_ring;
use wecom_daemon::{SourceOverrides, SyncPlan};

const DEMO_CORP: &str = "wwdemo00000000001";
const DEMO_SECRET: &str = "demo-archive-secret";

pub fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    if args.messages == 0 {
        bail!("--messages must be at least 1");
    }
    let dir = &args.dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Re-runnable: the demo's own files are replaced, nothing else in the folder is touched.
    for name in ["archive.db", "archive.db-wal", "archive.db-shm"] {
        remove_if_exists(&dir.join(name))?;
    }
    let rotate_at = (args.messages >= 10).then(|| args.messages as u64 * 4 / 5);
    let keys = generate_keys(rotate_at.is_some())?;
    let mut emu_config = emulator_config(
        DEMO_CORP,
        DEMO_SECRET,
        args.seed,
        args.messages,
        &keys,
        rotate_at,
        None,
    );
    // The corpus begins with the group 全类型演示群: every message type, all media real.
    emu_config.corpus.showcase = true;
    let contacts_secret = emu_config.contacts_secret.clone();
    let customer_secret = emu_config.customer_secret.clone();
    let config_path = dir.join("wecom-archive.toml");

    let rt = runtime()?;
    let (config, expected, report, renamed, emulator_server) = rt.block_on(async {
        let emulator = tokio::task::spawn_blocking(move || Emulator::new(emu_config))
            .await
            .context("corpus generation failed")??;
        let expected: Vec<(u64, String)> = emulator
            .records()
            .into_iter()
            .map(|r| (r.seq, r.msgid))
            .collect();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot listen on loopback")?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let stop_server = CancellationToken::new();
        let server = tokio::spawn(wecom_emulator::serve(
            emulator.clone(),
            listener,
            stop_server.clone().cancelled_owned(),
        ));

        let mut file = client_config_file(
            DEMO_CORP,
            &super::emulator::EmulatorSecrets {
                archive: DEMO_SECRET,
                contacts: contacts_secret.as_deref(),
                customer: customer_secret.as_deref(),
            },
            &base_url,
            None,
            None,
        );
        // The demo corpus covers more days than the default 5-day window: its media are all
        // fetched all the same (the window only orders the work; WeCom's 301048 alone expires a
        // job). The emulator is local: no need to spare its API quota.
        file.names.max_calls_per_second = 1000.0;
        write_client_config(&config_path, &file, &keys)?;
        // The demo reads back the configuration it wrote, exactly as every other command will.
        let config = Config::load(&config_path, &HashMap::new())?;
        let corp = config.corp(None)?;
        // The search index of an earlier run indexed the archive just removed.
        remove_dir_if_exists(&config.search.dir)?;
        let blobs = config.open_blobs()?;
        let store = open_store(&corp.archive_path)?;
        let ring = Arc::new(load_key_ring(&corp.keys_dir)?);
        let progress = super::sync::progress_printer();
        let plan = SyncPlan {
            config: &config,
            corp,
            overrides: &SourceOverrides::default(),
            store: store.clone(),
            keys: ring,
            limit: config.sync.page_limit,
            progress: Some(&progress),
            media: Some(blobs),
            names: true,
            search: true,
        };
        let result = sync_once(plan, &CancellationToken::new()).await;
        // A room renamed in WeCom after it was named: the refresh records the new name and keeps
        // the old one (here the refresh is made due at once instead of after `refresh_hours`).
        let renamed = match &result {
            Ok(_) => rename_one_room(&config, corp, &emulator, store).await?,
            Err(_) => None,
        };
        // The emulator keeps answering while the app is served: the daemon polls it like WeCom.
        let emulator_server = EmulatorServer {
            stop: stop_server,
            task: server,
        };
        let report = match result {
            Ok(report) => report,
            Err(e) => {
                emulator_server.stop().await?;
                return Err(e);
            }
        };
        Ok::<_, anyhow::Error>((config, expected, report, renamed, emulator_server))
    })?;

    let store = open_store(&config.corp(None)?.archive_path)?;
    let (ids, stats, media, names) = {
        let guard = &store.reader;
        (
            guard.record_ids(DEMO_CORP)?,
            guard.stats(DEMO_CORP)?,
            guard.media_stats(DEMO_CORP)?,
            guard.name_stats(DEMO_CORP)?,
        )
    };
    let exact = ids == expected;
    println!();
    print!("{}", render(DEMO_CORP, &stats));
    println!();
    println!(
        "demo: {} records pulled from the emulator in {} pages, {} decrypted, {} failed; keys v1{} ; {:.1}s in all",
        thousands(report.records),
        report.pages,
        thousands(stats.decrypted),
        thousands(stats.failed),
        if rotate_at.is_some() {
            format!(" and v2 (rotation after seq {})", rotate_at.unwrap_or(0))
        } else {
            String::new()
        },
        started.elapsed().as_secs_f64()
    );
    if !exact {
        bail!(
            "the archive does not match the emulator: {} records archived, {} served",
            ids.len(),
            expected.len()
        );
    }
    print!(
        "{}",
        super::stats::render_media(&media, &super::stats::media_location(&config))
    );
    if media.done != media.total {
        bail!(
            "{} of {} media objects are not downloaded and verified (see `media status`)",
            media.total - media.done,
            media.total
        );
    }
    println!(
        "all {} media objects downloaded and verified (md5 and size from the messages), stored under their sha256",
        thousands(media.total)
    );
    println!(
        "the archive holds exactly the emulator's {} records (same seqs and msgids)",
        thousands(ids.len() as u64)
    );
    print!("{}", super::names::render_names(&names));
    if names.rooms_named + names.rooms_unresolvable != names.rooms_total
        || names.people_named != names.people_total
    {
        bail!(
            "not every room and person was named or marked unresolvable (see `rooms list`, `people list`)"
        );
    }
    println!(
        "every room is named ({} of them created from WeChat, which WeCom cannot name, are marked unresolvable) and every person and robot is named",
        thousands(names.rooms_unresolvable)
    );
    if let Some((roomid, old, new)) = &renamed {
        println!(
            "room {roomid} was renamed {old} → {new}; both names are kept (`rooms show {roomid}`)"
        );
    }
    sample_search(&config, store.reader.clone())?;
    println!();
    println!("explore it:");
    println!(
        "  cargo run --release -- --config {} stats",
        config_path.display()
    );
    println!(
        "  cargo run --release -- --config {} stats --json",
        config_path.display()
    );
    println!(
        "  cargo run --release -- --config {} rooms list",
        config_path.display()
    );
    println!(
        "  cargo run --release -- --config {} people list",
        config_path.display()
    );
    println!(
        "  cargo run --release -- --config {} search {DEMO_QUERY}",
        config_path.display()
    );
    println!(
        "  cargo run --release -- --config {} keys list",
        config_path.display()
    );
    if stats.failed != 0 {
        rt.block_on(emulator_server.stop())?;
        return Ok(ExitCode::FAILURE);
    }
    drop(store);
    if args.no_serve {
        rt.block_on(emulator_server.stop())?;
        return Ok(ExitCode::SUCCESS);
    }
    let served = serve(&rt, &config, &args.listen);
    rt.block_on(emulator_server.stop())?;
    served?;
    Ok(ExitCode::SUCCESS)
}

/// The emulator's server task, kept running while the demo serves the app.
struct EmulatorServer {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl EmulatorServer {
    async fn stop(self) -> anyhow::Result<()> {
        self.stop.cancel();
        self.task
            .await
            .context("emulator task failed")?
            .context("emulator server failed")?;
        Ok(())
    }
}

/// One demo login.
struct Login {
    username: &'static str,
    password: String,
    what: String,
}

/// Creates the demo's admin and a reviewer scoped to one department (fresh random passwords each
/// run; an earlier run's users are replaced with the archive), then runs the daemon — sync,
/// API and web app — on `listen` until Ctrl-C or SIGTERM.
fn serve(rt: &tokio::runtime::Runtime, config: &Config, listen: &str) -> anyhow::Result<()> {
    let corp = config.corp(None)?;
    let mut writers = super::Writers::default();
    let store = writers.open(&corp.store)?;
    let logins = demo_users(&store)?;
    let keys = Arc::new(load_key_ring(&corp.keys_dir)?);
    let plan = wecom_daemon::RunPlan {
        config,
        corps: vec![wecom_daemon::DaemonCorp {
            config: corp.clone(),
            store,
            keys,
        }],
        overrides: SourceOverrides::default(),
        poll_interval: std::time::Duration::from_secs(config.sync.poll_interval_secs.max(1)),
        fd_limit: None,
        on_started: Some(Box::new(move |addr| {
            println!();
            println!("the web app: http://{addr}/  (Ctrl-C stops it)");
            for l in &logins {
                println!("  {:<14} password {}   {}", l.username, l.password, l.what);
            }
        })),
    };
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        wecom_daemon::run(plan, listener, super::run::wait_for_signal()).await?;
        anyhow::Ok(())
    })
}

/// The demo's two accounts: `demo-admin` (everything) and `demo-reviewer` (only the conversations
/// of the first named department that has members).
fn demo_users(store: &wecom_store::Roles) -> anyhow::Result<Vec<Login>> {
    use wecom_store::{NewUser, Role, Scope};
    let now = wecom_wire::clock::now_ms();
    let department = (2..=64u64)
        .find(|d| {
            store
                .reader
                .department_members(DEMO_CORP, &[*d])
                .is_ok_and(|m| !m.is_empty())
        })
        .context("the demo corpus has no department with members")?;
    let mut logins = Vec::new();
    for (username, role, scope, what) in [
        (
            "demo-admin",
            Role::Admin,
            Scope::default(),
            "admin: every conversation, users and the audit log".to_owned(),
        ),
        (
            "demo-reviewer",
            Role::Reviewer,
            Scope {
                userids: Vec::new(),
                departments: vec![department],
            },
            format!("reviewer: only conversations of department {department}"),
        ),
    ] {
        let password = random_password();
        let user = NewUser {
            username: username.to_owned(),
            password_hash: wecom_accounts::hash_password(&password)?,
            role,
            corps: vec![DEMO_CORP.to_owned()],
            scope,
        };
        store.accounts.create_user(&user, now)?;
        logins.push(Login {
            username,
            password,
            what,
        });
    }
    Ok(logins)
}

/// 16 random characters a person can type (no 0/O, 1/l/I).
fn random_password() -> String {
    use rand::Rng as _;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Renames the first named internal room in the emulator and refreshes the names, so the archive
/// holds a name history. `(roomid, old name, new name)`.
async fn rename_one_room(
    config: &Config,
    corp: &wecom_daemon::config::CorpConfig,
    emulator: &Emulator,
    store: wecom_store::Roles,
) -> anyhow::Result<Option<(String, String, String)>> {
    let room = {
        let guard = &store.reader;
        guard
            .rooms(DEMO_CORP, 1000, 0)?
            .into_iter()
            .find(|r| r.kind == Some(wecom_store::names::RoomKind::Internal) && r.name.is_some())
    };
    let Some(room) = room else { return Ok(None) };
    let old = room.name.unwrap_or_default();
    let new = format!("{old}（2026 年度）");
    if !emulator.rename_room(&room.roomid, &new) {
        return Ok(None);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    store.directory.recheck_names(DEMO_CORP, true, now)?;
    super::names::resolve_once(config, corp, &store, &CancellationToken::new()).await;
    Ok(Some((room.roomid, old, new)))
}

/// A word the emulator's corpus uses, for the sample search.
const DEMO_QUERY: &str = "合同";

/// The index the sync built, checked against the archive, and one search with its best hits.
fn sample_search(
    config: &Config,
    archive: Arc<dyn wecom_store::ArchiveReader>,
) -> anyhow::Result<()> {
    let index = SearchIndex::open(&config.search_index_dir(config.corp(None)?), DEMO_CORP)?;
    let status = index.status(&*archive)?;
    if status.lag != 0 {
        bail!(
            "the search index lags the archive by {} messages (see `index status`)",
            status.lag
        );
    }
    let searcher = Searcher::open(index, archive)?;
    let page = searcher.search(&SearchRequest {
        query: DEMO_QUERY.to_owned(),
        limit: 3,
        ..SearchRequest::default()
    })?;
    println!(
        "search index: all {} messages indexed; `search {DEMO_QUERY}` finds {}, the best {}:",
        thousands(status.documents),
        thousands(page.total),
        page.hits.len()
    );
    let marks = super::search::Marks::for_stdout();
    for hit in &page.hits {
        print!("{}", super::search::render_hit(hit, marks));
    }
    Ok(())
}

fn remove_dir_if_exists(p: &Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", p.display())),
    }
}

fn remove_if_exists(p: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", p.display())),
    }
}
