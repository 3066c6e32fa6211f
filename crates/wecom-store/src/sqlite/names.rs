//! Names on SQLite: discovery of the ids in the stored messages, the per-id check schedule and
//! what the resolver recorded (rooms with members and name history, people), display names, the
//! archive scope (permit list) and consent.
//!
//! None of this runs in `commit_page`: discovery follows the change feed afterwards (the ids are
//! found by [`Discovery::from_messages`]), so syncing pays nothing for names.

use std::collections::{BTreeSet, HashMap};

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ValueRef};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use wecom_model::ConversationKey;

use super::{count, sql_int};
use crate::StoreError;
use crate::names::{
    Consent, ConsentDue, ConsentStatus, ConsentSubject, DiscoverStats, Discovery, DisplayName,
    DisplaySource, NameState, NameStats, PartyKind, PermitChange, PermitUser, PersonEntry,
    PersonResolution, Resolution, RoomDetail, RoomEntry, RoomKind, RoomMember, RoomNameChange,
    RoomResolution, fallback_label,
};

macro_rules! from_sql_text {
    ($($ty:ty),*) => {$(
        impl FromSql for $ty {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                value
                    .as_str()?
                    .parse()
                    .map_err(|e| FromSqlError::Other(Box::new(e)))
            }
        }
    )*};
}

from_sql_text!(PartyKind, RoomKind, NameState, ConsentStatus);

/// A room's conversation key as stored in `messages.conversation` (the same escaping as
/// [`ConversationKey`]'s string form), computed in SQL so listings count a room's messages from
/// the `messages_conversation` index alone. Every decrypted message with a roomid has this key:
/// counting by `roomid` instead would need an index on the message table, which every commit
/// would pay for.
const ROOM_KEY_SQL: &str = "'room:' || replace(replace(rooms.roomid, '%', '%25'), '|', '%7C')";

pub(super) fn room_columns() -> String {
    format!(
        "roomid, state, kind, name, owner, created_at, notice, member_count, errcode, error, \
         attempts, first_seen_ms, checked_at_ms, next_check_ms, \
         (SELECT count(*) FROM messages m WHERE m.corp_id = rooms.corp_id \
          AND m.conversation = {ROOM_KEY_SQL})"
    )
}

/// Named ones (a non-empty name) first by name, then the others; ties by id. The same expressions
/// as the `*_listing` indexes, so pages are read in order instead of sorted.
pub(super) fn listing_order(id: &str) -> String {
    format!("ORDER BY nullif(name, '') IS NULL, nullif(name, ''), {id}")
}

const PERSON_COLUMNS: &str = "id, kind, state, name, corp_name, position, external_type, creator, \
     errcode, error, attempts, first_seen_ms, checked_at_ms, next_check_ms, departments";

fn room_from_row(row: &Row<'_>) -> rusqlite::Result<RoomEntry> {
    Ok(RoomEntry {
        roomid: row.get(0)?,
        state: row.get(1)?,
        kind: row.get(2)?,
        name: row.get(3)?,
        owner: row.get(4)?,
        created_at: row.get(5)?,
        notice: row.get(6)?,
        member_count: count(row.get(7)?),
        errcode: row.get(8)?,
        error: row.get(9)?,
        attempts: row.get(10)?,
        first_seen_ms: row.get(11)?,
        checked_at_ms: row.get(12)?,
        next_check_ms: row.get(13)?,
        messages: count(row.get(14)?),
    })
}

fn person_from_row(row: &Row<'_>) -> rusqlite::Result<PersonEntry> {
    Ok(PersonEntry {
        id: row.get(0)?,
        kind: row.get(1)?,
        state: row.get(2)?,
        name: row.get(3)?,
        corp_name: row.get(4)?,
        position: row.get(5)?,
        external_type: row.get(6)?,
        creator: row.get(7)?,
        errcode: row.get(8)?,
        error: row.get(9)?,
        attempts: row.get(10)?,
        first_seen_ms: row.get(11)?,
        checked_at_ms: row.get(12)?,
        next_check_ms: row.get(13)?,
        departments: match row.get::<_, Option<String>>(14)? {
            None => Vec::new(),
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    14,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?,
        },
    })
}

/// An id the store cannot keep an entry for.
/// An empty id where one is required.
pub(super) fn empty_id(op: &'static str, what: &str) -> StoreError {
    StoreError::InvalidInput {
        op,
        cause: format!("{what} is empty"),
    }
}

// ---------------------------------------------------------------------------------------------
// Discovery

/// A stored tolist (a JSON array of strings, written by `store_message`). One that does not read
/// counts as empty rather than failing: a damaged row must not stop the consent check.
fn parse_tolist(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn is_external(id: &str) -> bool {
    PartyKind::of(id) == Some(PartyKind::External)
}

/// The follower name names discovery keeps its feed position under.
pub(super) const FOLLOWER: &str = "names";

/// Adds the entries of what discovery found (see [`crate::Directory::record_discovered`]).
pub(super) fn record_discovered(
    tx: &Transaction<'_>,
    corp_id: &str,
    found: &Discovery,
    now_ms: i64,
) -> rusqlite::Result<DiscoverStats> {
    let mut stats = DiscoverStats {
        scanned: found.messages,
        ..DiscoverStats::default()
    };
    let (rooms, rooms_with_external, people) =
        (&found.rooms, &found.rooms_with_external, &found.people);
    {
        let mut insert_room = tx.prepare_cached(
            "INSERT INTO rooms (corp_id, roomid, state, owner, notice, member_count, attempts, \
             first_seen_ms, next_check_ms) VALUES (?1, ?2, 'pending', '', '', 0, 0, ?3, ?3) \
             ON CONFLICT DO NOTHING",
        )?;
        // A roomid is a room: an earlier batch may have taken it for a person.
        let mut delete_person =
            tx.prepare_cached("DELETE FROM people WHERE corp_id = ?1 AND id = ?2")?;
        let mut mark_external = tx.prepare_cached(
            "UPDATE rooms SET has_external = 1 WHERE corp_id = ?1 AND roomid = ?2 \
             AND has_external = 0",
        )?;
        for roomid in rooms {
            if insert_room.execute(params![corp_id, roomid, now_ms])? > 0 {
                stats.rooms_new += 1;
                delete_person.execute(params![corp_id, roomid])?;
            }
        }
        for roomid in rooms_with_external {
            mark_external.execute(params![corp_id, roomid])?;
        }
        let mut insert_person = tx.prepare_cached(
            "INSERT INTO people (corp_id, id, kind, state, corp_name, position, creator, \
             attempts, first_seen_ms, next_check_ms) \
             SELECT ?1, ?2, ?3, 'pending', '', '', '', 0, ?4, ?4 \
             WHERE NOT EXISTS (SELECT 1 FROM rooms WHERE corp_id = ?1 AND roomid = ?2) \
             ON CONFLICT DO NOTHING",
        )?;
        for (id, kind) in people {
            stats.people_new +=
                insert_person.execute(params![corp_id, id, kind.as_str(), now_ms])? as u64;
        }
    }
    Ok(stats)
}

// ---------------------------------------------------------------------------------------------
// Rooms

/// Due entries of one kind: never checked (`checked = false`) or checked before. Each half is a
/// range of its partial index read in order, so a call costs its limit, however many entries are
/// due (all of them, right after the first discovery).
pub(super) fn due_sql(table: &str, columns: &str, id: &str, checked: bool) -> String {
    let when = if checked { "IS NOT NULL" } else { "IS NULL" };
    format!(
        "SELECT {columns} FROM {table} WHERE corp_id = ?1 AND checked_at_ms {when} \
         AND next_check_ms <= ?2 ORDER BY next_check_ms, {id} LIMIT ?3"
    )
}

/// Never-checked entries first, then the others, each by due time and id.
fn due<T>(
    conn: &Connection,
    table: &str,
    columns: &str,
    id: &str,
    (corp_id, now_ms, limit): (&str, i64, usize),
    from_row: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut out = Vec::new();
    for checked in [false, true] {
        let remaining = limit.saturating_sub(out.len());
        if remaining == 0 {
            break;
        }
        let mut stmt = conn.prepare_cached(&due_sql(table, columns, id, checked))?;
        for row in stmt.query_map(params![corp_id, now_ms, sql_int(remaining)], from_row)? {
            out.push(row?);
        }
    }
    Ok(out)
}

pub(super) fn due_rooms(
    conn: &Connection,
    corp_id: &str,
    now_ms: i64,
    limit: usize,
) -> rusqlite::Result<Vec<RoomEntry>> {
    let columns = room_columns();
    due(
        conn,
        "rooms",
        &columns,
        "roomid",
        (corp_id, now_ms, limit),
        room_from_row,
    )
}

pub(super) fn rooms(
    conn: &Connection,
    corp_id: &str,
    limit: usize,
    offset: usize,
) -> rusqlite::Result<Vec<RoomEntry>> {
    conn.prepare_cached(&format!(
        "SELECT {} FROM rooms WHERE corp_id = ?1 {} LIMIT ?2 OFFSET ?3",
        room_columns(),
        listing_order("roomid")
    ))?
    .query_map(
        params![corp_id, sql_int(limit), sql_int(offset)],
        room_from_row,
    )?
    .collect()
}

pub(super) fn room(
    conn: &Connection,
    corp_id: &str,
    roomid: &str,
) -> rusqlite::Result<Option<RoomDetail>> {
    let entry = conn
        .prepare_cached(&format!(
            "SELECT {} FROM rooms WHERE corp_id = ?1 AND roomid = ?2",
            room_columns()
        ))?
        .query_row(params![corp_id, roomid], room_from_row)
        .optional()?;
    let Some(entry) = entry else {
        return Ok(None);
    };
    let members = conn
        .prepare_cached(
            "SELECT id, kind, join_time, join_scene, inviter, group_nickname, name, is_admin \
             FROM room_members WHERE corp_id = ?1 AND roomid = ?2 ORDER BY id",
        )?
        .query_map(params![corp_id, roomid], |row| {
            Ok(RoomMember {
                id: row.get(0)?,
                kind: row.get(1)?,
                join_time: row.get(2)?,
                join_scene: row.get(3)?,
                inviter: row.get(4)?,
                group_nickname: row.get(5)?,
                name: row.get(6)?,
                is_admin: row.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let history = conn
        .prepare_cached(
            "SELECT name, observed_at_ms FROM room_names \
             WHERE corp_id = ?1 AND roomid = ?2 ORDER BY id",
        )?
        .query_map(params![corp_id, roomid], |row| {
            Ok(RoomNameChange {
                name: row.get(0)?,
                observed_at_ms: row.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(RoomDetail {
        entry,
        members,
        history,
    }))
}

/// The state and counters of a check that did not name the entry, shared by rooms and people.
/// `Failed` keeps a named or unresolvable state: a passing failure says nothing about the id.
fn record_not_named(
    tx: &Transaction<'_>,
    table: &str,
    key: &str,
    check: (&str, &str, bool, Option<i64>, &str, i64, i64),
) -> rusqlite::Result<()> {
    let (corp_id, id, unresolvable, errcode, reason, now_ms, next_check_ms) = check;
    let state = if unresolvable {
        "'unresolvable'"
    } else {
        "CASE WHEN state IN ('named', 'unresolvable') THEN state ELSE 'failed' END"
    };
    tx.prepare_cached(&format!(
        "UPDATE {table} SET state = {state}, errcode = ?3, error = ?4, \
         attempts = min(attempts + 1, 4294967295), checked_at_ms = ?5, next_check_ms = ?6 \
         WHERE corp_id = ?1 AND {key} = ?2"
    ))?
    .execute(params![corp_id, id, errcode, reason, now_ms, next_check_ms])?;
    Ok(())
}

pub(super) fn record_room(
    tx: &Transaction<'_>,
    corp_id: &str,
    roomid: &str,
    resolution: &RoomResolution,
    now_ms: i64,
    next_check_ms: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO rooms (corp_id, roomid, state, owner, notice, member_count, attempts, \
         first_seen_ms, next_check_ms) VALUES (?1, ?2, 'pending', '', '', 0, 0, ?3, ?3) \
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![corp_id, roomid, now_ms])?;
    let info = match resolution {
        Resolution::Named(info) => info,
        Resolution::Unresolvable { errcode, reason } => {
            let p = (
                corp_id,
                roomid,
                true,
                *errcode,
                reason.as_str(),
                now_ms,
                next_check_ms,
            );
            return record_not_named(tx, "rooms", "roomid", p);
        }
        Resolution::Failed { errcode, reason } => {
            let p = (
                corp_id,
                roomid,
                false,
                *errcode,
                reason.as_str(),
                now_ms,
                next_check_ms,
            );
            return record_not_named(tx, "rooms", "roomid", p);
        }
    };

    tx.prepare_cached("DELETE FROM room_members WHERE corp_id = ?1 AND roomid = ?2")?
        .execute(params![corp_id, roomid])?;
    {
        // A member listed twice (never seen) is kept once, as listed last.
        let mut insert = tx.prepare_cached(
            "INSERT INTO room_members (corp_id, roomid, id, kind, join_time, join_scene, inviter, \
             group_nickname, name, is_admin) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
             ON CONFLICT (corp_id, roomid, id) DO UPDATE SET kind = excluded.kind, \
             join_time = excluded.join_time, join_scene = excluded.join_scene, \
             inviter = excluded.inviter, group_nickname = excluded.group_nickname, \
             name = excluded.name, is_admin = excluded.is_admin",
        )?;
        for m in &info.members {
            insert.execute(params![
                corp_id,
                roomid,
                m.id,
                m.kind.as_str(),
                m.join_time,
                m.join_scene,
                m.inviter,
                m.group_nickname,
                m.name,
                m.is_admin,
            ])?;
        }
    }
    let member_count = info
        .members
        .iter()
        .map(|m| m.id.as_str())
        .collect::<BTreeSet<_>>()
        .len();
    tx.prepare_cached(
        "UPDATE rooms SET state = 'named', kind = ?3, name = ?4, owner = ?5, created_at = ?6, \
         notice = ?7, member_count = ?8, errcode = NULL, error = NULL, attempts = 0, \
         checked_at_ms = ?9, next_check_ms = ?10 WHERE corp_id = ?1 AND roomid = ?2",
    )?
    .execute(params![
        corp_id,
        roomid,
        info.kind.as_str(),
        info.name,
        info.owner,
        info.created_at,
        info.notice,
        sql_int(member_count),
        now_ms,
        next_check_ms,
    ])?;

    let newest: Option<String> = tx
        .prepare_cached(
            "SELECT name FROM room_names WHERE corp_id = ?1 AND roomid = ?2 \
             ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![corp_id, roomid], |row| row.get(0))
        .optional()?;
    if newest.as_deref() != Some(info.name.as_str()) {
        tx.prepare_cached(
            "INSERT INTO room_names (corp_id, roomid, name, observed_at_ms) \
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![corp_id, roomid, info.name, now_ms])?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// People

pub(super) fn due_people(
    conn: &Connection,
    corp_id: &str,
    now_ms: i64,
    limit: usize,
) -> rusqlite::Result<Vec<PersonEntry>> {
    due(
        conn,
        "people",
        PERSON_COLUMNS,
        "id",
        (corp_id, now_ms, limit),
        person_from_row,
    )
}

pub(super) fn people(
    conn: &Connection,
    corp_id: &str,
    limit: usize,
    offset: usize,
) -> rusqlite::Result<Vec<PersonEntry>> {
    conn.prepare_cached(&format!(
        "SELECT {PERSON_COLUMNS} FROM people WHERE corp_id = ?1 {} LIMIT ?2 OFFSET ?3",
        listing_order("id")
    ))?
    .query_map(
        params![corp_id, sql_int(limit), sql_int(offset)],
        person_from_row,
    )?
    .collect()
}

pub(super) fn person(
    conn: &Connection,
    corp_id: &str,
    id: &str,
) -> rusqlite::Result<Option<PersonEntry>> {
    conn.prepare_cached(&format!(
        "SELECT {PERSON_COLUMNS} FROM people WHERE corp_id = ?1 AND id = ?2"
    ))?
    .query_row(params![corp_id, id], person_from_row)
    .optional()
}

pub(super) fn record_person(
    tx: &Transaction<'_>,
    corp_id: &str,
    id: &str,
    kind: PartyKind,
    resolution: &PersonResolution,
    now_ms: i64,
    next_check_ms: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO people (corp_id, id, kind, state, corp_name, position, creator, attempts, \
         first_seen_ms, next_check_ms) VALUES (?1, ?2, ?3, 'pending', '', '', '', 0, ?4, ?4) \
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![corp_id, id, kind.as_str(), now_ms])?;
    match resolution {
        Resolution::Named(info) => {
            tx.prepare_cached(
                "UPDATE people SET state = 'named', name = ?3, corp_name = ?4, position = ?5, \
                 external_type = ?6, creator = ?7, errcode = NULL, error = NULL, attempts = 0, \
                 checked_at_ms = ?8, next_check_ms = ?9 WHERE corp_id = ?1 AND id = ?2",
            )?
            .execute(params![
                corp_id,
                id,
                info.name,
                info.corp_name,
                info.position,
                info.external_type,
                info.creator,
                now_ms,
                next_check_ms,
            ])?;
            record_departments(tx, corp_id, id, &info.departments)
        }
        Resolution::Unresolvable { errcode, reason } => {
            let p = (
                corp_id,
                id,
                true,
                *errcode,
                reason.as_str(),
                now_ms,
                next_check_ms,
            );
            record_not_named(tx, "people", "id", p)
        }
        Resolution::Failed { errcode, reason } => {
            let p = (
                corp_id,
                id,
                false,
                *errcode,
                reason.as_str(),
                now_ms,
                next_check_ms,
            );
            record_not_named(tx, "people", "id", p)
        }
    }
}

/// Replaces a named person's departments: the JSON list on the person (NULL when none) and one
/// `person_departments` row each.
fn record_departments(
    tx: &Transaction<'_>,
    corp_id: &str,
    id: &str,
    departments: &[u64],
) -> rusqlite::Result<()> {
    let departments: std::collections::BTreeSet<i64> = departments
        .iter()
        .filter_map(|d| i64::try_from(*d).ok())
        .collect();
    let list = (!departments.is_empty()).then(|| {
        serde_json::Value::from(departments.iter().copied().collect::<Vec<_>>()).to_string()
    });
    tx.prepare_cached("UPDATE people SET departments = ?3 WHERE corp_id = ?1 AND id = ?2")?
        .execute(params![corp_id, id, list])?;
    tx.prepare_cached("DELETE FROM person_departments WHERE corp_id = ?1 AND id = ?2")?
        .execute(params![corp_id, id])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO person_departments (corp_id, department, id) VALUES (?1, ?2, ?3)",
    )?;
    for department in departments {
        insert.execute(params![corp_id, department, id])?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reading names

pub(super) fn stats(conn: &Connection, corp_id: &str) -> rusqlite::Result<NameStats> {
    let mut s = NameStats::default();
    let by_state = |table: &str| -> rusqlite::Result<Vec<(NameState, u64)>> {
        conn.prepare_cached(&format!(
            "SELECT state, count(*) FROM {table} WHERE corp_id = ?1 GROUP BY state"
        ))?
        .query_map([corp_id], |row| Ok((row.get(0)?, count(row.get(1)?))))?
        .collect()
    };
    for (state, n) in by_state("rooms")? {
        s.rooms_total += n;
        match state {
            NameState::Named => s.rooms_named += n,
            NameState::Unresolvable => s.rooms_unresolvable += n,
            NameState::Pending | NameState::Failed => s.rooms_unchecked += n,
        }
    }
    for (state, n) in by_state("people")? {
        s.people_total += n;
        match state {
            NameState::Named => s.people_named += n,
            NameState::Unresolvable => s.people_unresolvable += n,
            NameState::Pending | NameState::Failed => s.people_unchecked += n,
        }
    }
    s.permit_users = count(
        conn.prepare_cached(
            "SELECT count(*) FROM permit_users WHERE corp_id = ?1 AND in_scope = 1",
        )?
        .query_row([corp_id], |row| row.get(0))?,
    );
    let mut consents = conn.prepare_cached(
        "SELECT status, count(*) FROM consents WHERE corp_id = ?1 GROUP BY status",
    )?;
    for row in consents.query_map([corp_id], |row| {
        Ok((row.get::<_, ConsentStatus>(0)?, count(row.get(1)?)))
    })? {
        match row? {
            (ConsentStatus::Agree, n) => s.consent_agree = n,
            (ConsentStatus::Disagree, n) => s.consent_disagree = n,
        }
    }
    Ok(s)
}

/// A name worth showing: empty names (a room nobody named) count as none.
fn shown(name: Option<String>) -> Option<String> {
    name.filter(|n| !n.is_empty())
}

pub(super) fn display_names(
    conn: &Connection,
    corp_id: &str,
    ids: &[String],
    roomid: Option<&str>,
) -> rusqlite::Result<Vec<DisplayName>> {
    let mut room_name =
        conn.prepare_cached("SELECT name FROM rooms WHERE corp_id = ?1 AND roomid = ?2")?;
    let mut person_name =
        conn.prepare_cached("SELECT name FROM people WHERE corp_id = ?1 AND id = ?2")?;
    let mut member = conn.prepare_cached(
        "SELECT group_nickname, name FROM room_members \
         WHERE corp_id = ?1 AND roomid = ?2 AND id = ?3",
    )?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let named = |text: String, source: DisplaySource| DisplayName {
            id: id.clone(),
            text,
            source,
        };
        let directory = match room_name
            .query_row(params![corp_id, id], |row| row.get(0))
            .optional()?
            .flatten()
            .and_then(|n| shown(Some(n)))
        {
            Some(name) => Some(name),
            None => person_name
                .query_row(params![corp_id, id], |row| row.get(0))
                .optional()?
                .flatten()
                .and_then(|n| shown(Some(n))),
        };
        if let Some(name) = directory {
            out.push(named(name, DisplaySource::Directory));
            continue;
        }
        if let Some(roomid) = roomid {
            let found: Option<(String, String)> = member
                .query_row(params![corp_id, roomid, id], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .optional()?;
            if let Some((nickname, name)) = found {
                if !nickname.is_empty() {
                    out.push(named(nickname, DisplaySource::RoomNickname));
                    continue;
                }
                if !name.is_empty() {
                    out.push(named(name, DisplaySource::RoomMemberName));
                    continue;
                }
            }
        }
        out.push(named(fallback_label(id), DisplaySource::Id));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The archive scope

pub(super) fn record_permit_users(
    tx: &Transaction<'_>,
    corp_id: &str,
    ids: &[String],
    now_ms: i64,
) -> rusqlite::Result<PermitChange> {
    // An empty entry names nobody; a list with one is still recorded.
    let listed: BTreeSet<&str> = ids
        .iter()
        .map(String::as_str)
        .filter(|id| !id.is_empty())
        .collect();
    let in_scope: BTreeSet<String> = tx
        .prepare_cached("SELECT userid FROM permit_users WHERE corp_id = ?1 AND in_scope = 1")?
        .query_map([corp_id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut change = PermitChange::default();
    {
        // New, or back in scope: first_seen restarts; already in scope: only last_seen moves.
        let mut upsert = tx.prepare_cached(
            "INSERT INTO permit_users (corp_id, userid, in_scope, first_seen_ms, last_seen_ms) \
             VALUES (?1, ?2, 1, ?3, ?3) ON CONFLICT (corp_id, userid) DO UPDATE SET \
             first_seen_ms = CASE WHEN in_scope = 1 THEN first_seen_ms ELSE excluded.first_seen_ms END, \
             in_scope = 1, last_seen_ms = excluded.last_seen_ms",
        )?;
        for id in &listed {
            upsert.execute(params![corp_id, id, now_ms])?;
            if !in_scope.contains(*id) {
                change.added += 1;
            }
        }
        let mut remove = tx.prepare_cached(
            "UPDATE permit_users SET in_scope = 0 WHERE corp_id = ?1 AND userid = ?2",
        )?;
        for id in in_scope.iter().filter(|id| !listed.contains(id.as_str())) {
            remove.execute(params![corp_id, id])?;
            change.removed += 1;
        }
    }
    tx.prepare_cached(
        "INSERT INTO permit_checks (corp_id, checked_at_ms) VALUES (?1, ?2) \
         ON CONFLICT (corp_id) DO UPDATE SET checked_at_ms = excluded.checked_at_ms",
    )?
    .execute(params![corp_id, now_ms])?;
    Ok(change)
}

pub(super) fn permit_users(conn: &Connection, corp_id: &str) -> rusqlite::Result<Vec<PermitUser>> {
    conn.prepare_cached(
        "SELECT userid, in_scope, first_seen_ms, last_seen_ms FROM permit_users \
         WHERE corp_id = ?1 ORDER BY userid",
    )?
    .query_map([corp_id], |row| {
        Ok(PermitUser {
            userid: row.get(0)?,
            in_scope: row.get(1)?,
            first_seen_ms: row.get(2)?,
            last_seen_ms: row.get(3)?,
        })
    })?
    .collect()
}

pub(super) fn permit_checked_at(conn: &Connection, corp_id: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT checked_at_ms FROM permit_checks WHERE corp_id = ?1")?
        .query_row([corp_id], |row| row.get(0))
        .optional()
}

// ---------------------------------------------------------------------------------------------
// Consent

/// A subject as stored: `(subject_kind, subject_id, subject_external)`.
fn subject_to_sql(subject: &ConsentSubject) -> (&'static str, &str, &str) {
    match subject {
        ConsentSubject::Pair {
            userid,
            external_userid,
        } => ("pair", userid, external_userid),
        ConsentSubject::Room { roomid } => ("room", roomid, ""),
    }
}

fn subject_from_sql(kind: &str, id: String, external: String) -> rusqlite::Result<ConsentSubject> {
    match kind {
        "pair" => Ok(ConsentSubject::Pair {
            userid: id,
            external_userid: external,
        }),
        "room" => Ok(ConsentSubject::Room { roomid: id }),
        other => Err(rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown consent subject kind {other:?}").into(),
        )),
    }
}

/// Pair conversations, read from the `messages_conversation` index alone: `;` follows `:`, so
/// the range is exactly the keys starting with `pair:`.
pub(super) const SELECT_PAIRS: &str = "SELECT DISTINCT conversation FROM messages \
     WHERE corp_id = ?1 AND conversation >= 'pair:' AND conversation < 'pair;'";

pub(super) fn due_consent_checks(
    conn: &Connection,
    corp_id: &str,
    checked_before_ms: i64,
    limit: usize,
) -> rusqlite::Result<ConsentDue> {
    let mut subjects: BTreeSet<ConsentSubject> = BTreeSet::new();

    let mut pairs = conn.prepare_cached(SELECT_PAIRS)?;
    for key in pairs.query_map([corp_id], |row| row.get::<_, String>(0))? {
        let Some(ConversationKey::Pair(a, b)) = ConversationKey::parse(&key?) else {
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

    // Rooms: what discovery saw in the messages it scanned, the members on record, and the
    // messages discovery has not scanned yet (few, unless it never ran).
    let room = |roomid: String| ConsentSubject::Room { roomid };
    let mut known = conn.prepare_cached(
        "SELECT roomid FROM rooms WHERE corp_id = ?1 AND has_external = 1 \
         UNION SELECT roomid FROM room_members WHERE corp_id = ?1 AND kind = 'external'",
    )?;
    for roomid in known.query_map([corp_id], |row| row.get::<_, String>(0))? {
        subjects.insert(room(roomid?));
    }
    let after = super::read_follower_position(conn, corp_id, FOLLOWER)?;
    let mut unscanned = conn.prepare_cached(
        "SELECT from_id, tolist, roomid FROM messages \
         WHERE corp_id = ?1 AND feed_pos > ?2 AND roomid <> ''",
    )?;
    let rows = unscanned.query_map(params![corp_id, after], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
        ))
    })?;
    for row in rows {
        let (from, tolist, roomid) = row?;
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
    let mut checks = conn.prepare_cached(
        "SELECT subject_kind, subject_id, subject_external, checked_at_ms FROM consent_checks \
         WHERE corp_id = ?1",
    )?;
    for row in checks.query_map([corp_id], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, i64>(3)?,
        ))
    })? {
        let (kind, id, external, at) = row?;
        checked.insert(subject_from_sql(&kind, id, external)?, at);
    }

    let mut due: Vec<(Option<i64>, ConsentSubject)> = subjects
        .into_iter()
        .map(|s| (checked.get(&s).copied(), s))
        .filter(|(at, _)| at.is_none_or(|at| at < checked_before_ms))
        .collect();
    // None sorts before Some: never-checked first, then the oldest check, then the subject.
    due.sort();
    due.truncate(limit);
    Ok(ConsentDue {
        subjects: due.into_iter().map(|(_, s)| s).collect(),
    })
}

pub(super) fn record_consent(
    tx: &Transaction<'_>,
    corp_id: &str,
    checked: &[ConsentSubject],
    statuses: &[Consent],
    now_ms: i64,
) -> rusqlite::Result<()> {
    let mut mark = tx.prepare_cached(
        "INSERT INTO consent_checks (corp_id, subject_kind, subject_id, subject_external, \
         checked_at_ms) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (corp_id, subject_kind, subject_id, subject_external) DO UPDATE SET checked_at_ms = excluded.checked_at_ms",
    )?;
    // A checked subject's statuses are replaced as a whole: a contact WeCom no longer lists for
    // it (left the room) loses its status.
    let mut clear = tx.prepare_cached(
        "DELETE FROM consents WHERE corp_id = ?1 AND subject_kind = ?2 AND subject_id = ?3 \
         AND subject_external = ?4",
    )?;
    for subject in checked {
        let (kind, id, external) = subject_to_sql(subject);
        mark.execute(params![corp_id, kind, id, external, now_ms])?;
        clear.execute(params![corp_id, kind, id, external])?;
    }
    let mut store = tx.prepare_cached(
        "INSERT INTO consents (corp_id, subject_kind, subject_id, subject_external, \
         external_userid, status, status_change_time, checked_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
         ON CONFLICT (corp_id, subject_kind, subject_id, subject_external, external_userid) \
         DO UPDATE SET \
         status = excluded.status, status_change_time = excluded.status_change_time, \
         checked_at_ms = excluded.checked_at_ms",
    )?;
    for c in statuses {
        let (kind, id, external) = subject_to_sql(&c.subject);
        // A pair's contact is the pair's external side, whatever the status says.
        let contact = match &c.subject {
            ConsentSubject::Pair {
                external_userid, ..
            } => external_userid.as_str(),
            ConsentSubject::Room { .. } => c.external_userid.as_str(),
        };
        store.execute(params![
            corp_id,
            kind,
            id,
            external,
            contact,
            c.status.as_str(),
            c.status_change_time,
            c.checked_at_ms,
        ])?;
    }
    Ok(())
}

/// The statuses involving an id: as the subject, as a pair's contact or as any contact, each
/// looked up in its own index (UNION also drops a row found twice).
pub(super) const SELECT_CONSENTS: &str = "\
     SELECT subject_kind, subject_id, subject_external, external_userid, status, \
            status_change_time, checked_at_ms FROM consents WHERE corp_id = ?1 AND subject_id = ?2 \
     UNION SELECT subject_kind, subject_id, subject_external, external_userid, status, \
            status_change_time, checked_at_ms FROM consents \
            WHERE corp_id = ?1 AND subject_external = ?2 \
     UNION SELECT subject_kind, subject_id, subject_external, external_userid, status, \
            status_change_time, checked_at_ms FROM consents \
            WHERE corp_id = ?1 AND external_userid = ?2";

pub(super) fn consents(
    conn: &Connection,
    corp_id: &str,
    id: &str,
) -> rusqlite::Result<Vec<Consent>> {
    let mut out = conn
        .prepare_cached(SELECT_CONSENTS)?
        .query_map(params![corp_id, id], |row| {
            let kind: String = row.get(0)?;
            Ok(Consent {
                subject: subject_from_sql(&kind, row.get(1)?, row.get(2)?)?,
                external_userid: row.get(3)?,
                status: row.get(4)?,
                status_change_time: row.get(5)?,
                checked_at_ms: row.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    out.sort_by(|a, b| (&a.subject, &a.external_userid).cmp(&(&b.subject, &b.external_userid)));
    Ok(out)
}

/// Makes entries due now (see `Directory::recheck_names`).
pub(super) fn recheck(
    tx: &Transaction<'_>,
    corp_id: &str,
    include_named: bool,
    now_ms: i64,
) -> rusqlite::Result<u64> {
    let mut changed = 0u64;
    for table in ["rooms", "people"] {
        let sql = format!(
            "UPDATE {table} SET next_check_ms = ?2 \
             WHERE corp_id = ?1 AND next_check_ms > ?2 AND (?3 OR state <> 'named')"
        );
        changed += tx.execute(&sql, params![corp_id, now_ms, include_named])? as u64;
    }
    Ok(changed)
}
