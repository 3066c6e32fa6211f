//! Media references: every sdkfileid, nested ones included, with size, md5, kind, extension, path.

use expect_test::{Expect, expect};

use crate::{fixture, read};

fn check(json: &str, expect: Expect) {
    let m = read(json);
    let mut out = String::new();
    for r in &m.media {
        out.push_str(&format!(
            "{} {} .{} size={:?} md5={:?} id={}\n",
            r.path,
            r.kind.as_str(),
            r.extension,
            r.size,
            r.md5sum,
            r.sdkfileid.chars().take(12).collect::<String>()
        ));
    }
    for w in &m.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    expect.assert_eq(&out);
}

#[test]
fn nested_chatrecord_and_mixed_media() {
    check(
        &fixture("chatrecord_nested_ms"),
        expect![[r#"
            chatrecord.item[1] image .jpg size=Some(70961) md5="50de8e5ae8ffe4f1df7a93841f71993a" id=IMAGEINNER
            chatrecord.item[2] file .pdf size=Some(18181) md5="" id=FILEINNER
            chatrecord.item[3].item[1] emotion .png size=Some(2048) md5="" id=EMOTIONINNER
        "#]],
    );
    check(
        &fixture("mixed"),
        expect![[r#"
            mixed.item[1] image .jpg size=Some(13177) md5="368b6c18c82e6441bfd89b343e9d2429" id=CtYBMzA2OTAy
        "#]],
    );
}

#[test]
fn top_level_media_of_every_kind() {
    let cases = [
        ("image", "image image .jpg size=Some(70961)"),
        ("voice", "voice voice .amr size=Some(6810)"),
        ("video", "video video .mp4 size=Some(15169724)"),
        ("emotion", "emotion emotion .gif size=Some(962604)"),
        ("file", "file file .docx size=Some(18181)"),
        (
            "meeting_voice_call",
            "meeting_voice_call meeting_voice_call . size=None",
        ),
        (
            "voip_doc_share",
            "voip_doc_share voip_doc_share .pdf size=Some(4400654)",
        ),
    ];
    for (name, want) in cases {
        let m = read(&fixture(name));
        assert_eq!(m.media.len(), 1, "{name}");
        let r = &m.media[0];
        let got = format!(
            "{} {} .{} size={:?}",
            r.path,
            r.kind.as_str(),
            r.extension,
            r.size
        );
        assert_eq!(got, want);
        assert!(m.warnings.is_empty(), "{name}: {:?}", m.warnings);
    }
}

#[test]
fn extension_rules() {
    let rec = |payload: &str| {
        format!(
            r#"{{"msgid":"m","action":"send","from":"a","tolist":["b"],"roomid":"","msgtime":1,{payload}}}"#
        )
    };
    check(
        &rec(
            r#""msgtype":"emotion","emotion":{"type":2,"imagesize":5,"md5sum":"","sdkfileid":"E2"}"#,
        ),
        expect![[r#"
            emotion emotion .png size=Some(5) md5="" id=E2
        "#]],
    );
    check(
        &rec(r#""msgtype":"emotion","emotion":{"type":7,"sdkfileid":"E7"}"#),
        expect![[r#"
            emotion emotion . size=None md5="" id=E7
        "#]],
    );
    check(
        &rec(
            r#""msgtype":"file","file":{"filename":"README","fileext":"","filesize":0,"sdkfileid":"F0"}"#,
        ),
        expect![[r#"
            file file . size=Some(0) md5="" id=F0
        "#]],
    );
    // An extension that would escape a directory never reaches a file name.
    check(
        &rec(r#""msgtype":"file","file":{"filename":"x","fileext":"../../etc","sdkfileid":"F1"}"#),
        expect![[r#"
            file file . size=None md5="" id=F1
        "#]],
    );
    check(
        &rec(r#""msgtype":"file","file":{"filename":"x.PDF","fileext":".PDF","sdkfileid":"F2"}"#),
        expect![[r#"
            file file .PDF size=None md5="" id=F2
        "#]],
    );
    check(
        &rec(
            r#""msgtype":"voip_doc_share","voipid":"gr1","voip_doc_share":{"filename":"无扩展名","filesize":18446744073709551615,"sdkfileid":"V1"}"#,
        ),
        expect![[r#"
            voip_doc_share voip_doc_share . size=Some(18446744073709551615) md5="" id=V1
        "#]],
    );
}

#[test]
fn media_of_unknown_types_are_still_found() {
    check(
        &fixture("unknown_type"),
        expect![[r#"
            hongbao_v2.attachment unknown .zip size=Some(10) md5="" id=NEWMEDIA
            warning: unknown msgtype `hongbao_v2`, kept raw
        "#]],
    );
    check(
        r#"{"msgid":"m","action":"send","from":"a","tolist":["b"],"msgtime":1,"msgtype":"mixed","mixed":{"item":[{"type":"hologram","content":"{\"sdkfileid\":\"H1\",\"size\":\"7\",\"fileext\":\"glb\"}"}]}}"#,
        expect![[r#"
            mixed.item[0] unknown .glb size=Some(7) md5="" id=H1
            warning: unknown msgtype `hologram`, kept raw
        "#]],
    );
}

#[test]
fn media_without_sdkfileid_is_left_out_with_a_warning() {
    check(
        r#"{"msgid":"m","action":"send","from":"a","tolist":["b"],"msgtime":1,"msgtype":"image","image":{"md5sum":"x","filesize":1}}"#,
        expect![[r#"
            warning: media at `image` has no sdkfileid
        "#]],
    );
    check(
        r#"{"msgid":"m","action":"send","from":"a","tolist":["b"],"msgtime":1,"msgtype":"mixed","mixed":{"item":[{"type":"image","content":"{\"filesize\":3}"},{"type":"image","content":"{\"sdkfileid\":\"OK\"}"}]}}"#,
        expect![[r#"
            mixed.item[1] image .jpg size=None md5="" id=OK
            warning: media at `mixed.item[0]` has no sdkfileid
        "#]],
    );
}
