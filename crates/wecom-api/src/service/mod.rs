//! What the routes do, without HTTP: the access checks, the reads and the audit entries, as
//! functions both the JSON API (`routes`) and the web app (`wecom-web`) call, so that the two can
//! never disagree on who may see what or on what is audited.
//!
//! - [`browse`]: the conversation list, search, directory, status, users, the audit log, sessions;
//! - [`read`]: a conversation's messages, a message and its raw JSON, media objects and their
//!   playable renditions.

pub mod browse;
pub mod read;
