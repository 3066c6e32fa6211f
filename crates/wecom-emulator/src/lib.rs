//! A faithful WeCom 会话内容存档 server emulator, as a library: a deterministic chat corpus, the
//! token and getchatdata endpoints over plain HTTP, key rotation, live appends and fault injection.
//!
//! Invariant: the emulator shares no code path with the client except the wire vocabulary
//! (`wecom-wire`) and the encode side of `wecom-crypto`; it writes its JSON by hand and never
//! decodes what it serves.

pub mod corpus;
pub mod media;

pub use corpus::{
    Corpus, CorpusGenerator, CorpusSpec, Directory, Employee, ExternalContact, ExternalKind,
    Group, PlainRecord, Robot, generate,
};
pub use media::{MediaFormat, MediaKind, MediaSpec, media_bytes};
mod emulator;
mod server;

pub use emulator::{Emulator, EmulatorConfig, EmulatorError, Fault, LiveConfig};
pub use server::{MAX_BODY, router, serve};
