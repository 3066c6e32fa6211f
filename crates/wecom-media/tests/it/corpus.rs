//! A synced corpus, downloaded: every reference (nested ones included) becomes a verified object
//! named by its SHA-256, with what the archive records about it.

use std::collections::{BTreeMap, BTreeSet};

use wecom_blob::Sha256Hex;
use wecom_store::{MediaArea, MediaJobState};

use crate::{CORP, count, files_below, options, setup};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synced_corpus_ends_with_every_object_verified_and_stored() {
    let s = setup(300).await;
    s.sync().await;

    // One job per reference, nested ones included, created with their messages.
    let specs: BTreeMap<String, wecom_emulator::MediaSpec> = s
        .emulator
        .records()
        .into_iter()
        .flat_map(|r| r.media)
        .map(|m| (m.sdkfileid.clone(), m))
        .collect();
    let references: usize = s.emulator.records().iter().map(|r| r.media.len()).sum();
    let jobs = s.jobs();
    assert_eq!(jobs.len(), references);
    assert!(
        jobs.iter().any(|j| j.path.contains(".item[")),
        "no nested reference"
    );
    assert_eq!(count(&jobs, MediaJobState::Pending), references);

    let mut opts = options();
    let received = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    opts.received_bytes = Some(received.clone());
    let report = s.drain(opts).await;
    assert_eq!(report.done as usize, references, "{report:?}");
    // The progress counter saw every byte as it arrived (deduplicated objects are downloaded too).
    assert!(
        received.load(std::sync::atomic::Ordering::Relaxed) >= report.bytes,
        "{report:?}"
    );
    assert_eq!(
        (report.failed, report.retry_later, report.expired),
        (0, 0, 0)
    );

    let jobs = s.jobs();
    assert_eq!(count(&jobs, MediaJobState::Done), references);
    let root = s.blob_root();
    let mut stored = BTreeSet::new();
    for job in &jobs {
        let spec = &specs[&job.sdkfileid];
        let media = s
            .store
            .reader
            .message_media(CORP, &job.msgid)
            .expect("message media");
        let entry = media
            .iter()
            .find(|m| m.job.id == job.id)
            .expect("job listed with its message");
        let object = entry.object.as_ref().expect("a done job has its object");
        assert_eq!(object.area, MediaArea::Objects);
        assert_eq!(object.size, spec.size, "{}", job.path);
        assert_eq!(object.md5, spec.actual_md5());
        assert_eq!(Some(&object.sha256), job.sha256.as_ref());
        assert_eq!(object.backend, "fs");
        assert_eq!(job.md5_expected, spec.md5, "md5 as sent is kept");
        // The file is named by its SHA-256 and holds exactly the bytes.
        let path = root.join(&object.key);
        assert_eq!(
            object.key,
            format!("objects/{}/{}", &object.sha256[..2], object.sha256)
        );
        let bytes = std::fs::read(&path).expect("stored file");
        assert_eq!(Sha256Hex::of(&bytes).to_string(), object.sha256);
        assert!(bytes == wecom_emulator::media_bytes(spec));
        match spec.format {
            wecom_emulator::MediaFormat::Jpeg if spec.size > 16 => {
                assert_eq!(object.content_type, "image/jpeg");
            }
            wecom_emulator::MediaFormat::Amr => assert_eq!(object.content_type, "audio/amr"),
            _ => {}
        }
        stored.insert((object.sha256.clone(), object.size));
    }

    let stats = s.store.reader.media_stats(CORP).expect("stats");
    assert_eq!(stats.total as usize, references);
    assert_eq!(stats.done as usize, references);
    assert_eq!(
        stats.pending + stats.failed_retryable + stats.failed_permanent,
        0
    );
    assert_eq!(stats.oldest_pending_msgtime_ms, None);
    assert_eq!(stats.objects as usize, stored.len());
    assert_eq!(stats.bytes, stored.iter().map(|(_, n)| n).sum::<u64>());
    assert_eq!(files_below(&root, &root.join("tmp")), Vec::<String>::new());
    assert_eq!(
        files_below(&root, &root.join("quarantine")),
        Vec::<String>::new()
    );
    assert_eq!(
        files_below(&root, &root.join("objects")).len(),
        stored.len()
    );

    // Nothing is due any more: a second drain starts nothing and asks nothing.
    let requests = s.emulator.media_request_count();
    let again = s.drain(options()).await;
    assert_eq!(again.started, 0);
    assert_eq!(s.emulator.media_request_count(), requests);

    // New messages get their jobs on the next sync; only those are downloaded.
    s.emulator.append(60);
    s.sync().await;
    let added: usize = s
        .emulator
        .records()
        .iter()
        .map(|r| r.media.len())
        .sum::<usize>()
        - references;
    let report = s.drain(options()).await;
    assert_eq!(report.done as usize, added);
    assert_eq!(count(&s.jobs(), MediaJobState::Done), references + added);
    s.shutdown().await;
}
