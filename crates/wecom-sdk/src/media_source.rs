//! [`MediaSource`] for the vendor library: the media workers' seam (`wecom_wire`), over
//! [`SdkSource::download_media`], so the binary can hand the workers either source.

use wecom_wire::{
    BoxFuture, MediaChunkSink, MediaFetchError, MediaFetchErrorKind, MediaFetched, MediaSource,
    SdkCode,
};

use crate::error::{SdkErrorKind, SdkSourceError};
use crate::source::SdkSource;

impl MediaSource for SdkSource {
    fn download<'a>(
        &'a self,
        sdkfileid: &'a str,
        sink: &'a mut dyn MediaChunkSink,
    ) -> BoxFuture<'a, Result<MediaFetched, MediaFetchError>> {
        Box::pin(async move {
            self.download_media(sdkfileid, sink)
                .await
                .map(MediaFetched::from)
                .map_err(|e| fetch_error(&e, sdkfileid))
        })
    }
}

/// The source's error in the seam's terms. The library folds every server errcode but 301042
/// and 301048 into 10002, so an unknown fileid, a busy server and a stale token all arrive as
/// [`MediaFetchErrorKind::BadResponse`] (retryable, as the vendor recommends); a crashed worker
/// too, its message naming the signal.
pub(crate) fn fetch_error(e: &SdkSourceError, sdkfileid: &str) -> MediaFetchError {
    let kind = match e.kind() {
        SdkErrorKind::Sdk(SdkCode::InvalidArgument | SdkCode::FileId)
        | SdkErrorKind::InvalidArgument => MediaFetchErrorKind::InvalidFileId,
        SdkErrorKind::Sdk(SdkCode::Network) => MediaFetchErrorKind::Network,
        SdkErrorKind::Sdk(SdkCode::Decrypt) => MediaFetchErrorKind::Decrypt,
        SdkErrorKind::Sdk(SdkCode::IpNotAllowed) => MediaFetchErrorKind::IpNotAllowed,
        SdkErrorKind::Sdk(SdkCode::Expired) => MediaFetchErrorKind::Expired,
        SdkErrorKind::Api { errcode } => MediaFetchErrorKind::Api { errcode: *errcode },
        SdkErrorKind::WorkerHung => MediaFetchErrorKind::Timeout,
        SdkErrorKind::Sink => MediaFetchErrorKind::Sink,
        SdkErrorKind::Sdk(_)
        | SdkErrorKind::InvalidResponse
        | SdkErrorKind::Library
        | SdkErrorKind::WorkerCrashed { .. }
        | SdkErrorKind::CrashLoop
        | SdkErrorKind::Worker
        | SdkErrorKind::ShutDown => MediaFetchErrorKind::BadResponse,
    };
    MediaFetchError::new(
        kind,
        e.is_retryable(),
        e.sdk_code(),
        format!(
            "{e} (media {}, chunk at byte {})",
            wecom_wire::file_hint(sdkfileid),
            e.offset()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_codes_map_to_the_seam_kinds() {
        let check = |kind: SdkErrorKind, want: MediaFetchErrorKind, retryable: bool| {
            let e = fetch_error(&SdkSourceError::new(kind.clone(), "x"), "CiwzMDY5MDIwMTAy");
            assert_eq!(e.kind, want, "{kind:?}");
            assert_eq!(e.retryable, retryable, "{kind:?}");
            assert!(e.message.contains("CiwzMDY5…(16 chars)"), "{}", e.message);
            assert!(
                !e.message.contains("CiwzMDY5MDIwMTAy"),
                "never the whole sdkfileid"
            );
        };
        check(
            SdkErrorKind::Sdk(SdkCode::Network),
            MediaFetchErrorKind::Network,
            true,
        );
        check(
            SdkErrorKind::Sdk(SdkCode::DataParse),
            MediaFetchErrorKind::BadResponse,
            true,
        );
        check(
            SdkErrorKind::Sdk(SdkCode::FileId),
            MediaFetchErrorKind::InvalidFileId,
            false,
        );
        check(
            SdkErrorKind::Sdk(SdkCode::Expired),
            MediaFetchErrorKind::Expired,
            false,
        );
        check(
            SdkErrorKind::Sdk(SdkCode::IpNotAllowed),
            MediaFetchErrorKind::IpNotAllowed,
            false,
        );
        check(
            SdkErrorKind::Sdk(SdkCode::Decrypt),
            MediaFetchErrorKind::Decrypt,
            false,
        );
        check(
            SdkErrorKind::WorkerCrashed { signal: Some(6) },
            MediaFetchErrorKind::BadResponse,
            true,
        );
        check(SdkErrorKind::WorkerHung, MediaFetchErrorKind::Timeout, true);
        check(
            SdkErrorKind::Library,
            MediaFetchErrorKind::BadResponse,
            false,
        );
    }
}
