//! The vendor SDK's return codes (reference §1.7), as one enum with their retry policy.

use std::fmt;

/// A return code of the vendor library, or the SDK-style code we report for the same situation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SdkCode {
    /// 10000 — bad parameters.
    InvalidArgument,
    /// 10001 — network error.
    Network,
    /// 10002 — failed to parse response data.
    DataParse,
    /// 10003 — system failure.
    System,
    /// 10004 — key error caused encryption failure.
    KeyEncryption,
    /// 10005 — bad sdkfileid / malformed encrypted layout.
    FileId,
    /// 10006 — decryption failed.
    Decrypt,
    /// 10007 — no private key for the message's key version.
    NoPrivateKey,
    /// 10008 — could not parse `encrypt_key`.
    EncryptKey,
    /// 10009 — caller IP not allowed.
    IpNotAllowed,
    /// 10010 — data expired.
    Expired,
    /// 10011 — certificate error.
    Certificate,
    /// Any other code.
    Other(i32),
}

impl SdkCode {
    /// Maps a raw return code (non-zero) to the enum.
    pub fn from_code(code: i32) -> SdkCode {
        match code {
            10000 => SdkCode::InvalidArgument,
            10001 => SdkCode::Network,
            10002 => SdkCode::DataParse,
            10003 => SdkCode::System,
            10004 => SdkCode::KeyEncryption,
            10005 => SdkCode::FileId,
            10006 => SdkCode::Decrypt,
            10007 => SdkCode::NoPrivateKey,
            10008 => SdkCode::EncryptKey,
            10009 => SdkCode::IpNotAllowed,
            10010 => SdkCode::Expired,
            10011 => SdkCode::Certificate,
            other => SdkCode::Other(other),
        }
    }

    /// The numeric code.
    pub fn code(self) -> i32 {
        match self {
            SdkCode::InvalidArgument => 10000,
            SdkCode::Network => 10001,
            SdkCode::DataParse => 10002,
            SdkCode::System => 10003,
            SdkCode::KeyEncryption => 10004,
            SdkCode::FileId => 10005,
            SdkCode::Decrypt => 10006,
            SdkCode::NoPrivateKey => 10007,
            SdkCode::EncryptKey => 10008,
            SdkCode::IpNotAllowed => 10009,
            SdkCode::Expired => 10010,
            SdkCode::Certificate => 10011,
            SdkCode::Other(code) => code,
        }
    }

    /// Whether the vendor recommends retrying (exactly 10001–10003).
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            SdkCode::Network | SdkCode::DataParse | SdkCode::System
        )
    }

    /// A short English description, for diagnostics.
    pub fn describe(self) -> &'static str {
        match self {
            SdkCode::InvalidArgument => "invalid argument",
            SdkCode::Network => "network error",
            SdkCode::DataParse => "response data could not be parsed",
            SdkCode::System => "system failure",
            SdkCode::KeyEncryption => "key error caused encryption failure",
            SdkCode::FileId => "malformed sdkfileid or encrypted layout",
            SdkCode::Decrypt => "decryption failed",
            SdkCode::NoPrivateKey => "no private key for the message's key version",
            SdkCode::EncryptKey => "encrypt_key could not be parsed",
            SdkCode::IpNotAllowed => "caller IP not in the trusted IP list",
            SdkCode::Expired => "data expired",
            SdkCode::Certificate => "certificate error",
            SdkCode::Other(_) => "unknown code",
        }
    }
}

impl fmt::Display for SdkCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_only_10001_to_10003_retry() {
        for code in 9990..10020 {
            let c = SdkCode::from_code(code);
            assert_eq!(c.code(), code);
            assert_eq!(c.is_retryable(), (10001..=10003).contains(&code), "{code}");
        }
    }
}
