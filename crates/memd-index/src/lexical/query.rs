//! Builds tantivy queries from analyzed tokens and a [`Filter`]: never from raw user text, so no
//! input can be a syntax error.

use std::ops::Bound;

use memd_store::{Filter, TagMatch, TenantId, TimeField};
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::Term;

use super::schema::Fields;
use crate::time::TimeRange;

type Clause = (Occur, Box<dyn Query>);

fn term(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::Basic))
}

/// Any of `tokens` in the text field, scored by BM25 (one clause per distinct token).
fn text_query(fields: &Fields, tokens: &[String]) -> Box<dyn Query> {
    let should = tokens
        .iter()
        .map(|t| -> Clause {
            let term = Term::from_field_text(fields.text, t);
            (Occur::Should, Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)))
        })
        .collect();
    Box::new(BooleanQuery::new(should))
}

/// The structural filter clauses, tenant first (always present).
fn filter_clauses(fields: &Fields, tenant: &TenantId, filter: &Filter) -> Vec<Clause> {
    let mut must: Vec<Clause> = vec![(Occur::Must, term(fields.tenant, tenant.as_str()))];
    let exact = [
        (fields.user, &filter.user_id),
        (fields.agent, &filter.agent_id),
        (fields.session, &filter.session_id),
    ];
    for (field, value) in exact {
        if let Some(v) = value {
            must.push((Occur::Must, term(field, v)));
        }
    }
    if !filter.tags.is_empty() {
        let occur = match filter.tag_match {
            TagMatch::Any => Occur::Should,
            TagMatch::All => Occur::Must,
        };
        let tags = filter.tags.iter().map(|t| (occur, term(fields.tags, t))).collect();
        must.push((Occur::Must, Box::new(BooleanQuery::new(tags))));
    }
    let range = TimeRange::of(filter);
    if !range.is_unbounded() {
        let field = match filter.time_field {
            TimeField::EventTime => fields.event_time,
            TimeField::CreatedAt => fields.created_at,
        };
        let bound = |b: Option<i64>, inclusive: bool| match b {
            None => Bound::Unbounded,
            Some(v) if inclusive => Bound::Included(Term::from_field_i64(field, v)),
            Some(v) => Bound::Excluded(Term::from_field_i64(field, v)),
        };
        let q = RangeQuery::new(bound(range.lo, true), bound(range.hi, false));
        must.push((Occur::Must, Box::new(q)));
    }
    must
}

/// BM25 over `tokens` (at least one must match), restricted to `tenant` and `filter`; the
/// filter clauses contribute nothing to the score.
pub(crate) fn build(
    fields: &Fields,
    tenant: &TenantId,
    tokens: &[String],
    filter: &Filter,
) -> Box<dyn Query> {
    let filters = BooleanQuery::new(filter_clauses(fields, tenant, filter));
    Box::new(BooleanQuery::new(vec![
        (Occur::Must, text_query(fields, tokens)),
        (Occur::Must, Box::new(ConstScoreQuery::new(Box::new(filters), 0.0))),
    ]))
}
