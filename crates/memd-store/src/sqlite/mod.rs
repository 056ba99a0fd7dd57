//! The embedded SQLite backend: one file in WAL mode, one group-committing writer connection and
//! a small pool of read-only connections so reads never queue behind writes.
//!
//! Submodules: `schema` (pragmas, migrations), `writer` (group commit), `codec` (value
//! conversions, the tenant predicates), `memories` (the write path and point reads), `query`
//! (listing, tags), `embeddings` (queue, vectors, change log, scans), `keys` (API keys) and
//! `store_impl` (the [`crate::Store`] impl wiring them to connections).

mod adjacent;
mod codec;
mod embeddings;
mod events;
mod graph;
mod keys;
mod memories;
mod perf;
mod query;
mod schema;
mod shared_seq;
mod store_impl;
mod writer;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use serde::{Deserialize, Serialize};

use crate::Result;

pub use schema::SCHEMA_VERSION;

/// How hard a commit works to survive a crash. The database always runs in WAL mode.
///
/// In WAL mode a committed transaction's frames are written to the WAL file (handed to the OS)
/// before `COMMIT` returns, under either setting. So with [`Durability::Normal`] a `kill -9` of
/// the process loses nothing that was acknowledged — the OS still holds the frames — and only an
/// OS crash or power loss can lose the last commits (the WAL is fsynced at checkpoints only).
/// [`Durability::Full`] (`synchronous=FULL`) also fsyncs the WAL on every commit, so even power
/// loss loses nothing acknowledged, at the cost of one fsync per write transaction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    #[default]
    Full,
    Normal,
}

/// Options of [`SqliteStore::open`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SqliteOptions {
    pub durability: Durability,
    /// Read-only connections (at least 1).
    pub readers: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self { durability: Durability::Full, readers: 4 }
    }
}

/// The SQLite [`crate::Store`].
pub struct SqliteStore {
    writer: writer::Writer,
    /// The change-log head shared with other processes on the file (none in memory).
    shared: Option<Arc<shared_seq::SharedSeq>>,
    /// Empty for an in-memory database, whose only connection is the writer.
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Read connections in use, for [`crate::metrics::STORE_READERS_BUSY`].
    readers_busy: AtomicUsize,
}

/// Records a store call's duration (waiting for a connection included) when dropped.
struct Timer {
    kind: &'static str,
    started: std::time::Instant,
}

impl Timer {
    fn start(kind: &'static str) -> Self {
        Self { kind, started: std::time::Instant::now() }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        metrics::histogram!(crate::metrics::STORE_SECONDS, "kind" => self.kind)
            .record(self.started.elapsed().as_secs_f64());
    }
}

/// Counts a read connection as busy while held.
struct Busy<'a>(&'a AtomicUsize);

impl<'a> Busy<'a> {
    fn enter(n: &'a AtomicUsize) -> Self {
        let now = n.fetch_add(1, Ordering::Relaxed) + 1;
        metrics::gauge!(crate::metrics::STORE_READERS_BUSY).set(now as f64);
        Busy(n)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        let now = self.0.fetch_sub(1, Ordering::Relaxed).saturating_sub(1);
        metrics::gauge!(crate::metrics::STORE_READERS_BUSY).set(now as f64);
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, switches it to WAL and migrates it.
    /// Fails with a clear error when the file was written by a newer memd.
    pub fn open(path: &Path, opts: SqliteOptions) -> Result<Self> {
        let mut writer = Connection::open(path)?;
        writer.busy_timeout(schema::BUSY_TIMEOUT)?;
        schema::enable_wal(&writer)?;
        schema::configure(&writer, opts.durability, false)?;
        schema::migrate(&mut writer)?;
        // Read-write flags with `query_only` on: a read-only open of a WAL file has edge cases
        // (the shared-memory file) that a read-write one does not.
        let flags =
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let readers = (0..opts.readers.max(1))
            .map(|_| {
                let conn = Connection::open_with_flags(path, flags)?;
                schema::configure(&conn, opts.durability, true)?;
                Ok(Mutex::new(conn))
            })
            .collect::<Result<Vec<_>>>()?;
        let shared = Arc::new(shared_seq::SharedSeq::open(path)?);
        // The file may be new (or lost): it is never behind the log it announces. It is never
        // lowered either, so a process opening the file cannot hide another's fresh commit.
        shared.raise(embeddings::max_seq(&writer)?);
        Ok(Self {
            writer: writer::Writer::new(writer, Some(shared.clone())),
            shared: Some(shared),
            readers,
            next_reader: AtomicUsize::new(0),
            readers_busy: AtomicUsize::new(0),
        })
    }

    /// A private in-memory database with one connection (for tests and ephemeral use).
    pub fn open_in_memory() -> Result<Self> {
        let mut conn = Connection::open_in_memory()?;
        schema::configure(&conn, Durability::Normal, false)?;
        schema::migrate(&mut conn)?;
        Ok(Self {
            writer: writer::Writer::new(conn, None),
            shared: None,
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
            readers_busy: AtomicUsize::new(0),
        })
    }

    /// The schema version stored in the file.
    pub fn schema_version(&self) -> Result<i64> {
        schema::version(&self.reader())
    }

    /// Runs `f` in a write transaction (group-committed with concurrent writers, see
    /// [`writer`]); any error rolls back everything `f` did.
    fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let _timer = Timer::start("write");
        self.writer.write(f)
    }

    /// Runs `f` on a read connection, each statement its own snapshot.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let _timer = Timer::start("read");
        let conn = self.reader();
        let _busy = Busy::enter(&self.readers_busy);
        f(&conn)
    }

    /// Runs `f` in one read transaction: every statement sees the same snapshot.
    fn snapshot<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let _timer = Timer::start("snapshot");
        let mut conn = self.reader();
        let _busy = Busy::enter(&self.readers_busy);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// An idle reader if there is one, else the next one round-robin (or the writer when the
    /// database is in memory).
    fn reader(&self) -> MutexGuard<'_, Connection> {
        if self.readers.is_empty() {
            return self.writer.conn().lock();
        }
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let n = self.readers.len();
        (0..n)
            .find_map(|i| self.readers[(start + i) % n].try_lock())
            .unwrap_or_else(|| self.readers[start % n].lock())
    }
}
