//! The tail: every change applied since the last tantivy commit, held in memory so that an
//! acknowledged write is searchable at once. Each entry carries the generation of the operation
//! that produced it; after a commit that contains operations up to generation `g` (and a reader
//! reload), entries with generation ≤ `g` are pruned.
//!
//! Search treats the tail as authoritative for the ids it holds: committed hits with those ids are
//! dropped (deleted or replaced), live tail documents are scored by brute-force BM25 using the
//! same corpus statistics tantivy uses (see [`CombinedStats`]), so the two score lists merge.

use std::collections::HashMap;
use std::sync::Arc;

use memd_store::{Filter, TenantId};
use tantivy::fieldnorm::FieldNormReader;
use tantivy::query::{Bm25StatisticsProvider, Bm25Weight};
use tantivy::schema::Field;
use tantivy::{Searcher, Term};
use uuid::Uuid;

use super::bm25::LengthNorm;
use super::schema::{self, LexDoc};
use crate::Hit;

/// One pending change: a new version of a document, or a deletion (`doc == None`).
struct Entry {
    gen: u64,
    doc: Option<Arc<LexDoc>>,
}

/// Pending changes by tenant and id, plus corpus statistics over the live tail documents.
#[derive(Default)]
pub(crate) struct Tail {
    tenants: HashMap<TenantId, HashMap<Uuid, Entry>>,
    entries: usize,
    docs: u64,
    tokens: u64,
    df: HashMap<String, u64>,
}

impl Tail {
    /// Number of pending entries (documents and deletions).
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Number of pending live documents.
    pub fn live_docs(&self) -> u64 {
        self.docs
    }

    /// Records the change of generation `gen` to `(tenant, id)`, replacing any pending one.
    pub fn put(&mut self, tenant: &TenantId, id: Uuid, gen: u64, doc: Option<Arc<LexDoc>>) {
        if let Some(d) = &doc {
            self.account(d, true);
        }
        let old = self.tenants.entry(tenant.clone()).or_default().insert(id, Entry { gen, doc });
        match old {
            Some(Entry { doc: Some(d), .. }) => self.account(&d, false),
            Some(Entry { doc: None, .. }) => {}
            None => self.entries += 1,
        }
    }

    /// Drops every entry of generation ≤ `gen` (they are now visible in the committed index).
    pub fn prune(&mut self, gen: u64) {
        let mut gone: Vec<Arc<LexDoc>> = Vec::new();
        let mut removed = 0;
        for entries in self.tenants.values_mut() {
            entries.retain(|_, e| {
                let keep = e.gen > gen;
                if !keep {
                    removed += 1;
                    gone.extend(e.doc.take());
                }
                keep
            });
        }
        self.tenants.retain(|_, e| !e.is_empty());
        self.entries -= removed;
        for d in gone {
            self.account(&d, false);
        }
    }

    pub fn clear(&mut self) {
        *self = Self::default();
    }

    fn account(&mut self, d: &LexDoc, add: bool) {
        let step = |v: &mut u64, by: u64| *v = if add { *v + by } else { v.saturating_sub(by) };
        step(&mut self.docs, 1);
        step(&mut self.tokens, u64::from(d.len));
        for term in d.terms.keys() {
            if add {
                *self.df.entry(term.clone()).or_default() += 1;
            } else if let Some(n) = self.df.get_mut(term) {
                *n -= 1;
                if *n == 0 {
                    self.df.remove(term);
                }
            }
        }
    }

    /// The ids `tenant` has pending changes for: committed hits with these ids are stale.
    pub fn pending_ids(&self, tenant: &TenantId) -> Vec<Uuid> {
        self.tenants.get(tenant).map(|e| e.keys().copied().collect()).unwrap_or_default()
    }

    /// Statistics over the committed index plus the tail, for the query `terms` of `field`.
    pub fn stats<'s>(
        &self,
        searcher: &'s Searcher,
        (field, scoped): (Field, Field),
        terms: &[String],
        norm: LengthNorm,
    ) -> CombinedStats<'s> {
        let df = terms
            .iter()
            .map(|t| (Term::from_field_text(field, t), self.df.get(t).copied().unwrap_or(0)))
            .collect();
        CombinedStats { searcher, field, scoped, docs: self.docs, tokens: self.tokens, df, norm }
    }

    /// BM25 of `tenant`'s live tail documents passing `filter` (metadata ignored) that contain
    /// at least one of `terms`, with the per-term `weights` (same order as `terms`).
    pub fn score(&self, tenant: &TenantId, filter: &Filter, terms: &[(String, Bm25Weight)]) -> Vec<Hit> {
        let Some(entries) = self.tenants.get(tenant) else { return Vec::new() };
        let mut hits = Vec::new();
        for (id, doc) in entries.iter().filter_map(|(id, e)| Some((id, e.doc.as_ref()?))) {
            let norm = FieldNormReader::fieldnorm_to_id(doc.len);
            let score: f32 =
                terms.iter().filter_map(|(t, w)| doc.terms.get(t).map(|&tf| w.score(norm, tf))).sum();
            let matched = terms.iter().any(|(t, _)| doc.terms.contains_key(t));
            if matched && filter.matches(&doc.memory) {
                hits.push(Hit { id: *id, score });
            }
        }
        hits
    }
}

/// BM25 statistics of the committed index with the tail's documents added, so committed and
/// tail documents are scored against the same corpus. Terms of the user-scoped field `scoped`
/// are given the statistics of their plain token in `field`, so both fields score alike. The
/// token total of `field` is scaled by `norm` (BM25's `b`, see [`LengthNorm`]).
pub(crate) struct CombinedStats<'s> {
    searcher: &'s Searcher,
    field: Field,
    scoped: Field,
    docs: u64,
    tokens: u64,
    df: HashMap<Term, u64>,
    norm: LengthNorm,
}

impl CombinedStats<'_> {
    /// The BM25 weight of each of `terms` (which must be among those the stats were built
    /// for), scaled by the term's query weight.
    pub fn weights(&self, terms: &[(String, f32)]) -> tantivy::Result<Vec<(String, Bm25Weight)>> {
        let total_docs = self.total_num_docs()?;
        let avg = self.total_num_tokens(self.field)? as f32 / total_docs.max(1) as f32;
        terms
            .iter()
            .map(|(t, boost)| {
                let df = self.doc_freq(&Term::from_field_text(self.field, t))?;
                let w = Bm25Weight::for_one_term_without_explain(df, total_docs, avg);
                Ok((t.clone(), if *boost == 1.0 { w } else { w.boost_by(*boost) }))
            })
            .collect()
    }

    /// BM25's idf of `term` (0 when the statistics cannot be read).
    pub fn idf(&self, term: &str) -> f32 {
        let n = self.total_num_docs().unwrap_or(0) as f32;
        let df = self.doc_freq(&Term::from_field_text(self.field, term)).unwrap_or(0) as f32;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln().max(0.0)
    }
}

impl Bm25StatisticsProvider for CombinedStats<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        let field = if field == self.scoped { self.field } else { field };
        if field != self.field {
            return Bm25StatisticsProvider::total_num_tokens(self.searcher, field);
        }
        let total = Bm25StatisticsProvider::total_num_tokens(self.searcher, field)? + self.tokens;
        Ok(self.norm.tokens(total))
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(Bm25StatisticsProvider::total_num_docs(self.searcher)? + self.docs)
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let plain;
        let term = match term.value().as_str() {
            Some(text) if term.field() == self.scoped => {
                plain = Term::from_field_text(self.field, schema::unscoped(text));
                &plain
            }
            _ => term,
        };
        Ok(self.searcher.doc_freq(term)? + self.df.get(term).copied().unwrap_or(0))
    }
}
