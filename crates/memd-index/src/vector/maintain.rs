//! Background upkeep of the tenants' graphs, on one worker thread per index (started on first
//! use, so an index whose tenants all stay below the threshold never starts it).
//!
//! Writers only queue a tenant ([`Maintainer::notify`]); the worker then, per tenant:
//! - builds a graph once the tenant has more than the threshold rows, and rebuilds it when more
//!   than 1/[`REBUILD_DEAD_DIVISOR`] of its nodes are tombstones or it is full;
//! - inserts pending rows (added or re-embedded since the build) into the current graph;
//! - drops the graph once the tenant has shrunk to half the threshold.
//!
//! A build copies the rows under the tenant's *read* lock (a memcpy, ~50 ms for 100k × 384), builds
//! with no lock held, and installs the graph under a short write lock; searches use the old
//! graph (or the exact scan) meanwhile. Every job holds `jobs`, so builds and inserts into one
//! graph never interleave.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use super::ann::{install, Graph, HnswParams};
use super::Shared;

/// Rebuild when more than 1/8 of the graph's nodes are tombstones.
const REBUILD_DEAD_DIVISOR: usize = 8;
/// Pending rows inserted per step (the read lock is taken once per step to copy them).
const INSERT_BATCH: usize = 4096;

/// What a tenant needs next.
enum Step {
    Build,
    Insert,
    Drop,
}

#[derive(Default)]
struct Queue {
    tenants: VecDeque<Shared>,
    busy: bool,
    started: bool,
    shutdown: bool,
}

/// The worker's queue and the settings it builds with.
pub(crate) struct Maintainer {
    queue: Mutex<Queue>,
    changed: Condvar,
    jobs: Mutex<()>,
    pub params: HnswParams,
    pub threshold: usize,
    pub build_threads: usize,
}

impl Maintainer {
    pub fn new(params: HnswParams, threshold: usize, build_threads: usize) -> Self {
        Self {
            queue: Mutex::new(Queue::default()),
            changed: Condvar::new(),
            jobs: Mutex::new(()),
            params,
            threshold,
            build_threads: build_threads.max(1),
        }
    }

    /// True when a tenant of `rows` rows, with or without a graph, may need upkeep.
    pub fn wants(&self, rows: usize, has_graph: bool) -> bool {
        has_graph || rows > self.threshold
    }

    /// Queues `tenant` for the worker (once), starting the worker if needed.
    pub fn notify(self: &Arc<Self>, tenant: &Shared) {
        let mut q = self.queue.lock();
        if q.shutdown || q.tenants.iter().any(|t| Arc::ptr_eq(t, tenant)) {
            return;
        }
        q.tenants.push_back(tenant.clone());
        if !q.started {
            let me = Arc::clone(self);
            let spawned = std::thread::Builder::new().name("memd-hnsw".into()).spawn(move || me.run());
            match spawned {
                Ok(_) => q.started = true,
                Err(e) => tracing::warn!(error = %e, "cannot start the HNSW worker; exact search only"),
            }
        }
        self.changed.notify_all();
    }

    /// Tenants queued or being worked on.
    pub fn jobs(&self) -> usize {
        let q = self.queue.lock();
        q.tenants.len() + usize::from(q.busy)
    }

    /// Blocks until the queue is empty and the worker idle.
    pub fn wait_idle(&self) {
        let mut q = self.queue.lock();
        while q.started && !q.shutdown && (q.busy || !q.tenants.is_empty()) {
            self.changed.wait(&mut q);
        }
    }

    /// Stops the worker after its current job.
    pub fn shutdown(&self) {
        self.queue.lock().shutdown = true;
        self.changed.notify_all();
    }

    fn run(&self) {
        loop {
            let tenant = {
                let mut q = self.queue.lock();
                q.busy = false;
                self.changed.notify_all();
                loop {
                    if q.shutdown {
                        return;
                    }
                    if let Some(t) = q.tenants.pop_front() {
                        q.busy = true;
                        break t;
                    }
                    self.changed.wait(&mut q);
                }
            };
            while self.step(&tenant, false) {}
        }
    }

    /// Builds `tenant`'s graph now, in the caller's thread, if it is above the threshold.
    pub fn rebuild(&self, tenant: &Shared) -> bool {
        self.step(tenant, true) && tenant.read().ann.graph.is_some()
    }

    /// Does one piece of work on `tenant`; false when there was nothing to do.
    fn step(&self, tenant: &Shared, force_build: bool) -> bool {
        let _job = self.jobs.lock();
        let step = {
            let t = tenant.read();
            let (rows, ann) = (t.len(), &t.ann);
            match &ann.graph {
                _ if rows <= self.threshold / 2 && ann.graph.is_some() => Some(Step::Drop),
                _ if rows <= self.threshold => None,
                _ if force_build => Some(Step::Build),
                None => Some(Step::Build),
                Some(g) if g.is_broken() || g.added() + ann.pending.len() > g.capacity() => Some(Step::Build),
                Some(g) if ann.dead(rows) > g.added() / REBUILD_DEAD_DIVISOR => Some(Step::Build),
                Some(_) if !ann.pending.is_empty() => Some(Step::Insert),
                Some(_) => None,
            }
        };
        match step {
            None => false,
            Some(Step::Drop) => {
                tenant.write().ann = Default::default();
                true
            }
            Some(Step::Build) => self.build(tenant),
            Some(Step::Insert) => self.insert_pending(tenant),
        }
    }

    fn build(&self, tenant: &Shared) -> bool {
        let (dim, keys, data, watermark) = {
            let t = tenant.read();
            (t.dim(), t.keys().to_vec(), t.data().to_vec(), t.key_watermark())
        };
        let started = std::time::Instant::now();
        match Graph::build(dim, &self.params, &keys, &data, self.build_threads) {
            Ok(graph) => {
                drop(data);
                install(&mut tenant.write(), Arc::new(graph), watermark);
                tracing::debug!(rows = keys.len(), ms = started.elapsed().as_millis() as u64, "HNSW built");
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, rows = keys.len(), "HNSW build failed; exact search only");
                false
            }
        }
    }

    fn insert_pending(&self, tenant: &Shared) -> bool {
        let (graph, batch) = {
            let t = tenant.read();
            let Some(graph) = t.ann.graph.clone() else { return false };
            let dim = t.dim();
            let batch: Vec<(u64, Vec<f32>)> = t
                .ann
                .pending
                .iter()
                .take(INSERT_BATCH)
                .filter_map(|&k| t.row_of_key(k).map(|r| (k, t.data()[r * dim..(r + 1) * dim].to_vec())))
                .collect();
            (graph, batch)
        };
        let mut done = Vec::with_capacity(batch.len());
        for (key, v) in &batch {
            if let Err(e) = graph.add(*key, v) {
                tracing::warn!(error = %e, "HNSW insert failed; the graph will be rebuilt");
                break;
            }
            done.push(*key);
        }
        let mut t = tenant.write();
        if t.ann.graph.as_ref().is_some_and(|g| Arc::ptr_eq(g, &graph)) {
            for key in &done {
                t.ann.pending.remove(key);
            }
        }
        true
    }
}
