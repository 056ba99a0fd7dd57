//! Unit tests of the HNSW path: filters, tombstones, pending rows and the rebuild policy.

use std::collections::HashSet;

use memd_store::{Filter, Memory, TenantId};
use proptest::prelude::*;

use super::{FlatVectorIndex, HnswParams, VectorConfig};
use crate::testutil::{memory, shaped, strategies};
use crate::VectorIndex;

#[path = "../../tests/support/rng.rs"]
mod rng;
use rng::Rng;

/// `n` vectors around `clusters` random centres (noise ~0.3 of the centre's scale per value).
pub(super) fn clustered(rng: &mut Rng, n: usize, dim: usize, clusters: usize) -> Vec<Vec<f32>> {
    let centres: Vec<Vec<f32>> = (0..clusters).map(|_| (0..dim).map(|_| rng.unit()).collect()).collect();
    (0..n)
        .map(|_| {
            let c = &centres[(rng.next() % clusters as u64) as usize];
            c.iter().map(|x| x + 0.3 * rng.unit()).collect()
        })
        .collect()
}

fn hnsw_index(threshold: usize) -> FlatVectorIndex {
    FlatVectorIndex::new(VectorConfig {
        parallel_rows: usize::MAX,
        scan_threads: 2,
        hnsw_threshold: threshold,
        hnsw: HnswParams { m: 16, ef_construction: 100, ef_search: 64 },
    })
}

fn exact_index() -> FlatVectorIndex {
    FlatVectorIndex::new(VectorConfig { hnsw_threshold: usize::MAX, ..VectorConfig::default() })
}

fn tenant(s: &str) -> TenantId {
    TenantId::new(s).expect("valid tenant")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// With a graph in use, every filter returns exactly the rows `Filter::matches` accepts
    /// (asking for all of them), and a top-10 returns only matching rows of the tenant.
    #[test]
    fn graph_search_honours_filters(
        shapes in proptest::collection::vec(strategies::shape(), 500..700),
        filter in strategies::filter(),
        seed in 1u64..1000,
    ) {
        let idx = hnsw_index(100);
        let vs = clustered(&mut Rng(seed), shapes.len(), 16, 6);
        let items: Vec<(Memory, Vec<f32>)> =
            shapes.iter().zip(vs).map(|(s, v)| (shaped("t", "", s), v)).collect();
        idx.upsert(&items).unwrap();
        let other: Vec<_> = shapes.iter().zip(&items).map(|(s, (_, v))| (shaped("o", "", s), v.clone())).collect();
        idx.upsert(&other).unwrap();
        prop_assert!(idx.rebuild_hnsw(&tenant("t")));
        let q = items[0].1.clone();
        let want: HashSet<_> = items.iter().filter(|(m, _)| filter.matches(m)).map(|(m, _)| m.id).collect();
        let all: HashSet<_> = idx.search(&tenant("t"), &q, &filter, 10_000).unwrap().iter().map(|h| h.id).collect();
        prop_assert_eq!(&all, &want);
        let top = idx.search(&tenant("t"), &q, &filter, 10).unwrap();
        prop_assert_eq!(top.len(), want.len().min(10));
        prop_assert!(top.iter().all(|h| want.contains(&h.id)));
        prop_assert!(top.windows(2).all(|w| w[0].score >= w[1].score));
    }
}

#[test]
fn writes_after_the_build_are_visible_at_once_and_then_inserted() {
    let idx = hnsw_index(200);
    let t = tenant("t");
    let vs = clustered(&mut Rng(7), 600, 24, 8);
    let items: Vec<_> = vs.iter().map(|v| (memory("t", ""), v.clone())).collect();
    idx.upsert(&items).unwrap();
    assert!(idx.rebuild_hnsw(&t));
    assert_eq!(idx.hnsw_stats(&t).unwrap().graph_nodes, 600);

    // A new row, a re-embedded row and a removed row, searched before the worker runs.
    let fresh = memory("t", "");
    let probe: Vec<f32> = (0..24).map(|i| if i == 3 { 1.0 } else { 0.0 }).collect();
    let moved = items[5].0.clone();
    let mut away = probe.clone();
    away[4] = 0.01;
    idx.upsert(&[(fresh.clone(), probe.clone()), (moved.clone(), away)]).unwrap();
    idx.remove(&[(t.clone(), items[9].0.id)]);
    let hits = idx.search(&t, &probe, &Filter::default(), 5).unwrap();
    assert_eq!(hits[0].id, fresh.id);
    assert_eq!(hits[1].id, moved.id);
    let all = idx.search(&t, &items[9].1, &Filter::default(), 1000).unwrap();
    assert_eq!(all.len(), 600);
    assert!(all.iter().all(|h| h.id != items[9].0.id));

    idx.wait_hnsw_idle();
    let stats = idx.hnsw_stats(&t).unwrap();
    assert_eq!(stats.pending, 0);
    assert_eq!(stats.dead, 2);
    assert_eq!(stats.graph_nodes, 602);
    let hits = idx.search(&t, &probe, &Filter::default(), 2).unwrap();
    assert_eq!((hits[0].id, hits[1].id), (fresh.id, moved.id));
}

#[test]
fn metadata_only_updates_keep_the_graph_node() {
    let idx = hnsw_index(50);
    let t = tenant("t");
    let items: Vec<_> = clustered(&mut Rng(3), 120, 8, 4).into_iter().map(|v| (memory("t", ""), v)).collect();
    idx.upsert(&items).unwrap();
    assert!(idx.rebuild_hnsw(&t));
    let mut m = items[0].0.clone();
    m.tags = vec!["new".into()];
    idx.upsert(&[(m, items[0].1.clone())]).unwrap();
    let stats = idx.hnsw_stats(&t).unwrap();
    assert_eq!((stats.pending, stats.dead), (0, 0));
    let f = Filter { tags: vec!["new".into()], ..Filter::default() };
    let hits = idx.search(&t, &items[0].1, &f, 3).unwrap();
    assert_eq!(hits.len(), 1);
}

#[test]
fn many_deletes_trigger_a_rebuild_and_shrinking_drops_the_graph() {
    let idx = hnsw_index(300);
    let t = tenant("t");
    let items: Vec<_> =
        clustered(&mut Rng(11), 1000, 16, 8).into_iter().map(|v| (memory("t", ""), v)).collect();
    idx.upsert(&items).unwrap();
    idx.wait_hnsw_idle();
    assert_eq!(idx.background_jobs(), 0, "settled");
    assert_eq!(idx.hnsw_stats(&t).unwrap().graph_nodes, 1000);
    let gone: Vec<_> = items[..300].iter().map(|(m, _)| (t.clone(), m.id)).collect();
    idx.remove(&gone);
    idx.wait_hnsw_idle();
    let stats = idx.hnsw_stats(&t).unwrap();
    assert_eq!((stats.graph_nodes, stats.dead), (700, 0));
    let gone: Vec<_> = items[300..900].iter().map(|(m, _)| (t.clone(), m.id)).collect();
    idx.remove(&gone);
    idx.wait_hnsw_idle();
    assert!(idx.hnsw_stats(&t).is_none());
    assert_eq!(idx.search(&t, &items[950].1, &Filter::default(), 500).unwrap().len(), 100);
}

#[test]
fn below_the_threshold_results_equal_the_exact_scan() {
    let (idx, exact) = (hnsw_index(500), exact_index());
    let t = tenant("t");
    let items: Vec<_> =
        clustered(&mut Rng(5), 500, 16, 4).into_iter().map(|v| (memory("t", ""), v)).collect();
    idx.upsert(&items).unwrap();
    exact.upsert(&items).unwrap();
    idx.wait_hnsw_idle();
    assert!(!idx.rebuild_hnsw(&t));
    assert!(idx.hnsw_stats(&t).is_none());
    for (_, q) in items.iter().take(20) {
        let a = idx.search(&t, q, &Filter::default(), 10).unwrap();
        let b = exact.search(&t, q, &Filter::default(), 10).unwrap();
        assert_eq!(a, b);
    }
}

#[test]
fn recall_on_clustered_data() {
    let (idx, exact) = (hnsw_index(1000), exact_index());
    let t = tenant("t");
    let mut rng = Rng(42);
    let mut vs = clustered(&mut rng, 4200, 48, 40);
    let queries = vs.split_off(4000);
    let items: Vec<_> = vs.into_iter().map(|v| (memory("t", ""), v)).collect();
    idx.upsert(&items).unwrap();
    exact.upsert(&items).unwrap();
    assert!(idx.rebuild_hnsw(&t));
    let (mut found, mut total) = (0usize, 0usize);
    for q in &queries {
        let want: HashSet<_> =
            exact.search(&t, q, &Filter::default(), 10).unwrap().iter().map(|h| h.id).collect();
        let got = idx.search(&t, q, &Filter::default(), 10).unwrap();
        found += got.iter().filter(|h| want.contains(&h.id)).count();
        total += want.len();
    }
    let recall = found as f64 / total as f64;
    assert!(recall >= 0.95, "recall@10 {recall}");
}
