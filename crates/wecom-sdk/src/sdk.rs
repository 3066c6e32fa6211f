//! The safe face of one vendor SDK handle (`NewSdk` + `Init` … `DestroySdk`): GetChatData and
//! GetMediaData with every Slice/MediaData freed and every buffer copied out before the free.
//!
//! The handle is `Send` but not `Sync`, and every call takes `&mut self`: the library has no lock
//! and corrupts its heap when one handle is used by two threads at once (sdk-wire-protocol.md §5),
//! so the type system allows one call at a time per handle, and `DestroySdk` (on drop) can only
//! run when no call is in flight.
//!
//! These calls run the library in the calling process, where some inputs and some server answers
//! abort it. The archive runs them in a worker process ([`crate::SdkSource`]).

use std::ffi::{CString, c_void};
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Duration;

use wecom_wire::{ChatDataReply, SdkCode, parse_chat_data_reply};

use crate::library::{Exports, Library, OwnedSlice, ascii_c_string, copy_buffer};

/// Network settings passed to every GetChatData/GetMediaData call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetOptions {
    /// `http://host:port`, `socks5h://host:port` or `host:port`; empty = the library's own choice
    /// (the `https_proxy`/`all_proxy` environment of the process, then a direct connection).
    pub proxy: String,
    /// `user:password` for the proxy; empty = none.
    pub passwd: String,
    /// Per HTTP request inside the library (token, then data); whole seconds, rounded up, at
    /// least 1 (the library takes 0 for "no limit at all", which is never what we want).
    pub timeout: Duration,
}

impl Default for NetOptions {
    fn default() -> NetOptions {
        NetOptions {
            proxy: String::new(),
            passwd: String::new(),
            timeout: Duration::from_secs(10),
        }
    }
}

impl NetOptions {
    /// The library's `timeout` argument.
    pub fn timeout_secs(&self) -> i32 {
        let secs = self
            .timeout
            .as_secs()
            .saturating_add(u64::from(self.timeout.subsec_nanos() > 0));
        i32::try_from(secs).unwrap_or(i32::MAX).max(1)
    }
}

/// One chunk of a media object, copied out of the library's MediaData.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MediaChunk {
    /// Decrypted bytes of this chunk (the final one without padding).
    pub data: Vec<u8>,
    /// The `indexbuf` for the next call (`Range:bytes=A-B`); empty after the last chunk.
    pub next_index: String,
    /// The object is complete.
    pub is_finish: bool,
}

/// An error of one call on a [`Sdk`] handle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdkError {
    /// The library returned this non-zero code.
    #[error("the vendor library returned {0}")]
    Code(SdkCode),
    /// GetChatData returned 0 but the body carries a non-zero `errcode` (e.g. 48002 for an app
    /// secret instead of the archive secret).
    #[error("wecom errcode {errcode}: {errmsg}")]
    Api { errcode: i64, errmsg: String },
    /// GetChatData returned 0 but the body is not the documented JSON.
    #[error("the chat data is not the expected JSON: {0}")]
    InvalidResponse(String),
    /// Refused before calling the library.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The library returned NULL where it must not (out of memory, or a broken library).
    #[error("the vendor library returned no {0}")]
    Null(&'static str),
}

impl SdkError {
    /// The SDK code closest to this error.
    pub fn code(&self) -> SdkCode {
        match self {
            SdkError::Code(code) => *code,
            SdkError::Api { .. } => SdkCode::System,
            SdkError::InvalidResponse(_) => SdkCode::DataParse,
            SdkError::InvalidArgument(_) => SdkCode::InvalidArgument,
            SdkError::Null(_) => SdkCode::System,
        }
    }
}

/// One initialised SDK handle. Create it once per worker thread and reuse it: the access token is
/// cached inside. See the module docs for the threading rules.
pub struct Sdk {
    lib: Arc<Library>,
    handle: NonNull<c_void>,
}

// SAFETY: the handle may move to another thread between calls (the library keeps no
// thread-local state tied to it); what it must never see is two calls at once, which `&mut self`
// on every call and the absence of `Sync` (NonNull is !Sync) rule out.
unsafe impl Send for Sdk {}

impl std::fmt::Debug for Sdk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sdk")
            .field("library", &self.lib.path())
            .finish_non_exhaustive()
    }
}

impl Sdk {
    /// `NewSdk` + `Init(corp_id, secret)`. On a failed Init the handle is destroyed at once (the
    /// library must never be called with it).
    pub fn new(lib: Arc<Library>, corp_id: &str, secret: &str) -> Result<Sdk, SdkError> {
        let corp_id = c_string("corp_id", corp_id)?;
        let secret = c_string("secret", secret)?;
        let api = lib.api;
        // SAFETY: NewSdk takes no arguments and returns a new handle or NULL.
        let raw = unsafe { (api.new_sdk)() };
        let handle = NonNull::new(raw).ok_or(SdkError::Null("sdk handle"))?;
        // SAFETY: `handle` is fresh from NewSdk; both strings are NUL-terminated and outlive the
        // call (Init copies them).
        let rc = unsafe { (api.init)(handle.as_ptr(), corp_id.as_ptr(), secret.as_ptr()) };
        if rc != 0 {
            // SAFETY: the handle is idle and destroyed exactly once; it is never used again.
            unsafe { (api.destroy_sdk)(handle.as_ptr()) };
            return Err(SdkError::Code(SdkCode::from_code(rc)));
        }
        Ok(Sdk { lib, handle })
    }

    /// The library this handle belongs to.
    pub fn library(&self) -> &Arc<Library> {
        &self.lib
    }

    fn api(&self) -> &Exports {
        &self.lib.api
    }

    /// GetChatData: the records after `seq` (at most `limit`, 1..=1000), as the raw body the
    /// library returns (it does not parse it). A non-zero return code is an error.
    pub fn get_chat_data_raw(
        &mut self,
        seq: u64,
        limit: u32,
        net: &NetOptions,
    ) -> Result<Vec<u8>, SdkError> {
        let proxy = c_string("proxy", &net.proxy)?;
        let passwd = c_string("passwd", &net.passwd)?;
        let api = self.api();
        let slice = OwnedSlice::new(api).ok_or(SdkError::Null("slice"))?;
        // SAFETY: the handle is initialised and, through `&mut self`, used by this call only;
        // the strings are NUL-terminated and outlive the call; `slice` is a live Slice_t.
        let rc = unsafe {
            (api.get_chat_data)(
                self.handle.as_ptr(),
                seq,
                limit,
                proxy.as_ptr(),
                passwd.as_ptr(),
                net.timeout_secs(),
                slice.ptr,
            )
        };
        if rc != 0 {
            return Err(SdkError::Code(SdkCode::from_code(rc)));
        }
        // Copied before `slice` is dropped (FreeSlice).
        slice.copy_out().ok_or(SdkError::Null("chat data buffer"))
    }

    /// GetChatData with the body parsed, and its in-body `errcode` checked: a return code of 0
    /// does not mean success (48002 with an app secret, 40014/42001 which the library never
    /// refreshes).
    pub fn get_chat_data(
        &mut self,
        seq: u64,
        limit: u32,
        net: &NetOptions,
    ) -> Result<ChatDataReply, SdkError> {
        parse_chat_data(&self.get_chat_data_raw(seq, limit, net)?)
    }

    /// GetMediaData: one chunk of the object named by `sdkfileid`, starting at `indexbuf` (`""` for
    /// the first chunk, then the previous chunk's [`MediaChunk::next_index`]).
    ///
    /// Refused before the call: an empty or non-ASCII sdkfileid or one with a NUL byte, and an
    /// `indexbuf` with control characters (the library sends it verbatim as a header line).
    /// **The library aborts the process** for sdkfileids such as `"="` or `"A="` and for a
    /// server `content` of `"="` (sdk-wire-protocol.md §4).
    pub fn get_media_chunk(
        &mut self,
        sdkfileid: &str,
        indexbuf: &str,
        net: &NetOptions,
    ) -> Result<MediaChunk, SdkError> {
        let fileid = ascii_c_string(sdkfileid.as_bytes())
            .filter(|c| c.as_bytes().len() == sdkfileid.len())
            .ok_or_else(|| {
                SdkError::InvalidArgument(
                    "the sdkfileid must be ascii without NUL bytes".to_owned(),
                )
            })?;
        if indexbuf.bytes().any(|b| b.is_ascii_control()) {
            return Err(SdkError::InvalidArgument(
                "the indexbuf holds a control character".to_owned(),
            ));
        }
        let index = c_string("indexbuf", indexbuf)?;
        let proxy = c_string("proxy", &net.proxy)?;
        let passwd = c_string("passwd", &net.passwd)?;
        let api = self.api();
        let media = OwnedMediaData::new(api).ok_or(SdkError::Null("media data"))?;
        // SAFETY: as in get_chat_data_raw; `media` is a fresh MediaData_t (never reused, so the
        // library's previous buffers cannot leak or alias the index we pass in).
        let rc = unsafe {
            (api.get_media_data)(
                self.handle.as_ptr(),
                index.as_ptr(),
                fileid.as_ptr(),
                proxy.as_ptr(),
                passwd.as_ptr(),
                net.timeout_secs(),
                media.ptr,
            )
        };
        if rc != 0 {
            return Err(SdkError::Code(SdkCode::from_code(rc)));
        }
        media.copy_out()
    }
}

impl Drop for Sdk {
    fn drop(&mut self) {
        // SAFETY: `drop` has exclusive access, so no call is in flight; the handle was
        // initialised in `new` and is destroyed exactly once.
        unsafe { (self.lib.api.destroy_sdk)(self.handle.as_ptr()) }
    }
}

/// The body of a GetChatData answer, checked: JSON of the documented shape and `errcode` 0.
/// Items are parsed one by one: an unreadable item is quarantined, not the page refused.
pub fn parse_chat_data(body: &[u8]) -> Result<ChatDataReply, SdkError> {
    let parsed =
        parse_chat_data_reply(body).map_err(|e| SdkError::InvalidResponse(e.to_string()))?;
    if parsed.errcode != 0 {
        return Err(SdkError::Api {
            errcode: parsed.errcode,
            errmsg: parsed.errmsg,
        });
    }
    Ok(parsed)
}

fn c_string(what: &str, value: &str) -> Result<CString, SdkError> {
    CString::new(value)
        .map_err(|_| SdkError::InvalidArgument(format!("the {what} contains a NUL byte")))
}

/// A `MediaData_t` from `NewMediaData`, freed with `FreeMediaData` on drop.
struct OwnedMediaData<'a> {
    api: &'a Exports,
    ptr: *mut c_void,
}

impl<'a> OwnedMediaData<'a> {
    fn new(api: &'a Exports) -> Option<OwnedMediaData<'a>> {
        // SAFETY: NewMediaData takes no arguments and returns a fresh allocation or NULL.
        let ptr = unsafe { (api.new_media_data)() };
        (!ptr.is_null()).then_some(OwnedMediaData { api, ptr })
    }

    /// Copies data, next index and the finish flag out through the accessor functions.
    fn copy_out(&self) -> Result<MediaChunk, SdkError> {
        let api = self.api;
        // SAFETY: `ptr` is a live MediaData_t filled by a successful GetMediaData; the accessors
        // only read it, and the buffers they return live until FreeMediaData (on drop).
        let (data, index, finish) = unsafe {
            let data = copy_buffer((api.get_data)(self.ptr), (api.get_data_len)(self.ptr));
            let index = copy_buffer(
                (api.get_out_index_buf)(self.ptr),
                (api.get_index_len)(self.ptr),
            );
            (data, index, (api.is_media_data_finish)(self.ptr))
        };
        let data = data.ok_or(SdkError::Null("media data buffer"))?;
        let index = index.unwrap_or_default();
        // The index is a C string; its length field may or may not count a trailing NUL.
        let end = index.iter().position(|&b| b == 0).unwrap_or(index.len());
        let next_index = String::from_utf8(index[..end].to_vec()).map_err(|_| {
            SdkError::InvalidResponse("the next media index is not text".to_owned())
        })?;
        Ok(MediaChunk {
            data,
            next_index,
            is_finish: finish == 1,
        })
    }
}

impl Drop for OwnedMediaData<'_> {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from NewMediaData and is freed exactly once, after every copy.
        unsafe { (self.api.free_media_data)(self.ptr) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up_to_whole_seconds_and_never_mean_forever() {
        let t = |d| {
            NetOptions {
                timeout: d,
                ..NetOptions::default()
            }
            .timeout_secs()
        };
        assert_eq!(t(Duration::ZERO), 1);
        assert_eq!(t(Duration::from_millis(1)), 1);
        assert_eq!(t(Duration::from_millis(5001)), 6);
        assert_eq!(t(Duration::from_secs(30)), 30);
        assert_eq!(t(Duration::MAX), i32::MAX);
    }

    #[test]
    fn a_zero_return_code_still_checks_the_body() {
        let forbidden = br#"{"errcode":48002,"errmsg":"api forbidden","chatdata":[]}"#;
        assert_eq!(
            parse_chat_data(forbidden),
            Err(SdkError::Api {
                errcode: 48002,
                errmsg: "api forbidden".to_owned()
            })
        );
        assert!(matches!(
            parse_chat_data(b"<html>"),
            Err(SdkError::InvalidResponse(_))
        ));
        let empty = parse_chat_data(br#"{"errcode":0,"errmsg":"ok"}"#).expect("empty page");
        assert!(empty.is_empty());
    }

    #[test]
    fn an_unreadable_item_of_the_library_output_is_quarantined_not_the_page() {
        let mut body = br#"{"errcode":0,"errmsg":"ok","chatdata":[{"seq":1,"msgid":"a","publickey_ver":1,"encrypt_random_key":"k","encrypt_chat_msg":"c"},{"seq":2,"msgid":"b"#.to_vec();
        body.push(0xFF);
        body.extend_from_slice(br#"","publickey_ver":1,"encrypt_random_key":"k","encrypt_chat_msg":"c"},{"seq":3,"msgid":"c","publickey_ver":1,"encrypt_random_key":"k","encrypt_chat_msg":"c"}]}"#);
        let reply = parse_chat_data(&body).expect("the page is kept");
        assert_eq!(
            reply.items.iter().map(|i| i.seq).collect::<Vec<_>>(),
            [1, 3]
        );
        assert_eq!(reply.quarantined.len(), 1);
        assert_eq!(reply.quarantined[0].seq, Some(2));
    }
}
