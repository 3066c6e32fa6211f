//! Several nodes on one archive: which node syncs which corp (leases with fencing tokens), and
//! waking the node that holds a corp from any other (a callback may arrive at any node).
//!
//! Only a backend that several processes can share implements [`Cluster`] (PostgreSQL); an
//! SQLite archive has one writer by its [`crate::WriterLock`] and no cluster
//! ([`crate::Roles::cluster`] is `None`).

use std::time::Duration;

use crate::StoreError;

pub use crate::postgres::{Lease, LeaseHolder};

/// Leases and wake-ups shared by every node of one archive. Blocking, like every store call.
pub trait Cluster: Send + Sync {
    /// This node's name in leases and claims.
    fn node(&self) -> &str;

    /// Takes the lease of `corp_id` for `ttl`, or renews it when this node holds it; `None` when
    /// another node holds it. From the first call on, this node's page commits of a corp succeed
    /// only while it holds that corp's newest lease (fencing): otherwise they fail with
    /// [`crate::StoreErrorKind::LeaseLost`] and store nothing.
    fn acquire_lease(&self, corp_id: &str, ttl: Duration) -> Result<Option<Lease>, StoreError>;

    /// Gives the lease of `corp_id` up at once (a clean shutdown), when this node holds it.
    fn release_lease(&self, corp_id: &str) -> Result<(), StoreError>;

    /// Every corp's lease as the database has it now.
    fn lease_holders(&self) -> Result<Vec<LeaseHolder>, StoreError>;

    /// Tells every node that `corp_id` has new data (its holder then syncs at once).
    fn wake(&self, corp_id: &str) -> Result<(), StoreError>;

    /// A subscription to [`Cluster::wake`] calls, on a connection of its own.
    fn wakes(&self) -> Result<Box<dyn Wakes>, StoreError>;
}

/// What a [`Wakes`] subscription heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// A node called [`Cluster::wake`] for this corp.
    Corp(String),
    /// The subscription was re-established after a broken connection: wakes may have been missed
    /// meanwhile, so treat every corp as woken.
    Resumed,
}

/// A subscription to wake-ups. Blocking.
pub trait Wakes: Send {
    /// Waits up to `timeout` for the next wake-up: `None` when none came. A broken connection is an
    /// error; the next call connects again (and answers [`Wake::Resumed`] once it has).
    fn next(&mut self, timeout: Duration) -> Result<Option<Wake>, StoreError>;
}
