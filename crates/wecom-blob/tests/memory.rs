//! Memory does not grow with object size: 64 MiB streamed through each backend in 512 KiB chunks
//! must leave the process's peak RSS far below the object (the budget for a 200 MB object is
//! 64 MB). Its own test binary, so that no other test shares the process whose peak is measured.

#[path = "it/s3_server.rs"]
#[allow(dead_code)] // shared with the `it` binary, which uses all of it
mod s3_server;

use wecom_blob::conformance::{self, CHUNK, Generated};
use wecom_blob::{Area, BlobStore, Expectations, FsBlobStore, S3BlobStore};

const OBJECT: u64 = 64 * 1024 * 1024;
/// Whole-object buffering would show as 64 MiB or more.
const FS_BUDGET_KIB: u64 = 24 * 1024;
/// One 8 MiB part in the client, plus the in-process server's buffers.
const S3_BUDGET_KIB: u64 = 48 * 1024;

/// Peak resident set size of this process since the last [`reset_peak`], in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak rss");
}

async fn stream_through(store: &dyn BlobStore, data: Generated) -> u64 {
    reset_peak();
    let stored = conformance::upload(store, data.chunks(CHUNK), Expectations::default())
        .await
        .expect("upload");
    assert_eq!(stored.size, data.len);
    conformance::assert_stored(store, Area::Objects, &stored.sha256, data).await;
    peak_rss_kib()
}

#[test]
fn peak_memory_does_not_grow_with_object_size() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let fs = FsBlobStore::open(dir.path()).expect("open");
        let peak = stream_through(&fs, Generated::new(60, OBJECT)).await;
        eprintln!("fs: peak rss {} KiB streaming {} MiB", peak, OBJECT >> 20);
        assert!(peak < FS_BUDGET_KIB, "fs backend: peak rss {peak} KiB");

        // The in-process server's own memory counts here too.
        let server = s3_server::S3Server::start();
        let s3 = S3BlobStore::new(&server.config("mem")).expect("store");
        let peak = stream_through(&s3, Generated::new(61, OBJECT)).await;
        eprintln!("s3: peak rss {} KiB streaming {} MiB", peak, OBJECT >> 20);
        assert!(peak < S3_BUDGET_KIB, "s3 backend: peak rss {peak} KiB");
    });
}
