//! How an [`crate::SdkSource`] runs the vendor library: where it is, which corp, the network
//! settings handed to every call, and the limits of the worker processes.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use wecom_client::RetryPolicy;

use crate::sdk::NetOptions;

/// The program (and arguments) that runs [`crate::worker_main`]: normally the archive binary
/// itself with its hidden `sdk-worker` subcommand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerCommand {
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

impl WorkerCommand {
    pub fn new(
        program: impl Into<PathBuf>,
        args: impl IntoIterator<Item = impl Into<OsString>>,
    ) -> WorkerCommand {
        WorkerCommand {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
        }
    }

    /// This very executable with `args`, e.g. `WorkerCommand::current_exe(["sdk-worker"])`.
    pub fn current_exe(
        args: impl IntoIterator<Item = impl Into<OsString>>,
    ) -> std::io::Result<WorkerCommand> {
        Ok(WorkerCommand::new(std::env::current_exe()?, args))
    }
}

/// Where the library runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerMode {
    /// In supervised child processes (the default, and the only mode for a daemon): a crash of the
    /// library kills a worker, never the caller.
    Process(WorkerCommand),
    /// In this process, on blocking threads: for debugging and benchmarks only. A library crash
    /// kills the caller, a hung call cannot be cut (no deadline), leaks accumulate here, and of
    /// the [`WorkerLimits`] only `workers` applies (a stale token still gets a fresh handle).
    InProcess,
}

/// When workers are replaced, and when the source gives up on them for a while.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerLimits {
    /// Worker processes (each with its own SDK handle), i.e. calls that can run at once.
    pub workers: usize,
    /// A worker is replaced after this many calls.
    pub max_calls: u64,
    /// … when its resident memory (VmRSS) exceeds this many bytes after a call.
    pub max_rss_bytes: u64,
    /// … when it holds more open file descriptors than this after a call.
    pub max_fds: u64,
    /// … after this many 10001 answers: the library leaks about 70 KB and 2 descriptors on every
    /// non-2xx reply (sdk-wire-protocol.md §5).
    pub max_network_failures: u32,
    /// A call without an answer after this long is a hang: the worker is killed and replaced.
    /// `None` = twice the network timeout (token and data are two requests) plus 10 s.
    pub call_deadline: Option<Duration>,
    /// Crashes and hangs tolerated within `crash_window`; beyond, calls are refused (naming the last
    /// crash) until old crashes leave the window.
    pub crash_limit: u32,
    pub crash_window: Duration,
    /// Wait before starting a worker after a crash, doubled for each further crash in a row.
    pub restart_backoff: Duration,
    pub restart_backoff_max: Duration,
    /// Largest reply frame read from a worker (at most [`crate::MAX_FRAME`]); a worker announcing
    /// more is treated as broken, and nothing that large is allocated.
    pub max_frame_bytes: usize,
}

impl Default for WorkerLimits {
    fn default() -> WorkerLimits {
        WorkerLimits {
            workers: 1,
            max_calls: 10_000,
            max_rss_bytes: 512 << 20,
            max_fds: 256,
            max_network_failures: 50,
            call_deadline: None,
            crash_limit: 5,
            crash_window: Duration::from_secs(600),
            restart_backoff: Duration::from_millis(200),
            restart_backoff_max: Duration::from_secs(30),
            max_frame_bytes: crate::MAX_FRAME,
        }
    }
}

/// Everything an [`crate::SdkSource`] needs.
#[derive(Clone)]
pub struct SdkConfig {
    /// Path of `libWeWorkFinanceSdk_C.so`.
    pub library: PathBuf,
    pub corp_id: String,
    /// The 会话内容存档 secret.
    pub secret: String,
    /// Proxy, proxy credentials and per-request timeout handed to every call.
    pub net: NetOptions,
    pub mode: WorkerMode,
    pub limits: WorkerLimits,
    /// Retries of 10001–10003 (and of unparsable answers) inside `fetch_page` and per media chunk.
    pub retry: RetryPolicy,
}

impl SdkConfig {
    /// Defaults: no proxy (the library then honours `https_proxy`), 10 s timeout, default limits
    /// and retry policy.
    pub fn new(
        library: impl Into<PathBuf>,
        corp_id: impl Into<String>,
        secret: impl Into<String>,
        mode: WorkerMode,
    ) -> SdkConfig {
        SdkConfig {
            library: library.into(),
            corp_id: corp_id.into(),
            secret: secret.into(),
            net: NetOptions::default(),
            mode,
            limits: WorkerLimits::default(),
            retry: RetryPolicy::default(),
        }
    }

    /// The per-call deadline in force.
    pub fn call_deadline(&self) -> Duration {
        self.limits.call_deadline.unwrap_or_else(|| {
            let timeout = Duration::from_secs(u64::from(self.net.timeout_secs().unsigned_abs()));
            timeout.saturating_mul(2) + Duration::from_secs(10)
        })
    }
}

impl std::fmt::Debug for SdkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdkConfig")
            .field("library", &self.library)
            .field("corp_id", &self.corp_id)
            .field("secret", &"<redacted>")
            .field("proxy", &wecom_wire::text::redact_url(&self.net.proxy))
            .field(
                "passwd",
                &if self.net.passwd.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("timeout", &self.net.timeout)
            .field("mode", &self.mode)
            .field("limits", &self.limits)
            .field("retry", &self.retry)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_keeps_secrets_out() {
        let mut config = SdkConfig::new("/l.so", "ww1", "archive-secret", WorkerMode::InProcess);
        config.net.proxy = "http://user:pw@127.0.0.1:3128".to_owned();
        config.net.passwd = "user:proxy-password".to_owned();
        let text = format!("{config:?}");
        for secret in ["archive-secret", "proxy-password", "user:pw"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("http://user:***@127.0.0.1:3128"), "{text}");
    }

    #[test]
    fn the_default_deadline_covers_token_and_data_requests() {
        let mut config = SdkConfig::new("/l.so", "ww1", "s", WorkerMode::InProcess);
        config.net.timeout = Duration::from_secs(5);
        assert_eq!(config.call_deadline(), Duration::from_secs(20));
        config.limits.call_deadline = Some(Duration::from_secs(3));
        assert_eq!(config.call_deadline(), Duration::from_secs(3));
    }
}
