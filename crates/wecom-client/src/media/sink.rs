//! Where downloaded plaintext goes: an async sink, so the caller can write to a blob store while
//! the next chunk is fetched only after the last one is safely handed over.

use std::future::Future;

use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::SinkError;

/// Receives a media object's plaintext in order, one chunk (at most 512 KiB) at a time. An error
/// stops the download; whatever the sink already holds is then a prefix to discard.
pub trait MediaSink: Send {
    fn write(&mut self, plaintext: &[u8]) -> impl Future<Output = Result<(), SinkError>> + Send;
}

/// Collects the object in memory (small objects, tests).
impl MediaSink for Vec<u8> {
    fn write(&mut self, plaintext: &[u8]) -> impl Future<Output = Result<(), SinkError>> + Send {
        self.extend_from_slice(plaintext);
        std::future::ready(Ok(()))
    }
}

/// Writes into any [`AsyncWrite`] (a file, a pipe); flushing and syncing are the caller's.
#[derive(Debug)]
pub struct WriteSink<W>(pub W);

impl<W: AsyncWrite + Unpin + Send> MediaSink for WriteSink<W> {
    async fn write(&mut self, plaintext: &[u8]) -> Result<(), SinkError> {
        self.0.write_all(plaintext).await.map_err(SinkError::from)
    }
}

/// Hands each chunk to a synchronous closure (hashing, counting).
#[derive(Debug)]
pub struct FnSink<F>(pub F);

impl<F: FnMut(&[u8]) -> Result<(), SinkError> + Send> MediaSink for FnSink<F> {
    fn write(&mut self, plaintext: &[u8]) -> impl Future<Output = Result<(), SinkError>> + Send {
        std::future::ready((self.0)(plaintext))
    }
}
