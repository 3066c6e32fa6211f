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

use crate::corpus::{CorpusGenerator, CorpusSpec, Directory, PlainRecord};

/// How the emulator behaves.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The corpid `gettoken` accepts.
    pub corp_id: String,
    /// The archive secret `gettoken` accepts.
    pub secret: String,
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
}

impl EmulatorConfig {
    /// Defaults: the corpus' corp_id, secret `emulator-archive-secret`, no rotation, 7200 s tokens,
    /// no live mode, `encrypt_sign` checked.
    pub fn new(corpus: CorpusSpec, public_keys: BTreeMap<u32, PublicKey>) -> EmulatorConfig {
        EmulatorConfig {
            corp_id: corpus.corp_id.clone(),
            secret: "emulator-archive-secret".to_owned(),
            corpus,
            public_keys,
            rotate_to_v2_after_seq: None,
            token_ttl: Duration::from_secs(7200),
            live: None,
            check_encrypt_sign: true,
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
}

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
    corp_id: String,
    secret: String,
    seed: u64,
    token_ttl: Duration,
    live: Option<LiveConfig>,
    check_encrypt_sign: bool,
    rotate_after: Option<u64>,
    public_keys: BTreeMap<u32, PublicKey>,
    directory: Directory,
    /// Also the append lock: held while new records are generated, encrypted and pushed, so seqs
    /// reach `records` in order.
    generator: Mutex<CorpusGenerator>,
    records: RwLock<Vec<Stored>>,
    /// Token → expiry; `None` never expires (a ttl too large for `Instant`).
    tokens: Mutex<HashMap<String, Option<Instant>>>,
    faults: Mutex<VecDeque<(Fault, u32)>>,
    requests: AtomicU64,
    tokens_issued: AtomicU64,
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
        let records = plain
            .into_iter()
            .zip(items)
            .map(|(plain, item)| Stored { plain, item })
            .collect();
        Ok(Emulator {
            inner: Arc::new(Inner {
                corp_id: config.corp_id,
                secret: config.secret,
                seed: config.corpus.seed,
                token_ttl: config.token_ttl,
                live: config.live,
                check_encrypt_sign: config.check_encrypt_sign,
                rotate_after,
                public_keys: config.public_keys,
                directory: generator.directory().clone(),
                generator: Mutex::new(generator),
                records: RwLock::new(records),
                tokens: Mutex::new(HashMap::new()),
                faults: Mutex::new(VecDeque::new()),
                requests: AtomicU64::new(0),
                tokens_issued: AtomicU64::new(0),
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

    pub fn corp_id(&self) -> &str {
        &self.inner.corp_id
    }

    pub fn secret(&self) -> &str {
        &self.inner.secret
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
            }
            // Keys were validated in `new`, so this means the crypto backend failed.
            Err(error) => tracing::error!(%error, "live append failed; records dropped"),
        }
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

    pub(crate) fn credentials_match(&self, corp_id: &str, secret: &str) -> (bool, bool) {
        (corp_id == self.inner.corp_id, secret == self.inner.secret)
    }

    /// A fresh token (real WeCom tokens are long strings of letters, digits, `-` and `_`).
    /// Earlier tokens stay valid until their own expiry.
    pub(crate) fn issue_token(&self) -> (String, u64) {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut rng = rand::rng();
        let token: String = (0..64)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        let ttl = self.inner.token_ttl;
        lock(&self.inner.tokens).insert(token.clone(), Instant::now().checked_add(ttl));
        self.inner.tokens_issued.fetch_add(1, Ordering::Relaxed);
        let expires_in = ttl
            .as_secs()
            .saturating_add(u64::from(ttl.subsec_nanos() > 0));
        (token, expires_in)
    }

    pub(crate) fn check_token(&self, token: &str) -> TokenCheck {
        match lock(&self.inner.tokens).get(token) {
            None => TokenCheck::Unknown,
            Some(Some(expiry)) if Instant::now() >= *expiry => TokenCheck::Expired,
            Some(_) => TokenCheck::Valid,
        }
    }

    pub(crate) fn expire_tokens(&self) {
        let now = Instant::now();
        for expiry in lock(&self.inner.tokens).values_mut() {
            *expiry = Some(now);
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
