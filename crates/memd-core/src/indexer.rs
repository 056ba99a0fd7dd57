//! Keeps the derived indexes in step with the store's change log. Each index's applied `seq` is
//! tracked here; [`Indexer::catch_up`] reads the log past the lower of the two, re-reads the
//! current state of every changed memory and applies it, so replaying a change is harmless and a
//! restart resumes from what the lexical index persisted and what the vector snapshot reflected.
//! The same log carries the writes of other memd processes sharing the store ([`Indexer::behind`]).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use memd_index::{LexicalIndex, VectorIndex};
use memd_store::{Change, ChangeOp, Store, TenantId};
use parking_lot::{Mutex, RwLock};
use uuid::Uuid;

use crate::ServiceError;

const LOG_BATCH: usize = 2_000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Applied {
    lexical: i64,
    vector: i64,
}

pub struct Indexer {
    store: Arc<dyn Store>,
    lexical: Arc<dyn LexicalIndex>,
    vector: Arc<dyn VectorIndex>,
    /// The embedding model whose vectors the vector index holds; `None` disables it.
    model: Option<String>,
    applied: Mutex<Applied>,
    /// The lower of the two applied seqs, readable without the lock (see [`Self::behind`]).
    applied_min: AtomicI64,
    /// Both applied seqs as last published, for status and metrics without the lock (which a
    /// catch-up holds for a whole batch).
    applied_lexical: AtomicI64,
    applied_vector: AtomicI64,
    /// Bumped for a tenant whenever a change of its memories reaches the indexes.
    generations: RwLock<HashMap<TenantId, u64>>,
    /// Bumped when an index is reloaded or rebuilt as a whole.
    epoch: AtomicU64,
}

/// What [`Indexer::open`] did, for the start-up log and the benchmarks.
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    pub lexical_seq_on_disk: i64,
    pub vectors_loaded: usize,
    pub vector_load_ms: u128,
    pub changes_replayed: u64,
    pub catch_up_ms: u128,
}

impl Indexer {
    /// Loads the vector index from the stored vectors and replays the change log into both.
    pub fn open(
        store: Arc<dyn Store>,
        lexical: Arc<dyn LexicalIndex>,
        vector: Arc<dyn VectorIndex>,
        model: Option<String>,
    ) -> Result<(Self, LoadReport), ServiceError> {
        let lexical_seq = lexical.seq();
        let me = Indexer {
            applied: Mutex::new(Applied { lexical: lexical_seq, vector: 0 }),
            applied_min: AtomicI64::new(0),
            applied_lexical: AtomicI64::new(lexical_seq),
            applied_vector: AtomicI64::new(0),
            generations: RwLock::new(HashMap::new()),
            epoch: AtomicU64::new(0),
            store,
            lexical,
            vector,
            model,
        };
        let mut report = me.reload_vectors()?;
        report.lexical_seq_on_disk = lexical_seq;
        let started = Instant::now();
        report.changes_replayed = me.catch_up()?;
        report.catch_up_ms = started.elapsed().as_millis();
        Ok((me, report))
    }

    /// Applies every change written since the last call; returns how many log rows were read.
    /// Blocking. Serialised: concurrent callers wait, then find little or nothing left to do.
    pub fn catch_up(&self) -> Result<u64, ServiceError> {
        let mut applied = self.applied.lock();
        // Writers that committed together all call this; the first applies every change, and
        // the rest learn from the shared head that nothing is left, without a query.
        if self.store.committed_seq_hint().is_some_and(|head| head <= applied.lexical.min(applied.vector)) {
            return Ok(0);
        }
        let mut total = 0u64;
        loop {
            let from = applied.lexical.min(applied.vector);
            let changes = self.store.changes_since(from, LOG_BATCH)?;
            let Some(last) = changes.last().map(|c| c.seq) else { break };
            total += changes.len() as u64;
            if last > applied.lexical {
                self.apply_lexical(&changes, applied.lexical, last)?;
                applied.lexical = last;
            }
            if last > applied.vector {
                self.apply_vector(&changes, applied.vector)?;
                applied.vector = last;
                self.vector.set_seq(last);
            }
            self.bump(&changes);
            if changes.len() < LOG_BATCH {
                break;
            }
        }
        self.publish(&applied);
        Ok(total)
    }

    fn publish(&self, applied: &Applied) {
        self.applied_lexical.store(applied.lexical, Ordering::Release);
        self.applied_vector.store(applied.vector, Ordering::Release);
        self.applied_min.store(applied.lexical.min(applied.vector), Ordering::Release);
    }

    /// True when another process sharing the store has committed changes these indexes have
    /// not applied yet (an atomic read; never a query). Reads that go through the indexes call
    /// [`Self::catch_up`] first when it is, so a memory written by one process is found by the
    /// next search of every other.
    pub fn behind(&self) -> bool {
        self.store.committed_seq_hint().is_some_and(|head| head > self.applied_min.load(Ordering::Acquire))
    }

    fn apply_lexical(&self, changes: &[Change], after: i64, last: i64) -> Result<(), ServiceError> {
        let ids = changed(changes, after, |op| op != ChangeOp::Embed);
        let now = Utc::now();
        let mut upserts = Vec::new();
        let mut deletes = Vec::new();
        for (tenant, ids) in ids {
            let live = self.store.get_many(&tenant, &ids, now)?;
            let live_ids: BTreeSet<Uuid> = live.iter().map(|m| m.id).collect();
            deletes.extend(ids.iter().filter(|id| !live_ids.contains(id)).map(|id| (tenant.clone(), *id)));
            upserts.extend(live);
        }
        self.lexical.apply(&upserts, &deletes, last)?;
        Ok(())
    }

    /// Brings the vectors of the changed memories up to date. Only a memory with a new embedding,
    /// or one the index already holds (its filter data or liveness may have changed), needs its
    /// stored vector read; a new memory has none until its `Embed` change, so adds cost no read.
    fn apply_vector(&self, changes: &[Change], after: i64) -> Result<(), ServiceError> {
        let Some(model) = &self.model else { return Ok(()) };
        let embedded: BTreeSet<(&TenantId, Uuid)> = changes
            .iter()
            .filter(|c| c.seq > after && c.op == ChangeOp::Embed)
            .map(|c| (&c.tenant, c.memory_id))
            .collect();
        let now = Utc::now();
        let mut upserts = Vec::new();
        let mut removes = Vec::new();
        for (tenant, ids) in changed(changes, after, |_| true) {
            for id in ids {
                if !embedded.contains(&(&tenant, id)) && !self.vector.contains(&tenant, id) {
                    continue;
                }
                match self.store.vector_of(&tenant, id, model, now)? {
                    Some(v) => upserts.push((v.memory, v.vector)),
                    None => removes.push((tenant.clone(), id)),
                }
            }
        }
        self.vector.remove(&removes);
        self.vector.upsert(&upserts)?;
        Ok(())
    }

    /// Drops both indexes and rebuilds them from the store.
    pub fn rebuild(&self) -> Result<LoadReport, ServiceError> {
        let started = Instant::now();
        {
            let mut applied = self.applied.lock();
            self.lexical.clear()?;
            let mut err = None;
            let mut docs = 0usize;
            let seq = self.store.scan_memories(&mut |batch| {
                docs += batch.len();
                if err.is_none() {
                    err = self.lexical.apply(&batch, &[], 0).err();
                }
            })?;
            if let Some(e) = err {
                return Err(e.into());
            }
            self.lexical.apply(&[], &[], seq)?;
            self.lexical.flush()?;
            applied.lexical = seq;
            self.publish(&applied);
            self.epoch.fetch_add(1, Ordering::AcqRel);
            tracing::info!(event = "lexical_rebuilt", docs, seq);
        }
        let mut report = self.reload_vectors()?;
        report.changes_replayed = self.catch_up()?;
        report.catch_up_ms = started.elapsed().as_millis();
        Ok(report)
    }

    /// Empties the vector index and loads every stored vector of the model.
    fn reload_vectors(&self) -> Result<LoadReport, ServiceError> {
        let mut applied = self.applied.lock();
        let mut report = LoadReport::default();
        let started = Instant::now();
        self.vector.clear();
        let seq = match &self.model {
            None => self.store.max_seq()?,
            Some(model) => {
                let mut err = None;
                let seq = self.store.scan_vectors(model, &mut |batch| {
                    report.vectors_loaded += batch.len();
                    let items: Vec<_> = batch.into_iter().map(|v| (v.memory, v.vector)).collect();
                    if err.is_none() {
                        err = self.vector.upsert(&items).err();
                    }
                })?;
                if let Some(e) = err {
                    return Err(e.into());
                }
                seq
            }
        };
        applied.vector = seq;
        self.publish(&applied);
        self.vector.set_seq(seq);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        report.vector_load_ms = started.elapsed().as_millis();
        Ok(report)
    }

    /// A number that changes whenever anything a search of `tenant` could return changes (a
    /// write, an embedding, a rebuild). Read it before searching: a result computed under one
    /// generation is current for as long as the generation stays the same.
    pub fn generation(&self, tenant: &TenantId) -> u64 {
        let own = self.generations.read().get(tenant).copied().unwrap_or(0);
        // Both parts only grow, so their sum changes whenever either does.
        own + self.epoch.load(Ordering::Acquire)
    }

    fn bump(&self, changes: &[Change]) {
        let tenants: BTreeSet<&TenantId> = changes.iter().map(|c| &c.tenant).collect();
        let mut gens = self.generations.write();
        for t in tenants {
            *gens.entry(t.clone()).or_default() += 1;
        }
    }

    /// Persists the lexical index (at shutdown).
    pub fn flush(&self) -> Result<(), ServiceError> {
        let _guard = self.applied.lock();
        self.lexical.flush()?;
        Ok(())
    }

    /// (lexical, vector) applied seq, for status and lag metrics.
    /// Never waits for a catch-up in progress: it reads the last published values.
    pub fn applied(&self) -> (i64, i64) {
        (self.applied_lexical.load(Ordering::Acquire), self.applied_vector.load(Ordering::Acquire))
    }

    pub fn lexical(&self) -> &Arc<dyn LexicalIndex> {
        &self.lexical
    }

    pub fn vector(&self) -> &Arc<dyn VectorIndex> {
        &self.vector
    }
}

/// Distinct memory ids per tenant among changes with `seq > after` whose op passes `keep`.
fn changed(changes: &[Change], after: i64, keep: impl Fn(ChangeOp) -> bool) -> HashMap<TenantId, Vec<Uuid>> {
    let mut seen = BTreeSet::new();
    let mut out: HashMap<TenantId, Vec<Uuid>> = HashMap::new();
    for c in changes.iter().filter(|c| c.seq > after && keep(c.op)) {
        if seen.insert((c.tenant.clone(), c.memory_id)) {
            out.entry(c.tenant.clone()).or_default().push(c.memory_id);
        }
    }
    out
}
