use std::collections::HashSet;

use memd_store::{Filter, Memory, TenantId};
use proptest::prelude::*;

use super::scan::Scored;
use super::{dot_product, normalised, FlatVectorIndex, VectorConfig};
use crate::testutil::{memory, shaped, strategies};
use crate::{IndexError, VectorIndex};

fn index(parallel_rows: usize) -> FlatVectorIndex {
    FlatVectorIndex::new(VectorConfig {
        parallel_rows,
        scan_threads: 2,
        hnsw_threshold: usize::MAX,
        ..Default::default()
    })
}

fn naive(items: &[(Memory, Vec<f32>)], q: &[f32], f: &Filter, k: usize) -> Vec<Scored> {
    let q = normalised(q);
    let mut all: Vec<Scored> = items
        .iter()
        .filter(|(m, _)| f.matches(m))
        .map(|(m, v)| Scored { score: dot_product(&q, &normalised(v)), id: m.id })
        .collect();
    all.sort_by(|a, b| b.cmp(a));
    all.truncate(k);
    all
}

fn vectors(dim: usize, n: usize) -> impl Strategy<Value = Vec<Vec<f32>>> {
    proptest::collection::vec(proptest::collection::vec(-1.0f32..1.0, dim), n)
}

proptest! {
    #[test]
    fn top_k_equals_naive_sort(
        (dim, vs, q) in (1usize..40, 0usize..120)
            .prop_flat_map(|(d, n)| (Just(d), vectors(d, n), proptest::collection::vec(-1.0f32..1.0, d))),
        k in 0usize..15,
        parallel in any::<bool>(),
    ) {
        let _ = dim;
        let idx = index(if parallel { 8 } else { usize::MAX });
        let items: Vec<_> = vs.into_iter().map(|v| (memory("t", ""), v)).collect();
        idx.upsert(&items).unwrap();
        let tenant = TenantId::new("t").unwrap();
        let got = idx.search(&tenant, &q, &Filter::default(), k).unwrap();
        let want = naive(&items, &q, &Filter::default(), k);
        prop_assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            prop_assert_eq!(g.id, w.id);
            prop_assert!((g.score - w.score).abs() < 1e-5);
        }
    }

    #[test]
    fn filters_agree_with_reference(
        shapes in proptest::collection::vec(strategies::shape(), 0..40),
        filter in strategies::filter(),
        parallel in any::<bool>(),
    ) {
        let idx = index(if parallel { 4 } else { usize::MAX });
        let items: Vec<_> = shapes
            .iter()
            .enumerate()
            .map(|(i, s)| (shaped("t", "", s), vec![1.0, i as f32]))
            .collect();
        idx.upsert(&items).unwrap();
        let other: Vec<_> = shapes.iter().map(|s| (shaped("other", "", s), vec![1.0, 0.0])).collect();
        idx.upsert(&other).unwrap();
        let tenant = TenantId::new("t").unwrap();
        let got: HashSet<_> =
            idx.search(&tenant, &[1.0, 0.5], &filter, 1000).unwrap().iter().map(|h| h.id).collect();
        let want: HashSet<_> = items.iter().filter(|(m, _)| filter.matches(m)).map(|(m, _)| m.id).collect();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn dimension_is_fixed_by_first_insert() {
    let idx = index(usize::MAX);
    let t = TenantId::new("t").unwrap();
    idx.upsert(&[(memory("t", ""), vec![1.0, 0.0, 0.0])]).unwrap();
    let err = idx.upsert(&[(memory("t", ""), vec![1.0, 0.0])]).unwrap_err();
    assert!(matches!(err, IndexError::Invalid(_)));
    let err = idx.search(&t, &[1.0], &Filter::default(), 3).unwrap_err();
    assert!(matches!(err, IndexError::Invalid(_)));
    let mixed = [(memory("t", ""), vec![1.0; 3]), (memory("t", ""), vec![1.0; 4])];
    assert!(matches!(idx.upsert(&mixed), Err(IndexError::Invalid(_))));
    assert_eq!(idx.len(), 1);
    idx.clear();
    assert!(idx.is_empty());
    idx.upsert(&[(memory("t", ""), vec![1.0, 0.0])]).unwrap();
    assert_eq!(idx.dim(), Some(2));
}

#[test]
fn replace_and_swap_remove_keep_rows_consistent() {
    let idx = index(usize::MAX);
    let t = TenantId::new("t").unwrap();
    let ms: Vec<_> = (0..5).map(|_| memory("t", "")).collect();
    let items: Vec<_> = ms.iter().enumerate().map(|(i, m)| (m.clone(), vec![1.0, i as f32])).collect();
    idx.upsert(&items).unwrap();
    idx.remove(&[(t.clone(), ms[1].id), (t.clone(), ms[1].id), (TenantId::new("x").unwrap(), ms[2].id)]);
    assert_eq!(idx.len(), 4);
    idx.upsert(&[(ms[4].clone(), vec![0.0, -1.0])]).unwrap();
    assert_eq!(idx.len(), 4);
    let hits = idx.search(&t, &[0.0, -1.0], &Filter::default(), 10).unwrap();
    assert_eq!(hits.len(), 4);
    assert_eq!(hits[0].id, ms[4].id);
    assert!((hits[0].score - 1.0).abs() < 1e-6);
    assert!(hits.iter().all(|h| h.id != ms[1].id));
}

#[test]
fn seq_round_trips() {
    let idx = index(usize::MAX);
    idx.set_seq(42);
    assert_eq!(idx.seq(), 42);
}
