//! An S3-compatible server for the tests: `s3s-fs` (an independent implementation that checks
//! SigV4 signatures) serving a temporary directory on `127.0.0.1`, owned by the test and stopped
//! when dropped.
//!
//! `s3s-fs` writes a CopyObject destination in place (`fs::copy` truncates, then writes), so two
//! concurrent copies to one key let a reader see a short object: the cause of a once-flaky
//! conformance check (`concurrent_uploads_of_the_same_bytes`: "after the copy it holds
//! Some(983040) bytes instead of 9437184"). Real S3 publishes a copy atomically; [`AtomicCopy`]
//! makes the test server do the same (copy to a fresh key, then rename over the destination).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result};

use hyper_util::rt::TokioIo;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tempfile::TempDir;
use tokio::task::{JoinHandle, JoinSet};
use wecom_blob::S3Config;

pub const ACCESS_KEY: &str = "AKIDTESTWECOMBLOB";
pub const SECRET_KEY: &str = "test-secret-key-not-for-production";
pub const BUCKET: &str = "media";

pub struct S3Server {
    pub dir: TempDir,
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl S3Server {
    /// Starts a server with an empty bucket [`BUCKET`]. Call inside a tokio runtime.
    pub fn start() -> S3Server {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join(BUCKET)).expect("bucket");
        Self::serve(dir, "127.0.0.1:0".parse().expect("addr"))
    }

    /// Serves `dir` on `addr` (which may be a port used before: std sets SO_REUSEADDR).
    pub fn serve(dir: TempDir, addr: SocketAddr) -> S3Server {
        let fs = s3s_fs::FileSystem::new(dir.path()).expect("s3s-fs");
        let mut builder = S3ServiceBuilder::new(AtomicCopy {
            inner: fs,
            root: dir.path().to_owned(),
            copies: AtomicU64::new(0),
        });
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let listener = std::net::TcpListener::bind(addr).expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("local addr");
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
        let task = tokio::spawn(async move {
            // Dropping the set (when the task is aborted) aborts every connection.
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let service = service.clone();
                connections.spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        S3Server { dir, addr, task }
    }

    /// Stops serving (closing the listener and every connection); the data stays in the
    /// directory, to serve again.
    pub async fn stop(self) -> (TempDir, SocketAddr) {
        self.task.abort();
        let _ = self.task.await;
        (self.dir, self.addr)
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A store configuration for this server with `prefix`.
    pub fn config(&self, prefix: &str) -> S3Config {
        let mut config =
            S3Config::new(self.endpoint(), "us-east-1", BUCKET, ACCESS_KEY, SECRET_KEY);
        config.prefix = prefix.to_string();
        config
    }

    pub fn bucket_dir(&self) -> PathBuf {
        self.dir.path().join(BUCKET)
    }
}

/// Multipart uploads `s3s-fs` still holds (it keeps them as `.upload*` files in its root).
pub fn open_uploads(root: &Path) -> Vec<String> {
    std::fs::read_dir(root)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with(".upload"))
                .collect()
        })
        .unwrap_or_default()
}

/// `s3s-fs` with CopyObject published atomically, as S3 does: the copy goes to a fresh key next
/// to the destination, whose file (and sidecars) are then renamed over it. Every other operation
/// our backend uses is passed through.
struct AtomicCopy {
    inner: s3s_fs::FileSystem,
    root: PathBuf,
    copies: AtomicU64,
}

impl AtomicCopy {
    /// The files `s3s-fs` keeps for an object: its bytes, then its sidecars in the root.
    fn files(&self, bucket: &str, key: &str) -> [PathBuf; 3] {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let sidecar = |what: &str| {
            self.root.join(format!(
                ".bucket-{}.object-{}.{what}.json",
                b64(bucket),
                b64(key)
            ))
        };
        [
            sidecar("metadata"),
            sidecar("internal"),
            self.root.join(bucket).join(key),
        ]
    }
}

#[async_trait::async_trait]
impl S3 for AtomicCopy {
    async fn copy_object(
        &self,
        mut req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let bucket = req.input.bucket.clone();
        let key = req.input.key.clone();
        let n = self.copies.fetch_add(1, Ordering::Relaxed);
        let staging = format!("{key}.copy-{n}");
        req.input.key.clone_from(&staging);
        let out = self.inner.copy_object(req).await;
        let from = self.files(&bucket, &staging);
        if out.is_ok() {
            // Sidecars first, the bytes last: the rename of the bytes is the publish.
            for (from, to) in from.iter().zip(self.files(&bucket, &key)) {
                if from.exists() {
                    std::fs::rename(from, &to).map_err(|e| s3s::s3_error!(e, InternalError))?;
                }
            }
        } else {
            for path in from {
                let _ = std::fs::remove_file(path);
            }
        }
        out
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        self.inner.put_object(req).await
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        self.inner.get_object(req).await
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        self.inner.head_object(req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.inner.delete_object(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.inner.create_multipart_upload(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.inner.upload_part(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.inner.complete_multipart_upload(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.inner.abort_multipart_upload(req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.inner.list_objects_v2(req).await
    }
}
