//! Shared fixtures: the genuine library (fetched once), RSA keys, an emulator served both over
//! plain HTTP (for the native client) and through its CONNECT proxy (for the library), and
//! [`SdkConfig`]s pointing the worker binary at it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use wecom_client::{ClientConfig, NativeClient, RetryPolicy};
use wecom_crypto::PrivateKey;
use wecom_emulator::{CorpusSpec, Emulator, EmulatorConfig};
use wecom_sdk::{SdkConfig, WorkerCommand, WorkerMode};

const FETCH_SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/tools/fetch-real-sdk"
);

/// The genuine library's path, or `None` after a loud notice when it cannot be had here.
pub fn real_sdk(test: &str) -> Option<PathBuf> {
    static PATH: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = PATH.get_or_init(fetch);
    match found {
        Ok(path) => Some(path.clone()),
        Err(why) => {
            let bar = "!".repeat(100);
            eprintln!(
                "\n{bar}\n!!! {test}: NOT RUN against the genuine vendor library: {why}\n!!! (conformance with libWeWorkFinanceSdk_C.so is unverified on this machine)\n{bar}\n"
            );
            None
        }
    }
}

fn fetch() -> Result<PathBuf, String> {
    if std::env::consts::ARCH != "x86_64" || std::env::consts::OS != "linux" {
        return Err(format!(
            "the genuine library exists for linux x86_64 only; this is {} {}",
            std::env::consts::OS,
            std::env::consts::ARCH
        ));
    }
    if !Path::new(FETCH_SCRIPT).exists() {
        return Err(format!("{FETCH_SCRIPT} is missing"));
    }
    let output = std::process::Command::new("bash")
        .arg(FETCH_SCRIPT)
        .output()
        .map_err(|e| format!("cannot run {FETCH_SCRIPT}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{FETCH_SCRIPT} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{FETCH_SCRIPT} printed {path:?}, which is not a file"
        ))
    }
}

/// One RSA-2048 key pair for every emulator of the run.
pub fn key() -> Arc<PrivateKey> {
    static KEY: OnceLock<Arc<PrivateKey>> = OnceLock::new();
    KEY.get_or_init(|| Arc::new(PrivateKey::generate_rsa2048().expect("generate key")))
        .clone()
}

/// An emulator served on two loopback ports: plain HTTP, and the CONNECT/SOCKS5h proxy.
pub struct Fixture {
    pub emulator: Emulator,
    pub http: SocketAddr,
    pub proxy: SocketAddr,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<std::io::Result<()>>>,
}

impl Fixture {
    pub async fn start(messages: usize) -> Fixture {
        let mut config = EmulatorConfig::new(
            CorpusSpec::new(20240601, messages),
            BTreeMap::from([(1, key().public_key())]),
        );
        config.token_ttl = Duration::from_secs(7200);
        let emulator = tokio::task::spawn_blocking(move || Emulator::new(config))
            .await
            .expect("join")
            .expect("emulator");
        let stop = CancellationToken::new();
        let http_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let proxy_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let http = http_listener.local_addr().expect("addr");
        let proxy = proxy_listener.local_addr().expect("addr");
        let tasks = vec![
            tokio::spawn(wecom_emulator::serve(
                emulator.clone(),
                http_listener,
                stop.clone().cancelled_owned(),
            )),
            tokio::spawn(wecom_emulator::serve_proxy(
                emulator.clone(),
                proxy_listener,
                stop.clone().cancelled_owned(),
            )),
        ];
        Fixture {
            emulator,
            http,
            proxy,
            stop,
            tasks,
        }
    }

    /// The worker binary as a process-mode config, routed through the proxy, with quick retries
    /// and restarts.
    pub fn sdk_config(&self, library: &Path) -> SdkConfig {
        let mut config = SdkConfig::new(
            library,
            self.emulator.corp_id(),
            self.emulator.secret(),
            WorkerMode::Process(worker_command()),
        );
        config.net.proxy = format!("http://{}", self.proxy);
        config.net.timeout = Duration::from_secs(10);
        config.retry = quick_retry();
        config.limits.restart_backoff = Duration::from_millis(10);
        config.limits.restart_backoff_max = Duration::from_millis(100);
        config
    }

    /// The native client on the plain HTTP port.
    pub fn native_client(&self) -> NativeClient {
        let mut config = ClientConfig::new(
            format!("http://{}", self.http),
            self.emulator.corp_id(),
            self.emulator.secret(),
        );
        config.retry = quick_retry();
        NativeClient::new(config).expect("native client")
    }

    pub async fn stop(self) {
        self.stop.cancel();
        for task in self.tasks {
            task.await.expect("join").expect("serve");
        }
    }
}

pub fn worker_command() -> WorkerCommand {
    WorkerCommand::new(env!("CARGO_BIN_EXE_wecom-sdk-worker"), Vec::<String>::new())
}

pub fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
    }
}

/// Open descriptors of this process.
pub fn own_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}
