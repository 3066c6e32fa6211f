//! The emulator's state: the corpus encrypted as served, issued tokens, queued faults and counters.
//! HTTP shapes live in `server.rs`; this module knows nothing about HTTP.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wecom_crypto::PublicKey;
use wecom_wire::ChatDataItem;
use wecom_wire::directory::SecretKind;

use crate::corpus::{CorpusGenerator, CorpusSpec, Directory, PlainRecord, ShowcaseMessage};
use crate::directory_state::DirectoryState;
use crate::media::{MediaFormat, MediaKind, MediaSpec};

/// How the emulator behaves.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The corpid `gettoken` accepts.
    pub corp_id: String,
    /// The archive secret `gettoken` accepts: its tokens serve getchatdata, getchatmediadata
    /// and every `msgaudit/*` API.
    pub secret: String,
    /// The 通讯录 (contacts) secret: its tokens serve `user/get`. `None`: not configured
    /// (gettoken answers 40001 for it like any unknown secret).
    pub contacts_secret: Option<String>,
    /// The 客户联系 (customer contact) secret: its tokens serve `externalcontact/*`.
    pub customer_secret: Option<String>,
    /// A self-built app's secret: gettoken accepts it, but getchatdata, getchatmediadata and
    /// every directory API answer 48002 `api forbidden` to its tokens, as WeCom does since late
    /// 2022 for app secrets used on the archive (reference §7 #4).
    pub app_secret: Option<String>,
    /// Built-in rate limit of the directory APIs: above this many requests in a fixed one-minute
    /// window, each answers 45009. `None`: unlimited.
    pub api_rate_limit_per_minute: Option<u32>,
    pub corpus: CorpusSpec,
    /// Public keys by `publickey_ver`. Records use version 1, or 2 after the rotation point.
    pub public_keys: BTreeMap<u32, PublicKey>,
    /// Records with `seq > X` are encrypted with key version 2 (a key rotation in the console).
    pub rotate_to_v2_after_seq: Option<u64>,
    /// Lifetime of issued access tokens; `expires_in` reports it in whole seconds, rounded up.
    pub token_ttl: Duration,
    /// Append records continuously while serving.
    pub live: Option<LiveConfig>,
    /// Reject getchatdata requests whose `encrypt_sign` does not match the access token (errcode
    /// 40058). Whether WeCom checks it is unknown; our client computes it, so checking by default
    /// catches a client that gets it wrong. Turn off to accept anything.
    pub check_encrypt_sign: bool,
    /// Send `msgaudit_notify` callbacks to a URL when records are appended, as WeCom does.
    pub callback: Option<CallbackConfig>,
}

/// Where and how the emulator sends its encrypted `msgaudit_notify` callbacks.
#[derive(Debug, Clone)]
pub struct CallbackConfig {
    /// The receiver, e.g. `http://127.0.0.1:8780/callback/<corp_id>`.
    pub url: String,
    pub token: String,
    pub encoding_aes_key: String,
    pub agent_id: String,
    /// At most one callback per interval (WeCom: 15 s); appends in between coalesce into one.
    pub min_interval: Duration,
    /// Share of callbacks silently not sent, 0.0..=1.0 (real callbacks can be lost).
    pub drop_probability: f64,
}

impl CallbackConfig {
    pub fn new(
        url: impl Into<String>,
        token: impl Into<String>,
        encoding_aes_key: impl Into<String>,
    ) -> CallbackConfig {
        CallbackConfig {
            url: url.into(),
            token: token.into(),
            encoding_aes_key: encoding_aes_key.into(),
            agent_id: "2000004".to_owned(),
            min_interval: Duration::from_secs(15),
            drop_probability: 0.0,
        }
    }
}

impl EmulatorConfig {
    /// Defaults: the corpus' corp_id, secret `emulator-archive-secret` (contacts
    /// `emulator-contacts-secret`, customer contact `emulator-customer-secret`, app
    /// `emulator-app-secret`), no rotation, 7200 s tokens, no live mode, `encrypt_sign` checked,
    /// no directory API rate limit.
    pub fn new(corpus: CorpusSpec, public_keys: BTreeMap<u32, PublicKey>) -> EmulatorConfig {
        EmulatorConfig {
            corp_id: corpus.corp_id.clone(),
            secret: "emulator-archive-secret".to_owned(),
            contacts_secret: Some("emulator-contacts-secret".to_owned()),
            customer_secret: Some("emulator-customer-secret".to_owned()),
            app_secret: Some("emulator-app-secret".to_owned()),
            api_rate_limit_per_minute: None,
            corpus,
            public_keys,
            rotate_to_v2_after_seq: None,
            token_ttl: Duration::from_secs(7200),
            live: None,
            check_encrypt_sign: true,
            callback: None,
        }
    }
}

/// Live mode: new records appear while the server runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveConfig {
    pub messages_per_second: f64,
}

/// A failure injected into upcoming getchatdata requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 500 with an HTML body.
    Http500,
    /// HTTP 502 with a gateway's HTML body.
    Http502,
    /// The connection is closed without any response byte.
    DropConnection,
    /// The request is answered normally after this delay.
    Delay(Duration),
    /// `{"errcode":-1,"errmsg":"system busy"}` with HTTP 200.
    ErrcodeSystemBusy,
    /// Every issued token expires now; the request (and any later one with an old token) gets
    /// 42001. Applies once whatever `times` says.
    ExpireTokens,
    /// The response announces its full Content-Length, sends half of the body and closes.
    TruncatedBody,
    /// Hostile: the page's first item carries an invalid UTF-8 byte inside its msgid (serde_json
    /// rejects the whole body for it).
    UnreadableItem,
    /// Hostile: the page's first item has no `msgid`.
    ItemWithoutMsgid,
    /// Hostile: the page's last item is answered under this seq and the msgid `hostile-<seq>`
    /// (its ciphertext unchanged); the real record comes with the next page.
    ItemWithSeq { seq: u64 },
    /// Hostile: the records after seq 0 are answered whatever seq was asked for (only replays
    /// once the archive is past them).
    ReplayFirstPage,
    /// Hostile: this many more items than the request's `limit`.
    ExtraItems(u32),
    /// Any errcode with this errmsg, HTTP 200 (e.g. an errmsg carrying control characters or an
    /// ANSI escape, to check that operators see it escaped).
    Errcode { errcode: i64, errmsg: &'static str },
}

/// A failure injected into upcoming getchatmediadata requests (see [`MediaFaultRule`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaFault {
    /// HTTP 500 with an HTML body.
    Http500,
    /// The connection is closed without any response byte.
    DropConnection,
    /// The request is answered normally after this delay (a slow chunk; past the client's
    /// timeout, a timeout).
    Delay(Duration),
    /// `{"errcode":-1,"errmsg":"system busy"}` with HTTP 200 (the vendor library: 10002).
    SystemBusy,
    /// Any other errcode with HTTP 200 (e.g. 45009 rate limited, 301010 unknown fileid).
    Errcode(i64),
    /// errcode 301048: the data has expired (vendor library: 10010).
    Expired,
    /// errcode 301042: the caller's IP is not in the trusted list (vendor library: 10009).
    IpNotAllowed,
    /// Every issued token expires now and the request gets 42001.
    ExpireTokens,
    /// A well-formed answer whose ciphertext has its first byte flipped: the chunk decrypts to
    /// wrong bytes (the object's md5 no longer matches) or, for a final chunk of one block, to bad
    /// padding. Injected for every request of one fileid, the object is corrupt every time.
    CorruptChunk,
    /// A well-formed answer whose `content` is one block shorter than its CONTENT-RANGE says.
    ShortContent,
    /// The response announces its full Content-Length, sends half of the body and closes.
    TruncatedBody,
    /// HTTP 200 with an HTML body (vendor library: 10003).
    NotJson,
    /// The standard `Content-Range: bytes a-b/total` instead of WeCom's upper-case
    /// `CONTENT-RANGE: BYTES a-b/total`. The vendor library does not recognise it (it then takes
    /// any chunk for the last one); a client reading headers case-insensitively does.
    StandardContentRange,
    /// No CONTENT-RANGE header at all.
    MissingContentRange,
    /// A CONTENT-RANGE 16 bytes off the requested start (content unchanged).
    WrongContentRange,
    /// A well-formed answer whose `content` is `"="`: the vendor library aborts the whole process
    /// (SIGABRT) decoding it (sdk-wire-protocol.md §4). A client must refuse it as bad base64.
    AbortingContent,
}

/// Which getchatmediadata requests a [`MediaFault`] hits: the next `times` requests that match
/// the optional fileid and range start, after any earlier rule that matches them too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFaultRule {
    pub fault: MediaFault,
    pub times: u32,
    /// Only requests for this fileid (the `fileid` of the sdkfileid, as sent to the server).
    pub fileid: Option<String>,
    /// Only requests whose range starts here (e.g. `524288` for the second chunk).
    pub range_start: Option<u64>,
}

impl MediaFaultRule {
    /// `fault` for the next `times` media requests, whatever they ask for.
    pub fn new(fault: MediaFault, times: u32) -> MediaFaultRule {
        MediaFaultRule {
            fault,
            times,
            fileid: None,
            range_start: None,
        }
    }

    /// Restricts the rule to one object.
    pub fn for_fileid(mut self, fileid: impl Into<String>) -> MediaFaultRule {
        self.fileid = Some(fileid.into());
        self
    }

    /// Restricts the rule to requests whose range starts at `start`.
    pub fn at_range_start(mut self, start: u64) -> MediaFaultRule {
        self.range_start = Some(start);
        self
    }

    fn matches(&self, fileid: Option<&str>, range_start: Option<u64>) -> bool {
        self.fileid
            .as_deref()
            .is_none_or(|want| fileid == Some(want))
            && self
                .range_start
                .is_none_or(|want| range_start == Some(want))
    }
}

/// One getchatmediadata request as the emulator saw it, for tests that check which ranges a
/// client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRequest {
    /// `None` when the body did not parse.
    pub fileid: Option<String>,
    /// The requested range (`None` when the Range header is malformed); without a Range header,
    /// the first chunk `0..=524287`.
    pub range: Option<(u64, u64)>,
    /// The fault the request got, if any.
    pub fault: Option<MediaFault>,
}

/// How many [`MediaRequest`]s are kept (the oldest are dropped first).
const MEDIA_LOG_CAPACITY: usize = 65_536;

/// Why an emulator could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmulatorError {
    #[error("no public key configured for publickey_ver {version}")]
    MissingPublicKey { version: u32 },
    #[error("encrypting record seq {seq} failed: {message}")]
    Encrypt { seq: u64, message: String },
}

/// One record as stored: the ground truth and what the server sends.
struct Stored {
    plain: PlainRecord,
    item: ChatDataItem,
}

struct Inner {
    callback: Option<CallbackConfig>,
    /// Signalled on every append; the callback sender coalesces these.
    appended: tokio::sync::Notify,
    callbacks_sent: AtomicU64,
    callbacks_dropped: AtomicU64,
    corp_id: String,
    secret: String,
    contacts_secret: Option<String>,
    customer_secret: Option<String>,
    app_secret: Option<String>,
    seed: u64,
    token_ttl: Duration,
    live: Option<LiveConfig>,
    check_encrypt_sign: bool,
    rotate_after: Option<u64>,
    public_keys: BTreeMap<u32, PublicKey>,
    directory: Directory,
    directory_state: DirectoryState,
    /// Also the append lock: held while new records are generated, encrypted and pushed, so seqs
    /// reach `records` in order.
    generator: Mutex<CorpusGenerator>,
    /// The showcase records ([`CorpusSpec::showcase`]); empty when off.
    showcase: Vec<ShowcaseMessage>,
    records: RwLock<Vec<Stored>>,
    tokens: Mutex<HashMap<String, IssuedToken>>,
    faults: Mutex<VecDeque<(Fault, u32)>>,
    requests: AtomicU64,
    tokens_issued: AtomicU64,
    /// Every servable media object by fileid: the corpus, live appends and [`Emulator::add_media`].
    media: RwLock<HashMap<String, MediaSpec>>,
    media_faults: Mutex<VecDeque<MediaFaultRule>>,
    media_log: Mutex<VecDeque<MediaRequest>>,
    media_requests: AtomicU64,
    /// Objects created by [`Emulator::add_media`], for their identities.
    media_added: AtomicU64,
}

/// The emulated archive. Cheap to clone: clones share state.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("corp_id", &self.inner.corp_id)
            .field("records", &self.len())
            .finish_non_exhaustive()
    }
}

/// Token check result.
pub(crate) enum TokenCheck {
    Valid,
    Unknown,
    Expired,
    /// A valid token of another secret (errcode 48002).
    Forbidden,
}

/// The roles a secret grants, as a bit set: one secret string may be configured for several
/// roles (then its tokens hold all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Roles(u8);

impl Roles {
    const APP: u8 = 1 << 3;

    fn bit(kind: SecretKind) -> u8 {
        match kind {
            SecretKind::Archive => 1,
            SecretKind::Contacts => 1 << 1,
            SecretKind::CustomerContact => 1 << 2,
        }
    }

    fn allows(self, kind: SecretKind) -> bool {
        self.0 & Roles::bit(kind) != 0
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }
}

struct IssuedToken {
    /// `None` never expires (a ttl too large for `Instant`).
    expiry: Option<Instant>,
    roles: Roles,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not turn every later request into a panic.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Emulator {
    /// Generates the corpus and encrypts every record up front, on all cores.
    pub fn new(config: EmulatorConfig) -> Result<Emulator, EmulatorError> {
        let rotate_after = config.rotate_to_v2_after_seq;
        if rotate_after != Some(0) && !config.public_keys.contains_key(&1) {
            return Err(EmulatorError::MissingPublicKey { version: 1 });
        }
        if rotate_after.is_some() && !config.public_keys.contains_key(&2) {
            return Err(EmulatorError::MissingPublicKey { version: 2 });
        }
        let mut generator = CorpusGenerator::new(&config.corpus);
        let plain = generator.next_records(config.corpus.messages);
        let items = encrypt_all(
            &plain,
            &config.public_keys,
            rotate_after,
            config.corpus.seed,
        )?;
        let media = plain
            .iter()
            .flat_map(|r| &r.media)
            .map(|m| (m.fileid.clone(), m.clone()))
            .collect();
        let records = plain
            .into_iter()
            .zip(items)
            .map(|(plain, item)| Stored { plain, item })
            .collect();
        Ok(Emulator {
            inner: Arc::new(Inner {
                corp_id: config.corp_id,
                secret: config.secret,
                contacts_secret: config.contacts_secret,
                customer_secret: config.customer_secret,
                app_secret: config.app_secret,
                directory_state: DirectoryState::new(
                    generator.directory(),
                    config.api_rate_limit_per_minute,
                ),
                seed: config.corpus.seed,
                token_ttl: config.token_ttl,
                live: config.live,
                callback: config.callback,
                appended: tokio::sync::Notify::new(),
                callbacks_sent: AtomicU64::new(0),
                callbacks_dropped: AtomicU64::new(0),
                check_encrypt_sign: config.check_encrypt_sign,
                rotate_after,
                public_keys: config.public_keys,
                directory: generator.directory().clone(),
                showcase: generator.showcase().to_vec(),
                generator: Mutex::new(generator),
                records: RwLock::new(records),
                tokens: Mutex::new(HashMap::new()),
                faults: Mutex::new(VecDeque::new()),
                requests: AtomicU64::new(0),
                tokens_issued: AtomicU64::new(0),
                media: RwLock::new(media),
                media_faults: Mutex::new(VecDeque::new()),
                media_log: Mutex::new(VecDeque::new()),
                media_requests: AtomicU64::new(0),
                media_added: AtomicU64::new(0),
            }),
        })
    }

    /// The ground truth: every record served so far or servable now, in seq order.
    pub fn records(&self) -> Vec<PlainRecord> {
        self.read_records()
            .iter()
            .map(|s| s.plain.clone())
            .collect()
    }

    pub fn len(&self) -> usize {
        self.read_records().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The seq of the newest record (0 when there is none).
    pub fn last_seq(&self) -> u64 {
        self.read_records().last().map_or(0, |s| s.plain.seq)
    }

    pub fn directory(&self) -> &Directory {
        &self.inner.directory
    }

    /// The showcase records (seq, msgid, msgtype, what each shows), empty unless the corpus was
    /// configured with [`CorpusSpec::showcase`]; see [`crate::SHOWCASE_FEATURES`]. All of them,
    /// also when the corpus has fewer records than the showcase (live appends serve the rest).
    pub fn showcase(&self) -> &[ShowcaseMessage] {
        &self.inner.showcase
    }

    pub fn corp_id(&self) -> &str {
        &self.inner.corp_id
    }

    /// The archive secret.
    pub fn secret(&self) -> &str {
        &self.inner.secret
    }

    /// The contacts secret (`user/get`), if configured.
    pub fn contacts_secret(&self) -> Option<&str> {
        self.inner.contacts_secret.as_deref()
    }

    /// The customer contact secret (`externalcontact/*`), if configured.
    pub fn customer_secret(&self) -> Option<&str> {
        self.inner.customer_secret.as_deref()
    }

    /// The self-built app's secret (tokens refused with 48002 everywhere), if configured.
    pub fn app_secret(&self) -> Option<&str> {
        self.inner.app_secret.as_deref()
    }

    pub(crate) fn directory_state(&self) -> &DirectoryState {
        &self.inner.directory_state
    }

    /// Generates, encrypts and publishes `n` more records (what live mode does each tick).
    pub fn append(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut generator = lock(&self.inner.generator);
        let plain = generator.next_records(n);
        match encrypt_all(
            &plain,
            &self.inner.public_keys,
            self.inner.rotate_after,
            self.inner.seed,
        ) {
            Ok(items) => {
                self.index_media(plain.iter().flat_map(|r| &r.media).cloned());
                let mut records = self
                    .inner
                    .records
                    .write()
                    .unwrap_or_else(PoisonError::into_inner);
                records.extend(
                    plain
                        .into_iter()
                        .zip(items)
                        .map(|(plain, item)| Stored { plain, item }),
                );
                drop(records);
                // Still under the append lock, so renames follow the record count in order.
                self.rename_after_append(u64::try_from(n).unwrap_or(u64::MAX));
                self.inner.appended.notify_one();
            }
            // Keys were validated in `new`, so this means the crypto backend failed.
            Err(error) => tracing::error!(%error, "live append failed; records dropped"),
        }
    }

    /// Creates a media object of `size` bytes on demand (for benchmarks and tests: 0 B, exactly
    /// 512 KiB, 200 MB…) and serves it. Its bytes are generated per request, so even a 200 MB
    /// object costs no memory; its md5 is computed here by streaming it (about a second per
    /// 500 MB in release builds). No message references it.
    pub fn add_media(&self, size: u64, kind: MediaKind) -> MediaSpec {
        let n = self.inner.media_added.fetch_add(1, Ordering::Relaxed);
        let mut rng = ChaCha8Rng::seed_from_u64(self.inner.seed ^ 0xADD_3ED1A ^ n.rotate_left(32));
        let identity = crate::corpus::media_identity(&mut rng, 1_699_232_400_000);
        let format = match kind {
            MediaKind::Image => MediaFormat::Jpeg,
            MediaKind::Voice | MediaKind::MeetingVoiceCall => MediaFormat::Amr,
            MediaKind::Video => MediaFormat::Mp4,
            MediaKind::Emotion => MediaFormat::Gif,
            MediaKind::File | MediaKind::VoipDocShare => MediaFormat::Binary,
        };
        let mut spec = crate::corpus::media_spec(identity, kind, format, size, rng.random());
        spec.md5 = spec.actual_md5();
        self.register_media(spec.clone());
        spec
    }

    /// Serves `spec` as given (a test can state a wrong md5, a short aeskey…), replacing any
    /// object with the same fileid. `spec.sdkfileid` is not checked against its parts.
    pub fn register_media(&self, spec: MediaSpec) {
        self.index_media(std::iter::once(spec));
    }

    /// The servable object with this fileid.
    pub fn media(&self, fileid: &str) -> Option<MediaSpec> {
        self.read_media().get(fileid).cloned()
    }

    /// Queues a media fault after any already queued.
    pub fn inject_media(&self, rule: MediaFaultRule) {
        if rule.times > 0 {
            lock(&self.inner.media_faults).push_back(rule);
        }
    }

    /// Drops every queued media fault.
    pub fn clear_media_faults(&self) {
        lock(&self.inner.media_faults).clear();
    }

    /// getchatmediadata requests received, faulted ones included.
    pub fn media_request_count(&self) -> u64 {
        self.inner.media_requests.load(Ordering::Relaxed)
    }

    /// The latest getchatmediadata requests (at most 65,536), oldest first.
    pub fn media_requests(&self) -> Vec<MediaRequest> {
        lock(&self.inner.media_log).iter().cloned().collect()
    }

    /// Queues `fault` for the next `times` getchatdata requests, after any faults already queued.
    pub fn inject(&self, fault: Fault, times: u32) {
        let times = if fault == Fault::ExpireTokens {
            times.min(1)
        } else {
            times
        };
        if times > 0 {
            lock(&self.inner.faults).push_back((fault, times));
        }
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }

    /// Callbacks delivered (any HTTP answer) and callbacks dropped on purpose.
    pub fn callback_counts(&self) -> (u64, u64) {
        (
            self.inner.callbacks_sent.load(Ordering::Relaxed),
            self.inner.callbacks_dropped.load(Ordering::Relaxed),
        )
    }

    pub(crate) fn callback_config(&self) -> Option<CallbackConfig> {
        self.inner.callback.clone()
    }

    pub(crate) async fn appended(&self) {
        self.inner.appended.notified().await
    }

    pub(crate) fn count_callback(&self, sent: bool) {
        let counter = if sent {
            &self.inner.callbacks_sent
        } else {
            &self.inner.callbacks_dropped
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// getchatdata requests received, faulted ones included.
    pub fn request_count(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// Successful gettoken answers.
    pub fn token_issued_count(&self) -> u64 {
        self.inner.tokens_issued.load(Ordering::Relaxed)
    }

    pub(crate) fn live(&self) -> Option<LiveConfig> {
        self.inner.live
    }

    pub(crate) fn check_encrypt_sign(&self) -> bool {
        self.inner.check_encrypt_sign
    }

    pub(crate) fn count_request(&self) {
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn take_fault(&self) -> Option<Fault> {
        let mut faults = lock(&self.inner.faults);
        let front = faults.front_mut()?;
        let fault = front.0;
        front.1 -= 1;
        if front.1 == 0 {
            faults.pop_front();
        }
        Some(fault)
    }

    /// Counts and logs a media request, and takes the first queued fault that matches it.
    pub(crate) fn media_request(
        &self,
        fileid: Option<&str>,
        range: Option<(u64, u64)>,
    ) -> Option<MediaFault> {
        self.inner.media_requests.fetch_add(1, Ordering::Relaxed);
        let fault = {
            let mut rules = lock(&self.inner.media_faults);
            let at = rules
                .iter()
                .position(|r| r.matches(fileid, range.map(|r| r.0)));
            at.and_then(|i| {
                let rule = rules.get_mut(i)?;
                let fault = rule.fault;
                rule.times -= 1;
                if rule.times == 0 {
                    rules.remove(i);
                }
                Some(fault)
            })
        };
        let mut log = lock(&self.inner.media_log);
        if log.len() >= MEDIA_LOG_CAPACITY {
            log.pop_front();
        }
        log.push_back(MediaRequest {
            fileid: fileid.map(str::to_owned),
            range,
            fault,
        });
        fault
    }

    fn index_media(&self, specs: impl Iterator<Item = MediaSpec>) {
        let mut media = self
            .inner
            .media
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for spec in specs {
            media.insert(spec.fileid.clone(), spec);
        }
    }

    fn read_media(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, MediaSpec>> {
        self.inner
            .media
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the corpid matches, and the roles the secret grants (empty: not a configured
    /// secret).
    pub(crate) fn credentials_match(&self, corp_id: &str, secret: &str) -> (bool, Roles) {
        let inner = &self.inner;
        let is = |configured: Option<&str>| configured == Some(secret);
        let mut roles = 0;
        if is(Some(inner.secret.as_str())) {
            roles |= Roles::bit(SecretKind::Archive);
        }
        if is(inner.contacts_secret.as_deref()) {
            roles |= Roles::bit(SecretKind::Contacts);
        }
        if is(inner.customer_secret.as_deref()) {
            roles |= Roles::bit(SecretKind::CustomerContact);
        }
        if is(inner.app_secret.as_deref()) {
            roles |= Roles::APP;
        }
        (corp_id == inner.corp_id, Roles(roles))
    }

    /// A fresh token for `roles` (real WeCom tokens are long strings of letters, digits, `-` and
    /// `_`). Earlier tokens stay valid until their own expiry.
    pub(crate) fn issue_token(&self, roles: Roles) -> (String, u64) {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut rng = rand::rng();
        let token: String = (0..64)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        let ttl = self.inner.token_ttl;
        lock(&self.inner.tokens).insert(
            token.clone(),
            IssuedToken {
                expiry: Instant::now().checked_add(ttl),
                roles,
            },
        );
        self.inner.tokens_issued.fetch_add(1, Ordering::Relaxed);
        let expires_in = ttl
            .as_secs()
            .saturating_add(u64::from(ttl.subsec_nanos() > 0));
        (token, expires_in)
    }

    /// Checks a token for an API that needs `kind`'s secret: unknown and expired come first (a
    /// client refreshes on those), then the role (48002, which no refresh cures).
    pub(crate) fn check_token(&self, token: &str, kind: SecretKind) -> TokenCheck {
        match lock(&self.inner.tokens).get(token) {
            None => TokenCheck::Unknown,
            Some(IssuedToken {
                expiry: Some(expiry),
                ..
            }) if Instant::now() >= *expiry => TokenCheck::Expired,
            Some(issued) if !issued.roles.allows(kind) => TokenCheck::Forbidden,
            Some(_) => TokenCheck::Valid,
        }
    }

    pub(crate) fn expire_tokens(&self) {
        let now = Instant::now();
        for issued in lock(&self.inner.tokens).values_mut() {
            issued.expiry = Some(now);
        }
    }

    /// Records with `seq > after`, ascending, at most `limit` of them.
    pub(crate) fn page(&self, after: u64, limit: usize) -> Vec<ChatDataItem> {
        let records = self.read_records();
        let start = records.partition_point(|s| s.plain.seq <= after);
        records[start..]
            .iter()
            .take(limit)
            .map(|s| s.item.clone())
            .collect()
    }

    fn read_records(&self) -> std::sync::RwLockReadGuard<'_, Vec<Stored>> {
        self.inner
            .records
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// `publickey_ver` of a record.
fn key_version(seq: u64, rotate_after: Option<u64>) -> u32 {
    match rotate_after {
        Some(x) if seq > x => 2,
        _ => 1,
    }
}

fn encrypt_one(
    record: &PlainRecord,
    keys: &BTreeMap<u32, PublicKey>,
    rotate_after: Option<u64>,
    seed: u64,
) -> Result<ChatDataItem, EmulatorError> {
    let version = key_version(record.seq, rotate_after);
    let key = keys
        .get(&version)
        .ok_or(EmulatorError::MissingPublicKey { version })?;
    // Seeded per record so encrypt_chat_msg is reproducible; the RSA padding is random anyway.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ record.seq.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let encoded = wecom_crypto::encode_message(record.plaintext.as_bytes(), &mut rng);
    let encrypt_random_key =
        wecom_crypto::encrypt_random_key(key, &encoded.encrypt_key).map_err(|e| {
            EmulatorError::Encrypt {
                seq: record.seq,
                message: e.to_string(),
            }
        })?;
    Ok(ChatDataItem {
        seq: record.seq,
        msgid: record.msgid.clone(),
        publickey_ver: version,
        encrypt_random_key,
        encrypt_chat_msg: encoded.encrypt_msg,
    })
}

/// Encrypts records on every available core (RSA dominates: ~100,000 public-key operations for a
/// 100,000-record corpus).
fn encrypt_all(
    records: &[PlainRecord],
    keys: &BTreeMap<u32, PublicKey>,
    rotate_after: Option<u64>,
    seed: u64,
) -> Result<Vec<ChatDataItem>, EmulatorError> {
    const MIN_PER_THREAD: usize = 256;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(records.len().div_ceil(MIN_PER_THREAD)).max(1);
    if threads == 1 {
        return records
            .iter()
            .map(|r| encrypt_one(r, keys, rotate_after, seed))
            .collect();
    }
    let chunk = records.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = records
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|r| encrypt_one(r, keys, rotate_after, seed))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(records.len());
        for (i, handle) in handles.into_iter().enumerate() {
            let part = handle.join().map_err(|_| EmulatorError::Encrypt {
                seq: records[i * chunk].seq,
                message: "encryption thread panicked".to_owned(),
            })??;
            out.extend(part);
        }
        Ok(out)
    })
}
