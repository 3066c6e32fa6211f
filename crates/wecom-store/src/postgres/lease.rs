//! Leases: which node syncs which corp. One row per corp in `corp_leases`; times are the
//! database's clock, so the nodes' clocks never matter. The token grows by one every time the lease
//! changes hands, and each page commit of a fenced store checks its token inside the commit's
//! transaction (holding the lease row), so a node that was paused or cut off past its lease can
//! never commit after another node took the corp over.

use std::sync::atomic::Ordering;
use std::time::Duration;

use postgres::Transaction;

use super::{PgStore, TxError};
use crate::StoreError;

/// A lease this node holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub corp_id: String,
    /// The fencing token: larger for every new holder.
    pub token: i64,
    /// How long it lasts unless renewed.
    pub ttl: Duration,
}

/// Who holds a corp's lease, as the database says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    pub corp_id: String,
    pub holder: String,
    pub token: i64,
    /// Milliseconds until it lapses (negative: lapsed, free to take).
    pub expires_in_ms: i64,
}

impl PgStore {
    /// Takes the lease of `corp_id` for `ttl`, or renews it when this node holds it. Granted when
    /// nobody holds it, when its holder's lease lapsed, or when this node is the holder; `None`
    /// when another node holds it. Once a store took a lease, its page commits are fenced: a
    /// corp's pages commit only while this store holds that corp's newest token.
    pub fn acquire_lease(&self, corp_id: &str, ttl: Duration) -> Result<Option<Lease>, StoreError> {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1);
        let node = self.node.clone();
        self.fenced.store(true, Ordering::SeqCst);
        let token: Option<i64> = self.write("taking a corp's lease", |tx| {
            // The node's heartbeat: while it lasts, the node's media claims are its own.
            tx.execute(
                "INSERT INTO cluster_nodes (node, seen_at, expires_at)
                 VALUES ($1, now(), now() + $2::bigint * interval '1 millisecond')
                 ON CONFLICT (node) DO UPDATE SET seen_at = EXCLUDED.seen_at,
                     expires_at = EXCLUDED.expires_at",
                &[&node, &ttl_ms],
            )?;
            tx.execute(
                "DELETE FROM cluster_nodes WHERE expires_at < now() - interval '1 day'",
                &[],
            )?;
            let row = tx.query_opt(
                "INSERT INTO corp_leases AS l
                     (corp_id, holder, token, acquired_at, renewed_at, expires_at)
                 VALUES ($1, $2, 1, now(), now(), now() + $3::bigint * interval '1 millisecond')
                 ON CONFLICT (corp_id) DO UPDATE SET
                     holder = EXCLUDED.holder,
                     token = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at > now()
                                  THEN l.token ELSE l.token + 1 END,
                     acquired_at = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at > now()
                                        THEN l.acquired_at ELSE now() END,
                     renewed_at = now(),
                     expires_at = EXCLUDED.expires_at
                 WHERE l.holder = EXCLUDED.holder OR l.expires_at <= now()
                 RETURNING token",
                &[&corp_id, &node, &ttl_ms],
            )?;
            Ok(row.map(|row| row.try_get(0)).transpose()?)
        })?;
        let mut fences = self.fences();
        match token {
            Some(token) => {
                fences.insert(corp_id.to_owned(), token);
                Ok(Some(Lease {
                    corp_id: corp_id.to_owned(),
                    token,
                    ttl,
                }))
            }
            None => {
                fences.remove(corp_id);
                Ok(None)
            }
        }
    }

    /// Gives the lease of `corp_id` up at once (on a clean shutdown), so another node takes the
    /// corp over without waiting for it to lapse. Nothing happens when this node does not hold it.
    pub fn release_lease(&self, corp_id: &str) -> Result<(), StoreError> {
        let node = self.node.clone();
        self.fences().remove(corp_id);
        self.write("giving a corp's lease up", |tx| {
            tx.execute(
                "UPDATE corp_leases SET expires_at = now() WHERE corp_id = $1 AND holder = $2",
                &[&corp_id, &node],
            )?;
            Ok(())
        })
    }

    /// Every corp's lease, as the database has it now.
    pub fn lease_holders(&self) -> Result<Vec<LeaseHolder>, StoreError> {
        self.read("reading the corps' leases", |tx| {
            let rows = tx.query(
                "SELECT corp_id, holder, token,
                        (extract(epoch FROM expires_at - clock_timestamp()) * 1000)::bigint
                 FROM corp_leases ORDER BY corp_id",
                &[],
            )?;
            rows.iter()
                .map(|row| {
                    Ok(LeaseHolder {
                        corp_id: row.try_get(0)?,
                        holder: row.try_get(1)?,
                        token: row.try_get(2)?,
                        expires_in_ms: row.try_get(3)?,
                    })
                })
                .collect::<Result<Vec<_>, postgres::Error>>()
                .map_err(TxError::from)
        })
    }

    /// Inside a commit's transaction: whether this store may write `corp_id`'s pages. An unfenced
    /// store (no lease ever taken: a single-node command) may; a fenced one only while the lease
    /// row (locked here until the commit ends, so no takeover can interleave) carries this node
    /// and the token it was granted.
    pub(crate) fn check_fence(
        &self,
        tx: &mut Transaction<'_>,
        corp_id: &str,
        op: &'static str,
    ) -> Result<(), TxError> {
        if !self.fenced.load(Ordering::SeqCst) {
            return Ok(());
        }
        let lost = || {
            TxError::Store(StoreError::LeaseLost {
                corp_id: corp_id.to_owned(),
                op,
            })
        };
        let Some(token) = self.fences().get(corp_id).copied() else {
            return Err(lost());
        };
        let row = tx.query_opt(
            "SELECT holder, token FROM corp_leases WHERE corp_id = $1 FOR SHARE",
            &[&corp_id],
        )?;
        match row {
            Some(row) => {
                let holder: String = row.try_get(0)?;
                let current: i64 = row.try_get(1)?;
                if holder == self.node && current == token {
                    Ok(())
                } else {
                    Err(lost())
                }
            }
            None => Err(lost()),
        }
    }
}

/// The channel wake-ups travel on: one per schema, so archives sharing a database do not wake
/// each other.
fn wake_channel(schema: Option<&str>) -> String {
    format!("wecom_archive_wake_{}", schema.unwrap_or("public"))
}

impl crate::Cluster for PgStore {
    fn node(&self) -> &str {
        &self.node
    }

    fn acquire_lease(&self, corp_id: &str, ttl: Duration) -> Result<Option<Lease>, StoreError> {
        PgStore::acquire_lease(self, corp_id, ttl)
    }

    fn release_lease(&self, corp_id: &str) -> Result<(), StoreError> {
        PgStore::release_lease(self, corp_id)
    }

    fn lease_holders(&self) -> Result<Vec<LeaseHolder>, StoreError> {
        PgStore::lease_holders(self)
    }

    fn wake(&self, corp_id: &str) -> Result<(), StoreError> {
        let channel = wake_channel(self.schema.as_deref());
        self.write("waking the corp's node", |tx| {
            tx.execute("SELECT pg_notify($1, $2)", &[&channel, &corp_id])?;
            Ok(())
        })
    }

    fn wakes(&self) -> Result<Box<dyn crate::Wakes>, StoreError> {
        let mut wakes = PgWakes {
            config: self.config.clone(),
            tls: self.tls.clone(),
            channel: wake_channel(self.schema.as_deref()),
            target: self.target.clone(),
            client: None,
            resumed: false,
        };
        wakes.connect()?;
        wakes.resumed = false;
        Ok(Box::new(wakes))
    }
}

/// LISTEN on a connection of its own.
struct PgWakes {
    config: postgres::Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    channel: String,
    target: String,
    client: Option<postgres::Client>,
    /// A reconnect happened that the caller was not told of yet.
    resumed: bool,
}

impl PgWakes {
    fn connect(&mut self) -> Result<(), StoreError> {
        const OP: &str = "listening for wake-ups";
        let mut client = self
            .config
            .connect(self.tls.clone())
            .map_err(|e| super::pg_error(&self.target, OP, &e))?;
        client
            .batch_execute(&format!("LISTEN {}", super::quote_ident(&self.channel)))
            .map_err(|e| super::pg_error(&self.target, OP, &e))?;
        self.client = Some(client);
        self.resumed = true;
        Ok(())
    }
}

impl crate::Wakes for PgWakes {
    fn next(&mut self, timeout: Duration) -> Result<Option<crate::Wake>, StoreError> {
        if self.client.is_none() {
            self.connect()?;
        }
        if std::mem::take(&mut self.resumed) {
            return Ok(Some(crate::Wake::Resumed));
        }
        let Some(client) = self.client.as_mut() else {
            return Ok(None);
        };
        use postgres::fallible_iterator::FallibleIterator as _;
        let heard = client.notifications().timeout_iter(timeout).next();
        match heard {
            Ok(None) => Ok(None),
            Ok(Some(notification)) => {
                Ok(Some(crate::Wake::Corp(notification.payload().to_owned())))
            }
            Err(e) => {
                self.client = None;
                Err(super::pg_error(&self.target, "listening for wake-ups", &e))
            }
        }
    }
}
