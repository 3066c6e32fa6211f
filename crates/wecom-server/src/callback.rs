//! The WeCom callback endpoint of one corp: URL verification (GET) and event delivery (POST).
//! Every rejection is a 4xx with a log line; nothing here can panic on input.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tracing::{debug, info, warn};
use wecom_callback::{CallbackCrypto, parse_encrypted_envelope, parse_event};

use crate::metrics::State as AppState;

/// One corp's callback: its crypto and what to do when WeCom says new archive data is ready.
pub struct CallbackEndpoint {
    pub corp_id: String,
    pub crypto: CallbackCrypto,
    pub on_notify: Arc<dyn Fn() + Send + Sync>,
}

/// Outcome labels of the `callback_requests_total` counter.
pub(crate) mod outcome {
    pub const VERIFIED: &str = "url_verified";
    pub const NOTIFY: &str = "msgaudit_notify";
    pub const OTHER_EVENT: &str = "other_event";
    pub const UNKNOWN_CORP: &str = "unknown_corp";
    pub const BAD_REQUEST: &str = "bad_request";
    pub const BAD_SIGNATURE: &str = "bad_signature";
    pub const STALE: &str = "stale_timestamp";
    pub const TOO_LARGE: &str = "too_large";
    pub const UNDECRYPTABLE: &str = "undecryptable";
    pub const REPLAYED: &str = "replayed";
}

fn reject(
    state: &AppState,
    corp: &str,
    status: StatusCode,
    what: &'static str,
    detail: &str,
) -> Response {
    state.count_callback(corp, what);
    warn!(corp_id = corp, outcome = what, detail, "callback rejected");
    (status, what).into_response()
}

/// The checked query of a callback.
struct Signed<'a> {
    sig: &'a str,
    ts: &'a str,
    nonce: &'a str,
    /// The timestamp and now, in unix seconds.
    when: i64,
    now: i64,
}

/// Checks the common query parameters: present, timestamp fresh. The error is the finished 4xx
/// response, which is what every caller returns at once.
#[allow(clippy::result_large_err)]
fn check_query<'a>(
    state: &AppState,
    corp: &str,
    q: &'a HashMap<String, String>,
) -> Result<Signed<'a>, Response> {
    let (Some(sig), Some(ts), Some(nonce)) =
        (q.get("msg_signature"), q.get("timestamp"), q.get("nonce"))
    else {
        return Err(reject(
            state,
            corp,
            StatusCode::BAD_REQUEST,
            outcome::BAD_REQUEST,
            "missing msg_signature, timestamp or nonce",
        ));
    };
    let Ok(when) = ts.trim().parse::<i64>() else {
        return Err(reject(
            state,
            corp,
            StatusCode::BAD_REQUEST,
            outcome::BAD_REQUEST,
            "timestamp is not a number",
        ));
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    if now.abs_diff(when) > state.config.max_skew.as_secs() {
        return Err(reject(
            state,
            corp,
            StatusCode::FORBIDDEN,
            outcome::STALE,
            "timestamp outside the allowed skew",
        ));
    }
    Ok(Signed {
        sig,
        ts,
        nonce,
        when,
        now,
    })
}

/// GET: WeCom checks the URL when it is saved; answer the decrypted `echostr` exactly.
pub(crate) async fn verify_url(
    State(state): State<Arc<AppState>>,
    Path(corp): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(ep) = state.endpoints.get(&corp) else {
        return reject(
            &state,
            &corp,
            StatusCode::NOT_FOUND,
            outcome::UNKNOWN_CORP,
            "no callback configured for this corp",
        );
    };
    let (sig, ts, nonce) = match check_query(&state, &corp, &q) {
        Ok(v) => (v.sig, v.ts, v.nonce),
        Err(r) => return r,
    };
    let Some(echostr) = q.get("echostr") else {
        return reject(
            &state,
            &corp,
            StatusCode::BAD_REQUEST,
            outcome::BAD_REQUEST,
            "missing echostr",
        );
    };
    if ep.crypto.verify(sig, ts, nonce, echostr).is_err() {
        return reject(
            &state,
            &corp,
            StatusCode::FORBIDDEN,
            outcome::BAD_SIGNATURE,
            "msg_signature mismatch",
        );
    }
    match ep.crypto.decrypt(echostr) {
        Ok(plain) => {
            state.count_callback(&corp, outcome::VERIFIED);
            info!(corp_id = %corp, "callback url verified");
            (StatusCode::OK, plain).into_response()
        }
        Err(e) => reject(
            &state,
            &corp,
            StatusCode::BAD_REQUEST,
            outcome::UNDECRYPTABLE,
            &e.to_string(),
        ),
    }
}

/// POST: an encrypted event; `msgaudit_notify` wakes the corp's sync. A replay is answered 200
/// without acting again.
pub(crate) async fn event(
    State(state): State<Arc<AppState>>,
    Path(corp): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let Some(ep) = state.endpoints.get(&corp) else {
        return reject(
            &state,
            &corp,
            StatusCode::NOT_FOUND,
            outcome::UNKNOWN_CORP,
            "no callback configured for this corp",
        );
    };
    if body.len() > state.config.max_body {
        return reject(
            &state,
            &corp,
            StatusCode::PAYLOAD_TOO_LARGE,
            outcome::TOO_LARGE,
            "body larger than allowed",
        );
    }
    let signed = match check_query(&state, &corp, &q) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (sig, ts, nonce) = (signed.sig, signed.ts, signed.nonce);
    let encrypted = match parse_encrypted_envelope(&body) {
        Ok(e) => e,
        Err(e) => {
            return reject(
                &state,
                &corp,
                StatusCode::BAD_REQUEST,
                outcome::BAD_REQUEST,
                &e.to_string(),
            );
        }
    };
    if ep.crypto.verify(sig, ts, nonce, &encrypted).is_err() {
        return reject(
            &state,
            &corp,
            StatusCode::FORBIDDEN,
            outcome::BAD_SIGNATURE,
            "msg_signature mismatch",
        );
    }
    let plain = match ep.crypto.decrypt(&encrypted) {
        Ok(p) => p,
        Err(e) => {
            return reject(
                &state,
                &corp,
                StatusCode::BAD_REQUEST,
                outcome::UNDECRYPTABLE,
                &e.to_string(),
            );
        }
    };
    let event = match parse_event(&plain) {
        Ok(e) => e,
        Err(e) => {
            return reject(
                &state,
                &corp,
                StatusCode::BAD_REQUEST,
                outcome::BAD_REQUEST,
                &e.to_string(),
            );
        }
    };
    // A replay of a callback already acted on (WeCom retrying, or someone resending a captured
    // one) is answered like the first without acting again, for as long as its timestamp is
    // accepted; after that the skew check refuses it.
    let expires = signed
        .when
        .saturating_add(i64::try_from(state.config.max_skew.as_secs()).unwrap_or(i64::MAX));
    if !state
        .replays
        .first_time(&corp, sig, ts, nonce, signed.now, expires)
    {
        state.count_callback(&corp, outcome::REPLAYED);
        debug!(corp_id = %corp, "callback replayed: answered without acting again");
        return (StatusCode::OK, "").into_response();
    }
    if event.is_msgaudit_notify() {
        state.count_callback(&corp, outcome::NOTIFY);
        debug!(corp_id = %corp, "msgaudit_notify: waking the sync");
        (ep.on_notify)();
    } else {
        state.count_callback(&corp, outcome::OTHER_EVENT);
        info!(corp_id = %corp, event = %event.event, "callback event ignored");
    }
    // WeCom expects 200 with an empty body; anything else makes it retry.
    (StatusCode::OK, "").into_response()
}
