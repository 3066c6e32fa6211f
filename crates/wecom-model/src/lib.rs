//! The message envelope: what every decrypted archive record has in common, parsed without losing a
//! byte. Payloads stay raw JSON here; typed payloads build on top of this.

mod envelope;
mod sanitize;

pub use envelope::{Action, Envelope, ParseError, parse_envelope};
pub use sanitize::escape_control_chars;
