//! ArchiveWriter on PostgreSQL: page commits, the cursor by hand, and failures decrypted again.
//!
//! A page commit is one transaction that first checks this node's lease of the corp (fencing)
//! and locks the corp's feed head, so the commits of a corp run one after the other whatever
//! the number of nodes. Which records of the page are new is decided in Rust against the stored
//! records the page could collide with (read in one query under that lock), exactly as one
//! insert after the other would decide it; every table is then written with one multi-row
//! statement.

use std::collections::{HashMap, HashSet};

use postgres::Transaction;
use sha2::{Digest, Sha256};
use wecom_wire::ChatDataItem;

use super::commit::{Incoming, lock_feed_head, store_messages};
use super::{PgStore, TxError, pg_text, seq_from_sql, seq_to_sql};
use crate::StoreError;
use crate::store::{
    ArchiveWriter, CommitStats, CursorChange, FailedRecord, Failure, IngestedRecord, Outcome,
    PageCommit, ResolveStats,
};

/// The two stored-seq ranges whose concatenation is ascending u64 order (a seq above `i64::MAX`
/// is stored as a negative i64).
pub(super) const U64_ORDER: [(i64, i64); 2] = [(0, i64::MAX), (i64::MIN, -1)];

/// `[a, b]` in u64 order as ranges that each stay on one side of 2^63, so `BETWEEN` over the
/// stored values is one index range each.
pub(super) fn u64_subranges(a: u64, b: u64) -> Vec<(i64, i64)> {
    const HALF: u64 = 1 << 63;
    let ranges = if a > b {
        Vec::new()
    } else if a < HALF && b >= HALF {
        vec![(a, HALF - 1), (HALF, b)]
    } else {
        vec![(a, b)]
    };
    ranges
        .into_iter()
        .map(|(a, b)| (seq_to_sql(a), seq_to_sql(b)))
        .collect()
}

/// A count read from SQL (never negative).
pub(super) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

/// A stored value this build cannot read: damage.
pub(super) fn damaged(op: &'static str, what: &str) -> TxError {
    TxError::Store(StoreError::Backend {
        op,
        cause: format!("stored {what} is out of range"),
    })
}

/// The stored cursor of a corp (0 if none); `lock` takes the row lock for the transaction.
pub(super) fn read_cursor(
    tx: &mut Transaction<'_>,
    corp_id: &str,
    lock: bool,
) -> Result<u64, TxError> {
    let sql = if lock {
        "SELECT seq FROM cursors WHERE corp_id = $1 FOR UPDATE"
    } else {
        "SELECT seq FROM cursors WHERE corp_id = $1"
    };
    let row = tx.query_opt(sql, &[&corp_id])?;
    Ok(match row {
        Some(row) => seq_from_sql(row.try_get(0)?),
        None => 0,
    })
}

fn write_cursor(tx: &mut Transaction<'_>, corp_id: &str, seq: u64) -> Result<(), TxError> {
    tx.execute(
        "INSERT INTO cursors (corp_id, seq, updated_at_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (corp_id) DO UPDATE SET seq = excluded.seq, \
         updated_at_ms = excluded.updated_at_ms",
        &[&corp_id, &seq_to_sql(seq), &wecom_wire::clock::now_ms()],
    )?;
    Ok(())
}

impl ArchiveWriter for PgStore {
    fn cursor(&self, corp_id: &str) -> Result<u64, StoreError> {
        self.read("reading the cursor", |tx| read_cursor(tx, corp_id, false))
    }

    fn commit_page(&self, corp_id: &str, page: &PageCommit) -> Result<CommitStats, StoreError> {
        const OP: &str = "committing a page";
        let committed_at = wecom_wire::clock::now_ms();
        self.write(OP, |tx| {
            self.check_fence(tx, corp_id, OP)?;
            let head = lock_feed_head(tx, corp_id)?;
            let mut stats = CommitStats::default();

            let msgids: Vec<String> = page
                .records
                .iter()
                .map(|r| pg_text(&r.item.msgid).into_owned())
                .collect();
            let seqs: Vec<i64> = page
                .records
                .iter()
                .map(|r| seq_to_sql(r.item.seq))
                .collect();
            let is_new = insert_records(tx, corp_id, &page.records, &msgids, &seqs)?;
            let mut new = Vec::with_capacity(page.records.len());
            for (((record, msgid), seq), is_new) in
                page.records.iter().zip(&msgids).zip(&seqs).zip(is_new)
            {
                if is_new {
                    stats.inserted += 1;
                    new.push((record, msgid, *seq));
                } else {
                    stats.duplicates += 1;
                }
            }

            // Failures.
            let mut f_msgid = Vec::new();
            let mut f_seq = Vec::new();
            let mut f_stage = Vec::new();
            let mut f_code = Vec::new();
            let mut f_reason = Vec::new();
            let mut f_at = Vec::new();
            let mut f_plain: Vec<Option<&[u8]>> = Vec::new();
            let mut incoming = Vec::new();
            for (record, msgid, seq) in &new {
                match &record.outcome {
                    Outcome::Decrypted {
                        plaintext,
                        envelope,
                        derived,
                    } => incoming.push(Incoming {
                        msgid: (*msgid).clone(),
                        seq: *seq,
                        envelope,
                        plaintext,
                        derived,
                    }),
                    Outcome::Failed(failure) => {
                        f_msgid.push(msgid.as_str());
                        f_seq.push(*seq);
                        f_stage.push(pg_text(&failure.stage));
                        f_code.push(i64::from(failure.code));
                        f_reason.push(pg_text(&failure.reason));
                        f_at.push(record.fetched_at_ms);
                        f_plain.push(failure.plaintext.as_deref());
                        stats.failed += 1;
                    }
                }
            }
            if !f_msgid.is_empty() {
                tx.execute(
                    "INSERT INTO failures (corp_id, msgid, seq, stage, code, reason, attempts, \
                     first_failed_at_ms, last_failed_at_ms, plaintext) \
                     SELECT $1, f.msgid, f.seq, f.stage, f.code, f.reason, 1, f.at, f.at, \
                     f.plaintext FROM unnest($2::text[], $3::bigint[], $4::text[], \
                     $5::bigint[], $6::text[], $7::bigint[], $8::bytea[]) \
                     AS f(msgid, seq, stage, code, reason, at, plaintext)",
                    &[
                        &corp_id, &f_msgid, &f_seq, &f_stage, &f_code, &f_reason, &f_at, &f_plain,
                    ],
                )?;
            }

            store_messages(tx, corp_id, incoming, head, committed_at)?;

            // Quarantined items in the same transaction: every item the server sent is kept,
            // once per distinct content (by its SHA-256), counted each time it comes.
            if !page.quarantined.is_empty() {
                let mut order: Vec<Vec<u8>> = Vec::new();
                let mut by_sha: HashMap<Vec<u8>, (usize, i64)> = HashMap::new();
                for (i, q) in page.quarantined.iter().enumerate() {
                    let sha = Sha256::digest(&q.raw).to_vec();
                    match by_sha.get_mut(&sha) {
                        Some((_, n)) => *n += 1,
                        None => {
                            by_sha.insert(sha.clone(), (i, 1));
                            order.push(sha);
                        }
                    }
                }
                let mut q_seq = Vec::with_capacity(order.len());
                let mut q_kind = Vec::with_capacity(order.len());
                let mut q_reason = Vec::with_capacity(order.len());
                let mut q_raw: Vec<&[u8]> = Vec::with_capacity(order.len());
                let mut q_sha: Vec<&[u8]> = Vec::with_capacity(order.len());
                let mut q_n = Vec::with_capacity(order.len());
                for sha in &order {
                    let Some(&(i, n)) = by_sha.get(sha) else {
                        continue;
                    };
                    let Some(q) = page.quarantined.get(i) else {
                        continue;
                    };
                    q_seq.push(q.seq.map(seq_to_sql));
                    q_kind.push(q.reason.kind());
                    q_reason.push(pg_text(&q.reason.describe()).into_owned());
                    q_raw.push(q.raw.as_slice());
                    q_sha.push(sha.as_slice());
                    q_n.push(n);
                }
                let rows = tx.query(
                    "INSERT INTO quarantined_items AS q (corp_id, seq, kind, reason, raw, \
                     raw_sha256, cursor_seq, first_seen_at_ms, last_seen_at_ms, times_seen) \
                     SELECT $1, u.seq, u.kind, u.reason, u.raw, u.sha, $8, $9, $9, u.n \
                     FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bytea[], \
                     $6::bytea[], $7::bigint[]) WITH ORDINALITY \
                     AS u(seq, kind, reason, raw, sha, n, ord) ORDER BY u.ord \
                     ON CONFLICT (corp_id, raw_sha256) DO UPDATE SET \
                     last_seen_at_ms = excluded.last_seen_at_ms, \
                     times_seen = q.times_seen + excluded.times_seen \
                     RETURNING raw_sha256, times_seen",
                    &[
                        &corp_id,
                        &q_seq,
                        &q_kind,
                        &q_reason,
                        &q_raw,
                        &q_sha,
                        &q_n,
                        &seq_to_sql(page.cursor),
                        &committed_at,
                    ],
                )?;
                for row in rows {
                    let sha: Vec<u8> = row.try_get(0)?;
                    let times_seen: i64 = row.try_get(1)?;
                    // A new item was inserted with its count in this page.
                    if by_sha.get(&sha).is_some_and(|&(_, n)| n == times_seen) {
                        stats.quarantined += 1;
                    }
                }
            }

            write_cursor(tx, corp_id, page.cursor)?;
            Ok(stats)
        })
    }

    fn set_cursor(&self, corp_id: &str, seq: u64, force: bool) -> Result<CursorChange, StoreError> {
        const OP: &str = "setting the cursor";
        self.write(OP, |tx| {
            self.check_fence(tx, corp_id, OP)?;
            let previous = read_cursor(tx, corp_id, true)?;
            let mut change = CursorChange {
                previous,
                now: previous,
                ..CursorChange::default()
            };
            if seq < previous {
                change.records_passed = count_between(tx, "records", corp_id, seq, previous)?;
            } else {
                change.quarantined_skipped =
                    count_between(tx, "quarantined_items", corp_id, previous, seq)?;
            }
            if change.records_passed > 0 && !force {
                return Ok(change);
            }
            write_cursor(tx, corp_id, seq)?;
            change.now = seq;
            change.moved = true;
            Ok(change)
        })
    }

    fn failed_records(&self, corp_id: &str, limit: usize) -> Result<Vec<FailedRecord>, StoreError> {
        const OP: &str = "reading failed records";
        self.read(OP, |tx| {
            let mut out = Vec::new();
            for (lo, hi) in U64_ORDER {
                let remaining = i64::try_from(limit.saturating_sub(out.len())).unwrap_or(i64::MAX);
                if remaining == 0 {
                    break;
                }
                for row in tx.query(
                    "SELECT r.seq, r.msgid, r.publickey_ver, r.encrypt_random_key, \
                     r.encrypt_chat_msg, f.stage, f.code, f.reason, f.plaintext, f.attempts, \
                     f.first_failed_at_ms, f.last_failed_at_ms \
                     FROM failures f JOIN records r ON r.corp_id = f.corp_id AND r.msgid = f.msgid \
                     WHERE f.corp_id = $1 AND f.seq BETWEEN $2 AND $3 ORDER BY f.seq LIMIT $4",
                    &[&corp_id, &lo, &hi, &remaining],
                )? {
                    let ver: i64 = row.try_get(2)?;
                    let code: i64 = row.try_get(6)?;
                    let attempts: i64 = row.try_get(9)?;
                    out.push(FailedRecord {
                        item: ChatDataItem {
                            seq: seq_from_sql(row.try_get(0)?),
                            msgid: row.try_get(1)?,
                            publickey_ver: u32::try_from(ver)
                                .map_err(|_| damaged(OP, "publickey_ver"))?,
                            encrypt_random_key: row.try_get(3)?,
                            encrypt_chat_msg: row.try_get(4)?,
                        },
                        failure: Failure {
                            stage: row.try_get(5)?,
                            code: i32::try_from(code).map_err(|_| damaged(OP, "failure code"))?,
                            reason: row.try_get(7)?,
                            plaintext: row.try_get(8)?,
                        },
                        attempts: u32::try_from(attempts)
                            .map_err(|_| damaged(OP, "attempt count"))?,
                        first_failed_at_ms: row.try_get(10)?,
                        last_failed_at_ms: row.try_get(11)?,
                    });
                }
            }
            Ok(out)
        })
    }

    fn resolve_failures(
        &self,
        corp_id: &str,
        results: &[(String, Outcome)],
        now_ms: i64,
    ) -> Result<ResolveStats, StoreError> {
        const OP: &str = "resolving failures";
        self.write(OP, |tx| {
            self.check_fence(tx, corp_id, OP)?;
            let head = lock_feed_head(tx, corp_id)?;
            let msgids: Vec<String> = results
                .iter()
                .map(|(msgid, _)| pg_text(msgid).into_owned())
                .collect();
            let mut pending: HashMap<String, i64> = HashMap::new();
            if !msgids.is_empty() {
                for row in tx.query(
                    "SELECT msgid, seq FROM failures WHERE corp_id = $1 AND msgid = ANY($2) \
                     FOR UPDATE",
                    &[&corp_id, &msgids],
                )? {
                    pending.insert(row.try_get(0)?, row.try_get(1)?);
                }
            }
            let mut stats = ResolveStats::default();
            let mut incoming = Vec::new();
            let mut resolved: Vec<&str> = Vec::new();
            // Per msgid failing again: how many times, and the latest failure.
            let mut again: HashMap<&str, (i64, &Failure)> = HashMap::new();
            let mut again_order: Vec<&str> = Vec::new();
            for ((_, outcome), msgid) in results.iter().zip(&msgids) {
                match outcome {
                    Outcome::Decrypted {
                        plaintext,
                        envelope,
                        derived,
                    } => {
                        let Some(seq) = pending.remove(msgid) else {
                            stats.not_found += 1;
                            continue;
                        };
                        incoming.push(Incoming {
                            msgid: msgid.clone(),
                            seq,
                            envelope,
                            plaintext,
                            derived,
                        });
                        resolved.push(msgid);
                        again.remove(msgid.as_str());
                        stats.resolved += 1;
                    }
                    Outcome::Failed(failure) => {
                        if !pending.contains_key(msgid) {
                            stats.not_found += 1;
                            continue;
                        }
                        match again.get_mut(msgid.as_str()) {
                            Some((n, latest)) => {
                                *n += 1;
                                *latest = failure;
                            }
                            None => {
                                again.insert(msgid, (1, failure));
                                again_order.push(msgid);
                            }
                        }
                        stats.still_failed += 1;
                    }
                }
            }
            store_messages(tx, corp_id, incoming, head, now_ms)?;
            if !resolved.is_empty() {
                tx.execute(
                    "DELETE FROM failures WHERE corp_id = $1 AND msgid = ANY($2)",
                    &[&corp_id, &resolved],
                )?;
            }
            let mut u_msgid = Vec::new();
            let mut u_stage = Vec::new();
            let mut u_code = Vec::new();
            let mut u_reason = Vec::new();
            let mut u_plain: Vec<Option<&[u8]>> = Vec::new();
            let mut u_n = Vec::new();
            for msgid in again_order {
                let Some(&(n, failure)) = again.get(msgid) else {
                    continue;
                };
                u_msgid.push(msgid);
                u_stage.push(pg_text(&failure.stage));
                u_code.push(i64::from(failure.code));
                u_reason.push(pg_text(&failure.reason));
                u_plain.push(failure.plaintext.as_deref());
                u_n.push(n);
            }
            if !u_msgid.is_empty() {
                tx.execute(
                    "UPDATE failures f SET stage = u.stage, code = u.code, reason = u.reason, \
                     plaintext = u.plaintext, attempts = f.attempts + u.n, \
                     last_failed_at_ms = $2 \
                     FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[], \
                     $7::bytea[], $8::bigint[]) AS u(msgid, stage, code, reason, plaintext, n) \
                     WHERE f.corp_id = $1 AND f.msgid = u.msgid",
                    &[
                        &corp_id, &now_ms, &u_msgid, &u_stage, &u_code, &u_reason, &u_plain, &u_n,
                    ],
                )?;
            }
            Ok(stats)
        })
    }
}

/// Inserts the new records of a page (`msgids` and `seqs` in their stored form, one per record)
/// and says of each record whether it was new: a record whose seq or msgid is stored, or taken
/// by an earlier record of the page, is a duplicate and is left alone.
fn insert_records(
    tx: &mut Transaction<'_>,
    corp_id: &str,
    records: &[IngestedRecord],
    msgids: &[String],
    seqs: &[i64],
) -> Result<Vec<bool>, TxError> {
    const INSERT: &str = "INSERT INTO records (corp_id, seq, msgid, publickey_ver, \
         encrypt_random_key, encrypt_chat_msg, fetched_at_ms) \
         SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::text[], \
         $6::text[], $7::bigint[])";
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let distinct_seqs: HashSet<i64> = seqs.iter().copied().collect();
    let distinct_msgids: HashSet<&str> = msgids.iter().map(String::as_str).collect();
    let columns = |chosen: &[usize]| {
        let mut ver = Vec::with_capacity(chosen.len());
        let mut key = Vec::with_capacity(chosen.len());
        let mut msg = Vec::with_capacity(chosen.len());
        let mut at = Vec::with_capacity(chosen.len());
        for &i in chosen {
            if let Some(r) = records.get(i) {
                ver.push(i64::from(r.item.publickey_ver));
                key.push(pg_text(&r.item.encrypt_random_key));
                msg.push(pg_text(&r.item.encrypt_chat_msg));
                at.push(r.fetched_at_ms);
            }
        }
        (ver, key, msg, at)
    };
    if distinct_seqs.len() == records.len() && distinct_msgids.len() == records.len() {
        // No two records of the page collide, so a record is new exactly when nothing stored
        // has its seq or msgid: one insert that skips those decides it.
        let all: Vec<usize> = (0..records.len()).collect();
        let (ver, key, msg, at) = columns(&all);
        let inserted: HashSet<i64> = tx
            .query(
                &format!("{INSERT} ON CONFLICT DO NOTHING RETURNING seq"),
                &[&corp_id, &seqs, &msgids, &ver, &key, &msg, &at],
            )?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?;
        return Ok(seqs.iter().map(|seq| inserted.contains(seq)).collect());
    }
    // Records of the page collide with each other (a source that repeats itself): decided one
    // after the other against what is stored, as inserting them one by one would.
    let mut taken_seqs: HashSet<i64> = HashSet::new();
    let mut taken_msgids: HashSet<String> = HashSet::new();
    for row in tx.query(
        "SELECT seq, msgid FROM records WHERE corp_id = $1 \
         AND (seq = ANY($2) OR msgid = ANY($3))",
        &[&corp_id, &seqs, &msgids],
    )? {
        taken_seqs.insert(row.try_get(0)?);
        taken_msgids.insert(row.try_get(1)?);
    }
    let mut is_new = Vec::with_capacity(records.len());
    let mut chosen = Vec::new();
    for (i, (msgid, seq)) in msgids.iter().zip(seqs).enumerate() {
        let new = !taken_seqs.contains(seq) && !taken_msgids.contains(msgid);
        if new {
            taken_seqs.insert(*seq);
            taken_msgids.insert(msgid.clone());
            chosen.push(i);
        }
        is_new.push(new);
    }
    if !chosen.is_empty() {
        let (ver, key, msg, at) = columns(&chosen);
        let c_seqs: Vec<i64> = chosen
            .iter()
            .filter_map(|&i| seqs.get(i).copied())
            .collect();
        let c_msgids: Vec<&str> = chosen
            .iter()
            .filter_map(|&i| msgids.get(i).map(String::as_str))
            .collect();
        tx.execute(
            INSERT,
            &[&corp_id, &c_seqs, &c_msgids, &ver, &key, &msg, &at],
        )?;
    }
    Ok(is_new)
}

/// Rows of `table` (records or quarantined_items) with a seq in `(lo, hi]` in u64 order.
fn count_between(
    tx: &mut Transaction<'_>,
    table: &str,
    corp_id: &str,
    lo: u64,
    hi: u64,
) -> Result<u64, TxError> {
    let Some(first) = lo.checked_add(1) else {
        return Ok(0);
    };
    let sql = format!("SELECT count(*) FROM {table} WHERE corp_id = $1 AND seq BETWEEN $2 AND $3");
    let mut n = 0;
    for (a, b) in u64_subranges(first, hi) {
        let c: i64 = tx.query_one(&sql, &[&corp_id, &a, &b])?.try_get(0)?;
        n += count(c);
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::PgOptions;
    use super::super::tests::support::TestSchema;
    use super::*;
    use crate::conformance::{CORP, decrypted, failed, text};
    use crate::{ArchiveReader, StoreErrorKind};

    fn page(records: Vec<crate::IngestedRecord>, cursor: u64) -> PageCommit {
        PageCommit {
            records,
            quarantined: Vec::new(),
            cursor,
        }
    }

    #[test]
    fn text_with_nul_is_stored_and_read_back() {
        let schema = TestSchema::new();
        let store = PgStore::open(&schema.options()).expect("open");
        // NUL escaped in the msgid, the sender and the recipient, and raw in the content (the
        // envelope escapes it; the plaintext keeps the byte).
        let plaintext =
            b"{\"msgid\":\"nul\\u0000id\",\"action\":\"send\",\"from\":\"al\\u0000ice\",\
\"tolist\":[\"b\\u0000ob\"],\"roomid\":\"\",\"msgtime\":1700000000000,\"msgtype\":\"text\",\
\"text\":{\"content\":\"he\x00llo\"}}";
        let message = decrypted(1, "nul\0id", plaintext);
        let mut failure = failed(2, "f\0ail", "st\0age", 10002);
        if let Outcome::Failed(f) = &mut failure.outcome {
            f.reason = "bad\0reason".to_owned();
            f.plaintext = Some(b"x\0y".to_vec());
        }
        let records = vec![message, failure];
        let stats = store
            .commit_page(CORP, &page(records.clone(), 2))
            .expect("commit");
        assert_eq!((stats.inserted, stats.failed), (2, 1));

        assert_eq!(
            store.plaintext(CORP, "nul\0id").expect("plaintext"),
            Some(plaintext.to_vec())
        );
        let stored = ArchiveReader::message(&store, CORP, "nul\0id")
            .expect("message")
            .expect("stored");
        assert_eq!(stored.msgid, "nul\u{2400}id");
        assert_eq!(stored.from, "al\u{2400}ice");
        // The recipients are kept as JSON, which escapes the NUL: they read back exactly.
        assert_eq!(stored.tolist, vec!["b\0ob".to_owned()]);
        assert!(stored.text.contains("he\u{2400}llo"), "{:?}", stored.text);
        assert_eq!(stored.feed_pos, 1);
        let feed = store.feed(CORP, 0, 10).expect("feed");
        assert_eq!(feed, vec![stored.clone()]);
        let listed = store.conversations(CORP, 10, 0).expect("conversations");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].key, stored.conversation);
        assert_eq!(
            listed[0].participants,
            vec!["al\u{2400}ice".to_owned(), "b\u{2400}ob".to_owned()]
        );
        assert!(
            store
                .conversation_involves(CORP, &stored.conversation, &["b\0ob".to_owned()])
                .expect("involves")
        );

        let failures = store.failed_records(CORP, 10).expect("failures");
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].item.msgid, "f\u{2400}ail");
        assert_eq!(failures[0].failure.stage, "st\u{2400}age");
        assert_eq!(failures[0].failure.reason, "bad\u{2400}reason");
        assert_eq!(failures[0].failure.plaintext.as_deref(), Some(&b"x\0y"[..]));
        assert_eq!(
            store.plaintext(CORP, "f\0ail").expect("plaintext"),
            Some(b"x\0y".to_vec())
        );

        // A replay finds the records by their stored msgids: nothing new.
        let again = store.commit_page(CORP, &page(records, 2)).expect("replay");
        assert_eq!((again.inserted, again.duplicates), (0, 2));
        assert_eq!(store.feed_head(CORP).expect("head"), 1);
    }

    /// Waits until the database says `corp`'s lease has lapsed (no fixed sleep, no deadline).
    fn wait_until_lapsed(store: &PgStore, corp: &str) {
        loop {
            let holders = store.lease_holders().expect("holders");
            if holders
                .iter()
                .any(|h| h.corp_id == corp && h.expires_in_ms < 0)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_node_that_lost_its_lease_cannot_commit() {
        let schema = TestSchema::new();
        let node = |name: &str| PgOptions {
            node: name.to_owned(),
            ..schema.options()
        };
        let a = PgStore::open(&node("node-a")).expect("open a");
        let b = PgStore::open(&node("node-b")).expect("open b");

        let lease_a = a
            .acquire_lease(CORP, Duration::from_millis(1))
            .expect("acquire")
            .expect("granted to a");
        // A commits while nobody else took the corp (its lease may have lapsed already: what
        // counts is that its token is still the newest).
        a.commit_page(
            CORP,
            &page(vec![text(1, "m1", 1_700_000_000_000, "one")], 1),
        )
        .expect("a commits");

        wait_until_lapsed(&b, CORP);
        let lease_b = b
            .acquire_lease(CORP, Duration::from_secs(600))
            .expect("acquire")
            .expect("granted to b after a's lapsed");
        assert!(lease_b.token > lease_a.token);
        b.commit_page(
            CORP,
            &page(vec![text(2, "m2", 1_700_000_000_001, "two")], 2),
        )
        .expect("b commits");

        let error = a
            .commit_page(
                CORP,
                &page(vec![text(3, "m3", 1_700_000_000_002, "three")], 3),
            )
            .expect_err("a lost the lease");
        assert_eq!(error.kind(), StoreErrorKind::LeaseLost, "{error}");
        let error = a
            .resolve_failures(CORP, &[], 0)
            .expect_err("a lost the lease");
        assert_eq!(error.kind(), StoreErrorKind::LeaseLost, "{error}");

        // Nothing of A's last page is stored and the cursor is B's.
        assert_eq!(ArchiveReader::cursor(&b, CORP).expect("cursor"), 2);
        let stats = b.stats(CORP).expect("stats");
        assert_eq!((stats.records, stats.decrypted), (2, 2));
        assert_eq!(ArchiveReader::message(&b, CORP, "m3").expect("m3"), None);
        assert_eq!(b.feed_head(CORP).expect("head"), 2);
        // And A cannot take the corp back while B holds it.
        assert_eq!(
            a.acquire_lease(CORP, Duration::from_secs(1))
                .expect("acquire"),
            None
        );
    }

    /// A deterministic mix of pages (recalls before and after what they recall, recalls of
    /// msgids never stored, quoted replies within a page and across pages, duplicates within a
    /// page and replays, failures resolved later) committed to SQLite and to PostgreSQL: every
    /// read must answer the same.
    #[test]
    fn pages_are_stored_as_sqlite_stores_them() {
        use crate::conformance::{T0, archive_quote, chat, recall};
        let schema = TestSchema::new();
        let pg = std::sync::Arc::new(PgStore::open(&schema.options()).expect("open")).roles();
        let lite =
            std::sync::Arc::new(crate::SqliteStore::open_in_memory().expect("sqlite")).roles();

        // A small linear congruential generator: the same mix on every run.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % n
        };
        let people = ["alice", "bob", "carol", "wmexternal1"];
        let rooms = ["", "wrroom1", "wrroom2"];
        let contents = ["hello", "ok", "see you", "hello", "lunch?"];
        let mut pages = Vec::new();
        // What was sent: msgid, from, to, room, content.
        let mut sent: Vec<(String, &str, &str, &str, String)> = Vec::new();
        let mut seq = 0u64;
        let mut failed_ids = Vec::new();
        for page_no in 0..6u64 {
            let mut records = Vec::new();
            for _ in 0..50u64 {
                seq += 1;
                let msgid = format!("m{seq}");
                let from = people[usize::try_from(next(4)).unwrap_or(0)];
                let to = people[usize::try_from(next(4)).unwrap_or(0)];
                let room = rooms[usize::try_from(next(3)).unwrap_or(0)];
                // Mostly increasing times, some out of order.
                let msgtime = T0 + i64::try_from(seq * 1000).unwrap_or(0)
                    - i64::try_from(next(3) * 5000).unwrap_or(0);
                let record = match next(10) {
                    0 | 1 => {
                        // A recall of something sent, something still to come, or nothing.
                        let target = match next(3) {
                            0 if !sent.is_empty() => sent
                                [usize::try_from(next(sent.len() as u64)).unwrap_or(0)]
                            .0
                            .clone(),
                            1 => format!("m{}", seq + 1 + next(20)),
                            _ => format!("never{}", next(5)),
                        };
                        recall(seq, &msgid, from, &[to], room, msgtime, &target)
                    }
                    2 | 3 if !sent.is_empty() => {
                        // A reply in the quoted message's conversation, often to an old one
                        // (deep among the candidates).
                        let (_, q_from, q_to, q_room, quoted) =
                            sent[usize::try_from(next(sent.len() as u64)).unwrap_or(0)].clone();
                        let reply = archive_quote(q_from, &quoted, &format!("re {seq}"));
                        sent.push((msgid.clone(), q_to, q_from, q_room, format!("re {seq}")));
                        chat(seq, &msgid, q_to, &[q_from], q_room, msgtime, &reply)
                    }
                    4 => {
                        failed_ids.push((seq, msgid.clone(), from, to, room, msgtime));
                        failed(seq, &msgid, "no_key", 10007)
                    }
                    _ => {
                        // Mostly unique texts, some repeated.
                        let content = match next(4) {
                            0 => contents[usize::try_from(next(5)).unwrap_or(0)].to_owned(),
                            _ => {
                                format!("{} {seq}", contents[usize::try_from(next(5)).unwrap_or(0)])
                            }
                        };
                        sent.push((msgid.clone(), from, to, room, content.clone()));
                        chat(seq, &msgid, from, &[to], room, msgtime, &content)
                    }
                };
                records.push(record);
            }
            if page_no == 2 {
                // Duplicates within the page: a msgid again under a new seq, a seq again under
                // a new msgid, and a record of the previous page.
                let again_msgid = crate::conformance::text(seq + 1, "m100", T0, "x");
                let again_seq = crate::conformance::text(seq - 3, "fresh1", T0, "y");
                let replayed = crate::conformance::text(7, "m7", T0, "z");
                records.insert(10, again_msgid);
                records.insert(20, again_seq);
                records.push(replayed);
                seq += 1;
            }
            pages.push(PageCommit {
                records,
                quarantined: Vec::new(),
                cursor: seq,
            });
        }
        for page in &pages {
            let a = lite.writer.commit_page(CORP, page).expect("sqlite commit");
            let b = pg.writer.commit_page(CORP, page).expect("postgres commit");
            assert_eq!(a, b);
        }
        // A replay of a page changes nothing on either.
        assert_eq!(
            lite.writer.commit_page(CORP, &pages[1]).expect("replay"),
            pg.writer.commit_page(CORP, &pages[1]).expect("replay")
        );
        // The failures decrypt now: some as recalls.
        let resolved: Vec<(String, Outcome)> = failed_ids
            .iter()
            .enumerate()
            .map(|(i, (seq, msgid, from, to, room, msgtime))| {
                let record = if i % 3 == 0 {
                    recall(
                        *seq,
                        msgid,
                        from,
                        &[to],
                        room,
                        *msgtime,
                        &sent[i % sent.len()].0,
                    )
                } else {
                    chat(*seq, msgid, from, &[to], room, *msgtime, "late")
                };
                (msgid.clone(), record.outcome)
            })
            .collect();
        assert_eq!(
            lite.writer
                .resolve_failures(CORP, &resolved, T0)
                .expect("sqlite resolve"),
            pg.writer
                .resolve_failures(CORP, &resolved, T0)
                .expect("postgres resolve")
        );

        let feed = |roles: &crate::Roles| roles.reader.feed(CORP, 0, 10_000).expect("feed");
        let (lite_feed, pg_feed) = (feed(&lite), feed(&pg));
        assert!(lite_feed.len() > 250, "{}", lite_feed.len());
        assert!(lite_feed.iter().any(|m| m.recalled_by.is_some()));
        assert!(lite_feed.iter().any(|m| m.quote_of.is_some()));
        assert_eq!(lite_feed, pg_feed);
        assert_eq!(
            lite.reader.stats(CORP).expect("stats"),
            pg.reader.stats(CORP).expect("stats")
        );
        assert_eq!(
            lite.reader.conversations(CORP, 100, 0).expect("list"),
            pg.reader.conversations(CORP, 100, 0).expect("list")
        );
        assert_eq!(
            lite.writer.failed_records(CORP, 100).expect("failed"),
            pg.writer.failed_records(CORP, 100).expect("failed")
        );
        assert_eq!(
            lite.reader.record_ids(CORP).expect("ids"),
            pg.reader.record_ids(CORP).expect("ids")
        );
    }

    /// Two nodes committing the same corp at once (no leases: an unfenced store) each hold the
    /// feed head while they commit: the feed is gapless, each message has one position, and each
    /// node's messages are in its commit order.
    #[test]
    fn concurrent_commits_keep_the_feed_gapless() {
        let schema = TestSchema::new();
        let node = |name: &str| PgOptions {
            node: name.to_owned(),
            ..schema.options()
        };
        let stores = [
            std::sync::Arc::new(PgStore::open(&node("node-a")).expect("open a")),
            std::sync::Arc::new(PgStore::open(&node("node-b")).expect("open b")),
        ];
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(stores.len()));
        let threads: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(n, store)| {
                let store = std::sync::Arc::clone(store);
                let barrier = std::sync::Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    for p in 0..10u64 {
                        let records = (0..20u64)
                            .map(|i| {
                                let seq = 1 + (p * 20 + i) * 2 + n as u64;
                                text(seq, &format!("n{n}-{seq}"), 1_700_000_000_000, "hi")
                            })
                            .collect();
                        store.commit_page(CORP, &page(records, p)).expect("commit");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        let feed = stores[0].feed(CORP, 0, 10_000).expect("feed");
        assert_eq!(feed.len(), 400);
        let positions: Vec<u64> = feed.iter().map(|m| m.feed_pos).collect();
        assert_eq!(positions, (1..=400).collect::<Vec<u64>>());
        assert_eq!(stores[1].feed_head(CORP).expect("head"), 400);
        for n in 0..2u64 {
            let seqs: Vec<u64> = feed
                .iter()
                .filter(|m| m.msgid.starts_with(&format!("n{n}-")))
                .map(|m| m.seq)
                .collect();
            assert_eq!(seqs.len(), 200);
            assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        }
    }
}
