//! Ready-made [`MediaChunkSink`]s for callers of [`NativeClient::download_media`]
//! (crate::NativeClient): an [`AsyncWrite`] and a synchronous closure. (`Vec<u8>` is one too.)

use tokio::io::{AsyncWrite, AsyncWriteExt};
use wecom_wire::{BoxFuture, MediaChunkSink, MediaSinkError};

/// Writes into any [`AsyncWrite`] (a file, a pipe); flushing and syncing are the caller's.
#[derive(Debug)]
pub struct WriteSink<W>(pub W);

impl<W: AsyncWrite + Unpin + Send> MediaChunkSink for WriteSink<W> {
    fn write<'a>(&'a mut self, plaintext: &'a [u8]) -> BoxFuture<'a, Result<(), MediaSinkError>> {
        Box::pin(async move {
            self.0
                .write_all(plaintext)
                .await
                .map_err(MediaSinkError::from)
        })
    }
}

/// Hands each chunk to a synchronous closure (hashing, counting).
#[derive(Debug)]
pub struct FnSink<F>(pub F);

impl<F: FnMut(&[u8]) -> Result<(), MediaSinkError> + Send> MediaChunkSink for FnSink<F> {
    fn write<'a>(&'a mut self, plaintext: &'a [u8]) -> BoxFuture<'a, Result<(), MediaSinkError>> {
        Box::pin(std::future::ready((self.0)(plaintext)))
    }
}
