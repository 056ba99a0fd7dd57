//! Group commit for the single writer connection.
//!
//! With `synchronous=FULL` every commit costs an fsync, and one writer serialises them, so at
//! concurrency 8 an insert would wait for up to eight fsyncs. Instead, writers queue their work;
//! whoever next holds the connection (the leader) runs everything queued in one transaction,
//! each job inside its own SAVEPOINT (a failing job rolls back only itself), commits once, and
//! hands every job its result. Waiting writers then find their result already delivered. A job's
//! result is only delivered after the commit that made it durable.

use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use parking_lot::Mutex;
use rusqlite::{Connection, TransactionBehavior};

use super::shared_seq::SharedSeq;
use crate::{Result, StoreError};

/// Delivers a job's result once the outcome of its transaction's commit is known.
type Completion = Box<dyn FnOnce(Option<&StoreError>) + Send>;
/// Runs a job on the open transaction (or, when the batch could not get that far, fails it
/// with the cause); `true` when it succeeded and its savepoint is kept.
type Job = Box<dyn FnOnce(std::result::Result<&Connection, &StoreError>) -> (bool, Completion) + Send>;

/// Most jobs committed together, bounding the latency a batch adds to its first job.
const MAX_BATCH: usize = 256;

pub(super) struct Writer {
    conn: Mutex<Connection>,
    queue: Mutex<Vec<Job>>,
    /// Raised to the change log's head after every commit, for other processes.
    shared: Option<Arc<SharedSeq>>,
}

impl Writer {
    pub(super) fn new(conn: Connection, shared: Option<Arc<SharedSeq>>) -> Self {
        Self { conn: Mutex::new(conn), queue: Mutex::new(Vec::new()), shared }
    }

    /// The connection itself, for reads of an in-memory database (which has no readers).
    pub(super) fn conn(&self) -> &Mutex<Connection> {
        &self.conn
    }

    /// Runs `f` in a write transaction, possibly shared with other writers' jobs, and returns
    /// once that transaction has committed (or failed).
    pub(super) fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let rx = self.enqueue(f);
        let mut conn = self.conn.lock();
        loop {
            if let Some(out) = try_take(&rx) {
                return out;
            }
            let batch: Vec<Job> = {
                let mut q = self.queue.lock();
                let n = q.len().min(MAX_BATCH);
                q.drain(..n).collect()
            };
            if batch.is_empty() {
                // Our job was taken by a leader that then failed without answering.
                return Err(StoreError::Backend("write job was lost".into()));
            }
            run_batch(&mut conn, batch, self.shared.as_deref());
        }
    }

    fn enqueue<T, F>(&self, f: F) -> Receiver<Result<T>>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = sync_channel(1);
        let job: Job = Box::new(move |c: std::result::Result<&Connection, &StoreError>| {
            let res = match c {
                Ok(c) => f(c),
                Err(e) => Err(in_context("write transaction failed", e)),
            };
            let ok = res.is_ok();
            let done: Completion = Box::new(move |commit_err: Option<&StoreError>| {
                let out = match (res, commit_err) {
                    (Ok(_), Some(e)) => Err(in_context("commit failed", e)),
                    (res, _) => res,
                };
                let _ = tx.send(out);
            });
            (ok, done)
        });
        self.queue.lock().push(job);
        rx
    }
}

/// `e` with `context` prefixed, keeping its kind: an unavailable store (read-only or full volume,
/// I/O error) stays unavailable, so callers learn the write may succeed when retried.
fn in_context(context: &str, e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(m) => StoreError::Unavailable(format!("{context}: {m}")),
        other => StoreError::Backend(format!("{context}: {other}")),
    }
}

fn try_take<T>(rx: &Receiver<Result<T>>) -> Option<Result<T>> {
    match rx.try_recv() {
        Ok(out) => Some(out),
        Err(std::sync::mpsc::TryRecvError::Empty) => None,
        Err(std::sync::mpsc::TryRecvError::Disconnected) => {
            Some(Err(StoreError::Backend("write job was dropped".into())))
        }
    }
}

/// Runs `batch` in one `BEGIN IMMEDIATE` transaction, completes every job, and announces the
/// change log's new head on `shared`.
fn run_batch(conn: &mut Connection, batch: Vec<Job>, shared: Option<&SharedSeq>) {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return fail_all(batch.into_iter(), Vec::new(), &e.into()),
    };
    let mut done = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    while let Some(job) = jobs.next() {
        if let Err(e) = tx.execute_batch("SAVEPOINT job") {
            drop(tx);
            return fail_all(std::iter::once(job).chain(jobs), done, &e.into());
        }
        let (ok, completion) = job(Ok(&tx));
        done.push(completion);
        let end = if ok { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
        if let Err(e) = tx.execute_batch(end) {
            drop(tx);
            return fail_all(jobs, done, &e.into());
        }
    }
    let head = shared.and_then(|_| super::embeddings::max_seq(&tx).ok());
    let outcome = tx.commit().err().map(StoreError::from);
    if let (Some(shared), Some(head), None) = (shared, head, &outcome) {
        shared.raise(head);
    }
    complete(done, outcome.as_ref());
}

fn complete(done: Vec<Completion>, err: Option<&StoreError>) {
    for d in done {
        d(err);
    }
}

/// The transaction is gone: jobs that ran learn it did not commit, the rest fail with `err`.
fn fail_all(unrun: impl Iterator<Item = Job>, mut done: Vec<Completion>, err: &StoreError) {
    tracing::warn!(error = %err, "write batch failed");
    done.extend(unrun.map(|job| job(Err(err)).1));
    complete(done, Some(err));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(w: &Writer) -> Vec<i64> {
        let conn = w.conn().lock();
        let mut stmt = conn.prepare("SELECT x FROM t ORDER BY x").unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    }

    fn writer() -> Writer {
        let w = Writer::new(Connection::open_in_memory().unwrap(), None);
        w.write(|c| Ok(c.execute_batch("CREATE TABLE t (x INTEGER)")?)).unwrap();
        w
    }

    #[test]
    fn a_failing_job_rolls_back_only_itself() {
        let w = writer();
        let first = w.enqueue(|c| Ok(c.execute("INSERT INTO t VALUES (1)", [])?));
        let bad = w.enqueue(|c| {
            c.execute("INSERT INTO t VALUES (2)", [])?;
            Err::<usize, _>(StoreError::Invalid("refused".into()))
        });
        // This caller leads: one transaction runs all three queued jobs.
        w.write(|c| Ok(c.execute("INSERT INTO t VALUES (3)", [])?)).unwrap();
        assert_eq!(first.try_recv().unwrap().unwrap(), 1);
        assert!(matches!(bad.try_recv().unwrap(), Err(StoreError::Invalid(_))));
        assert_eq!(values(&w), vec![1, 3]);
    }

    #[test]
    fn concurrent_writers_all_commit() {
        let w = std::sync::Arc::new(writer());
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let w = w.clone();
                std::thread::spawn(move || {
                    for j in 0..50 {
                        let x = i * 1000 + j;
                        w.write(move |c| Ok(c.execute("INSERT INTO t VALUES (?1)", [x])?)).unwrap();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(values(&w).len(), 400);
    }
}
