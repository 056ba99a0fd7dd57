//! Pseudo-relevance feedback (RM3-style) for keyword search. A question rarely uses the words of
//! the memory that answers it ("What did Caroline research?" vs "...looking into adoption
//! agencies"), but the best first-pass hits usually share that memory's topic words. So the
//! query is expanded with the terms that weigh most in the top hits (term frequency over length,
//! times idf, times the hit's share of the best score), at a reduced weight, and searched again.
//!
//! The caller supplies the texts of the first pass's best hits (the index keeps no stored text);
//! [`expand`] is pure and tested here, the search lives in `search.rs`.

use std::collections::HashMap;

/// Expansion terms taken at most.
pub(crate) const MAX_TERMS: usize = 10;

/// The texts of a first search's best hits, and how much the expansion counts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Feedback {
    /// `(text, score)` of each feedback hit, best first; scores are BM25 of the first pass.
    pub docs: Vec<(String, f32)>,
    /// Share of the query weight given to the expansion terms, in `0..1`: the original terms
    /// keep `1 - weight`.
    pub weight: f32,
}

/// One analysed feedback document.
pub(crate) struct FeedbackDoc {
    /// Term frequencies of its meaningful terms (query analyser: no stop words).
    pub terms: HashMap<String, u32>,
    /// Its length in document tokens.
    pub len: u32,
    /// Its first-pass score divided by the best first-pass score.
    pub share: f32,
}

/// The weighted query: `query`'s terms at `1 - weight`, plus up to [`MAX_TERMS`] expansion terms
/// sharing `weight · |query|` in proportion to their feedback weight. Terms are distinct; a
/// query term that is also an expansion term gets both parts.
pub(crate) fn expand(
    query: &[String],
    docs: &[FeedbackDoc],
    idf: impl Fn(&str) -> f32,
    weight: f32,
) -> Vec<(String, f32)> {
    let mut score: HashMap<&str, f32> = HashMap::new();
    for d in docs.iter().filter(|d| d.len > 0) {
        for (t, &tf) in &d.terms {
            *score.entry(t.as_str()).or_default() += tf as f32 / d.len as f32 * d.share * idf(t);
        }
    }
    let mut best: Vec<(&str, f32)> = score.into_iter().filter(|(_, s)| *s > 0.0).collect();
    best.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    best.truncate(MAX_TERMS);
    let total: f32 = best.iter().map(|(_, s)| s).sum();
    let mut out: Vec<(String, f32)> = query.iter().map(|t| (t.clone(), 1.0 - weight)).collect();
    if total <= 0.0 {
        return query.iter().map(|t| (t.clone(), 1.0)).collect();
    }
    let share = weight * query.len() as f32 / total;
    for (t, s) in best {
        match out.iter_mut().find(|(q, _)| q == t) {
            Some((_, w)) => *w += share * s,
            None => out.push((t.to_owned(), share * s)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(terms: &[(&str, u32)], len: u32, share: f32) -> FeedbackDoc {
        FeedbackDoc { terms: terms.iter().map(|(t, n)| ((*t).to_owned(), *n)).collect(), len, share }
    }

    #[test]
    fn rare_terms_of_the_best_hits_join_the_query_at_the_reduced_weight() {
        let query = vec!["research".to_owned()];
        let docs = [
            doc(&[("research", 1), ("adopt", 2), ("agenc", 1), ("today", 1)], 8, 1.0),
            doc(&[("adopt", 1), ("today", 1)], 6, 0.5),
        ];
        let idf = |t: &str| if t == "today" { 0.1 } else { 2.0 };
        let q = expand(&query, &docs, idf, 0.3);
        let w = |t: &str| q.iter().find(|(x, _)| x == t).map(|(_, w)| *w).unwrap_or(0.0);
        assert!(w("adopt") > w("agenc") && w("agenc") > w("today"), "{q:?}");
        // The expansion shares weight · |query| = 0.3; the query term keeps 0.7 plus its part.
        let expansion: f32 = q.iter().map(|(_, w)| w).sum::<f32>() - 0.7;
        assert!((expansion - 0.3).abs() < 1e-5, "{q:?}");
        assert!(w("research") > 0.7);
    }

    #[test]
    fn no_feedback_leaves_the_query_alone() {
        let query = vec!["a".to_owned(), "b".to_owned()];
        let q = expand(&query, &[], |_| 1.0, 0.3);
        assert_eq!(q, vec![("a".to_owned(), 1.0), ("b".to_owned(), 1.0)]);
    }

    #[test]
    fn at_most_max_terms_are_added() {
        let terms: Vec<(String, u32)> = (0..30).map(|i| (format!("t{i}"), 1)).collect();
        let refs: Vec<(&str, u32)> = terms.iter().map(|(t, n)| (t.as_str(), *n)).collect();
        let q = expand(&["q".to_owned()], &[doc(&refs, 30, 1.0)], |_| 1.0, 0.3);
        assert_eq!(q.len(), 1 + MAX_TERMS);
    }
}
