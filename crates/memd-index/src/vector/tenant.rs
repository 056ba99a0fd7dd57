//! One tenant's vectors: a flat row-major `Vec<f32>` plus parallel arrays of the per-row filter
//! data (interned user/agent/session/tag ids and times), an id per row and an id → row map.
//! Removal swaps the last row into the hole, so rows stay contiguous for the scan.
//!
//! Every row also has a *key*: a per-tenant number that is never reused and changes whenever the
//! row's vector changes. The approximate graph ([`super::ann`]) stores keys, not row numbers
//! (which move on removal), so a removed or re-embedded row's old key simply stops resolving and
//! its graph node becomes a tombstone that searches skip.

use std::collections::HashMap;

use memd_store::{Filter, Memory, TagMatch};
use uuid::Uuid;

use super::ann::AnnState;
use crate::time::{DocTimes, TimeRange};

/// Interned string id; `0` means "none" (no agent, no session).
type Sym = u32;
const NONE: Sym = 0;

/// Maps strings to small integers. Symbols are never freed while the tenant exists.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, Sym>,
}

impl Interner {
    fn intern(&mut self, s: &str) -> Sym {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = Sym::try_from(self.ids.len() + 1).unwrap_or(Sym::MAX);
        self.ids.insert(s.to_owned(), id);
        id
    }

    fn lookup(&self, s: &str) -> Option<Sym> {
        self.ids.get(s).copied()
    }
}

/// Per-row filter data.
#[derive(Clone, Debug, PartialEq)]
struct RowMeta {
    user: Sym,
    agent: Sym,
    session: Sym,
    tags: Box<[Sym]>,
    times: DocTimes,
}

/// A filter resolved against one tenant's interner; `None` from [`TenantVectors::compile`]
/// means that no row can match.
#[derive(Clone, Debug)]
pub(crate) struct RowFilter {
    user: Option<Sym>,
    agent: Option<Sym>,
    session: Option<Sym>,
    tags: Vec<Sym>,
    tag_match: TagMatch,
    use_event_time: bool,
    range: TimeRange,
}

impl RowFilter {
    /// True when the filter accepts every row, so the scan can skip the checks.
    pub fn is_trivial(&self) -> bool {
        self.user.is_none()
            && self.agent.is_none()
            && self.session.is_none()
            && self.tags.is_empty()
            && self.range.is_unbounded()
    }

    fn accepts(&self, m: &RowMeta) -> bool {
        let eq = |want: Option<Sym>, have: Sym| want.is_none_or(|w| w == have);
        if !eq(self.user, m.user) || !eq(self.agent, m.agent) || !eq(self.session, m.session) {
            return false;
        }
        if !self.tags.is_empty() {
            let has = |t: &Sym| m.tags.contains(t);
            let ok = match self.tag_match {
                TagMatch::Any => self.tags.iter().any(has),
                TagMatch::All => self.tags.iter().all(has),
            };
            if !ok {
                return false;
            }
        }
        let t = if self.use_event_time { m.times.event } else { m.times.created };
        self.range.contains(t)
    }
}

/// The vectors of one tenant.
#[derive(Default)]
pub(crate) struct TenantVectors {
    dim: usize,
    data: Vec<f32>,
    ids: Vec<Uuid>,
    meta: Vec<RowMeta>,
    rows: HashMap<Uuid, usize>,
    symbols: Interner,
    /// Row → key.
    keys: Vec<u64>,
    /// Live key → row.
    key_rows: HashMap<u64, usize>,
    next_key: u64,
    /// The approximate graph over these rows, if the tenant is large enough to have one.
    pub ann: AnnState,
}

impl TenantVectors {
    pub fn new(dim: usize) -> Self {
        Self { dim, ..Self::default() }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The row-major vector data (`len() * dim()` values).
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    pub fn contains(&self, id: Uuid) -> bool {
        self.rows.contains_key(&id)
    }

    pub fn id(&self, row: usize) -> Uuid {
        self.ids[row]
    }

    /// Adds or replaces `m`'s vector; `v` must have `dim()` values (checked by the caller).
    /// Returns true when a new row was added.
    pub fn upsert(&mut self, m: &Memory, v: &[f32]) -> bool {
        debug_assert_eq!(v.len(), self.dim, "caller checks the dimension");
        let meta = self.meta_of(m);
        if let Some(&row) = self.rows.get(&m.id) {
            let slot = &mut self.data[row * self.dim..(row + 1) * self.dim];
            if slot != v {
                slot.copy_from_slice(v);
                // A new vector needs a new graph node: retire the old key.
                let old = self.keys[row];
                self.key_rows.remove(&old);
                self.ann.pending.remove(&old);
                self.keys[row] = self.new_key(row);
            }
            self.meta[row] = meta;
            return false;
        }
        let row = self.ids.len();
        self.rows.insert(m.id, row);
        self.ids.push(m.id);
        self.meta.push(meta);
        self.data.extend_from_slice(v);
        let key = self.new_key(row);
        self.keys.push(key);
        true
    }

    /// Allocates the key of `row`, registering it as not yet in the graph when there is one.
    fn new_key(&mut self, row: usize) -> u64 {
        let key = self.next_key;
        self.next_key += 1;
        self.key_rows.insert(key, row);
        if self.ann.graph.is_some() {
            self.ann.pending.insert(key);
        }
        key
    }

    /// The row a live key belongs to.
    #[inline]
    pub fn row_of_key(&self, key: u64) -> Option<usize> {
        self.key_rows.get(&key).copied()
    }

    /// The key the next new or re-embedded row will get (keys below it exist or existed).
    pub fn key_watermark(&self) -> u64 {
        self.next_key
    }

    /// The keys of all rows, row by row.
    pub fn keys(&self) -> &[u64] {
        &self.keys
    }

    /// The number of rows passing `f`, counting no further than `stop_at`.
    pub fn count_accepting(&self, f: &RowFilter, stop_at: usize) -> usize {
        let mut n = 0;
        for m in &self.meta {
            if f.accepts(m) {
                n += 1;
                if n >= stop_at {
                    break;
                }
            }
        }
        n
    }

    /// Removes `id`'s row if present (swap-remove); returns true when a row was removed.
    pub fn remove(&mut self, id: Uuid) -> bool {
        let Some(row) = self.rows.remove(&id) else { return false };
        let gone = self.keys[row];
        self.key_rows.remove(&gone);
        self.ann.pending.remove(&gone);
        let last = self.ids.len() - 1;
        if row != last {
            let (d, start) = (self.dim, last * self.dim);
            self.data.copy_within(start..start + d, row * d);
            self.ids[row] = self.ids[last];
            self.meta.swap(row, last);
            self.rows.insert(self.ids[row], row);
            self.keys[row] = self.keys[last];
            self.key_rows.insert(self.keys[row], row);
        }
        self.ids.pop();
        self.meta.pop();
        self.keys.pop();
        self.data.truncate(last * self.dim);
        true
    }

    /// Resolves `filter` against this tenant's symbols; `None` when nothing can match.
    pub fn compile(&self, filter: &Filter) -> Option<RowFilter> {
        let sym = |s: &Option<String>| -> Option<Option<Sym>> {
            match s {
                None => Some(None),
                Some(s) => self.symbols.lookup(s).map(Some),
            }
        };
        let user = sym(&filter.user_id)?;
        let agent = sym(&filter.agent_id)?;
        let session = sym(&filter.session_id)?;
        let known: Vec<Sym> = filter.tags.iter().filter_map(|t| self.symbols.lookup(t)).collect();
        let tags_ok = match filter.tag_match {
            _ if filter.tags.is_empty() => true,
            TagMatch::Any => !known.is_empty(),
            TagMatch::All => known.len() == filter.tags.len(),
        };
        tags_ok.then(|| RowFilter {
            user,
            agent,
            session,
            tags: known,
            tag_match: filter.tag_match,
            use_event_time: filter.time_field == memd_store::TimeField::EventTime,
            range: TimeRange::of(filter),
        })
    }

    /// True when `row` passes `f`.
    #[inline]
    pub fn accepts(&self, row: usize, f: &RowFilter) -> bool {
        f.accepts(&self.meta[row])
    }

    fn meta_of(&mut self, m: &Memory) -> RowMeta {
        let mut opt = |s: &Option<String>| s.as_deref().map_or(NONE, |s| self.symbols.intern(s));
        let agent = opt(&m.agent_id);
        let session = opt(&m.session_id);
        let user = self.symbols.intern(&m.user_id);
        let tags = m.tags.iter().map(|t| self.symbols.intern(t)).collect();
        RowMeta { user, agent, session, tags, times: DocTimes::of(m) }
    }
}
