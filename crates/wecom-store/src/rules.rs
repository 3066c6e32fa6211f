//! Rules of the archive that are not SQL, applied alike by every backend: how a stored message is
//! linked to the others (a recall marks what it recalls, a quoted reply points at what it quotes),
//! how a stored message's facts are derived again from its kept JSON, and who takes part in a
//! conversation and whether that makes it external. A backend answers the
//! lookups ([`LinkLookup`]); the decisions are made here.

use wecom_model::{Action, Envelope, parse_envelope};

use crate::StoreError;
use crate::store::{Derived, QUOTE_WINDOW_MS};

/// How many candidates one quote looks at, newest first. Replies quote recent messages, usually
/// among the last few; the cap bounds what a quote costs whose original is not in the archive,
/// which would otherwise read a whole busy week of a group (measured on SQLite: ~2.6 µs per
/// candidate, so at most ~1.3 ms per unmatched quote).
pub(crate) const MAX_QUOTE_CANDIDATES: usize = 500;

/// What a backend answers and does for linking, inside the transaction that stores a message.
pub(crate) trait LinkLookup {
    /// The first stored recall record of `msgid` (earliest msgtime, then seq):
    /// `(its msgid, its msgtime)`.
    fn recall_waiting_for(
        &mut self,
        corp_id: &str,
        msgid: &str,
    ) -> Result<Option<(String, i64)>, StoreError>;

    /// Marks `target` recalled by `by` at `at_ms` unless it is already marked; nothing happens
    /// when `target` is not stored.
    fn mark_recalled(
        &mut self,
        corp_id: &str,
        target: &str,
        by: &str,
        at_ms: i64,
    ) -> Result<(), StoreError>;

    /// Walks the text messages of `conversation` with a msgtime in `[from_ms, to_ms]`, other
    /// than `msgid`, newest first (msgtime, then seq), at most `limit`, calling
    /// `matches(from, text)` on each — `text` being a quoted reply's own reply, else its text —
    /// and returns the msgid of the first that matches.
    #[expect(clippy::too_many_arguments, reason = "one lookup, all of it its key")]
    fn first_quote_candidate(
        &mut self,
        corp_id: &str,
        msgid: &str,
        conversation: &str,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
        matches: &mut dyn FnMut(&str, &str) -> bool,
    ) -> Result<Option<String>, StoreError>;
}

/// The links a message gets when it is stored.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct NewLinks {
    /// A recall record stored before the message: `(its msgid, its msgtime)`.
    pub(crate) recalled_by: Option<(String, i64)>,
    /// The message a quoted reply quotes.
    pub(crate) quote_of: Option<String>,
}

/// What a message about to be stored links to: the recall that came before it, and for a quoted
/// reply the newest text message of the same conversation, sent at most [`QUOTE_WINDOW_MS`]
/// before it, that [`wecom_model::quote_matches`] (a candidate that is itself a quoted reply is
/// judged by its reply, which is what a quote of it shows).
pub(crate) fn links_for(
    lookup: &mut dyn LinkLookup,
    corp_id: &str,
    msgid: &str,
    msgtime: i64,
    derived: &Derived,
) -> Result<NewLinks, StoreError> {
    let recalled_by = lookup.recall_waiting_for(corp_id, msgid)?;
    let quote_of = match &derived.quote {
        Some(parts) => {
            let quote = parts.to_quote();
            lookup.first_quote_candidate(
                corp_id,
                msgid,
                &derived.conversation,
                msgtime.saturating_sub(QUOTE_WINDOW_MS),
                msgtime,
                MAX_QUOTE_CANDIDATES,
                &mut |from, text| wecom_model::quote_matches(&quote, from, text),
            )?
        }
        None => None,
    };
    Ok(NewLinks {
        recalled_by,
        quote_of,
    })
}

/// After a message is stored: a recall marks the message it recalls (which keeps its first mark,
/// and is marked on arrival if it is not stored yet).
pub(crate) fn mark_what_it_recalls(
    lookup: &mut dyn LinkLookup,
    corp_id: &str,
    msgid: &str,
    msgtime: i64,
    derived: &Derived,
) -> Result<(), StoreError> {
    match &derived.recall_of {
        Some(target) => lookup.mark_recalled(corp_id, target, msgid, msgtime),
        None => Ok(()),
    }
}

/// A stored message whose facts are derived again: its envelope columns and kept JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredEnvelope {
    pub(crate) msgid: String,
    pub(crate) action: String,
    pub(crate) from: String,
    /// As stored: a JSON array of strings.
    pub(crate) tolist: String,
    pub(crate) roomid: String,
    pub(crate) msgtime: i64,
    pub(crate) msgtype: Option<String>,
    pub(crate) json: String,
}

/// The ids of a message that take part in its conversation: `from` and every `tolist` id,
/// empty ones skipped (an id is kept exactly as sent).
pub(crate) fn participants<'a>(
    from: &'a str,
    tolist: &'a [String],
) -> impl Iterator<Item = &'a str> {
    std::iter::once(from)
        .chain(tolist.iter().map(String::as_str))
        .filter(|id| !id.is_empty())
}

/// Whether a participant makes its conversation external: an external contact or a group robot
/// by the shape of its id ([`wecom_model::classify_id`]).
pub(crate) fn makes_external(id: &str) -> bool {
    matches!(
        wecom_model::classify_id(id),
        wecom_model::IdKind::External | wecom_model::IdKind::Robot
    )
}

/// Derives a stored message as a commit would have from its envelope. The kept JSON is read again
/// (today's parser may read more of it than the one that stored it). Should that fail — only JSON
/// stored from a hand-built envelope or by a more lenient older build can — the stored envelope
/// columns, which came from the same parse at ingest, stand in for the envelope, with a warning.
pub(crate) fn derive_again(row: &StoredEnvelope) -> Derived {
    let error = match parse_envelope(row.json.as_bytes()) {
        Ok(envelope) => return Derived::from_envelope(&envelope),
        Err(e) => e,
    };
    let tolist = serde_json::from_str::<Vec<String>>(&row.tolist);
    let envelope = Envelope {
        msgid: row.msgid.clone(),
        action: Action::parse(&row.action),
        from: row.from.clone(),
        tolist: tolist.as_ref().cloned().unwrap_or_default(),
        roomid: row.roomid.clone(),
        msgtime: row.msgtime,
        msgtype: row.msgtype.clone(),
        json: row.json.clone(),
    };
    let mut derived = Derived::from_envelope(&envelope);
    derived.warnings.insert(
        0,
        format!(
            "stored json is not readable as an envelope ({error}); derived from the stored \
             envelope columns"
        ),
    );
    if tolist.is_err() {
        derived
            .warnings
            .insert(1, "stored tolist is not a JSON array of strings".to_owned());
    }
    derived
}
