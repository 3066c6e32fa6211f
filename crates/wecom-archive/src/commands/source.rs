//! Choosing where records come from: the native client or the vendor library in its workers.

use std::path::PathBuf;

use anyhow::Context;
use wecom_client::NativeClient;
use wecom_daemon::config::{Config, CorpConfig, SourceKind};
use wecom_sdk::SdkSource;
use wecom_wire::{
    ArchiveSource, BoxFuture, ChatPage, MediaChunkSink, MediaFetchError, MediaFetched, MediaSource,
    SourceError,
};

/// `--source` and `--sdk-library` on `sync` and `run`.
#[derive(Debug, Clone, Default)]
pub struct SourceOverrides {
    pub source: Option<SourceKind>,
    pub sdk_library: Option<PathBuf>,
}

/// One corp's archive source. One exists per corp for the life of a command, so the size
/// difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Source {
    Native(NativeClient),
    Sdk(SdkSource),
}

impl Source {
    /// Builds the corp's source; the vendor library is loaded (in a worker) right away so a wrong
    /// path, architecture or GLIBC is reported at start, not at the first pull.
    pub async fn open(
        config: &Config,
        corp: &CorpConfig,
        o: &SourceOverrides,
    ) -> anyhow::Result<Source> {
        match o.source.unwrap_or(corp.source) {
            SourceKind::Native => Ok(Source::Native(
                NativeClient::new(config.client_config(corp)?)
                    .with_context(|| format!("[corp {}] settings", corp.corp_id))?,
            )),
            SourceKind::Sdk => {
                let library = o.sdk_library.clone().or_else(|| corp.sdk_library.clone()).with_context(|| {
                    format!("corp {}: source \"sdk\" needs sdk_library in its [corp] section or --sdk-library", corp.corp_id)
                })?;
                let sdk =
                    SdkSource::new(config.sdk_config(corp, &library)?).with_context(|| {
                        format!(
                            "corp {}: vendor library {}",
                            corp.corp_id,
                            library.display()
                        )
                    })?;
                sdk.start().await.with_context(|| {
                    format!(
                        "corp {}: vendor library {}",
                        corp.corp_id,
                        library.display()
                    )
                })?;
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
