//! Search: tantivy's committed hits merged with the tail's, over one set of BM25 statistics.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use memd_store::{Filter, TenantId};
use tantivy::collector::TopDocs;
use tantivy::columnar::Column;
use tantivy::{DocAddress, Searcher};
use uuid::Uuid;

use super::bm25::LengthNorm;
use super::{io, query, schema, Inner};
use crate::{Hit, IndexError};

impl Inner {
    pub(super) fn search(
        &self,
        tenant: &TenantId,
        text: &str,
        filter: &Filter,
        limit: usize,
    ) -> Result<Vec<Hit>, IndexError> {
        let tokens = schema::query_tokens(&mut self.query_analyzer.clone(), &self.analyzer, text);
        if limit == 0 || tokens.is_empty() {
            return Ok(Vec::new());
        }
        let structural = Filter { metadata: Default::default(), ..filter.clone() };
        // The searcher and the tail are read together: the tail is pruned only after the
        // reader reloads, so this pair never misses a document.
        let tail = self.tail.read();
        let searcher = self.reader.searcher();
        let norm = LengthNorm::for_b(self.config.bm25_b);
        let stats = tail.stats(&searcher, (self.fields.text, self.fields.utext), &tokens, norm);
        let weights = stats.weights(&tokens).map_err(io)?;
        let mut hits = tail.score(tenant, &structural, &weights);
        let stale: HashSet<Uuid> = tail.pending_ids(tenant).into_iter().collect();
        drop(tail);
        let q = query::build(&self.fields, tenant, &tokens, &structural);
        let collector = TopDocs::with_limit(limit + stale.len());
        let top = searcher.search_with_statistics_provider(q.as_ref(), &collector, &stats);
        let mut columns = IdColumns::default();
        for (score, addr) in top.map_err(io)? {
            let id = columns.doc_id(&searcher, addr)?;
            if !stale.contains(&id) {
                hits.push(Hit { id, score });
            }
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        hits.truncate(limit);
        Ok(hits)
    }
}

/// The id columns of the segments one search touches, each opened once.
#[derive(Default)]
struct IdColumns(HashMap<u32, (Column<u64>, Column<u64>)>);

impl IdColumns {
    /// The memory id of a committed document, from the `id_hi`/`id_lo` fast columns.
    fn doc_id(&mut self, searcher: &Searcher, addr: DocAddress) -> Result<Uuid, IndexError> {
        let (hi, lo) = match self.0.entry(addr.segment_ord) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => {
                let fast = searcher.segment_reader(addr.segment_ord).fast_fields();
                v.insert((fast.u64("id_hi").map_err(io)?, fast.u64("id_lo").map_err(io)?))
            }
        };
        match (hi.first(addr.doc_id), lo.first(addr.doc_id)) {
            (Some(h), Some(l)) => Ok(Uuid::from_u64_pair(h, l)),
            _ => Err(IndexError::Corrupt(format!("document {addr:?} has no id"))),
        }
    }
}
