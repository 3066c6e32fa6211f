//! `sdkfileid`: encode/decode and the vendor library's reactions to bad input.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use wecom_crypto::{SdkFileId, SdkFileIdError};

#[test]
fn sdkfileid_round_trips_and_tolerates_what_the_library_tolerates() {
    let id = SdkFileId {
        fileid: "CtYBMzA2OTAyMDEwMjA0NjIzMDYwMDIwMTAwMDIwNDI1".into(),
        authkey: "auth/key".into(),
        aeskey: "0123456789abcdef0123456789abcdef".into(),
    };
    let text = id.encode();
    assert_eq!(SdkFileId::decode(&text), Ok(id.clone()));
    // trailing junk of less than a group is ignored by the lenient decoder
    assert_eq!(SdkFileId::decode(&format!("{text}\n")), Ok(id.clone()));
    // unknown fields are skipped; the last occurrence of a field wins
    let mut bytes = STANDARD.decode(&text).expect("base64");
    bytes.extend_from_slice(&[0x20, 0x05, 0x0a, 0x01, b'x']);
    let decoded = SdkFileId::decode(&STANDARD.encode(&bytes)).expect("decodes");
    assert_eq!(decoded.fileid, "x");
    assert_eq!(decoded.aeskey, id.aeskey);
    // absent fields are empty
    assert_eq!(
        SdkFileId::decode("CgF4"),
        Ok(SdkFileId {
            fileid: "x".into(),
            ..SdkFileId::default()
        })
    );
}

#[test]
fn bad_sdkfileid_is_10000_or_10005() {
    assert_eq!(SdkFileId::decode(""), Err(SdkFileIdError::Empty));
    assert_eq!(SdkFileIdError::Empty.code().code(), 10000);
    for crash in ["=", "==", "A=", "AB="] {
        assert_eq!(
            SdkFileId::decode(crash),
            Err(SdkFileIdError::Base64 {
                real_library_crashes: true
            }),
            "{crash:?}"
        );
    }
    let err = SdkFileId::decode("AAAA").expect_err("zero tag");
    assert_eq!(
        (err.clone(), err.code().code()),
        (SdkFileIdError::Protobuf, 10005)
    );
    assert_eq!(
        SdkFileId::decode("CgH/"),
        Err(SdkFileIdError::NotUtf8 { field: "fileid" })
    );
}
