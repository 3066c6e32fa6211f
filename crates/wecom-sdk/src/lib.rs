//! WeCom's genuine archive library (`libWeWorkFinanceSdk_C.so`), used safely: loaded at run time
//! from a configured path, bound through its 17 C exports, and run in supervised worker
//! processes so that its crashes, hangs and leaks never reach the daemon.
//!
//! This is the only crate of the workspace with `unsafe` code and the only one that knows the C
//! ABI (`library.rs`, `sdk.rs`, two calls in `worker.rs`). Layers, bottom up:
//!
//! - [`Library`]: `dlopen` with plain-words errors ([`LoadError`]: missing file, not ELF, wrong
//!   machine, glibc too old, missing dependency or symbol), the 17 function pointers, and the
//!   handle-free `DecryptData` (conformance tests only; the archive decrypts with
//!   `wecom_crypto`).
//! - [`Sdk`]: one `NewSdk`+`Init` handle; `Send`, not `Sync`, every call `&mut self`;
//!   `DestroySdk` on drop; every Slice/MediaData freed after its buffers are copied out.
//! - [`worker_main`]: the worker process, speaking the framed protocol of `protocol.rs` on
//!   stdin/stdout.
//! - [`SdkSource`]: the parent side, an [`wecom_wire::ArchiveSource`] plus a media downloader
//!   with the native client's sink and result types. It spawns workers, fails only the call in
//!   flight when one crashes (naming the signal), kills a worker that misses the per-call
//!   deadline, recycles workers after N calls or on descriptor/memory growth or repeated 10001s
//!   (the library leaks on each), and refuses to restart in a crash loop. It also implements the
//!   media workers' seam, [`wecom_wire::MediaSource`].
//!
//! The library's hazards this crate is built around are listed in sdk-wire-protocol.md §4–§5 and
//! decrypt-data.md: process aborts on some inputs and server answers, heap corruption when a
//! handle is shared between threads, 70 KB and two descriptors leaked per non-2xx answer, an
//! access token it never refreshes, and no certificate-chain verification.

mod config;
mod elf;
mod error;
mod library;
mod media_source;
mod protocol;
mod sdk;
mod source;
mod supervisor;
mod worker;

pub use config::{SdkConfig, WorkerCommand, WorkerLimits, WorkerMode};
pub use error::{SdkErrorKind, SdkSourceError};
pub use library::{Library, LoadError, check_library_file};
pub use protocol::{MAX_FRAME, PROTOCOL_VERSION};
pub use sdk::{MediaChunk, NetOptions, Sdk, SdkError, parse_chat_data};
pub use source::{SdkSource, SdkStats};
pub use worker::worker_main;
