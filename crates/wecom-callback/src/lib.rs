//! WeCom's callback security scheme (reference §5.2) and the `msgaudit_notify` event: signature check,
//! AES-256-CBC message decryption with 32-byte PKCS#7, the receive id check, and the XML envelopes.
//! Pure code: the daemon's HTTP endpoint and the emulator's callback sender both build on it.

mod crypto;
mod xml;

pub use crypto::{CallbackCrypto, CallbackError};
pub use xml::{Event, encrypted_envelope, parse_encrypted_envelope, parse_event};
