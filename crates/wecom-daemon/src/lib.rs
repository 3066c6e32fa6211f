//! The archive daemon as a library: its configuration ([`config`]), the daemon itself ([`run`]
//! on a bound listener until a shutdown future completes, owning every task it starts), one pull
//! of one corp ([`sync_once`] described by a [`SyncPlan`]), the figures `/metrics` and `/readyz`
//! show ([`figures`]), the rules they follow as plain functions ([`rules`]: readiness, time to
//! loss), the search index's writer ([`search`]) and what the HTTP API serves ([`api`]). It
//! prints nothing: the binary parses, prints and wires.

pub mod api;
mod cluster;
pub mod config;
mod daemon;
mod error;
pub mod figures;
pub mod holders;
pub mod names;
pub mod rules;
pub mod search;
pub mod source;
mod sync;

pub use daemon::{DaemonCorp, RunPlan, run};
pub use error::{DaemonError, DaemonErrorKind};
pub use source::{Source, SourceOverrides};
pub use sync::{SyncOutcome, SyncPlan, sync_once};
