//! The emulated corp's people and rooms: employees, external contacts, robots, groups.
//!
//! Ids follow the shapes seen in the wild (reference §3.1): free-form internal userids, 32-char
//! `wm…`/`wo…` external ids sharing a corp tag, `wb…` robots, `wr…` rooms. Chinese names are kept
//! for the naming APIs (user/get, externalcontact/get, groupchat/get), which the server answers
//! from the facts below: the archive scope, the consent of each contact, the rooms created from
//! WeChat. Those facts are derived from ids and indices, never drawn from the generator's stream,
//! so the corpus of a seed stays byte-identical to what it was before they existed.

use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand_chacha::ChaCha8Rng;

/// An employee of the archived corp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Employee {
    pub userid: String,
    pub name: String,
    pub department: String,
    pub position: String,
}

/// Whether an external contact is a WeChat user or a user of another WeCom corp
/// (the `type` of externalcontact/get: 1 and 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternalKind {
    WeChat,
    WeCom,
}

/// A customer or partner outside the corp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalContact {
    pub external_userid: String,
    pub name: String,
    pub kind: ExternalKind,
    /// The contact's own corp for [`ExternalKind::WeCom`], empty for WeChat users.
    pub corp_name: String,
    /// Upstream/downstream partner: their messages carry msgids ending `_updown_stream`.
    pub updown_stream: bool,
    /// Userids of the employees who have this contact.
    pub owners: Vec<String>,
}

/// A group robot (its id is an external_userid starting `wb`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Robot {
    pub robot_id: String,
    pub name: String,
    pub creator_userid: String,
}

/// A group chat: an internal group or an external customer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub roomid: String,
    pub name: String,
    pub owner: String,
    /// Human members (userids and external_userids), owner first.
    pub members: Vec<String>,
    /// Robots in the room; they send markdown/news but are not listed in `tolist`.
    pub robots: Vec<String>,
    /// A customer group (has external members).
    pub external: bool,
    /// Seconds since the epoch.
    pub create_time: i64,
    pub notice: String,
    /// A customer group started from WeChat (由微信拉起的群): it appears in messages, but neither
    /// groupchat API can resolve it (reference §7 #14). Set for [`WECHAT_ROOM_INDICES`].
    pub from_wechat: bool,
}

/// The customer groups (indices among the external groups, in generation order) that were
/// started from WeChat. Chosen by index rather than by a random draw so the corpus of a seed does
/// not change.
pub const WECHAT_ROOM_INDICES: [usize; 2] = [4, 9];

/// How many employees, at the end of [`Directory::employees`], are outside the archive scope.
pub const OUT_OF_SCOPE_EMPLOYEES: usize = 3;

/// Whether an external contact agreed to have their chats archived (msgaudit/check_*_agree).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consent {
    pub agreed: bool,
    /// When the status last changed, UTC seconds.
    pub status_change_time: i64,
}

/// 2023-06-01T00:00:00Z: the consent clock starts here (rooms were all created before).
const CONSENT_EPOCH: i64 = 1_685_577_600;

/// Everyone the corpus talks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    pub corp_id: String,
    pub corp_name: String,
    pub employees: Vec<Employee>,
    pub external_contacts: Vec<ExternalContact>,
    pub robots: Vec<Robot>,
    pub groups: Vec<Group>,
}

impl Directory {
    /// The display name of any id the corpus uses (employee, external contact, robot, room).
    pub fn name_of(&self, id: &str) -> Option<&str> {
        self.employees
            .iter()
            .find(|e| e.userid == id)
            .map(|e| e.name.as_str())
            .or_else(|| {
                self.external_contacts
                    .iter()
                    .find(|c| c.external_userid == id)
                    .map(|c| c.name.as_str())
            })
            .or_else(|| {
                self.robots
                    .iter()
                    .find(|r| r.robot_id == id)
                    .map(|r| r.name.as_str())
            })
            .or_else(|| {
                self.groups
                    .iter()
                    .find(|g| g.roomid == id)
                    .map(|g| g.name.as_str())
            })
    }

    pub fn is_employee(&self, id: &str) -> bool {
        self.employees.iter().any(|e| e.userid == id)
    }

    pub fn external_contact(&self, id: &str) -> Option<&ExternalContact> {
        self.external_contacts
            .iter()
            .find(|c| c.external_userid == id)
    }

    pub fn employee(&self, userid: &str) -> Option<&Employee> {
        self.employees.iter().find(|e| e.userid == userid)
    }

    pub fn robot(&self, robot_id: &str) -> Option<&Robot> {
        self.robots.iter().find(|r| r.robot_id == robot_id)
    }

    pub fn group(&self, roomid: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.roomid == roomid)
    }

    /// The employees whose chats are archived (msgaudit/get_permit_user_list): everyone but the
    /// last [`OUT_OF_SCOPE_EMPLOYEES`]. The corpus itself still has messages of the others; it
    /// predates this rule and must not change.
    pub fn archive_scope(&self) -> &[Employee] {
        let n = self.employees.len().saturating_sub(OUT_OF_SCOPE_EMPLOYEES);
        &self.employees[..n]
    }

    pub fn in_archive_scope(&self, userid: &str) -> bool {
        self.archive_scope().iter().any(|e| e.userid == userid)
    }

    /// The consent of an external contact: the contact at index `i` of
    /// [`Directory::external_contacts`] disagreed when `i % 7 == 3` (about one in seven), and the
    /// status changed at 2023-06-01T00:00:00Z plus `i` hours. The same for every employee.
    pub fn consent(&self, external_userid: &str) -> Option<Consent> {
        let i = self
            .external_contacts
            .iter()
            .position(|c| c.external_userid == external_userid)?;
        let hours = i64::try_from(i).unwrap_or(i64::MAX);
        Some(Consent {
            agreed: i % 7 != 3,
            status_change_time: CONSENT_EPOCH.saturating_add(hours.saturating_mul(3600)),
        })
    }

    /// The rooms either groupchat API can resolve (all but those started from WeChat), in
    /// directory order.
    pub fn resolvable_rooms(&self) -> impl Iterator<Item = &Group> {
        self.groups.iter().filter(|g| !g.from_wechat)
    }
}

impl Employee {
    /// The numeric id of the employee's department, as user/get reports it: the root department is
    /// 1, the named departments follow from 2 in a fixed order (0 if the name is unknown).
    pub fn department_id(&self) -> i64 {
        DEPARTMENTS
            .iter()
            .position(|d| *d == self.department)
            .and_then(|i| i64::try_from(i).ok())
            .map_or(0, |i| i + 2)
    }
}

/// (Chinese name, family-name pinyin, given-name pinyin).
const PEOPLE: &[(&str, &str, &str)] = &[
    ("张伟", "zhang", "wei"),
    ("王芳", "wang", "fang"),
    ("李娜", "li", "na"),
    ("刘洋", "liu", "yang"),
    ("陈静", "chen", "jing"),
    ("杨磊", "yang", "lei"),
    ("赵敏", "zhao", "min"),
    ("黄勇", "huang", "yong"),
    ("周杰", "zhou", "jie"),
    ("吴婷", "wu", "ting"),
    ("徐静怡", "xu", "jingyi"),
    ("孙浩", "sun", "hao"),
    ("胡佳", "hu", "jia"),
    ("朱琳", "zhu", "lin"),
    ("高翔", "gao", "xiang"),
    ("林小红", "lin", "xiaohong"),
    ("何欢", "he", "huan"),
    ("郭强", "guo", "qiang"),
    ("马丽", "ma", "li"),
    ("罗斌", "luo", "bin"),
    ("梁晨", "liang", "chen"),
    ("宋雨", "song", "yu"),
    ("郑凯", "zheng", "kai"),
    ("谢婉清", "xie", "wanqing"),
    ("韩梅梅", "han", "meimei"),
    ("唐宁", "tang", "ning"),
    ("冯涛", "feng", "tao"),
    ("于洁", "yu", "jie"),
    ("董明", "dong", "ming"),
    ("萧然", "xiao", "ran"),
    ("程诚", "cheng", "cheng"),
    ("曹颖", "cao", "ying"),
    ("袁野", "yuan", "ye"),
    ("邓超", "deng", "chao"),
    ("许晴", "xu", "qing"),
    ("沈悦", "shen", "yue"),
    ("曾睿", "zeng", "rui"),
    ("彭博", "peng", "bo"),
    ("吕思琪", "lv", "siqi"),
    ("苏晓", "su", "xiao"),
    ("蒋欣", "jiang", "xin"),
    ("蔡琳", "cai", "lin"),
    ("丁一", "ding", "yi"),
    ("魏来", "wei", "lai"),
    ("薛峰", "xue", "feng"),
    ("叶子", "ye", "zi"),
];

const DEPARTMENTS: &[&str] = &[
    "销售一部",
    "销售二部",
    "客户服务部",
    "理财顾问组",
    "保险业务部",
    "运营部",
    "风控合规部",
    "总经办",
];

const POSITIONS: &[&str] = &[
    "客户经理",
    "理财顾问",
    "保险顾问",
    "客服专员",
    "销售总监",
    "运营专员",
    "合规专员",
    "团队主管",
    "高级客户经理",
];

const CORP_NAMES: &[&str] = &[
    "恒信财富管理有限公司",
    "安泰保险代理有限公司",
    "鼎盛金融服务有限公司",
    "华诚理财顾问有限公司",
];

const EXTERNAL_NAMES: &[&str] = &[
    "王先生",
    "李女士",
    "Lucy🌸",
    "A保险-陈姐",
    "阳光总在风雨后",
    "老周",
    "Mr. Huang",
    "🍀小幸运",
    "张总",
    "刘阿姨",
    "Kevin",
    "晴天☀️",
    "风清扬",
    "Amy王",
    "刘xx(装修)",
    "𠮷野家的常客",
    "JasonChen",
    "木子李",
    "一帆风顺",
    "老王-宏达贸易",
    "赵姐",
    "平安是福",
    "Grace",
    "陈记茶行",
    "孙经理",
    "宝宝妈妈",
    "静待花开🌷",
    "马老师",
    "吴工",
    "海阔天空",
    "Tony 郑",
    "小米粒",
    "钱多多💰",
    "Annie",
    "黄女士",
    "金牌销售 何",
    "高先生 139****8866",
    "D.Wang",
    "知足常乐",
    "林姐",
    "Eric",
    "周周",
    "骑士🐎",
    "芳芳",
];

const PARTNER_CORPS: &[&str] = &[
    "宏达贸易有限公司",
    "远景科技股份有限公司",
    "晨光装饰工程有限公司",
    "锦程物流有限公司",
    "新世纪教育咨询中心",
    "瑞丰汽车销售服务有限公司",
];

const ROBOTS: &[&str] = &["业绩播报机器人", "客服小助手", "日报提醒", "产品净值推送"];

const INTERNAL_GROUPS: &[&str] = &[
    "销售一部工作群",
    "理财顾问交流群",
    "客服值班群",
    "周报提醒群",
    "合规培训群",
    "总经办",
    "午饭吃什么🍜",
    "Q4项目攻坚小组",
];

const EXTERNAL_GROUPS: &[&str] = &[
    "VIP客户服务群",
    "阳光小区业主理财交流群",
    "车险续保咨询群",
    "宏达贸易对接群",
    "家庭保障规划群(3)",
    "新客户福利群🎁",
    "基金定投交流群",
    "年金险答疑群",
    "远景科技团险服务群",
    "高净值客户沙龙",
];

const NOTICES: &[&str] = &[
    "",
    "本群仅用于业务沟通，请勿发布广告。",
    "投资有风险，入市需谨慎。",
    "工作时间 9:00-18:00，紧急事项请直接电话联系。",
];

const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn random_chars(rng: &mut ChaCha8Rng, alphabet: &[u8], n: usize) -> String {
    (0..n)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// A 32-char id like `wmGAgeDQAAvQeaTqWwkMTxGMkvI7OOuQ`: prefix, the corp tag, `AA`, 22 chars.
fn wecom_id(rng: &mut ChaCha8Rng, prefix: &str, tag: &str) -> String {
    format!("{prefix}{tag}AA{}", random_chars(rng, ID_ALPHABET, 22))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn userid_for(rng: &mut ChaCha8Rng, family: &str, given: &str) -> String {
    match rng.random_range(0..100) {
        0..40 => format!("{family}{given}"),
        40..60 => format!("{family}.{given}"),
        60..75 => format!("{}{}", capitalise(family), capitalise(given)),
        75..90 => {
            let prefix = ["138", "139", "150", "186", "180", "135"]
                .choose(rng)
                .copied()
                .unwrap_or("138");
            format!("{prefix}{:08}", rng.random_range(0..100_000_000u32))
        }
        90..95 => format!("{:07}", rng.random_range(0..10_000_000u32)),
        _ => format!("{family}-{given}{:02}", rng.random_range(1..100)),
    }
}

/// Builds the directory from the generator's stream (always the first draws of a corpus).
pub(crate) fn generate(rng: &mut ChaCha8Rng, corp_id: &str) -> Directory {
    let corp_name = CORP_NAMES
        .choose(rng)
        .copied()
        .unwrap_or(CORP_NAMES[0])
        .to_owned();
    // Real external ids share a corp-specific tag (wmGAgeDQ…, wmErxtDg…).
    let tag = random_chars(rng, ALNUM, 6);

    let mut people: Vec<&(&str, &str, &str)> = PEOPLE.iter().collect();
    people.shuffle(rng);
    let mut employees: Vec<Employee> = Vec::new();
    for (name, family, given) in people.into_iter().take(30) {
        let mut userid = userid_for(rng, family, given);
        while employees.iter().any(|e| e.userid == userid) {
            userid.push_str(&rng.random_range(0..10).to_string());
        }
        employees.push(Employee {
            userid,
            name: (*name).to_owned(),
            department: DEPARTMENTS.choose(rng).copied().unwrap_or("").to_owned(),
            position: POSITIONS.choose(rng).copied().unwrap_or("").to_owned(),
        });
    }

    let mut ext_names: Vec<&str> = EXTERNAL_NAMES.to_vec();
    ext_names.shuffle(rng);
    let mut external_contacts: Vec<ExternalContact> = Vec::new();
    for name in ext_names.into_iter().take(40) {
        let kind = if rng.random_bool(0.25) {
            ExternalKind::WeCom
        } else {
            ExternalKind::WeChat
        };
        let (prefix, corp_name) = match kind {
            ExternalKind::WeChat => ("wm", String::new()),
            ExternalKind::WeCom => (
                "wo",
                PARTNER_CORPS.choose(rng).copied().unwrap_or("").to_owned(),
            ),
        };
        let owner_count = if rng.random_bool(0.2) { 2 } else { 1 };
        let owners = employees
            .choose_multiple(rng, owner_count)
            .map(|e| e.userid.clone())
            .collect();
        external_contacts.push(ExternalContact {
            external_userid: wecom_id(rng, prefix, &tag),
            name: name.to_owned(),
            kind,
            corp_name,
            // The first contact from another corp is an upstream/downstream partner.
            updown_stream: kind == ExternalKind::WeCom
                && !external_contacts.iter().any(|c| c.updown_stream),
            owners,
        });
    }

    let robots: Vec<Robot> = ROBOTS
        .iter()
        .map(|name| Robot {
            robot_id: wecom_id(rng, "wb", &tag),
            name: (*name).to_owned(),
            creator_userid: employees
                .choose(rng)
                .map(|e| e.userid.clone())
                .unwrap_or_default(),
        })
        .collect();

    let mut groups = Vec::new();
    // 2020-06-01 .. 2023-06-01: rooms predate the corpus.
    let created = |rng: &mut ChaCha8Rng| rng.random_range(1_590_969_600..1_685_577_600i64);
    for (i, name) in INTERNAL_GROUPS.iter().enumerate() {
        let n = rng.random_range(3..=15);
        let members: Vec<String> = employees
            .choose_multiple(rng, n)
            .map(|e| e.userid.clone())
            .collect();
        // The first room always has a robot so markdown/news always have a home.
        let robot_members = if i == 0 || rng.random_bool(0.3) {
            vec![robots[i % robots.len()].robot_id.clone()]
        } else {
            Vec::new()
        };
        groups.push(Group {
            roomid: wecom_id(rng, "wr", &tag),
            name: (*name).to_owned(),
            owner: members[0].clone(),
            members,
            robots: robot_members,
            external: false,
            create_time: created(rng),
            notice: NOTICES.choose(rng).copied().unwrap_or("").to_owned(),
            from_wechat: false,
        });
    }
    for (i, name) in EXTERNAL_GROUPS.iter().enumerate() {
        let staff = rng.random_range(1..=3);
        let customers = rng.random_range(2..=8);
        let mut members: Vec<String> = employees
            .choose_multiple(rng, staff)
            .map(|e| e.userid.clone())
            .collect();
        members.extend(
            external_contacts
                .choose_multiple(rng, customers)
                .map(|c| c.external_userid.clone()),
        );
        let robot_members = if i == 0 || rng.random_bool(0.2) {
            vec![robots[(i + 1) % robots.len()].robot_id.clone()]
        } else {
            Vec::new()
        };
        groups.push(Group {
            roomid: wecom_id(rng, "wr", &tag),
            name: (*name).to_owned(),
            owner: members[0].clone(),
            members,
            robots: robot_members,
            external: true,
            create_time: created(rng),
            notice: NOTICES.choose(rng).copied().unwrap_or("").to_owned(),
            // From the index, not a draw: the stream (and so the corpus) stays as it was.
            from_wechat: WECHAT_ROOM_INDICES.contains(&i),
        });
    }

    Directory {
        corp_id: corp_id.to_owned(),
        corp_name,
        employees,
        external_contacts,
        robots,
        groups,
    }
}
