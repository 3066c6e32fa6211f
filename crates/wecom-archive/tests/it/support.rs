//! Test support: an emulator on a random loopback port, and a way to run the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use wecom_crypto::PrivateKey;
use wecom_emulator::{CorpusSpec, Emulator, EmulatorConfig};

pub const CORP: &str = "wwtest00000000001";
pub const SECRET: &str = "test-archive-secret";

/// A running emulator; stopped when dropped.
pub struct TestEmulator {
    pub emulator: Emulator,
    pub base_url: String,
    /// The CONNECT proxy through which the vendor library reaches this emulator.
    pub proxy_url: String,
    pub keys: Vec<(u32, PrivateKey)>,
    stop: CancellationToken,
    rt: tokio::runtime::Runtime,
}

impl TestEmulator {
    pub fn start(seed: u64, messages: usize, rotate_at: Option<u64>) -> TestEmulator {
        TestEmulator::start_with(seed, messages, rotate_at, None)
    }

    /// Like `start`, sending `msgaudit_notify` callbacks as configured.
    pub fn start_with(
        seed: u64,
        messages: usize,
        rotate_at: Option<u64>,
        callback: Option<wecom_emulator::CallbackConfig>,
    ) -> TestEmulator {
        // Recent messages, so their media are inside the retention window.
        TestEmulator::start_from(
            seed,
            messages,
            rotate_at,
            callback,
            now_ms() - 12 * 86_400_000,
        )
    }

    /// Like `start_with`, with a corpus whose first message is at `start_ms`.
    pub fn start_from(
        seed: u64,
        messages: usize,
        rotate_at: Option<u64>,
        callback: Option<wecom_emulator::CallbackConfig>,
        start_ms: i64,
    ) -> TestEmulator {
        let keys: Vec<(u32, PrivateKey)> = (1..=if rotate_at.is_some() { 2 } else { 1 })
            .map(|v| (v, PrivateKey::generate_rsa2048().expect("keygen")))
            .collect();
        let mut config = EmulatorConfig::new(
            CorpusSpec {
                corp_id: CORP.to_owned(),
                start_ms,
                ..CorpusSpec::new(seed, messages)
            },
            keys.iter().map(|(v, k)| (*v, k.public_key())).collect(),
        );
        config.corp_id = CORP.to_owned();
        config.secret = SECRET.to_owned();
        config.rotate_to_v2_after_seq = rotate_at;
        config.callback = callback;
        let emulator = Emulator::new(config).expect("emulator");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("rt");
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let stop = CancellationToken::new();
        rt.spawn(wecom_emulator::serve(
            emulator.clone(),
            listener,
            stop.clone().cancelled_owned(),
        ));
        let proxy_listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind proxy");
        let proxy_url = format!("http://{}", proxy_listener.local_addr().expect("addr"));
        rt.spawn(wecom_emulator::serve_proxy(
            emulator.clone(),
            proxy_listener,
            stop.clone().cancelled_owned(),
        ));
        TestEmulator {
            emulator,
            base_url,
            proxy_url,
            keys,
            stop,
            rt,
        }
    }

    /// (seq, msgid) of every record the emulator serves.
    pub fn expected_ids(&self) -> Vec<(u64, String)> {
        self.emulator
            .records()
            .into_iter()
            .map(|r| (r.seq, r.msgid))
            .collect()
    }

    /// Writes `dir/wecom-archive.toml` and `dir/keys/v<N>.pem` for the given key versions.
    pub fn write_config(&self, dir: &Path, key_versions: &[u32], extra_sync: &str) -> PathBuf {
        let keys_dir = dir.join("keys");
        std::fs::create_dir_all(&keys_dir).expect("keys dir");
        for (v, k) in &self.keys {
            if key_versions.contains(v) {
                let path = keys_dir.join(format!("v{v}.pem"));
                std::fs::write(&path, k.to_pkcs8_pem()).expect("write key");
                // As `keys add` writes it: `doctor` fails on a key others can read.
                std::fs::set_permissions(
                    &path,
                    std::os::unix::fs::PermissionsExt::from_mode(0o600),
                )
                .expect("chmod key");
            }
        }
        let path = dir.join("wecom-archive.toml");
        let text = format!(
            "[archive]\npath = \"archive.db\"\n\n[corp]\ncorp_id = \"{CORP}\"\nsecret = \"{SECRET}\"\nbase_url = \"{}\"\ntimeout_secs = 5\n\n[keys]\ndir = \"keys\"\n\n[media]\ndir = \"media\"\n\n[sync]\nretry_base_delay_ms = 10\nretry_max_delay_ms = 50\nretention_days = 365\n{extra_sync}\n",
            self.base_url
        );
        std::fs::write(&path, text).expect("write config");
        path
    }
}

impl Drop for TestEmulator {
    fn drop(&mut self) {
        self.stop.cancel();
        // Give the server a moment to stop; the runtime drop ends anything left.
        self.rt
            .block_on(async { tokio::time::sleep(Duration::from_millis(10)).await });
    }
}

/// The corp under test in `[[corp]]` form, plus a second corp whose API is unreachable
/// (`BROKEN_CORP`); keys under `keys-all/<corp_id>`.
pub fn write_with_broken_corp(emu: &TestEmulator, dir: &Path) -> PathBuf {
    let path = emu.write_config(dir, &[1], "");
    let text = std::fs::read_to_string(&path).expect("config");
    let text = text.replacen("[corp]\n", "[[corp]]\n", 1).replacen(
        "dir = \"keys\"\n",
        "dir = \"keys-all\"\n",
        1,
    );
    let broken = format!(
        "\n[[corp]]\ncorp_id = \"{BROKEN_CORP}\"\nsecret = \"s\"\nbase_url = \"http://127.0.0.1:9\"\ntimeout_secs = 1\n"
    );
    let (head, tail) = text.split_once("\n[keys]").expect("keys section");
    std::fs::write(&path, format!("{head}{broken}\n[keys]{tail}")).expect("write config");
    std::fs::create_dir_all(dir.join("keys-all")).expect("keys dir");
    std::fs::rename(dir.join("keys"), dir.join(format!("keys-all/{CORP}"))).expect("move keys");
    path
}

pub const BROKEN_CORP: &str = "wwbroken000000001";

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wecom-archive"));
    // The tests must not be steered by the developer's environment.
    for (k, _) in std::env::vars() {
        if k.starts_with("WECOM_ARCHIVE_") || k == "RUST_LOG" {
            c.env_remove(k);
        }
    }
    c
}

pub fn run(config: &Path, args: &[&str]) -> Output {
    bin()
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run binary")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stats(config: &Path) -> serde_json::Value {
    let o = run(config, &["stats", "--json"]);
    assert!(o.status.success(), "stats failed: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("stats json")
}

/// (seq, msgid) of every record in the archive.
pub fn archived_ids(db: &Path) -> Vec<(u64, String)> {
    use wecom_store::ArchiveReader;
    let store = wecom_store::SqliteStore::open_read_only(db).expect("open archive");
    store.record_ids(CORP).expect("record ids")
}

/// The genuine vendor library, fetched by `../shared/tools/fetch-real-sdk`; `None` (with a loud
/// message) where it cannot be had, e.g. on a non-x86_64 machine.
pub fn real_sdk(test: &str) -> Option<PathBuf> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/tools/fetch-real-sdk"
    );
    let out = Command::new("bash").arg(script).output();
    match out {
        Ok(o) if o.status.success() => {
            Some(PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        }
        other => {
            eprintln!(
                "\n!!!!!!!! {test}: NOT RUN — the genuine vendor library could not be fetched: {other:?}\n"
            );
            None
        }
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A tmpfs of a given size, mounted for one test in a temporary folder and unmounted when
/// dropped. Mounting needs root (CAP_SYS_ADMIN), as on the project's machines and in CI; anywhere
/// else the test fails saying so.
pub struct Tmpfs {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    pub fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mnt");
        std::fs::create_dir(&path).expect("mount point");
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(&path)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "mounting a tmpfs needs root (CAP_SYS_ADMIN), as on the project's machines: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs { path, _dir: dir }
    }

    /// `mount -o remount,<how>`: `size=64m`, `ro`, `rw`.
    pub fn remount(&self, how: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{how}")])
            .arg(&self.path)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "remount {how}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Runs the binary with a hang guard: a run that hangs or loops fails its test after 120 s
/// (far above the seconds these runs take) instead of hanging the suite.
pub fn run_guarded(config: &Path, args: &[&str]) -> Output {
    let mut child = bin()
        .arg("--config")
        .arg(config)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let started = std::time::Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "`{}` still running after 120 s\n{}\n{}",
                args.join(" "),
                stdout(&out),
                stderr(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
