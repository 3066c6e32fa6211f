//! The S3 backend against an in-process `s3s-fs` server: the conformance suite, then outages,
//! credentials and cleanup of multipart uploads.

use std::time::Duration;

use wecom_blob::conformance::{self, CHUNK, Fixture, Generated, Probe};
use wecom_blob::{
    Area, BlobErrorKind, BlobStore, Expectations, Rendition, RenditionKind, S3BlobStore, S3Config,
};

use crate::files_below;
use crate::s3_server::{ACCESS_KEY, BUCKET, S3Server, SECRET_KEY, open_uploads};

const PREFIX: &str = "archive/media";

struct S3Probe {
    server: S3Server,
}

impl Probe for S3Probe {
    fn published(&self) -> Vec<String> {
        let bucket = self.server.bucket_dir();
        let mut keys = files_below(&bucket, &bucket.join(PREFIX).join("objects"));
        keys.extend(files_below(
            &bucket,
            &bucket.join(PREFIX).join("quarantine"),
        ));
        keys
    }

    fn leftovers(&self) -> Vec<String> {
        let bucket = self.server.bucket_dir();
        let mut left = files_below(&bucket, &bucket.join(PREFIX).join("tmp"));
        left.extend(open_uploads(self.server.dir.path()));
        left
    }
}

fn fixture() -> Fixture {
    let server = S3Server::start();
    let store = S3BlobStore::new(&server.config(PREFIX)).expect("store");
    Fixture {
        store: Box::new(store),
        probe: Box::new(S3Probe { server }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_on_s3() {
    conformance::run_all(&mut fixture).await;
}

#[tokio::test]
async fn keys_and_location() {
    let server = S3Server::start();
    let store = S3BlobStore::new(&server.config("/archive/media/")).expect("store");
    let info = store.describe();
    assert_eq!(
        (info.kind, info.location.as_str()),
        ("s3", "s3://media/archive/media")
    );
    let stored = conformance::upload(&store, [b"GIF89a tiny".to_vec()], Expectations::default())
        .await
        .expect("upload");
    let sha = stored.sha256.as_str();
    assert_eq!(
        stored.key,
        format!("archive/media/objects/{}/{sha}", &sha[..2])
    );
    assert_eq!(stored.content_type, "image/gif");
    assert!(server.bucket_dir().join(&stored.key).is_file());

    let no_prefix = S3BlobStore::new(&server.config("")).expect("store");
    assert_eq!(no_prefix.describe().location, "s3://media/");
    assert_eq!(
        no_prefix.key(Area::Quarantine, &stored.sha256),
        format!("quarantine/{}/{sha}", &sha[..2])
    );

    // A rendition is one object under the prefix, named by its original's digest.
    let rendition = Rendition::new(stored.sha256.clone(), RenditionKind::Wav);
    let key = store.rendition_key(&rendition);
    assert_eq!(
        key,
        format!("archive/media/renditions/{}/{sha}.wav", &sha[..2])
    );
    store
        .put_rendition(&rendition, b"RIFF a wav".to_vec().into())
        .await
        .expect("put rendition");
    assert_eq!(
        std::fs::read(server.bucket_dir().join(&key)).expect("kept"),
        b"RIFF a wav"
    );
    assert_eq!(
        no_prefix.rendition_key(&rendition),
        format!("renditions/{}/{sha}.wav", &sha[..2])
    );
}

#[tokio::test]
async fn unreachable_server_is_unavailable_and_explained() {
    // A port that was just free: nothing listens there.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port");
    let mut config = S3Config::new(
        format!("http://{addr}"),
        "us-east-1",
        BUCKET,
        ACCESS_KEY,
        SECRET_KEY,
    );
    config.connect_timeout = Duration::from_secs(2);
    let store = S3BlobStore::new(&config).expect("store");
    let error = conformance::upload(&store, [b"hello".to_vec()], Expectations::default())
        .await
        .expect_err("nothing listens");
    assert_eq!(error.kind(), BlobErrorKind::Unavailable, "{error}");
    assert!(error.is_retryable());
    let message = error.to_string();
    assert!(message.contains(&addr.to_string()), "{message}");
    assert!(
        message.to_lowercase().contains("connection refused"),
        "{message}"
    );
    assert!(!message.contains(SECRET_KEY), "{message}");
    let error = store
        .open(Area::Objects, &wecom_blob::Sha256Hex::of(b"x"))
        .await
        .expect_err("nothing listens");
    assert_eq!(error.kind(), BlobErrorKind::Unavailable, "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_lost_mid_upload_then_back() {
    let server = S3Server::start();
    let mut config = server.config(PREFIX);
    config.max_attempts = 1;
    let store = S3BlobStore::new(&config).expect("store");
    let data = Generated::new(50, 20 * 1024 * 1024);
    let mut chunks = data.chunks(CHUNK);
    let mut writer = store.begin().await.expect("begin");
    // 9 MiB: the first part is uploaded, a multipart upload is open on the server.
    for chunk in chunks.by_ref().take(18) {
        writer.write_chunk(&chunk).await.expect("write");
    }
    assert!(!open_uploads(server.dir.path()).is_empty());

    let (dir, addr) = server.stop().await;
    let error = async {
        for chunk in chunks.by_ref() {
            writer.write_chunk(&chunk).await?;
        }
        writer.finish(Expectations::default()).await
    }
    .await
    .expect_err("server is gone");
    assert_eq!(error.kind(), BlobErrorKind::Unavailable, "{error}");
    assert!(error.to_string().contains(&addr.to_string()), "{error}");
    // The upload could not be aborted while the server was away; the store remembers it.
    assert_eq!(store.pending_cleanups(), 1);

    let server = S3Server::serve(dir, addr);
    assert!(!open_uploads(server.dir.path()).is_empty());
    let stored = conformance::upload(&store, data.chunks(CHUNK), Expectations::default())
        .await
        .expect("upload after the outage");
    assert_eq!(store.pending_cleanups(), 0);
    assert_eq!(open_uploads(server.dir.path()), Vec::<String>::new());
    assert_eq!(
        files_below(
            &server.bucket_dir(),
            &server.bucket_dir().join(PREFIX).join("tmp")
        ),
        Vec::<String>::new()
    );
    conformance::assert_stored(&store, Area::Objects, &stored.sha256, data).await;
}

#[tokio::test]
async fn wrong_credentials_are_rejected_and_explained() {
    let server = S3Server::start();
    let wrong_secret = S3Config {
        secret_key: "not-the-secret".into(),
        ..server.config(PREFIX)
    };
    let store = S3BlobStore::new(&wrong_secret).expect("store");
    let error = conformance::upload(&store, [b"hello".to_vec()], Expectations::default())
        .await
        .expect_err("bad signature");
    assert_eq!(error.kind(), BlobErrorKind::Rejected, "{error}");
    assert!(!error.is_retryable());
    let message = error.to_string();
    assert!(message.contains("http 403"), "{message}");
    assert!(message.contains("check the"), "{message}");
    assert!(!message.contains("not-the-secret"), "{message}");

    let wrong_key = S3Config {
        access_key: "AKIDUNKNOWN".into(),
        ..server.config(PREFIX)
    };
    let store = S3BlobStore::new(&wrong_key).expect("store");
    let error = conformance::upload(
        &store,
        Generated::new(51, 9 * 1024 * 1024).chunks(CHUNK),
        Expectations::default(),
    )
    .await
    .expect_err("unknown key");
    assert_eq!(error.kind(), BlobErrorKind::Rejected, "{error}");
    assert_eq!(open_uploads(server.dir.path()), Vec::<String>::new());
}

/// Issue 11 item 16: concurrent publishes of one object (CopyObject to the same key) all succeed,
/// none is reported corrupt, and a reader watching the key never sees it short — it is absent or
/// whole. Failed (once in CI, often with more writers) while the test server copied in place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishes_never_show_or_report_a_short_object() {
    let server = S3Server::start();
    let store = std::sync::Arc::new(S3BlobStore::new(&server.config(PREFIX)).expect("store"));
    let data = Generated::new(99, 9 * 1024 * 1024);
    let (sha256, md5) = data.digests();
    let mut writers = Vec::new();
    for _ in 0..4 {
        writers.push(store.begin().await.expect("begin"));
    }
    for chunk in data.chunks(CHUNK) {
        for w in &mut writers {
            w.write_chunk(&chunk).await.expect("write");
        }
    }
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (store, sha256, done) = (store.clone(), sha256.clone(), done.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let size = store.size(Area::Objects, &sha256).await.expect("size");
                if size.is_some_and(|s| s != data.len) {
                    seen.push(size);
                }
                tokio::task::yield_now().await;
            }
            seen
        })
    };
    let finishes = writers.into_iter().map(|w| {
        w.finish(Expectations {
            size: Some(data.len),
            md5: Some(md5.clone()),
            ..Expectations::default()
        })
    });
    let results = futures_join_all(finishes).await;
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let short = watcher.await.expect("watcher");
    for r in results {
        let stored = r.expect("every concurrent publish succeeds");
        assert_eq!(
            (stored.sha256.as_str(), stored.size),
            (sha256.as_str(), data.len)
        );
    }
    assert_eq!(
        short,
        Vec::<Option<u64>>::new(),
        "the object was seen short"
    );
    assert_eq!(
        store.size(Area::Objects, &sha256).await.expect("size"),
        Some(data.len)
    );
}

/// Runs the futures concurrently and returns their outputs in order.
async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("join"));
    }
    out
}

/// The method, path and headers of every request a [`fixed_answer_server`] received.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, String, hyper::HeaderMap)>>>;

/// Serves every request on 127.0.0.1 with `status` and an S3 error document with `code`, until
/// the returned task is aborted, recording what it received.
fn fixed_answer_server(
    status: u16,
    code: &'static str,
) -> (String, Seen, tokio::task::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
    let seen = Seen::default();
    let recorder = seen.clone();
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            let recorder = recorder.clone();
            connections.spawn(async move {
                let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
                    recorder.lock().expect("lock").push((
                        request.method().to_string(),
                        request.uri().path().to_string(),
                        request.headers().clone(),
                    ));
                    async move {
                        let body = format!(
                            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
                             <Message>answer &lt;{status}&gt;</Message></Error>"
                        );
                        hyper::Response::builder()
                            .status(status)
                            .header("content-type", "application/xml")
                            .body(body)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), seen, task)
}

/// Every body goes out with a CRC64-NVME checksum the server can verify (object_store computes
/// it), signed, with the content type; requests are path-style.
#[tokio::test]
async fn uploads_carry_a_checksum_and_their_content_type() {
    let (endpoint, seen, task) = fixed_answer_server(503, "SlowDown");
    let mut config = S3Config::new(&endpoint, "us-east-1", BUCKET, ACCESS_KEY, SECRET_KEY);
    config.max_attempts = 1;
    config.prefix = PREFIX.into();
    let store = S3BlobStore::new(&config).expect("store");
    let rendition = Rendition::new(wecom_blob::Sha256Hex::of(b"x"), RenditionKind::Wav);
    store
        .put_rendition(&rendition, b"RIFF a wav".to_vec().into())
        .await
        .expect_err("the server is busy");
    task.abort();
    let seen = seen.lock().expect("lock").clone();
    let [(method, path, headers)] = &seen[..] else {
        panic!("one request expected: {seen:?}");
    };
    assert_eq!(method, "PUT");
    assert_eq!(
        path,
        &format!("/{BUCKET}/{}", store.rendition_key(&rendition))
    );
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // CRC64-NVME of the body, base64 of 8 bytes.
    let crc = header("x-amz-checksum-crc64nvme").expect("checksum header");
    assert_eq!(crc.len(), 12, "{crc}");
    assert!(
        header("authorization").is_some_and(|a| a.contains("x-amz-checksum-crc64nvme")),
        "the checksum is signed: {headers:?}"
    );
    assert_eq!(header("content-type"), Some("audio/wav"));
    assert_eq!(header("content-length"), Some("10"));
}

/// The status and S3 error code object_store reports are found and mapped to kinds with a hint:
/// object_store keeps them in its error text, so this checks the mapping against its real format.
#[tokio::test]
async fn server_answers_are_classified_with_their_s3_code() {
    use BlobErrorKind::*;
    let cases = [
        (404, "NoSuchKey", NotFound, "no object"),
        (
            404,
            "NoSuchBucket",
            Rejected,
            "create the bucket or fix its name",
        ),
        (
            403,
            "AccessDenied",
            Rejected,
            "check the credentials and the bucket policy",
        ),
        (
            403,
            "SignatureDoesNotMatch",
            Rejected,
            "check the secret key and region",
        ),
        (
            400,
            "InvalidArgument",
            Rejected,
            "http 400 InvalidArgument: answer <400>",
        ),
        (400, "BadDigest", Io, "http 400 BadDigest"),
        (501, "NotImplemented", Rejected, "http 501 NotImplemented"),
        (503, "SlowDown", Unavailable, "http 503 SlowDown"),
        (507, "XMinioStorageFull", DiskFull, "http 507"),
    ];
    let sha = wecom_blob::Sha256Hex::of(b"x");
    for (status, code, kind, needle) in cases {
        let (endpoint, _seen, task) = fixed_answer_server(status, code);
        let mut config = S3Config::new(&endpoint, "us-east-1", BUCKET, ACCESS_KEY, SECRET_KEY);
        config.max_attempts = 1;
        let store = S3BlobStore::new(&config).expect("store");
        let read = store.open(Area::Objects, &sha).await.expect_err("refused");
        let rendition = Rendition::new(sha.clone(), RenditionKind::Wav);
        let write = store
            .put_rendition(&rendition, b"RIFF".to_vec().into())
            .await
            .expect_err("refused");
        for error in [read, write] {
            assert_eq!(error.kind(), kind, "{status} {code}: {error}");
            let message = error.to_string();
            assert!(message.contains(needle), "{status} {code}: {message}");
            assert!(message.contains(&endpoint), "{message}");
            assert!(!message.contains(SECRET_KEY), "{message}");
        }
        task.abort();
    }
}
