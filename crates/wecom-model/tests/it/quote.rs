//! Quoted replies in both formats and their variants, and linking a quote to its original.

use expect_test::{Expect, expect};
use wecom_model::{Quote, QuoteFormat, parse_quote, quote_matches};

fn check(text: &str, expect: Expect) {
    let rendered = match parse_quote(text) {
        None => "None".to_owned(),
        Some(Quote {
            quoted_user,
            quoted_text,
            reply,
            format,
        }) => format!("{format:?} user={quoted_user:?} quote={quoted_text:?} reply={reply:?}"),
    };
    expect.assert_eq(&rendered);
}

#[test]
fn archive_format_as_the_emulator_writes_it() {
    check(
        "这是一条引用/回复消息：\n\"张伟：\n报价单已经发你邮箱了\"\n------\n收到，谢谢",
        expect![[r#"Archive user="张伟" quote="报价单已经发你邮箱了" reply="收到，谢谢""#]],
    );
}

#[test]
fn archive_format_with_curly_quotes_and_half_width_colon() {
    check(
        "这是一条引用/回复消息：\n“李娜:\n明天上午十点开会”\n------\n好的",
        expect![[r#"Archive user="李娜" quote="明天上午十点开会" reply="好的""#]],
    );
    check(
        "这是一条引用/回复消息:\n“李娜：明天上午十点开会”\n------\n好的",
        expect![[r#"Archive user="李娜" quote="明天上午十点开会" reply="好的""#]],
    );
}

#[test]
fn archive_format_multi_line_quote_and_reply() {
    check(
        "这是一条引用/回复消息：\n\"王强：\n第一行\n第二行\n\n第四行\"\n------\n回复一\n回复二",
        expect![[r#"Archive user="王强" quote="第一行\n第二行\n\n第四行" reply="回复一\n回复二""#]],
    );
}

#[test]
fn english_header() {
    check(
        "This is a quote/reply:\n\"Wang Qiang:\nThanks, noted.\"\n------\nSure, no problem!",
        expect![[
            r#"ArchiveEnglish user="Wang Qiang" quote="Thanks, noted." reply="Sure, no problem!""#
        ]],
    );
    check(
        "this is a quote/reply：\n“wmGAgeDQAAvQeaTqWwkMTxGMkvI7OOuQ：\nhello”\n------\nhi",
        expect![[
            r#"ArchiveEnglish user="wmGAgeDQAAvQeaTqWwkMTxGMkvI7OOuQ" quote="hello" reply="hi""#
        ]],
    );
}

#[test]
fn degenerate_official_example_has_an_empty_quote() {
    check(
        "这是一条引用/回复消息：\"\n------\n@nick777",
        expect![[r#"Archive user="" quote="" reply="@nick777""#]],
    );
}

#[test]
fn wechat_format() {
    check(
        "「张伟：报价单已经发你邮箱了」\n- - - - - - - - - - - - - - -\n收到",
        expect![[r#"WeChat user="张伟" quote="报价单已经发你邮箱了" reply="收到""#]],
    );
    check(
        "「张伟:第一行\n第二行」\n- - -\n收到",
        expect![[r#"WeChat user="张伟" quote="第一行\n第二行" reply="收到""#]],
    );
    check(
        "\"Zhang Wei: the quotation\"\n- - - - - - -\nGot it",
        expect![[r#"WeChat user="Zhang Wei" quote="the quotation" reply="Got it""#]],
    );
    check(
        "「张伟：报价」\r\n- - - - -\r\n收到",
        expect![[r#"WeChat user="张伟" quote="报价" reply="收到""#]],
    );
}

#[test]
fn a_quote_of_a_quote_splits_at_the_last_rule() {
    check(
        "这是一条引用/回复消息：\n\"张伟：\n这是一条引用/回复消息：\n\"李娜：\n原话\"\n------\n第一次回复\"\n------\n第二次回复",
        expect![[
            r#"Archive user="张伟" quote="这是一条引用/回复消息：\n\"李娜：\n原话\"\n------\n第一次回复" reply="第二次回复""#
        ]],
    );
}

#[test]
fn header_without_rule_is_all_quote() {
    check(
        "这是一条引用/回复消息：\"张伟：原话\"",
        expect![[r#"Archive user="张伟" quote="原话" reply="""#]],
    );
}

#[test]
fn ordinary_texts_are_not_quotes() {
    for text in [
        "",
        "你好",
        "------",
        "价格：100元\n------\n运费另计",
        "\"引号\"\n------\n普通的分隔线",
        "这是一条引用",
        "- - -",
        "「」",
    ] {
        assert_eq!(parse_quote(text), None, "{text:?}");
    }
}

#[test]
fn linking_matches_by_normalised_text() {
    let q =
        parse_quote("这是一条引用/回复消息：\n\"张伟：\n报价单  已经\n发你邮箱了\"\n------\n收到")
            .expect("quote");
    assert_eq!(q.format, QuoteFormat::Archive);
    assert!(quote_matches(&q, "zhangwei", "报价单 已经 发你邮箱了"));
    assert!(quote_matches(
        &q,
        "zhangwei",
        "@李娜 报价单已经\n发你邮箱了"
    ));
    // Contained: the candidate is longer (the quote shows part of it).
    assert!(quote_matches(
        &q,
        "x",
        "好的。报价单 已经 发你邮箱了，请查收"
    ));
    assert!(!quote_matches(&q, "zhangwei", "报价单"));
    assert!(!quote_matches(&q, "zhangwei", ""));

    let truncated = Quote {
        quoted_user: "张伟".into(),
        quoted_text: "报价单已经发…".into(),
        reply: String::new(),
        format: QuoteFormat::WeChat,
    };
    assert!(quote_matches(
        &truncated,
        "zhangwei",
        "报价单已经发你邮箱了"
    ));

    let empty = parse_quote("这是一条引用/回复消息：\"\n------\n@nick777").expect("quote");
    assert!(!quote_matches(&empty, "nick", "anything"));
}

#[test]
fn an_external_id_as_quoted_user_must_be_the_sender() {
    let q = Quote {
        quoted_user: "wmGAgeDQAAvQeaTqWwkMTxGMkvI7OOuQ".into(),
        quoted_text: "hello".into(),
        reply: "hi".into(),
        format: QuoteFormat::Archive,
    };
    assert!(quote_matches(
        &q,
        "wmGAgeDQAAvQeaTqWwkMTxGMkvI7OOuQ",
        "hello"
    ));
    assert!(!quote_matches(
        &q,
        "wmOtherDQAAvQeaTqWwkMTxGMkvI7OOu",
        "hello"
    ));
    // A display name cannot be checked here.
    let named = Quote {
        quoted_user: "张伟".into(),
        ..q
    };
    assert!(quote_matches(&named, "anyone", "hello"));
}

proptest::proptest! {
    #[test]
    fn never_panics_on_quote_like_text(
        parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "这是一条引用/回复消息：", "This is a quote/reply:", "\"", "“", "”", "「", "」",
                "：", ":", "\n", "\r\n", "------", "- - -", "-", " ", "张伟", "a", "é", "\u{11}",
            ]),
            0..40,
        )
    ) {
        let text: String = parts.concat();
        if let Some(q) = parse_quote(&text) {
            let _ = quote_matches(&q, "x", &text);
        }
    }

    #[test]
    fn generated_quotes_parse_back(
        user in "[\\p{Han}A-Za-z][\\p{Han}A-Za-z ]{0,10}[\\p{Han}A-Za-z]",
        quote in "[\\p{Han}a-z0-9]([\\p{Han}a-z0-9，。!? ]{0,20}[\\p{Han}a-z0-9])?",
        reply in "[\\p{Han}a-z@ ]{0,20}",
        style in 0..4u8,
    ) {
        let text = match style {
            0 => format!("这是一条引用/回复消息：\n\"{user}：\n{quote}\"\n------\n{reply}"),
            1 => format!("这是一条引用/回复消息：\n“{user}:\n{quote}”\n------\n{reply}"),
            2 => format!("This is a quote/reply:\n\"{user}:\n{quote}\"\n------\n{reply}"),
            _ => format!("「{user}：{quote}」\n- - - - - - - - - - - - - - -\n{reply}"),
        };
        let q = parse_quote(&text).expect("a quote");
        proptest::prop_assert_eq!(q.quoted_user, user.trim());
        proptest::prop_assert_eq!(&q.quoted_text, &quote);
        proptest::prop_assert_eq!(q.reply, reply);
    }
}
