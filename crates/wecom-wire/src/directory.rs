//! The JSON shapes of the HTTP APIs that name rooms and people and explain the archive's scope
//! (reference §4.2–§4.7). Every response also carries `errcode`/`errmsg` ([`ApiStatus`]); the
//! bodies below are what an `errcode == 0` answer holds. Fields WeCom may leave out default to
//! empty, so a sparse but valid answer still parses; a field of the wrong type does not.
//!
//! The emulator serialises these types and the client deserialises them, so both follow the
//! reference, which decides.

use serde::{Deserialize, Serialize};

/// The `errcode`/`errmsg` pair every WeCom API answer carries (0 = ok).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiStatus {
    pub errcode: i64,
    #[serde(default)]
    pub errmsg: String,
}

/// Which secret an API needs: tokens are per secret (reference §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretKind {
    /// The 会话内容存档 secret: getchatdata and every `msgaudit/*` API.
    Archive,
    /// The 通讯录 (contacts) secret, or an app secret that can see the users: `user/get`.
    Contacts,
    /// The 客户联系 (customer contact) secret: `externalcontact/*`.
    CustomerContact,
}

impl SecretKind {
    pub fn label(self) -> &'static str {
        match self {
            SecretKind::Archive => "archive",
            SecretKind::Contacts => "contacts",
            SecretKind::CustomerContact => "customer_contact",
        }
    }
}

/// The APIs of this module, with their paths (below `cgi-bin/`) and the secret each needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DirectoryApi {
    PermitUserList,
    CheckSingleAgree,
    CheckRoomAgree,
    InternalGroup,
    RobotInfo,
    CustomerGroup,
    CustomerGroupList,
    User,
    ExternalContact,
}

impl DirectoryApi {
    pub const ALL: [DirectoryApi; 9] = [
        DirectoryApi::PermitUserList,
        DirectoryApi::CheckSingleAgree,
        DirectoryApi::CheckRoomAgree,
        DirectoryApi::InternalGroup,
        DirectoryApi::RobotInfo,
        DirectoryApi::CustomerGroup,
        DirectoryApi::CustomerGroupList,
        DirectoryApi::User,
        DirectoryApi::ExternalContact,
    ];

    /// The path below the base URL.
    pub fn path(self) -> &'static str {
        match self {
            DirectoryApi::PermitUserList => "cgi-bin/msgaudit/get_permit_user_list",
            DirectoryApi::CheckSingleAgree => "cgi-bin/msgaudit/check_single_agree",
            DirectoryApi::CheckRoomAgree => "cgi-bin/msgaudit/check_room_agree",
            DirectoryApi::InternalGroup => "cgi-bin/msgaudit/groupchat/get",
            DirectoryApi::RobotInfo => "cgi-bin/msgaudit/get_robot_info",
            DirectoryApi::CustomerGroup => "cgi-bin/externalcontact/groupchat/get",
            DirectoryApi::CustomerGroupList => "cgi-bin/externalcontact/groupchat/list",
            DirectoryApi::User => "cgi-bin/user/get",
            DirectoryApi::ExternalContact => "cgi-bin/externalcontact/get",
        }
    }

    /// Whether the API is a GET with query parameters (else a POST with a JSON body).
    pub fn is_get(self) -> bool {
        matches!(
            self,
            DirectoryApi::RobotInfo | DirectoryApi::User | DirectoryApi::ExternalContact
        )
    }

    /// The secret whose token the API accepts.
    pub fn secret(self) -> SecretKind {
        match self {
            DirectoryApi::PermitUserList
            | DirectoryApi::CheckSingleAgree
            | DirectoryApi::CheckRoomAgree
            | DirectoryApi::InternalGroup
            | DirectoryApi::RobotInfo => SecretKind::Archive,
            DirectoryApi::CustomerGroup
            | DirectoryApi::CustomerGroupList
            | DirectoryApi::ExternalContact => SecretKind::CustomerContact,
            DirectoryApi::User => SecretKind::Contacts,
        }
    }

    /// A short stable name for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            DirectoryApi::PermitUserList => "get_permit_user_list",
            DirectoryApi::CheckSingleAgree => "check_single_agree",
            DirectoryApi::CheckRoomAgree => "check_room_agree",
            DirectoryApi::InternalGroup => "msgaudit_groupchat_get",
            DirectoryApi::RobotInfo => "get_robot_info",
            DirectoryApi::CustomerGroup => "externalcontact_groupchat_get",
            DirectoryApi::CustomerGroupList => "externalcontact_groupchat_list",
            DirectoryApi::User => "user_get",
            DirectoryApi::ExternalContact => "externalcontact_get",
        }
    }
}

/// WeCom errcodes of these APIs (reference §4.1, §4.4, §7 #14).
pub mod api_errcode {
    /// `chatid不存在`: the room is not served by this API (an internal-groups API asked about a
    /// customer group, or a room neither API knows, such as one created from WeChat).
    pub const CHAT_NOT_FOUND: i64 = 40050;
    /// Interface concurrency limit.
    pub const CONCURRENCY_LIMITED: i64 = 45033;
    /// The caller's IP is not in the trusted list.
    pub const IP_NOT_ALLOWED: i64 = 60020;
    /// The member/department is outside the app's visibility.
    pub const NO_VISIBILITY: i64 = 60011;
    /// `UserID不存在`.
    pub const USER_NOT_FOUND: i64 = 60111;
    /// `不存在外部联系人的关系`: no employee has this external contact.
    pub const NO_EXTERNAL_RELATION: i64 = 84061;
    /// `会话存档已过期` (msgaudit/groupchat/get).
    pub const ARCHIVE_EXPIRED: i64 = 301_052;
}

/// Body of `msgaudit/get_permit_user_list`: `type` 1 办公版, 2 服务版, 3 企业版; absent for all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermitUserListRequest {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub edition: Option<u8>,
}

/// Answer of `msgaudit/get_permit_user_list`: the userids whose chats are archived.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermitUserList {
    #[serde(default)]
    pub ids: Vec<String>,
}

/// One (employee, external contact) pair of `msgaudit/check_single_agree`. The field name is
/// WeCom's own misspelling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreePair {
    pub userid: String,
    pub exteranalopenid: String,
}

/// Body of `msgaudit/check_single_agree`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckSingleAgreeRequest {
    pub info: Vec<AgreePair>,
}

/// Body of `msgaudit/check_room_agree`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRoomAgreeRequest {
    pub roomid: String,
}

/// One consent status: whether an external contact agreed to be archived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreeInfo {
    /// Present in check_single_agree answers, absent in check_room_agree ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userid: Option<String>,
    pub exteranalopenid: String,
    /// `"Agree"` or `"Disagree"`.
    pub agree_status: String,
    /// UTC seconds.
    #[serde(default)]
    pub status_change_time: i64,
}

/// Answer of both consent APIs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreeInfoList {
    #[serde(default)]
    pub agreeinfo: Vec<AgreeInfo>,
}

/// Body of `msgaudit/groupchat/get`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomIdRequest {
    pub roomid: String,
}

/// A member of an internal group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternalGroupMember {
    pub memberid: String,
    /// UTC seconds.
    #[serde(default)]
    pub jointime: i64,
}

/// Answer of `msgaudit/groupchat/get` (internal groups only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternalGroup {
    pub roomname: String,
    #[serde(default)]
    pub creator: String,
    /// UTC seconds.
    #[serde(default)]
    pub room_create_time: i64,
    #[serde(default)]
    pub notice: String,
    #[serde(default)]
    pub members: Vec<InternalGroupMember>,
}

/// A group robot (`msgaudit/get_robot_info`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RobotInfo {
    pub robot_id: String,
    pub name: String,
    #[serde(default)]
    pub creator_userid: String,
}

/// Answer of `msgaudit/get_robot_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RobotInfoResponse {
    pub data: RobotInfo,
}

/// Body of `externalcontact/groupchat/get`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerGroupRequest {
    pub chat_id: String,
    /// 1: return members' `name` (optional; 0 when absent).
    #[serde(default)]
    pub need_name: u8,
}

/// A `{"userid": …}` object (inviters, admins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    pub userid: String,
}

/// A member of a customer group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerGroupMember {
    /// A userid or an external_userid.
    pub userid: String,
    /// 1 企业成员, 2 外部联系人.
    #[serde(rename = "type", default)]
    pub member_type: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
    /// UTC seconds.
    #[serde(default)]
    pub join_time: i64,
    /// 1 invited directly, 2 invited by link, 3 scanned the group QR code.
    #[serde(default)]
    pub join_scene: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitor: Option<UserRef>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group_nickname: String,
    /// Only with `need_name: 1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub state: String,
}

/// A customer group (`externalcontact/groupchat/get`'s `group_chat`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerGroup {
    pub chat_id: String,
    pub name: String,
    #[serde(default)]
    pub owner: String,
    /// UTC seconds.
    #[serde(default)]
    pub create_time: i64,
    #[serde(default)]
    pub notice: String,
    #[serde(default)]
    pub member_list: Vec<CustomerGroupMember>,
    #[serde(default)]
    pub admin_list: Vec<UserRef>,
    #[serde(default)]
    pub member_version: String,
}

/// Answer of `externalcontact/groupchat/get`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerGroupResponse {
    pub group_chat: CustomerGroup,
}

/// `owner_filter` of `externalcontact/groupchat/list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerFilter {
    #[serde(default)]
    pub userid_list: Vec<String>,
}

/// Body of `externalcontact/groupchat/list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerGroupListRequest {
    /// 0 all, 1 离职待继承, 2 离职继承中, 3 离职继承完成.
    #[serde(default)]
    pub status_filter: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_filter: Option<OwnerFilter>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cursor: String,
    /// 1..=1000.
    pub limit: u32,
}

/// One entry of `group_chat_list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerGroupListEntry {
    pub chat_id: String,
    #[serde(default)]
    pub status: u8,
}

/// Answer of `externalcontact/groupchat/list`; an empty `next_cursor` ends the listing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerGroupList {
    #[serde(default)]
    pub group_chat_list: Vec<CustomerGroupListEntry>,
    #[serde(default)]
    pub next_cursor: String,
}

/// Answer of `user/get` (fields that may be withheld since 2022 are left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub userid: String,
    pub name: String,
    #[serde(default)]
    pub department: Vec<i64>,
    #[serde(default)]
    pub position: String,
    /// 1 active, 2 disabled, 4 not activated, 5 left.
    #[serde(default)]
    pub status: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_department: Option<i64>,
}

/// `external_contact` of `externalcontact/get`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalContact {
    pub external_userid: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub position: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub corp_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub corp_full_name: String,
    /// 1 微信用户, 2 企业微信用户.
    #[serde(rename = "type", default)]
    pub contact_type: u8,
    /// 0 unknown, 1 male, 2 female.
    #[serde(default)]
    pub gender: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
}

/// One employee who has the external contact (`follow_user`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUser {
    pub userid: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub remark: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// UTC seconds.
    #[serde(default)]
    pub createtime: i64,
    #[serde(default)]
    pub add_way: i64,
}

/// Answer of `externalcontact/get`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalContactResponse {
    pub external_contact: ExternalContact,
    #[serde(default)]
    pub follow_user: Vec<FollowUser>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub next_cursor: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference's examples (§4.3–§4.7) parse into these types.
    #[test]
    fn reference_examples_parse() {
        let agree: AgreeInfoList = serde_json::from_str(r#"{"errcode":0,"errmsg":"ok","agreeinfo":[{"status_change_time":1562766651,"userid":"XuJinSheng","exteranalopenid":"wmeDKaCPAAGdvxciQWxVsAKwV2HxNAAA","agree_status":"Agree"},{"status_change_time":1562766651,"userid":"XuJinSheng","exteranalopenid":"wmeDKaCQAAIQ_p7ACnxksfeBJSGocAAA","agree_status":"Disagree"}]}"#).expect("agree");
        assert_eq!(agree.agreeinfo[1].agree_status, "Disagree");
        let room: AgreeInfoList = serde_json::from_str(r#"{"errcode":0,"errmsg":"ok","agreeinfo":[{"status_change_time":1562766651,"exteranalopenid":"wmeDKaCQAAGdtHdiQWxVadfwV2HxNAAA","agree_status":"Agree"}]}"#).expect("room agree");
        assert_eq!(room.agreeinfo[0].userid, None);
        let group: InternalGroup = serde_json::from_str(r#"{"roomname":"蓦然回首","creator":"ZhangWenChao","room_create_time":1592361604,"notice":"","members":[{"memberid":"ZhangWenChao","jointime":1592361605},{"memberid":"xujinsheng","jointime":1592377076}],"errcode":0,"errmsg":"ok"}"#).expect("group");
        assert_eq!(group.members.len(), 2);
        let robot: RobotInfoResponse = serde_json::from_str(r#"{"errcode":0,"errmsg":"ok","data":{"robot_id":"wbxxxxxxxxxxxxxxxxxxxxxxxx","name":"机器人A","creator_userid":"zhangsan"}}"#).expect("robot");
        assert_eq!(robot.data.name, "机器人A");
        let customer: CustomerGroupResponse = serde_json::from_str(r#"{"errcode":0,"errmsg":"ok","group_chat":{"chat_id":"wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA","name":"销售客服群","owner":"ZhuShengBen","create_time":1572505490,"notice":"文明沟通，拒绝脏话","member_list":[{"userid":"abel","type":1,"join_time":1572505491,"join_scene":1,"state":"klsdup3kj3s1","invitor":{"userid":"jack"},"group_nickname":"客服小张","name":"张三丰"},{"userid":"wmOgQhDgAAuXFJGwbve4g4iXknfOAAAA","type":2,"unionid":"ozynqsulJFCZ2z1aYeS8h-nuasdAAA","join_time":1572505491,"join_scene":1,"group_nickname":"顾客老王","name":"王语嫣"}],"admin_list":[{"userid":"sam"},{"userid":"pony"}],"member_version":"71217227bbd112ecfe3a49c482195cb4"}}"#).expect("customer group");
        assert_eq!(customer.group_chat.member_list[1].member_type, 2);
        assert_eq!(
            customer.group_chat.member_list[0]
                .invitor
                .as_ref()
                .map(|u| u.userid.as_str()),
            Some("jack")
        );
        let list: CustomerGroupList = serde_json::from_str(r#"{"errcode":0,"errmsg":"ok","group_chat_list":[{"chat_id":"wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA","status":0},{"chat_id":"wrOgQhDgAAcwMTB7YmDkbeBsAAAA","status":0}],"next_cursor":"tJzlB9tdqfh-g7i_J-ehOz_TWcd7dSKa39_AqCIeMFw"}"#).expect("list");
        assert_eq!(list.group_chat_list.len(), 2);
        let user: User = serde_json::from_str(r#"{"errcode":0,"errmsg":"ok","userid":"zhangsan","name":"张三","department":[1,2],"position":"后台工程师","status":1,"avatar":"http://wx.qlogo.cn/x/0","open_userid":"xxxxxx","main_department":1}"#).expect("user");
        assert_eq!(user.name, "张三");
        let contact: ExternalContactResponse = serde_json::from_str(r#"{"errcode":0,"errmsg":"ok","external_contact":{"external_userid":"woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA","name":"李四","position":"Manager","avatar":"http://p.qlogo.cn/bizmail/x/0","corp_name":"腾讯","corp_full_name":"腾讯科技有限公司","type":2,"gender":1,"unionid":"ozynqsulJFCZ2z1aYeS8h-nuasdAAA"},"follow_user":[{"userid":"rocky","remark":"李部长","description":"对接采购事务","createtime":1525779812,"oper_userid":"rocky","add_way":10}],"next_cursor":"NEXT_CUROSR"}"#).expect("contact");
        assert_eq!(contact.external_contact.contact_type, 2);
        assert_eq!(contact.follow_user[0].remark, "李部长");
    }

    #[test]
    fn wrong_types_do_not_parse() {
        assert!(serde_json::from_str::<InternalGroup>(r#"{"roomname":5}"#).is_err());
        assert!(serde_json::from_str::<PermitUserList>(r#"{"ids":"a"}"#).is_err());
        assert!(serde_json::from_str::<RobotInfoResponse>(r#"{"errcode":0}"#).is_err());
    }
}
