//! Who talks to whom: conversation keys (stable strings), id classification, msgid flags.

use wecom_model::{
    Action, ConversationKey, Envelope, IdKind, MessageFlags, classify_id, understand,
};

fn envelope(action: Action, from: &str, tolist: &[&str], roomid: &str) -> Envelope {
    Envelope {
        msgid: "m".into(),
        action,
        from: from.into(),
        tolist: tolist.iter().map(|s| (*s).to_owned()).collect(),
        roomid: roomid.into(),
        msgtime: 0,
        msgtype: Some("text".into()),
        json: r#"{"msgid":"m","action":"send","msgtype":"text","text":{"content":"x"}}"#.into(),
    }
}

fn key(action: Action, from: &str, tolist: &[&str], roomid: &str) -> String {
    ConversationKey::of(&envelope(action, from, tolist, roomid)).to_string()
}

#[test]
fn keys_for_every_shape() {
    let cases: &[(Action, &str, &[&str], &str, &str)] = &[
        (
            Action::Send,
            "ken",
            &["icef", "test"],
            "wrABC",
            "room:wrABC",
        ),
        (Action::Recall, "ken", &["icef"], "wrABC", "room:wrABC"),
        (
            Action::Send,
            "kenshin",
            &["wmUu0z"],
            "",
            "pair:kenshin|wmUu0z",
        ),
        (
            Action::Send,
            "wmUu0z",
            &["kenshin"],
            "",
            "pair:kenshin|wmUu0z",
        ),
        (Action::Send, "a", &["a"], "", "pair:a|a"),
        (Action::Send, "a", &[], "", "solo:a"),
        (Action::Send, "a", &[""], "", "solo:a"),
        (Action::Send, "c", &["b", "a"], "", "members:a|b|c"),
        (Action::Send, "a", &["c", "b"], "", "members:a|b|c"),
        (Action::Send, "a", &["a", "b", "b"], "", "pair:a|b"),
        (Action::Send, "", &["b"], "", "pair:b|b"),
        (Action::Switch, "XuJinSheng", &[], "", "switch:XuJinSheng"),
        (Action::Send, "x|y", &["a%b"], "", "pair:a%25b|x%7Cy"),
    ];
    for (action, from, tolist, roomid, want) in cases {
        assert_eq!(&key(action.clone(), from, tolist, roomid), want);
    }
}

#[test]
fn string_forms_parse_back() {
    for k in [
        ConversationKey::Room("wr:1".into()),
        ConversationKey::Pair("a".into(), "b".into()),
        ConversationKey::Pair("x|y".into(), "z%".into()),
        ConversationKey::Members(vec!["a".into(), "b".into(), "c".into()]),
        ConversationKey::Solo(String::new()),
        ConversationKey::Switch("u".into()),
    ] {
        assert_eq!(
            ConversationKey::parse(&k.to_string()),
            Some(k.clone()),
            "{k}"
        );
    }
    for bad in [
        "",
        "room",
        "pair:a",
        "pair:b|a",
        "members:a|b",
        "x:y",
        "room:%zz",
        "solo:a|b",
    ] {
        assert_eq!(ConversationKey::parse(bad), None, "{bad}");
    }
}

#[test]
fn understand_uses_the_envelope_for_keys_and_flags() {
    let mut e = envelope(Action::Send, "kenshin", &["wmUu0z"], "");
    e.msgid = "123_1603875615_external".into();
    let m = understand(&e);
    assert_eq!(m.conversation.to_string(), "pair:kenshin|wmUu0z");
    assert!(!m.conversation.is_group());
    assert_eq!(
        m.flags,
        MessageFlags {
            external: true,
            updown_stream: false
        }
    );
}

#[test]
fn msgid_suffixes_set_flags() {
    assert_eq!(
        MessageFlags::from_msgid("CAQQluDa4QUY0On2rYSAgAMgzPrShAE="),
        MessageFlags::default()
    );
    assert!(MessageFlags::from_msgid("5702551662099334532_1619511584_external").external);
    assert!(MessageFlags::from_msgid("1_2_updown_stream").updown_stream);
    assert!(!MessageFlags::from_msgid("external").external);
}

#[test]
fn ids_are_classified_by_shape() {
    let cases = [
        ("wmGAgeDQAAvQeaTqWwkMTxGMkvI7OOuQ", IdKind::External),
        ("woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA", IdKind::External),
        ("wbAJ2GCAAAXtWyujaWJHDDGi0mACHAAA", IdKind::Robot),
        ("wmErxtDgAA9AW32YyyuYRimKr7D1KWlw", IdKind::External),
        ("XuJinSheng", IdKind::Internal),
        ("18002520162", IdKind::Internal),
        ("zhang.wei", IdKind::Internal),
        // Userids that only start like external ids.
        ("wolfgang", IdKind::Internal),
        ("wmeng", IdKind::Internal),
        ("wb", IdKind::Internal),
        ("", IdKind::Empty),
        ("   ", IdKind::Empty),
    ];
    for (id, want) in cases {
        assert_eq!(classify_id(id), want, "{id}");
    }
}

proptest::proptest! {
    #[test]
    fn keys_are_symmetric_and_parse_back(
        a in "[a-zA-Z0-9|%._-]{0,12}",
        b in "[a-zA-Z0-9|%._-]{1,12}",
        c in "[a-zA-Z0-9|%._-]{1,12}",
        room in proptest::option::of("wr[a-zA-Z0-9|%]{0,10}"),
    ) {
        let room = room.unwrap_or_default();
        let ab = ConversationKey::of(&envelope(Action::Send, &a, &[&b], &room));
        if !a.is_empty() {
            let ba = ConversationKey::of(&envelope(Action::Send, &b, &[&a], &room));
            proptest::prop_assert_eq!(&ab, &ba);
        }
        let abc = ConversationKey::of(&envelope(Action::Send, &a, &[&b, &c], &room));
        let cba = ConversationKey::of(&envelope(Action::Send, &c, &[&b, &a], &room));
        if !a.is_empty() {
            proptest::prop_assert_eq!(&abc, &cba);
        }
        for k in [ab, abc] {
            proptest::prop_assert_eq!(ConversationKey::parse(&k.to_string()), Some(k));
        }
    }
}
