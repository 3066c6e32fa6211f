//! The mutable side of the naming/scope/consent APIs (reference §4.2–§4.7): current room names
//! (renamed by tests or by live mode), queued faults, the built-in rate limit and the request log.
//! What the APIs answer is derived from the [`Directory`](crate::Directory) in
//! `server/directory.rs`; this module knows nothing about HTTP.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use wecom_wire::directory::DirectoryApi;

use crate::corpus::Directory;
use crate::emulator::Emulator;

/// Live mode renames one room every this many appended records.
pub const RENAME_EVERY: u64 = 200;

/// How many [`ApiRequestLog`]s are kept (the oldest are dropped first).
const API_LOG_CAPACITY: usize = 65_536;

/// The built-in rate limit's window.
const RATE_WINDOW: Duration = Duration::from_secs(60);

/// A failure injected into upcoming directory API requests (see [`ApiFaultRule`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFault {
    /// Any errcode with HTTP 200: 45009 rate limited, 45033 concurrency, -1 system busy, 48002
    /// api forbidden, 60020 IP not allowed…
    Errcode(i64),
    /// HTTP 500 with an HTML body.
    Http500,
    /// The connection is closed without any response byte.
    DropConnection,
    /// The request is answered normally after this delay.
    Delay(Duration),
    /// HTTP 200 with a body that is not JSON (a gateway's HTML page, cut short).
    MalformedJson,
    /// `{"errcode":0,"errmsg":"ok"}` and nothing else: a success that lacks the required fields
    /// (`roomname`, `group_chat`, `data`…). Lists parse as empty, which is exactly the trap.
    WrongShape,
    /// Every issued token expires now and the request gets 42001.
    ExpireTokens,
}

/// Which directory API requests an [`ApiFault`] hits: the next `times` requests to `api` (any
/// API when `None`), after any earlier rule that matches them too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiFaultRule {
    pub fault: ApiFault,
    pub times: u32,
    pub api: Option<DirectoryApi>,
}

impl ApiFaultRule {
    /// `fault` for the next `times` directory API requests, whichever API they call.
    pub fn new(fault: ApiFault, times: u32) -> ApiFaultRule {
        ApiFaultRule {
            fault,
            times,
            api: None,
        }
    }

    /// Restricts the rule to one API.
    pub fn for_api(mut self, api: DirectoryApi) -> ApiFaultRule {
        self.api = Some(api);
        self
    }
}

/// One directory API request as the emulator answered it, for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequestLog {
    pub api: DirectoryApi,
    /// The roomid, chat_id, userid, external_userid or robot_id asked about; `""` for the APIs
    /// without one (permit list, group list, check_single_agree) and for unparseable requests.
    pub subject: String,
    /// The errcode answered (0 for success, and for [`ApiFault::WrongShape`]); for faults that
    /// send no errcode (HTTP 500, dropped connection, malformed JSON), [`ApiRequestLog::NO_ERRCODE`].
    pub errcode: i64,
    /// The injected fault the request got, if any.
    pub fault: Option<ApiFault>,
}

impl ApiRequestLog {
    /// The `errcode` of a request whose answer carried none.
    pub const NO_ERRCODE: i64 = i64::MIN;
}

/// The directory APIs' mutable state, held by the emulator.
pub(crate) struct DirectoryState {
    /// roomid → current name, initially the directory's.
    names: RwLock<HashMap<String, String>>,
    faults: Mutex<VecDeque<ApiFaultRule>>,
    log: Mutex<VecDeque<ApiRequestLog>>,
    requests: AtomicU64,
    rate_limit: Option<u32>,
    /// (start of the current window, requests counted in it).
    window: Mutex<(Instant, u32)>,
    /// Records appended since start; live renames are keyed on it.
    appended: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not turn every later request into a panic.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl DirectoryState {
    pub(crate) fn new(directory: &Directory, rate_limit: Option<u32>) -> DirectoryState {
        DirectoryState {
            names: RwLock::new(
                directory
                    .groups
                    .iter()
                    .map(|g| (g.roomid.clone(), g.name.clone()))
                    .collect(),
            ),
            faults: Mutex::new(VecDeque::new()),
            log: Mutex::new(VecDeque::new()),
            requests: AtomicU64::new(0),
            rate_limit,
            window: Mutex::new((Instant::now(), 0)),
            appended: AtomicU64::new(0),
        }
    }

    /// Counts a request and takes the first queued fault that matches it.
    pub(crate) fn begin(&self, api: DirectoryApi) -> Option<ApiFault> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut rules = lock(&self.faults);
        let i = rules
            .iter()
            .position(|r| r.api.is_none_or(|want| want == api))?;
        let rule = rules.get_mut(i)?;
        let fault = rule.fault;
        rule.times = rule.times.saturating_sub(1);
        if rule.times == 0 {
            rules.remove(i);
        }
        Some(fault)
    }

    /// Counts the request against the built-in limit; true when it is over (a fixed one-minute
    /// window per corp: simple, and WeCom's own limits are per minute/hour as well).
    pub(crate) fn over_rate_limit(&self) -> bool {
        let Some(limit) = self.rate_limit else {
            return false;
        };
        let mut window = lock(&self.window);
        let now = Instant::now();
        if now.duration_since(window.0) >= RATE_WINDOW {
            *window = (now, 0);
        }
        window.1 = window.1.saturating_add(1);
        window.1 > limit
    }

    pub(crate) fn record(&self, entry: ApiRequestLog) {
        let mut log = lock(&self.log);
        if log.len() >= API_LOG_CAPACITY {
            log.pop_front();
        }
        log.push_back(entry);
    }

    pub(crate) fn room_name(&self, roomid: &str) -> Option<String> {
        self.names
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(roomid)
            .cloned()
    }

    fn rename(&self, roomid: &str, name: String) -> bool {
        let mut names = self.names.write().unwrap_or_else(PoisonError::into_inner);
        match names.get_mut(roomid) {
            Some(current) => {
                *current = name;
                true
            }
            None => false,
        }
    }
}

impl Emulator {
    /// Renames a room of the directory; both groupchat APIs serve the new name from now on.
    /// False when the roomid is unknown (nothing changes).
    pub fn rename_room(&self, roomid: &str, new_name: &str) -> bool {
        self.directory_state().rename(roomid, new_name.to_owned())
    }

    /// The room's current name (the directory's until renamed); `None` for an unknown roomid.
    /// Rooms started from WeChat have one too, although no API serves it.
    pub fn room_name(&self, roomid: &str) -> Option<String> {
        self.directory_state().room_name(roomid)
    }

    /// Queues a directory API fault after any already queued. [`ApiFault::ExpireTokens`] applies
    /// once whatever `times` says (as [`crate::Fault::ExpireTokens`]): the tokens stay expired.
    pub fn inject_api(&self, mut rule: ApiFaultRule) {
        if rule.fault == ApiFault::ExpireTokens {
            rule.times = rule.times.min(1);
        }
        if rule.times > 0 {
            lock(&self.directory_state().faults).push_back(rule);
        }
    }

    /// Drops every queued directory API fault.
    pub fn clear_api_faults(&self) {
        lock(&self.directory_state().faults).clear();
    }

    /// Directory API requests received (all nine APIs), faulted and refused ones included.
    pub fn api_request_count(&self) -> u64 {
        self.directory_state().requests.load(Ordering::Relaxed)
    }

    /// The latest directory API requests (at most 65,536), oldest first.
    pub fn api_requests(&self) -> Vec<ApiRequestLog> {
        lock(&self.directory_state().log).iter().cloned().collect()
    }

    /// After `n` more records were appended: every [`RENAME_EVERY`] records since start, the
    /// next resolvable room (cycling in directory order) gets its base name plus `（第N期）`,
    /// N = 2 on its first rename, 3 on its second… Called under the append lock, so renames
    /// happen in order.
    pub(crate) fn rename_after_append(&self, n: u64) {
        let state = self.directory_state();
        let before = state.appended.fetch_add(n, Ordering::Relaxed);
        let after = before.saturating_add(n);
        let rooms: Vec<(&str, &str)> = self
            .directory()
            .resolvable_rooms()
            .map(|g| (g.roomid.as_str(), g.name.as_str()))
            .collect();
        let Ok(count) = u64::try_from(rooms.len()) else {
            return;
        };
        if count == 0 {
            return;
        }
        for k in (before / RENAME_EVERY)..(after / RENAME_EVERY) {
            let Some(&(roomid, base)) = usize::try_from(k % count).ok().and_then(|i| rooms.get(i))
            else {
                continue;
            };
            let round = k / count + 2;
            state.rename(roomid, format!("{base}（第{round}期）"));
        }
    }
}
