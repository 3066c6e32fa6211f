//! Supervision of worker processes: spawn and open, one request at a time with a deadline, and
//! replacement when a worker crashes, hangs, or has grown (calls served, resident memory, open
//! descriptors, 10001 answers, which leak inside the library). Crashes are logged across all
//! workers of a source; too many in a window stop new workers until the window moves on.
//!
//! Everything here blocks: it runs on `spawn_blocking` threads and on two threads per worker that
//! read its stdout (frames) and stderr (kept for crash reports, forwarded to tracing).

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, BufWriter};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tracing::{info, warn};

use crate::config::{WorkerCommand, WorkerLimits};
use crate::protocol::{ErrorKind, Reply, Request, read_frame_limited, write_frame};
use crate::worker::Handler;

/// How long a new worker may take to load the library and answer `open`.
const OPEN_DEADLINE: Duration = Duration::from_secs(30);
/// How long a worker may take to exit after its stdin closed, or after it closed its stdout.
const EXIT_GRACE: Duration = Duration::from_secs(2);
/// Lines of a worker's stderr kept for crash reports, and the length kept of each.
const STDERR_LINES: usize = 8;
const STDERR_LINE_MAX: usize = 300;

/// Why a call got no reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    Crashed {
        function: &'static str,
        pid: u32,
        status: String,
        signal: Option<i32>,
        stderr: Vec<String>,
    },
    Hung {
        function: &'static str,
        pid: u32,
        deadline: Duration,
    },
    CrashLoop {
        crashes: usize,
        window: Duration,
        last: String,
    },
    /// The worker could not load or initialise the library.
    Library(String),
    Spawn(String),
    Protocol(String),
}

impl Failure {
    pub fn describe(&self) -> String {
        match self {
            Failure::Crashed {
                function,
                pid,
                status,
                stderr,
                ..
            } => {
                let mut text = format!("the worker (pid {pid}) {status} during {function}");
                if let Some(last) = stderr.last() {
                    text.push_str(&format!("; its last output: {last:?}"));
                }
                text.push_str("; the next call starts a new worker");
                text
            }
            Failure::Hung {
                function,
                pid,
                deadline,
            } => format!(
                "the worker (pid {pid}) did not finish {function} within {:.1} s; it was killed and the next call starts a new worker",
                deadline.as_secs_f64()
            ),
            Failure::CrashLoop {
                crashes,
                window,
                last,
            } => format!(
                "{crashes} worker crashes or hangs within {} s; no new worker is started until they age out (last: {last})",
                window.as_secs()
            ),
            Failure::Library(message) => message.clone(),
            Failure::Spawn(message) => message.clone(),
            Failure::Protocol(message) => message.clone(),
        }
    }
}

/// Why a worker was replaced while healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recycle {
    Calls,
    Memory,
    Fds,
    NetworkFailures,
    /// Its handle caches an access token the server no longer accepts; the library never
    /// refreshes it, a new handle does.
    Token,
}

impl Recycle {
    fn name(self) -> &'static str {
        match self {
            Recycle::Calls => "served its maximum number of calls",
            Recycle::Memory => "resident memory above the limit",
            Recycle::Fds => "open descriptors above the limit",
            Recycle::NetworkFailures => "too many 10001 answers (the library leaks on each)",
            Recycle::Token => "its cached access token was rejected",
        }
    }
}

/// Counters shared by every worker of a source.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub started: AtomicU64,
    pub calls: AtomicU64,
    pub crashes: AtomicU64,
    pub hangs: AtomicU64,
    pub recycled_calls: AtomicU64,
    pub recycled_memory: AtomicU64,
    pub recycled_fds: AtomicU64,
    pub recycled_failures: AtomicU64,
    pub recycled_token: AtomicU64,
}

impl Stats {
    fn count_recycle(&self, reason: Recycle) {
        let counter = match reason {
            Recycle::Calls => &self.recycled_calls,
            Recycle::Memory => &self.recycled_memory,
            Recycle::Fds => &self.recycled_fds,
            Recycle::NetworkFailures => &self.recycled_failures,
            Recycle::Token => &self.recycled_token,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Recent crashes and hangs of all workers of a source.
#[derive(Debug, Default)]
pub(crate) struct CrashLog {
    entries: VecDeque<(Instant, String)>,
}

impl CrashLog {
    pub fn record(&mut self, at: Instant, what: String) {
        self.entries.push_back((at, what));
    }

    /// `Some((crashes, last))` when `limit` or more crashes lie within `window` before `now`.
    pub fn refuse(
        &mut self,
        now: Instant,
        limit: u32,
        window: Duration,
    ) -> Option<(usize, String)> {
        while let Some((at, _)) = self.entries.front() {
            if now.saturating_duration_since(*at) > window {
                self.entries.pop_front();
            } else {
                break;
            }
        }
        let count = self.entries.len();
        (limit > 0 && count >= limit as usize).then(|| {
            (
                count,
                self.entries.back().map(|e| e.1.clone()).unwrap_or_default(),
            )
        })
    }
}

/// What every worker of a source shares.
pub(crate) struct Shared {
    /// The `open` request (library path and credentials).
    pub open: Request,
    pub limits: WorkerLimits,
    pub crash_log: Mutex<CrashLog>,
    pub stats: Stats,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where the library runs for one slot of a source.
pub(crate) enum Backend {
    Process(Supervisor),
    InProcess(InProcess),
}

impl Backend {
    pub fn call(&mut self, request: &Request, deadline: Duration) -> Result<Reply, Failure> {
        match self {
            Backend::Process(s) => s.call(request, deadline),
            Backend::InProcess(p) => p.call(request),
        }
    }

    pub fn ensure_open(&mut self) -> Result<(), Failure> {
        match self {
            Backend::Process(s) => s.ensure_child().map(|_| ()),
            Backend::InProcess(p) => p.ensure_open(),
        }
    }

    pub fn recycle(&mut self, reason: Recycle) {
        match self {
            Backend::Process(s) => s.recycle(reason),
            Backend::InProcess(p) => p.recycle(reason),
        }
    }

    pub fn shutdown(&mut self) {
        match self {
            Backend::Process(s) => s.shutdown(),
            Backend::InProcess(p) => p.handler = Handler::default(),
        }
    }
}

/// The in-process mode: the same handler, called directly.
pub(crate) struct InProcess {
    shared: Arc<Shared>,
    handler: Handler,
    open: bool,
}

impl InProcess {
    pub fn new(shared: Arc<Shared>) -> InProcess {
        InProcess {
            shared,
            handler: Handler::default(),
            open: false,
        }
    }

    fn ensure_open(&mut self) -> Result<(), Failure> {
        if !self.open {
            match self.handler.handle(self.shared.open.clone()) {
                Reply::Ready { .. } => {
                    self.open = true;
                    self.shared.stats.started.fetch_add(1, Ordering::Relaxed);
                }
                Reply::Error { message, .. } => return Err(Failure::Library(message)),
                other => {
                    return Err(Failure::Protocol(format!(
                        "unexpected answer to open: {}",
                        other.name()
                    )));
                }
            }
        }
        Ok(())
    }

    fn call(&mut self, request: &Request) -> Result<Reply, Failure> {
        self.ensure_open()?;
        let reply = self.handler.handle(request.clone());
        self.shared.stats.calls.fetch_add(1, Ordering::Relaxed);
        Ok(reply)
    }

    fn recycle(&mut self, reason: Recycle) {
        // Dropping the handler destroys the idle handle; the next call makes a new one.
        self.handler = Handler::default();
        self.open = false;
        self.shared.stats.count_recycle(reason);
    }
}

/// One slot's worker process, started on demand.
pub(crate) struct Supervisor {
    shared: Arc<Shared>,
    command: WorkerCommand,
    child: Option<Child>,
    /// Crashes since the last successful call of this slot, for the restart backoff.
    consecutive_crashes: u32,
}

impl Supervisor {
    pub fn new(shared: Arc<Shared>, command: WorkerCommand) -> Supervisor {
        Supervisor {
            shared,
            command,
            child: None,
            consecutive_crashes: 0,
        }
    }

    /// Sends `request` and waits at most `deadline` for its reply. A crash or hang fails this call
    /// only: the worker is reaped and the next call starts another.
    pub fn call(&mut self, request: &Request, deadline: Duration) -> Result<Reply, Failure> {
        self.ensure_child()?;
        let Some(child) = self.child.as_mut() else {
            return Err(Failure::Protocol("no worker after start".to_owned()));
        };
        let outcome = child.exchange(request, deadline);
        match outcome {
            Exchange::Reply(reply) => {
                self.consecutive_crashes = 0;
                self.shared.stats.calls.fetch_add(1, Ordering::Relaxed);
                child.calls += 1;
                if matches!(
                    reply,
                    Reply::ChatData { rc: 10001, .. } | Reply::MediaChunk { rc: 10001, .. }
                ) {
                    child.network_failures += 1;
                }
                if let Some(reason) = child.over_limits(&self.shared.limits) {
                    self.recycle(reason);
                }
                Ok(reply)
            }
            Exchange::Dead => Err(self.crashed(request.function())),
            Exchange::Timeout => Err(self.hung(request.function(), deadline)),
            Exchange::Protocol(message) => {
                if let Some(child) = self.child.take() {
                    child.kill();
                }
                Err(Failure::Protocol(message))
            }
        }
    }

    /// Starts (and opens) a worker unless one is running.
    pub fn ensure_child(&mut self) -> Result<&mut Child, Failure> {
        if self.child.is_none() {
            let child = self.start()?;
            self.child = Some(child);
        }
        self.child
            .as_mut()
            .ok_or_else(|| Failure::Protocol("no worker after start".to_owned()))
    }

    fn start(&mut self) -> Result<Child, Failure> {
        let limits = &self.shared.limits;
        if let Some((crashes, last)) = lock(&self.shared.crash_log).refuse(
            Instant::now(),
            limits.crash_limit,
            limits.crash_window,
        ) {
            return Err(Failure::CrashLoop {
                crashes,
                window: limits.crash_window,
                last,
            });
        }
        if self.consecutive_crashes > 0 {
            let exp = (self.consecutive_crashes - 1).min(20);
            let delay = limits
                .restart_backoff
                .saturating_mul(1 << exp)
                .min(limits.restart_backoff_max);
            std::thread::sleep(delay);
        }
        let mut child = Child::spawn(&self.command, limits.max_frame_bytes)?;
        self.shared.stats.started.fetch_add(1, Ordering::Relaxed);
        match child.exchange(&self.shared.open, OPEN_DEADLINE) {
            Exchange::Reply(Reply::Ready { .. }) => {
                info!(pid = child.pid, "vendor library worker started");
                Ok(child)
            }
            Exchange::Reply(Reply::Error { kind, message, .. }) => {
                child.close();
                Err(match kind {
                    ErrorKind::Library => Failure::Library(message),
                    _ => Failure::Protocol(message),
                })
            }
            Exchange::Reply(other) => {
                child.kill();
                Err(Failure::Protocol(format!(
                    "the worker answered open with {}",
                    other.name()
                )))
            }
            Exchange::Dead => {
                self.child = Some(child);
                Err(self.crashed(self.shared.open.function()))
            }
            Exchange::Timeout => {
                self.child = Some(child);
                Err(self.hung(self.shared.open.function(), OPEN_DEADLINE))
            }
            Exchange::Protocol(message) => {
                child.kill();
                Err(Failure::Protocol(format!(
                    "the worker command does not speak the worker protocol ({message}); it must run wecom_sdk::worker_main"
                )))
            }
        }
    }

    fn crashed(&mut self, function: &'static str) -> Failure {
        let Some(child) = self.child.take() else {
            return Failure::Protocol("no worker to reap".to_owned());
        };
        let pid = child.pid;
        let (status, stderr) = child.reap();
        let (status, signal) = describe_status(status);
        let failure = Failure::Crashed {
            function,
            pid,
            status,
            signal,
            stderr,
        };
        self.note_crash(&failure);
        self.shared.stats.crashes.fetch_add(1, Ordering::Relaxed);
        failure
    }

    fn hung(&mut self, function: &'static str, deadline: Duration) -> Failure {
        let Some(child) = self.child.take() else {
            return Failure::Protocol("no worker to kill".to_owned());
        };
        let pid = child.pid;
        child.kill();
        let failure = Failure::Hung {
            function,
            pid,
            deadline,
        };
        self.note_crash(&failure);
        self.shared.stats.hangs.fetch_add(1, Ordering::Relaxed);
        failure
    }

    fn note_crash(&mut self, failure: &Failure) {
        let text = failure.describe();
        warn!(failure = %text, "vendor library worker lost");
        self.consecutive_crashes = self.consecutive_crashes.saturating_add(1);
        lock(&self.shared.crash_log).record(Instant::now(), text);
    }

    /// Replaces a healthy worker: its stdin is closed so it destroys its handle and exits.
    pub fn recycle(&mut self, reason: Recycle) {
        if let Some(child) = self.child.take() {
            info!(
                pid = child.pid,
                calls = child.calls,
                reason = reason.name(),
                "recycling the vendor library worker"
            );
            child.close();
            self.shared.stats.count_recycle(reason);
        }
    }

    pub fn shutdown(&mut self) {
        if let Some(child) = self.child.take() {
            child.close();
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            // No waiting in drop: the worker exits by itself on EOF, or dies now.
            child.kill();
        }
    }
}

/// The outcome of one request/reply exchange.
pub(crate) enum Exchange {
    Reply(Reply),
    /// The worker closed its stdout or stdin: it died (or is dying).
    Dead,
    Timeout,
    Protocol(String),
}

/// A running worker process.
pub(crate) struct Child {
    process: std::process::Child,
    pub pid: u32,
    stdin: Option<BufWriter<ChildStdin>>,
    replies: mpsc::Receiver<io::Result<Reply>>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    stderr_done: mpsc::Receiver<()>,
    pub calls: u64,
    pub network_failures: u32,
}

impl Child {
    fn spawn(command: &WorkerCommand, max_frame: usize) -> Result<Child, Failure> {
        let mut process = Command::new(&command.program)
            .args(&command.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: a Ctrl-C at the terminal reaches the parent, which then
            // stops its workers in order, instead of killing a worker mid-call.
            .process_group(0)
            .spawn()
            .map_err(|e| {
                Failure::Spawn(format!(
                    "cannot start the worker {}: {e}",
                    command.program.display()
                ))
            })?;
        let pid = process.id();
        let (Some(stdin), Some(stdout), Some(stderr)) = (
            process.stdin.take(),
            process.stdout.take(),
            process.stderr.take(),
        ) else {
            let _ = process.kill();
            let _ = process.wait();
            return Err(Failure::Spawn("the worker's pipes are missing".to_owned()));
        };

        let (reply_tx, replies) = mpsc::channel();
        let reader = std::thread::Builder::new()
            .name(format!("sdk-worker-{pid}-out"))
            .spawn(move || {
                let mut stdout = BufReader::with_capacity(1 << 16, stdout);
                loop {
                    match read_frame_limited::<_, Reply>(&mut stdout, max_frame) {
                        Ok(Some(reply)) => {
                            if reply_tx.send(Ok(reply)).is_err() {
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            let _ = reply_tx.send(Err(e));
                            break;
                        }
                    }
                }
            });
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let (done_tx, stderr_done) = mpsc::channel();
        let tail = stderr_tail.clone();
        let logger = std::thread::Builder::new()
            .name(format!("sdk-worker-{pid}-err"))
            .spawn(move || {
                for line in BufReader::new(stderr).split(b'\n') {
                    let Ok(line) = line else { break };
                    let text: String = String::from_utf8_lossy(&line)
                        .trim_end()
                        .chars()
                        .take(STDERR_LINE_MAX)
                        .collect();
                    if text.is_empty() {
                        continue;
                    }
                    warn!(pid, line = %wecom_wire::text::Escaped(&text), "vendor library worker stderr");
                    let mut tail = lock(&tail);
                    if tail.len() >= STDERR_LINES {
                        tail.pop_front();
                    }
                    tail.push_back(text);
                }
                let _ = done_tx.send(());
            });
        if let Err(e) = reader.and(logger) {
            let _ = process.kill();
            let _ = process.wait();
            return Err(Failure::Spawn(format!(
                "cannot start the threads that read the worker: {e}"
            )));
        }
        Ok(Child {
            process,
            pid,
            stdin: Some(BufWriter::with_capacity(1 << 16, stdin)),
            replies,
            stderr_tail,
            stderr_done,
            calls: 0,
            network_failures: 0,
        })
    }

    fn exchange(&mut self, request: &Request, deadline: Duration) -> Exchange {
        let Some(stdin) = self.stdin.as_mut() else {
            return Exchange::Dead;
        };
        if let Err(e) = write_frame(stdin, request) {
            return match e.kind() {
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => Exchange::Dead,
                _ => Exchange::Protocol(format!("cannot write to the worker: {e}")),
            };
        }
        match self.replies.recv_timeout(deadline) {
            Ok(Ok(reply)) => Exchange::Reply(reply),
            // A frame cut short: the worker died while writing it.
            Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => Exchange::Dead,
            Ok(Err(e)) => Exchange::Protocol(format!("unreadable answer from the worker: {e}")),
            Err(RecvTimeoutError::Timeout) => Exchange::Timeout,
            Err(RecvTimeoutError::Disconnected) => Exchange::Dead,
        }
    }

    /// The limit this worker is over, if any (checked after each call).
    fn over_limits(&self, limits: &WorkerLimits) -> Option<Recycle> {
        if self.calls >= limits.max_calls {
            return Some(Recycle::Calls);
        }
        if self.network_failures >= limits.max_network_failures {
            return Some(Recycle::NetworkFailures);
        }
        if fd_count(self.pid).is_some_and(|n| n > limits.max_fds) {
            return Some(Recycle::Fds);
        }
        if rss_bytes(self.pid).is_some_and(|n| n > limits.max_rss_bytes) {
            return Some(Recycle::Memory);
        }
        None
    }

    /// Waits for a dying worker (killing it after a grace period) and returns its status and the
    /// last lines it wrote to stderr.
    fn reap(mut self) -> (Option<ExitStatus>, Vec<String>) {
        self.stdin = None;
        let status = wait_or_kill(&mut self.process, EXIT_GRACE);
        // The stderr pipe closes with the process; give the logger a moment to read the rest.
        let _ = self.stderr_done.recv_timeout(Duration::from_millis(500));
        let tail = lock(&self.stderr_tail).iter().cloned().collect();
        (status, tail)
    }

    /// Graceful stop: close stdin (the worker destroys its handle and exits), then kill after
    /// the grace period.
    fn close(mut self) {
        self.stdin = None;
        wait_or_kill(&mut self.process, EXIT_GRACE);
    }

    fn kill(mut self) {
        self.stdin = None;
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn wait_or_kill(process: &mut std::process::Child, grace: Duration) -> Option<ExitStatus> {
    let until = Instant::now() + grace;
    loop {
        match process.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) | Err(_) => {
                let _ = process.kill();
                return process.wait().ok();
            }
        }
    }
}

/// "was killed by SIGABRT (abort)" or "exited with status 3", and the signal.
pub(crate) fn describe_status(status: Option<ExitStatus>) -> (String, Option<i32>) {
    let Some(status) = status else {
        return ("vanished (its exit status is unknown)".to_owned(), None);
    };
    if let Some(signal) = status.signal() {
        let core = if status.core_dumped() {
            ", core dumped"
        } else {
            ""
        };
        return (
            format!("was killed by {}{core}", signal_name(signal)),
            Some(signal),
        );
    }
    match status.code() {
        Some(code) => (format!("exited with status {code}"), None),
        None => (format!("ended ({status})"), None),
    }
}

/// `SIGABRT (abort)` and friends.
pub(crate) fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGABRT => "SIGABRT (abort)",
        libc::SIGSEGV => "SIGSEGV (segmentation fault)",
        libc::SIGBUS => "SIGBUS (bus error)",
        libc::SIGFPE => "SIGFPE (arithmetic error)",
        libc::SIGILL => "SIGILL (illegal instruction)",
        libc::SIGKILL => "SIGKILL (killed)",
        libc::SIGTERM => "SIGTERM (terminated)",
        libc::SIGINT => "SIGINT (interrupted)",
        libc::SIGPIPE => "SIGPIPE (broken pipe)",
        libc::SIGTRAP => "SIGTRAP (trap)",
        libc::SIGSYS => "SIGSYS (bad system call)",
        other => return format!("signal {other}"),
    };
    name.to_owned()
}

/// Resident memory of a process, from `/proc/<pid>/status`.
pub(crate) fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Open descriptors of a process, from `/proc/<pid>/fd`.
pub(crate) fn fd_count(pid: u32) -> Option<u64> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crash_log_refuses_while_too_many_crashes_are_recent() {
        let mut log = CrashLog::default();
        let t0 = Instant::now();
        let window = Duration::from_secs(60);
        for i in 0..3 {
            log.record(t0 + Duration::from_secs(i), format!("crash {i}"));
        }
        assert_eq!(log.refuse(t0 + Duration::from_secs(3), 4, window), None);
        assert_eq!(
            log.refuse(t0 + Duration::from_secs(3), 3, window),
            Some((3, "crash 2".to_owned()))
        );
        // The first crash ages out: two remain.
        assert_eq!(
            log.refuse(
                t0 + Duration::from_secs(61) + Duration::from_millis(1),
                3,
                window
            ),
            None
        );
        assert_eq!(log.refuse(t0 + Duration::from_secs(200), 1, window), None);
        assert_eq!(log.refuse(t0, 0, window), None, "0 disables the guard");
    }

    #[test]
    fn statuses_name_the_signal() {
        let abort = ExitStatus::from_raw(libc::SIGABRT);
        let (text, signal) = describe_status(Some(abort));
        assert_eq!(text, "was killed by SIGABRT (abort)");
        assert_eq!(signal, Some(libc::SIGABRT));
        let exited = ExitStatus::from_raw(3 << 8);
        assert_eq!(
            describe_status(Some(exited)),
            ("exited with status 3".to_owned(), None)
        );
        assert_eq!(signal_name(64), "signal 64");
    }

    #[test]
    fn proc_readings_of_this_process_make_sense() {
        let me = std::process::id();
        assert!(rss_bytes(me).is_some_and(|b| b > 1 << 20));
        assert!(fd_count(me).is_some_and(|n| n >= 3));
        assert_eq!(rss_bytes(u32::MAX), None);
    }
}
