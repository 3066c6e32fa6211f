//! The archive's read models: what a reader is shown about conversations, messages, rooms,
//! people, the archive's counts and the sync cursor, each a typed `Serialize` struct built by a
//! plain function from an [`ArchiveReader`](wecom_store::ArchiveReader).
//!
//! Invariants:
//! - these structs are the public JSON shapes: every `--json` output of the CLI serializes one,
//!   and the HTTP API serializes the same ones; a field renamed here is a breaking change for
//!   scripts, so field names only ever get added;
//! - views only read: every builder takes `&dyn ArchiveReader` and never writes, holds no lock
//!   and keeps no state between calls;
//! - views know no presentation: no terminal escaping, no time zones, no text layout (the CLI
//!   renders them) and no HTTP (the server maps them);
//! - display names are resolved in one `display_names` call per view, never one per row;
//! - with the `openapi` feature every view derives `utoipa::ToSchema`, so the HTTP API's
//!   OpenAPI document describes exactly these shapes.

mod conversation;
mod directory;
mod stats;
mod status;
mod window;

pub use conversation::{
    ConversationItem, ConversationPage, MessageView, PageCursor, PageCursorError,
    conversation_list, conversation_page, conversations, message,
};
pub use directory::{
    ConsentView, NameChangeView, PersonDetail, PersonView, RoomDetailView, RoomMemberView,
    RoomView, people, person, room, rooms,
};
pub use stats::{
    ArchiveCounts, ArchiveStats, MediaStatus, MediaView, NamesView, SearchFigures, SeqGapsView,
    archive_stats, media_status,
};
pub use status::{CursorStatus, QuarantinedItemView, cursor_status};
/// The filter of [`conversation_list`], as the store defines it.
pub use wecom_store::ConversationFilter;
pub use window::{
    MediaObjectView, MediaRefView, MessageDetail, MessageWindow, PageAt, media_object,
    message_detail, message_window,
};
