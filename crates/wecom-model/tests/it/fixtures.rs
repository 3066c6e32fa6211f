//! The reference's official examples (§3.2–§3.4) and the disputed shapes, one fixture per file
//! under `tests/fixtures/`, each read into a snapshot of everything the model says about it.
//! `UPDATE_EXPECT=1 cargo test -p wecom-model` rewrites the snapshots after a deliberate change.

use expect_test::{Expect, expect};
use serde_json::Value;

use crate::{fixture, read, render};

/// Every fixture file, so the round-trip test cannot miss one.
pub const FIXTURES: &[&str] = &[
    "agree",
    "calendar",
    "card",
    "chatrecord",
    "chatrecord_nested_ms",
    "collect",
    "collect_big_id",
    "disagree",
    "docmsg",
    "emotion",
    "external_redpacket",
    "file",
    "image",
    "image_size_string",
    "link",
    "location",
    "markdown",
    "meeting",
    "meeting_big_id",
    "meeting_notification",
    "meeting_voice_call",
    "mixed",
    "news",
    "news_flat",
    "qydiskfile",
    "recall",
    "redpacket",
    "sphfeed",
    "switch",
    "text",
    "text_quote_degenerate",
    "todo",
    "unknown_type",
    "video",
    "voice",
    "voip_doc_share",
    "voiptext",
    "voiptext_key",
    "vote_nested",
    "vote_top_level",
    "weapp",
];

fn check(name: &str, expect: Expect) {
    let m = read(&fixture(name));
    expect.assert_eq(&crate::shorten(&render(&m)));
}

#[test]
fn every_fixture_round_trips_and_every_file_is_listed() {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".json").map(str::to_owned))
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, FIXTURES);
    for name in FIXTURES {
        let text = fixture(name);
        let original: Value = serde_json::from_str(&text).expect("fixture is JSON");
        let m = read(&text);
        assert_eq!(m.to_value(), original, "{name}");
        assert_eq!(
            serde_json::to_value(&m).expect("serialise"),
            original,
            "{name}"
        );
    }
}

#[test]
fn agree() {
    check(
        "agree",
        expect![[r#"
        payload: Agree(
            Agree {
                userid: "wmGAgeDQAAvQeaTqWwkMTxGMkvI7OOuQ",
                agree_time: 1603875826656,
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: pair:kenshin|wmGAgeDQAAvQeaTqWwkMTxGMkvI7OOuQ
        text: ""
    "#]],
    );
}

#[test]
fn calendar() {
    check(
        "calendar",
        expect![[r#"
        payload: Calendar(
            Calendar {
                title: "xxx业绩复盘会",
                creatorname: "test",
                attendeename: [
                    "aaa",
                    "bbb",
                ],
                starttime: 1603882800,
                endtime: 1603886400,
                place: "",
                remarks: "",
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: room:wr2LO0CAAAFrTZCGWWAxBA
        text: "xxx业绩复盘会\ntest\naaa\nbbb"
    "#]],
    );
}

#[test]
fn card() {
    check(
        "card",
        expect![[r#"
        payload: Card(
            Card {
                corpname: "微信联系人",
                userid: "wmGAgeDQAAGjFmfnP7A3j2JxQDdLNhSw",
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: pair:kenshin|wmGAgeDQAAy2Dtr0F8aK4dTuatfm-5Rg
        text: "微信联系人"
    "#]],
    );
}

#[test]
fn chatrecord() {
    check(
        "chatrecord",
        expect![[r#"
        payload: ChatRecord(
            ChatRecord {
                title: "群聊",
                items: [
                    ChatRecordItem {
                        item_type: "ChatRecordText",
                        msgtype: "text",
                        msgtime: 1603875610,
                        msgtime_ms: 1603875610000,
                        from_chatroom: false,
                        content: Text(
                            Text {
                                content: "test",
                                extra: {},
                            },
                        ),
                        extra: {},
                    },
                    ChatRecordItem {
                        item_type: "ChatRecordText",
                        msgtype: "text",
                        msgtime: 1603875620,
                        msgtime_ms: 1603875620000,
                        from_chatroom: false,
                        content: Text(
                            Text {
                                content: "test2",
                                extra: {},
                            },
                        ),
                        extra: {},
                    },
                ],
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: pair:icef|ken
        text: "群聊\ntest\ntest2"
    "#]],
    );
}

#[test]
fn chatrecord_nested_ms() {
    check(
        "chatrecord_nested_ms",
        expect![[r#"
        payload: ChatRecord(
            ChatRecord {
                title: "群聊",
                items: [
                    ChatRecordItem {
                        item_type: "ChatRecordText",
                        msgtype: "text",
                        msgtime: 1603875610123,
                        msgtime_ms: 1603875610123,
                        from_chatroom: true,
                        content: Text(
                            Text {
                                content: "毫秒时间",
                                extra: {},
                            },
                        ),
                        extra: {},
                    },
                    ChatRecordItem {
                        item_type: "ChatRecordImage",
                        msgtype: "image",
                        msgtime: 1603875620000,
                        msgtime_ms: 1603875620000,
                        from_chatroom: true,
                        content: Image(
                            Image {
                                sdkfileid: "IMAGEINNER",
                                md5sum: "50de8e5ae8ffe4f1df7a93841f71993a",
                                filesize: Some(
                                    70961,
                                ),
                                extra: {},
                            },
                        ),
                        extra: {},
                    },
                    ChatRecordItem {
                        item_type: "ChatRecordFile",
                        msgtype: "file",
                        msgtime: 1603875630000,
                        msgtime_ms: 1603875630000,
                        from_chatroom: true,
                        content: File(
                            File {
                                md5sum: "",
                                filename: "合同.pdf",
                                fileext: "pdf",
                                filesize: Some(
                                    18181,
                                ),
                                sdkfileid: "FILEINNER",
                                extra: {},
                            },
                        ),
                        extra: {},
                    },
                    ChatRecordItem {
                        item_type: "ChatRecordMixed",
                        msgtype: "mixed",
                        msgtime: 1603875640000,
                        msgtime_ms: 1603875640000,
                        from_chatroom: true,
                        content: Mixed(
                            Mixed {
                                items: [
                                    MixedItem {
                                        msgtype: "text",
                                        content: Text(
                                            Text {
                                                content: "内层文字",
                                                extra: {},
                                            },
                                        ),
                                        extra: {},
                                    },
                                    MixedItem {
                                        msgtype: "emotion",
                                        content: Emotion(
                                            Emotion {
                                                kind: 2,
                                                width: 120,
                                                height: 120,
                                                imagesize: Some(
                                                    2048,
                                                ),
                                                md5sum: "",
                                                sdkfileid: "EMOTIONINNER",
                                                title: "",
                                                extra: {},
                                            },
                                        ),
                                        extra: {},
                                    },
                                ],
                                extra: {},
                            },
                        ),
                        extra: {},
                    },
                ],
                extra: {},
            },
        )
        media: chatrecord.item[1] Image .jpg size=Some(70961) md5="50de8e5ae8ffe4f1df7a93841f71993a" id=IMAGEINNER
        media: chatrecord.item[2] File .pdf size=Some(18181) md5="" id=FILEINNER
        media: chatrecord.item[3].item[1] Emotion .png size=Some(2048) md5="" id=EMOTIONINNER
        flags: external=false updown_stream=false
        conversation: room:wr2vOpDgAAN4zVWKbS
        text: "群聊\n毫秒时间\n合同.pdf\n内层文字"
    "#]],
    );
}

#[test]
fn collect() {
    check(
        "collect",
        expect![[r#"
        payload: Collect(
            Collect {
                room_name: "这是一个群",
                creator: "nick",
                create_time: "2019-12-11 11:21:22",
                title: "这是填表title",
                details: [
                    CollectDetail {
                        id: Some(
                            1,
                        ),
                        ques: "表项1，文本",
                        kind: "Text",
                        extra: {},
                    },
                    CollectDetail {
                        id: Some(
                            2,
                        ),
                        ques: "表项2，数字",
                        kind: "Number",
                        extra: {},
                    },
                    CollectDetail {
                        id: Some(
                            3,
                        ),
                        ques: "表项3，日期",
                        kind: "Date",
                        extra: {},
                    },
                    CollectDetail {
                        id: Some(
                            4,
                        ),
                        ques: "表项4，时间",
                        kind: "Time",
                        extra: {},
                    },
                ],
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: room:wrjc7bDwYAOAhf9quEwRRxyyoMm0QAAA
        text: "这是填表title\n这是一个群\nnick\n表项1，文本\n表项2，数字\n表项3，日期\n表项4，时间"
    "#]],
    );
}

#[test]
fn collect_big_id() {
    check(
        "collect_big_id",
        expect![[r#"
        payload: Collect(
            Collect {
                room_name: "这是一个群",
                creator: "nick",
                create_time: "2019-12-11 11:21:22",
                title: "这是填表title",
                details: [
                    CollectDetail {
                        id: Some(
                            11101571002822706744,
                        ),
                        ques: "表项1，文本",
                        kind: "Text",
                        extra: {},
                    },
                    CollectDetail {
                        id: Some(
                            18446744073709551615,
                        ),
                        ques: "表项2，数字",
                        kind: "Number",
                        extra: {},
                    },
                ],
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: room:wrjc7bDwYAOAhf9quEwRRxyyoMm0QAAA
        text: "这是填表title\n这是一个群\nnick\n表项1，文本\n表项2，数字"
    "#]],
    );
}

#[test]
fn disagree() {
    check(
        "disagree",
        expect![[r#"
        payload: Disagree(
            Disagree {
                userid: "wmErxtDgAA9AW32YyyuYRimKr7D1KWlw",
                disagree_time: 1603875944122,
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: pair:kenshin|wmErxtDgAA9AW32YyyuYRimKr7D1KWlw
        text: ""
    "#]],
    );
}

#[test]
fn docmsg() {
    check(
        "docmsg",
        expect![[r#"
        payload: DocMsg(
            DocMsg {
                title: "测试&演示客户",
                link_url: "https://doc.weixin.qq.com/txdoc/excel?docid=xxx",
                doc_creator: "test",
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: room:wrJawBCQAAStr3jxVxEH
        text: "测试&演示客户"
    "#]],
    );
}

#[test]
fn emotion() {
    check(
        "emotion",
        expect![[r#"
        payload: Emotion(
            Emotion {
                kind: 1,
                width: 290,
                height: 290,
                imagesize: Some(
                    962604,
                ),
                md5sum: "94c2b0bba52cc456cb8221b248096612",
                sdkfileid: "4eE1ESTVNalE1TnprMFh6RTJNRE00TnpVMk1UST0aIDc0NzI2NjY1NzE3NTc0Nzg2ZDZlNzg2YTY5NjY2MTYx",
                title: "",
                extra: {},
            },
        )
        media: emotion Emotion .gif size=Some(962604) md5="94c2b0bba52cc456cb8221b248096612" id=4eE1ESTVNalE…
        flags: external=false updown_stream=false
        conversation: pair:icef|wmErxtDgAAhteCglUZH2kUt3rq431qmg
        text: ""
    "#]],
    );
}

#[test]
fn external_redpacket() {
    check(
        "external_redpacket",
        expect![[r#"
        payload: ExternalRedPacket(
            RedPacket {
                kind: 1,
                wish: "恭喜发财，大吉大利",
                totalcnt: 2,
                totalamount: 20,
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: room:wrJ7ijBwAAG1vly_DzVI72Ghc-PtA5Dw
        text: "恭喜发财，大吉大利"
    "#]],
    );
}

#[test]
fn file() {
    check(
        "file",
        expect![[r#"
        payload: File(
            File {
                md5sum: "18e93fc2ea884df23b3d2d3b8667b9f0",
                filename: "资料.docx",
                fileext: "docx",
                filesize: Some(
                    18181,
                ),
                sdkfileid: "E4ODRkZjIzYjNkMmQzYjg2Nj…",
                extra: {},
            },
        )
        media: file File .docx size=Some(18181) md5="18e93fc2ea884df23b3d2d3b8667b9f0" id=E4ODRkZjIzYj…
        flags: external=false updown_stream=false
        conversation: pair:kens|wmErxtDgAArDlFIhf76O6w4GxU81al8w
        text: "资料.docx"
    "#]],
    );
}

#[test]
fn image() {
    check(
        "image",
        expect![[r#"
        payload: Image(
            Image {
                sdkfileid: "CtYBMzA2OTAyMDEwMjA0NjIz…",
                md5sum: "50de8e5ae8ffe4f1df7a93841f71993a",
                filesize: Some(
                    70961,
                ),
                extra: {},
            },
        )
        media: image Image .jpg size=Some(70961) md5="50de8e5ae8ffe4f1df7a93841f71993a" id=CtYBMzA2OTAy…
        flags: external=false updown_stream=false
        conversation: pair:XuJinSheng|icefog
        text: ""
    "#]],
    );
}

#[test]
fn image_size_string() {
    check(
        "image_size_string",
        expect![[r#"
        payload: Image(
            Image {
                sdkfileid: "SDKFILEID",
                md5sum: "50de8e5ae8ffe4f1df7a93841f71993a",
                filesize: Some(
                    32768,
                ),
                extra: {
                    "thumb": String("new-field"),
                },
            },
        )
        media: image Image .jpg size=Some(32768) md5="50de8e5ae8ffe4f1df7a93841f71993a" id=SDKFILEID
        flags: external=false updown_stream=false
        conversation: pair:XuJinSheng|icefog
        text: ""
    "#]],
    );
}

#[test]
fn link() {
    check(
        "link",
        expect![[r#"
        payload: Link(
            Link {
                title: "邀请你加入群聊",
                description: "技术支持群，进入可查看详情",
                link_url: "https://work.weixin.qq.com/wework_admin/external_room/join/exceed?vcode=xxx",
                image_url: "https://wework.qpic.cn/wwpic/xxx/0",
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: pair:0000726|kenshin
        text: "邀请你加入群聊\n技术支持群，进入可查看详情"
    "#]],
    );
}

#[test]
fn location() {
    check(
        "location",
        expect![[r#"
        payload: Location(
            Location {
                longitude: 116.586285899,
                latitude: 39.911125799,
                address: "北京市xxx区xxx路xxx大厦x座",
                title: "xxx管理中心",
                zoom: 15,
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: pair:icefog|wmN6etBgAA0sbJ3invMvRxPQDFoq9uWA
        text: "xxx管理中心\n北京市xxx区xxx路xxx大厦x座"
    "#]],
    );
}

#[test]
fn markdown() {
    check(
        "markdown",
        expect![[r#"
        payload: Markdown(
            Markdown {
                content: "请前往系统查看，谢谢。",
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: room:wr0SfLCgAAgCaCPeM33UNe
        text: "请前往系统查看，谢谢。"
    "#]],
    );
}

#[test]
fn meeting() {
    check(
        "meeting",
        expect![[r#"
        payload: Meeting(
            Meeting {
                topic: "夕会",
                starttime: 1603877400,
                endtime: 1603881000,
                address: "",
                remarks: "",
                meetingtype: 102,
                meetingid: Some(
                    1210342560,
                ),
                status: Some(
                    1,
                ),
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: room:wr2vOpDgAAN4zVWKbS
        text: "夕会"
    "#]],
    );
}

#[test]
fn meeting_big_id() {
    check(
        "meeting_big_id",
        expect![[r#"
        payload: Meeting(
            Meeting {
                topic: "夕会",
                starttime: 1603877400,
                endtime: 1603881000,
                address: "",
                remarks: "",
                meetingtype: 101,
                meetingid: Some(
                    11101571002822706744,
                ),
                status: None,
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: room:wr2vOpDgAAN4zVWKbS
        text: "夕会"
    "#]],
    );
}

#[test]
fn meeting_notification() {
    check(
        "meeting_notification",
        expect![[r#"
        payload: MeetingNotification(
            MeetingNotification {
                meeting_id: Some(
                    1210342560,
                ),
                notification_type: 1,
                content: "示例",
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: room:wrxxxxxxxxxxxxxxxx
        text: "示例"
    "#]],
    );
}

#[test]
fn meeting_voice_call() {
    check(
        "meeting_voice_call",
        expect![[r#"
        payload: MeetingVoiceCall(
            MeetingVoiceCall {
                voiceid: "grb8a4c48a3c094a70982c518d55e40557",
                endtime: 1594197635,
                sdkfileid: "CpsBKjAqd0xhb2JWRUJldGtw…",
                demofiledata: [
                    DemoFile {
                        filename: "65eb1cdd3e7a3c1740ecd74220b6c627.docx",
                        demooperator: "wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA",
                        starttime: 1594197599,
                        endtime: 1594197609,
                        extra: {},
                    },
                ],
                sharescreendata: [
                    ShareScreen {
                        share: "wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA",
                        starttime: 1594197624,
                        endtime: 1594197624,
                        extra: {},
                    },
                ],
                extra: {},
            },
        )
        media: meeting_voice_call MeetingVoiceCall . size=None md5="" id=CpsBKjAqd0xh…
        flags: external=false updown_stream=false
        conversation: pair:wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA|wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA
        text: "65eb1cdd3e7a3c1740ecd74220b6c627.docx"
    "#]],
    );
}

#[test]
fn mixed() {
    check(
        "mixed",
        expect![[r#"
        payload: Mixed(
            Mixed {
                items: [
                    MixedItem {
                        msgtype: "text",
                        content: Text(
                            Text {
                                content: "你好[微笑]\n",
                                extra: {},
                            },
                        ),
                        extra: {},
                    },
                    MixedItem {
                        msgtype: "image",
                        content: Image(
                            Image {
                                sdkfileid: "CtYBMzA2OTAyMDEwMjA0NjIz…",
                                md5sum: "368b6c18c82e6441bfd89b343e9d2429",
                                filesize: Some(
                                    13177,
                                ),
                                extra: {},
                            },
                        ),
                        extra: {},
                    },
                ],
                extra: {},
            },
        )
        media: mixed.item[1] Image .jpg size=Some(13177) md5="368b6c18c82e6441bfd89b343e9d2429" id=CtYBMzA2OTAy…
        flags: external=false updown_stream=false
        conversation: room:wr_tZ2BwAAUwHpYMwy9cIWqnlU3Hzqfg
        text: "你好[微笑]"
    "#]],
    );
}

#[test]
fn news() {
    check(
        "news",
        expect![[r#"
        payload: News(
            News {
                items: [
                    NewsItem {
                        title: "service ",
                        description: "test",
                        url: "http://xxx",
                        picurl: "https://www.qq.com/xxx.jpg",
                        extra: {},
                    },
                ],
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: room:wrErxtDgAA0jgXE5
        text: "service\ntest"
    "#]],
    );
}

#[test]
fn news_flat() {
    check(
        "news_flat",
        expect![[r#"
        payload: News(
            News {
                items: [
                    NewsItem {
                        title: "service ",
                        description: "test",
                        url: "http://xxx",
                        picurl: "https://www.qq.com/xxx.jpg",
                        extra: {},
                    },
                    NewsItem {
                        title: "第二条",
                        description: "说明",
                        url: "http://yyy",
                        picurl: "",
                        extra: {},
                    },
                ],
                extra: {
                    "description": String("flat"),
                    "title": String("obsolete"),
                    "url": String("http://old"),
                },
            },
        )
        flags: external=false updown_stream=false
        conversation: room:wrErxtDgAA0jgXE5
        text: "service\ntest\n第二条\n说明"
    "#]],
    );
}

#[test]
fn qydiskfile() {
    check(
        "qydiskfile",
        expect![[r#"
        payload: QyDiskFile(
            QyDiskFile {
                filename: ".sys.log",
                extra: {},
            },
        )
        flags: external=true updown_stream=false
        conversation: pair:WoBeiQi...|wmYKhyDwAAxda9Vrt7e6h0CgRhRVlGdQ
        text: ".sys.log"
    "#]],
    );
}

#[test]
fn recall() {
    check(
        "recall",
        expect![[r#"
        payload: Revoke(
            Revoke {
                pre_msgid: "14822339130656386894_1603875600",
                extra: {},
            },
        )
        recall_of: 14822339130656386894_1603875600
        flags: external=false updown_stream=false
        conversation: pair:kenshin|wmUu0zBgAALV7ZymkcMyxvbTe8YdWxxA
        text: ""
    "#]],
    );
}

#[test]
fn redpacket() {
    check(
        "redpacket",
        expect![[r#"
        payload: RedPacket(
            RedPacket {
                kind: 1,
                wish: "恭喜发财，大吉大利",
                totalcnt: 1,
                totalamount: 3000,
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: pair:1000000444696|kens
        text: "恭喜发财，大吉大利"
    "#]],
    );
}

#[test]
fn sphfeed() {
    check(
        "sphfeed",
        expect![[r#"
        payload: SphFeed(
            SphFeed {
                feed_type: 4,
                sph_name: "云游天地旅行家",
                feed_desc: "瑞士丨盖尔默缆车，名副其实的过山车~\n\n#旅行#风景#热门",
                extra: {},
            },
        )
        flags: external=true updown_stream=false
        conversation: pair:wmJSb5CgAA4aWXWndJspQGpJMDbsMwMA|yangzhu1
        text: "云游天地旅行家\n瑞士丨盖尔默缆车，名副其实的过山车~\n\n#旅行#风景#热门"
    "#]],
    );
}

#[test]
fn switch() {
    check(
        "switch",
        expect![[r#"
        payload: Switch(
            Switch {
                user: "XuJinSheng",
                time: 1554119421840,
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: switch:XuJinSheng
        text: ""
    "#]],
    );
}

#[test]
fn text() {
    check(
        "text",
        expect![[r#"
        payload: Text(
            Text {
                content: "test",
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: pair:XuJinSheng|icefog
        text: "test"
    "#]],
    );
}

#[test]
fn text_quote_degenerate() {
    check(
        "text_quote_degenerate",
        expect![[r#"
        payload: Text(
            Text {
                content: "这是一条引用/回复消息：\"\n------\n@nick777",
                extra: {},
            },
        )
        quote: Quote { quoted_user: "", quoted_text: "", reply: "@nick777", format: Archive }
        flags: external=false updown_stream=false
        conversation: pair:XuJinSheng|icefog
        text: "@nick777"
    "#]],
    );
}

#[test]
fn todo() {
    check(
        "todo",
        expect![[r#"
        payload: Todo(
            Todo {
                title: "来源文本",
                content: "具体内容",
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: pair:icef|ken
        text: "来源文本\n具体内容"
    "#]],
    );
}

#[test]
fn unknown_type() {
    check(
        "unknown_type",
        expect![[r#"
        payload: Unknown(
            Unknown {
                msgtype: "hongbao_v2",
                raw: Object {
                    "hongbao_v2": Object {
                        "amount": Number(12.5),
                        "attachment": Object {
                            "filename": String("红包封面.zip"),
                            "filesize": Number(10),
                            "md5sum": String(""),
                            "sdkfileid": String("NEWMEDIA"),
                        },
                        "nested": Object {
                            "deep": Array [
                                Number(1),
                                Number(2),
                                Number(3),
                            ],
                        },
                        "title": String("新类型"),
                    },
                },
            },
        )
        media: hongbao_v2.attachment Unknown .zip size=Some(10) md5="" id=NEWMEDIA
        flags: external=false updown_stream=false
        conversation: pair:lisi|zhangsan
        text: "红包封面.zip\nNEWMEDIA\n新类型"
        warning: unknown msgtype `hongbao_v2`, kept raw
    "#]],
    );
}

#[test]
fn video() {
    check(
        "video",
        expect![[r#"
        payload: Video(
            Video {
                sdkfileid: "MzAzMjYxMzAzNTYzMzgzMjMy…",
                md5sum: "d06fc80c01d6fbffcca3b229ba41eac6",
                filesize: Some(
                    15169724,
                ),
                play_length: 108,
                extra: {},
            },
        )
        media: video Video .mp4 size=Some(15169724) md5="d06fc80c01d6fbffcca3b229ba41eac6" id=MzAzMjYxMzAz…
        flags: external=false updown_stream=false
        conversation: pair:kenshin|wmGAgeDQAAHuRJbt4ZQI_1cqoQcf41WQ
        text: ""
    "#]],
    );
}

#[test]
fn voice() {
    check(
        "voice",
        expect![[r#"
        payload: Voice(
            Voice {
                sdkfileid: "kcyZjZqOXhETGYxajB2Zkp5R…",
                md5sum: "9db09c7fa627c9e53f17736c786a74d5",
                voice_size: Some(
                    6810,
                ),
                play_length: 10,
                extra: {},
            },
        )
        media: voice Voice .amr size=Some(6810) md5="9db09c7fa627c9e53f17736c786a74d5" id=kcyZjZqOXhET…
        flags: external=false updown_stream=false
        conversation: pair:kenshin|wmGAgeDQAAdBjb8CK4ieMPRm7Cqm-9VA
        text: ""
    "#]],
    );
}

#[test]
fn voip_doc_share() {
    check(
        "voip_doc_share",
        expect![[r#"
        payload: VoipDocShare(
            VoipDocShare {
                voipid: "gr2751c98b19300571f8afb3b74514bd32",
                filename: "欢迎使用微盘.pdf.pdf",
                md5sum: "ff893900f24e55e216e617a40e5c4648",
                filesize: Some(
                    4400654,
                ),
                sdkfileid: "CpsBKjAqZUlLdWJMd2gvQ1Jx…",
                extra: {},
            },
        )
        media: voip_doc_share VoipDocShare .pdf size=Some(4400654) md5="ff893900f24e55e216e617a40e5c4648" id=CpsBKjAqZUlL…
        flags: external=false updown_stream=false
        conversation: pair:18002520162|wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA
        text: "欢迎使用微盘.pdf.pdf"
    "#]],
    );
}

#[test]
fn voiptext() {
    check(
        "voiptext",
        expect![[r#"
        payload: VoipText(
            VoipText {
                callduration: 9,
                invitetype: 2,
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: pair:WoBeiQi...|icef
        text: ""
    "#]],
    );
}

#[test]
fn voiptext_key() {
    check(
        "voiptext_key",
        expect![[r#"
        payload: VoipText(
            VoipText {
                callduration: 9,
                invitetype: 2,
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: pair:WoBeiQi|icef
        text: ""
    "#]],
    );
}

#[test]
fn vote_nested() {
    check(
        "vote_nested",
        expect![[r#"
        payload: Vote(
            Vote {
                votetitle: "投票主题",
                voteitem: [
                    "投票选项",
                ],
                votetype: 101,
                voteid: "1603875610",
                shape: Nested,
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: pair:icef|ken
        text: "投票主题\n投票选项"
    "#]],
    );
}

#[test]
fn vote_top_level() {
    check(
        "vote_top_level",
        expect![[r#"
        payload: Vote(
            Vote {
                votetitle: "投票主题",
                voteitem: [
                    "选项A",
                    "选项B",
                ],
                votetype: 101,
                voteid: "1603875610",
                shape: TopLevel,
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: room:wr2vOpDgAAN4zVWKbS
        text: "投票主题\n选项A\n选项B"
    "#]],
    );
}

#[test]
fn weapp() {
    check(
        "weapp",
        expect![[r#"
        payload: Weapp(
            Weapp {
                title: "开始聊天前请仔细阅读服务须知事项",
                description: "客户需同意存档聊天记录",
                username: "xxx@app",
                displayname: "服务须知",
                extra: {},
            },
        )
        flags: external=false updown_stream=false
        conversation: pair:kens|wmGAgeDQAAsgQetTQGqRbMxrkodpM3fA
        text: "开始聊天前请仔细阅读服务须知事项\n客户需同意存档聊天记录\n服务须知"
    "#]],
    );
}

/// The one list of message types and the typed payloads agree: every listed msgtype is read into
/// its own payload (not `Unknown`) that names the same msgtype, and an unlisted one is not.
#[test]
fn every_listed_msgtype_has_its_typed_payload() {
    for &msgtype in wecom_model::MSGTYPES {
        let json = format!(
            r#"{{"msgid":"m1","action":"send","from":"zhangsan","tolist":["lisi"],"roomid":"","msgtime":1,"msgtype":"{msgtype}","{msgtype}":{{}},"info":{{}},"doc":{{}},"redpacket":{{}}}}"#
        );
        let m = read(&json);
        assert!(
            !matches!(m.payload, wecom_model::Payload::Unknown(_)),
            "{msgtype}: {:?}",
            m.payload
        );
        assert_eq!(m.payload.msgtype(), msgtype);
    }
    let m = read(
        r#"{"msgid":"m1","action":"send","from":"a","tolist":["b"],"roomid":"","msgtime":1,"msgtype":"not_a_type"}"#,
    );
    assert!(matches!(m.payload, wecom_model::Payload::Unknown(_)));
}
