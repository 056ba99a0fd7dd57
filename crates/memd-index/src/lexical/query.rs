//! Builds tantivy queries from analyzed tokens and a [`Filter`]: never from raw user text, so no
//! input can be a syntax error.

use std::ops::Bound;

use memd_store::{Filter, TagMatch, TenantId, TimeField};
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::Term;

use super::schema::{self, Fields};
use crate::time::TimeRange;

type Clause = (Occur, Box<dyn Query>);

fn term(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::Basic))
}

/// Any of `terms` in `field`, scored by BM25 (one clause per distinct term) times the term's
/// weight. Unweighted queries (every weight 1) stay plain term unions, which tantivy answers with
/// block-max WAND.
fn text_query(field: Field, terms: impl Iterator<Item = (String, f32)>) -> BooleanQuery {
    let should = terms
        .map(|(t, w)| -> Clause {
            let term = Term::from_field_text(field, &t);
            let q: Box<dyn Query> = Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
            let q = if w == 1.0 { q } else { Box::new(BoostQuery::new(q, w)) };
            (Occur::Should, q)
        })
        .collect();
    BooleanQuery::new(should)
}

/// The structural filter clauses. Tenant and user are left out when `scoped` (the user-scoped
/// terms already select exactly that tenant's user).
fn filter_clauses(fields: &Fields, tenant: &TenantId, filter: &Filter, scoped: bool) -> Vec<Clause> {
    let mut must: Vec<Clause> = Vec::new();
    if !scoped {
        must.push((Occur::Must, term(fields.tenant, tenant.as_str())));
        if let Some(u) = &filter.user_id {
            must.push((Occur::Must, term(fields.user, u)));
        }
    }
    let exact = [(fields.agent, &filter.agent_id), (fields.session, &filter.session_id)];
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

/// BM25 over the weighted `tokens` (at least one must match), restricted to `tenant` and `filter`; the
/// filter clauses contribute nothing to the score.
///
/// With a user filter the query reads the user-scoped field ([`Fields::utext`]): only that
/// user's postings. With no other filter it is then a bare term union, which tantivy answers
/// with block-max WAND (top-k without scoring every match).
pub(crate) fn build(
    fields: &Fields,
    tenant: &TenantId,
    tokens: &[(String, f32)],
    filter: &Filter,
) -> Box<dyn Query> {
    let text = match &filter.user_id {
        Some(user) => {
            let prefix = schema::scope_prefix(tenant, user);
            text_query(fields.utext, tokens.iter().map(|(t, w)| (schema::scoped_term(&prefix, t), *w)))
        }
        None => text_query(fields.text, tokens.iter().cloned()),
    };
    let clauses = filter_clauses(fields, tenant, filter, filter.user_id.is_some());
    if clauses.is_empty() {
        return Box::new(text);
    }
    let filters = BooleanQuery::new(clauses);
    Box::new(BooleanQuery::new(vec![
        (Occur::Must, Box::new(text)),
        (Occur::Must, Box::new(ConstScoreQuery::new(Box::new(filters), 0.0))),
    ]))
}
