//! Search: tantivy's committed hits merged with the tail's, over one set of BM25 statistics.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use memd_store::{Filter, TenantId};
use tantivy::collector::TopDocs;
use tantivy::columnar::Column;
use tantivy::{DocAddress, Searcher};
use uuid::Uuid;

use super::bm25::LengthNorm;
use super::feedback::{self, Feedback, FeedbackDoc};
use super::{io, query, schema, Inner};
use crate::{Hit, IndexError};

impl Inner {
    pub(super) fn search(
        &self,
        tenant: &TenantId,
        text: &str,
        filter: &Filter,
        limit: usize,
        feedback: Option<&Feedback>,
    ) -> Result<Vec<Hit>, IndexError> {
        let tokens = schema::query_tokens(&mut self.query_analyzer.clone(), &self.analyzer, text);
        if limit == 0 || tokens.is_empty() {
            return Ok(Vec::new());
        }
        let docs = feedback.map(|f| self.feedback_docs(f)).unwrap_or_default();
        let mut terms = tokens.clone();
        for d in &docs {
            terms.extend(d.terms.keys().filter(|t| !tokens.contains(t)).cloned());
        }
        terms.sort_unstable();
        terms.dedup();
        let structural = Filter { metadata: Default::default(), ..filter.clone() };
        // The searcher and the tail are read together: the tail is pruned only after the
        // reader reloads, so this pair never misses a document.
        let tail = self.tail.read();
        let searcher = self.reader.searcher();
        let norm = LengthNorm::for_b(self.config.bm25_b);
        let stats = tail.stats(&searcher, (self.fields.text, self.fields.utext), &terms, norm);
        let weighted = match feedback {
            Some(f) if !docs.is_empty() => feedback::expand(&tokens, &docs, |t| stats.idf(t), f.weight),
            _ => tokens.iter().map(|t| (t.clone(), 1.0)).collect(),
        };
        let weights = stats.weights(&weighted).map_err(io)?;
        let mut hits = tail.score(tenant, &structural, &weights);
        let stale: HashSet<Uuid> = tail.pending_ids(tenant).into_iter().collect();
        drop(tail);
        let q = query::build(&self.fields, tenant, &weighted, &structural);
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

    /// The feedback texts analysed: meaningful terms (query analyser), length in document
    /// tokens, and score as a share of the best.
    fn feedback_docs(&self, f: &Feedback) -> Vec<FeedbackDoc> {
        let best = f.docs.iter().map(|(_, s)| *s).fold(0.0f32, f32::max);
        if best <= 0.0 {
            return Vec::new();
        }
        let (mut query, mut full) = (self.query_analyzer.clone(), self.analyzer.clone());
        f.docs
            .iter()
            .map(|(text, score)| {
                let mut terms: HashMap<String, u32> = HashMap::new();
                schema::for_each_token(&mut query, text, |t| *terms.entry(t.to_owned()).or_default() += 1);
                let mut len = 0u32;
                schema::for_each_token(&mut full, text, |_| len = len.saturating_add(1));
                FeedbackDoc { terms, len, share: score / best }
            })
            .collect()
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
