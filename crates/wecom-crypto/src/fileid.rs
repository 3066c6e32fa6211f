//! `sdkfileid`: base64 of protobuf `MsgSdkFileId { string fileid = 1; string authkey = 2; string aeskey = 3 }`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use wecom_wire::SdkCode;

use crate::b64::{self, B64Failure};
use crate::proto::{self, Value};

/// A media object's handle as the archive carries it (sdk-wire-protocol.md §4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SdkFileId {
    /// Sent to the server as `fileid`.
    pub fileid: String,
    /// Sent to the server as `authkey`.
    pub authkey: String,
    /// Hex AES-128-ECB key of the stored object; never sent to the server.
    pub aeskey: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct MsgSdkFileId {
    #[prost(string, optional, tag = "1")]
    fileid: Option<String>,
    #[prost(string, optional, tag = "2")]
    authkey: Option<String>,
    #[prost(string, optional, tag = "3")]
    aeskey: Option<String>,
}

/// Why an `sdkfileid` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdkFileIdError {
    /// Empty `sdkfileid` (code 10000).
    #[error("10000: sdkfileid is empty")]
    Empty,
    /// Not decodable by the vendor base64 decoder (code 10005).
    #[error("10005: sdkfileid is not base64 (more '=' than data, or a non-ascii byte){}", if *.real_library_crashes { " (the vendor library would abort the process on this input)" } else { "" })]
    Base64 {
        /// The vendor library aborts the process on this input (e.g. `"="`, `"A="`).
        real_library_crashes: bool,
    },
    /// The decoded bytes are not a protobuf `MsgSdkFileId` (code 10005).
    #[error("10005: sdkfileid is not a protobuf MsgSdkFileId")]
    Protobuf,
    /// A field is not UTF-8. The vendor library (proto2) would pass the raw bytes on; we refuse them.
    #[error("10005: sdkfileid field `{field}` is not utf-8")]
    NotUtf8 {
        /// `fileid`, `authkey` or `aeskey`.
        field: &'static str,
    },
}

impl SdkFileIdError {
    /// The SDK code the vendor library returns for this input.
    pub fn code(&self) -> SdkCode {
        match self {
            SdkFileIdError::Empty => SdkCode::InvalidArgument,
            _ => SdkCode::FileId,
        }
    }
}

impl SdkFileId {
    /// Standard base64 of the protobuf, all three fields present.
    pub fn encode(&self) -> String {
        STANDARD.encode(prost::Message::encode_to_vec(&MsgSdkFileId {
            fileid: Some(self.fileid.clone()),
            authkey: Some(self.authkey.clone()),
            aeskey: Some(self.aeskey.clone()),
        }))
    }

    /// Reads an `sdkfileid` as the vendor library does: its lenient base64 decoder, then a protobuf
    /// parse with the C++ runtime's rules (unknown fields skipped, the last occurrence wins).
    pub fn decode(sdkfileid: &str) -> Result<SdkFileId, SdkFileIdError> {
        if sdkfileid.is_empty() {
            return Err(SdkFileIdError::Empty);
        }
        let bytes = b64::decode(sdkfileid.as_bytes()).map_err(|f| SdkFileIdError::Base64 {
            real_library_crashes: f == B64Failure::NegativeLength,
        })?;
        let mut raw: [&[u8]; 3] = [&[], &[], &[]];
        proto::for_each_field(&bytes, |field, value| {
            if let (Value::Len(v), Some(slot)) = (
                value,
                field.checked_sub(1).and_then(|i| raw.get_mut(i as usize)),
            ) {
                *slot = v;
            }
        })
        .ok_or(SdkFileIdError::Protobuf)?;
        let text = |i: usize, field: &'static str| {
            String::from_utf8(raw.get(i).copied().unwrap_or_default().to_vec())
                .map_err(|_| SdkFileIdError::NotUtf8 { field })
        };
        Ok(SdkFileId {
            fileid: text(0, "fileid")?,
            authkey: text(1, "authkey")?,
            aeskey: text(2, "aeskey")?,
        })
    }
}
