//! The sync engine against a real emulator on a loopback port and a real SQLite store.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use wecom_client::{ClientConfig, NativeClient, RetryPolicy};
use wecom_crypto::{KeyRing, PrivateKey};
use wecom_emulator::{CorpusSpec, Emulator, EmulatorConfig, Fault};
use wecom_model::{ConversationKey, Envelope, parse_envelope, quote_matches, understand};
use wecom_store::{ArchiveReader, SqliteReader, SqliteStore};
use wecom_sync::{SharedStore, SyncError, SyncOptions, redecrypt, sync_until_caught_up};

mod store_faults;

const CORP: &str = "wwsynctest0000001";
const SECRET: &str = "sync-test-secret";

struct Setup {
    emulator: Emulator,
    base: String,
    client: NativeClient,
    keys: Vec<(u32, PrivateKey)>,
    stop: CancellationToken,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn setup(messages: usize, rotate_at: Option<u64>) -> Setup {
    let keys: Vec<(u32, PrivateKey)> = (1..=if rotate_at.is_some() { 2 } else { 1 })
        .map(|v| (v, PrivateKey::generate_rsa2048().expect("keygen")))
        .collect();
    let mut config = EmulatorConfig::new(
        CorpusSpec {
            corp_id: CORP.to_owned(),
            ..CorpusSpec::new(7, messages)
        },
        keys.iter().map(|(v, k)| (*v, k.public_key())).collect(),
    );
    config.corp_id = CORP.into();
    config.secret = SECRET.into();
    config.rotate_to_v2_after_seq = rotate_at;
    let emulator = Emulator::new(config).expect("emulator");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let mut cc = ClientConfig::new(base.clone(), CORP, SECRET);
    cc.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
    };
    let stop = CancellationToken::new();
    let server = tokio::spawn(wecom_emulator::serve(
        emulator.clone(),
        listener,
        stop.clone().cancelled_owned(),
    ));
    Setup {
        emulator,
        base,
        client: NativeClient::new(cc).expect("client"),
        keys,
        stop,
        server,
    }
}

impl Setup {
    fn emulator_base(&self) -> &str {
        &self.base
    }

    fn ring(&self, versions: &[u32]) -> Arc<KeyRing> {
        let mut ring = KeyRing::new();
        for (v, k) in &self.keys {
            if versions.contains(v) {
                ring.insert(
                    *v,
                    PrivateKey::from_pkcs8_der(k.to_pkcs8_der()).expect("copy key"),
                );
            }
        }
        Arc::new(ring)
    }

    async fn shutdown(self) {
        self.stop.cancel();
        self.server.await.expect("join").expect("server");
    }
}

fn store() -> (SharedStore, Arc<SqliteReader>) {
    let s = Arc::new(SqliteStore::open_in_memory().expect("store"));
    (s.clone(), s.reader())
}

fn ids(store: &SqliteReader) -> Vec<(u64, String)> {
    store.record_ids(CORP).expect("ids")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_runs_resume_to_exactly_the_served_records() {
    let s = setup(1234, None).await;
    let (shared, concrete) = store();
    let ring = s.ring(&[1]);
    let mut opts = SyncOptions::new(CORP);
    opts.page_limit = 100;
    opts.max_pages = Some(3);
    let r = sync_until_caught_up(
        &s.client,
        shared.clone(),
        ring.clone(),
        &opts,
        &CancellationToken::new(),
        &|_| {},
    )
    .await
    .expect("partial sync");
    assert_eq!((r.pages, r.records, r.cursor_after), (3, 300, 300));
    assert_eq!(ids(&concrete).len(), 300);

    opts.max_pages = None;
    let r = sync_until_caught_up(
        &s.client,
        shared.clone(),
        ring.clone(),
        &opts,
        &CancellationToken::new(),
        &|_| {},
    )
    .await
    .expect("resume");
    assert_eq!(
        (r.cursor_before, r.cursor_after, r.inserted, r.duplicates),
        (300, 1234, 934, 0)
    );
    let expected: Vec<(u64, String)> = s
        .emulator
        .records()
        .into_iter()
        .map(|r| (r.seq, r.msgid))
        .collect();
    assert_eq!(ids(&concrete), expected);

    // Exact plaintext bytes, as the emulator encrypted them.
    for rec in s.emulator.records().iter().step_by(97) {
        let got = concrete.plaintext(CORP, &rec.msgid).expect("read");
        assert_eq!(
            got.as_deref(),
            Some(rec.plaintext.as_bytes()),
            "{}",
            rec.msgid
        );
    }

    // Replaying from an older cursor is harmless.
    let r = sync_until_caught_up(
        &s.client,
        shared,
        ring,
        &opts,
        &CancellationToken::new(),
        &|_| {},
    )
    .await
    .expect("caught up");
    assert_eq!(r.records, 0);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_source_keeps_every_committed_page_and_the_cursor_after_it() {
    let s = setup(500, None).await;
    let (shared, concrete) = store();
    let mut opts = SyncOptions::new(CORP);
    opts.page_limit = 100;
    let r = sync_until_caught_up(
        &s.client,
        shared.clone(),
        s.ring(&[1]),
        &opts,
        &CancellationToken::new(),
        &|_| {},
    )
    .await
    .expect("sync");
    assert_eq!(r.cursor_after, 500);
    s.emulator.append(250);
    // Three attempts, three failures: the budget is spent on the first new page.
    s.emulator.inject(Fault::Http500, 3);
    let err = sync_until_caught_up(
        &s.client,
        shared.clone(),
        s.ring(&[1]),
        &opts,
        &CancellationToken::new(),
        &|_| {},
    )
    .await
    .expect_err("budget spent");
    match err {
        SyncError::Source { cursor, error, .. } => {
            assert_eq!(cursor, 500);
            assert!(
                error.message.contains("gave up after 3 attempts"),
                "{error}"
            );
        }
        other => panic!("unexpected error {other}"),
    }
    assert_eq!(concrete.cursor(CORP).expect("cursor"), 500);
    let r = sync_until_caught_up(
        &s.client,
        shared,
        s.ring(&[1]),
        &opts,
        &CancellationToken::new(),
        &|_| {},
    )
    .await
    .expect("recovered");
    assert_eq!(r.cursor_after, 750);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_keys_become_failures_that_redecrypt_resolves() {
    let s = setup(300, Some(200)).await;
    let (shared, concrete) = store();
    let opts = SyncOptions::new(CORP);
    let r = sync_until_caught_up(
        &s.client,
        shared.clone(),
        s.ring(&[1]),
        &opts,
        &CancellationToken::new(),
        &|_| {},
    )
    .await
    .expect("sync");
    assert_eq!((r.records, r.failed), (300, 100));
    let stats = concrete.stats(CORP).expect("stats");
    assert_eq!(stats.failed_by_code.get(&10007), Some(&100));

    let report = redecrypt(shared.clone(), s.ring(&[1]), CORP)
        .await
        .expect("redecrypt without key");
    assert_eq!(
        (report.attempted, report.fixed, report.still_failing),
        (100, 0, 100)
    );

    let report = redecrypt(shared, s.ring(&[1, 2]), CORP)
        .await
        .expect("redecrypt");
    assert_eq!(
        (report.attempted, report.fixed, report.still_failing),
        (100, 100, 0)
    );
    let stats = concrete.stats(CORP).expect("stats");
    assert_eq!((stats.decrypted, stats.failed), (300, 0));
    // Messages stored by redecrypt are linked like those of a sync: recalls whose record or
    // original failed at first are marked now.
    let recalls = assert_recalls_are_marked(&concrete, &s.emulator.records());
    assert!(recalls > 0);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_for_a_version_is_a_stored_failure_not_a_skip() {
    let s = setup(50, None).await;
    let (shared, _) = store();
    let mut ring = KeyRing::new();
    ring.insert(1, PrivateKey::generate_rsa2048().expect("keygen"));
    let r = sync_until_caught_up(
        &s.client,
        shared.clone(),
        Arc::new(ring),
        &SyncOptions::new(CORP),
        &CancellationToken::new(),
        &|_| {},
    )
    .await
    .expect("sync");
    assert_eq!((r.records, r.failed), (50, 50));
    let failed = shared.failed_records(CORP, 100).expect("failures");
    assert_eq!(failed.len(), 50);
    assert!(
        failed
            .iter()
            .all(|f| f.failure.code == 10006 || f.failure.code == 10008),
        "{:?}",
        failed[0].failure
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_and_truncated_bodies_are_retried() {
    let s = setup(200, None).await;
    let (shared, _) = store();
    // A client whose requests time out well before the injected delay ends.
    let addr = s.emulator_base().to_owned();
    let mut cc = ClientConfig::new(addr, CORP, SECRET);
    cc.timeout = Duration::from_millis(300);
    cc.retry = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
    };
    let client = NativeClient::new(cc).expect("client");
    s.emulator
        .inject(Fault::Delay(Duration::from_millis(900)), 1);
    s.emulator.inject(Fault::TruncatedBody, 1);
    let mut opts = SyncOptions::new(CORP);
    opts.page_limit = 100;
    let r = sync_until_caught_up(
        &client,
        shared,
        s.ring(&[1]),
        &opts,
        &CancellationToken::new(),
        &|_| {},
    )
    .await
    .expect("sync despite faults");
    assert_eq!((r.records, r.cursor_after), (200, 200));
    s.shutdown().await;
}

/// A runner of one corp in its own task, stopped (and its setup shut down) by [`Runner::stop`].
struct Runner {
    handle: Arc<wecom_sync::RunnerHandle>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Runner {
    fn spawn(
        s: &Arc<Setup>,
        store: SharedStore,
        opts: SyncOptions,
        pacing: wecom_sync::RunnerOptions,
    ) -> Runner {
        let handle = wecom_sync::RunnerHandle::new();
        let cancel = CancellationToken::new();
        let task = {
            let (s, handle, cancel) = (s.clone(), handle.clone(), cancel.clone());
            let ring = s.ring(&[1]);
            tokio::spawn(async move {
                wecom_sync::run_corp(&s.client, store, ring, &opts, &pacing, &handle, &cancel)
                    .await;
            })
        };
        Runner {
            handle,
            cancel,
            task,
        }
    }

    /// Cancels the runner, waits up to `limit` for it to stop and shuts `s` down.
    async fn stop(self, s: Arc<Setup>, limit: Duration) {
        self.cancel.cancel();
        tokio::time::timeout(limit, self.task)
            .await
            .expect("runner stops")
            .expect("join");
        match Arc::try_unwrap(s) {
            Ok(s) => s.shutdown().await,
            Err(_) => panic!("setup still shared"),
        }
    }
}

async fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !f() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_syncs_on_triggers_and_on_its_timer_and_coalesces_storms() {
    use wecom_sync::RunnerOptions;
    let s = Arc::new(setup(100, None).await);
    let (shared, _) = store();
    let synced = Arc::new(tokio::sync::Notify::new());
    let pacing = RunnerOptions {
        poll_interval: Duration::from_secs(30),
        min_gap: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        after_sync: vec![synced.clone()],
        lease: None,
    };
    let runner = Runner::spawn(&s, shared.clone(), SyncOptions::new(CORP), pacing);
    let handle = &runner.handle;
    wait_for("the first sync", Duration::from_secs(10), || {
        handle.status().cursor == 100
    })
    .await;
    // A sync that stored records tells whoever follows the messages (the media workers).
    tokio::time::timeout(Duration::from_secs(5), synced.notified())
        .await
        .expect("after_sync notified");

    // Only a trigger can explain a sync now: the timer is 30 s away.
    s.emulator.append(50);
    handle.trigger();
    wait_for("the triggered sync", Duration::from_secs(5), || {
        handle.status().cursor == 150
    })
    .await;

    // A storm of triggers costs a handful of syncs, not a hundred.
    let before = handle.status().syncs_ok;
    for _ in 0..100 {
        handle.trigger();
    }
    wait_for("the storm to settle", Duration::from_secs(5), || {
        !handle.status().in_flight && handle.status().syncs_ok > before
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let syncs = handle.status().syncs_ok - before;
    assert!(
        (1..=3).contains(&syncs),
        "100 triggers caused {syncs} syncs"
    );

    runner.stop(s, Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_reconciles_on_its_timer_and_backs_off_while_the_source_fails() {
    use wecom_sync::RunnerOptions;
    let s = Arc::new(setup(40, None).await);
    let (shared, _) = store();
    let pacing = RunnerOptions {
        poll_interval: Duration::from_millis(300),
        min_gap: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        ..RunnerOptions::default()
    };
    let runner = Runner::spawn(&s, shared.clone(), SyncOptions::new(CORP), pacing);
    let handle = &runner.handle;
    wait_for("the first sync", Duration::from_secs(10), || {
        handle.status().cursor == 40
    })
    .await;
    s.emulator.append(10);
    wait_for(
        "the timer's sync (no trigger)",
        Duration::from_secs(5),
        || handle.status().cursor == 50,
    )
    .await;

    // Every attempt fails for a while (3 attempts per sync): failures are counted, then it recovers.
    s.emulator.append(5);
    s.emulator.inject(Fault::Http500, 9);
    wait_for("failures", Duration::from_secs(10), || {
        handle.status().syncs_failed >= 2
    })
    .await;
    assert!(handle.status().last_error.is_some());
    wait_for("recovery", Duration::from_secs(10), || {
        handle.status().cursor == 55
    })
    .await;
    assert_eq!(handle.status().consecutive_failures, 0);
    runner.stop(s, Duration::from_secs(5)).await;
}

/// Envelopes of every record the emulator serves, in seq order.
fn envelopes(records: &[wecom_emulator::PlainRecord]) -> Vec<Envelope> {
    records
        .iter()
        .map(|r| parse_envelope(r.plaintext.as_bytes()).expect("emulator records parse"))
        .collect()
}

/// Every recall record's target is stored, kept, and marked with who recalled it and when.
/// Returns the number of recalls.
fn assert_recalls_are_marked(store: &SqliteReader, records: &[wecom_emulator::PlainRecord]) -> u64 {
    let mut recalls = 0;
    for envelope in envelopes(records) {
        let Some(target) = understand(&envelope).recall_of else {
            continue;
        };
        recalls += 1;
        let original = store
            .message(CORP, &target)
            .expect("read")
            .unwrap_or_else(|| panic!("recalled message {target} is kept"));
        assert_eq!(
            (
                original.recalled_by.as_deref(),
                original.recalled_by_user.as_deref(),
                original.recalled_at
            ),
            (
                Some(envelope.msgid.as_str()),
                Some(envelope.from.as_str()),
                Some(envelope.msgtime)
            ),
            "recall {} of {target}",
            envelope.msgid
        );
    }
    assert_eq!(store.stats(CORP).expect("stats").recalled, recalls);
    recalls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synced_corpus_is_linked_and_listed_by_conversation() {
    let s = setup(3000, None).await;
    let (shared, concrete) = store();
    let mut opts = SyncOptions::new(CORP);
    // Many pages, so links cross page boundaries.
    opts.page_limit = 250;
    let r = sync_until_caught_up(
        &s.client,
        shared,
        s.ring(&[1]),
        &opts,
        &CancellationToken::new(),
        &|_| {},
    )
    .await
    .expect("sync");
    assert_eq!((r.records, r.failed), (3000, 0));
    check_linked_corpus(&concrete, &s.emulator.records());
    s.shutdown().await;
}

/// The checks of [`a_synced_corpus_is_linked_and_listed_by_conversation`] on the synced store.
fn check_linked_corpus(store: &SqliteReader, records: &[wecom_emulator::PlainRecord]) {
    let envelopes = envelopes(records);

    // Conversations: exactly the corpus's, with every message in one of them.
    let keys: BTreeSet<String> = envelopes
        .iter()
        .map(|e| ConversationKey::of(e).to_string())
        .collect();
    let stats = store.stats(CORP).expect("stats");
    assert_eq!(stats.conversations, keys.len() as u64);
    let listed = store.conversations(CORP, usize::MAX, 0).expect("list");
    assert_eq!(
        listed
            .iter()
            .map(|c| c.key.clone())
            .collect::<BTreeSet<_>>(),
        keys
    );
    assert_eq!(listed.iter().map(|c| c.messages).sum::<u64>(), 3000);
    assert!(
        listed
            .windows(2)
            .all(|w| w[0].last_msgtime >= w[1].last_msgtime),
        "most recent first"
    );
    // The busiest conversation reads back whole, in time order, through the cursor.
    let busiest = listed
        .iter()
        .max_by_key(|c| c.messages)
        .expect("conversations");
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .conversation_messages(CORP, &busiest.key, after, 97)
            .expect("page");
        let Some(last) = page.last() else { break };
        after = Some((last.msgtime, last.seq));
        paged.extend(page);
    }
    assert_eq!(paged.len() as u64, busiest.messages);
    assert!(
        paged
            .windows(2)
            .all(|w| (w[0].msgtime, w[0].seq) < (w[1].msgtime, w[1].seq))
    );
    assert!(paged.iter().all(|m| m.conversation == busiest.key));

    let recalls = assert_recalls_are_marked(store, records);
    assert!(recalls >= 20, "the corpus has {recalls} recalls");

    // Quotes: the emulator quotes earlier plain texts of the same conversation; a link must point
    // at an earlier text of that conversation whose text the quote matches.
    let (mut quotes, mut linked) = (0u64, 0u64);
    for envelope in &envelopes {
        let Some(quote) = understand(envelope).quote else {
            continue;
        };
        quotes += 1;
        let reply = store
            .message(CORP, &envelope.msgid)
            .expect("read")
            .expect("stored");
        let Some(target) = reply.quote_of else {
            continue;
        };
        linked += 1;
        let quoted = store.message(CORP, &target).expect("read").expect("stored");
        assert_eq!(quoted.conversation, reply.conversation, "{target}");
        assert_eq!(quoted.msgtype.as_deref(), Some("text"));
        assert!(quoted.msgtime <= reply.msgtime);
        assert!(
            quote_matches(&quote, &quoted.from, &quoted.text),
            "{} quotes {target}",
            reply.msgid
        );
    }
    let ratio = linked as f64 / quotes.max(1) as f64;
    println!(
        "quotes linked: {linked} of {quotes} ({:.1}%)",
        ratio * 100.0
    );
    assert!(quotes >= 20, "the corpus has {quotes} quotes");
    assert!(ratio >= 0.9, "only {linked} of {quotes} quotes linked");
}

mod hostile {
    //! Hostile getchatdata answers: unreadable items, implausible seqs, replays, too many items.

    use super::*;
    use wecom_wire::SourceErrorKind;

    async fn sync(
        s: &Setup,
        shared: &SharedStore,
        opts: &SyncOptions,
    ) -> Result<wecom_sync::SyncReport, SyncError> {
        sync_until_caught_up(
            &s.client,
            shared.clone(),
            s.ring(&[1]),
            opts,
            &CancellationToken::new(),
            &|_| {},
        )
        .await
    }

    fn opts(limit: u32) -> SyncOptions {
        let mut opts = SyncOptions::new(CORP);
        opts.page_limit = limit;
        opts.replay_backoff = Duration::from_millis(5);
        opts
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unreadable_item_is_quarantined_and_everything_after_it_archived() {
        let s = setup(45, None).await;
        let (shared, concrete) = store();
        s.emulator.inject(Fault::UnreadableItem, 1);
        let r = sync(&s, &shared, &opts(10)).await.expect("sync goes on");
        assert_eq!(r.cursor_after, 45);
        assert_eq!(r.quarantined, 1);
        let archived = ids(&concrete);
        // Seq 1 came unreadable and is kept raw; every other record is archived.
        assert_eq!(archived.len(), 44);
        assert_eq!(archived[0].0, 2);
        let q = concrete.quarantined_items(CORP, 10).expect("q");
        assert_eq!(q.len(), 1);
        assert_eq!((q[0].seq, q[0].kind.as_str()), (Some(1), "unparseable"));

        s.emulator.append(5);
        s.emulator.inject(Fault::ItemWithoutMsgid, 1);
        let r = sync(&s, &shared, &opts(10)).await.expect("sync goes on");
        assert_eq!((r.cursor_after, r.quarantined), (50, 1));
        assert_eq!(ids(&concrete).len(), 48);
        s.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_implausible_seq_never_moves_the_cursor() {
        let s = setup(30, None).await;
        let (shared, concrete) = store();
        s.emulator.inject(Fault::ItemWithSeq { seq: u64::MAX }, 1);
        let r = sync(&s, &shared, &opts(10)).await.expect("sync");
        assert_eq!(r.cursor_after, 30, "later records still arrive");
        assert_eq!(r.quarantined, 1);
        assert_eq!(ids(&concrete).len(), 30);

        // A jump beyond max_seq_jump from a non-zero cursor: quarantined, the sync stops there.
        s.emulator.append(5);
        s.emulator.inject(
            Fault::ItemWithSeq {
                seq: 31 + 2_000_000_000,
            },
            1,
        );
        let mut o = opts(1);
        o.max_seq_jump = 1_000_000_000;
        let r = sync(&s, &shared, &o).await.expect("sync");
        assert_eq!(
            (r.cursor_after, r.held_at, r.quarantined),
            (30, Some(30), 1)
        );
        let r = sync(&s, &shared, &o).await.expect("sync");
        assert_eq!(r.cursor_after, 35, "the next sync gets the real records");
        let q = concrete.quarantined_items(CORP, 10).expect("q");
        let kinds: Vec<&str> = q.iter().map(|q| q.kind.as_str()).collect();
        assert_eq!(kinds, ["seq_jump", "implausible_seq"]);
        assert_eq!(concrete.cursor(CORP).expect("cursor"), 35);
        s.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_replay_only_server_ends_the_sync_with_a_clear_error() {
        let s = setup(20, None).await;
        let (shared, _concrete) = store();
        let r = sync(&s, &shared, &opts(10)).await.expect("sync");
        assert_eq!(r.cursor_after, 20);
        s.emulator.append(5);
        s.emulator.inject(Fault::ReplayFirstPage, 1000);
        let before = s.emulator.request_count();
        let e = sync(&s, &shared, &opts(10))
            .await
            .expect_err("replays only");
        let requests = s.emulator.request_count() - before;
        match &e {
            SyncError::ReplayOnly {
                cursor,
                attempts,
                partial,
            } => {
                assert_eq!((*cursor, *attempts), (20, 4));
                assert_eq!((partial.records, partial.replayed), (0, 40));
            }
            other => panic!("unexpected {other}"),
        }
        assert_eq!(requests, 4, "asked again three times, then stopped");
        assert!(
            e.to_string()
                .contains("only records already archived (seq ≤ 20)"),
            "{e}"
        );

        // One replay page among real ones: counted as replayed, not as records.
        s.emulator.clear_faults();
        s.emulator.inject(Fault::ReplayFirstPage, 1);
        let r = sync(&s, &shared, &opts(10)).await.expect("sync");
        assert_eq!((r.records, r.replayed, r.cursor_after), (5, 10, 25));
        s.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn more_items_than_the_limit_are_refused_and_nothing_is_committed() {
        let s = setup(40, None).await;
        let (shared, concrete) = store();
        s.emulator.inject(Fault::ExtraItems(5), 3);
        let e = sync(&s, &shared, &opts(10)).await.expect_err("refused");
        match &e {
            SyncError::Source { error, cursor, .. } => {
                assert_eq!(*cursor, 0);
                assert_eq!(
                    error.kind,
                    SourceErrorKind::TooManyItems { limit: 10, got: 15 }
                );
                assert!(
                    error.message.contains("gave up after 3 attempts"),
                    "{error}"
                );
            }
            other => panic!("unexpected {other}"),
        }
        assert!(ids(&concrete).is_empty());
        // Retried like other protocol errors: one bad answer is absorbed.
        s.emulator.inject(Fault::ExtraItems(1), 1);
        let r = sync(&s, &shared, &opts(10)).await.expect("retried");
        assert_eq!((r.records, r.cursor_after), (40, 40));
        s.shutdown().await;
    }
}
