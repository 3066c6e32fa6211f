//! The sync engine: pulls encrypted pages from an [`ArchiveSource`], decrypts them on blocking
//! threads, and commits each page together with the cursor in one store transaction. A crash at any
//! point loses nothing (the cursor only moves with its page) and duplicates nothing (replays are
//! idempotent on msgid).

mod decrypt;
mod engine;
mod redecrypt;
mod runner;

pub use decrypt::{JSON_FAILURE_CODE, decrypt_item, decrypt_page, outcome_of_plaintext};
pub use engine::{
    DEFAULT_MAX_SEQ_JUMP, IMPLAUSIBLE_SEQ, Progress, ScreenedPage, SharedStore, SyncError,
    SyncOptions, SyncReport, screen_page, sync_until_caught_up,
};
pub use redecrypt::{RedecryptReport, redecrypt};
pub use runner::{RunnerHandle, RunnerOptions, RunnerStatus, run_corp};
pub use wecom_wire::ArchiveSource;
