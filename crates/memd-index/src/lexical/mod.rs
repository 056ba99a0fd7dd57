//! BM25 keyword search over tantivy, with writes visible at once.
//!
//! Committing tantivy per write is too slow, so [`LexicalIndex::apply`] only records the change
//! in an in-memory [`tail::Tail`] and an operation queue and returns. A background committer
//! (every `commit_interval` when there is work, sooner when the tail passes `max_tail_docs`) moves
//! the queue into the `IndexWriter`, commits with the last applied change-log `seq` as the commit
//! payload, reloads the reader and prunes the tail. Search merges tantivy's hits (minus ids the
//! tail has newer versions of) with a brute-force BM25 of the tail over the same statistics.
//!
//! Durability: [`LexicalIndex::seq`] is the seq of the last commit. After a crash the caller
//! replays the change log from there; re-applying an id replaces it. `Drop` does not commit (call
//! [`LexicalIndex::flush`] on shutdown); it stops the committer.
//!
//! Lock order: `writer`, then `tail`, then `queue` (each optional); nothing that holds `tail` or
//! `queue` waits for `writer`.

mod bm25;
mod feedback;
mod query;
mod schema;
mod search;
mod tail;

use std::cell::RefCell;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use memd_store::{Filter, Memory, TenantId};
use parking_lot::{Condvar, Mutex, RwLock};
use tantivy::directory::MmapDirectory;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyError};
use uuid::Uuid;

use self::schema::{Fields, LexDoc};
use self::tail::Tail;
use crate::{Hit, IndexError, LexicalIndex};

pub use self::bm25::LengthNorm;
pub use self::feedback::Feedback;

/// The terms a search for `text` looks up: question and function words dropped (unless nothing
/// else is left), lower-cased, stemmed, each once. What the index makes of a query, for
/// debugging and benchmarks.
pub fn query_tokens(text: &str) -> Vec<String> {
    thread_local! {
        static QUERY: RefCell<TextAnalyzer> = RefCell::new(schema::query_analyzer());
    }
    QUERY.with(|q| DOCUMENT.with(|d| schema::query_tokens(&mut q.borrow_mut(), &d.borrow(), text)))
}

thread_local! {
    /// The document analyzer of [`query_tokens`] and [`document_tokens`].
    static DOCUMENT: RefCell<TextAnalyzer> = RefCell::new(schema::analyzer());
}

/// The terms a memory's `text` is indexed under, in order (with repeats).
pub fn document_tokens(text: &str) -> Vec<String> {
    DOCUMENT.with(|a| {
        let mut out = Vec::new();
        schema::for_each_token(&mut a.borrow_mut(), text, |t| out.push(t.to_owned()));
        out
    })
}

/// Tuning of the lexical index.
#[derive(Clone, Debug, PartialEq)]
pub struct LexicalConfig {
    /// How often the committer commits when there are pending changes.
    pub commit_interval: Duration,
    /// Tail size that wakes the committer early; at 4× this, `apply` commits itself.
    pub max_tail_docs: usize,
    /// Memory budget of the tantivy writer (at least 15 MB).
    pub writer_memory_bytes: usize,
    /// BM25's length normalisation `b` (see [`LengthNorm`]); tantivy's own is 0.75.
    pub bm25_b: f32,
}

impl Default for LexicalConfig {
    fn default() -> Self {
        Self {
            commit_interval: Duration::from_millis(200),
            max_tail_docs: 2_000,
            writer_memory_bytes: 64 << 20,
            bm25_b: bm25::TANTIVY_B,
        }
    }
}

enum Op {
    Upsert(Arc<LexDoc>),
    Delete(TenantId, Uuid),
}

/// Operations applied but not yet handed to the writer.
#[derive(Default)]
struct Queue {
    ops: Vec<Op>,
    /// Generation of the last queued op (generations start at 1).
    gen: u64,
    /// Seq of the last `apply` not yet committed.
    seq: Option<i64>,
}

#[derive(Default)]
struct Wake {
    stop: bool,
    now: bool,
}

pub(crate) struct Inner {
    fields: Fields,
    analyzer: TextAnalyzer,
    /// The analyzer of search queries ([`schema::query_analyzer`]); `analyzer` indexes documents.
    query_analyzer: TextAnalyzer,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    queue: Mutex<Queue>,
    tail: RwLock<Tail>,
    committed_seq: AtomicI64,
    wake: Mutex<Wake>,
    wake_cv: Condvar,
    config: LexicalConfig,
}

/// The tantivy-backed [`LexicalIndex`].
pub struct TantivyLexical {
    inner: Arc<Inner>,
    committer: Option<JoinHandle<()>>,
}

fn io(e: TantivyError) -> IndexError {
    match e {
        TantivyError::SchemaError(m) => IndexError::Corrupt(format!("schema mismatch: {m}")),
        TantivyError::DataCorruption(c) => IndexError::Corrupt(format!("{c:?}")),
        TantivyError::LockFailure(l, m) => IndexError::Locked(format!(
            "lexical index is locked (another memd on this data directory?): {l} {}",
            m.unwrap_or_default()
        )),
        other => IndexError::Io(other.to_string()),
    }
}

impl TantivyLexical {
    /// Opens (or creates) the index in `dir` with the default configuration.
    pub fn open(dir: &Path) -> Result<Self, IndexError> {
        Self::open_with(dir, LexicalConfig::default())
    }

    pub fn open_with(dir: &Path, config: LexicalConfig) -> Result<Self, IndexError> {
        std::fs::create_dir_all(dir).map_err(|e| IndexError::Io(format!("{}: {e}", dir.display())))?;
        let index = match open_dir(dir) {
            Err(TantivyError::SchemaError(e)) => {
                // An index written by an older memd: it is derived data, so start it afresh
                // (seq 0) and let the caller replay the change log into it.
                tracing::warn!(event = "lexical_index_reset", reason = %e, "lexical index schema changed: rebuilding it from the store");
                std::fs::remove_dir_all(dir)
                    .map_err(|e| IndexError::Io(format!("{}: {e}", dir.display())))?;
                std::fs::create_dir_all(dir)
                    .map_err(|e| IndexError::Io(format!("{}: {e}", dir.display())))?;
                open_dir(dir).map_err(io)?
            }
            other => other.map_err(io)?,
        };
        Self::start(index, config)
    }

    /// A memory-only index (tests, benchmarks).
    pub fn in_ram() -> Result<Self, IndexError> {
        Self::in_ram_with(LexicalConfig::default())
    }

    pub fn in_ram_with(config: LexicalConfig) -> Result<Self, IndexError> {
        Self::start(Index::create_in_ram(schema::schema().0), config)
    }

    fn start(index: Index, config: LexicalConfig) -> Result<Self, IndexError> {
        let (_, fields) = schema::schema();
        index.tokenizers().register(schema::ANALYZER, schema::analyzer());
        let seq = match index.load_metas().map_err(io)?.payload {
            None => 0,
            Some(p) => p
                .parse::<i64>()
                .map_err(|_| IndexError::Corrupt(format!("commit payload {p:?} is not a seq")))?,
        };
        let writer =
            index.writer_with_num_threads(1, config.writer_memory_bytes.max(15_000_000)).map_err(io)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into();
        let inner = Arc::new(Inner {
            reader: reader.map_err(io)?,
            fields,
            analyzer: schema::analyzer(),
            query_analyzer: schema::query_analyzer(),
            writer: Mutex::new(writer),
            queue: Mutex::new(Queue::default()),
            tail: RwLock::new(Tail::default()),
            committed_seq: AtomicI64::new(seq),
            wake: Mutex::new(Wake::default()),
            wake_cv: Condvar::new(),
            config,
        });
        let bg = Arc::clone(&inner);
        let committer = std::thread::Builder::new()
            .name("memd-lexical-commit".into())
            .spawn(move || bg.run_committer())
            .map_err(|e| IndexError::Io(format!("cannot start the committer thread: {e}")))?;
        Ok(Self { inner, committer: Some(committer) })
    }

    /// Number of changes applied but not yet committed.
    pub fn pending(&self) -> usize {
        self.inner.tail.read().len()
    }
}

impl Drop for TantivyLexical {
    fn drop(&mut self) {
        self.inner.wake.lock().stop = true;
        self.inner.wake_cv.notify_all();
        if let Some(h) = self.committer.take() {
            let _ = h.join();
        }
    }
}

impl Inner {
    fn run_committer(&self) {
        loop {
            {
                let mut w = self.wake.lock();
                if !w.stop && !w.now {
                    self.wake_cv.wait_for(&mut w, self.config.commit_interval);
                }
                if w.stop {
                    return;
                }
                w.now = false;
            }
            if let Err(e) = self.commit() {
                tracing::warn!(error = %e, "lexical index commit failed; will retry");
            }
        }
    }

    /// Hands queued operations to the writer, commits them with their seq, reloads the reader
    /// and prunes the tail. A no-op when nothing is pending.
    fn commit(&self) -> Result<(), IndexError> {
        let mut writer = self.writer.lock();
        let (ops, seq, gen) = {
            let mut q = self.queue.lock();
            if q.ops.is_empty() && q.seq.is_none() {
                return Ok(());
            }
            (std::mem::take(&mut q.ops), q.seq.take(), q.gen)
        };
        for op in ops {
            match op {
                Op::Upsert(d) => {
                    writer.delete_term(schema::key_term(&self.fields, &d.memory.tenant, d.memory.id));
                    writer.add_document(d.to_document(&self.fields)).map_err(io)?;
                }
                Op::Delete(t, id) => {
                    writer.delete_term(schema::key_term(&self.fields, &t, id));
                }
            }
        }
        let seq = seq.unwrap_or_else(|| self.committed_seq.load(Ordering::Acquire));
        let mut prepared = writer.prepare_commit().map_err(io)?;
        prepared.set_payload(&seq.to_string());
        prepared.commit().map_err(io)?;
        self.reader.reload().map_err(io)?;
        self.committed_seq.store(seq, Ordering::Release);
        self.tail.write().prune(gen);
        Ok(())
    }

    fn wake_committer(&self) {
        self.wake.lock().now = true;
        self.wake_cv.notify_one();
    }
}

impl LexicalIndex for TantivyLexical {
    fn apply(&self, upserts: &[Memory], deletes: &[(TenantId, Uuid)], seq: i64) -> Result<(), IndexError> {
        let inner = &self.inner;
        let mut analyzer = inner.analyzer.clone();
        let docs: Vec<Arc<LexDoc>> =
            upserts.iter().map(|m| Arc::new(LexDoc::new(m.clone(), &mut analyzer))).collect();
        let pending = {
            let mut tail = inner.tail.write();
            let mut q = inner.queue.lock();
            for d in docs {
                q.gen += 1;
                tail.put(&d.memory.tenant, d.memory.id, q.gen, Some(Arc::clone(&d)));
                q.ops.push(Op::Upsert(d));
            }
            for (t, id) in deletes {
                q.gen += 1;
                tail.put(t, *id, q.gen, None);
                q.ops.push(Op::Delete(t.clone(), *id));
            }
            q.seq = Some(seq);
            tail.len()
        };
        let max = inner.config.max_tail_docs.max(1);
        if pending >= max.saturating_mul(4) {
            inner.commit()?;
        } else if pending >= max {
            inner.wake_committer();
        }
        Ok(())
    }

    fn search(
        &self,
        tenant: &TenantId,
        query: &str,
        filter: &Filter,
        limit: usize,
    ) -> Result<Vec<Hit>, IndexError> {
        self.inner.search(tenant, query, filter, limit, None)
    }

    fn search_with_feedback(
        &self,
        tenant: &TenantId,
        query: &str,
        feedback: &Feedback,
        filter: &Filter,
        limit: usize,
    ) -> Result<Vec<Hit>, IndexError> {
        self.inner.search(tenant, query, filter, limit, Some(feedback))
    }

    fn seq(&self) -> i64 {
        self.inner.committed_seq.load(Ordering::Acquire)
    }

    fn flush(&self) -> Result<(), IndexError> {
        self.inner.commit()
    }

    fn clear(&self) -> Result<(), IndexError> {
        let inner = &self.inner;
        let mut writer = inner.writer.lock();
        {
            let mut tail = inner.tail.write();
            tail.clear();
            *inner.queue.lock() = Queue::default();
        }
        // Applies that arrive from here on are queued and reach the writer after this commit.
        writer.delete_all_documents().map_err(io)?;
        let mut prepared = writer.prepare_commit().map_err(io)?;
        prepared.set_payload("0");
        prepared.commit().map_err(io)?;
        inner.reader.reload().map_err(io)?;
        inner.committed_seq.store(0, Ordering::Release);
        Ok(())
    }

    /// Committed documents plus pending new versions (a pending replacement of a committed
    /// document is counted twice until the next commit).
    fn num_docs(&self) -> u64 {
        let tail = self.inner.tail.read();
        self.inner.reader.searcher().num_docs() + tail.live_docs()
    }
}

#[cfg(test)]
mod tests;

/// Opens (or creates) the on-disk index in `dir` with memd's schema.
fn open_dir(dir: &Path) -> Result<Index, TantivyError> {
    let mmap = MmapDirectory::open(dir).map_err(|e| TantivyError::SystemError(e.to_string()))?;
    Index::open_or_create(mmap, schema::schema().0)
}
