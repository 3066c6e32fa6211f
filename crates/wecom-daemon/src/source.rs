//! Choosing where records come from: the native client or the vendor library in its workers.

use std::path::PathBuf;

use wecom_client::NativeClient;

use crate::DaemonError;
use crate::config::{Config, CorpConfig, SourceKind};
use wecom_sdk::SdkSource;
use wecom_wire::{
    ArchiveSource, BoxFuture, ChatPage, MediaChunkSink, MediaFetchError, MediaFetched, MediaSource,
    SourceError,
};

/// `--source` and `--sdk-library` on `sync` and `run`.
#[derive(Debug, Clone, Default)]
pub struct SourceOverrides {
    /// Overrides the corp's `source`.
    pub source: Option<SourceKind>,
    /// Overrides the corp's `sdk_library`.
    pub sdk_library: Option<PathBuf>,
}

/// One corp's archive source. One exists per corp for the life of a command, so the size
/// difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Source {
    /// The HTTP client speaking the archive protocol itself.
    Native(NativeClient),
    /// The vendor library, run in worker processes.
    Sdk(SdkSource),
}

impl Source {
    /// Builds the corp's source; the vendor library is loaded (in a worker) right away so a wrong
    /// path, architecture or GLIBC is reported at start, not at the first pull.
    pub async fn open(
        config: &Config,
        corp: &CorpConfig,
        o: &SourceOverrides,
    ) -> Result<Source, DaemonError> {
        match o.source.unwrap_or(corp.source) {
            SourceKind::Native => Ok(Source::Native(
                NativeClient::new(config.client_config(corp)?).map_err(|cause| {
                    DaemonError::ClientSettings {
                        corp_id: corp.corp_id.clone(),
                        cause,
                    }
                })?,
            )),
            SourceKind::Sdk => {
                let library = o
                    .sdk_library
                    .clone()
                    .or_else(|| corp.sdk_library.clone())
                    .ok_or_else(|| DaemonError::NoSdkLibrary {
                        corp_id: corp.corp_id.clone(),
                    })?;
                let vendor = |cause| DaemonError::VendorLibrary {
                    corp_id: corp.corp_id.clone(),
                    library: library.clone(),
                    cause,
                };
                let sdk = SdkSource::new(config.sdk_config(corp, &library)?).map_err(vendor)?;
                sdk.start().await.map_err(vendor)?;
                Ok(Source::Sdk(sdk))
            }
        }
    }

    /// Vendor-library worker restarts so far: after crashes, hangs and recycling (0 for native).
    pub fn worker_restarts(&self) -> u64 {
        match self {
            Source::Native(_) => 0,
            Source::Sdk(s) => {
                let st = s.stats();
                st.crashes + st.hangs + st.recycled()
            }
        }
    }

    /// Stops the vendor-library workers, if any.
    pub async fn shutdown(&self) {
        if let Source::Sdk(s) = self {
            s.shutdown().await;
        }
    }
}

impl ArchiveSource for Source {
    async fn fetch_page(&self, after_seq: u64, limit: u32) -> Result<ChatPage, SourceError> {
        match self {
            Source::Native(c) => c.fetch_page(after_seq, limit).await,
            Source::Sdk(s) => s.fetch_page(after_seq, limit).await,
        }
    }
}

impl MediaSource for Source {
    fn download<'a>(
        &'a self,
        sdkfileid: &'a str,
        sink: &'a mut dyn MediaChunkSink,
    ) -> BoxFuture<'a, Result<MediaFetched, MediaFetchError>> {
        match self {
            Source::Native(c) => c.download(sdkfileid, sink),
            Source::Sdk(s) => s.download(sdkfileid, sink),
        }
    }
}
