//! The behavioural contract of [`BlobStore`], as checks every implementation must pass. Enable the
//! `conformance` feature to run it against another backend: `conformance::run_all(&mut || Fixture
//! { store, probe })`, where the [`Probe`] lists what the backend holds behind the trait's back.
//!
//! Checks go through the trait only (plus the probe), so they hold for any backend; what only one
//! backend does (file names, `.part` cleanup at open, S3 outages) is tested beside it. Objects are
//! generated and compared chunk by chunk, never held whole, so the suite itself stays small in
//! memory however large its objects.

use md5::{Digest as _, Md5};
use sha2::Sha256;
use tokio::io::AsyncReadExt as _;

use crate::store::BoxFuture;
use crate::{
    Area, BlobError, BlobErrorKind, BlobStore, BlobWriter, Expectations, OnMismatch, Rendition,
    RenditionKind, Sha256Hex, StoredObject,
};

/// The downloader's chunk size.
pub const CHUNK: usize = 512 * 1024;

/// What a backend holds besides what the trait shows, so checks can see that nothing leaks.
pub trait Probe: Send + Sync {
    /// Every published key (as [`StoredObject::key`] reports them), in any order.
    fn published(&self) -> Vec<String>;
    /// Temporary data still held: partial files, temporary objects, unfinished multipart uploads.
    fn leftovers(&self) -> Vec<String>;
}

/// A fresh, empty store and its probe.
pub struct Fixture {
    pub store: Box<dyn BlobStore>,
    pub probe: Box<dyn Probe>,
}

/// A check: gets a fresh fixture.
pub type Check = for<'a> fn(&'a Fixture) -> BoxFuture<'a, ()>;

/// Every behavioural check, by name.
pub fn checks() -> Vec<(&'static str, Check)> {
    macro_rules! check {
        ($name:ident) => {
            (stringify!($name), (|f| Box::pin($name(f))) as Check)
        };
    }
    vec![
        check!(small_object_round_trips),
        check!(empty_object),
        check!(exactly_one_chunk),
        check!(chunked_object),
        check!(large_object_streams),
        check!(same_bytes_are_stored_once),
        check!(size_mismatch_publishes_nothing),
        check!(md5_mismatch_publishes_nothing),
        check!(mismatch_can_be_quarantined),
        check!(abort_publishes_nothing),
        check!(dropped_writer_leaves_nothing),
        check!(concurrent_uploads_of_the_same_bytes),
        check!(missing_objects),
        check!(reads_from_an_offset),
        check!(renditions_live_beside_originals),
        check!(renditions_are_replaced_whole),
    ]
}

/// Runs every check, each on a fresh fixture from `make`. Panics on the first violation; the name
/// of the failing check is printed before it runs.
pub async fn run_all(make: &mut dyn FnMut() -> Fixture) {
    for (name, check) in checks() {
        eprintln!("conformance check: {name}");
        let fixture = make();
        check(&fixture).await;
        assert_eq!(
            fixture.probe.leftovers(),
            Vec::<String>::new(),
            "{name}: temporary data left behind"
        );
    }
}

/// Deterministic pseudo-random bytes, generated a chunk at a time.
#[derive(Debug, Clone, Copy)]
pub struct Generated {
    pub seed: u64,
    pub len: u64,
}

impl Generated {
    pub fn new(seed: u64, len: u64) -> Generated {
        Generated { seed, len }
    }

    /// The bytes in chunks of `chunk` bytes (the last may be shorter). Byte `i` depends only on
    /// the seed and `i`, so every chunking yields the same bytes.
    pub fn chunks(self, chunk: usize) -> impl Iterator<Item = Vec<u8>> {
        let chunk = chunk.max(1) as u64;
        let mut offset = 0u64;
        std::iter::from_fn(move || {
            if offset >= self.len {
                return None;
            }
            let end = self.len.min(offset + chunk);
            let mut out = Vec::with_capacity((end - offset) as usize + 16);
            let mut block = offset / 8;
            while block * 8 < end {
                out.extend_from_slice(&self.block(block).to_le_bytes());
                block += 1;
            }
            let skip = (offset % 8) as usize;
            out.truncate(skip + (end - offset) as usize);
            out.drain(..skip);
            offset = end;
            Some(out)
        })
    }

    /// Bytes `8 * index .. 8 * index + 8` (splitmix64 of the seed and the index).
    fn block(self, index: u64) -> u64 {
        let mut z = self
            .seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(index.wrapping_mul(0xBF58_476D_1CE4_E5B9));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// SHA-256 and MD5 (hex) of the bytes.
    pub fn digests(self) -> (Sha256Hex, String) {
        let (mut sha, mut md5) = (Sha256::new(), Md5::new());
        for chunk in self.chunks(CHUNK) {
            sha.update(&chunk);
            md5.update(&chunk);
        }
        (
            Sha256Hex::from_digest(&sha.finalize().into()),
            hex::encode(md5.finalize()),
        )
    }
}

/// Uploads `chunks` in order and finishes with `expect`.
pub async fn upload(
    store: &dyn BlobStore,
    chunks: impl IntoIterator<Item = Vec<u8>>,
    expect: Expectations,
) -> Result<StoredObject, BlobError> {
    let mut writer = store.begin().await?;
    for chunk in chunks {
        writer.write_chunk(&chunk).await?;
    }
    writer.finish(expect).await
}

/// Reads a whole (small) object.
pub async fn read_all(store: &dyn BlobStore, area: Area, sha256: &Sha256Hex) -> Vec<u8> {
    let mut reader = store.open(area, sha256).await.expect("open");
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).await.expect("read");
    assert_eq!(
        reader.size(),
        bytes.len() as u64,
        "announced size of {sha256}"
    );
    bytes
}

/// Streams an object back and checks it is byte for byte `expected`.
pub async fn assert_stored(
    store: &dyn BlobStore,
    area: Area,
    sha256: &Sha256Hex,
    expected: Generated,
) {
    let mut reader = store.open(area, sha256).await.expect("open");
    assert_eq!(reader.size(), expected.len, "announced size of {sha256}");
    let mut buf = vec![0; 64 * 1024];
    let mut read = 0u64;
    for chunk in expected.chunks(CHUNK) {
        let mut at = 0;
        while at < chunk.len() {
            let want = (chunk.len() - at).min(buf.len());
            let n = reader.read(&mut buf[..want]).await.expect("read");
            assert!(
                n > 0,
                "{sha256} ends after {} of {} bytes",
                read,
                expected.len
            );
            assert!(
                buf[..n] == chunk[at..at + n],
                "{sha256} differs near byte {read}"
            );
            at += n;
            read += n as u64;
        }
    }
    assert_eq!(
        reader.read(&mut buf).await.expect("read"),
        0,
        "{sha256} is too long"
    );
}

fn expect(size: u64, md5: &str) -> Expectations {
    Expectations {
        size: Some(size),
        md5: Some(md5.to_string()),
        on_mismatch: OnMismatch::Reject,
    }
}

/// Uploads `data` in `chunk`-byte chunks with correct expectations and checks everything the
/// store reports and holds.
async fn round_trip(f: &Fixture, data: Generated, chunk: usize) -> StoredObject {
    let (sha256, md5) = data.digests();
    let stored = upload(&*f.store, data.chunks(chunk), expect(data.len, &md5))
        .await
        .expect("upload");
    assert_eq!(stored.sha256, sha256);
    assert_eq!(stored.size, data.len);
    assert_eq!(stored.md5, md5);
    assert_eq!(stored.area, Area::Objects);
    assert_eq!(stored.key, f.store.key(Area::Objects, &sha256));
    assert!(!stored.deduplicated);
    assert_eq!(
        f.store.size(Area::Objects, &sha256).await.expect("size"),
        Some(data.len)
    );
    assert!(
        f.store
            .exists(Area::Objects, &sha256)
            .await
            .expect("exists")
    );
    assert!(
        !f.store
            .exists(Area::Quarantine, &sha256)
            .await
            .expect("exists")
    );
    assert_stored(&*f.store, Area::Objects, &sha256, data).await;
    assert!(
        f.probe.published().contains(&stored.key),
        "{} not published",
        stored.key
    );
    stored
}

async fn small_object_round_trips(f: &Fixture) {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(&[7; 1000]);
    let (sha256, md5) = (Sha256Hex::of(&png), hex::encode(Md5::digest(&png)));
    let stored = upload(
        &*f.store,
        [png.clone()],
        expect(png.len() as u64, &md5.to_uppercase()),
    )
    .await
    .expect("upload");
    assert_eq!(
        (
            stored.sha256.clone(),
            stored.size,
            stored.md5.as_str(),
            stored.content_type
        ),
        (sha256.clone(), png.len() as u64, md5.as_str(), "image/png")
    );
    assert_eq!(stored.key, f.store.key(Area::Objects, &sha256));
    assert!(
        stored
            .key
            .ends_with(&format!("objects/{}/{sha256}", &sha256.as_str()[..2]))
    );
    assert_eq!(read_all(&*f.store, Area::Objects, &sha256).await, png);
    assert_eq!(f.probe.published(), vec![stored.key]);

    // No expectations at all, or an empty MD5, mean no check.
    let jpeg = b"\xFF\xD8\xFF\xE0 a tiny jpeg".to_vec();
    let stored = upload(&*f.store, [jpeg.clone()], Expectations::default())
        .await
        .expect("upload");
    assert_eq!(stored.content_type, "image/jpeg");
    let empty_md5 = Expectations {
        md5: Some(String::new()),
        ..Expectations::default()
    };
    let again = upload(&*f.store, [jpeg.clone()], empty_md5)
        .await
        .expect("upload");
    assert!(again.deduplicated);
    assert_eq!(
        read_all(&*f.store, Area::Objects, &stored.sha256).await,
        jpeg
    );
}

async fn empty_object(f: &Fixture) {
    let stored = round_trip(f, Generated::new(1, 0), CHUNK).await;
    assert_eq!(
        stored.sha256.as_str(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(stored.md5, "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(stored.content_type, "application/octet-stream");
    // Empty chunks change nothing.
    let again = upload(&*f.store, [Vec::new(), Vec::new()], expect(0, &stored.md5))
        .await
        .expect("upload");
    assert_eq!(again.sha256, stored.sha256);
    assert!(again.deduplicated);
}

async fn exactly_one_chunk(f: &Fixture) {
    round_trip(f, Generated::new(2, CHUNK as u64), CHUNK).await;
}

async fn chunked_object(f: &Fixture) {
    round_trip(f, Generated::new(3, 1_300_000), CHUNK).await;
}

/// Crosses the S3 backend's multipart boundary (8 MiB parts) twice, with a short last part.
async fn large_object_streams(f: &Fixture) {
    round_trip(f, Generated::new(4, 20_000_000), CHUNK).await;
    // Chunks that do not divide the part size, and one of exactly two parts.
    round_trip(f, Generated::new(5, 16 * 1024 * 1024), 300_001).await;
    assert_eq!(f.probe.published().len(), 2);
}

async fn same_bytes_are_stored_once(f: &Fixture) {
    let data = Generated::new(6, 700_000);
    let first = round_trip(f, data, CHUNK).await;
    let (_, md5) = data.digests();
    // Other chunking, same bytes.
    let second = upload(&*f.store, data.chunks(4096), expect(data.len, &md5))
        .await
        .expect("upload");
    assert!(second.deduplicated);
    assert_eq!(
        (&second.sha256, &second.key, second.size),
        (&first.sha256, &first.key, first.size)
    );
    assert_eq!(f.probe.published(), vec![first.key]);
}

async fn size_mismatch_publishes_nothing(f: &Fixture) {
    for data in [
        Generated::new(7, 1000),
        Generated::new(8, 9 * 1024 * 1024 + 5),
    ] {
        let (sha256, md5) = data.digests();
        for wrong in [data.len - 1, data.len + 1] {
            let error = upload(&*f.store, data.chunks(CHUNK), expect(wrong, &md5))
                .await
                .expect_err("size mismatch");
            assert_eq!(error.kind(), BlobErrorKind::SizeMismatch, "{error}");
            assert!(error.is_retryable());
            assert!(
                !f.store
                    .exists(Area::Objects, &sha256)
                    .await
                    .expect("exists")
            );
            assert!(
                !f.store
                    .exists(Area::Quarantine, &sha256)
                    .await
                    .expect("exists")
            );
        }
    }
    assert_eq!(f.probe.published(), Vec::<String>::new());
}

async fn md5_mismatch_publishes_nothing(f: &Fixture) {
    for data in [Generated::new(9, 1000), Generated::new(10, 9 * 1024 * 1024)] {
        let (sha256, md5) = data.digests();
        let error = upload(
            &*f.store,
            data.chunks(CHUNK),
            expect(data.len, "0123456789abcdef0123456789abcdef"),
        )
        .await
        .expect_err("md5 mismatch");
        assert_eq!(error.kind(), BlobErrorKind::Md5Mismatch, "{error}");
        match &error {
            BlobError::Md5Mismatch {
                computed,
                sha256: reported,
                ..
            } => assert_eq!((computed, reported), (&md5, &sha256.to_string())),
            other => panic!("not an md5 mismatch: {other:?}"),
        }
        assert!(
            !f.store
                .exists(Area::Objects, &sha256)
                .await
                .expect("exists")
        );
    }
    assert_eq!(f.probe.published(), Vec::<String>::new());
}

async fn mismatch_can_be_quarantined(f: &Fixture) {
    for data in [
        Generated::new(11, 1000),
        Generated::new(12, 9 * 1024 * 1024),
    ] {
        let (sha256, md5) = data.digests();
        let quarantine = |size, md5: &str| Expectations {
            on_mismatch: OnMismatch::Quarantine,
            ..expect(size, md5)
        };
        let stored = upload(
            &*f.store,
            data.chunks(CHUNK),
            quarantine(data.len, "0123456789abcdef0123456789abcdef"),
        )
        .await
        .expect("quarantined");
        assert_eq!(stored.area, Area::Quarantine);
        assert_eq!((&stored.sha256, &stored.md5), (&sha256, &md5));
        assert_eq!(stored.key, f.store.key(Area::Quarantine, &sha256));
        assert_ne!(stored.key, f.store.key(Area::Objects, &sha256));
        assert!(
            !f.store
                .exists(Area::Objects, &sha256)
                .await
                .expect("exists")
        );
        assert_stored(&*f.store, Area::Quarantine, &sha256, data).await;

        // A wrong size is kept too; bytes that verify go to objects as usual.
        let wrong_size = upload(
            &*f.store,
            data.chunks(CHUNK),
            quarantine(data.len + 1, &md5),
        )
        .await
        .expect("quarantined");
        assert_eq!(wrong_size.area, Area::Quarantine);
        let verified = upload(&*f.store, data.chunks(CHUNK), quarantine(data.len, &md5))
            .await
            .expect("stored");
        assert_eq!(verified.area, Area::Objects);
        assert!(!verified.deduplicated, "a quarantined copy is no object");
    }
    assert_eq!(f.probe.published().len(), 4);
}

async fn abort_publishes_nothing(f: &Fixture) {
    for data in [
        Generated::new(13, 1000),
        Generated::new(14, 10 * 1024 * 1024),
    ] {
        let mut writer = f.store.begin().await.expect("begin");
        for chunk in data.chunks(CHUNK) {
            writer.write_chunk(&chunk).await.expect("write");
        }
        writer.abort().await.expect("abort");
        let (sha256, _) = data.digests();
        assert!(
            !f.store
                .exists(Area::Objects, &sha256)
                .await
                .expect("exists")
        );
    }
    // Aborting before any byte.
    f.store
        .begin()
        .await
        .expect("begin")
        .abort()
        .await
        .expect("abort");
    assert_eq!(f.probe.published(), Vec::<String>::new());
}

/// A writer dropped mid-upload (a cancelled task) leaves nothing once the store has run again.
async fn dropped_writer_leaves_nothing(f: &Fixture) {
    let data = Generated::new(15, 10 * 1024 * 1024);
    let mut writer = f.store.begin().await.expect("begin");
    for chunk in data.chunks(CHUNK) {
        writer.write_chunk(&chunk).await.expect("write");
    }
    drop(writer);
    f.store
        .begin()
        .await
        .expect("begin")
        .abort()
        .await
        .expect("abort");
    assert_eq!(f.probe.published(), Vec::<String>::new());
}

async fn concurrent_uploads_of_the_same_bytes(f: &Fixture) {
    for data in [
        Generated::new(16, 600_000),
        Generated::new(17, 9 * 1024 * 1024),
    ] {
        let (sha256, md5) = data.digests();
        let (mut a, mut b) = (
            f.store.begin().await.expect("begin"),
            f.store.begin().await.expect("begin"),
        );
        for chunk in data.chunks(CHUNK) {
            let (ra, rb) = tokio::join!(a.write_chunk(&chunk), b.write_chunk(&chunk));
            ra.expect("write a");
            rb.expect("write b");
        }
        let finish = |w: Box<dyn BlobWriter>| w.finish(expect(data.len, &md5));
        let (ra, rb) = tokio::join!(finish(a), finish(b));
        let (ra, rb) = (ra.expect("finish a"), rb.expect("finish b"));
        assert_eq!((&ra.sha256, &ra.key), (&sha256, &rb.key));
        assert_stored(&*f.store, Area::Objects, &sha256, data).await;
    }
    assert_eq!(f.probe.published().len(), 2, "{:?}", f.probe.published());
}

async fn missing_objects(f: &Fixture) {
    let sha256 = Sha256Hex::of(b"never stored");
    for area in [Area::Objects, Area::Quarantine] {
        assert_eq!(f.store.size(area, &sha256).await.expect("size"), None);
        assert!(!f.store.exists(area, &sha256).await.expect("exists"));
        let error = f.store.open(area, &sha256).await.expect_err("missing");
        assert_eq!(error.kind(), BlobErrorKind::NotFound, "{error}");
    }
}

async fn reads_from_an_offset(f: &Fixture) {
    let data = Generated::new(11, 3 * CHUNK as u64 + 17);
    let stored = upload(
        f.store.as_ref(),
        data.chunks(CHUNK),
        Expectations::default(),
    )
    .await
    .expect("upload");
    let whole: Vec<u8> = data.chunks(CHUNK).flatten().collect();
    for offset in [0, 1, CHUNK as u64, data.len - 1, data.len, data.len + 10] {
        let mut reader = f
            .store
            .open_at(Area::Objects, &stored.sha256, offset)
            .await
            .expect("open at");
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).await.expect("read");
        let from = usize::try_from(offset.min(data.len)).expect("small");
        assert_eq!(
            reader.size(),
            (whole.len() - from) as u64,
            "size from {offset}"
        );
        assert!(bytes == whole[from..], "bytes from {offset}");
    }
    let missing = Sha256Hex::of(b"never stored");
    let error = f
        .store
        .open_at(Area::Objects, &missing, 5)
        .await
        .expect_err("missing");
    assert_eq!(error.kind(), BlobErrorKind::NotFound, "{error}");
}

/// Reads a whole (small) rendition from `offset` on, checking the announced size.
pub async fn read_rendition(store: &dyn BlobStore, rendition: &Rendition, offset: u64) -> Vec<u8> {
    let mut reader = store
        .open_rendition_at(rendition, offset)
        .await
        .expect("open rendition");
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).await.expect("read");
    assert_eq!(
        reader.size(),
        bytes.len() as u64,
        "announced size of {rendition:?} from {offset}"
    );
    bytes
}

/// A rendition is found by its original's SHA-256 and kind, in its own area: storing it leaves the
/// original and everything under `objects/` and `quarantine/` as they were.
async fn renditions_live_beside_originals(f: &Fixture) {
    let voice = b"#!AMR\n\x3c some frames of a voice message".to_vec();
    let original = upload(&*f.store, [voice.clone()], Expectations::default())
        .await
        .expect("upload")
        .sha256;
    let published = f.probe.published();
    let rendition = Rendition::new(original.clone(), RenditionKind::Wav);
    let key = f.store.rendition_key(&rendition);
    assert!(
        key.ends_with(&format!("renditions/{}/{original}.wav", original.fan_out())),
        "{key}"
    );
    assert_ne!(key, f.store.key(Area::Objects, &original));

    assert_eq!(
        f.store.rendition_size(&rendition).await.expect("size"),
        None
    );
    let error = f
        .store
        .open_rendition_at(&rendition, 0)
        .await
        .expect_err("no rendition yet");
    assert_eq!(error.kind(), BlobErrorKind::NotFound, "{error}");

    let wav: Vec<u8> = Generated::new(21, 3 * CHUNK as u64 + 5)
        .chunks(CHUNK)
        .flatten()
        .collect();
    f.store
        .put_rendition(&rendition, wav.clone().into())
        .await
        .expect("put rendition");
    assert_eq!(
        f.store.rendition_size(&rendition).await.expect("size"),
        Some(wav.len() as u64)
    );
    let len = wav.len() as u64;
    for offset in [0, 1, CHUNK as u64 + 3, len - 1, len, len + 10] {
        let from = usize::try_from(offset.min(len)).expect("small");
        assert!(
            read_rendition(&*f.store, &rendition, offset).await == wav[from..],
            "rendition bytes from {offset}"
        );
    }

    // The original and the content-addressed areas are untouched; the rendition is not an object.
    assert_eq!(read_all(&*f.store, Area::Objects, &original).await, voice);
    assert_eq!(f.probe.published(), published);
    let as_object = Sha256Hex::of(&wav);
    for area in [Area::Objects, Area::Quarantine] {
        assert!(!f.store.exists(area, &as_object).await.expect("exists"));
    }
    // Another kind of address for the same digest is another rendition's: absent.
    let other = Rendition::new(as_object, RenditionKind::Wav);
    assert_eq!(f.store.rendition_size(&other).await.expect("size"), None);
}

/// Storing a rendition again replaces it whole, also when writers race each other and readers:
/// every read sees one complete version, never a mix or a prefix.
async fn renditions_are_replaced_whole(f: &Fixture) {
    let rendition = Rendition::new(Sha256Hex::of(b"an original"), RenditionKind::Wav);
    let versions: Vec<Vec<u8>> = (0..4u64)
        .map(|seed| {
            Generated::new(30 + seed, 200_000 + seed * 70_001)
                .chunks(CHUNK)
                .flatten()
                .collect()
        })
        .collect();
    f.store
        .put_rendition(&rendition, versions[0].clone().into())
        .await
        .expect("put");
    f.store
        .put_rendition(&rendition, versions[1].clone().into())
        .await
        .expect("replace");
    assert!(read_rendition(&*f.store, &rendition, 0).await == versions[1]);

    let store = &*f.store;
    let rendition = &rendition;
    let versions = &versions;
    let writes = versions.iter().map(|v| async move {
        store
            .put_rendition(rendition, v.clone().into())
            .await
            .expect("concurrent put");
    });
    let reads = (0..4).map(|_| async move {
        for _ in 0..3 {
            let bytes = read_rendition(store, rendition, 0).await;
            assert!(
                versions.contains(&bytes),
                "a read saw {} bytes that are no complete version",
                bytes.len()
            );
        }
    });
    futures_join(writes, reads).await;
    let last = read_rendition(store, rendition, 0).await;
    assert!(
        versions.contains(&last),
        "the rendition is no complete version"
    );
    assert_eq!(
        store.rendition_size(rendition).await.expect("size"),
        Some(last.len() as u64)
    );
    assert_eq!(f.probe.published(), Vec::<String>::new());
}

/// Runs every future of both sets concurrently (on this task) until all are done.
async fn futures_join<A, B>(a: impl Iterator<Item = A>, b: impl Iterator<Item = B>)
where
    A: std::future::Future<Output = ()> + Send,
    B: std::future::Future<Output = ()> + Send,
{
    let mut all: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>> =
        Vec::new();
    for f in a {
        all.push(Box::pin(f));
    }
    for f in b {
        all.push(Box::pin(f));
    }
    std::future::poll_fn(|cx| {
        all.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if all.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}
