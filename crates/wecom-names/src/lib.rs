//! Names for every room and person of the archive, who is archived, and who agreed.
//!
//! The [`NameResolver`] works beside the sync, never in its way: it finds the ids of newly stored
//! messages in the store (following the change feed), asks WeCom's HTTP APIs about each id that is due,
//! records what it learned (one transaction per id) and schedules the next check:
//!
//! - a room is tried as an internal group (`msgaudit/groupchat/get`, archive secret), then as a
//!   customer group (`externalcontact/groupchat/get`, customer-contact secret); a room neither
//!   knows (created from WeChat, reference §7 #14) is *unresolvable* and checked again rarely;
//! - people by kind: employees through `user/get` (contacts secret), external contacts through
//!   `externalcontact/get` (customer-contact secret), robots through `msgaudit/get_robot_info`;
//! - the archive scope (`get_permit_user_list`) and consent (`check_single_agree` for each
//!   employee–contact conversation, `check_room_agree` for rooms with external members) on their
//!   own, slower schedules.
//!
//! Failures degrade, they never stop anything: an API whose secret is missing or that answers
//! 48002 is switched off with one log line (and tried again after an hour); a transient failure
//! (network, busy, 5xx) reschedules that id with backoff; a rate limit (45009) ends the pass so
//! the corp's quota recovers; a malformed answer is a failure, nothing of it is stored. Named
//! entries are refreshed on a TTL and a room's earlier names are kept by the store.

mod resolve;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};
use wecom_client::{ApiClient, ApiError, ApiErrorKind};
use wecom_store::names::Discovery;
use wecom_store::names::{ConsentSubject, PermitChange, Resolution};
use wecom_store::{ArchiveReader, Directory, Follower, FollowerWaker, StoreError};
use wecom_wire::Backoff;
use wecom_wire::directory::DirectoryApi;
use wecom_wire::errcode;

/// The archive's directory (names, scope, consent), as the resolver writes it.
pub type SharedStore = Arc<dyn Directory>;

/// The follower name discovery keeps its change-feed position under.
pub const FOLLOWER: &str = "names";

/// Feed messages read per discovery step.
const DISCOVERY_BATCH: usize = 5000;

/// When things are checked again.
#[derive(Debug, Clone)]
pub struct NameOptions {
    pub corp_id: String,
    /// A named room or person is asked about again after this long (renames are caught then).
    pub refresh_named: Duration,
    /// An unresolvable room or person (the APIs said they cannot name it) after this long.
    pub recheck_unresolvable: Duration,
    /// An id left unnamed because a secret is missing or the API is forbidden, after this long.
    pub recheck_unconfigured: Duration,
    /// First delay after a passing failure; doubled per consecutive failure up to `max_backoff`.
    pub retry_base: Duration,
    pub max_backoff: Duration,
    /// How often the archive scope is fetched.
    pub permit_every: Duration,
    /// How often each consent subject is checked again.
    pub consent_every: Duration,
    /// How many ids one store round-trip hands out.
    pub batch: usize,
    /// The daemon's pause between passes when nothing wakes it.
    pub poll_interval: Duration,
    /// Each notified after every pass of the daemon (it refreshes its metrics figures).
    pub after_pass: Vec<Arc<Notify>>,
}

impl NameOptions {
    pub fn new(corp_id: impl Into<String>) -> NameOptions {
        NameOptions {
            corp_id: corp_id.into(),
            refresh_named: Duration::from_secs(24 * 3600),
            recheck_unresolvable: Duration::from_secs(7 * 24 * 3600),
            recheck_unconfigured: Duration::from_secs(24 * 3600),
            retry_base: Duration::from_secs(60),
            max_backoff: Duration::from_secs(3600),
            permit_every: Duration::from_secs(6 * 3600),
            consent_every: Duration::from_secs(24 * 3600),
            batch: 100,
            poll_interval: Duration::from_secs(60),
            after_pass: Vec::new(),
        }
    }
}

/// Why a pass stopped early. Nothing is lost: whatever was not recorded is due again.
#[derive(Debug, thiserror::Error)]
pub enum NameError {
    #[error("archive store: {0}")]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameReport {
    pub rooms_discovered: u64,
    pub people_discovered: u64,
    pub rooms_named: u64,
    pub rooms_unresolvable: u64,
    pub rooms_failed: u64,
    pub people_named: u64,
    pub people_unresolvable: u64,
    pub people_failed: u64,
    /// What the permit list changed, when it was fetched.
    pub permit: Option<PermitChange>,
    pub consent_subjects_checked: u64,
    pub consent_statuses: u64,
    /// WeCom answered 45009: the pass stopped early; the rest is due at the next one.
    pub rate_limited: bool,
    /// Several checks in a row failed on the network or with a server error: the pass stopped
    /// early instead of trying every id against an API that is down.
    pub unreachable: bool,
    /// APIs switched off during the pass (missing secret, 48002), by name.
    pub disabled: Vec<&'static str>,
    pub elapsed: Duration,
}

/// gettoken: the corp id is wrong — no API of the corp can work.
const INVALID_CORP_ID: i64 = 40013;

/// How long an API stays switched off after a missing secret or a 48002.
const DISABLED_FOR: Duration = Duration::from_secs(3600);
/// The daemon's pause after a rate limit.
const RATE_LIMIT_PAUSE: Duration = Duration::from_secs(60);
/// The daemon's pause after a store failure.
const STORE_RETRY: Duration = Duration::from_secs(5);
/// Consecutive network or server failures after which a pass stops.
const UNREACHABLE_AFTER: u32 = 3;
/// Pages of 1,000 customer groups read at most per pass.
const MAX_LIST_PAGES: usize = 100;
/// Consent subjects handled per pass at most (the rest follow at the next pass).
const CONSENT_PER_PASS: usize = 2000;

/// Resolves names, scope and consent for one corp.
pub struct NameResolver {
    store: SharedStore,
    reader: Arc<dyn ArchiveReader>,
    api: Arc<ApiClient>,
    opts: NameOptions,
    /// APIs switched off, until when.
    disabled: Mutex<BTreeMap<DirectoryApi, Instant>>,
    /// APIs switched off since the pass began, for its report.
    newly_disabled: Mutex<Vec<&'static str>>,
    wake: FollowerWaker,
}

/// How one API call ended, as the resolver sees it.
pub(crate) enum Verdict<T> {
    Ok(T),
    /// The API does not serve this id (40050, 60111, 84061, …): try the next API or give up.
    NotHere(ApiError),
    /// The API cannot be used at all right now (no secret, 48002); switched off.
    Unavailable(ApiError),
    /// Worth another try later (network, busy, malformed answer).
    Failed(ApiError),
    /// 45009: stop the pass.
    RateLimited(ApiError),
}

impl NameResolver {
    /// A resolver writing `store` and following the change feed of `reader` (the same archive).
    pub fn new(
        store: SharedStore,
        reader: Arc<dyn ArchiveReader>,
        api: Arc<ApiClient>,
        opts: NameOptions,
    ) -> NameResolver {
        NameResolver {
            store,
            reader,
            api,
            opts,
            disabled: Mutex::new(BTreeMap::new()),
            newly_disabled: Mutex::new(Vec::new()),
            wake: FollowerWaker::new(),
        }
    }

    /// Also notify `after` after every pass of [`NameResolver::run`].
    pub fn notify_after_pass(&mut self, after: Arc<Notify>) {
        self.opts.after_pass.push(after);
    }

    pub fn options(&self) -> &NameOptions {
        &self.opts
    }

    /// Wakes the daemon for an early pass (after a sync stored new messages).
    pub fn waker(&self) -> FollowerWaker {
        self.wake.clone()
    }

    /// Keeps names current until cancelled: a pass at once, then one per wake-up or poll interval.
    /// Store failures are logged and retried; the resolver never stops on its own.
    pub async fn run(&self, cancel: &CancellationToken) {
        loop {
            // Cancelling drops a pass mid-call: every id is recorded in its own transaction, so
            // nothing is half-written, and what was not recorded is simply due again.
            let passed = tokio::select! {
                () = cancel.cancelled() => return,
                passed = self.pass(cancel) => passed,
            };
            for after in &self.opts.after_pass {
                after.notify_one();
            }
            let pause = match passed {
                Ok(report) => {
                    if report.rate_limited || report.unreachable {
                        RATE_LIMIT_PAUSE
                    } else {
                        self.opts.poll_interval
                    }
                }
                Err(e) => {
                    error!(corp_id = %self.opts.corp_id, error = %e, "name resolution failed; retrying");
                    STORE_RETRY
                }
            };
            tokio::select! {
                () = cancel.cancelled() => return,
                () = self.wake.woken() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// One pass: discovers new ids, checks every due room and person, then the scope and consent
    /// when due. Returns early (with what it did) when cancelled or rate limited.
    pub async fn pass(&self, cancel: &CancellationToken) -> Result<NameReport, NameError> {
        let started = Instant::now();
        let mut report = NameReport::default();
        self.discover(&mut report).await?;
        // Only what is due once discovery is done is handled by this pass: an id rescheduled
        // during the pass (even with a zero delay) waits for the next one, so a pass always ends.
        // Taken after discovery, so every id it found (due from its discovery time) is included,
        // however long discovery took on a loaded machine.
        let pass_start = now_ms();
        let steps: [Step; 4] = [Step::Rooms, Step::People, Step::Permit, Step::Consent];
        for step in steps {
            if cancel.is_cancelled() || report.rate_limited || report.unreachable {
                break;
            }
            match step {
                Step::Rooms => self.rooms(pass_start, cancel, &mut report).await?,
                Step::People => self.people(pass_start, cancel, &mut report).await?,
                Step::Permit => self.permit(&mut report).await?,
                Step::Consent => self.consent(cancel, &mut report).await?,
            }
        }
        report.disabled = std::mem::take(
            &mut *self
                .newly_disabled
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        report.elapsed = started.elapsed();
        if report.unreachable {
            warn!(corp_id = %self.opts.corp_id, "the naming APIs look unreachable; names are asked for again later");
        }
        if report.rooms_named + report.people_named + report.rooms_unresolvable > 0
            || report.rate_limited
        {
            info!(
                corp_id = %self.opts.corp_id,
                rooms_named = report.rooms_named,
                rooms_unresolvable = report.rooms_unresolvable,
                people_named = report.people_named,
                people_unresolvable = report.people_unresolvable,
                failed = report.rooms_failed + report.people_failed,
                rate_limited = report.rate_limited,
                "names resolved"
            );
        }
        Ok(report)
    }

    /// Follows the change feed from the `names` position to its end: each step reads up to
    /// [`DISCOVERY_BATCH`] messages, finds their ids ([`Discovery::from_messages`]) and records
    /// them with the position of the last message in one transaction, so a crash at any point
    /// neither skips nor repeats a step in effect.
    async fn discover(&self, report: &mut NameReport) -> Result<(), NameError> {
        loop {
            let reader = Arc::clone(&self.reader);
            let corp = self.opts.corp_id.clone();
            let step = wecom_store::blocking(move || {
                let after = reader.follower_position(&corp, FOLLOWER)?;
                let messages = reader.feed(&corp, after, DISCOVERY_BATCH)?;
                Ok(messages
                    .last()
                    .map(|last| (last.feed_pos, Discovery::from_messages(&messages))))
            })
            .await
            .map_err(NameError::Store)?;
            let Some((through, found)) = step else {
                return Ok(());
            };
            let now = now_ms();
            let stats = self
                .store(move |s, corp| s.record_discovered(corp, &found, through, now))
                .await?;
            report.rooms_discovered += stats.rooms_new;
            report.people_discovered += stats.people_new;
        }
    }

    async fn rooms(
        &self,
        pass_start: i64,
        cancel: &CancellationToken,
        report: &mut NameReport,
    ) -> Result<(), NameError> {
        let batch = self.opts.batch.max(1);
        let mut unreachable_in_a_row = 0u32;
        // Read once per pass, and only when some room is due.
        let mut customer_groups: Option<HashSet<String>> = None;
        loop {
            let due = self
                .store(move |s, corp| s.due_rooms(corp, pass_start, batch))
                .await?;
            if due.is_empty() {
                return Ok(());
            }
            if customer_groups.is_none() {
                customer_groups = Some(self.customer_groups().await);
            }
            for room in due {
                if cancel.is_cancelled() {
                    return Ok(());
                }
                let known_customer = customer_groups
                    .as_ref()
                    .is_some_and(|groups| groups.contains(&room.roomid));
                let (resolution, next, halt) =
                    resolve::room(self, &room.roomid, room.attempts, known_customer).await;
                tally(
                    &resolution,
                    [
                        &mut report.rooms_named,
                        &mut report.rooms_unresolvable,
                        &mut report.rooms_failed,
                    ],
                );
                let roomid = room.roomid.clone();
                let (now, next) = schedule(pass_start, next);
                self.store(move |s, corp| s.record_room(corp, &roomid, &resolution, now, next))
                    .await?;
                if stop(halt, &mut unreachable_in_a_row, report) {
                    return Ok(());
                }
            }
        }
    }

    /// The corp's customer-group ids (`externalcontact/groupchat/list`), to ask the right API
    /// first; empty when the list cannot be had (rooms are then tried internal-first).
    async fn customer_groups(&self) -> HashSet<String> {
        let api = DirectoryApi::CustomerGroupList;
        if !self.api.can_call(api) || !self.usable(api) {
            return HashSet::new();
        }
        match self.judge(self.api.all_customer_groups(MAX_LIST_PAGES).await) {
            Verdict::Ok(ids) => ids.into_iter().collect(),
            Verdict::Unavailable(e) => {
                self.disable(api, &e);
                HashSet::new()
            }
            Verdict::NotHere(e) | Verdict::Failed(e) | Verdict::RateLimited(e) => {
                debug!(corp_id = %self.opts.corp_id, error = %e, "customer-group list unavailable; rooms are tried internal-first");
                HashSet::new()
            }
        }
    }

    async fn people(
        &self,
        pass_start: i64,
        cancel: &CancellationToken,
        report: &mut NameReport,
    ) -> Result<(), NameError> {
        let batch = self.opts.batch.max(1);
        let mut unreachable_in_a_row = 0u32;
        loop {
            let due = self
                .store(move |s, corp| s.due_people(corp, pass_start, batch))
                .await?;
            if due.is_empty() {
                return Ok(());
            }
            for person in due {
                if cancel.is_cancelled() {
                    return Ok(());
                }
                let (resolution, next, halt) = resolve::person(self, &person).await;
                tally(
                    &resolution,
                    [
                        &mut report.people_named,
                        &mut report.people_unresolvable,
                        &mut report.people_failed,
                    ],
                );
                let id = person.id.clone();
                let (now, next) = schedule(pass_start, next);
                self.store(move |s, corp| s.record_person(corp, &id, &resolution, now, next))
                    .await?;
                if stop(halt, &mut unreachable_in_a_row, report) {
                    return Ok(());
                }
            }
        }
    }

    async fn permit(&self, report: &mut NameReport) -> Result<(), NameError> {
        let api = DirectoryApi::PermitUserList;
        let checked = self.store(|s, corp| s.permit_checked_at(corp)).await?;
        let every = millis(self.opts.permit_every);
        if checked.is_some_and(|at| now_ms() - at < every) || !self.usable(api) {
            return Ok(());
        }
        match self.judge(self.api.permit_user_list(None).await) {
            Verdict::Ok(ids) => {
                let now = now_ms();
                let change = self
                    .store(move |s, corp| s.record_permit_users(corp, &ids, now))
                    .await?;
                if change.added + change.removed > 0 {
                    info!(corp_id = %self.opts.corp_id, added = change.added, removed = change.removed, "archive scope changed");
                }
                report.permit = Some(change);
            }
            Verdict::RateLimited(_) => report.rate_limited = true,
            Verdict::Unavailable(e) => self.disable(api, &e),
            Verdict::NotHere(e) | Verdict::Failed(e) => {
                warn!(corp_id = %self.opts.corp_id, error = %e, "the archive scope could not be fetched; trying again later");
            }
        }
        Ok(())
    }

    async fn consent(
        &self,
        cancel: &CancellationToken,
        report: &mut NameReport,
    ) -> Result<(), NameError> {
        let before = now_ms() - millis(self.opts.consent_every);
        let due = self
            .store(move |s, corp| s.due_consent_checks(corp, before, CONSENT_PER_PASS))
            .await?;
        let (pairs, rooms): (Vec<_>, Vec<_>) = due
            .subjects
            .into_iter()
            .partition(|s| matches!(s, ConsentSubject::Pair { .. }));
        if !pairs.is_empty() && self.usable(DirectoryApi::CheckSingleAgree) {
            for chunk in pairs.chunks(wecom_client::MAX_AGREE_PAIRS) {
                if cancel.is_cancelled() || report.rate_limited {
                    return Ok(());
                }
                if !self.consent_pairs(chunk, report).await? {
                    break;
                }
            }
        }
        if !rooms.is_empty() && self.usable(DirectoryApi::CheckRoomAgree) {
            for subject in rooms {
                if cancel.is_cancelled() || report.rate_limited {
                    return Ok(());
                }
                if !self.consent_room(subject, report).await? {
                    break;
                }
            }
        }
        Ok(())
    }

    /// One `check_single_agree` request; `false` when consent checks should stop for this pass.
    async fn consent_pairs(
        &self,
        chunk: &[ConsentSubject],
        report: &mut NameReport,
    ) -> Result<bool, NameError> {
        let api = DirectoryApi::CheckSingleAgree;
        let pairs: Vec<(String, String)> = chunk
            .iter()
            .filter_map(|s| match s {
                ConsentSubject::Pair {
                    userid,
                    external_userid,
                } => Some((userid.clone(), external_userid.clone())),
                ConsentSubject::Room { .. } => None,
            })
            .collect();
        match self.judge(self.api.check_single_agree(&pairs).await) {
            Verdict::Ok(infos) => {
                let now = now_ms();
                let statuses: Vec<_> = infos
                    .iter()
                    .filter_map(|info| resolve::pair_consent(info, now))
                    .collect();
                report.consent_subjects_checked += chunk.len() as u64;
                report.consent_statuses += statuses.len() as u64;
                let checked = chunk.to_vec();
                self.store(move |s, corp| s.record_consent(corp, &checked, &statuses, now))
                    .await?;
                Ok(true)
            }
            Verdict::RateLimited(_) => {
                report.rate_limited = true;
                Ok(false)
            }
            Verdict::Unavailable(e) => {
                self.disable(api, &e);
                Ok(false)
            }
            Verdict::NotHere(e) | Verdict::Failed(e) => {
                warn!(corp_id = %self.opts.corp_id, error = %e, "consent check failed; trying again later");
                Ok(false)
            }
        }
    }

    async fn consent_room(
        &self,
        subject: ConsentSubject,
        report: &mut NameReport,
    ) -> Result<bool, NameError> {
        let api = DirectoryApi::CheckRoomAgree;
        let ConsentSubject::Room { roomid } = &subject else {
            return Ok(true);
        };
        let now = now_ms();
        let statuses = match self.judge(self.api.check_room_agree(roomid).await) {
            Verdict::Ok(infos) => infos
                .iter()
                .filter_map(|info| resolve::room_consent(roomid, info, now))
                .collect::<Vec<_>>(),
            // A room WeCom does not know: checked, nothing on record.
            Verdict::NotHere(_) => Vec::new(),
            Verdict::RateLimited(_) => {
                report.rate_limited = true;
                return Ok(false);
            }
            Verdict::Unavailable(e) => {
                self.disable(api, &e);
                return Ok(false);
            }
            Verdict::Failed(e) => {
                debug!(corp_id = %self.opts.corp_id, error = %e, "room consent check failed; trying again later");
                return Ok(true);
            }
        };
        report.consent_subjects_checked += 1;
        report.consent_statuses += statuses.len() as u64;
        self.store(move |s, corp| s.record_consent(corp, &[subject], &statuses, now))
            .await?;
        Ok(true)
    }

    /// Sorts an API outcome into what the resolver does next.
    pub(crate) fn judge<T>(&self, result: Result<T, ApiError>) -> Verdict<T> {
        let e = match result {
            Ok(v) => return Verdict::Ok(v),
            Err(e) => e,
        };
        match (&e.kind, e.errcode()) {
            (ApiErrorKind::NoSecret(_), _) => Verdict::Unavailable(e),
            (_, Some(errcode::API_FORBIDDEN))
            | (_, Some(errcode::INVALID_CREDENTIAL))
            | (_, Some(INVALID_CORP_ID))
            | (_, Some(wecom_wire::directory::api_errcode::IP_NOT_ALLOWED)) => {
                Verdict::Unavailable(e)
            }
            (_, Some(errcode::RATE_LIMITED))
            | (_, Some(wecom_wire::directory::api_errcode::CONCURRENCY_LIMITED)) => {
                Verdict::RateLimited(e)
            }
            (ApiErrorKind::Api { .. }, _) if !e.retryable => Verdict::NotHere(e),
            _ => Verdict::Failed(e),
        }
    }

    /// Whether `api` may be called now (its secret is configured and it is not switched off).
    pub(crate) fn usable(&self, api: DirectoryApi) -> bool {
        if !self.api.can_call(api) {
            return false;
        }
        let mut disabled = self
            .disabled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match disabled.get(&api) {
            Some(until) if Instant::now() < *until => false,
            Some(_) => {
                disabled.remove(&api);
                true
            }
            None => true,
        }
    }

    /// Switches `api` off for a while, with one log line (a missing secret: for good).
    pub(crate) fn disable(&self, api: DirectoryApi, e: &ApiError) {
        if matches!(e.kind, ApiErrorKind::NoSecret(_)) {
            self.note_unconfigured(api);
            return;
        }
        let mut disabled = self
            .disabled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if disabled
            .insert(api, Instant::now() + DISABLED_FOR)
            .is_none()
        {
            warn!(
                corp_id = %self.opts.corp_id,
                api = api.name(),
                error = %e,
                "API unavailable; what it provides stays unnamed (checked again in an hour)"
            );
        }
        drop(disabled);
        let mut newly = self
            .newly_disabled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !newly.contains(&api.name()) {
            newly.push(api.name());
        }
    }

    /// Logs once per API whose secret is not configured, then never again for this resolver.
    pub(crate) fn note_unconfigured(&self, api: DirectoryApi) {
        let mut disabled = self
            .disabled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // `Instant` far ahead: the secret cannot appear without a restart.
        if let std::collections::btree_map::Entry::Vacant(slot) = disabled.entry(api) {
            let now = Instant::now();
            slot.insert(
                now.checked_add(Duration::from_secs(10 * 365 * 24 * 3600))
                    .unwrap_or(now + DISABLED_FOR),
            );
            info!(
                corp_id = %self.opts.corp_id,
                api = api.name(),
                secret = api.secret().label(),
                "no secret configured for this API; the names it provides stay unresolved"
            );
        }
    }

    pub(crate) fn api(&self) -> &ApiClient {
        &self.api
    }

    /// The delay before checking an id again after `attempts` consecutive failures (1-based),
    /// doubled each time, capped, drawn from its upper half ([`Backoff`]); at least 1 ms.
    pub(crate) fn backoff(&self, attempts: u32) -> i64 {
        millis(Backoff::new(self.opts.retry_base, self.opts.max_backoff).delay(attempts)).max(1)
    }

    /// Runs `f` on the store on a blocking thread.
    async fn store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Directory, &str) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, NameError> {
        let store = Arc::clone(&self.store);
        let corp = self.opts.corp_id.clone();
        wecom_store::blocking(move || f(&*store, &corp))
            .await
            .map_err(NameError::Store)
    }
}

/// The resolver follows the change feed (discovery) and its own check schedule.
impl Follower for NameResolver {
    type Report = NameReport;
    type Error = NameError;

    fn name(&self) -> &'static str {
        "names"
    }

    async fn pass(&self, cancel: &CancellationToken) -> Result<NameReport, NameError> {
        NameResolver::pass(self, cancel).await
    }

    async fn run(&self, cancel: &CancellationToken) {
        NameResolver::run(self, cancel).await;
    }

    fn waker(&self) -> FollowerWaker {
        NameResolver::waker(self)
    }
}

/// Counts a check into `[named, unresolvable, failed]`.
fn tally<T>(resolution: &Resolution<T>, [named, unresolvable, failed]: [&mut u64; 3]) {
    match resolution {
        Resolution::Named(_) => *named += 1,
        Resolution::Unresolvable { .. } => *unresolvable += 1,
        Resolution::Failed { .. } => *failed += 1,
    }
}

/// `(now, next check)` for a check recorded now, due again after `delay_ms` but never within the
/// pass that made it.
fn schedule(pass_start: i64, delay_ms: i64) -> (i64, i64) {
    let now = now_ms();
    (now, now.saturating_add(delay_ms).max(pass_start + 1))
}

/// Whether the pass stops after a check that ended with `halt`.
fn stop(halt: resolve::Halt, unreachable_in_a_row: &mut u32, report: &mut NameReport) -> bool {
    match halt {
        resolve::Halt::Continue => {
            *unreachable_in_a_row = 0;
            false
        }
        resolve::Halt::RateLimited => {
            report.rate_limited = true;
            true
        }
        resolve::Halt::Unreachable => {
            *unreachable_in_a_row += 1;
            if *unreachable_in_a_row >= UNREACHABLE_AFTER {
                report.unreachable = true;
                return true;
            }
            false
        }
    }
}

enum Step {
    Rooms,
    People,
    Permit,
    Consent,
}

pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) use wecom_wire::clock::now_ms;
