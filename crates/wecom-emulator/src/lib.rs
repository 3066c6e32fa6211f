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
//!
//! # Media (sdk-wire-protocol.md §4)
//!
//! - getchatmediadata serves every media object of the corpus (live appends included) and those
//!   added with [`Emulator::add_media`], by `fileid`; the stored object is
//!   `AES-128-ECB(aeskey, PKCS7(media_bytes))`, generated range by range, so memory per request is
//!   one chunk whatever the object's size.
//! - Answers carry `CONTENT-RANGE: BYTES a-b/total` in upper case (the vendor library's literal);
//!   hyper cannot write that, so our accept loop writes those answers itself and closes the
//!   connection. Through [`router`] alone the header name comes out lower-case.
//! - Errcodes: 301010 unknown fileid or wrong authkey, 301042 IP not allowed and 301048 expired
//!   (injected), 40058 for a bad Range; token and body errors as getchatdata. Details in
//!   `server/media.rs`.
//! - Every corpus of a few hundred records holds an empty file, an object of exactly 524,288 bytes
//!   and one of 1,300,000 bytes; about 3% of media messages have an empty `md5sum`.
//!
//! # Serving the genuine vendor library (sdk-wire-protocol.md §6)
//!
//! [`serve_proxy`] is an HTTP CONNECT / SOCKS5h proxy whose tunnels end in an in-process TLS
//! endpoint with a self-signed `qyapi.weixin.qq.com` certificate generated at start, in front of
//! the same router; hand the library `proxy = "http://127.0.0.1:PORT"`. Details in `proxy.rs`.

mod callback;
pub mod corpus;
mod emulator;
pub mod media;
mod proxy;
mod server;

pub use corpus::{
    Corpus, CorpusGenerator, CorpusSpec, Directory, Employee, ExternalContact, ExternalKind, Group,
    PlainRecord, Robot, generate,
};
pub use emulator::{
    CallbackConfig, Emulator, EmulatorConfig, EmulatorError, Fault, LiveConfig, MediaFault,
    MediaFaultRule, MediaRequest,
};
pub use media::{
    MediaFormat, MediaKind, MediaSpec, media_bytes, media_range, stored_len, stored_range,
};
pub use proxy::{
    HANDSHAKE_TIMEOUT, ProxyOptions, TlsIdentity, WECOM_HOST, serve_proxy, serve_proxy_with,
    serve_tls,
};
pub use server::{MAX_BODY, MEDIA_CHUNK, router, serve};
