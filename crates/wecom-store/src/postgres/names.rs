//! Directory on PostgreSQL, and the name reads of ArchiveReader: discovery of the ids in the
//! stored messages, the per-id check schedule and what the resolver recorded (rooms with members
//! and name history, people), display names, the archive scope (permit list) and consent.
//!
//! Ids and names are ordered byte by byte (`COLLATE "C"`, as SQLite orders text), whatever the
//! database's collation, so every backend lists them alike. Writes lock the row they depend on
//! (the room, the person, the corp's permit check, the `names` follower position), so two nodes
//! recording the same entry at once take turns.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::str::FromStr;

use postgres::{Row, Transaction};
use wecom_model::ConversationKey;

use super::{PgStore, TxError, pg_text};
use crate::StoreError;
use crate::names::{
    Consent, ConsentDue, ConsentStatus, ConsentSubject, DiscoverStats, Discovery, DisplayName,
    DisplaySource, NameState, NameStats, PartyKind, PermitChange, PermitUser, PersonEntry,
    PersonResolution, Resolution, RoomDetail, RoomEntry, RoomMember, RoomNameChange,
    RoomResolution, UnknownName, fallback_label,
};
use crate::store::Directory;

/// The follower name discovery keeps its feed position under (as on SQLite).
const FOLLOWER: &str = "names";

/// A room's conversation key as stored in `messages.conversation` (the same escaping as
/// [`ConversationKey`]'s string form), so listings count a room's messages from the
/// `messages_conversation` index alone.
const ROOM_KEY_SQL: &str = "'room:' || replace(replace(rooms.roomid, '%', '%25'), '|', '%7C')";

/// The columns [`room_from_row`] reads.
fn room_columns() -> String {
    format!(
        "roomid, state, kind, name, owner, created_at, notice, member_count, errcode, error, \
         attempts, first_seen_ms, checked_at_ms, next_check_ms, \
         (SELECT count(*) FROM messages m WHERE m.corp_id = rooms.corp_id \
          AND m.conversation = {ROOM_KEY_SQL})"
    )
}

/// Named ones (a non-empty name) first by name, then the others; ties by id. The same
/// expressions as the `*_listing` indexes, so pages are read in order instead of sorted.
fn listing_order(id: &str) -> String {
    format!(r#"ORDER BY nullif(name, '') IS NULL, nullif(name, '') COLLATE "C", {id} COLLATE "C""#)
}

/// The columns [`person_from_row`] reads.
const PERSON_COLUMNS: &str = "id, kind, state, name, corp_name, position, external_type, creator, \
     errcode, error, attempts, first_seen_ms, checked_at_ms, next_check_ms, departments";

/// Pair conversations: `;` follows `:`, so the range (byte order) is exactly the keys starting
/// with `pair:`.
const SELECT_PAIRS: &str = r#"SELECT DISTINCT conversation FROM messages
     WHERE corp_id = $1 AND conversation COLLATE "C" >= 'pair:'
     AND conversation COLLATE "C" < 'pair;'"#;

/// The statuses involving an id: as the subject, as a pair's contact or as any contact, each
/// looked up in its own index (UNION also drops a row found twice).
const SELECT_CONSENTS: &str = "\
     SELECT subject_kind, subject_id, subject_external, external_userid, status, \
            status_change_time, checked_at_ms FROM consents WHERE corp_id = $1 AND subject_id = $2 \
     UNION SELECT subject_kind, subject_id, subject_external, external_userid, status, \
            status_change_time, checked_at_ms FROM consents \
            WHERE corp_id = $1 AND subject_external = $2 \
     UNION SELECT subject_kind, subject_id, subject_external, external_userid, status, \
            status_change_time, checked_at_ms FROM consents \
            WHERE corp_id = $1 AND external_userid = $2";

/// An empty id where one is required.
fn empty_id(op: &'static str, what: &str) -> StoreError {
    StoreError::InvalidInput {
        op,
        cause: format!("{what} is empty"),
    }
}

/// A value read back that this build cannot understand (a damaged or foreign row).
fn unreadable(target: &str, op: &'static str, cause: String) -> TxError {
    TxError::Store(StoreError::Corrupt {
        path: PathBuf::from(target),
        op,
        cause,
    })
}

/// A stored label (`state`, `kind`, `status`) as its enum.
fn label<T: FromStr<Err = UnknownName>>(
    target: &str,
    op: &'static str,
    text: &str,
) -> Result<T, TxError> {
    text.parse()
        .map_err(|e: UnknownName| unreadable(target, op, e.to_string()))
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

fn small(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

fn byte(n: Option<i64>) -> Option<u8> {
    n.and_then(|n| u8::try_from(n).ok())
}

fn sql_int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Text for binding: hostile input never carries NUL into a text column.
fn owned(s: &str) -> String {
    pg_text(s).into_owned()
}

fn room_from_row(target: &str, op: &'static str, row: &Row) -> Result<RoomEntry, TxError> {
    let state: String = row.try_get(1)?;
    let kind: Option<String> = row.try_get(2)?;
    Ok(RoomEntry {
        roomid: row.try_get(0)?,
        state: label(target, op, &state)?,
        kind: kind.map(|k| label(target, op, &k)).transpose()?,
        name: row.try_get(3)?,
        owner: row.try_get(4)?,
        created_at: row.try_get(5)?,
        notice: row.try_get(6)?,
        member_count: count(row.try_get(7)?),
        errcode: row.try_get(8)?,
        error: row.try_get(9)?,
        attempts: small(row.try_get(10)?),
        first_seen_ms: row.try_get(11)?,
        checked_at_ms: row.try_get(12)?,
        next_check_ms: row.try_get(13)?,
        messages: count(row.try_get(14)?),
    })
}

fn person_from_row(target: &str, op: &'static str, row: &Row) -> Result<PersonEntry, TxError> {
    let kind: String = row.try_get(1)?;
    let state: String = row.try_get(2)?;
    let departments: Option<String> = row.try_get(14)?;
    Ok(PersonEntry {
        id: row.try_get(0)?,
        kind: label(target, op, &kind)?,
        state: label(target, op, &state)?,
        name: row.try_get(3)?,
        corp_name: row.try_get(4)?,
        position: row.try_get(5)?,
        external_type: byte(row.try_get(6)?),
        creator: row.try_get(7)?,
        errcode: row.try_get(8)?,
        error: row.try_get(9)?,
        attempts: small(row.try_get(10)?),
        first_seen_ms: row.try_get(11)?,
        checked_at_ms: row.try_get(12)?,
        next_check_ms: row.try_get(13)?,
        departments: match departments {
            None => Vec::new(),
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                unreadable(
                    target,
                    op,
                    format!("a person's departments do not read: {e}"),
                )
            })?,
        },
    })
}

/// A stored tolist (a JSON array of strings). One that does not read counts as empty rather than
/// failing: a damaged row must not stop the consent check.
fn parse_tolist(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn is_external(id: &str) -> bool {
    PartyKind::of(id) == Some(PartyKind::External)
}

/// A subject as stored: `(subject_kind, subject_id, subject_external)`.
fn subject_to_sql(subject: &ConsentSubject) -> (&'static str, String, String) {
    match subject {
        ConsentSubject::Pair {
            userid,
            external_userid,
        } => ("pair", owned(userid), owned(external_userid)),
        ConsentSubject::Room { roomid } => ("room", owned(roomid), String::new()),
    }
}

fn subject_from_sql(
    target: &str,
    op: &'static str,
    kind: &str,
    id: String,
    external: String,
) -> Result<ConsentSubject, TxError> {
    match kind {
        "pair" => Ok(ConsentSubject::Pair {
            userid: id,
            external_userid: external,
        }),
        "room" => Ok(ConsentSubject::Room { roomid: id }),
        other => Err(unreadable(
            target,
            op,
            format!(
                "unknown consent subject kind {:?}",
                other.chars().take(40).collect::<String>()
            ),
        )),
    }
}

/// Due entries of one table: never checked first, then the others, each by due time and id. Each
/// half is a range of its partial index (`*_due_new`, `*_due_checked`) read in order, so a call
/// costs its limit, however many entries are due.
fn due<T>(
    tx: &mut Transaction<'_>,
    (table, columns, id): (&str, &str, &str),
    (corp_id, now_ms, limit): (&str, i64, usize),
    (target, op): (&str, &'static str),
    from_row: fn(&str, &'static str, &Row) -> Result<T, TxError>,
) -> Result<Vec<T>, TxError> {
    let mut out = Vec::new();
    for when in ["IS NULL", "IS NOT NULL"] {
        let remaining = limit.saturating_sub(out.len());
        if remaining == 0 {
            break;
        }
        let sql = format!(
            r#"SELECT {columns} FROM {table} WHERE corp_id = $1 AND checked_at_ms {when}
               AND next_check_ms <= $2 ORDER BY next_check_ms, {id} COLLATE "C" LIMIT $3"#
        );
        for row in tx.query(&sql, &[&corp_id, &now_ms, &sql_int(remaining)])? {
            out.push(from_row(target, op, &row)?);
        }
    }
    Ok(out)
}

/// Adds the entry of `id` to `table` when missing, then locks it: every change of an entry
/// happens under its row lock.
fn lock_entry(
    tx: &mut Transaction<'_>,
    (table, key): (&str, &str),
    (corp_id, id, kind): (&str, &str, Option<&str>),
    now_ms: i64,
) -> Result<(), TxError> {
    match kind {
        None => tx.execute(
            "INSERT INTO rooms (corp_id, roomid, state, owner, notice, member_count, attempts, \
             first_seen_ms, next_check_ms) VALUES ($1, $2, 'pending', '', '', 0, 0, $3, $3) \
             ON CONFLICT DO NOTHING",
            &[&corp_id, &id, &now_ms],
        )?,
        Some(kind) => tx.execute(
            "INSERT INTO people (corp_id, id, kind, state, corp_name, position, creator, \
             attempts, first_seen_ms, next_check_ms) \
             VALUES ($1, $2, $3, 'pending', '', '', '', 0, $4, $4) ON CONFLICT DO NOTHING",
            &[&corp_id, &id, &kind, &now_ms],
        )?,
    };
    tx.query(
        &format!("SELECT 1 FROM {table} WHERE corp_id = $1 AND {key} = $2 FOR UPDATE"),
        &[&corp_id, &id],
    )?;
    Ok(())
}

/// The state and counters of a check that did not name the entry, shared by rooms and people.
/// `Failed` keeps a named or unresolvable state: a passing failure says nothing about the id.
fn record_not_named(
    tx: &mut Transaction<'_>,
    (table, key): (&str, &str),
    (corp_id, id): (&str, &str),
    (unresolvable, errcode, reason): (bool, Option<i64>, &str),
    (now_ms, next_check_ms): (i64, i64),
) -> Result<(), TxError> {
    let state = if unresolvable {
        "'unresolvable'"
    } else {
        "CASE WHEN state IN ('named', 'unresolvable') THEN state ELSE 'failed' END"
    };
    tx.execute(
        &format!(
            "UPDATE {table} SET state = {state}, errcode = $3, error = $4, \
             attempts = least(attempts + 1, 4294967295), checked_at_ms = $5, \
             next_check_ms = $6 WHERE corp_id = $1 AND {key} = $2"
        ),
        &[
            &corp_id,
            &id,
            &errcode,
            &pg_text(reason).as_ref(),
            &now_ms,
            &next_check_ms,
        ],
    )?;
    Ok(())
}

/// The stored position of a follower (0 if none).
fn follower_position(
    tx: &mut Transaction<'_>,
    corp_id: &str,
    follower: &str,
) -> Result<i64, TxError> {
    Ok(tx
        .query_opt(
            "SELECT pos FROM follower_positions WHERE corp_id = $1 AND follower = $2",
            &[&corp_id, &follower],
        )?
        .map(|row| row.try_get(0))
        .transpose()?
        .unwrap_or(0))
}

impl Directory for PgStore {
    fn record_discovered(
        &self,
        corp_id: &str,
        found: &Discovery,
        through: u64,
        now_ms: i64,
    ) -> Result<DiscoverStats, StoreError> {
        let corp_id = owned(corp_id);
        let corp_id = corp_id.as_str();
        // Sorted and each once (ids that differ only by a NUL and a U+2400 are one id here).
        let rooms: Vec<String> = found
            .rooms
            .iter()
            .map(|r| owned(r))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let with_external: Vec<String> =
            found.rooms_with_external.iter().map(|r| owned(r)).collect();
        let people: BTreeMap<String, &'static str> = found
            .people
            .iter()
            .map(|(id, kind)| (owned(id), kind.as_str()))
            .collect();
        let (person_ids, person_kinds): (Vec<String>, Vec<&str>) = people.into_iter().unzip();
        let through = i64::try_from(through).unwrap_or(i64::MAX);
        self.write("recording discovered names", |tx| {
            // Discovery passes of one corp take turns on the follower row (created at 0 by the
            // first), so the position moves only forward with the entries it covers.
            tx.execute(
                "INSERT INTO follower_positions (corp_id, follower, pos, updated_at_ms) \
                 VALUES ($1, $2, 0, $3) ON CONFLICT DO NOTHING",
                &[&corp_id, &FOLLOWER, &now_ms],
            )?;
            tx.query(
                "SELECT pos FROM follower_positions WHERE corp_id = $1 AND follower = $2 \
                 FOR UPDATE",
                &[&corp_id, &FOLLOWER],
            )?;
            let mut stats = DiscoverStats {
                scanned: found.messages,
                ..DiscoverStats::default()
            };
            let new_rooms: Vec<String> = tx
                .query(
                    "INSERT INTO rooms (corp_id, roomid, state, owner, notice, member_count, \
                     attempts, first_seen_ms, next_check_ms) \
                     SELECT $1, r, 'pending', '', '', 0, 0, $3, $3 FROM unnest($2::text[]) AS r \
                     ON CONFLICT DO NOTHING RETURNING roomid",
                    &[&corp_id, &rooms, &now_ms],
                )?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?;
            stats.rooms_new = new_rooms.len() as u64;
            if !new_rooms.is_empty() {
                // A roomid is a room: an earlier batch may have taken it for a person.
                tx.execute(
                    "DELETE FROM people WHERE corp_id = $1 AND id = ANY($2)",
                    &[&corp_id, &new_rooms],
                )?;
            }
            if !with_external.is_empty() {
                tx.execute(
                    "UPDATE rooms SET has_external = TRUE WHERE corp_id = $1 \
                     AND roomid = ANY($2) AND NOT has_external",
                    &[&corp_id, &with_external],
                )?;
            }
            if !person_ids.is_empty() {
                stats.people_new = tx.execute(
                    "INSERT INTO people (corp_id, id, kind, state, corp_name, position, creator, \
                     attempts, first_seen_ms, next_check_ms) \
                     SELECT $1, p.id, p.kind, 'pending', '', '', '', 0, $4, $4 \
                     FROM unnest($2::text[], $3::text[]) AS p (id, kind) \
                     WHERE NOT EXISTS (SELECT 1 FROM rooms r \
                                       WHERE r.corp_id = $1 AND r.roomid = p.id) \
                     ON CONFLICT DO NOTHING",
                    &[&corp_id, &person_ids, &person_kinds, &now_ms],
                )?;
            }
            tx.execute(
                "UPDATE follower_positions SET pos = $3, updated_at_ms = $4 \
                 WHERE corp_id = $1 AND follower = $2 AND pos < $3",
                &[&corp_id, &FOLLOWER, &through, &now_ms],
            )?;
            Ok(stats)
        })
    }

    fn due_rooms(
        &self,
        corp_id: &str,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<RoomEntry>, StoreError> {
        const OP: &str = "reading due rooms";
        let corp_id = owned(corp_id);
        let target = self.target().to_owned();
        let columns = room_columns();
        self.read(OP, |tx| {
            due(
                tx,
                ("rooms", &columns, "roomid"),
                (&corp_id, now_ms, limit),
                (&target, OP),
                room_from_row,
            )
        })
    }

    fn record_room(
        &self,
        corp_id: &str,
        roomid: &str,
        resolution: &RoomResolution,
        now_ms: i64,
        next_check_ms: i64,
    ) -> Result<(), StoreError> {
        const OP: &str = "recording a room";
        if PartyKind::of(roomid).is_none() {
            return Err(empty_id(OP, "the roomid"));
        }
        let corp_id = owned(corp_id);
        let corp_id = corp_id.as_str();
        let roomid = owned(roomid);
        let roomid = roomid.as_str();
        self.write(OP, |tx| {
            lock_entry(tx, ("rooms", "roomid"), (corp_id, roomid, None), now_ms)?;
            let info = match resolution {
                Resolution::Named(info) => info,
                Resolution::Unresolvable { errcode, reason } => {
                    return record_not_named(
                        tx,
                        ("rooms", "roomid"),
                        (corp_id, roomid),
                        (true, *errcode, reason),
                        (now_ms, next_check_ms),
                    );
                }
                Resolution::Failed { errcode, reason } => {
                    return record_not_named(
                        tx,
                        ("rooms", "roomid"),
                        (corp_id, roomid),
                        (false, *errcode, reason),
                        (now_ms, next_check_ms),
                    );
                }
            };
            tx.execute(
                "DELETE FROM room_members WHERE corp_id = $1 AND roomid = $2",
                &[&corp_id, &roomid],
            )?;
            // A member listed twice (never seen) is kept once, as listed last.
            let mut members: BTreeMap<String, &RoomMember> = BTreeMap::new();
            for m in &info.members {
                members.insert(owned(&m.id), m);
            }
            let member_count = members.len();
            if !members.is_empty() {
                let ids: Vec<&str> = members.keys().map(String::as_str).collect();
                let list: Vec<&RoomMember> = members.values().copied().collect();
                let kinds: Vec<&str> = list.iter().map(|m| m.kind.as_str()).collect();
                let join_times: Vec<Option<i64>> = list.iter().map(|m| m.join_time).collect();
                let join_scenes: Vec<Option<i64>> =
                    list.iter().map(|m| m.join_scene.map(i64::from)).collect();
                let inviters: Vec<Option<String>> = list
                    .iter()
                    .map(|m| m.inviter.as_deref().map(owned))
                    .collect();
                let nicknames: Vec<String> =
                    list.iter().map(|m| owned(&m.group_nickname)).collect();
                let names: Vec<String> = list.iter().map(|m| owned(&m.name)).collect();
                let admins: Vec<bool> = list.iter().map(|m| m.is_admin).collect();
                tx.execute(
                    "INSERT INTO room_members (corp_id, roomid, id, kind, join_time, join_scene, \
                     inviter, group_nickname, name, is_admin) \
                     SELECT $1, $2, m.id, m.kind, m.join_time, m.join_scene, m.inviter, \
                            m.group_nickname, m.name, m.is_admin \
                     FROM unnest($3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], \
                                 $8::text[], $9::text[], $10::boolean[]) \
                          AS m (id, kind, join_time, join_scene, inviter, group_nickname, name, \
                                is_admin)",
                    &[
                        &corp_id,
                        &roomid,
                        &ids,
                        &kinds,
                        &join_times,
                        &join_scenes,
                        &inviters,
                        &nicknames,
                        &names,
                        &admins,
                    ],
                )?;
            }
            let name = owned(&info.name);
            tx.execute(
                "UPDATE rooms SET state = 'named', kind = $3, name = $4, owner = $5, \
                 created_at = $6, notice = $7, member_count = $8, errcode = NULL, error = NULL, \
                 attempts = 0, checked_at_ms = $9, next_check_ms = $10 \
                 WHERE corp_id = $1 AND roomid = $2",
                &[
                    &corp_id,
                    &roomid,
                    &info.kind.as_str(),
                    &name,
                    &pg_text(&info.owner).as_ref(),
                    &info.created_at,
                    &pg_text(&info.notice).as_ref(),
                    &sql_int(member_count),
                    &now_ms,
                    &next_check_ms,
                ],
            )?;
            let newest: Option<String> = tx
                .query_opt(
                    "SELECT name FROM room_names WHERE corp_id = $1 AND roomid = $2 \
                     ORDER BY id DESC LIMIT 1",
                    &[&corp_id, &roomid],
                )?
                .map(|row| row.try_get(0))
                .transpose()?;
            if newest.as_deref() != Some(name.as_str()) {
                tx.execute(
                    "INSERT INTO room_names (corp_id, roomid, name, observed_at_ms) \
                     VALUES ($1, $2, $3, $4)",
                    &[&corp_id, &roomid, &name, &now_ms],
                )?;
            }
            Ok(())
        })
    }

    fn due_people(
        &self,
        corp_id: &str,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<PersonEntry>, StoreError> {
        const OP: &str = "reading due people";
        let corp_id = owned(corp_id);
        let target = self.target().to_owned();
        self.read(OP, |tx| {
            due(
                tx,
                ("people", PERSON_COLUMNS, "id"),
                (&corp_id, now_ms, limit),
                (&target, OP),
                person_from_row,
            )
        })
    }

    fn record_person(
        &self,
        corp_id: &str,
        id: &str,
        resolution: &PersonResolution,
        now_ms: i64,
        next_check_ms: i64,
    ) -> Result<(), StoreError> {
        const OP: &str = "recording a person";
        let Some(kind) = PartyKind::of(id) else {
            return Err(empty_id(OP, "the id"));
        };
        let corp_id = owned(corp_id);
        let corp_id = corp_id.as_str();
        let id = owned(id);
        let id = id.as_str();
        self.write(OP, |tx| {
            lock_entry(
                tx,
                ("people", "id"),
                (corp_id, id, Some(kind.as_str())),
                now_ms,
            )?;
            let info = match resolution {
                Resolution::Named(info) => info,
                Resolution::Unresolvable { errcode, reason } => {
                    return record_not_named(
                        tx,
                        ("people", "id"),
                        (corp_id, id),
                        (true, *errcode, reason),
                        (now_ms, next_check_ms),
                    );
                }
                Resolution::Failed { errcode, reason } => {
                    return record_not_named(
                        tx,
                        ("people", "id"),
                        (corp_id, id),
                        (false, *errcode, reason),
                        (now_ms, next_check_ms),
                    );
                }
            };
            // Departments as given, sorted and each once: the JSON list on the person (NULL
            // when none) and one `person_departments` row each.
            let departments: BTreeSet<i64> = info
                .departments
                .iter()
                .filter_map(|d| i64::try_from(*d).ok())
                .collect();
            let departments: Vec<i64> = departments.into_iter().collect();
            let list = (!departments.is_empty())
                .then(|| serde_json::Value::from(departments.clone()).to_string());
            tx.execute(
                "UPDATE people SET state = 'named', name = $3, corp_name = $4, position = $5, \
                 external_type = $6, creator = $7, errcode = NULL, error = NULL, attempts = 0, \
                 checked_at_ms = $8, next_check_ms = $9, departments = $10 \
                 WHERE corp_id = $1 AND id = $2",
                &[
                    &corp_id,
                    &id,
                    &pg_text(&info.name).as_ref(),
                    &pg_text(&info.corp_name).as_ref(),
                    &pg_text(&info.position).as_ref(),
                    &info.external_type.map(i64::from),
                    &pg_text(&info.creator).as_ref(),
                    &now_ms,
                    &next_check_ms,
                    &list,
                ],
            )?;
            tx.execute(
                "DELETE FROM person_departments WHERE corp_id = $1 AND id = $2",
                &[&corp_id, &id],
            )?;
            if !departments.is_empty() {
                tx.execute(
                    "INSERT INTO person_departments (corp_id, department, id) \
                     SELECT $1, d, $3 FROM unnest($2::bigint[]) AS d",
                    &[&corp_id, &departments, &id],
                )?;
            }
            Ok(())
        })
    }

    fn recheck_names(
        &self,
        corp_id: &str,
        include_named: bool,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let corp_id = owned(corp_id);
        let corp_id = corp_id.as_str();
        self.write("making names due again", |tx| {
            let mut changed = 0u64;
            for table in ["rooms", "people"] {
                changed += tx.execute(
                    &format!(
                        "UPDATE {table} SET next_check_ms = $2 \
                         WHERE corp_id = $1 AND next_check_ms > $2 AND ($3 OR state <> 'named')"
                    ),
                    &[&corp_id, &now_ms, &include_named],
                )?;
            }
            Ok(changed)
        })
    }

    fn record_permit_users(
        &self,
        corp_id: &str,
        ids: &[String],
        now_ms: i64,
    ) -> Result<PermitChange, StoreError> {
        let corp_id = owned(corp_id);
        let corp_id = corp_id.as_str();
        // An empty entry names nobody; a list with one is still recorded.
        let listed: BTreeSet<String> = ids
            .iter()
            .filter(|id| !id.is_empty())
            .map(|id| owned(id))
            .collect();
        let listed_ids: Vec<&str> = listed.iter().map(String::as_str).collect();
        self.write("recording the permit list", |tx| {
            // The corp's check row first: recordings of one corp take turns on it.
            tx.execute(
                "INSERT INTO permit_checks (corp_id, checked_at_ms) VALUES ($1, $2) \
                 ON CONFLICT (corp_id) DO UPDATE SET checked_at_ms = excluded.checked_at_ms",
                &[&corp_id, &now_ms],
            )?;
            let in_scope: BTreeSet<String> = tx
                .query(
                    "SELECT userid FROM permit_users WHERE corp_id = $1 AND in_scope",
                    &[&corp_id],
                )?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?;
            let mut change = PermitChange {
                added: listed.iter().filter(|id| !in_scope.contains(*id)).count() as u64,
                removed: 0,
            };
            if !listed_ids.is_empty() {
                // New, or back in scope: first_seen restarts; already in scope: only last_seen
                // moves.
                tx.execute(
                    "INSERT INTO permit_users AS p \
                     (corp_id, userid, in_scope, first_seen_ms, last_seen_ms) \
                     SELECT $1, u, TRUE, $3, $3 FROM unnest($2::text[]) AS u \
                     ON CONFLICT (corp_id, userid) DO UPDATE SET \
                     first_seen_ms = CASE WHEN p.in_scope THEN p.first_seen_ms \
                                          ELSE excluded.first_seen_ms END, \
                     in_scope = TRUE, last_seen_ms = excluded.last_seen_ms",
                    &[&corp_id, &listed_ids, &now_ms],
                )?;
            }
            let gone: Vec<&str> = in_scope
                .iter()
                .filter(|id| !listed.contains(*id))
                .map(String::as_str)
                .collect();
            if !gone.is_empty() {
                change.removed = tx.execute(
                    "UPDATE permit_users SET in_scope = FALSE \
                     WHERE corp_id = $1 AND userid = ANY($2)",
                    &[&corp_id, &gone],
                )?;
            }
            Ok(change)
        })
    }

    fn permit_checked_at(&self, corp_id: &str) -> Result<Option<i64>, StoreError> {
        permit_checked_at(self, corp_id)
    }

    fn due_consent_checks(
        &self,
        corp_id: &str,
        checked_before_ms: i64,
        limit: usize,
    ) -> Result<ConsentDue, StoreError> {
        const OP: &str = "reading due consent checks";
        let corp_id = owned(corp_id);
        let corp_id = corp_id.as_str();
        let target = self.target().to_owned();
        self.read(OP, |tx| {
            let mut subjects: BTreeSet<ConsentSubject> = BTreeSet::new();
            for row in tx.query(SELECT_PAIRS, &[&corp_id])? {
                let key: String = row.try_get(0)?;
                let Some(ConversationKey::Pair(a, b)) = ConversationKey::parse(&key) else {
                    continue;
                };
                let pair = |userid: String, external_userid: String| ConsentSubject::Pair {
                    userid,
                    external_userid,
                };
                match (PartyKind::of(&a), PartyKind::of(&b)) {
                    (Some(PartyKind::Internal), Some(PartyKind::External)) => {
                        subjects.insert(pair(a, b));
                    }
                    (Some(PartyKind::External), Some(PartyKind::Internal)) => {
                        subjects.insert(pair(b, a));
                    }
                    _ => {}
                }
            }

            // Rooms: what discovery saw in the messages it scanned, the members on record, and
            // the messages discovery has not scanned yet (few, unless it never ran).
            let room = |roomid: String| ConsentSubject::Room { roomid };
            for row in tx.query(
                "SELECT roomid FROM rooms WHERE corp_id = $1 AND has_external \
                 UNION SELECT roomid FROM room_members WHERE corp_id = $1 AND kind = 'external'",
                &[&corp_id],
            )? {
                subjects.insert(room(row.try_get(0)?));
            }
            let after = follower_position(tx, corp_id, FOLLOWER)?;
            for row in tx.query(
                "SELECT from_id, tolist, roomid FROM messages \
                 WHERE corp_id = $1 AND feed_pos > $2 AND roomid <> ''",
                &[&corp_id, &after],
            )? {
                let from: String = row.try_get(0)?;
                let tolist: String = row.try_get(1)?;
                let roomid: String = row.try_get(2)?;
                if PartyKind::of(&roomid).is_none() {
                    continue;
                }
                let subject = room(roomid);
                if subjects.contains(&subject) {
                    continue;
                }
                if is_external(&from) || parse_tolist(&tolist).iter().any(|id| is_external(id)) {
                    subjects.insert(subject);
                }
            }

            let mut checked: HashMap<ConsentSubject, i64> = HashMap::new();
            for row in tx.query(
                "SELECT subject_kind, subject_id, subject_external, checked_at_ms \
                 FROM consent_checks WHERE corp_id = $1",
                &[&corp_id],
            )? {
                let kind: String = row.try_get(0)?;
                let subject =
                    subject_from_sql(&target, OP, &kind, row.try_get(1)?, row.try_get(2)?)?;
                checked.insert(subject, row.try_get(3)?);
            }

            let mut due: Vec<(Option<i64>, ConsentSubject)> = subjects
                .into_iter()
                .map(|s| (checked.get(&s).copied(), s))
                .filter(|(at, _)| at.is_none_or(|at| at < checked_before_ms))
                .collect();
            // None sorts before Some: never-checked first, then the oldest check, then the
            // subject.
            due.sort();
            due.truncate(limit);
            Ok(ConsentDue {
                subjects: due.into_iter().map(|(_, s)| s).collect(),
            })
        })
    }

    fn record_consent(
        &self,
        corp_id: &str,
        checked: &[ConsentSubject],
        statuses: &[Consent],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let corp_id = owned(corp_id);
        let corp_id = corp_id.as_str();
        self.write("recording consent", |tx| {
            let mark = tx.prepare(
                "INSERT INTO consent_checks (corp_id, subject_kind, subject_id, subject_external, \
                 checked_at_ms) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (corp_id, subject_kind, subject_id, subject_external) \
                 DO UPDATE SET checked_at_ms = excluded.checked_at_ms",
            )?;
            // A checked subject's statuses are replaced as a whole: a contact WeCom no longer
            // lists for it (left the room) loses its status.
            let clear = tx.prepare(
                "DELETE FROM consents WHERE corp_id = $1 AND subject_kind = $2 \
                 AND subject_id = $3 AND subject_external = $4",
            )?;
            for subject in checked {
                let (kind, id, external) = subject_to_sql(subject);
                tx.execute(&mark, &[&corp_id, &kind, &id, &external, &now_ms])?;
                tx.execute(&clear, &[&corp_id, &kind, &id, &external])?;
            }
            let store = tx.prepare(
                "INSERT INTO consents (corp_id, subject_kind, subject_id, subject_external, \
                 external_userid, status, status_change_time, checked_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (corp_id, subject_kind, subject_id, subject_external, \
                              external_userid) \
                 DO UPDATE SET status = excluded.status, \
                 status_change_time = excluded.status_change_time, \
                 checked_at_ms = excluded.checked_at_ms",
            )?;
            for c in statuses {
                let (kind, id, external) = subject_to_sql(&c.subject);
                // A pair's contact is the pair's external side, whatever the status says.
                let contact = match &c.subject {
                    ConsentSubject::Pair { .. } => external.clone(),
                    ConsentSubject::Room { .. } => owned(&c.external_userid),
                };
                tx.execute(
                    &store,
                    &[
                        &corp_id,
                        &kind,
                        &id,
                        &external,
                        &contact,
                        &c.status.as_str(),
                        &c.status_change_time,
                        &c.checked_at_ms,
                    ],
                )?;
            }
            Ok(())
        })
    }
}

pub(super) fn department_members(
    store: &PgStore,
    corp_id: &str,
    departments: &[u64],
) -> Result<Vec<String>, StoreError> {
    if departments.is_empty() {
        return Ok(Vec::new());
    }
    let corp_id = owned(corp_id);
    // A department id above i64::MAX is never stored (recorded ids are kept as BIGINT).
    let departments: Vec<i64> = departments
        .iter()
        .filter_map(|d| i64::try_from(*d).ok())
        .collect();
    store.read("reading department members", |tx| {
        let ids: BTreeSet<String> = tx
            .query(
                "SELECT id FROM person_departments WHERE corp_id = $1 AND department = ANY($2)",
                &[&corp_id, &departments],
            )?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?;
        Ok(ids.into_iter().collect())
    })
}

pub(super) fn rooms(
    store: &PgStore,
    corp_id: &str,
    limit: usize,
    offset: usize,
) -> Result<Vec<RoomEntry>, StoreError> {
    const OP: &str = "listing rooms";
    let corp_id = owned(corp_id);
    let target = store.target().to_owned();
    let sql = format!(
        "SELECT {} FROM rooms WHERE corp_id = $1 {} LIMIT $2 OFFSET $3",
        room_columns(),
        listing_order("roomid")
    );
    store.read(OP, |tx| {
        tx.query(&sql, &[&corp_id, &sql_int(limit), &sql_int(offset)])?
            .iter()
            .map(|row| room_from_row(&target, OP, row))
            .collect()
    })
}

pub(super) fn room(
    store: &PgStore,
    corp_id: &str,
    roomid: &str,
) -> Result<Option<RoomDetail>, StoreError> {
    const OP: &str = "reading a room";
    let corp_id = owned(corp_id);
    let roomid = owned(roomid);
    let target = store.target().to_owned();
    let sql = format!(
        "SELECT {} FROM rooms WHERE corp_id = $1 AND roomid = $2",
        room_columns()
    );
    store.read(OP, |tx| {
        let Some(row) = tx.query_opt(&sql, &[&corp_id, &roomid])? else {
            return Ok(None);
        };
        let entry = room_from_row(&target, OP, &row)?;
        let members = tx
            .query(
                r#"SELECT id, kind, join_time, join_scene, inviter, group_nickname, name, is_admin
                   FROM room_members WHERE corp_id = $1 AND roomid = $2 ORDER BY id COLLATE "C""#,
                &[&corp_id, &roomid],
            )?
            .iter()
            .map(|row| {
                let kind: String = row.try_get(1)?;
                Ok(RoomMember {
                    id: row.try_get(0)?,
                    kind: label(&target, OP, &kind)?,
                    join_time: row.try_get(2)?,
                    join_scene: byte(row.try_get(3)?),
                    inviter: row.try_get(4)?,
                    group_nickname: row.try_get(5)?,
                    name: row.try_get(6)?,
                    is_admin: row.try_get(7)?,
                })
            })
            .collect::<Result<_, TxError>>()?;
        let history = tx
            .query(
                "SELECT name, observed_at_ms FROM room_names \
                 WHERE corp_id = $1 AND roomid = $2 ORDER BY id",
                &[&corp_id, &roomid],
            )?
            .iter()
            .map(|row| {
                Ok(RoomNameChange {
                    name: row.try_get(0)?,
                    observed_at_ms: row.try_get(1)?,
                })
            })
            .collect::<Result<_, TxError>>()?;
        Ok(Some(RoomDetail {
            entry,
            members,
            history,
        }))
    })
}

pub(super) fn people(
    store: &PgStore,
    corp_id: &str,
    limit: usize,
    offset: usize,
) -> Result<Vec<PersonEntry>, StoreError> {
    const OP: &str = "listing people";
    let corp_id = owned(corp_id);
    let target = store.target().to_owned();
    let sql = format!(
        "SELECT {PERSON_COLUMNS} FROM people WHERE corp_id = $1 {} LIMIT $2 OFFSET $3",
        listing_order("id")
    );
    store.read(OP, |tx| {
        tx.query(&sql, &[&corp_id, &sql_int(limit), &sql_int(offset)])?
            .iter()
            .map(|row| person_from_row(&target, OP, row))
            .collect()
    })
}

pub(super) fn person(
    store: &PgStore,
    corp_id: &str,
    id: &str,
) -> Result<Option<PersonEntry>, StoreError> {
    const OP: &str = "reading a person";
    let corp_id = owned(corp_id);
    let id = owned(id);
    let target = store.target().to_owned();
    store.read(OP, |tx| {
        tx.query_opt(
            &format!("SELECT {PERSON_COLUMNS} FROM people WHERE corp_id = $1 AND id = $2"),
            &[&corp_id, &id],
        )?
        .map(|row| person_from_row(&target, OP, &row))
        .transpose()
    })
}

pub(super) fn name_stats(store: &PgStore, corp_id: &str) -> Result<NameStats, StoreError> {
    const OP: &str = "reading name stats";
    let corp_id = owned(corp_id);
    let corp_id = corp_id.as_str();
    let target = store.target().to_owned();
    store.read(OP, |tx| {
        let mut s = NameStats::default();
        for table in ["rooms", "people"] {
            let rows = tx.query(
                &format!("SELECT state, count(*) FROM {table} WHERE corp_id = $1 GROUP BY state"),
                &[&corp_id],
            )?;
            for row in rows {
                let state: String = row.try_get(0)?;
                let n = count(row.try_get(1)?);
                let state: NameState = label(&target, OP, &state)?;
                let (total, named, unresolvable, unchecked) = if table == "rooms" {
                    (
                        &mut s.rooms_total,
                        &mut s.rooms_named,
                        &mut s.rooms_unresolvable,
                        &mut s.rooms_unchecked,
                    )
                } else {
                    (
                        &mut s.people_total,
                        &mut s.people_named,
                        &mut s.people_unresolvable,
                        &mut s.people_unchecked,
                    )
                };
                *total += n;
                match state {
                    NameState::Named => *named += n,
                    NameState::Unresolvable => *unresolvable += n,
                    NameState::Pending | NameState::Failed => *unchecked += n,
                }
            }
        }
        s.permit_users = count(
            tx.query_one(
                "SELECT count(*) FROM permit_users WHERE corp_id = $1 AND in_scope",
                &[&corp_id],
            )?
            .try_get(0)?,
        );
        for row in tx.query(
            "SELECT status, count(*) FROM consents WHERE corp_id = $1 GROUP BY status",
            &[&corp_id],
        )? {
            let status: String = row.try_get(0)?;
            match (label(&target, OP, &status)?, count(row.try_get(1)?)) {
                (ConsentStatus::Agree, n) => s.consent_agree = n,
                (ConsentStatus::Disagree, n) => s.consent_disagree = n,
            }
        }
        Ok(s)
    })
}

/// A name worth showing: empty names (a room nobody named) count as none.
fn shown(name: Option<String>) -> Option<String> {
    name.filter(|n| !n.is_empty())
}

pub(super) fn display_names(
    store: &PgStore,
    corp_id: &str,
    ids: &[String],
    roomid: Option<&str>,
) -> Result<Vec<DisplayName>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let corp_id = owned(corp_id);
    let corp_id = corp_id.as_str();
    let roomid = roomid.map(owned);
    let keys: Vec<String> = ids
        .iter()
        .map(|id| owned(id))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Three lookups for the whole list (rooms, people, the room's members), not three per id.
    type Names = HashMap<String, Option<String>>;
    type Members = HashMap<String, (String, String)>;
    let (room_names, person_names, members): (Names, Names, Members) =
        store.read("reading display names", |tx| {
            let names = |tx: &mut Transaction<'_>, sql: &str| -> Result<Names, TxError> {
                tx.query(sql, &[&corp_id, &keys])?
                    .iter()
                    .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                    .collect()
            };
            let room_names = names(
                tx,
                "SELECT roomid, name FROM rooms WHERE corp_id = $1 AND roomid = ANY($2)",
            )?;
            let person_names = names(
                tx,
                "SELECT id, name FROM people WHERE corp_id = $1 AND id = ANY($2)",
            )?;
            let members = match &roomid {
                None => Members::new(),
                Some(roomid) => tx
                    .query(
                        "SELECT id, group_nickname, name FROM room_members \
                         WHERE corp_id = $1 AND roomid = $2 AND id = ANY($3)",
                        &[&corp_id, roomid, &keys],
                    )?
                    .iter()
                    .map(|row| Ok((row.try_get(0)?, (row.try_get(1)?, row.try_get(2)?))))
                    .collect::<Result<_, TxError>>()?,
            };
            Ok((room_names, person_names, members))
        })?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let key = owned(id);
        let named = |text: String, source: DisplaySource| DisplayName {
            id: id.clone(),
            text,
            source,
        };
        let directory = shown(room_names.get(&key).cloned().flatten())
            .or_else(|| shown(person_names.get(&key).cloned().flatten()));
        if let Some(name) = directory {
            out.push(named(name, DisplaySource::Directory));
            continue;
        }
        if let Some((nickname, name)) = members.get(&key) {
            if !nickname.is_empty() {
                out.push(named(nickname.clone(), DisplaySource::RoomNickname));
                continue;
            }
            if !name.is_empty() {
                out.push(named(name.clone(), DisplaySource::RoomMemberName));
                continue;
            }
        }
        out.push(named(fallback_label(id), DisplaySource::Id));
    }
    Ok(out)
}

pub(super) fn permit_users(store: &PgStore, corp_id: &str) -> Result<Vec<PermitUser>, StoreError> {
    let corp_id = owned(corp_id);
    store.read("reading the permit list", |tx| {
        tx.query(
            r#"SELECT userid, in_scope, first_seen_ms, last_seen_ms FROM permit_users
               WHERE corp_id = $1 ORDER BY userid COLLATE "C""#,
            &[&corp_id],
        )?
        .iter()
        .map(|row| {
            Ok(PermitUser {
                userid: row.try_get(0)?,
                in_scope: row.try_get(1)?,
                first_seen_ms: row.try_get(2)?,
                last_seen_ms: row.try_get(3)?,
            })
        })
        .collect()
    })
}

pub(super) fn permit_checked_at(store: &PgStore, corp_id: &str) -> Result<Option<i64>, StoreError> {
    let corp_id = owned(corp_id);
    store.read("reading when the permit list was checked", |tx| {
        Ok(tx
            .query_opt(
                "SELECT checked_at_ms FROM permit_checks WHERE corp_id = $1",
                &[&corp_id],
            )?
            .map(|row| row.try_get(0))
            .transpose()?)
    })
}

pub(super) fn consents(
    store: &PgStore,
    corp_id: &str,
    id: &str,
) -> Result<Vec<Consent>, StoreError> {
    const OP: &str = "reading consent";
    let corp_id = owned(corp_id);
    let id = owned(id);
    let target = store.target().to_owned();
    let mut out = store.read(OP, |tx| {
        tx.query(SELECT_CONSENTS, &[&corp_id, &id])?
            .iter()
            .map(|row| {
                let kind: String = row.try_get(0)?;
                let status: String = row.try_get(4)?;
                Ok(Consent {
                    subject: subject_from_sql(
                        &target,
                        OP,
                        &kind,
                        row.try_get(1)?,
                        row.try_get(2)?,
                    )?,
                    external_userid: row.try_get(3)?,
                    status: label(&target, OP, &status)?,
                    status_change_time: row.try_get(5)?,
                    checked_at_ms: row.try_get(6)?,
                })
            })
            .collect::<Result<Vec<_>, TxError>>()
    })?;
    out.sort_by(|a, b| (&a.subject, &a.external_userid).cmp(&(&b.subject, &b.external_userid)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use super::super::tests::support::TestSchema;
    use super::super::{PgOptions, PgStore};
    use crate::names::{
        Discovery, PartyKind, PersonInfo, Resolution, RoomInfo, RoomKind, RoomMember,
    };
    use crate::{ArchiveReader, Directory};

    const CORP: &str = "wwpgnames0001";
    const NOW: i64 = 1_700_000_000_000;

    fn node(schema: &TestSchema, name: &str) -> PgStore {
        let options = PgOptions {
            node: name.to_owned(),
            ..schema.options()
        };
        PgStore::open(&options).expect("open the PostgreSQL store")
    }

    fn names_position(schema: &TestSchema) -> i64 {
        schema
            .client()
            .query_one(
                "SELECT pos FROM follower_positions WHERE corp_id = $1 AND follower = 'names'",
                &[&CORP],
            )
            .expect("position")
            .get(0)
    }

    fn discovery(rooms: &[&str], people: &[&str]) -> Discovery {
        Discovery {
            messages: 1,
            rooms: rooms.iter().map(|r| (*r).to_owned()).collect(),
            rooms_with_external: Default::default(),
            people: people
                .iter()
                .filter_map(|id| PartyKind::of(id).map(|kind| ((*id).to_owned(), kind)))
                .collect(),
        }
    }

    fn member(id: &str, nickname: &str) -> RoomMember {
        RoomMember {
            id: id.to_owned(),
            kind: PartyKind::of(id).unwrap_or(PartyKind::Internal),
            join_time: Some(1_700_000_000),
            join_scene: Some(1),
            inviter: None,
            group_nickname: nickname.to_owned(),
            name: String::new(),
            is_admin: false,
        }
    }

    fn named_room(name: &str) -> Resolution<RoomInfo> {
        Resolution::Named(RoomInfo {
            kind: RoomKind::Internal,
            name: name.to_owned(),
            owner: "alice".to_owned(),
            created_at: Some(1_700_000_000),
            notice: String::new(),
            members: vec![
                member("alice", "A"),
                member("bob", ""),
                member("alice", "A2"),
            ],
        })
    }

    #[test]
    fn the_names_position_never_moves_backwards() {
        let schema = TestSchema::new();
        let store = node(&schema, "node-a");
        store
            .record_discovered(CORP, &discovery(&["wrRoomA"], &["alice"]), 10, NOW)
            .expect("discover");
        assert_eq!(names_position(&schema), 10);
        // A stale pass finishing late records its ids but leaves the position.
        let stale = store
            .record_discovered(CORP, &discovery(&["wrRoomB"], &["bob"]), 5, NOW + 1)
            .expect("discover");
        assert_eq!((stale.rooms_new, stale.people_new), (1, 1));
        assert_eq!(names_position(&schema), 10);
        store
            .record_discovered(CORP, &discovery(&[], &[]), 12, NOW + 2)
            .expect("discover");
        assert_eq!(names_position(&schema), 12);
    }

    #[test]
    fn two_nodes_discovering_and_recording_one_room_at_once_take_turns() {
        let schema = TestSchema::new();
        let stores = [
            Arc::new(node(&schema, "node-a")),
            Arc::new(node(&schema, "node-b")),
        ];
        let start = Arc::new(Barrier::new(2));
        let threads: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(n, store)| {
                let (store, start) = (Arc::clone(store), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    let mut new = 0;
                    for round in 0..10u64 {
                        let found =
                            discovery(&["wrRoomA", "wrRoomB"], &["alice", "bob", "wrRoomC"]);
                        new += store
                            .record_discovered(CORP, &found, round * 2 + n as u64, NOW)
                            .expect("discover")
                            .rooms_new;
                        let now = NOW + i64::try_from(round).unwrap_or(0);
                        store
                            .record_room(CORP, "wrRoomA", &named_room("Team"), now, now + 1)
                            .expect("record room");
                    }
                    new
                })
            })
            .collect();
        let rooms_new: u64 = threads.into_iter().map(|t| t.join().expect("thread")).sum();
        assert_eq!(rooms_new, 2, "each room is new once");
        assert_eq!(names_position(&schema), 19);
        let room = stores[0]
            .room(CORP, "wrRoomA")
            .expect("room")
            .expect("stored");
        assert_eq!(room.entry.member_count, 2);
        let members: Vec<(&str, &str)> = room
            .members
            .iter()
            .map(|m| (m.id.as_str(), m.group_nickname.as_str()))
            .collect();
        assert_eq!(members, [("alice", "A2"), ("bob", "")], "listed last wins");
        assert_eq!(room.history.len(), 1, "one name, recorded once");
    }

    #[test]
    fn ids_and_names_are_listed_byte_by_byte() {
        let schema = TestSchema::new();
        let store = node(&schema, "node-a");
        for (id, name) in [
            ("bob", "b"),
            ("carl", "B"),
            ("dora", "é"),
            ("erin", "a"),
            ("Zed", ""),
        ] {
            let info = PersonInfo {
                name: name.to_owned(),
                ..PersonInfo::default()
            };
            store
                .record_person(CORP, id, &Resolution::Named(info), NOW, NOW + 1)
                .expect("record");
        }
        let people: Vec<String> = store
            .people(CORP, 10, 0)
            .expect("people")
            .into_iter()
            .map(|p| p.id)
            .collect();
        // Named first, by name in byte order (B < a < b < é), then the unnamed.
        assert_eq!(people, ["carl", "erin", "bob", "dora", "Zed"]);
        store
            .record_permit_users(CORP, &["b".into(), "B".into(), "a".into()], NOW)
            .expect("permit");
        let permit: Vec<String> = store
            .permit_users(CORP)
            .expect("permit")
            .into_iter()
            .map(|u| u.userid)
            .collect();
        assert_eq!(permit, ["B", "a", "b"]);
    }

    #[test]
    fn ids_with_nul_are_stored_and_found() {
        let schema = TestSchema::new();
        let store = node(&schema, "node-a");
        let info = PersonInfo {
            name: "nul\0name".to_owned(),
            departments: vec![3, 1, 3],
            ..PersonInfo::default()
        };
        store
            .record_person(CORP, "a\0b", &Resolution::Named(info), NOW, NOW + 1)
            .expect("record");
        let person = store.person(CORP, "a\0b").expect("person").expect("found");
        assert_eq!(person.name.as_deref(), Some("nul\u{2400}name"));
        assert_eq!(person.departments, [1, 3]);
        assert_eq!(
            store.department_members(CORP, &[3]).expect("members"),
            ["a\u{2400}b"]
        );
    }
}
