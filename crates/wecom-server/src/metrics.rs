//! `/metrics`, `/healthz` and `/readyz`. Gauges are rendered at scrape time from an [`Observer`]'s
//! snapshot, which must be cheap (kept in memory by the binary, never computed from the archive on
//! the request path); only the callback counter lives here. `/metrics` may require a bearer token.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::State as AxumState;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use subtle::ConstantTimeEq;

use crate::replay::ReplayCache;
use crate::{CallbackEndpoint, ServerConfig};

/// What the metrics say about one corp at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CorpSnapshot {
    pub corp_id: String,
    /// The cursor: the last seq committed.
    pub last_seq: u64,
    /// Seconds since the corp was last caught up (None before the first catch-up).
    pub lag_seconds: Option<f64>,
    /// Records the last sync had to pull: how far behind it was.
    pub lag_records: u64,
    pub records_total: u64,
    pub records_by_type: BTreeMap<String, u64>,
    pub decrypt_failures_by_code: BTreeMap<i32, u64>,
    pub media_by_state: BTreeMap<String, u64>,
    pub media_oldest_pending_age_seconds: Option<f64>,
    /// Rooms and people by naming state (`named`, `unresolvable`, `unchecked`), keyed
    /// `(kind, state)` with kind `room` or `person`.
    pub names: BTreeMap<(String, String), u64>,
    pub worker_restarts: u64,
    pub syncs_ok: u64,
    pub syncs_failed: u64,
    /// Seconds until the oldest not-yet-safe item falls out of WeCom's retention window.
    pub time_to_loss_seconds: Option<f64>,
    /// Why the corp is not ready, if it is not.
    pub not_ready: Option<String>,
    /// Age of the archive figures above (records, media, names): when they were last computed.
    pub figures_age_seconds: Option<f64>,
    /// Several nodes on one archive: whether this node holds the corp's lease (syncs it) or
    /// stands by. `None` with one node.
    pub lease_held: Option<bool>,
}

/// The binary's view of the process, read at scrape time on the async runtime: it must answer
/// from memory at once (no I/O, no waiting on the archive), so scrapes stay O(1) however large the
/// archive and however busy its writer.
pub trait Observer: Send + Sync + 'static {
    fn snapshot(&self) -> Vec<CorpSnapshot>;
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallbackLabels {
    corp_id: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CorpLabel {
    corp_id: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TypeLabels {
    corp_id: String,
    msgtype: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    corp_id: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NameLabels {
    corp_id: String,
    kind: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    corp_id: String,
    state: String,
}

pub(crate) struct State {
    pub(crate) endpoints: HashMap<String, CallbackEndpoint>,
    pub(crate) config: ServerConfig,
    observer: Arc<dyn Observer>,
    callbacks: Family<CallbackLabels, Counter>,
    pub(crate) replays: ReplayCache,
}

impl State {
    pub(crate) fn new(
        endpoints: Vec<CallbackEndpoint>,
        observer: Arc<dyn Observer>,
        config: ServerConfig,
    ) -> State {
        State {
            endpoints: endpoints
                .into_iter()
                .map(|e| (e.corp_id.clone(), e))
                .collect(),
            replays: ReplayCache::new(config.replay_capacity),
            config,
            observer,
            callbacks: Family::default(),
        }
    }

    pub(crate) fn count_callback(&self, corp: &str, outcome: &str) {
        // Unknown corp ids come from the URL: do not let them create unbounded label sets.
        let corp_id = if self.endpoints.contains_key(corp) {
            corp.to_owned()
        } else {
            "unknown".to_owned()
        };
        self.callbacks
            .get_or_create(&CallbackLabels {
                corp_id,
                outcome: outcome.to_owned(),
            })
            .inc();
    }
}

fn gauge_f(
    family: &Family<CorpLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    corp: &str,
    v: f64,
) {
    family
        .get_or_create(&CorpLabel {
            corp_id: corp.to_owned(),
        })
        .set(v);
}

fn render(
    snapshots: &[CorpSnapshot],
    callbacks: &Family<CallbackLabels, Counter>,
) -> Result<String, std::fmt::Error> {
    type F64Gauge = Gauge<f64, std::sync::atomic::AtomicU64>;
    let mut r = Registry::with_prefix("wecom_archive");
    let last_seq = Family::<CorpLabel, F64Gauge>::default();
    let lag_seconds = Family::<CorpLabel, F64Gauge>::default();
    let lag_records = Family::<CorpLabel, F64Gauge>::default();
    let records = Family::<CorpLabel, F64Gauge>::default();
    let by_type = Family::<TypeLabels, F64Gauge>::default();
    let failures = Family::<CodeLabels, F64Gauge>::default();
    let media = Family::<StateLabels, F64Gauge>::default();
    let media_oldest = Family::<CorpLabel, F64Gauge>::default();
    let names = Family::<NameLabels, F64Gauge>::default();
    let restarts = Family::<CorpLabel, F64Gauge>::default();
    let syncs = Family::<StateLabels, F64Gauge>::default();
    let ttl = Family::<CorpLabel, F64Gauge>::default();
    let ready = Family::<CorpLabel, F64Gauge>::default();
    let figures_age = Family::<CorpLabel, F64Gauge>::default();
    let lease = Family::<CorpLabel, F64Gauge>::default();
    for s in snapshots {
        let c = s.corp_id.as_str();
        gauge_f(&last_seq, c, s.last_seq as f64);
        if let Some(l) = s.lag_seconds {
            gauge_f(&lag_seconds, c, l);
        }
        gauge_f(&lag_records, c, s.lag_records as f64);
        gauge_f(&records, c, s.records_total as f64);
        for (t, n) in &s.records_by_type {
            by_type
                .get_or_create(&TypeLabels {
                    corp_id: c.to_owned(),
                    msgtype: t.clone(),
                })
                .set(*n as f64);
        }
        for (code, n) in &s.decrypt_failures_by_code {
            failures
                .get_or_create(&CodeLabels {
                    corp_id: c.to_owned(),
                    code: code.to_string(),
                })
                .set(*n as f64);
        }
        for (state, n) in &s.media_by_state {
            media
                .get_or_create(&StateLabels {
                    corp_id: c.to_owned(),
                    state: state.clone(),
                })
                .set(*n as f64);
        }
        if let Some(a) = s.media_oldest_pending_age_seconds {
            gauge_f(&media_oldest, c, a);
        }
        for ((kind, state), n) in &s.names {
            names
                .get_or_create(&NameLabels {
                    corp_id: c.to_owned(),
                    kind: kind.clone(),
                    state: state.clone(),
                })
                .set(*n as f64);
        }
        gauge_f(&restarts, c, s.worker_restarts as f64);
        syncs
            .get_or_create(&StateLabels {
                corp_id: c.to_owned(),
                state: "ok".into(),
            })
            .set(s.syncs_ok as f64);
        syncs
            .get_or_create(&StateLabels {
                corp_id: c.to_owned(),
                state: "failed".into(),
            })
            .set(s.syncs_failed as f64);
        if let Some(t) = s.time_to_loss_seconds {
            gauge_f(&ttl, c, t);
        }
        gauge_f(&ready, c, if s.not_ready.is_none() { 1.0 } else { 0.0 });
        if let Some(a) = s.figures_age_seconds {
            gauge_f(&figures_age, c, a);
        }
        if let Some(held) = s.lease_held {
            gauge_f(&lease, c, if held { 1.0 } else { 0.0 });
        }
    }
    r.register("last_seq", "Last archived seq (the cursor)", last_seq);
    r.register(
        "sync_lag_seconds",
        "Seconds since the corp was last caught up",
        lag_seconds,
    );
    r.register(
        "sync_lag_records",
        "Records the last sync had to pull",
        lag_records,
    );
    r.register("records", "Encrypted records archived", records);
    r.register("records_by_type", "Decrypted records by msgtype", by_type);
    r.register(
        "decrypt_failures",
        "Records not decrypted yet, by SDK-style code",
        failures,
    );
    r.register("media_jobs", "Media jobs by state", media);
    r.register(
        "media_oldest_pending_age_seconds",
        "Age of the oldest pending media job",
        media_oldest,
    );
    r.register(
        "names",
        "Rooms and people by naming state (named, unresolvable, unchecked)",
        names,
    );
    r.register(
        "worker_restarts",
        "Vendor-library worker restarts",
        restarts,
    );
    r.register("syncs", "Sync runs since start, by result", syncs);
    r.register(
        "time_to_loss_seconds",
        "Seconds until the oldest unsafe item leaves WeCom's retention window",
        ttl,
    );
    r.register("ready", "1 when the corp is ready", ready);
    r.register(
        "figures_age_seconds",
        "Seconds since the archive figures (records, media, names) were computed",
        figures_age,
    );
    r.register(
        "lease_held",
        "Several nodes: 1 when this node holds the corp's lease and syncs it, 0 when it stands by",
        lease,
    );
    r.register(
        "callback_requests",
        "Callback requests by outcome",
        callbacks.clone(),
    );
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &r)?;
    Ok(out)
}

/// Whether the request carries the configured bearer token (compared in constant time).
fn authorized(token: Option<&str>, headers: &HeaderMap) -> bool {
    let Some(token) = token else {
        return true;
    };
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    bool::from(given.trim().as_bytes().ct_eq(token.as_bytes()))
}

pub(crate) async fn metrics(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
) -> Response {
    if !authorized(state.config.metrics_token.as_deref(), &headers) {
        let mut r = (
            StatusCode::UNAUTHORIZED,
            "metrics need `Authorization: Bearer <token>` with the token set in [server] metrics_token",
        )
            .into_response();
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    }
    let snapshots = state.observer.snapshot();
    match render(&snapshots, &state.callbacks) {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "encoding failed").into_response(),
    }
}

pub(crate) async fn healthz() -> &'static str {
    "ok"
}

pub(crate) async fn readyz(AxumState(state): AxumState<Arc<State>>) -> Response {
    let snapshots = state.observer.snapshot();
    let problems: Vec<String> = snapshots
        .iter()
        .filter_map(|s| {
            s.not_ready
                .as_ref()
                .map(|why| format!("{}: {why}", s.corp_id))
        })
        .collect();
    // With several nodes, say which corps this node syncs and which it stands by for.
    let leases: Vec<String> = snapshots
        .iter()
        .filter_map(|s| {
            s.lease_held.map(|held| {
                let role = if held { "holds the lease" } else { "stands by" };
                format!("{}: {role}", s.corp_id)
            })
        })
        .collect();
    if problems.is_empty() {
        if leases.is_empty() {
            (StatusCode::OK, "ready").into_response()
        } else {
            (StatusCode::OK, format!("ready\n{}", leases.join("\n"))).into_response()
        }
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, problems.join("\n")).into_response()
    }
}
