//! [`MediaSource`] for the native client: the media workers' seam, over
//! [`NativeClient::download_media`].

use wecom_wire::{
    BoxFuture, MediaChunkSink, MediaFetchError, MediaFetchErrorKind, MediaFetched, MediaSource,
};

use super::{MediaError, MediaErrorKind};
use crate::NativeClient;

/// WeCom's errcode for an unknown fileid (or a wrong authkey).
const UNKNOWN_FILEID: i64 = 301_010;

impl MediaSource for NativeClient {
    fn download<'a>(
        &'a self,
        sdkfileid: &'a str,
        sink: &'a mut dyn MediaChunkSink,
    ) -> BoxFuture<'a, Result<MediaFetched, MediaFetchError>> {
        Box::pin(async move {
            self.download_media(sdkfileid, sink)
                .await
                .map(MediaFetched::from)
                .map_err(fetch_error)
        })
    }
}

/// The client's error in the seam's terms; the message keeps the client's wording (with the
/// sdkfileid hint and the chunk offset).
pub(crate) fn fetch_error(e: MediaError) -> MediaFetchError {
    let kind = match e.kind() {
        MediaErrorKind::InvalidFileId => MediaFetchErrorKind::InvalidFileId,
        MediaErrorKind::IpNotAllowed => MediaFetchErrorKind::IpNotAllowed,
        MediaErrorKind::Expired => MediaFetchErrorKind::Expired,
        MediaErrorKind::Api {
            errcode: UNKNOWN_FILEID,
        } => MediaFetchErrorKind::UnknownFileId,
        MediaErrorKind::Api { errcode } => MediaFetchErrorKind::Api { errcode: *errcode },
        MediaErrorKind::HttpStatus(s) => MediaFetchErrorKind::HttpStatus(*s),
        MediaErrorKind::BadResponse => MediaFetchErrorKind::BadResponse,
        MediaErrorKind::Decrypt => MediaFetchErrorKind::Decrypt,
        MediaErrorKind::Network => MediaFetchErrorKind::Network,
        MediaErrorKind::Timeout => MediaFetchErrorKind::Timeout,
        MediaErrorKind::Sink => MediaFetchErrorKind::Sink,
    };
    MediaFetchError::new(kind, e.is_retryable(), e.sdk_code(), e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClientConfig;
    use wecom_wire::SdkCode;

    #[tokio::test]
    async fn a_malformed_sdkfileid_is_a_permanent_seam_error_without_io() {
        let c =
            NativeClient::new(ClientConfig::new("http://127.0.0.1:1", "ww1", "s")).expect("client");
        let source: &dyn MediaSource = &c;
        let mut sink = Vec::new();
        let e = source
            .download("////", &mut sink)
            .await
            .expect_err("malformed");
        assert_eq!(e.kind, MediaFetchErrorKind::InvalidFileId);
        assert_eq!(e.code, SdkCode::FileId);
        assert!(!e.retryable);
        assert!(e.message.starts_with("invalid sdkfileid: "), "{e}");
        assert!(sink.is_empty());
    }

    #[test]
    fn unknown_fileid_has_its_own_kind() {
        let e = fetch_error(MediaError::new(
            MediaErrorKind::Api {
                errcode: UNKNOWN_FILEID,
            },
            "invalid fileid",
        ));
        assert_eq!(e.kind, MediaFetchErrorKind::UnknownFileId);
        assert!(!e.retryable);
        let busy = fetch_error(MediaError::new(MediaErrorKind::Api { errcode: -1 }, "busy"));
        assert_eq!(busy.kind, MediaFetchErrorKind::Api { errcode: -1 });
        assert!(busy.retryable);
    }
}
