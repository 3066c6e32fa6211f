//! [`SdkSource`]: the vendor library as an [`ArchiveSource`] and a media downloader, through
//! supervised worker processes (or in process, for debugging). Every library call runs on a
//! blocking thread; the async side only waits.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use md5::{Digest, Md5};
use tokio::sync::Semaphore;
use tracing::{debug, warn};
use wecom_client::{MediaDownload, RetryPolicy};
use wecom_crypto::{SdkFileId, SdkFileIdError};
use wecom_wire::{
    ArchiveSource, ChatDataReply, ChatPage, MAX_LIMIT, MediaChunkSink, SdkCode, SourceError,
    errcode,
};

use crate::config::{SdkConfig, WorkerMode};
use crate::error::{SdkErrorKind, SdkSourceError};
use crate::library::check_library_file;
use crate::protocol::{DecryptInput, ErrorKind, PROTOCOL_VERSION, Reply, Request, WireNet};
use crate::sdk::{MediaChunk, SdkError, parse_chat_data};
use crate::supervisor::{
    Backend, CrashLog, Failure, InProcess, Recycle, Shared, Stats, Supervisor,
};

/// How many times one call may start a fresh handle because the server rejected the cached token.
const MAX_TOKEN_REFRESHES: u32 = 2;
/// Deadline of a DecryptData batch (pure CPU; a 50 MB message takes 0.3 s).
const DECRYPT_DEADLINE: Duration = Duration::from_secs(120);
/// A media object of more chunks than this is refused (16 TiB at 512 KiB per chunk): the
/// library's index must be going round in circles.
const MAX_CHUNKS: u32 = 1 << 25;

/// Counters of a source's workers since it was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SdkStats {
    /// Workers started (in process: handles created).
    pub workers_started: u64,
    /// Calls answered by a worker.
    pub calls: u64,
    /// Workers that died during a call.
    pub crashes: u64,
    /// Workers killed for missing a call deadline.
    pub hangs: u64,
    /// Healthy workers replaced: after their maximum number of calls, …
    pub recycled_for_calls: u64,
    /// … for resident memory, …
    pub recycled_for_memory: u64,
    /// … for open descriptors, …
    pub recycled_for_fds: u64,
    /// … for 10001 answers (each leaks inside the library), …
    pub recycled_for_network_failures: u64,
    /// … and to get a fresh access token.
    pub recycled_for_token: u64,
}

impl SdkStats {
    /// Every recycling, whatever the reason.
    pub fn recycled(&self) -> u64 {
        self.recycled_for_calls
            + self.recycled_for_memory
            + self.recycled_for_fds
            + self.recycled_for_network_failures
            + self.recycled_for_token
    }
}

/// The vendor library behind the [`ArchiveSource`] seam. Cheap to clone (clones share workers).
///
/// Calls run on a pool of `limits.workers` slots, each a worker process with its own SDK handle
/// (one call at a time per handle, as the library requires). A worker that crashes or hangs fails
/// the call in flight only; the next call starts a new one after a backoff.
#[derive(Clone)]
pub struct SdkSource {
    inner: Arc<Inner>,
}

struct Inner {
    net: WireNet,
    retry: RetryPolicy,
    deadline: Duration,
    slots: Vec<Mutex<Backend>>,
    free: Mutex<Vec<usize>>,
    permits: Arc<Semaphore>,
    shared: Arc<Shared>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl std::fmt::Debug for SdkSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdkSource")
            .field("workers", &self.inner.slots.len())
            .field("deadline", &self.inner.deadline)
            .finish_non_exhaustive()
    }
}

impl SdkSource {
    /// Checks the configuration and the library file (exists, a shared library for this
    /// machine); starts no worker yet ([`SdkSource::start`] does, or the first call).
    pub fn new(config: SdkConfig) -> Result<SdkSource, SdkSourceError> {
        if config.corp_id.trim().is_empty() || config.secret.trim().is_empty() {
            return Err(SdkSourceError::new(
                SdkErrorKind::InvalidArgument,
                "the corp id and the 会话内容存档 secret are required",
            ));
        }
        check_library_file(&config.library)
            .map_err(|e| SdkSourceError::new(SdkErrorKind::Library, e.to_string()))?;
        let deadline = config.call_deadline();
        let workers = config.limits.workers.max(1);
        let net = WireNet {
            proxy: config.net.proxy.clone(),
            passwd: config.net.passwd.clone(),
            timeout_secs: u64::from(config.net.timeout_secs().unsigned_abs()),
        };
        let shared = Arc::new(Shared {
            open: Request::Open {
                protocol: PROTOCOL_VERSION,
                library: config.library.clone(),
                corp_id: config.corp_id.clone(),
                secret: config.secret.clone(),
            },
            limits: config.limits.clone(),
            crash_log: Mutex::new(CrashLog::default()),
            stats: Stats::default(),
        });
        let slots = (0..workers)
            .map(|_| {
                Mutex::new(match &config.mode {
                    WorkerMode::Process(command) => {
                        Backend::Process(Supervisor::new(shared.clone(), command.clone()))
                    }
                    WorkerMode::InProcess => Backend::InProcess(InProcess::new(shared.clone())),
                })
            })
            .collect();
        Ok(SdkSource {
            inner: Arc::new(Inner {
                net,
                retry: RetryPolicy {
                    max_attempts: config.retry.max_attempts.max(1),
                    ..config.retry
                },
                deadline,
                slots,
                free: Mutex::new((0..workers).rev().collect()),
                permits: Arc::new(Semaphore::new(workers)),
                shared,
            }),
        })
    }

    /// Starts every worker and loads the library in each, so that a library that cannot load
    /// (glibc too old, a missing symbol) is reported at start-up rather than at the first sync.
    pub async fn start(&self) -> Result<(), SdkSourceError> {
        self.with_all(|backend| backend.ensure_open().map_err(failure_error))
            .await?
            .into_iter()
            .collect()
    }

    /// Stops every worker gracefully (each destroys its handle and exits). Later calls fail with
    /// [`SdkErrorKind::ShutDown`].
    pub async fn shutdown(&self) {
        let _ = self
            .with_all(|backend| {
                backend.shutdown();
            })
            .await;
        self.inner.permits.close();
    }

    /// What the workers have been through.
    pub fn stats(&self) -> SdkStats {
        let s = &self.inner.shared.stats;
        let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        SdkStats {
            workers_started: get(&s.started),
            calls: get(&s.calls),
            crashes: get(&s.crashes),
            hangs: get(&s.hangs),
            recycled_for_calls: get(&s.recycled_calls),
            recycled_for_memory: get(&s.recycled_memory),
            recycled_for_fds: get(&s.recycled_fds),
            recycled_for_network_failures: get(&s.recycled_failures),
            recycled_for_token: get(&s.recycled_token),
        }
    }

    /// The per-call deadline in force.
    pub fn call_deadline(&self) -> Duration {
        self.inner.deadline
    }

    /// Runs `f` on a free slot, on a blocking thread. Cancel-safe: if the caller goes away, the
    /// call still completes and the slot is returned to the pool.
    async fn with_backend<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Backend) -> R + Send + 'static,
    ) -> Result<R, SdkSourceError> {
        let permit = self
            .inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| shut_down())?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let index = lock(&inner.free).pop()?;
            let result = inner.slots.get(index).map(|slot| f(&mut lock(slot)));
            lock(&inner.free).push(index);
            result
        })
        .await
        .map_err(|e| SdkSourceError::new(SdkErrorKind::Worker, format!("worker task: {e}")))?
        .ok_or_else(|| SdkSourceError::new(SdkErrorKind::Worker, "no free worker slot"))
    }

    /// Runs `f` on every slot (waiting until all are idle).
    async fn with_all<R: Send + 'static>(
        &self,
        f: impl Fn(&mut Backend) -> R + Send + 'static,
    ) -> Result<Vec<R>, SdkSourceError> {
        let n = u32::try_from(self.inner.slots.len()).unwrap_or(u32::MAX);
        let permits = self
            .inner
            .permits
            .clone()
            .acquire_many_owned(n)
            .await
            .map_err(|_| shut_down())?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let _permits = permits;
            inner.slots.iter().map(|slot| f(&mut lock(slot))).collect()
        })
        .await
        .map_err(|e| SdkSourceError::new(SdkErrorKind::Worker, format!("worker task: {e}")))
    }

    /// One GetChatData call (no retries), its body parsed and its `errcode` checked. An errcode
    /// saying the token is stale (40014, 42001, 40001) replaces the handle and tries again, at
    /// most twice: the library itself never refreshes its token.
    pub async fn fetch_chat_data(
        &self,
        after_seq: u64,
        limit: u32,
    ) -> Result<ChatDataReply, SdkSourceError> {
        let request = Request::ChatData {
            seq: after_seq,
            limit,
            net: self.inner.net.clone(),
        };
        let deadline = self.inner.deadline;
        self.with_backend(move |backend| {
            let mut refreshes = 0;
            loop {
                let reply = backend.call(&request, deadline).map_err(failure_error)?;
                let result = match reply {
                    Reply::ChatData { rc: 0, body } => parse_chat_data(&body).map_err(sdk_error),
                    Reply::ChatData { rc, .. } => Err(code_error(rc)),
                    other => Err(unexpected(other)),
                };
                match result {
                    Err(e)
                        if matches!(e.kind(), SdkErrorKind::Api { errcode } if errcode::token_must_refresh(*errcode))
                            && refreshes < MAX_TOKEN_REFRESHES =>
                    {
                        refreshes += 1;
                        debug!("the server rejected the library's cached token; starting a fresh handle");
                        backend.recycle(Recycle::Token);
                    }
                    other => return other,
                }
            }
        })
        .await?
    }

    /// One GetMediaData call, exactly as the library makes it (no checks, no retries): for tests
    /// and diagnostics. An sdkfileid such as `"="` aborts the worker; [`SdkSource::download_media`]
    /// refuses those.
    pub async fn get_media_chunk(
        &self,
        sdkfileid: &str,
        indexbuf: &str,
    ) -> Result<MediaChunk, SdkSourceError> {
        let request = Request::MediaChunk {
            sdkfileid: sdkfileid.to_owned(),
            indexbuf: indexbuf.to_owned(),
            net: self.inner.net.clone(),
        };
        let deadline = self.inner.deadline;
        self.with_backend(move |backend| media_call(backend, &request, deadline))
            .await?
    }

    /// Downloads one media object chunk by chunk (GetMediaData with indexbuf / outindexbuf /
    /// is_finish), handing each decrypted chunk to `sink` in order, with the same result type as
    /// the native client's `download_media`. 10001–10003 retry the same chunk with the retry
    /// policy (the first 10002 of a chunk on a fresh handle, since the library reports a stale
    /// token as 10002); a crash or hang of the worker fails the download. The md5 is computed on
    /// the blocking thread.
    ///
    /// Sdkfileids the library would abort the process on (`"="`, `"A="`…) are refused here with
    /// 10005. On error the sink may hold a prefix of the object: discard it.
    pub async fn download_media(
        &self,
        sdkfileid: &str,
        sink: &mut dyn MediaChunkSink,
    ) -> Result<MediaDownload, SdkSourceError> {
        if let Err(SdkFileIdError::Base64 {
            real_library_crashes: true,
        }) = SdkFileId::decode(sdkfileid)
        {
            return Err(SdkSourceError::new(
                SdkErrorKind::InvalidArgument,
                "the sdkfileid is not base64 (more '=' than data); the vendor library would abort on it",
            ));
        }
        let retry = self.inner.retry.clone();
        let mut index = String::new();
        let mut md5 = Some(Md5::new());
        let mut plaintext_len = 0u64;
        let mut chunks = 0u32;
        let mut retries = 0u32;
        loop {
            let mut attempt = 0u32;
            let mut refreshed = false;
            let chunk = loop {
                attempt += 1;
                let request = Request::MediaChunk {
                    sdkfileid: sdkfileid.to_owned(),
                    indexbuf: index.clone(),
                    net: self.inner.net.clone(),
                };
                let deadline = self.inner.deadline;
                let hasher = md5.take().unwrap_or_default();
                let (result, hasher, recycled) = self
                    .with_backend(move |backend| {
                        let mut hasher = hasher;
                        let result = media_call(backend, &request, deadline);
                        let mut recycled = false;
                        match &result {
                            Ok(chunk) => hasher.update(&chunk.data),
                            // The first 10002 of a chunk gets a fresh handle (and token).
                            Err(e)
                                if !refreshed
                                    && e.kind() == &SdkErrorKind::Sdk(SdkCode::DataParse) =>
                            {
                                backend.recycle(Recycle::Token);
                                recycled = true;
                            }
                            Err(_) => {}
                        }
                        (result, hasher, recycled)
                    })
                    .await
                    .map_err(|e| e.at(plaintext_len))?;
                refreshed |= recycled;
                md5 = Some(hasher);
                match result {
                    Ok(chunk) => break chunk,
                    Err(e)
                        if e.is_retryable()
                            && matches!(e.kind(), SdkErrorKind::Sdk(_))
                            && attempt < retry.max_attempts =>
                    {
                        retries += 1;
                        let delay = retry.delay(attempt);
                        warn!(error = %e, offset = plaintext_len, attempt, delay_ms = delay.as_millis() as u64, "media chunk failed; retrying");
                        tokio::time::sleep(delay).await;
                    }
                    Err(e) => return Err(e.gave_up(attempt).at(plaintext_len)),
                }
            };
            chunks += 1;
            if !chunk.is_finish && (chunk.next_index.is_empty() || chunk.next_index == index) {
                return Err(SdkSourceError::new(
                    SdkErrorKind::InvalidResponse,
                    format!(
                        "the library reported an unfinished object without a new index ({:?} after {index:?})",
                        chunk.next_index
                    ),
                )
                .at(plaintext_len));
            }
            if chunks > MAX_CHUNKS {
                return Err(SdkSourceError::new(
                    SdkErrorKind::InvalidResponse,
                    format!("more than {MAX_CHUNKS} chunks"),
                )
                .at(plaintext_len));
            }
            if !chunk.data.is_empty() {
                sink.write(&chunk.data)
                    .await
                    .map_err(|e| SdkSourceError::sink(e, plaintext_len))?;
            }
            plaintext_len += chunk.data.len() as u64;
            if chunk.is_finish {
                let md5 = md5.take().unwrap_or_default();
                return Ok(MediaDownload {
                    plaintext_len,
                    // PKCS#7 always pads: the stored object is the next multiple of 16 above.
                    ciphertext_len: (plaintext_len / 16 + 1) * 16,
                    md5: hex::encode(md5.finalize()),
                    chunks,
                    retries,
                });
            }
            index = chunk.next_index;
        }
    }

    /// The library's DecryptData on many inputs in one worker call, for the conformance suite
    /// (the archive itself decrypts with `wecom_crypto`). `Ok(Err(code))` is a non-zero return
    /// code; inputs with bytes >= 0x80 get 10000 without reaching the library. Inputs on which
    /// the library aborts kill the worker and fail the whole batch.
    pub async fn decrypt_data_batch(
        &self,
        items: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<Vec<Result<Vec<u8>, SdkCode>>, SdkSourceError> {
        let expected = items.len();
        let request = Request::Decrypt {
            items: items
                .into_iter()
                .map(|(encrypt_key, encrypt_msg)| DecryptInput {
                    encrypt_key,
                    encrypt_msg,
                })
                .collect(),
        };
        let deadline = self.inner.deadline.max(DECRYPT_DEADLINE);
        let reply = self
            .with_backend(move |backend| backend.call(&request, deadline))
            .await?
            .map_err(failure_error)?;
        match reply {
            Reply::Decrypt { results } if results.len() == expected => Ok(results
                .into_iter()
                .map(|r| {
                    if r.rc == 0 {
                        Ok(r.output)
                    } else {
                        Err(SdkCode::from_code(r.rc))
                    }
                })
                .collect()),
            other => Err(unexpected(other)),
        }
    }
}

impl ArchiveSource for SdkSource {
    /// GetChatData with retries: 10001–10003, unparsable bodies and errcodes -1/45009 are retried
    /// with the configured backoff; a crashed or hung worker is not (the error says so and the
    /// next call runs on a new worker).
    async fn fetch_page(&self, after_seq: u64, limit: u32) -> Result<ChatPage, SourceError> {
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(SdkSourceError::new(
                SdkErrorKind::InvalidArgument,
                format!("limit {limit} is outside 1..={MAX_LIMIT}"),
            )
            .into());
        }
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match self.fetch_chat_data(after_seq, limit).await {
                Ok(response) => match ChatPage::checked(response, limit) {
                    Ok(page) => return Ok(page),
                    Err(e) if attempt < self.inner.retry.max_attempts => {
                        let delay = self.inner.retry.delay(attempt);
                        warn!(error = %e, attempt, delay_ms = delay.as_millis() as u64, after_seq, "GetChatData answered too many items; retrying");
                        tokio::time::sleep(delay).await;
                    }
                    Err(mut e) => {
                        e.message = format!("{} (gave up after {attempt} attempts)", e.message);
                        return Err(e);
                    }
                },
                Err(e)
                    if e.is_retryable()
                        && !matches!(
                            e.kind(),
                            SdkErrorKind::WorkerCrashed { .. }
                                | SdkErrorKind::WorkerHung
                                | SdkErrorKind::CrashLoop
                        )
                        && attempt < self.inner.retry.max_attempts =>
                {
                    let delay = self.inner.retry.delay(attempt);
                    warn!(error = %e, attempt, delay_ms = delay.as_millis() as u64, after_seq, "GetChatData failed; retrying");
                    tokio::time::sleep(delay).await;
                }
                Err(e) => return Err(e.gave_up(attempt).into()),
            }
        }
    }
}

fn media_call(
    backend: &mut Backend,
    request: &Request,
    deadline: Duration,
) -> Result<MediaChunk, SdkSourceError> {
    match backend.call(request, deadline).map_err(failure_error)? {
        Reply::MediaChunk {
            rc: 0,
            data,
            next_index,
            is_finish,
        } => Ok(MediaChunk {
            data,
            next_index,
            is_finish,
        }),
        Reply::MediaChunk { rc, .. } => Err(code_error(rc)),
        other => Err(unexpected(other)),
    }
}

fn code_error(rc: i32) -> SdkSourceError {
    let code = SdkCode::from_code(rc);
    let hint = match code {
        SdkCode::Network => {
            " (network, proxy, TLS, a non-2xx answer or the timeout; the library says no more)"
        }
        SdkCode::DataParse => {
            " (also what the library returns for any media errcode, e.g. an unknown fileid or a stale token)"
        }
        SdkCode::IpNotAllowed => {
            " (add this machine's IP to the archive's trusted IPs in the admin console)"
        }
        _ => "",
    };
    SdkSourceError::new(
        SdkErrorKind::Sdk(code),
        format!("{}{hint}", code.describe()),
    )
}

fn sdk_error(e: SdkError) -> SdkSourceError {
    match e {
        SdkError::Code(code) => code_error(code.code()),
        SdkError::Api { errcode, errmsg } => {
            let hint = match errcode {
                errcode::API_FORBIDDEN => " (use the 会话内容存档 secret, not an app secret)",
                errcode::INVALID_CREDENTIAL => " (check the corp id and the 会话内容存档 secret)",
                _ => "",
            };
            SdkSourceError::new(
                SdkErrorKind::Api { errcode },
                format!("{}{hint}", errmsg.trim()),
            )
        }
        SdkError::InvalidResponse(m) => SdkSourceError::new(
            SdkErrorKind::InvalidResponse,
            format!("GetChatData returned 0 with a body that is not the chat-data JSON: {m}"),
        ),
        SdkError::InvalidArgument(m) => SdkSourceError::new(SdkErrorKind::InvalidArgument, m),
        SdkError::Null(what) => SdkSourceError::new(
            SdkErrorKind::Worker,
            format!("the vendor library returned no {what}"),
        ),
    }
}

fn failure_error(f: Failure) -> SdkSourceError {
    let text = f.describe();
    match f {
        Failure::Crashed { signal, .. } => {
            SdkSourceError::new(SdkErrorKind::WorkerCrashed { signal }, text)
        }
        Failure::Hung { .. } => SdkSourceError::new(SdkErrorKind::WorkerHung, text),
        Failure::CrashLoop { .. } => SdkSourceError::new(SdkErrorKind::CrashLoop, text),
        Failure::Library(_) => SdkSourceError::new(SdkErrorKind::Library, text),
        Failure::Spawn(_) => SdkSourceError::new(SdkErrorKind::Worker, text),
        Failure::Protocol(_) => {
            SdkSourceError::new(SdkErrorKind::Worker, text).with_retryable(true)
        }
    }
}

fn unexpected(reply: Reply) -> SdkSourceError {
    match reply {
        Reply::Error {
            kind: ErrorKind::InvalidArgument,
            message,
            ..
        } => SdkSourceError::new(SdkErrorKind::InvalidArgument, message),
        Reply::Error {
            kind: ErrorKind::InvalidResponse,
            message,
            ..
        } => SdkSourceError::new(SdkErrorKind::InvalidResponse, message),
        Reply::Error {
            kind: ErrorKind::Library,
            message,
            ..
        } => SdkSourceError::new(SdkErrorKind::Library, message),
        Reply::Error { message, .. } => SdkSourceError::new(SdkErrorKind::Worker, message),
        other => SdkSourceError::new(
            SdkErrorKind::Worker,
            format!("the worker answered with the wrong reply: {}", other.name()),
        )
        .with_retryable(true),
    }
}

fn shut_down() -> SdkSourceError {
    SdkSourceError::new(SdkErrorKind::ShutDown, "the source was shut down")
}
