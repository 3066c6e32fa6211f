//! Rooms and people as the name resolver recorded them: listings, one room with its members and
//! name history, one person with their archive scope, and the consent statuses of both.

use serde::Serialize;
use wecom_store::names::{Consent, ConsentSubject, PersonEntry, RoomEntry, RoomNameChange};
use wecom_store::{ArchiveReader, StoreError};

/// A room as the archive knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoomView {
    pub roomid: String,
    /// `pending`, `named`, `unresolvable` or `failed`.
    pub state: String,
    /// `internal` or `customer`, once a check told.
    pub kind: Option<String>,
    pub name: Option<String>,
    /// The owner's id; empty when unknown.
    pub owner: String,
    /// When the room was created (Unix seconds), when known.
    pub created_at: Option<i64>,
    pub notice: String,
    /// How many members the last check found.
    pub members: u64,
    /// Messages archived in the room.
    pub messages: u64,
    /// WeCom's errcode and the reason of the last check that did not name the room.
    pub errcode: Option<i64>,
    pub error: Option<String>,
    /// When the room was last checked and is due again (Unix ms).
    pub checked_at_ms: Option<i64>,
    pub next_check_ms: i64,
}

impl From<&RoomEntry> for RoomView {
    fn from(r: &RoomEntry) -> RoomView {
        RoomView {
            roomid: r.roomid.clone(),
            state: r.state.as_str().to_owned(),
            kind: r.kind.map(|k| k.as_str().to_owned()),
            name: r.name.clone(),
            owner: r.owner.clone(),
            created_at: r.created_at,
            notice: r.notice.clone(),
            members: r.member_count,
            messages: r.messages,
            errcode: r.errcode,
            error: r.error.clone(),
            checked_at_ms: r.checked_at_ms,
            next_check_ms: r.next_check_ms,
        }
    }
}

/// One member of a room, with how they are shown in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoomMemberView {
    pub id: String,
    /// `internal`, `external` or `robot`.
    pub kind: String,
    /// Their name, else their nickname in the room, else the id's fallback label.
    pub display_name: String,
    /// When they joined (Unix seconds) and how (WeCom's `join_scene`), when known.
    pub join_time: Option<i64>,
    pub join_scene: Option<u8>,
    pub inviter: Option<String>,
    pub group_nickname: String,
    pub is_admin: bool,
}

/// One name a room had, and when the archive first saw it (Unix ms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NameChangeView {
    pub name: String,
    pub observed_at_ms: i64,
}

impl From<&RoomNameChange> for NameChangeView {
    fn from(h: &RoomNameChange) -> NameChangeView {
        NameChangeView {
            name: h.name.clone(),
            observed_at_ms: h.observed_at_ms,
        }
    }
}

/// One consent status as WeCom reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentView {
    /// `pair` (an employee's one-to-one chat with the contact) or `room`.
    pub subject: String,
    /// The employee of a pair; empty for a room.
    pub userid: String,
    /// The room; empty for a pair.
    pub roomid: String,
    /// The contact who agreed or not.
    pub external_userid: String,
    /// `Agree` or `Disagree`, WeCom's spelling.
    pub status: String,
    /// When the status last changed (Unix seconds) and when the archive asked (Unix ms).
    pub status_change_time: i64,
    pub checked_at_ms: i64,
}

impl From<&Consent> for ConsentView {
    fn from(c: &Consent) -> ConsentView {
        let (subject, userid, roomid) = match &c.subject {
            ConsentSubject::Pair { userid, .. } => ("pair", userid.as_str(), ""),
            ConsentSubject::Room { roomid } => ("room", "", roomid.as_str()),
        };
        ConsentView {
            subject: subject.to_owned(),
            userid: userid.to_owned(),
            roomid: roomid.to_owned(),
            external_userid: c.external_userid.clone(),
            status: c.status.as_str().to_owned(),
            status_change_time: c.status_change_time,
            checked_at_ms: c.checked_at_ms,
        }
    }
}

/// One room in detail ([`room`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoomDetailView {
    pub room: RoomView,
    pub members: Vec<RoomMemberView>,
    /// Oldest first.
    pub name_history: Vec<NameChangeView>,
    /// The room's consent statuses.
    pub consent: Vec<ConsentView>,
}

/// Up to `limit` rooms after skipping `offset`: named ones by name, then the others.
pub fn rooms(
    reader: &dyn ArchiveReader,
    corp_id: &str,
    limit: usize,
    offset: usize,
) -> Result<Vec<RoomView>, StoreError> {
    Ok(reader
        .rooms(corp_id, limit, offset)?
        .iter()
        .map(RoomView::from)
        .collect())
}

/// One room with its members (named in one lookup), name history and consent; `None` if the
/// archive does not know it.
pub fn room(
    reader: &dyn ArchiveReader,
    corp_id: &str,
    roomid: &str,
) -> Result<Option<RoomDetailView>, StoreError> {
    let Some(detail) = reader.room(corp_id, roomid)? else {
        return Ok(None);
    };
    let ids: Vec<String> = detail.members.iter().map(|m| m.id.clone()).collect();
    let names = reader.display_names(corp_id, &ids, Some(roomid))?;
    let members = detail
        .members
        .iter()
        .zip(names)
        .map(|(m, n)| RoomMemberView {
            id: m.id.clone(),
            kind: m.kind.as_str().to_owned(),
            display_name: n.text,
            join_time: m.join_time,
            join_scene: m.join_scene,
            inviter: m.inviter.clone(),
            group_nickname: m.group_nickname.clone(),
            is_admin: m.is_admin,
        })
        .collect();
    Ok(Some(RoomDetailView {
        room: RoomView::from(&detail.entry),
        members,
        name_history: detail.history.iter().map(NameChangeView::from).collect(),
        consent: consents(reader, corp_id, roomid)?,
    }))
}

/// A person as the archive knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonView {
    pub id: String,
    /// `internal`, `external` or `robot`.
    pub kind: String,
    /// `pending`, `named`, `unresolvable` or `failed`.
    pub state: String,
    pub name: Option<String>,
    /// For an external contact: their company; for an employee: empty.
    pub corp_name: String,
    pub position: String,
    /// WeCom's `type` of an external contact (1 WeChat, 2 WeCom), when known.
    pub external_type: Option<u8>,
    /// Who created a robot; empty otherwise.
    pub creator: String,
    /// WeCom's errcode and the reason of the last check that did not name them.
    pub errcode: Option<i64>,
    pub error: Option<String>,
    /// When they were last checked and are due again (Unix ms).
    pub checked_at_ms: Option<i64>,
    pub next_check_ms: i64,
}

impl From<&PersonEntry> for PersonView {
    fn from(p: &PersonEntry) -> PersonView {
        PersonView {
            id: p.id.clone(),
            kind: p.kind.as_str().to_owned(),
            state: p.state.as_str().to_owned(),
            name: p.name.clone(),
            corp_name: p.corp_name.clone(),
            position: p.position.clone(),
            external_type: p.external_type,
            creator: p.creator.clone(),
            errcode: p.errcode,
            error: p.error.clone(),
            checked_at_ms: p.checked_at_ms,
            next_check_ms: p.next_check_ms,
        }
    }
}

/// One person in detail ([`person`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonDetail {
    pub person: PersonView,
    /// Whether the userid is in the archive scope (the permit list) as last fetched: `None` when
    /// the list never named them (or was never fetched: see `scope_checked_at_ms`).
    pub in_archive_scope: Option<bool>,
    /// When the permit list was last fetched (Unix ms); `None` if never.
    pub scope_checked_at_ms: Option<i64>,
    /// The consent statuses that involve them.
    pub consent: Vec<ConsentView>,
}

/// Up to `limit` people after skipping `offset`: named ones by name, then the others.
pub fn people(
    reader: &dyn ArchiveReader,
    corp_id: &str,
    limit: usize,
    offset: usize,
) -> Result<Vec<PersonView>, StoreError> {
    Ok(reader
        .people(corp_id, limit, offset)?
        .iter()
        .map(PersonView::from)
        .collect())
}

/// One person with their archive scope and consent; `None` if the archive does not know them.
pub fn person(
    reader: &dyn ArchiveReader,
    corp_id: &str,
    id: &str,
) -> Result<Option<PersonDetail>, StoreError> {
    let Some(entry) = reader.person(corp_id, id)? else {
        return Ok(None);
    };
    let in_archive_scope = reader
        .permit_users(corp_id)?
        .into_iter()
        .find(|u| u.userid == id)
        .map(|u| u.in_scope);
    Ok(Some(PersonDetail {
        person: PersonView::from(&entry),
        in_archive_scope,
        scope_checked_at_ms: reader.permit_checked_at(corp_id)?,
        consent: consents(reader, corp_id, id)?,
    }))
}

fn consents(
    reader: &dyn ArchiveReader,
    corp_id: &str,
    id: &str,
) -> Result<Vec<ConsentView>, StoreError> {
    Ok(reader
        .consents(corp_id, id)?
        .iter()
        .map(ConsentView::from)
        .collect())
}
