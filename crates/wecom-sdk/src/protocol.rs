//! The framed protocol between the parent and its worker process, over the worker's stdin/stdout.
//!
//! A frame is a 4-byte big-endian length followed by that many bytes of JSON (at most
//! [`MAX_FRAME`]). Byte strings (chat-data bodies, media chunks, DecryptData inputs and outputs)
//! travel as standard base64 strings. The parent writes one [`Request`] and reads exactly one
//! [`Reply`]; the worker never writes anything unasked.
//!
//! The conversation:
//!
//! 1. parent → `{"op":"open","protocol":1,"library":"/path/lib.so","corp_id":"…","secret":"…"}`;
//!    worker → `{"reply":"ready","pid":123}` or `{"reply":"error",…}` (then it exits). The secret
//!    travels here rather than in argv or the environment, where other users could read it.
//! 2. any number of `chat_data`, `media_chunk` and `decrypt` requests, each answered by the reply
//!    of the same name or by `error`. The library's return code is part of the reply (`rc`);
//!    `error` means the call was refused before reaching the library.
//! 3. the parent closes the worker's stdin; the worker destroys its SDK handle and exits 0.
//!
//! Both ends are the same binary in practice (`wecom-archive sdk-worker`); `protocol` catches a
//! configured worker command that is another version.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Version of this protocol; the worker refuses any other.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest frame either side accepts (a chat-data page of 1,000 large records fits easily).
pub const MAX_FRAME: usize = 256 << 20;

/// Network settings of one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireNet {
    pub proxy: String,
    pub passwd: String,
    pub timeout_secs: u64,
}

/// One DecryptData input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecryptInput {
    #[serde(with = "b64")]
    pub encrypt_key: Vec<u8>,
    #[serde(with = "b64")]
    pub encrypt_msg: Vec<u8>,
}

/// One DecryptData result: `rc` 0 with the output, or the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecryptOutput {
    pub rc: i32,
    #[serde(with = "b64")]
    pub output: Vec<u8>,
}

/// What the parent asks. Its `Debug` leaves out the secret and the proxy password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Open {
        protocol: u32,
        library: PathBuf,
        corp_id: String,
        secret: String,
    },
    ChatData {
        seq: u64,
        limit: u32,
        net: WireNet,
    },
    MediaChunk {
        sdkfileid: String,
        indexbuf: String,
        net: WireNet,
    },
    Decrypt {
        items: Vec<DecryptInput>,
    },
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Open {
                protocol,
                library,
                corp_id,
                ..
            } => f
                .debug_struct("Open")
                .field("protocol", protocol)
                .field("library", library)
                .field("corp_id", corp_id)
                .finish_non_exhaustive(),
            Request::ChatData { seq, limit, .. } => f
                .debug_struct("ChatData")
                .field("seq", seq)
                .field("limit", limit)
                .finish_non_exhaustive(),
            Request::MediaChunk { indexbuf, .. } => f
                .debug_struct("MediaChunk")
                .field("indexbuf", indexbuf)
                .finish_non_exhaustive(),
            Request::Decrypt { items } => f
                .debug_struct("Decrypt")
                .field("items", &items.len())
                .finish(),
        }
    }
}

impl Request {
    /// The library function a request runs, for messages.
    pub fn function(&self) -> &'static str {
        match self {
            Request::Open { .. } => "loading the library (NewSdk/Init)",
            Request::ChatData { .. } => "GetChatData",
            Request::MediaChunk { .. } => "GetMediaData",
            Request::Decrypt { .. } => "DecryptData",
        }
    }
}

/// Why the worker refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The library could not be loaded or Init failed.
    Library,
    /// The arguments were refused before calling the library.
    InvalidArgument,
    /// The library answered 0 with something unusable (a media index that is not text).
    InvalidResponse,
    /// The library returned NULL where it must not.
    Null,
    /// The request came before `open`, or after a failed one, or in another protocol version.
    Protocol,
}

/// What the worker answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Ready {
        pid: u32,
    },
    ChatData {
        rc: i32,
        #[serde(with = "b64")]
        body: Vec<u8>,
    },
    MediaChunk {
        rc: i32,
        #[serde(with = "b64")]
        data: Vec<u8>,
        next_index: String,
        is_finish: bool,
    },
    Decrypt {
        results: Vec<DecryptOutput>,
    },
    Error {
        kind: ErrorKind,
        /// The library's code when it returned one (Init), else 0.
        #[serde(default)]
        code: i32,
        message: String,
    },
}

impl Reply {
    /// The reply's name on the wire, for messages (never its content).
    pub fn name(&self) -> &'static str {
        match self {
            Reply::Ready { .. } => "ready",
            Reply::ChatData { .. } => "chat_data",
            Reply::MediaChunk { .. } => "media_chunk",
            Reply::Decrypt { .. } => "decrypt",
            Reply::Error { .. } => "error",
        }
    }
}

/// Writes one frame and flushes.
pub fn write_frame<W: Write, T: Serialize>(out: &mut W, message: &T) -> io::Result<()> {
    let json = serde_json::to_vec(message).map_err(io::Error::other)?;
    if json.len() > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {} bytes exceeds {MAX_FRAME}", json.len()),
        ));
    }
    let len = u32::try_from(json.len()).map_err(io::Error::other)?;
    out.write_all(&len.to_be_bytes())?;
    out.write_all(&json)?;
    out.flush()
}

/// Reads one frame of at most [`MAX_FRAME`] bytes. `Ok(None)` at a clean end of stream (no byte
/// of a next frame).
pub fn read_frame<R: Read, T: for<'de> Deserialize<'de>>(input: &mut R) -> io::Result<Option<T>> {
    read_frame_limited(input, MAX_FRAME)
}

/// Reads one frame of at most `max` bytes (never more than [`MAX_FRAME`]). A length above the cap
/// is an error before any byte of the frame is read, and the frame's bytes are read as they come
/// (memory grows with what arrives, not with what the length announces).
pub fn read_frame_limited<R: Read, T: for<'de> Deserialize<'de>>(
    input: &mut R,
    max: usize,
) -> io::Result<Option<T>> {
    let max = max.min(MAX_FRAME);
    let mut len = [0u8; 4];
    let mut filled = 0;
    while filled < len.len() {
        match input.read(&mut len[filled..]) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "a frame announces {len} bytes, more than the cap of {max} (derived from [sync] max_response_mb); it was not read"
            ),
        ));
    }
    let mut json = Vec::with_capacity(len.min(1 << 20));
    let got = input.take(len as u64).read_to_end(&mut json)?;
    if got < len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    serde_json::from_slice(&json)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Byte strings as standard base64 in JSON.
mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_refuse_garbage() {
        let request = Request::Decrypt {
            items: vec![DecryptInput {
                encrypt_key: b"k\0\xff".to_vec(),
                encrypt_msg: Vec::new(),
            }],
        };
        let mut wire = Vec::new();
        write_frame(&mut wire, &request).expect("write");
        write_frame(
            &mut wire,
            &Reply::MediaChunk {
                rc: 0,
                data: vec![0, 1, 2],
                next_index: String::new(),
                is_finish: true,
            },
        )
        .expect("write");
        let mut reader = &wire[..];
        assert_eq!(
            read_frame::<_, Request>(&mut reader).expect("read"),
            Some(request)
        );
        assert!(matches!(
            read_frame::<_, Reply>(&mut reader).expect("read"),
            Some(Reply::MediaChunk {
                is_finish: true,
                ..
            })
        ));
        assert_eq!(read_frame::<_, Reply>(&mut reader).expect("eof"), None);

        let huge = (MAX_FRAME as u32 + 1).to_be_bytes();
        assert!(read_frame::<_, Reply>(&mut &huge[..]).is_err());
        let cut = [0u8, 0, 0, 10, b'{'];
        assert_eq!(
            read_frame::<_, Reply>(&mut &cut[..])
                .expect_err("cut")
                .kind(),
            io::ErrorKind::UnexpectedEof
        );
        assert!(read_frame::<_, Reply>(&mut &cut[..]).is_err());
        assert!(read_frame::<_, Reply>(&mut &[0u8, 0][..]).is_err());
    }

    /// An endless stream of spaces after a length prefix, counting what is read from it.
    struct Endless {
        prefix: [u8; 4],
        read: usize,
    }

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(64 << 10);
            for (i, b) in buf[..n].iter_mut().enumerate() {
                *b = self.prefix.get(self.read + i).copied().unwrap_or(b' ');
            }
            self.read += n;
            Ok(n)
        }
    }

    #[test]
    fn a_frame_above_the_cap_is_refused_before_it_is_read() {
        let mut input = Endless {
            prefix: (200u32 << 20).to_be_bytes(),
            read: 0,
        };
        let e = read_frame_limited::<_, Reply>(&mut input, 1 << 20).expect_err("too large");
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(
            e.to_string()
                .contains("209715200 bytes, more than the cap of 1048576"),
            "{e}"
        );
        // Only the first read (which held the length) happened: no byte of the body was taken.
        assert_eq!(input.read, 4, "only the length was read");

        // Within the cap, the frame is read (and, being spaces, refused as JSON).
        let mut input = Endless {
            prefix: (100u32 << 10).to_be_bytes(),
            read: 0,
        };
        let e = read_frame_limited::<_, Reply>(&mut input, 1 << 20).expect_err("not json");
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(input.read >= 100 << 10);
    }

    #[test]
    fn debug_output_keeps_secrets_out() {
        let open = Request::Open {
            protocol: PROTOCOL_VERSION,
            library: "/l.so".into(),
            corp_id: "ww1".into(),
            secret: "archive-secret".into(),
        };
        let chat = Request::ChatData {
            seq: 1,
            limit: 2,
            net: WireNet {
                proxy: "http://p:1".into(),
                passwd: "user:proxy-password".into(),
                timeout_secs: 5,
            },
        };
        let text = format!("{open:?} {chat:?}");
        assert!(
            !text.contains("archive-secret") && !text.contains("proxy-password"),
            "{text}"
        );
        assert!(text.contains("ww1"), "{text}");
    }

    #[test]
    fn the_wire_form_is_the_documented_one() {
        let open = Request::Open {
            protocol: PROTOCOL_VERSION,
            library: "/l.so".into(),
            corp_id: "ww1".into(),
            secret: "s".into(),
        };
        assert_eq!(
            serde_json::to_string(&open).expect("json"),
            r#"{"op":"open","protocol":1,"library":"/l.so","corp_id":"ww1","secret":"s"}"#
        );
        assert_eq!(
            serde_json::to_string(&Reply::Ready { pid: 123 }).expect("json"),
            r#"{"reply":"ready","pid":123}"#
        );
    }
}
