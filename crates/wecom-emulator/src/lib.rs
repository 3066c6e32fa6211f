//! A faithful WeCom 会话内容存档 server emulator, as a library: a deterministic chat corpus, the
//! token and getchatdata endpoints over plain HTTP, key rotation, live appends and fault injection.
//!
//! Invariant: the emulator shares no code path with the client except the wire vocabulary
//! (`wecom-wire`) and the encode side of `wecom-crypto`; it writes its record JSON by hand and never
//! decodes what it serves.
//!
//! # Protocol decisions (sdk-wire-protocol.md §2–§3)
//!
//! - API errors are HTTP 200 with `errcode`/`errmsg`; 4xxxx messages carry WeCom's
//!   `, hint: […], from ip: …, more info at …` suffix, so clients must match on `errcode`.
//! - gettoken: 41002 corpid missing, 41004 corpsecret missing, 40013 invalid corpid, 40001 invalid
//!   credential. Every successful call issues a new token; older ones stay valid until they expire.
//! - getchatdata checks, in order: injected fault, body size (HTTP 413 above [`MAX_BODY`]), token
//!   (41001 missing, 40014 unknown, 42001 expired), body (44002 empty, 47001 not the JSON shape; any
//!   Content-Type), `limit` outside 1..=1000 (40058), `encrypt_sign` (40058 unless
//!   [`EmulatorConfig::check_encrypt_sign`] is off). WeCom's real codes for the last two are
//!   unknown; 40058 is its generic "invalid parameter".
//! - A page holds the records with `seq > N`, ascending, at most `limit`; an empty page is
//!   `{"errcode":0,"errmsg":"ok"}` without `chatdata`, as WeCom sometimes answers.
//! - Records with `seq > rotate_to_v2_after_seq` use `publickey_ver` 2, the others 1.
//! - Live mode continues the corpus' own clock (msgtime keeps increasing from the corpus, it does not
//!   jump to wall time).

pub mod corpus;
mod emulator;
pub mod media;
mod server;

pub use corpus::{
    Corpus, CorpusGenerator, CorpusSpec, Directory, Employee, ExternalContact, ExternalKind, Group,
    PlainRecord, Robot, generate,
};
pub use emulator::{Emulator, EmulatorConfig, EmulatorError, Fault, LiveConfig};
pub use media::{MediaFormat, MediaKind, MediaSpec, media_bytes};
pub use server::{MAX_BODY, router, serve};
