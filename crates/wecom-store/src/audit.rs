//! The access audit log in our own terms: who did what, when, from where, with what outcome —
//! append-only and hash-chained, so an edited, deleted or reordered entry is found by
//! [`AuditReader::verify`].
//!
//! The chain is a rule of the archive, not of a backend: [`chain_hash`] defines the one canonical
//! encoding of an entry, and [`ChainVerifier`] walks a log in order, so every backend hashes and
//! checks alike. Each entry's hash covers the previous entry's hash, its own seq and every field:
//! `sha256("wecom-audit-v1" ‖ prev_hash ‖ seq ‖ at_ms ‖ username ‖ address ‖ action ‖ corp_id ‖
//! target ‖ detail ‖ outcome)`, each part preceded by its length in bytes (8 bytes, big-endian),
//! so no two different entries encode alike. The first entry's `prev_hash` is [`GENESIS_HASH`].
//!
//! A chain alone cannot show that entries were cut off its end: compare the count and head hash
//! [`verify`](AuditReader::verify) reports against a copy kept elsewhere for that.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::StoreError;

/// The `prev_hash` of the first entry: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditOutcome {
    Ok,
    /// Refused for lack of a right (a reviewer outside its scope, a wrong password).
    Denied,
    /// Could not be done.
    Failed,
}

impl AuditOutcome {
    pub const ALL: [AuditOutcome; 3] =
        [AuditOutcome::Ok, AuditOutcome::Denied, AuditOutcome::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Ok => "ok",
            AuditOutcome::Denied => "denied",
            AuditOutcome::Failed => "failed",
        }
    }
}

impl fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Not one of the [`AuditOutcome`] names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown audit outcome {0:?}")]
pub struct UnknownAuditOutcome(pub String);

impl FromStr for AuditOutcome {
    type Err = UnknownAuditOutcome;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AuditOutcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| UnknownAuditOutcome(s.chars().take(40).collect()))
    }
}

/// One audited event, as the caller describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When (Unix ms).
    pub at_ms: i64,
    /// Who: the account name (`cli:<os user>` for the command line); empty for an unknown user.
    pub username: String,
    /// From where (an IP address, or `cli` / `local`).
    pub address: String,
    /// What: `session.create`, `user.add`, `message.raw`, ...
    pub action: String,
    /// The corp it concerned; empty when none.
    pub corp_id: String,
    /// What it was done to (a username, a conversation key, a msgid); empty when nothing.
    pub target: String,
    /// More about it, as JSON text (a search's query, what changed); `{}` when nothing.
    pub detail: String,
    pub outcome: AuditOutcome,
}

/// A stored entry with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// 1, 2, 3, ... in append order.
    pub seq: u64,
    pub entry: AuditEntry,
    /// The hash of the entry before ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// [`chain_hash`] of this entry.
    pub hash: String,
}

/// Which entries [`AuditReader::list`] returns, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this account (any ASCII case).
    pub username: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only entries at or after this time (Unix ms).
    pub since_ms: Option<i64>,
    /// Only entries before this time (Unix ms).
    pub until_ms: Option<i64>,
    /// Only entries after this seq (paging).
    pub after_seq: u64,
    /// At most this many.
    pub limit: usize,
}

impl Default for AuditFilter {
    fn default() -> Self {
        AuditFilter {
            username: None,
            action: None,
            since_ms: None,
            until_ms: None,
            after_seq: 0,
            limit: 1000,
        }
    }
}

/// What [`AuditReader::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainCheck {
    /// Every link holds.
    Intact {
        entries: u64,
        /// The last entry's hash ([`GENESIS_HASH`] for an empty log).
        head_hash: String,
    },
    /// The first link that does not hold.
    Broken(ChainBreak),
}

/// The first broken link of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The seq of the entry where the chain breaks (for a missing entry, the missing seq).
    pub seq: u64,
    pub reason: BreakReason,
}

/// Why a link does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakReason {
    /// The entry is missing: the log goes from the entry before to `next_seq` (deleted).
    Missing { next_seq: u64 },
    /// The entry's fields do not hash to its stored hash (edited).
    Edited,
    /// The entry's `prev_hash` is not the hash of the entry before it (an entry before it was
    /// replaced, removed and renumbered, or reordered).
    Unlinked,
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seq = self.seq;
        match &self.reason {
            BreakReason::Missing { next_seq } => write!(
                f,
                "entry {seq} is missing (deleted): the log goes on at {next_seq}"
            ),
            BreakReason::Edited => write!(
                f,
                "entry {seq} was edited: its fields do not hash to its stored hash"
            ),
            BreakReason::Unlinked => write!(
                f,
                "entry {seq} does not link to the entry before it: an earlier entry was \
                 replaced, removed or reordered"
            ),
        }
    }
}

/// The hash of an entry at `seq` after `prev_hash`: lowercase hex SHA-256 of the canonical
/// encoding described in the module docs.
pub fn chain_hash(prev_hash: &str, seq: u64, e: &AuditEntry) -> String {
    let mut h = Sha256::new();
    let seq = seq.to_string();
    let at = e.at_ms.to_string();
    let parts: [&[u8]; 11] = [
        b"wecom-audit-v1",
        prev_hash.as_bytes(),
        seq.as_bytes(),
        at.as_bytes(),
        e.username.as_bytes(),
        e.address.as_bytes(),
        e.action.as_bytes(),
        e.corp_id.as_bytes(),
        e.target.as_bytes(),
        e.detail.as_bytes(),
        e.outcome.as_str().as_bytes(),
    ];
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    hex::encode(h.finalize())
}

/// Checks a log read in seq order, one record at a time: what every backend's `verify` runs.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    entries: u64,
    prev_hash: String,
    next_seq: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier {
            entries: 0,
            prev_hash: GENESIS_HASH.to_owned(),
            next_seq: 1,
        }
    }
}

impl ChainVerifier {
    pub fn new() -> ChainVerifier {
        ChainVerifier::default()
    }

    /// Checks the next record; the first error is the first broken link (stop there).
    pub fn check(&mut self, record: &AuditRecord) -> Result<(), ChainBreak> {
        if record.seq != self.next_seq {
            return Err(ChainBreak {
                seq: self.next_seq,
                reason: BreakReason::Missing {
                    next_seq: record.seq,
                },
            });
        }
        if chain_hash(&record.prev_hash, record.seq, &record.entry) != record.hash {
            return Err(ChainBreak {
                seq: record.seq,
                reason: BreakReason::Edited,
            });
        }
        if record.prev_hash != self.prev_hash {
            return Err(ChainBreak {
                seq: record.seq,
                reason: BreakReason::Unlinked,
            });
        }
        self.entries += 1;
        self.next_seq = record.seq.saturating_add(1);
        self.prev_hash.clone_from(&record.hash);
        Ok(())
    }

    /// The result when every record passed.
    pub fn finish(self) -> ChainCheck {
        ChainCheck::Intact {
            entries: self.entries,
            head_hash: self.prev_hash,
        }
    }
}

/// Checks an entry before it is appended: the detail must be JSON, the outcome fields bounded.
pub fn validate_entry(e: &AuditEntry) -> Result<(), StoreError> {
    const OP: &str = "appending to the audit log";
    if serde_json::from_str::<serde_json::Value>(&e.detail).is_err() {
        return Err(StoreError::InvalidInput {
            op: OP,
            cause: "the detail is not JSON text".to_owned(),
        });
    }
    if e.action.is_empty() {
        return Err(StoreError::InvalidInput {
            op: OP,
            cause: "the action is empty".to_owned(),
        });
    }
    Ok(())
}

/// Reading the audit log: what a read-only open of the archive can do too
/// ([`crate::open_audit_reader`]). `Send + Sync`.
pub trait AuditReader: Send + Sync {
    /// Entries matching `filter`, by seq.
    fn list(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError>;

    /// Recomputes every link from the first entry ([`ChainVerifier`]) and reports the first that
    /// does not hold, or the count and head hash.
    fn verify(&self) -> Result<ChainCheck, StoreError>;
}

/// The append-only, hash-chained access audit log: the reads of [`AuditReader`] and appending;
/// nothing edits or deletes an entry. `Send + Sync`.
pub trait AuditLog: AuditReader {
    /// Appends `entry` as the next seq, with its `prev_hash` and [`chain_hash`] computed in the
    /// same transaction that reads the head, so concurrent appends still form one chain. A detail
    /// that is not JSON, or an empty action, is `InvalidInput`.
    fn append(&self, entry: &AuditEntry) -> Result<AuditRecord, StoreError>;

    /// Appends `entries` in order as consecutive seqs, all or none (one transaction where the
    /// backend can: a group commit for many concurrent requests). Every entry is checked first;
    /// one invalid entry appends nothing. The default appends them one by one.
    fn append_all(&self, entries: &[AuditEntry]) -> Result<Vec<AuditRecord>, StoreError> {
        for e in entries {
            validate_entry(e)?;
        }
        entries.iter().map(|e| self.append(e)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(username: &str, address: &str) -> AuditEntry {
        AuditEntry {
            at_ms: 1,
            username: username.to_owned(),
            address: address.to_owned(),
            action: "a".to_owned(),
            corp_id: String::new(),
            target: String::new(),
            detail: "{}".to_owned(),
            outcome: AuditOutcome::Ok,
        }
    }

    #[test]
    fn the_encoding_keeps_field_boundaries() {
        // The same bytes split differently between two fields hash differently.
        assert_ne!(
            chain_hash(GENESIS_HASH, 1, &entry("ab", "c")),
            chain_hash(GENESIS_HASH, 1, &entry("a", "bc"))
        );
        assert_ne!(
            chain_hash(GENESIS_HASH, 1, &entry("a", "b")),
            chain_hash(GENESIS_HASH, 2, &entry("a", "b")),
            "the seq is covered"
        );
        let h = chain_hash(GENESIS_HASH, 1, &entry("a", "b"));
        assert_eq!(h.len(), 64);
        assert!(
            h.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }

    #[test]
    fn the_verifier_reports_the_first_broken_link() {
        let mut records = Vec::new();
        let mut prev = GENESIS_HASH.to_owned();
        for seq in 1..=3 {
            let e = entry("u", &seq.to_string());
            let hash = chain_hash(&prev, seq, &e);
            records.push(AuditRecord {
                seq,
                entry: e,
                prev_hash: std::mem::replace(&mut prev, hash.clone()),
                hash,
            });
        }
        let run = |records: &[AuditRecord]| {
            let mut v = ChainVerifier::new();
            for r in records {
                if let Err(b) = v.check(r) {
                    return ChainCheck::Broken(b);
                }
            }
            v.finish()
        };
        assert_eq!(
            run(&records),
            ChainCheck::Intact {
                entries: 3,
                head_hash: prev
            }
        );
        let mut swapped = records.clone();
        swapped.swap(1, 2);
        assert_eq!(
            run(&swapped),
            ChainCheck::Broken(ChainBreak {
                seq: 2,
                reason: BreakReason::Missing { next_seq: 3 }
            })
        );
        let mut edited = records.clone();
        edited[0].entry.target = "x".to_owned();
        assert_eq!(
            run(&edited),
            ChainCheck::Broken(ChainBreak {
                seq: 1,
                reason: BreakReason::Edited
            })
        );
    }
}
