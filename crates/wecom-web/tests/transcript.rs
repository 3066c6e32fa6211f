//! The transcript: every message type rendered (the reference's example of each, read back from
//! a real archive exactly as the API serves it), and the page over a served emulator corpus:
//! scopes, `around`, paging both ways, date jumps.

mod tx_support;

use serde_json::{Value, json};
use tx_support::*;
use wecom_store::{Role, Scope};
use wecom_web::lang::Lang;
use wecom_web::message::{RenderContext, SideRule, render};

const CORP: &str = "wwreference0001";
const T: i64 = 1_767_225_600_000; // 2026-01-01 08:00 China time

/// One record per message type, shaped like the reference's examples (§3.2, §3.4), in one
/// one-to-one chat between `kenshin` (internal) and an external contact, plus a room.
fn reference_records() -> Vec<(String, Value)> {
    let ext = "wmGAgeDQAAvQeaTqWwkMTxGMkvI7OOuQ";
    let robot = "wbRobotAAAAxxxxxxxxxxxxxxxxxxxx1";
    let mut n = 0;
    let mut rec = |msgtype: &str, from: &str, key: &str, payload: Value| -> (String, Value) {
        n += 1;
        let msgid = format!("{msgtype}-{n}");
        let to = if from == "kenshin" { ext } else { "kenshin" };
        let mut r = json!({
            "msgid": msgid, "action": "send", "from": from, "tolist": [to], "roomid": "",
            "msgtime": T + n * 60_000, "msgtype": msgtype,
        });
        if let (Value::Object(map), Value::Object(p)) = (&mut r, payload) {
            if key.is_empty() {
                map.extend(p);
            } else {
                map.insert(key.to_owned(), Value::Object(p));
            }
        }
        (msgid, r)
    };
    vec![
        rec(
            "text",
            "kenshin",
            "text",
            json!({"content": "合同见 https://example.com/a?b=1&c=2 谢谢"}),
        ),
        rec(
            "text",
            ext,
            "text",
            json!({"content": "<script>alert(1)</script><img src=x onerror=alert(1)>"}),
        ),
        rec(
            "image",
            ext,
            "image",
            json!({"md5sum": "50de8e5ae8ffe4f1df7a93841f71993a", "filesize": 70961, "sdkfileid": "img-file-id"}),
        ),
        rec(
            "voice",
            ext,
            "voice",
            json!({"md5sum": "9db09c7fa627c9e53f17736c786a74d5", "voice_size": 6810, "play_length": 10, "sdkfileid": "voice-file-id"}),
        ),
        rec(
            "video",
            "kenshin",
            "video",
            json!({"md5sum": "d06fc80c01d6fbffcca3b229ba41eac6", "filesize": 15169724, "play_length": 108, "sdkfileid": "video-file-id"}),
        ),
        rec(
            "card",
            "kenshin",
            "card",
            json!({"corpname": "微信联系人", "userid": "wmGAgeDQAAGjFmfnP7A3j2JxQDdLNhSw"}),
        ),
        rec(
            "location",
            "kenshin",
            "location",
            json!({"longitude": 116.586285899, "latitude": 39.911125799, "address": "北京市xxx区xxx路xxx大厦x座", "title": "xxx管理中心", "zoom": 15}),
        ),
        rec(
            "emotion",
            "kenshin",
            "emotion",
            json!({"type": 1, "width": 290, "height": 290, "imagesize": 962604, "md5sum": "94c2b0bba52cc456cb8221b248096612", "sdkfileid": "emotion-file-id"}),
        ),
        rec(
            "file",
            "kenshin",
            "file",
            json!({"md5sum": "18e93fc2ea884df23b3d2d3b8667b9f0", "filename": "资料<b>.docx", "fileext": "docx", "filesize": 18181, "sdkfileid": "file-file-id"}),
        ),
        rec(
            "link",
            "kenshin",
            "link",
            json!({"title": "邀请你加入群聊", "description": "技术支持群，进入可查看详情", "link_url": "https://work.weixin.qq.com/wework_admin/external_room/join/exceed?vcode=xxx", "image_url": "https://wework.qpic.cn/wwpic/xxx/0"}),
        ),
        rec(
            "weapp",
            "kenshin",
            "weapp",
            json!({"title": "开始聊天前请仔细阅读服务须知事项", "description": "客户需同意存档聊天记录", "username": "xxx@app", "displayname": "服务须知"}),
        ),
        rec(
            "chatrecord",
            "kenshin",
            "chatrecord",
            json!({"title": "群聊的聊天记录", "item": [
            {"type": "ChatRecordText", "msgtime": 1603875610, "content": "{\"content\":\"转发的第一句\"}", "from_chatroom": false},
            {"type": "ChatRecordImage", "msgtime": 1603875620, "content": "{\"md5sum\":\"aa\",\"filesize\":100,\"sdkfileid\":\"nested-image-id\"}", "from_chatroom": false},
            {"type": "ChatRecordText", "msgtime": 1603875630, "content": "{\"content\":\"<i>转发的第三句</i>\"}", "from_chatroom": false}]}),
        ),
        rec(
            "todo",
            "kenshin",
            "todo",
            json!({"title": "来源文本", "content": "具体内容：周五前交付"}),
        ),
        rec(
            "vote",
            "kenshin",
            "vote",
            json!({"votetitle": "投票主题：团建地点", "voteitem": ["西湖", "千岛湖"], "votetype": 101, "voteid": "1603875610"}),
        ),
        rec(
            "vote",
            "kenshin",
            "",
            json!({"votetitle": "顶层投票主题", "voteitem": ["是"], "votetype": 102, "voteid": "1603875611"}),
        ),
        rec(
            "collect",
            "kenshin",
            "collect",
            json!({"room_name": "这是一个群", "creator": "nick", "create_time": "2019-12-11 11:21:22", "title": "这是填表title", "details": [{"id": 1, "ques": "表项1，文本", "type": "Text"}, {"id": 11101571002822706744u64, "ques": "表项2，数字", "type": "Number"}]}),
        ),
        rec(
            "redpacket",
            "kenshin",
            "redpacket",
            json!({"type": 1, "wish": "恭喜发财，大吉大利", "totalcnt": 1, "totalamount": 3000}),
        ),
        rec(
            "external_redpacket",
            ext,
            "redpacket",
            json!({"type": 2, "wish": "互通红包的祝福", "totalcnt": 2, "totalamount": 20}),
        ),
        rec(
            "meeting",
            "kenshin",
            "meeting",
            json!({"topic": "夕会", "starttime": 1603877400, "endtime": 1603881000, "address": "三楼会议室", "remarks": "带上周报", "meetingtype": 102, "meetingid": 1210342560u64, "status": 1}),
        ),
        rec(
            "meeting_notification",
            "kenshin",
            "info",
            json!({"meeting_id": 1210342560u64, "notification_type": 1, "content": "会议控制示例"}),
        ),
        rec(
            "docmsg",
            "kenshin",
            "doc",
            json!({"title": "测试&演示客户", "doc_creator": "test", "link_url": "https://doc.weixin.qq.com/txdoc/excel?docid=xxx"}),
        ),
        rec(
            "markdown",
            robot,
            "info",
            json!({"content": "**请前往系统查看**\n<a href=\"javascript:alert(1)\">点我</a>\n第三行"}),
        ),
        rec(
            "news",
            robot,
            "info",
            json!({"item": [{"title": "service 图文标题", "description": "图文描述", "url": "http://xxx.example/news", "picurl": "https://www.qq.com/xxx.jpg"}]}),
        ),
        rec(
            "calendar",
            "kenshin",
            "calendar",
            json!({"title": "xxx业绩复盘会", "creatorname": "test", "attendeename": ["aaa", "bbb"], "starttime": 1603882800, "endtime": 1603886400, "place": "深圳", "remarks": "日程备注"}),
        ),
        rec(
            "mixed",
            "kenshin",
            "mixed",
            json!({"item": [
            {"type": "text", "content": "{\"content\":\"混合消息的文字[微笑]\\n\"}"},
            {"type": "image", "content": "{\"md5sum\":\"368b6c18c82e6441bfd89b343e9d2429\",\"filesize\":13177,\"sdkfileid\":\"mixed-image-id\"}"}]}),
        ),
        rec(
            "meeting_voice_call",
            ext,
            "meeting_voice_call",
            json!({"endtime": 1594197635, "sdkfileid": "call-file-id",
            "demofiledata": [{"filename": "65eb1cdd3e7a3c1740ecd74220b6c627.docx", "demooperator": "wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA", "starttime": 1594197599, "endtime": 1594197609}],
            "sharescreendata": [{"share": "wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA", "starttime": 1594197624, "endtime": 1594197624}]}),
        ),
        rec(
            "voip_doc_share",
            "kenshin",
            "voip_doc_share",
            json!({"filename": "欢迎使用微盘.pdf.pdf", "md5sum": "ff893900f24e55e216e617a40e5c4648", "filesize": 4400654u64, "sdkfileid": "voip-doc-id"}),
        ),
        rec(
            "sphfeed",
            "kenshin",
            "sphfeed",
            json!({"feed_type": 4, "sph_name": "云游天地旅行家", "feed_desc": "瑞士丨盖尔默缆车，名副其实的过山车~\n\n#旅行#风景#热门"}),
        ),
        rec(
            "voiptext",
            "kenshin",
            "info",
            json!({"callduration": 69, "invitetype": 2}),
        ),
        rec("qydiskfile", ext, "info", json!({"filename": ".sys.log"})),
        rec(
            "agree",
            ext,
            "agree",
            json!({"userid": ext, "agree_time": T}),
        ),
        rec(
            "disagree",
            ext,
            "disagree",
            json!({"userid": ext, "disagree_time": T}),
        ),
        rec(
            "future_type",
            "kenshin",
            "future_type",
            json!({"answer": 42, "note": "<b>新类型</b>"}),
        ),
    ]
}

fn records_with_extras() -> Vec<(String, String)> {
    let mut records: Vec<(String, String)> = reference_records()
        .into_iter()
        .map(|(id, v)| (id, v.to_string()))
        .collect();
    let ext = "wmGAgeDQAAvQeaTqWwkMTxGMkvI7OOuQ";
    // A message that is later recalled, the recall, a switch record, a quoted reply, an
    // external-flagged msgid.
    records.push((
        "to-recall".into(),
        json!({"msgid": "to-recall", "action": "send", "from": "kenshin", "tolist": [ext], "roomid": "",
            "msgtime": T + 100 * 60_000, "msgtype": "text", "text": {"content": "发错了"}})
        .to_string(),
    ));
    records.push((
        "the-recall".into(),
        json!({"msgid": "the-recall", "action": "recall", "from": "kenshin", "tolist": [ext], "roomid": "",
            "msgtime": T + 101 * 60_000, "msgtype": "revoke", "revoke": {"pre_msgid": "to-recall"}})
        .to_string(),
    ));
    records.push((
        "switch-1".into(),
        json!({"msgid": "switch-1", "action": "switch", "time": T + 102 * 60_000, "user": "kenshin"})
            .to_string(),
    ));
    records.push((
        "reply-1".into(),
        json!({"msgid": "reply-1", "action": "send", "from": ext, "tolist": ["kenshin"], "roomid": "",
            "msgtime": T + 103 * 60_000, "msgtype": "text",
            "text": {"content": "这是一条引用/回复消息：\n\"kenshin：\n发错了\"\n------\n没关系 <u>真的</u>"}})
        .to_string(),
    ));
    records.push((
        "forward-unknown".into(),
        json!({"msgid": "forward-unknown", "action": "send", "from": "kenshin", "tolist": [ext], "roomid": "",
            "msgtime": T + 105 * 60_000, "msgtype": "chatrecord",
            "chatrecord": {"title": "转发", "item": [
                {"type": "ChatRecordHologram", "msgtime": 1603875610, "content": "{\"beam\":\"<b>1</b>\"}", "from_chatroom": false}]}})
        .to_string(),
    ));
    records.push((
        "x1_external".into(),
        json!({"msgid": "x1_external", "action": "send", "from": ext, "tolist": ["kenshin"], "roomid": "",
            "msgtime": T + 104 * 60_000, "msgtype": "text", "text": {"content": "外部消息"}})
        .to_string(),
    ));
    records
}

fn ctx(key: &str) -> RenderContext {
    RenderContext {
        raw_button: false,
        ..RenderContext::new(Lang::Zh, key)
    }
}

/// The text of the article of `msgid`.
fn rendered(archive: &Archive, msgid: &str) -> String {
    let d = archive.detail(msgid);
    render(&d, &ctx(&d.view.conversation))
}

/// Every tag of `html` (text is escaped, so each `<` opens a real tag) is one the renderer
/// writes: no script, no event handler, no `javascript:` address, no element from a message.
fn assert_inert(html: &str) {
    const OURS: &[&str] = &[
        "article",
        "header",
        "span",
        "time",
        "div",
        "p",
        "a",
        "img",
        "audio",
        "video",
        "details",
        "summary",
        "ol",
        "ul",
        "li",
        "strong",
        "blockquote",
        "pre",
        "button",
        "code",
    ];
    for tag in html
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(""))
    {
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("");
        assert!(OURS.contains(&name), "unexpected tag <{tag}> in\n{html}");
        let lower = tag.to_ascii_lowercase();
        assert!(!lower.contains(" on"), "an event handler in <{tag}>");
        assert!(
            !lower.contains("javascript:"),
            "a script address in <{tag}>"
        );
    }
}

fn assert_has(html: &str, parts: &[&str]) {
    for p in parts {
        assert!(html.contains(p), "missing {p:?} in\n{html}");
    }
}

#[test]
fn every_message_type_renders_its_fields_escaped() {
    let archive = Archive::of(CORP, &records_with_extras());
    let done = archive.complete_media("image/jpeg");
    let sha_of = |msgid: &str, path: &str| {
        done.iter()
            .find(|(m, p, _)| m == msgid && p == path)
            .map(|(_, _, s)| s.clone())
            .unwrap_or_else(|| panic!("no media {msgid} {path}"))
    };
    let mut seen_types = std::collections::BTreeSet::new();
    for (msgid, record) in reference_records() {
        let html = rendered(&archive, &msgid);
        let msgtype = record["msgtype"].as_str().unwrap_or("").to_owned();
        seen_types.insert(msgtype.clone());
        assert!(html.starts_with("<article class=\"msg "), "{html}");
        assert_has(
            &html,
            &[
                &format!("id=\"m-{msgid}\""),
                &format!("data-type=\"{msgtype}\""),
            ],
        );
        if msgtype != "future_type" {
            assert!(
                !html.contains("raw-json"),
                "{msgtype} must not show raw JSON:\n{html}"
            );
        }
        // No markup from a message ever survives: every tag is the renderer's own.
        assert_inert(&html);
        match msgtype.as_str() {
            "text" if msgid == "text-1" => assert_has(
                &html,
                &[
                    "class=\"msg right",
                    "<a href=\"https://example.com/a?b=1&amp;c=2\"",
                    "合同见",
                ],
            ),
            "text" => assert_has(
                &html,
                &[
                    "class=\"msg left",
                    "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;",
                    "badge external",
                ],
            ),
            "image" => {
                let sha = sha_of(&msgid, "image");
                assert_has(
                    &html,
                    &[
                        &format!("<img class=\"msg-image\" src=\"/api/v1/media/{sha}\""),
                        "loading=\"lazy\"",
                        &format!("<a class=\"image-link\" href=\"/api/v1/media/{sha}\""),
                    ],
                );
            }
            "voice" => {
                let sha = sha_of(&msgid, "voice");
                assert_has(
                    &html,
                    &[
                        &format!(
                            "<audio class=\"msg-voice\" controls=\"\" preload=\"metadata\" src=\"/api/v1/media/{sha}/playable\""
                        ),
                        &format!("class=\"msg-download\" href=\"/api/v1/media/{sha}\""),
                        "10″",
                    ],
                );
            }
            "video" => assert_has(
                &html,
                &[
                    "<video class=\"msg-video\" controls=\"\" preload=\"metadata\"",
                    "1:48",
                    "14.5 MB",
                ],
            ),
            "card" => assert_has(&html, &["微信联系人", "wmGAgeDQAAGjFmfnP7A3j2JxQDdLNhSw"]),
            "location" => assert_has(
                &html,
                &[
                    "xxx管理中心",
                    "北京市xxx区xxx路xxx大厦x座",
                    "39.911126, 116.586286",
                ],
            ),
            "emotion" => assert_has(&html, &["<img class=\"msg-emotion\"", "loading=\"lazy\""]),
            "file" => assert_has(
                &html,
                &[
                    "<a class=\"msg-file\"",
                    "download=\"资料&lt;b&gt;.docx\"",
                    "资料&lt;b&gt;.docx",
                    "17.8 KB",
                ],
            ),
            "link" => assert_has(
                &html,
                &[
                    "邀请你加入群聊",
                    "技术支持群，进入可查看详情",
                    "href=\"https://work.weixin.qq.com/wework_admin/external_room/join/exceed?vcode=xxx\"",
                ],
            ),
            "weapp" => assert_has(
                &html,
                &[
                    "开始聊天前请仔细阅读服务须知事项",
                    "客户需同意存档聊天记录",
                    "服务须知",
                    "xxx@app",
                ],
            ),
            "chatrecord" => {
                let sha = sha_of(&msgid, "chatrecord.item[1]");
                assert_has(
                    &html,
                    &[
                        "<details class=\"msg-chatrecord\">",
                        "群聊的聊天记录",
                        "转发的第一句",
                        "&lt;i&gt;转发的第三句&lt;/i&gt;",
                        &format!("src=\"/api/v1/media/{sha}\""),
                        "2020-10-28",
                    ],
                );
            }
            "todo" => assert_has(&html, &["来源文本", "具体内容：周五前交付"]),
            "vote" if msgid.starts_with("vote-14") => {
                assert_has(&html, &["投票主题：团建地点", "西湖", "千岛湖", "发起投票"]);
            }
            "vote" => assert_has(&html, &["顶层投票主题", "参与投票"]),
            "collect" => assert_has(
                &html,
                &[
                    "这是填表title",
                    "这是一个群",
                    "nick",
                    "2019-12-11 11:21:22",
                    "表项1，文本",
                    "表项2，数字",
                ],
            ),
            "redpacket" => assert_has(&html, &["恭喜发财，大吉大利", "¥30.00", "普通红包"]),
            "external_redpacket" => assert_has(
                &html,
                &["互通红包", "互通红包的祝福", "¥0.20", "拼手气红包"],
            ),
            "meeting" => assert_has(
                &html,
                &[
                    "夕会",
                    "三楼会议室",
                    "带上周报",
                    "参加会议",
                    "1210342560",
                    "2020-10-28 17:30:00 – 18:30",
                ],
            ),
            "meeting_notification" => assert_has(&html, &["会议控制示例", "1210342560"]),
            "docmsg" => assert_has(
                &html,
                &[
                    "测试&amp;演示客户",
                    "href=\"https://doc.weixin.qq.com/txdoc/excel?docid=xxx\"",
                ],
            ),
            "markdown" => assert_has(
                &html,
                &[
                    "**请前往系统查看**\n&lt;a href=&quot;javascript:alert(1)&quot;&gt;点我&lt;/a&gt;\n第三行",
                    "msg-markdown",
                    "badge robot",
                ],
            ),
            "news" => assert_has(
                &html,
                &[
                    "service 图文标题",
                    "图文描述",
                    "href=\"http://xxx.example/news\"",
                ],
            ),
            "calendar" => assert_has(
                &html,
                &["xxx业绩复盘会", "aaa、bbb", "深圳", "日程备注", "test"],
            ),
            "mixed" => {
                let sha = sha_of(&msgid, "mixed.item[1]");
                assert_has(
                    &html,
                    &[
                        "msg-mixed",
                        "混合消息的文字[微笑]",
                        &format!("<img class=\"msg-image\" src=\"/api/v1/media/{sha}\""),
                    ],
                );
            }
            "meeting_voice_call" => assert_has(
                &html,
                &[
                    "音频存档",
                    "65eb1cdd3e7a3c1740ecd74220b6c627.docx",
                    "共享屏幕",
                    "class=\"msg-download\"",
                    "2020-07-08",
                ],
            ),
            "voip_doc_share" => assert_has(
                &html,
                &["<a class=\"msg-file\"", "欢迎使用微盘.pdf.pdf", "4.2 MB"],
            ),
            "sphfeed" => assert_has(&html, &["云游天地旅行家", "瑞士丨盖尔默缆车", "视频"]),
            "voiptext" => assert_has(&html, &["单人语音通话", "1:09"]),
            "qydiskfile" => assert_has(&html, &[".sys.log", "微盘文件"]),
            "agree" => assert_has(
                &html,
                &[
                    "class=\"msg system",
                    "同意存档会话内容",
                    "2026-01-01 08:00:00",
                ],
            ),
            "disagree" => assert_has(&html, &["class=\"msg system", "拒绝存档会话内容"]),
            "future_type" => assert_has(
                &html,
                &[
                    "<pre class=\"raw-json\">",
                    "&quot;answer&quot;: 42",
                    "&lt;b&gt;新类型&lt;/b&gt;",
                ],
            ),
            other => panic!("no assertion for {other}"),
        }
    }
    // Every type of the reference and of the model has a record above.
    for t in wecom_model::MSGTYPES {
        if *t != "revoke" {
            assert!(seen_types.contains(*t), "no rendering test for {t}");
        }
    }
}

#[test]
fn records_that_are_not_chat_render_as_centred_lines() {
    let archive = Archive::of(CORP, &records_with_extras());
    let recalled = rendered(&archive, "to-recall");
    assert_has(
        &recalled,
        &[
            "class=\"msg right recalled\"",
            "已撤回",
            "2026-01-01 09:41:00",
        ],
    );
    let recall = rendered(&archive, "the-recall");
    assert_has(
        &recall,
        &[
            "class=\"msg system\"",
            "data-type=\"revoke\"",
            "撤回了",
            "href=\"#m-to-recall\"",
        ],
    );
    let switch = rendered(&archive, "switch-1");
    assert_has(
        &switch,
        &[
            "class=\"msg system\"",
            "data-type=\"switch\"",
            "切换了企业",
            "title=\"kenshin\"",
        ],
    );
    let external = rendered(&archive, "x1_external");
    assert_has(&external, &["badge external", "外部消息"]);
}

#[test]
fn an_unknown_item_inside_a_known_type_is_not_raw_json() {
    let archive = Archive::of(CORP, &records_with_extras());
    let html = rendered(&archive, "forward-unknown");
    assert!(!html.contains("raw-json"), "{html}");
    assert_has(
        &html,
        &[
            "<pre class=\"unread-json\">",
            "&quot;beam&quot;",
            "&lt;b&gt;1&lt;/b&gt;",
        ],
    );
    assert_inert(&html);
}

/// No inline script, no inline style, no event handler attribute anywhere (the page's CSP).
fn assert_csp_clean(html: &str) {
    for tag in html
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(""))
    {
        let lower = tag.to_ascii_lowercase();
        if lower.starts_with("script") {
            assert!(lower.contains(" src="), "an inline script: <{tag}>");
        }
        // Attribute names: what precedes each `=` outside quotes.
        let mut quote: Option<char> = None;
        let mut name = String::new();
        for c in lower.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '=') => {
                    assert!(
                        !name.starts_with("on") && name != "style",
                        "attribute {name} in <{tag}>"
                    );
                    name.clear();
                }
                (None, c) if c.is_whitespace() => name.clear(),
                (None, c) => name.push(c),
            }
        }
    }
}

#[test]
fn a_quoted_reply_links_to_the_quoted_message() {
    let archive = Archive::of(CORP, &records_with_extras());
    let d = archive.detail("reply-1");
    assert_eq!(d.view.quote_of.as_deref(), Some("to-recall"));
    let html = render(&d, &ctx(&d.view.conversation));
    assert_has(
        &html,
        &[
            "<blockquote class=\"msg-quote\">",
            &format!(
                "href=\"/conversations/{}?around=to-recall#m-to-recall\"",
                enc(&d.view.conversation)
            ),
            "发错了",
            "没关系 &lt;u&gt;真的&lt;/u&gt;",
        ],
    );
}

#[test]
fn media_not_downloaded_show_their_state() {
    let archive = Archive::of(CORP, &records_with_extras());
    for msgid in ["image-3", "voice-4", "video-5", "file-9"] {
        let html = rendered(&archive, msgid);
        assert_has(
            &html,
            &["class=\"media-state\" data-state=\"pending\"", "等待下载"],
        );
        assert!(!html.contains("<img class=\"msg-image\""), "{html}");
        assert!(!html.contains("<audio"), "{html}");
        assert!(!html.contains("<video"), "{html}");
        assert!(!html.contains("<a class=\"msg-file\""), "{html}");
    }
}

#[test]
fn sides_follow_the_documented_rule() {
    let archive = Archive::of(CORP, &records_with_extras());
    let d = archive.detail("text-1");
    // The internal employee faces an external contact: right.
    assert_eq!(
        SideRule::new(&d.view.conversation, None).right(),
        Some("kenshin")
    );
    // The list's person filter wins.
    let rule = SideRule::new(
        &d.view.conversation,
        Some("wmGAgeDQAAvQeaTqWwkMTxGMkvI7OOuQ"),
    );
    assert_eq!(rule.side(&d), wecom_web::message::Side::Left);
    // Rooms without a person: everyone left.
    assert_eq!(SideRule::new("room:wr1", None).right(), None);
}

#[test]
fn every_emulator_record_renders_without_raw_json_for_known_types() {
    let spec = wecom_emulator::CorpusSpec::new(11, 3000);
    let corpus = wecom_emulator::generate(&spec);
    let records: Vec<(String, String)> = corpus
        .records
        .iter()
        .map(|r| (r.msgid.clone(), r.plaintext.clone()))
        .collect();
    let archive = Archive::of(&spec.corp_id, &records);
    let mut types = std::collections::BTreeSet::new();
    for r in &corpus.records {
        let d = archive.detail(&r.msgid);
        let html = render(&d, &ctx(&d.view.conversation));
        let t = wecom_web::message::data_type(&d).to_owned();
        let known = t == "switch" || wecom_model::MSGTYPES.contains(&t.as_str());
        assert_eq!(
            html.contains("raw-json"),
            !known,
            "{t} ({}):\n{html}",
            r.msgid
        );
        assert_inert(&html);
        types.insert(t);
    }
    assert!(types.len() >= 25, "the corpus covers most types: {types:?}");
}

/// An emulator corpus served with users: `root` (admin), `audra` (auditor) and `rita`, a
/// reviewer of one employee. The biggest conversation's key and its msgids in order.
async fn served_corpus() -> (Served, String, Vec<String>) {
    let spec = wecom_emulator::CorpusSpec::new(5, 3000);
    let corpus = wecom_emulator::generate(&spec);
    let records: Vec<(String, String)> = corpus
        .records
        .iter()
        .map(|r| (r.msgid.clone(), r.plaintext.clone()))
        .collect();
    let archive = Archive::of(&spec.corp_id, &records);
    let mut by_key: std::collections::BTreeMap<String, Vec<(i64, u64, String)>> =
        std::collections::BTreeMap::new();
    for r in &corpus.records {
        let m = archive
            .roles
            .reader
            .message(&spec.corp_id, &r.msgid)
            .expect("read")
            .expect("stored");
        by_key
            .entry(m.conversation.clone())
            .or_default()
            .push((m.msgtime, m.seq, m.msgid.clone()));
    }
    let (key, mut list) = by_key
        .into_iter()
        .max_by_key(|(_, l)| l.len())
        .expect("a conversation");
    assert!(
        list.len() > 120,
        "the biggest chat spans pages: {}",
        list.len()
    );
    list.sort();
    archive.add_user("root", Role::Admin, Scope::default());
    archive.add_user("audra", Role::Auditor, Scope::default());
    // A reviewer of an employee who is not in the biggest conversation.
    let outsider = corpus
        .directory
        .archive_scope()
        .iter()
        .map(|e| e.userid.clone())
        .find(|u| {
            !archive
                .roles
                .reader
                .conversation_involves(&spec.corp_id, &key, std::slice::from_ref(u))
                .expect("involves")
        })
        .expect("an employee outside the conversation");
    archive.add_user(
        "rita",
        Role::Reviewer,
        Scope {
            userids: vec![outsider],
            departments: vec![],
        },
    );
    let served = serve(archive).await;
    (served, key, list.into_iter().map(|(_, _, id)| id).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcript_pages_page_both_ways_and_jump() {
    let (s, key, all) = served_corpus().await;
    let root = s.sign_in("root").await;
    let path = format!("/conversations/{}", enc(&key));

    // The newest page.
    let page = s.get(&path, &root, false).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("data-page=\"transcript\""),
        "{}",
        page.body
    );
    assert!(
        page.headers
            .get("vary")
            .is_some_and(|v| v.to_str().unwrap_or("").contains("HX-Request"))
    );
    let newest = msgids(&page.body);
    assert_eq!(newest, all[all.len() - newest.len()..].to_vec());
    assert!(page.body.contains("已是最新消息"));
    assert_csp_clean(&page.body);
    assert!(
        page.body.contains("raw-button"),
        "an admin gets the raw JSON buttons"
    );

    // Older pages, through the sentinels, to the start.
    let mut collected = newest.clone();
    let mut body = page.body.clone();
    let mut hops = 0;
    while let Some(next) = attr_after(&body, "class=\"sentinel older\"", "hx-get") {
        assert!(next.contains("before="), "{next}");
        assert_eq!(
            attr_after(&body, "class=\"sentinel older\"", "hx-trigger").as_deref(),
            Some("revealed")
        );
        let frag = s.get(&next, &root, true).await;
        assert_eq!(frag.status, 200);
        assert!(!frag.body.contains("<html"), "a fragment, not a page");
        assert_csp_clean(&frag.body);
        let ids = msgids(&frag.body);
        assert!(!ids.is_empty());
        let mut merged = ids;
        merged.extend(collected);
        collected = merged;
        body = frag.body;
        hops += 1;
        assert!(hops < 100, "paging ends");
    }
    assert!(body.contains("会话开始"), "the first page says so");
    assert_eq!(collected, all, "older pages chain without gaps or repeats");
    // Without HX-Request the same address is a whole page.
    let older = attr_after(&page.body, "class=\"sentinel older\"", "hx-get").expect("older");
    let whole = s.get(&older, &root, false).await;
    assert!(whole.body.contains("data-page=\"transcript\""));

    // Newer pages from the first day, through the sentinels, to the end.
    let first_day = {
        let html = s
            .get(&format!("{path}?around={}", enc(&all[0])), &root, false)
            .await
            .body;
        attr_after(&html, &format!("id=\"m-{}\"", all[0]), "data-time")
            .and_then(|t| t.parse::<i64>().ok())
            .map(|ms| wecom_web::message::html::ChinaTime::of_ms(ms).date())
            .expect("first message time")
    };
    let jumped = s
        .get(&format!("{path}?date={first_day}"), &root, false)
        .await;
    assert_eq!(jumped.status, 200);
    let mut collected = msgids(&jumped.body);
    assert_eq!(
        collected[0], all[0],
        "a date jump opens at that day's first message"
    );
    assert!(jumped.body.contains("会话开始"));
    let mut body = jumped.body;
    let mut hops = 0;
    while let Some(next) = attr_after(&body, "class=\"sentinel newer\"", "hx-get") {
        let frag = s.get(&next, &root, true).await;
        assert_eq!(frag.status, 200);
        collected.extend(msgids(&frag.body));
        body = frag.body;
        hops += 1;
        assert!(hops < 100, "paging ends");
    }
    assert!(body.contains("已是最新消息"));
    assert_eq!(collected, all, "newer pages chain without gaps or repeats");

    // A date in the middle opens at that day's first message, with older messages above.
    let mid = &all[all.len() / 2];
    let around = s
        .get(&format!("{path}?around={}", enc(mid)), &root, false)
        .await
        .body;
    let mid_ms: i64 = attr_after(&around, &format!("id=\"m-{mid}\""), "data-time")
        .and_then(|t| t.parse().ok())
        .expect("time");
    let day = wecom_web::message::html::ChinaTime::of_ms(mid_ms).date();
    let start = wecom_web::message::china_day_start_ms(&day).expect("day");
    let on_day = s
        .get(&format!("{path}?date={day}"), &root, false)
        .await
        .body;
    let first = msgids(&on_day)[0].clone();
    let first_ms: i64 = attr_after(&on_day, &format!("id=\"m-{first}\""), "data-time")
        .and_then(|t| t.parse().ok())
        .expect("time");
    assert!(
        first_ms >= start && first_ms <= mid_ms,
        "{first_ms} {start} {mid_ms}"
    );
    let index = all.iter().position(|m| *m == first).expect("known");
    if index > 0 {
        let before: i64 = {
            let html = s
                .get(
                    &format!("{path}?around={}", enc(&all[index - 1])),
                    &root,
                    false,
                )
                .await
                .body;
            attr_after(&html, &format!("id=\"m-{}\"", all[index - 1]), "data-time")
                .and_then(|t| t.parse().ok())
                .expect("time")
        };
        assert!(before < start, "the message before is on an earlier day");
        assert!(on_day.contains("class=\"sentinel older\""));
    }
    // A bad date is a 400 page, not a crash.
    let bad = s
        .get(&format!("{path}?date=2026-02-31"), &root, false)
        .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn around_highlights_the_message() {
    let (s, key, all) = served_corpus().await;
    let audra = s.sign_in("audra").await;
    let target = &all[all.len() / 3];
    let page = s
        .get(
            &format!("/conversations/{}?around={}", enc(&key), enc(target)),
            &audra,
            false,
        )
        .await;
    assert_eq!(page.status, 200);
    let class = attr_after(&page.body, &format!("id=\"m-{target}\""), "class");
    // The class attribute precedes the id: read it from the article's start.
    let at = page
        .body
        .find(&format!("id=\"m-{target}\""))
        .expect("the message is shown");
    let article_start = page.body[..at].rfind("<article").expect("its article");
    let tag = &page.body[article_start..at];
    assert!(tag.contains("highlight"), "{tag} {class:?}");
    assert_eq!(page.body.matches(" highlight").count(), 1);
    let ids = msgids(&page.body);
    assert!(ids.len() > 2 && ids.first() != Some(target) && ids.last() != Some(target));
    assert!(page.body.contains("src=\"/assets/transcript.js\""));
    // The raw JSON panel is there for an auditor, and its fragment is audited.
    assert!(page.body.contains("id=\"raw-panel\""));
    let raw = s
        .get(&format!("/messages/{}/raw", enc(target)), &audra, true)
        .await;
    assert_eq!(raw.status, 200);
    assert!(
        raw.body.contains("<pre class=\"raw-source\">"),
        "{}",
        raw.body
    );
    assert!(raw.body.contains("&quot;msgid&quot;"), "{}", raw.body);
    assert!(
        s.archive
            .audit()
            .iter()
            .any(|r| r.entry.action == "message.raw"
                && r.entry.target == *target
                && r.entry.outcome.as_str() == "ok")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_outside_scope_gets_the_404_page_and_is_audited() {
    let (s, key, all) = served_corpus().await;
    let rita = s.sign_in("rita").await;
    let page = s
        .get(&format!("/conversations/{}", enc(&key)), &rita, false)
        .await;
    assert_eq!(page.status, 404);
    assert!(
        page.body.contains("data-page=\"not-found\""),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains(&all[0]),
        "nothing of the conversation shows"
    );
    let denied: Vec<_> = s
        .archive
        .audit()
        .into_iter()
        .filter(|r| r.entry.action == "conversation.open" && r.entry.outcome.as_str() == "denied")
        .collect();
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].entry.username, "rita");
    assert_eq!(denied[0].entry.target, key);
    // Fragments are no way around it, and neither is the raw panel.
    let frag = s
        .get(
            &format!("/conversations/{}?after=0:0", enc(&key)),
            &rita,
            true,
        )
        .await;
    assert_eq!(frag.status, 404);
    let raw = s
        .get(&format!("/messages/{}/raw", enc(&all[0])), &rita, true)
        .await;
    assert_eq!(raw.status, 403);
    assert!(!raw.body.contains("msgid"));
    // A conversation that does not exist looks the same.
    let none = s
        .get("/conversations/pair%3Anobody%7Cnoone", &rita, false)
        .await;
    assert_eq!(none.status, 404);
    assert!(none.body.contains("data-page=\"not-found\""));
}
