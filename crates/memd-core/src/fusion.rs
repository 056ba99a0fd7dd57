//! Fusion of the lexical and semantic rankings into one. Pure functions over hit lists, so they
//! are property-tested in isolation.

use std::collections::HashMap;

use memd_index::Hit;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FusionMethod {
    /// Reciprocal-rank fusion: `Σ w_signal / (k + rank)` with `w_semantic = 2w`,
    /// `w_keyword = 2(1 - w)` (so `w = 0.5` is classic, unweighted RRF); robust to incomparable
    /// score scales.
    Rrf,
    /// `w · cosine + (1 - w) · bm25 / max(bm25)`; uses the scores, not only the ranks.
    #[default]
    Weighted,
}

/// One fused candidate with the signals it came from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fused {
    pub id: Uuid,
    pub score: f32,
    pub keyword: Option<f32>,
    pub semantic: Option<f32>,
}

#[derive(Clone, Copy, Debug)]
pub struct FusionParams {
    pub method: FusionMethod,
    pub rrf_k: f32,
    pub semantic_weight: f32,
}

/// Fuses two rankings (each best first) into one, best first; ties break by id for determinism.
pub fn fuse(keyword: &[Hit], semantic: &[Hit], p: FusionParams) -> Vec<Fused> {
    let mut by_id: HashMap<Uuid, Fused> = HashMap::with_capacity(keyword.len() + semantic.len());
    let max_kw = keyword.iter().map(|h| h.score).fold(0.0f32, f32::max);
    for (rank, h) in keyword.iter().enumerate() {
        let part = match p.method {
            FusionMethod::Rrf => 2.0 * (1.0 - p.semantic_weight) / (p.rrf_k + rank as f32 + 1.0),
            FusionMethod::Weighted if max_kw > 0.0 => (1.0 - p.semantic_weight) * h.score / max_kw,
            FusionMethod::Weighted => 0.0,
        };
        let e = by_id.entry(h.id).or_insert(Fused { id: h.id, score: 0.0, keyword: None, semantic: None });
        if e.keyword.is_none() {
            e.keyword = Some(h.score);
            e.score += part;
        }
    }
    for (rank, h) in semantic.iter().enumerate() {
        let part = match p.method {
            FusionMethod::Rrf => 2.0 * p.semantic_weight / (p.rrf_k + rank as f32 + 1.0),
            FusionMethod::Weighted => p.semantic_weight * h.score.max(0.0),
        };
        let e = by_id.entry(h.id).or_insert(Fused { id: h.id, score: 0.0, keyword: None, semantic: None });
        if e.semantic.is_none() {
            e.semantic = Some(h.score);
            e.score += part;
        }
    }
    let mut out: Vec<Fused> = by_id.into_values().collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    out
}

/// A single ranking passed through as fused results (keyword-only or semantic-only modes).
pub fn single(hits: &[Hit], semantic: bool) -> Vec<Fused> {
    hits.iter()
        .map(|h| Fused {
            id: h.id,
            score: h.score,
            keyword: (!semantic).then_some(h.score),
            semantic: semantic.then_some(h.score),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hits(ids: &[u128], scores: &[f32]) -> Vec<Hit> {
        ids.iter().zip(scores).map(|(i, s)| Hit { id: Uuid::from_u128(*i), score: *s }).collect()
    }

    const RRF: FusionParams = FusionParams { method: FusionMethod::Rrf, rrf_k: 60.0, semantic_weight: 0.5 };

    #[test]
    fn agreement_beats_a_single_signal() {
        let kw = hits(&[1, 2, 3], &[9.0, 8.0, 7.0]);
        let sem = hits(&[3, 4, 1], &[0.9, 0.8, 0.7]);
        let fused = fuse(&kw, &sem, RRF);
        // 1 and 3 appear in both lists and must outrank 2 and 4.
        let top2: Vec<u128> = fused.iter().take(2).map(|f| f.id.as_u128()).collect();
        assert!(top2.contains(&1) && top2.contains(&3), "{fused:?}");
        let one = fused.iter().find(|f| f.id.as_u128() == 1).expect("present");
        assert_eq!(one.keyword, Some(9.0));
        assert_eq!(one.semantic, Some(0.7));
    }

    #[test]
    fn rrf_weight_moves_the_balance() {
        let (kw, sem) = (hits(&[1], &[9.0]), hits(&[2], &[0.9]));
        // Equal weights: a tie at the same rank, broken by id.
        let even = fuse(&kw, &sem, RRF);
        assert!((even[0].score - 1.0 / 61.0).abs() < 1e-7 && (even[0].score - even[1].score).abs() < 1e-9);
        let keyword_heavy = FusionParams { semantic_weight: 0.3, ..RRF };
        assert_eq!(fuse(&kw, &sem, keyword_heavy)[0].id.as_u128(), 1);
        let semantic_heavy = FusionParams { semantic_weight: 0.7, ..RRF };
        assert_eq!(fuse(&kw, &sem, semantic_heavy)[0].id.as_u128(), 2);
    }

    #[test]
    fn weighted_uses_normalised_scores() {
        let p = FusionParams { method: FusionMethod::Weighted, rrf_k: 60.0, semantic_weight: 0.5 };
        let fused = fuse(&hits(&[1], &[4.0]), &hits(&[2], &[0.9]), p);
        // keyword: 0.5 * 4/4 = 0.5; semantic: 0.5 * 0.9 = 0.45.
        assert_eq!(fused[0].id.as_u128(), 1);
        assert!((fused[0].score - 0.5).abs() < 1e-6);
        assert!((fused[1].score - 0.45).abs() < 1e-6);
    }

    proptest! {
        #[test]
        fn fused_is_a_sorted_union_without_duplicates(
            a in proptest::collection::vec((0u128..50, 0f32..10.0), 0..40),
            b in proptest::collection::vec((0u128..50, -1f32..1.0), 0..40),
            weighted in any::<bool>(),
        ) {
            let kw: Vec<Hit> = a.iter().map(|(i, s)| Hit { id: Uuid::from_u128(*i), score: *s }).collect();
            let sem: Vec<Hit> = b.iter().map(|(i, s)| Hit { id: Uuid::from_u128(*i), score: *s }).collect();
            let p = FusionParams {
                method: if weighted { FusionMethod::Weighted } else { FusionMethod::Rrf },
                rrf_k: 60.0,
                semantic_weight: 0.6,
            };
            let fused = fuse(&kw, &sem, p);
            let mut ids: Vec<Uuid> = fused.iter().map(|f| f.id).collect();
            let n = ids.len();
            ids.sort();
            ids.dedup();
            prop_assert_eq!(ids.len(), n);
            let mut union: Vec<Uuid> = kw.iter().chain(&sem).map(|h| h.id).collect();
            union.sort();
            union.dedup();
            prop_assert_eq!(ids, union);
            for w in fused.windows(2) {
                prop_assert!(w[0].score >= w[1].score);
            }
        }

        #[test]
        fn rrf_is_monotone_in_rank(n in 1usize..30) {
            // A list alone: fused order equals input order.
            let kw: Vec<Hit> = (0..n).map(|i| Hit { id: Uuid::from_u128(1000 - i as u128), score: (n - i) as f32 }).collect();
            let fused = fuse(&kw, &[], RRF);
            let order: Vec<Uuid> = fused.iter().map(|f| f.id).collect();
            let want: Vec<Uuid> = kw.iter().map(|h| h.id).collect();
            prop_assert_eq!(order, want);
        }
    }
}
