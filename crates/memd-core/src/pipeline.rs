//! The background embedding pipeline: a dedicated thread that takes batches from the store's
//! durable embedding queue, embeds them, stores the vectors and brings the vector index up to
//! date. Because the queue is in the store, nothing is lost on a crash; a restart resumes it.
//!
//! Requests come first: while any search or write is running the worker holds its next batch
//! back (up to [`MAX_YIELD`] at a time, so a steady stream of requests slows embedding but never
//! stops it).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use memd_embed::Embedder;
use memd_store::{EmbeddingWrite, PendingEmbedding, Store};
use parking_lot::Mutex;

use crate::indexer::Indexer;
use crate::metrics as m;

const IDLE_POLL: Duration = Duration::from_secs(2);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Longest the worker waits for running requests to finish before its next batch.
const MAX_YIELD: Duration = Duration::from_millis(200);
/// How long no request may have run before the worker counts the server as idle. A moment with
/// none in flight is not idle: under a steady load there are such gaps between every response
/// and the next request, and a full batch started in one holds a core for ~100 ms.
const QUIET: Duration = Duration::from_millis(20);

/// Shared counters the service and `/metrics` read.
#[derive(Debug, Default)]
pub struct PipelineState {
    /// Memories acknowledged but not yet embedded.
    pub pending: AtomicI64,
    /// Consecutive failed batches (0 when healthy).
    pub failures: AtomicI64,
    /// Searches and writes running now; the worker yields the CPU to them.
    pub foreground: AtomicUsize,
    /// When a search or write last started or finished, in microseconds since `epoch`.
    last_foreground_us: AtomicU64,
    epoch: OnceLock<Instant>,
}

impl PipelineState {
    /// Marks a search or write as running until the guard drops.
    pub fn foreground(&self) -> ForegroundGuard<'_> {
        self.foreground.fetch_add(1, Ordering::AcqRel);
        self.touch();
        ForegroundGuard(self)
    }

    fn now_us(&self) -> u64 {
        self.epoch.get_or_init(Instant::now).elapsed().as_micros() as u64
    }

    fn touch(&self) {
        self.last_foreground_us.store(self.now_us(), Ordering::Release);
    }

    /// True when no search or write is running and none has for [`QUIET`].
    fn quiet(&self) -> bool {
        let since = self.now_us().saturating_sub(self.last_foreground_us.load(Ordering::Acquire));
        self.foreground.load(Ordering::Acquire) == 0 && since >= QUIET.as_micros() as u64
    }

    /// Waits (at most [`MAX_YIELD`]) until the server is quiet; true when it is.
    fn yield_to_requests(&self) -> bool {
        let deadline = Instant::now() + MAX_YIELD;
        loop {
            if self.quiet() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// See [`PipelineState::foreground`].
pub struct ForegroundGuard<'a>(&'a PipelineState);

impl Drop for ForegroundGuard<'_> {
    fn drop(&mut self) {
        self.0.touch();
        self.0.foreground.fetch_sub(1, Ordering::AcqRel);
    }
}

pub struct EmbedPipeline {
    wake: Sender<()>,
    stop: Arc<AtomicBool>,
    handle: Mutex<Option<JoinHandle<()>>>,
    pub state: Arc<PipelineState>,
}

struct Worker {
    store: Arc<dyn Store>,
    embedder: Arc<dyn Embedder>,
    indexer: Arc<Indexer>,
    batch_size: usize,
    stop: Arc<AtomicBool>,
    state: Arc<PipelineState>,
}

impl EmbedPipeline {
    pub fn start(
        store: Arc<dyn Store>,
        embedder: Arc<dyn Embedder>,
        indexer: Arc<Indexer>,
        batch_size: usize,
        state: Arc<PipelineState>,
    ) -> std::io::Result<Self> {
        let (wake, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let worker =
            Worker { store, embedder, indexer, batch_size, stop: stop.clone(), state: state.clone() };
        let handle = std::thread::Builder::new().name("memd-embed".into()).spawn(move || worker.run(rx))?;
        Ok(EmbedPipeline { wake, stop, handle: Mutex::new(Some(handle)), state })
    }

    /// Tells the worker new work is queued.
    pub fn notify(&self) {
        let _ = self.wake.send(());
    }

    /// Finishes the batch in flight and stops; the rest of the queue stays durable in the store.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.notify();
        if let Some(h) = self.handle.lock().take() {
            let _ = h.join();
        }
    }
}

impl Drop for EmbedPipeline {
    /// Stops the worker so it releases the indexes it holds (and their file locks).
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Worker {
    fn run(self, rx: Receiver<()>) {
        let mut backoff = Duration::from_millis(100);
        self.refresh_pending();
        while !self.stop.load(Ordering::SeqCst) {
            match self.step() {
                Ok(0) => {
                    backoff = Duration::from_millis(100);
                    match rx.recv_timeout(IDLE_POLL) {
                        Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                    while rx.try_recv().is_ok() {}
                }
                Ok(_) => backoff = Duration::from_millis(100),
                Err(StepError::Embedder(e)) => {
                    let n = self.state.failures.fetch_add(1, Ordering::Relaxed) + 1;
                    tracing::warn!(event = "embed_batch_failed", error_type = "embed", failures = n, error = %e);
                    let _ = rx.recv_timeout(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                // The store or index failed around a working embedder (a read-only or full
                // volume): retried the same way, but not held against the embedder's health.
                Err(StepError::Store(e)) => {
                    tracing::warn!(event = "embed_batch_failed", error_type = e.code().name(), error = %e);
                    let _ = rx.recv_timeout(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Embeds one batch; returns how many memories it took from the queue.
    fn step(&self) -> Result<usize, StepError> {
        // Under load, small batches: each holds a core (and the store's writer) for a short
        // time, so requests wait less behind it; embedding lags instead (memd_embed_pending).
        let size = if self.state.yield_to_requests() { self.batch_size } else { busy_batch(self.batch_size) };
        let batch = self.store.pending_embeddings(size)?;
        if batch.is_empty() {
            self.refresh_pending();
            return Ok(0);
        }
        let started = Instant::now();
        let texts: Vec<&str> = batch.iter().map(|p| p.content.as_str()).collect();
        let vectors = self.embedder.embed(&texts).map_err(|e| StepError::Embedder(e.into()))?;
        ::metrics::histogram!(m::EMBED_BATCH_SECONDS).record(started.elapsed().as_secs_f64());
        ::metrics::histogram!(m::EMBED_BATCH_SIZE).record(batch.len() as f64);
        let writes = to_writes(&batch, vectors);
        self.store.put_embeddings(self.embedder.model_id(), &writes)?;
        self.indexer.catch_up()?;
        self.state.failures.store(0, Ordering::Relaxed);
        self.refresh_pending();
        Ok(batch.len())
    }

    fn refresh_pending(&self) {
        if let Ok(n) = self.store.pending_count() {
            self.state.pending.store(n as i64, Ordering::Relaxed);
            ::metrics::gauge!(m::EMBED_PENDING).set(n as f64);
        }
    }
}

/// Why a background batch failed: the embedder (or what it produced), or an unavailable store.
enum StepError {
    Embedder(crate::ServiceError),
    Store(crate::ServiceError),
}

impl<E: Into<crate::ServiceError>> From<E> for StepError {
    /// The store being unavailable (a read-only or full volume, an I/O error) is not the
    /// embedder's fault; anything else going wrong with a batch (vectors the index refuses, …)
    /// counts against it as before.
    fn from(e: E) -> Self {
        match e.into() {
            e @ crate::ServiceError::Unavailable(_) => StepError::Store(e),
            e => StepError::Embedder(e),
        }
    }
}

/// The batch size while requests are running: an eighth of the configured one.
fn busy_batch(configured: usize) -> usize {
    (configured / 8).max(1)
}

fn to_writes(batch: &[PendingEmbedding], vectors: Vec<Vec<f32>>) -> Vec<EmbeddingWrite> {
    batch
        .iter()
        .zip(vectors)
        .map(|(p, vector)| EmbeddingWrite {
            tenant: p.tenant.clone(),
            memory_id: p.memory_id,
            version: p.version,
            vector,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_only_after_requests_have_stopped_for_a_while() {
        let state = PipelineState::default();
        {
            let _running = state.foreground();
            std::thread::sleep(QUIET + Duration::from_millis(5));
            assert!(!state.quiet(), "a running request is never quiet, however long it runs");
        }
        std::thread::sleep(QUIET + Duration::from_millis(5));
        assert!(state.quiet(), "nothing has run for longer than QUIET");
        assert!(state.yield_to_requests());
    }

    #[test]
    fn busy_batches_are_an_eighth() {
        assert_eq!(busy_batch(32), 4);
        assert_eq!(busy_batch(4), 1);
    }
}
