//! The naming/scope/consent APIs (reference §4.2–§4.7), answered from the corpus' directory:
//! `msgaudit/get_permit_user_list`, `msgaudit/check_single_agree`, `msgaudit/check_room_agree`,
//! `msgaudit/groupchat/get`, `msgaudit/get_robot_info`, `externalcontact/groupchat/get` and
//! `/list`, `user/get` and `externalcontact/get`.
//!
//! Checks, in order: body size (413), injected fault, `access_token` (41001 missing, 40014
//! unknown, 42001 expired, 48002 a token of another secret than [`DirectoryApi::secret`]), the
//! built-in rate limit (45009), the request (POST: 44002 empty body, 47001 not the JSON shape;
//! GET: its query parameter), then the answer.
//!
//! Decisions where the reference says nothing about the real server:
//! - 40058 (WeCom's generic "invalid parameter") for a `type` outside 1..=3, an empty or over-100
//!   consent list, a `limit` outside 1..=1000, a `status_filter` above 3, a bad `cursor`, a
//!   missing `robot_id`/`external_userid`, and an unknown robot; 41009 for a missing `userid`;
//! - `need_name` may be left out of `externalcontact/groupchat/get` (WeCom documents it as
//!   optional), meaning 0;
//! - derived facts (join times, join scenes, nicknames, unionids, department ids) come from a
//!   hash of the ids, so every answer is the same on every run and for every client.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use md5::{Digest as _, Md5};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use wecom_wire::directory::{
    AgreeInfo, AgreeInfoList, CheckRoomAgreeRequest, CheckSingleAgreeRequest, CustomerGroup,
    CustomerGroupListEntry, CustomerGroupListRequest, CustomerGroupMember, CustomerGroupRequest,
    CustomerGroupResponse, DirectoryApi, ExternalContact as WireContact, ExternalContactResponse,
    FollowUser, InternalGroup, InternalGroupMember, PermitUserList, PermitUserListRequest,
    RobotInfo, RobotInfoResponse, RoomIdRequest, User, UserRef, api_errcode,
};

use super::{
    BodyRead, ConnControl, Takeover, api_error, code, html, json_response, peer_of, query_params,
    read_body, token_problem, too_large, truncated,
};
use crate::corpus::{Directory, ExternalKind, Group};
use crate::directory_state::{ApiFault, ApiRequestLog};
use crate::emulator::Emulator;

/// Most (userid, external contact) pairs one check_single_agree request may ask about.
const MAX_AGREE_PAIRS: usize = 100;

/// Largest `limit` of externalcontact/groupchat/list.
const MAX_LIST_LIMIT: u32 = 1000;

/// Prefix of the list cursor before base64: the cursor is opaque to clients, but a forged or
/// truncated one must be refused rather than read as some offset.
const CURSOR_PREFIX: &str = "wecom-emulator-groupchat:";

/// Adds one route per directory API to the router.
pub(super) fn routes(router: Router<Emulator>) -> Router<Emulator> {
    DirectoryApi::ALL.iter().fold(router, |router, &api| {
        let path = format!("/{}", api.path());
        let handler =
            move |State(emulator): State<Emulator>, req: Request| handle(api, emulator, req);
        if api.is_get() {
            router.route(&path, get(handler))
        } else {
            router.route(&path, post(handler))
        }
    })
}

/// What a request gets, before it is written.
enum Outcome {
    /// errcode 0 with these fields beside it.
    Ok(Value),
    Error(i64, &'static str),
    Http500,
    Drop,
    Malformed,
    WrongShape,
}

impl Outcome {
    fn errcode(&self) -> i64 {
        match self {
            Outcome::Ok(_) | Outcome::WrongShape => 0,
            Outcome::Error(errcode, _) => *errcode,
            Outcome::Http500 | Outcome::Drop | Outcome::Malformed => ApiRequestLog::NO_ERRCODE,
        }
    }
}

async fn handle(api: DirectoryApi, emulator: Emulator, req: Request) -> Response {
    let peer = peer_of(&req);
    let control = req.extensions().get::<ConnControl>().cloned();
    let params = query_params(&req);
    let body = if api.is_get() {
        Vec::new()
    } else {
        match read_body(req.into_body()).await {
            BodyRead::Complete(body) => body,
            BodyRead::TooLarge => return too_large(),
            // The client went away mid-request; nobody reads this answer.
            BodyRead::Failed => return html(StatusCode::BAD_REQUEST, "400 Bad Request"),
        }
    };
    let state = emulator.directory_state();
    let fault = state.begin(api);
    let outcome = decide(api, &emulator, &params, &body, fault).await;
    state.record(ApiRequestLog {
        api,
        subject: subject(api, &params, &body),
        errcode: outcome.errcode(),
        fault,
    });
    render(outcome, control, peer).await
}

async fn decide(
    api: DirectoryApi,
    emulator: &Emulator,
    params: &std::collections::HashMap<String, String>,
    body: &[u8],
    fault: Option<ApiFault>,
) -> Outcome {
    match fault {
        None => {}
        Some(ApiFault::Errcode(errcode)) => return Outcome::Error(errcode, errmsg_of(errcode)),
        Some(ApiFault::Http500) => return Outcome::Http500,
        Some(ApiFault::DropConnection) => return Outcome::Drop,
        Some(ApiFault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(ApiFault::MalformedJson) => return Outcome::Malformed,
        Some(ApiFault::WrongShape) => return Outcome::WrongShape,
        Some(ApiFault::ExpireTokens) => emulator.expire_tokens(),
    }
    let Some(token) = params.get("access_token").filter(|t| !t.is_empty()) else {
        return Outcome::Error(code::MISSING_ACCESS_TOKEN, "access_token missing");
    };
    if let Some((errcode, errmsg)) = token_problem(emulator, token, api.secret()) {
        return Outcome::Error(errcode, errmsg);
    }
    if emulator.directory_state().over_rate_limit() {
        return Outcome::Error(code::RATE_LIMITED, "api freq out of limit");
    }
    let answer = Answers {
        emulator,
        directory: emulator.directory(),
    };
    let result = match api {
        DirectoryApi::PermitUserList => parse(body).and_then(|r| answer.permit_user_list(&r)),
        DirectoryApi::CheckSingleAgree => parse(body).and_then(|r| answer.check_single_agree(&r)),
        DirectoryApi::CheckRoomAgree => parse(body).and_then(|r| answer.check_room_agree(&r)),
        DirectoryApi::InternalGroup => parse(body).and_then(|r| answer.internal_group(&r)),
        DirectoryApi::CustomerGroup => {
            parse_customer_group(body).and_then(|r| answer.customer_group(&r))
        }
        DirectoryApi::CustomerGroupList => parse(body).and_then(|r| answer.customer_group_list(&r)),
        DirectoryApi::RobotInfo => answer.robot_info(params.get("robot_id")),
        DirectoryApi::User => answer.user(params.get("userid")),
        DirectoryApi::ExternalContact => answer.external_contact(params.get("external_userid")),
    };
    result.unwrap_or_else(|refused| refused)
}

async fn render(
    outcome: Outcome,
    control: Option<ConnControl>,
    peer: Option<SocketAddr>,
) -> Response {
    match outcome {
        Outcome::Ok(fields) => {
            let mut map = serde_json::Map::new();
            map.insert("errcode".to_owned(), Value::from(0));
            map.insert("errmsg".to_owned(), Value::from("ok"));
            if let Value::Object(fields) = fields {
                map.extend(fields);
            }
            json_response(StatusCode::OK, Value::Object(map).to_string().into_bytes())
        }
        Outcome::Error(errcode, errmsg) => api_error(errcode, errmsg, peer),
        Outcome::Http500 => html(
            StatusCode::INTERNAL_SERVER_ERROR,
            "500 Internal Server Error",
        ),
        Outcome::Drop => {
            if let Some(control) = control {
                control.take_over(Takeover::Drop).await;
            }
            // Served through `router` without our accept loop: the closest thing is a cut body.
            truncated(br#"{"errcode":0,"errmsg":"ok"}"#.to_vec())
        }
        // Cut where a proxy or a half-written answer would cut it: starts like WeCom's JSON.
        Outcome::Malformed => {
            json_response(StatusCode::OK, br#"{"errcode":0,"errmsg":"ok","#.to_vec())
        }
        Outcome::WrongShape => {
            json_response(StatusCode::OK, br#"{"errcode":0,"errmsg":"ok"}"#.to_vec())
        }
    }
}

/// The id a request asks about, for the log; best effort (an unparseable body gives `""`).
fn subject(
    api: DirectoryApi,
    params: &std::collections::HashMap<String, String>,
    body: &[u8],
) -> String {
    let param = |name: &str| params.get(name).cloned().unwrap_or_default();
    let field = |name: &str| {
        serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get(name).and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default()
    };
    match api {
        DirectoryApi::RobotInfo => param("robot_id"),
        DirectoryApi::User => param("userid"),
        DirectoryApi::ExternalContact => param("external_userid"),
        DirectoryApi::CheckRoomAgree | DirectoryApi::InternalGroup => field("roomid"),
        DirectoryApi::CustomerGroup => field("chat_id"),
        DirectoryApi::PermitUserList
        | DirectoryApi::CheckSingleAgree
        | DirectoryApi::CustomerGroupList => String::new(),
    }
}

/// A POST body: 44002 when empty (whitespace counts as empty), 47001 when not the JSON shape.
/// Any Content-Type is accepted, as for getchatdata.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Outcome> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Outcome::Error(code::EMPTY_POST_DATA, "empty post data"));
    }
    serde_json::from_slice(body)
        .map_err(|_| Outcome::Error(code::DATA_FORMAT_ERROR, "data format error"))
}

/// externalcontact/groupchat/get's body, with `need_name` optional as WeCom documents it (the
/// shared wire type requires it, so a missing one is filled in with 0 before parsing).
fn parse_customer_group(body: &[u8]) -> Result<CustomerGroupRequest, Outcome> {
    let mut value: Value = parse(body)?;
    if let Value::Object(map) = &mut value {
        map.entry("need_name").or_insert(Value::from(0));
    }
    serde_json::from_value(value)
        .map_err(|_| Outcome::Error(code::DATA_FORMAT_ERROR, "data format error"))
}

fn ok<T: Serialize>(answer: &T) -> Result<Outcome, Outcome> {
    serde_json::to_value(answer)
        .map(Outcome::Ok)
        .map_err(|_| Outcome::Error(code::SYSTEM_BUSY, "system busy"))
}

/// WeCom's errmsg for the errcodes tests inject most, so a client's log reads like the real one.
fn errmsg_of(errcode: i64) -> &'static str {
    match errcode {
        code::SYSTEM_BUSY => "system busy",
        code::RATE_LIMITED => "api freq out of limit",
        api_errcode::CONCURRENCY_LIMITED => "api concurrent out of limit",
        code::API_FORBIDDEN => "api forbidden",
        api_errcode::IP_NOT_ALLOWED => "not allow to access from your ip",
        _ => "injected error",
    }
}

fn invalid(errmsg: &'static str) -> Outcome {
    Outcome::Error(code::INVALID_PARAMETER, errmsg)
}

fn chat_not_found() -> Outcome {
    Outcome::Error(api_errcode::CHAT_NOT_FOUND, "invalid chatid")
}

/// FNV-1a over the parts (with a separator), for derived facts that must not depend on the Rust
/// version or the process (std's hasher promises neither).
fn hash(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.as_bytes().iter().chain(b"\x1f") {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// A WeChat user's fake unionid: `oz`, 22 base64url characters of an md5, `AAA` (the
/// reference's example ends the same way).
fn unionid(external_userid: &str) -> String {
    let digest = Md5::digest(format!("unionid:{external_userid}").as_bytes());
    format!("oz{}AAA", URL_SAFE_NO_PAD.encode(digest))
}

/// When a member joined a room: the owner when it was created, the others within 30 days after.
fn join_time(group: &Group, index: usize, member: &str) -> i64 {
    if index == 0 {
        return group.create_time;
    }
    let offset = hash(&["join", &group.roomid, member]) % (30 * 86_400);
    group
        .create_time
        .saturating_add(60 + i64::try_from(offset).unwrap_or(0))
}

/// The first character of a name, for nicknames ("客服小张", "顾客老王").
fn first_char(name: &str) -> String {
    name.chars().next().map(String::from).unwrap_or_default()
}

struct Answers<'a> {
    emulator: &'a Emulator,
    directory: &'a Directory,
}

impl Answers<'_> {
    fn room_name(&self, group: &Group) -> String {
        self.emulator
            .room_name(&group.roomid)
            .unwrap_or_else(|| group.name.clone())
    }

    /// Every edition's list is the archive scope: the emulated corp has one edition for all.
    fn permit_user_list(&self, request: &PermitUserListRequest) -> Result<Outcome, Outcome> {
        if request.edition.is_some_and(|t| !(1..=3).contains(&t)) {
            return Err(invalid("invalid type"));
        }
        ok(&PermitUserList {
            ids: self
                .directory
                .archive_scope()
                .iter()
                .map(|e| e.userid.clone())
                .collect(),
        })
    }

    fn agree_info(&self, external_userid: &str, userid: Option<&str>) -> Option<AgreeInfo> {
        let consent = self.directory.consent(external_userid)?;
        Some(AgreeInfo {
            userid: userid.map(str::to_owned),
            exteranalopenid: external_userid.to_owned(),
            agree_status: if consent.agreed { "Agree" } else { "Disagree" }.to_owned(),
            status_change_time: consent.status_change_time,
        })
    }

    /// Pairs whose userid is not an employee or whose contact is unknown are left out.
    fn check_single_agree(&self, request: &CheckSingleAgreeRequest) -> Result<Outcome, Outcome> {
        if request.info.is_empty() || request.info.len() > MAX_AGREE_PAIRS {
            return Err(invalid("invalid info"));
        }
        let agreeinfo = request
            .info
            .iter()
            .filter(|pair| self.directory.is_employee(&pair.userid))
            .filter_map(|pair| self.agree_info(&pair.exteranalopenid, Some(&pair.userid)))
            .collect();
        ok(&AgreeInfoList { agreeinfo })
    }

    /// Every room the archive knows, WeChat-started ones included (consent is the archive's own
    /// business); internal rooms have no external member, so an empty list.
    fn check_room_agree(&self, request: &CheckRoomAgreeRequest) -> Result<Outcome, Outcome> {
        let group = self
            .directory
            .group(&request.roomid)
            .ok_or_else(chat_not_found)?;
        let agreeinfo = group
            .members
            .iter()
            .filter_map(|m| self.agree_info(m, None))
            .collect();
        ok(&AgreeInfoList { agreeinfo })
    }

    /// Internal groups only (reference §4.4: "只支持内部群").
    fn internal_group(&self, request: &RoomIdRequest) -> Result<Outcome, Outcome> {
        let group = self
            .directory
            .group(&request.roomid)
            .filter(|g| !g.external && !g.from_wechat)
            .ok_or_else(chat_not_found)?;
        ok(&InternalGroup {
            roomname: self.room_name(group),
            creator: group.owner.clone(),
            room_create_time: group.create_time,
            notice: group.notice.clone(),
            members: group
                .members
                .iter()
                .enumerate()
                .map(|(i, m)| InternalGroupMember {
                    memberid: m.clone(),
                    jointime: join_time(group, i, m),
                })
                .collect(),
        })
    }

    fn robot_info(&self, robot_id: Option<&String>) -> Result<Outcome, Outcome> {
        let robot_id = robot_id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| invalid("robot_id missing"))?;
        // The real errcode for an unknown robot is unknown; 40058 is the generic "invalid
        // parameter".
        let robot = self
            .directory
            .robot(robot_id)
            .ok_or_else(|| invalid("invalid robot_id"))?;
        ok(&RobotInfoResponse {
            data: RobotInfo {
                robot_id: robot.robot_id.clone(),
                name: robot.name.clone(),
                creator_userid: robot.creator_userid.clone(),
            },
        })
    }

    /// Customer groups the customer-contact API can see: not internal, not started from WeChat.
    fn customer_groups(&self) -> impl Iterator<Item = &Group> {
        self.directory
            .groups
            .iter()
            .filter(|g| g.external && !g.from_wechat)
    }

    fn customer_group(&self, request: &CustomerGroupRequest) -> Result<Outcome, Outcome> {
        let group = self
            .customer_groups()
            .find(|g| g.roomid == request.chat_id)
            .ok_or_else(chat_not_found)?;
        let member_list = group
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| self.customer_member(group, i, m, request.need_name == 1))
            .collect();
        // The second staff member (if any) helps the owner run the group.
        let admin_list = group
            .members
            .iter()
            .filter(|m| self.directory.is_employee(m))
            .nth(1)
            .map(|m| UserRef { userid: m.clone() })
            .into_iter()
            .collect();
        let member_version = hex::encode(Md5::digest(group.members.join(",").as_bytes()));
        ok(&CustomerGroupResponse {
            group_chat: CustomerGroup {
                chat_id: group.roomid.clone(),
                name: self.room_name(group),
                owner: group.owner.clone(),
                create_time: group.create_time,
                notice: group.notice.clone(),
                member_list,
                admin_list,
                member_version,
            },
        })
    }

    /// The owner created the group (join_scene 1, no invitor); the others joined by invitation
    /// (1, invited by the owner), link (2) or QR code (3). About a third have a group nickname.
    fn customer_member(
        &self,
        group: &Group,
        index: usize,
        member: &str,
        need_name: bool,
    ) -> CustomerGroupMember {
        let h = hash(&["member", &group.roomid, member]);
        let contact = self.directory.external_contact(member);
        let join_scene = if index == 0 { 1 } else { (h % 3) as u8 + 1 };
        let invitor = (index != 0 && join_scene == 1).then(|| UserRef {
            userid: group.owner.clone(),
        });
        let name = self.directory.name_of(member).unwrap_or_default();
        let group_nickname = match (h / 3) % 3 {
            0 if contact.is_some() => format!("顾客老{}", first_char(name)),
            0 => format!("客服小{}", first_char(name)),
            _ => String::new(),
        };
        CustomerGroupMember {
            userid: member.to_owned(),
            member_type: if contact.is_some() { 2 } else { 1 },
            unionid: contact
                .filter(|c| c.kind == ExternalKind::WeChat)
                .map(|c| unionid(&c.external_userid)),
            join_time: join_time(group, index, member),
            join_scene,
            invitor,
            group_nickname,
            name: if need_name {
                name.to_owned()
            } else {
                String::new()
            },
            state: String::new(),
        }
    }

    /// Ordered by chat_id; every group's owner is active (status 0), so filters 1..=3 list
    /// nothing. The cursor is the offset into the filtered list.
    fn customer_group_list(&self, request: &CustomerGroupListRequest) -> Result<Outcome, Outcome> {
        if request.limit == 0 || request.limit > MAX_LIST_LIMIT {
            return Err(invalid("invalid limit"));
        }
        if request.status_filter > 3 {
            return Err(invalid("invalid status_filter"));
        }
        let owners = request
            .owner_filter
            .as_ref()
            .map(|f| f.userid_list.as_slice())
            .unwrap_or_default();
        let mut ids: Vec<&str> = self
            .customer_groups()
            .filter(|_| request.status_filter == 0)
            .filter(|g| owners.is_empty() || owners.contains(&g.owner))
            .map(|g| g.roomid.as_str())
            .collect();
        ids.sort_unstable();
        let start = if request.cursor.is_empty() {
            0
        } else {
            decode_cursor(&request.cursor)
                .filter(|&offset| offset <= ids.len())
                .ok_or_else(|| invalid("invalid cursor"))?
        };
        let limit = usize::try_from(request.limit).unwrap_or(usize::MAX);
        let end = start.saturating_add(limit).min(ids.len());
        let next_cursor = if end < ids.len() {
            encode_cursor(end)
        } else {
            String::new()
        };
        ok(&wecom_wire::directory::CustomerGroupList {
            group_chat_list: ids[start..end]
                .iter()
                .map(|id| CustomerGroupListEntry {
                    chat_id: (*id).to_owned(),
                    status: 0,
                })
                .collect(),
            next_cursor,
        })
    }

    /// Every employee, in the archive scope or not (user/get is not an archive API).
    fn user(&self, userid: Option<&String>) -> Result<Outcome, Outcome> {
        let userid = userid
            .filter(|id| !id.is_empty())
            .ok_or(Outcome::Error(code::MISSING_USERID, "userid missing"))?;
        let employee = self.directory.employee(userid).ok_or(Outcome::Error(
            api_errcode::USER_NOT_FOUND,
            "userid not found",
        ))?;
        let department = employee.department_id();
        ok(&User {
            userid: employee.userid.clone(),
            name: employee.name.clone(),
            department: vec![department],
            position: employee.position.clone(),
            status: 1,
            main_department: Some(department),
        })
    }

    fn external_contact(&self, external_userid: Option<&String>) -> Result<Outcome, Outcome> {
        let external_userid = external_userid
            .filter(|id| !id.is_empty())
            .ok_or_else(|| invalid("external_userid missing"))?;
        let contact = self
            .directory
            .external_contact(external_userid)
            .ok_or(Outcome::Error(
                api_errcode::NO_EXTERNAL_RELATION,
                "not external contact",
            ))?;
        let h = hash(&["contact", &contact.external_userid]);
        let wecom = contact.kind == ExternalKind::WeCom;
        let short_corp = ["股份有限公司", "有限公司"]
            .iter()
            .find_map(|suffix| contact.corp_name.strip_suffix(suffix))
            .unwrap_or(&contact.corp_name);
        let follow_user = contact
            .owners
            .iter()
            .map(|owner| {
                let added = hash(&["follow", &contact.external_userid, owner]) % (365 * 86_400);
                FollowUser {
                    userid: owner.clone(),
                    remark: format!("{}-客户", contact.name),
                    description: String::new(),
                    // Within the year before the consent clock starts (2022-06-01 ..).
                    createtime: 1_654_041_600 + i64::try_from(added).unwrap_or(0),
                    // 1 scanned the employee's QR code, 2 searched a phone number, 3 a card.
                    add_way: i64::try_from(h % 3).unwrap_or(0) + 1,
                }
            })
            .collect();
        ok(&ExternalContactResponse {
            external_contact: WireContact {
                external_userid: contact.external_userid.clone(),
                name: contact.name.clone(),
                position: String::new(),
                corp_name: if wecom {
                    short_corp.to_owned()
                } else {
                    String::new()
                },
                corp_full_name: if wecom {
                    contact.corp_name.clone()
                } else {
                    String::new()
                },
                contact_type: if wecom { 2 } else { 1 },
                gender: (h % 3) as u8,
                unionid: (!wecom).then(|| unionid(&contact.external_userid)),
            },
            follow_user,
            next_cursor: String::new(),
        })
    }
}

fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{offset}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    text.strip_prefix(CURSOR_PREFIX)?.parse().ok()
}
