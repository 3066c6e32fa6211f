//! A faithful WeCom 会话内容存档 server emulator, as a library: a deterministic chat corpus, the
//! token, getchatdata, getchatmediadata and naming/scope/consent endpoints over plain HTTP, key
//! rotation, live appends and fault injection.
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
//! - Tokens are per secret (reference §4.1): the archive secret's serve getchatdata,
//!   getchatmediadata and `msgaudit/*`; the contacts secret's `user/get`; the customer-contact
//!   secret's `externalcontact/*`; a self-built app secret gets tokens that every one of these
//!   refuses with 48002 `api forbidden` (reference §7 #4). A token of the wrong secret: 48002.
//! - getchatdata checks, in order: injected fault, body size (HTTP 413 above [`MAX_BODY`]), token
//!   (41001 missing, 40014 unknown, 42001 expired, 48002 another secret's), body (44002 empty, 47001 not the JSON shape; any
//!   Content-Type), `limit` outside 1..=1000 (40058), `encrypt_sign` (40058 unless
//!   [`EmulatorConfig::check_encrypt_sign`] is off). WeCom's real codes for the last two are
//!   unknown; 40058 is its generic "invalid parameter".
//! - A page holds the records with `seq > N`, ascending, at most `limit`; an empty page is
//!   `{"errcode":0,"errmsg":"ok"}` without `chatdata`, as WeCom sometimes answers.
//! - Records with `seq > rotate_to_v2_after_seq` use `publickey_ver` 2, the others 1.
//! - Live mode continues the corpus' own clock (msgtime keeps increasing from the corpus, it does not
//!   jump to wall time).
//!
//! # Naming, scope and consent (reference §4.2–§4.7)
//!
//! Every [`wecom_wire::directory::DirectoryApi`] is served from the corpus' [`Directory`], with
//! the shared wire types; details and the errcodes chosen where WeCom's are unknown are in
//! `server/directory.rs`. The facts behind the answers:
//!
//! - archive scope (`get_permit_user_list`): every employee but the last
//!   [`OUT_OF_SCOPE_EMPLOYEES`] ([`Directory::archive_scope`]);
//! - consent ([`Directory::consent`]): the external contact at index `i` disagreed when
//!   `i % 7 == 3`, since 2023-06-01T00:00:00Z + `i` hours; unknown pairs are left out;
//! - `msgaudit/groupchat/get` serves internal groups only, `externalcontact/groupchat/get` and
//!   `/list` customer groups only; the customer groups at [`WECHAT_ROOM_INDICES`] were started
//!   from WeChat ([`Group::from_wechat`]) and neither API resolves them (40050), though they have
//!   messages;
//! - room names are state: [`Emulator::rename_room`], and every [`RENAME_EVERY`] appended records
//!   (live mode) the next resolvable room gets `（第N期）` appended to its base name;
//! - faults: [`Emulator::inject_api`] with an [`ApiFaultRule`]; a built-in per-minute limit
//!   ([`EmulatorConfig::api_rate_limit_per_minute`], 45009); [`Emulator::api_requests`] logs.
//!
//! None of these facts consumes a random draw: a seed's corpus is byte-identical to before.
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
//! - One media object in [`REAL_SHARE`] (by its content seed; [`CorpusSpec::real_media`], on by
//!   default) is a real, decodable [`Sample`] embedded from `samples/` at the repository root,
//!   always of the format the message implies: a JPEG photo for images, AMR-NB (`#!AMR\n`) for
//!   voice, an H.264/AAC MP4 for video, a GIF or PNG for emotions by their `type`, the PDF (or the
//!   sample of the file's extension) for files. The message states the sample's size, md5,
//!   `play_length`, width and height (and a file is renamed to the sample's extension); the
//!   endpoint serves exactly its bytes.
//! - Voice: WeCom documents `.amr` (reference §3.3), so corpus voice is AMR-NB; SILK v3
//!   (`\x02#!SILK_V3`, [`MediaFormat::Silk`]) is what some clients send, so the showcase holds one
//!   SILK voice message (and one PNG image) for consumers that must sniff the magic.
//!
//! # Showcase (opt-in)
//!
//! With [`CorpusSpec::showcase`] the corpus starts with the group [`SHOWCASE_ROOM`]
//! ([`SHOWCASE_ROOM_NAME`], 全类型演示群, in the directory like any customer group) and its owner's
//! one-to-one chat with its customer: one record of every msgtype (both voice formats, both vote
//! shapes, a switch record, an unknown `future_type_x`), a recalled text and its revoke, a quoted
//! reply, a URL, two HTML-injection texts, the keyword 合同, senders of every kind (employee,
//! customer, robot), every media object a real sample. [`Emulator::showcase`] and
//! [`CorpusGenerator::showcase`] list the records by [`ShowcaseMessage::feature`]
//! ([`SHOWCASE_FEATURES`]).
//!
//! # Serving the genuine vendor library (sdk-wire-protocol.md §6)
//!
//! [`serve_proxy`] is an HTTP CONNECT / SOCKS5h proxy whose tunnels end in an in-process TLS
//! endpoint with a self-signed `qyapi.weixin.qq.com` certificate generated at start, in front of
//! the same router; hand the library `proxy = "http://127.0.0.1:PORT"`. Details in `proxy.rs`.

mod accept;
mod callback;
pub mod corpus;
mod directory_state;
mod emulator;
pub mod media;
mod proxy;
mod server;

pub use corpus::{
    Consent, Corpus, CorpusGenerator, CorpusSpec, Directory, Employee, ExternalContact,
    ExternalKind, Group, OUT_OF_SCOPE_EMPLOYEES, PlainRecord, REAL_SHARE, Robot, SHOWCASE_FEATURES,
    SHOWCASE_KEYWORD_TEXT, SHOWCASE_ROOM, SHOWCASE_ROOM_NAME, SHOWCASE_UNKNOWN_MSGTYPE,
    SHOWCASE_URL_TEXT, SHOWCASE_XSS_TEXTS, ShowcaseMessage, TextStyle, WECHAT_ROOM_INDICES,
    generate,
};
pub use directory_state::{ApiFault, ApiFaultRule, ApiRequestLog, RENAME_EVERY};
pub use emulator::{
    CallbackConfig, Emulator, EmulatorConfig, EmulatorError, Fault, LiveConfig, MediaFault,
    MediaFaultRule, MediaRequest,
};
pub use media::{
    MediaFormat, MediaKind, MediaSpec, Sample, media_bytes, media_range, stored_len, stored_range,
};
pub use proxy::{
    HANDSHAKE_TIMEOUT, ProxyOptions, TlsIdentity, WECOM_HOST, serve_proxy, serve_proxy_with,
    serve_tls,
};
pub use server::{MAX_BODY, MEDIA_CHUNK, router, serve};
