//! An S3-compatible server for the tests: `s3s-fs` (an independent implementation that checks
//! SigV4 signatures) serving a temporary directory on `127.0.0.1`, owned by the test and stopped
//! when dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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
        let mut builder = S3ServiceBuilder::new(fs);
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
