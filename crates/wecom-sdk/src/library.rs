//! Loading `libWeWorkFinanceSdk_C.so` at run time from a configured path and binding its 17
//! exports. Every way loading can fail is reported in plain words (missing file, not ELF, wrong
//! machine, a glibc older than the library needs, a missing dependency or symbol).
//!
//! The library is never unloaded: it embeds curl, OpenSSL and a C++ runtime whose exit handlers
//! would run in unmapped memory after a `dlclose`. A loaded library stays mapped until the process
//! (normally a worker process) exits.

use std::ffi::{CString, c_char, c_int, c_uint, c_ulonglong, c_void};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use wecom_wire::SdkCode;

use crate::elf;

/// Why the vendor library could not be loaded. Every message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error(
        "the vendor library {path} does not exist (download libWeWorkFinanceSdk_C.so from WeCom's 会话内容存档 documentation and point the configuration at it)"
    )]
    NotFound { path: PathBuf },
    #[error("the vendor library {path} cannot be read: {message}")]
    Unreadable { path: PathBuf, message: String },
    #[error("{path} is not the vendor library: it is {what}")]
    NotElf { path: PathBuf, what: String },
    #[error(
        "the vendor library {path} is built for {library}, but this machine is {host}; WeCom ships it for Linux x86_64 (and a separate arm64 build)"
    )]
    WrongArchitecture {
        path: PathBuf,
        library: String,
        host: String,
    },
    #[error(
        "the vendor library {path} needs a newer C library: {needed} not found (this system has glibc {have}); run it on a newer Linux distribution"
    )]
    GlibcTooOld {
        path: PathBuf,
        needed: String,
        have: String,
    },
    #[error(
        "the vendor library {path} needs {dependency}, which is not installed (install the package that provides it, e.g. zlib for libz.so.1)"
    )]
    MissingDependency { path: PathBuf, dependency: String },
    #[error("the dynamic loader refused the vendor library {path}: {message}")]
    Dlopen { path: PathBuf, message: String },
    #[error(
        "{path} does not export {symbol}: it is not the WeCom archive library (libWeWorkFinanceSdk_C.so) or a version too old"
    )]
    MissingSymbol { path: PathBuf, symbol: &'static str },
}

type NewSdkFn = unsafe extern "C" fn() -> *mut c_void;
type InitFn = unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char) -> c_int;
type GetChatDataFn = unsafe extern "C" fn(
    *mut c_void,
    c_ulonglong,
    c_uint,
    *const c_char,
    *const c_char,
    c_int,
    *mut c_void,
) -> c_int;
type DecryptDataFn = unsafe extern "C" fn(*const c_char, *const c_char, *mut c_void) -> c_int;
type GetMediaDataFn = unsafe extern "C" fn(
    *mut c_void,
    *const c_char,
    *const c_char,
    *const c_char,
    *const c_char,
    c_int,
    *mut c_void,
) -> c_int;
type DestroySdkFn = unsafe extern "C" fn(*mut c_void);
type NewFn = unsafe extern "C" fn() -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut c_void);
type BufFn = unsafe extern "C" fn(*mut c_void) -> *mut c_char;
type IntFn = unsafe extern "C" fn(*mut c_void) -> c_int;

/// The 17 exports, as function pointers. Valid for the life of the process (never unloaded).
#[derive(Clone, Copy)]
pub(crate) struct Exports {
    pub new_sdk: NewSdkFn,
    pub init: InitFn,
    pub get_chat_data: GetChatDataFn,
    pub decrypt_data: DecryptDataFn,
    pub get_media_data: GetMediaDataFn,
    pub destroy_sdk: DestroySdkFn,
    pub new_slice: NewFn,
    pub free_slice: FreeFn,
    pub get_content_from_slice: BufFn,
    pub get_slice_len: IntFn,
    pub new_media_data: NewFn,
    pub free_media_data: FreeFn,
    pub get_out_index_buf: BufFn,
    pub get_data: BufFn,
    pub get_index_len: IntFn,
    pub get_data_len: IntFn,
    pub is_media_data_finish: IntFn,
}

/// The loaded vendor library. Cheap to share (`Arc`); a [`crate::Sdk`] handle keeps it alive.
///
/// Functions that need no handle ([`Library::decrypt_data`]) are safe to call from any thread:
/// they keep no state between calls.
pub struct Library {
    path: PathBuf,
    pub(crate) api: Exports,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Library")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Checks the file at `path` without loading it: it exists, is readable, and is a 64-bit ELF shared
/// library for this machine. Loading can still fail later (glibc, dependencies, symbols).
pub fn check_library_file(path: &Path) -> Result<(), LoadError> {
    elf::check(path).map(|_| ())
}

impl Library {
    /// Loads the library at `path` (checked with [`check_library_file`] first) and binds its 17
    /// exports. Loading the same file twice maps it once.
    pub fn load(path: &Path) -> Result<Arc<Library>, LoadError> {
        elf::check(path)?;
        // RTLD_NOW: an unresolved symbol fails here, with a message, rather than crashing in the
        // middle of a call. RTLD_LOCAL: the curl and OpenSSL it embeds stay out of our namespace.
        let flags = libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_LOCAL;
        // SAFETY: loading runs the library's initialisers. That is the one thing we cannot check;
        // the file has at least been verified to be a shared library for this machine, and this
        // is what the operator configured.
        let lib = unsafe { libloading::os::unix::Library::open(Some(path), flags) }
            .map_err(|e| classify_dlopen_error(path, &e.to_string()))?;

        macro_rules! bind {
            ($name:literal) => {{
                // SAFETY: the symbol is one of the exports of WeWorkFinanceSdk_C.h, whose C
                // signature the type annotation at the use site mirrors (reference §1.3/§1.4).
                let symbol = unsafe { lib.get(concat!($name, "\0").as_bytes()) }.map_err(|_| {
                    LoadError::MissingSymbol {
                        path: path.to_owned(),
                        symbol: $name,
                    }
                })?;
                // The pointer stays valid because the library is never unloaded (see below).
                *symbol
            }};
        }
        let api = Exports {
            new_sdk: bind!("NewSdk"),
            init: bind!("Init"),
            get_chat_data: bind!("GetChatData"),
            decrypt_data: bind!("DecryptData"),
            get_media_data: bind!("GetMediaData"),
            destroy_sdk: bind!("DestroySdk"),
            new_slice: bind!("NewSlice"),
            free_slice: bind!("FreeSlice"),
            get_content_from_slice: bind!("GetContentFromSlice"),
            get_slice_len: bind!("GetSliceLen"),
            new_media_data: bind!("NewMediaData"),
            free_media_data: bind!("FreeMediaData"),
            get_out_index_buf: bind!("GetOutIndexBuf"),
            get_data: bind!("GetData"),
            get_index_len: bind!("GetIndexLen"),
            get_data_len: bind!("GetDataLen"),
            is_media_data_finish: bind!("IsMediaDataFinish"),
        };
        // Never dlclose (module docs): the function pointers above stay valid for the process.
        std::mem::forget(lib);
        Ok(Arc::new(Library {
            path: path.to_owned(),
            api,
        }))
    }

    /// Where the library was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The vendor `DecryptData`, for conformance tests and diagnostics only: the archive decrypts
    /// with `wecom_crypto::decrypt_data`, which never crashes.
    ///
    /// Each input is read as a C string (up to its first NUL). Inputs with bytes >= 0x80 are
    /// refused with 10000 without calling the library, because its base64 decoder reads outside
    /// its table for them (undefined behaviour).
    ///
    /// **The library aborts the whole process** (SIGABRT) for an `encrypt_msg` under 13
    /// characters, an `encrypt_key` of `"="` or `"===="`, and a few other malformed layouts
    /// (decrypt-data.md): call it in a worker process ([`crate::SdkSource::decrypt_data_batch`]).
    pub fn decrypt_data(&self, encrypt_key: &[u8], encrypt_msg: &[u8]) -> Result<Vec<u8>, SdkCode> {
        let (Some(key), Some(msg)) = (ascii_c_string(encrypt_key), ascii_c_string(encrypt_msg))
        else {
            return Err(SdkCode::InvalidArgument);
        };
        let slice = OwnedSlice::new(&self.api).ok_or(SdkCode::System)?;
        // SAFETY: both strings are NUL-terminated and outlive the call; `slice` is a live Slice_t
        // from NewSlice. DecryptData does not keep any of the pointers.
        let rc = unsafe { (self.api.decrypt_data)(key.as_ptr(), msg.as_ptr(), slice.ptr) };
        if rc != 0 {
            return Err(SdkCode::from_code(rc));
        }
        slice.copy_out().ok_or(SdkCode::System)
    }
}

/// The bytes up to the first NUL as a C string, or `None` when they hold a byte >= 0x80.
pub(crate) fn ascii_c_string(bytes: &[u8]) -> Option<CString> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let bytes = bytes.get(..end)?;
    if !bytes.is_ascii() {
        return None;
    }
    CString::new(bytes).ok()
}

/// A `Slice_t` from `NewSlice`, freed with `FreeSlice` on drop.
pub(crate) struct OwnedSlice<'a> {
    api: &'a Exports,
    pub ptr: *mut c_void,
}

impl<'a> OwnedSlice<'a> {
    pub fn new(api: &'a Exports) -> Option<OwnedSlice<'a>> {
        // SAFETY: NewSlice takes no arguments and returns a fresh allocation or NULL.
        let ptr = unsafe { (api.new_slice)() };
        (!ptr.is_null()).then_some(OwnedSlice { api, ptr })
    }

    /// A copy of the slice's content (`None` when the library reports a length but no buffer).
    pub fn copy_out(&self) -> Option<Vec<u8>> {
        // SAFETY: `ptr` is a live Slice_t; the accessors only read it.
        let (buf, len) = unsafe {
            (
                (self.api.get_content_from_slice)(self.ptr),
                (self.api.get_slice_len)(self.ptr),
            )
        };
        // SAFETY: the library owns `len` readable bytes at `buf` until FreeSlice (on drop).
        unsafe { copy_buffer(buf, len) }
    }
}

impl Drop for OwnedSlice<'_> {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from NewSlice and is freed exactly once, after every copy.
        unsafe { (self.api.free_slice)(self.ptr) }
    }
}

/// Copies `len` bytes at `buf`; a non-positive length is empty, a NULL buffer with a positive
/// length is `None`.
///
/// # Safety
/// When `len > 0` and `buf` is not NULL, `buf` must point to `len` readable bytes.
pub(crate) unsafe fn copy_buffer(buf: *const c_char, len: c_int) -> Option<Vec<u8>> {
    let Ok(len) = usize::try_from(len) else {
        return Some(Vec::new());
    };
    if len == 0 {
        return Some(Vec::new());
    }
    if buf.is_null() {
        return None;
    }
    // SAFETY: the caller guarantees `len` readable bytes at `buf`.
    Some(unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len) }.to_vec())
}

/// Turns the dynamic loader's message into a plain-words error.
pub(crate) fn classify_dlopen_error(path: &Path, message: &str) -> LoadError {
    if let Some(needed) = missing_glibc_version(message) {
        return LoadError::GlibcTooOld {
            path: path.to_owned(),
            needed,
            have: host_glibc_version(),
        };
    }
    if let Some(dependency) = missing_dependency(message) {
        return LoadError::MissingDependency {
            path: path.to_owned(),
            dependency,
        };
    }
    LoadError::Dlopen {
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

/// `GLIBC_2.34` out of "version `GLIBC_2.34' not found (required by …)".
fn missing_glibc_version(message: &str) -> Option<String> {
    if !message.contains("not found") {
        return None;
    }
    let at = message.find("GLIBC_")?;
    let version: String = message[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        .collect();
    Some(version)
}

/// `libz.so.1` out of "libz.so.1: cannot open shared object file: No such file or directory".
fn missing_dependency(message: &str) -> Option<String> {
    let (name, _) = message.split_once(": cannot open shared object file")?;
    let name = name.rsplit(' ').next().unwrap_or(name).trim();
    (!name.is_empty() && !name.contains("WeWorkFinanceSdk")).then(|| name.to_owned())
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn host_glibc_version() -> String {
    // SAFETY: gnu_get_libc_version returns a pointer to a static NUL-terminated string.
    let version = unsafe { std::ffi::CStr::from_ptr(libc::gnu_get_libc_version()) };
    version.to_string_lossy().into_owned()
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn host_glibc_version() -> String {
    "none (this program is not linked against glibc; the vendor library needs a glibc system)"
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_messages_become_plain_words() {
        let path = Path::new("/opt/wecom/libWeWorkFinanceSdk_C.so");
        let e = classify_dlopen_error(
            path,
            "/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by /opt/wecom/libWeWorkFinanceSdk_C.so)",
        );
        let LoadError::GlibcTooOld { needed, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(needed, "GLIBC_2.38");
        assert!(e.to_string().contains("GLIBC_2.38 not found"), "{e}");
        assert!(e.to_string().contains("newer"), "{e}");

        let e = classify_dlopen_error(
            path,
            "libz.so.1: cannot open shared object file: No such file or directory",
        );
        assert_eq!(
            e,
            LoadError::MissingDependency {
                path: path.to_owned(),
                dependency: "libz.so.1".to_owned()
            }
        );

        let e = classify_dlopen_error(path, "something else entirely");
        assert!(matches!(e, LoadError::Dlopen { .. }), "{e:?}");
    }

    #[test]
    fn c_strings_stop_at_nul_and_refuse_non_ascii() {
        assert_eq!(
            ascii_c_string(b"abc\0def").expect("ascii").as_bytes(),
            b"abc"
        );
        assert_eq!(ascii_c_string(b"").expect("empty").as_bytes(), b"");
        assert!(ascii_c_string("é".as_bytes()).is_none());
        // Bytes after the NUL are never read, so they may be anything.
        assert!(ascii_c_string(b"ok\0\xff").is_some());
    }

    #[test]
    fn missing_and_wrong_files_are_named() {
        let dir = std::env::temp_dir().join(format!("wecom-sdk-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let missing = dir.join("absent.so");
        assert!(matches!(
            Library::load(&missing),
            Err(LoadError::NotFound { .. })
        ));
        let zip = dir.join("sdk.zip.so");
        std::fs::write(&zip, b"PK\x03\x04 not really").expect("write");
        let e = Library::load(&zip).expect_err("zip");
        assert!(e.to_string().contains("zip archive"), "{e}");
        let e = Library::load(&dir).expect_err("dir");
        assert!(e.to_string().contains("directory"), "{e}");
        // A real shared library of this machine that is not the vendor's: the symbol is named.
        if let Some(libm) = [
            "/lib/x86_64-linux-gnu/libm.so.6",
            "/lib/aarch64-linux-gnu/libm.so.6",
        ]
        .iter()
        .map(Path::new)
        .find(|p| p.exists())
        {
            let e = Library::load(libm).expect_err("libm is not the vendor library");
            assert!(
                matches!(
                    e,
                    LoadError::MissingSymbol {
                        symbol: "NewSdk",
                        ..
                    }
                ),
                "{e:?}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
