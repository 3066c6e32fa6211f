//! Checking one id: which API applies, what its answer means, and when to ask again.

use std::collections::BTreeSet;

use wecom_client::{ApiError, ApiErrorKind};
use wecom_store::names::{
    Consent, ConsentStatus, ConsentSubject, PartyKind, PersonEntry, PersonInfo, Resolution,
    RoomInfo, RoomKind, RoomMember,
};
use wecom_wire::directory::{AgreeInfo, CustomerGroup, DirectoryApi, InternalGroup};

use crate::{NameResolver, Verdict, millis};

/// Why a check says the pass should not go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Halt {
    Continue,
    /// 45009/45033: the corp's quota is spent.
    RateLimited,
    /// The network or the server failed (not WeCom refusing): the API may be down.
    Unreachable,
}

/// `(resolution, delay before the next check in ms, halt)`.
type Checked<T> = (Resolution<T>, i64, Halt);

/// Tries a room as an internal group, then as a customer group — the other way round when the
/// customer-group list says it is one (saving a call that would answer 40050).
pub(crate) async fn room(
    r: &NameResolver,
    roomid: &str,
    attempts: u32,
    known_customer: bool,
) -> Checked<RoomInfo> {
    let mut unavailable: Vec<ApiError> = Vec::new();
    let mut not_here: Vec<ApiError> = Vec::new();
    let apis = if known_customer {
        [DirectoryApi::CustomerGroup, DirectoryApi::InternalGroup]
    } else {
        [DirectoryApi::InternalGroup, DirectoryApi::CustomerGroup]
    };
    for api in apis {
        if !available(r, api) {
            continue;
        }
        let verdict = match api {
            DirectoryApi::InternalGroup => r
                .judge(r.api().internal_group(roomid).await)
                .map(internal_room),
            _ => r
                .judge(r.api().customer_group(roomid).await)
                .map(customer_room),
        };
        match verdict {
            Verdict::Ok(info) => {
                return (
                    Resolution::Named(info),
                    millis(r.opts.refresh_named),
                    Halt::Continue,
                );
            }
            Verdict::NotHere(e) => not_here.push(e),
            Verdict::Unavailable(e) => {
                r.disable(api, &e);
                unavailable.push(e);
            }
            Verdict::Failed(e) => return failed(r, &e, attempts, false),
            Verdict::RateLimited(e) => return failed(r, &e, attempts, true),
        }
    }
    give_up(r, apis.len(), not_here, unavailable, Subject::Room)
}

/// Asks the API that matches the id's kind.
pub(crate) async fn person(r: &NameResolver, person: &PersonEntry) -> Checked<PersonInfo> {
    let api = match person.kind {
        PartyKind::Internal => DirectoryApi::User,
        PartyKind::External => DirectoryApi::ExternalContact,
        PartyKind::Robot => DirectoryApi::RobotInfo,
    };
    let attempts = person.attempts;
    if !available(r, api) {
        return give_up(r, 1, Vec::new(), Vec::new(), Subject::Person);
    }
    let id = person.id.as_str();
    let verdict = match api {
        DirectoryApi::User => r.judge(r.api().user(id).await).map(|u| PersonInfo {
            name: u.name,
            position: u.position,
            // Department ids are never negative; one that is names no department.
            departments: u
                .department
                .iter()
                .filter_map(|d| u64::try_from(*d).ok())
                .collect(),
            ..PersonInfo::default()
        }),
        DirectoryApi::ExternalContact => r.judge(r.api().external_contact(id).await).map(|c| {
            let c = c.external_contact;
            PersonInfo {
                name: c.name,
                corp_name: if c.corp_full_name.is_empty() {
                    c.corp_name
                } else {
                    c.corp_full_name
                },
                position: c.position,
                external_type: Some(c.contact_type).filter(|t| *t != 0),
                creator: String::new(),
                departments: Vec::new(),
            }
        }),
        _ => r.judge(r.api().robot_info(id).await).map(|b| PersonInfo {
            name: b.name,
            creator: b.creator_userid,
            ..PersonInfo::default()
        }),
    };
    match verdict {
        Verdict::Ok(info) if info.name.trim().is_empty() => {
            // An answer without a name names nothing; keep asking, slowly.
            (
                Resolution::Unresolvable {
                    errcode: None,
                    reason: format!("{} answered without a name", api.name()),
                },
                millis(r.opts.recheck_unresolvable),
                Halt::Continue,
            )
        }
        Verdict::Ok(info) => (
            Resolution::Named(info),
            millis(r.opts.refresh_named),
            Halt::Continue,
        ),
        Verdict::NotHere(e) => give_up(r, 1, vec![e], Vec::new(), Subject::Person),
        Verdict::Unavailable(e) => {
            r.disable(api, &e);
            give_up(r, 1, Vec::new(), vec![e], Subject::Person)
        }
        Verdict::Failed(e) => failed(r, &e, attempts, false),
        Verdict::RateLimited(e) => failed(r, &e, attempts, true),
    }
}

/// What [`give_up`] explains.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Subject {
    Room,
    Person,
}

/// Whether `api` can be called; a missing secret is logged once.
fn available(r: &NameResolver, api: DirectoryApi) -> bool {
    if !r.api().can_call(api) {
        r.note_unconfigured(api);
        return false;
    }
    r.usable(api)
}

fn failed<T>(r: &NameResolver, e: &ApiError, attempts: u32, rate_limited: bool) -> Checked<T> {
    let halt = match e.kind {
        _ if rate_limited => Halt::RateLimited,
        ApiErrorKind::Network | ApiErrorKind::Timeout | ApiErrorKind::HttpStatus(_) => {
            Halt::Unreachable
        }
        _ => Halt::Continue,
    };
    (
        Resolution::Failed {
            errcode: e.errcode(),
            reason: e.to_string(),
        },
        r.backoff(attempts.saturating_add(1)),
        halt,
    )
}

/// Nobody could name the id. When every API that applies answered "not here", it is
/// unresolvable for good and checked rarely; when some could not be asked (no secret, forbidden),
/// it is checked again sooner, in case the configuration changes.
fn give_up<T>(
    r: &NameResolver,
    applicable: usize,
    not_here: Vec<ApiError>,
    unavailable: Vec<ApiError>,
    subject: Subject,
) -> Checked<T> {
    let all_answered = not_here.len() == applicable;
    let errcode = not_here
        .last()
        .and_then(ApiError::errcode)
        .or_else(|| unavailable.last().and_then(ApiError::errcode));
    let mut reasons: Vec<String> = not_here.iter().map(ToString::to_string).collect();
    reasons.extend(unavailable.iter().map(ToString::to_string));
    if reasons.is_empty() {
        reasons.push("no configured secret allows asking about it".to_owned());
    }
    let codes: BTreeSet<Option<i64>> = not_here.iter().map(ApiError::errcode).collect();
    let reason = match (all_answered && subject == Subject::Room, codes.len()) {
        (true, 1) => format!(
            "neither groupchat API knows this room (errcode {}); rooms created from WeChat cannot be named",
            errcode.map_or_else(|| "?".to_owned(), |c| c.to_string())
        ),
        (true, _) => format!(
            "neither groupchat API knows this room ({}); rooms created from WeChat cannot be named",
            reasons.join("; ")
        ),
        _ => reasons.join("; "),
    };
    let next = if all_answered {
        r.opts.recheck_unresolvable
    } else {
        r.opts.recheck_unconfigured
    };
    (
        Resolution::Unresolvable { errcode, reason },
        millis(next),
        Halt::Continue,
    )
}

fn internal_room(g: InternalGroup) -> RoomInfo {
    RoomInfo {
        kind: RoomKind::Internal,
        name: g.roomname,
        owner: g.creator,
        created_at: Some(g.room_create_time).filter(|t| *t > 0),
        notice: g.notice,
        members: g
            .members
            .into_iter()
            .filter(|m| !m.memberid.trim().is_empty())
            .map(|m| RoomMember {
                kind: PartyKind::of(&m.memberid).unwrap_or(PartyKind::Internal),
                id: m.memberid,
                join_time: Some(m.jointime).filter(|t| *t > 0),
                join_scene: None,
                inviter: None,
                group_nickname: String::new(),
                name: String::new(),
                is_admin: false,
            })
            .collect(),
    }
}

fn customer_room(g: CustomerGroup) -> RoomInfo {
    let admins: BTreeSet<String> = g.admin_list.into_iter().map(|a| a.userid).collect();
    RoomInfo {
        kind: RoomKind::Customer,
        name: g.name,
        owner: g.owner,
        created_at: Some(g.create_time).filter(|t| *t > 0),
        notice: g.notice,
        members: g
            .member_list
            .into_iter()
            .filter(|m| !m.userid.trim().is_empty())
            .map(|m| RoomMember {
                // `type` says it outright (1 employee, 2 external); the id's shape otherwise.
                kind: match m.member_type {
                    1 => PartyKind::Internal,
                    2 if PartyKind::of(&m.userid) == Some(PartyKind::Robot) => PartyKind::Robot,
                    2 => PartyKind::External,
                    _ => PartyKind::of(&m.userid).unwrap_or(PartyKind::Internal),
                },
                is_admin: admins.contains(&m.userid),
                id: m.userid,
                join_time: Some(m.join_time).filter(|t| *t > 0),
                join_scene: Some(m.join_scene).filter(|s| *s != 0),
                inviter: m.invitor.map(|i| i.userid).filter(|u| !u.is_empty()),
                group_nickname: m.group_nickname,
                name: m.name,
            })
            .collect(),
    }
}

fn status(info: &AgreeInfo) -> Option<ConsentStatus> {
    info.agree_status.parse().ok()
}

/// A `check_single_agree` status as stored; an unknown `agree_status` is left out.
pub(crate) fn pair_consent(info: &AgreeInfo, now: i64) -> Option<Consent> {
    let userid = info.userid.clone().filter(|u| !u.is_empty())?;
    Some(Consent {
        subject: ConsentSubject::Pair {
            userid,
            external_userid: info.exteranalopenid.clone(),
        },
        external_userid: info.exteranalopenid.clone(),
        status: status(info)?,
        status_change_time: info.status_change_time,
        checked_at_ms: now,
    })
}

/// A `check_room_agree` status as stored; an unknown `agree_status` is left out.
pub(crate) fn room_consent(roomid: &str, info: &AgreeInfo, now: i64) -> Option<Consent> {
    if info.exteranalopenid.is_empty() {
        return None;
    }
    Some(Consent {
        subject: ConsentSubject::Room {
            roomid: roomid.to_owned(),
        },
        external_userid: info.exteranalopenid.clone(),
        status: status(info)?,
        status_change_time: info.status_change_time,
        checked_at_ms: now,
    })
}

impl<T> Verdict<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Verdict<U> {
        match self {
            Verdict::Ok(v) => Verdict::Ok(f(v)),
            Verdict::NotHere(e) => Verdict::NotHere(e),
            Verdict::Unavailable(e) => Verdict::Unavailable(e),
            Verdict::Failed(e) => Verdict::Failed(e),
            Verdict::RateLimited(e) => Verdict::RateLimited(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wecom_wire::directory::{CustomerGroupMember, UserRef};

    #[test]
    fn customer_members_keep_their_kind_admin_and_nickname() {
        let g = CustomerGroup {
            chat_id: "wr1".into(),
            name: "群".into(),
            owner: "zhangsan".into(),
            create_time: 0,
            notice: String::new(),
            member_list: vec![
                CustomerGroupMember {
                    userid: "zhangsan".into(),
                    member_type: 1,
                    unionid: None,
                    join_time: 10,
                    join_scene: 1,
                    invitor: Some(UserRef {
                        userid: "lisi".into(),
                    }),
                    group_nickname: "小张".into(),
                    name: "张三".into(),
                    state: String::new(),
                },
                CustomerGroupMember {
                    userid: "wmAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
                    member_type: 2,
                    unionid: None,
                    join_time: 0,
                    join_scene: 0,
                    invitor: None,
                    group_nickname: String::new(),
                    name: String::new(),
                    state: String::new(),
                },
                CustomerGroupMember {
                    userid: " ".into(),
                    member_type: 1,
                    unionid: None,
                    join_time: 0,
                    join_scene: 0,
                    invitor: None,
                    group_nickname: String::new(),
                    name: String::new(),
                    state: String::new(),
                },
            ],
            admin_list: vec![UserRef {
                userid: "zhangsan".into(),
            }],
            member_version: String::new(),
        };
        let room = customer_room(g);
        assert_eq!(room.kind, RoomKind::Customer);
        assert_eq!(room.created_at, None);
        assert_eq!(room.members.len(), 2, "blank ids are dropped");
        assert!(room.members[0].is_admin);
        assert_eq!(room.members[0].inviter.as_deref(), Some("lisi"));
        assert_eq!(room.members[0].join_scene, Some(1));
        assert_eq!(room.members[1].kind, PartyKind::External);
        assert_eq!(room.members[1].join_time, None);
    }

    #[test]
    fn consent_statuses_need_a_known_status_and_parties() {
        let info = |userid: Option<&str>, status: &str| AgreeInfo {
            userid: userid.map(str::to_owned),
            exteranalopenid: "wmX".into(),
            agree_status: status.into(),
            status_change_time: 5,
        };
        let c = pair_consent(&info(Some("u"), "Agree"), 1).expect("agree");
        assert_eq!(c.status, ConsentStatus::Agree);
        assert!(pair_consent(&info(None, "Agree"), 1).is_none());
        assert!(pair_consent(&info(Some("u"), "Maybe"), 1).is_none());
        let c = room_consent("wr1", &info(None, "Disagree"), 1).expect("disagree");
        assert_eq!(c.status, ConsentStatus::Disagree);
        assert_eq!(
            c.subject,
            ConsentSubject::Room {
                roomid: "wr1".into()
            }
        );
    }
}
