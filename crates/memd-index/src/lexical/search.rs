//! Search: tantivy's committed hits merged with the tail's, over one set of BM25 statistics.

use std::collections::HashSet;

use memd_store::{Filter, TenantId};
use tantivy::collector::TopDocs;
use tantivy::{DocAddress, Searcher};
use uuid::Uuid;

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
        let tokens = schema::query_tokens(&mut self.analyzer.clone(), text);
        if limit == 0 || tokens.is_empty() {
            return Ok(Vec::new());
        }
        let structural = Filter { metadata: Default::default(), ..filter.clone() };
        // The searcher and the tail are read together: the tail is pruned only after the
        // reader reloads, so this pair never misses a document.
        let tail = self.tail.read();
        let searcher = self.reader.searcher();
        let stats = tail.stats(&searcher, self.fields.text, &tokens);
        let weights = stats.weights(&tokens).map_err(io)?;
        let mut hits = tail.score(tenant, &structural, &weights);
        let stale: HashSet<Uuid> = tail.pending_ids(tenant).into_iter().collect();
        drop(tail);
        let q = query::build(&self.fields, tenant, &tokens, &structural);
        let collector = TopDocs::with_limit(limit + stale.len());
        let top = searcher.search_with_statistics_provider(q.as_ref(), &collector, &stats);
        for (score, addr) in top.map_err(io)? {
            let id = doc_id(&searcher, addr)?;
            if !stale.contains(&id) {
                hits.push(Hit { id, score });
            }
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        hits.truncate(limit);
        Ok(hits)
    }
}

/// The memory id of a committed document, from the `id` fast column.
fn doc_id(searcher: &Searcher, addr: DocAddress) -> Result<Uuid, IndexError> {
    let column = searcher
        .segment_reader(addr.segment_ord)
        .fast_fields()
        .str("id")
        .map_err(io)?
        .ok_or_else(|| IndexError::Corrupt("the id column is missing".into()))?;
    let ord = column
        .term_ords(addr.doc_id)
        .next()
        .ok_or_else(|| IndexError::Corrupt(format!("document {addr:?} has no id")))?;
    let mut s = String::new();
    column.ord_to_str(ord, &mut s).map_err(|e| IndexError::Io(e.to_string()))?;
    Uuid::parse_str(&s).map_err(|_| IndexError::Corrupt(format!("bad id {s:?} in the index")))
}
