//! Integration tests of the vector index above its HNSW threshold, through the public API:
//! tenant isolation, filters against `Filter::matches`, and writes and searches running while the
//! background worker builds.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use memd_index::{FlatVectorIndex, HnswParams, VectorConfig, VectorIndex};
use memd_store::{Filter, Memory, TagMatch, TenantId};
use uuid::Uuid;

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

fn clustered(rng: &mut Rng, n: usize, dim: usize, clusters: usize) -> Vec<Vec<f32>> {
    let centres: Vec<Vec<f32>> = (0..clusters).map(|_| (0..dim).map(|_| rng.unit()).collect()).collect();
    (0..n).map(|_| centres[rng.below(clusters)].iter().map(|x| x + 0.3 * rng.unit()).collect()).collect()
}

fn tenant(s: &str) -> TenantId {
    TenantId::new(s).unwrap()
}

/// A memory with filter fields drawn from small sets.
fn memory(t: &str, rng: &mut Rng) -> Memory {
    let at = |s: usize| Utc.timestamp_opt(1_700_000_000 + s as i64 * 3600, 0).unwrap();
    let mut m = Memory::sample(tenant(t), format!("u{}", rng.below(3)), "");
    m.agent_id = (rng.below(2) == 0).then(|| format!("a{}", rng.below(2)));
    m.session_id = (rng.below(2) == 0).then(|| format!("s{}", rng.below(20)));
    m.tags = (0..rng.below(3)).map(|_| format!("t{}", rng.below(5))).collect();
    m.event_time = (rng.below(2) == 0).then(|| at(rng.below(100)));
    (m.created_at, m.updated_at) = (at(rng.below(100)), at(0));
    m
}

fn index(threshold: usize) -> FlatVectorIndex {
    FlatVectorIndex::new(VectorConfig {
        hnsw_threshold: threshold,
        hnsw: HnswParams { m: 16, ef_construction: 100, ef_search: 64 },
        ..VectorConfig::default()
    })
}

fn filters() -> Vec<Filter> {
    let at = |s: i64| Utc.timestamp_opt(1_700_000_000 + s * 3600, 0).unwrap();
    vec![
        Filter::default(),
        Filter { user_id: Some("u1".into()), ..Filter::default() },
        Filter { session_id: Some("s3".into()), ..Filter::default() },
        Filter { tags: vec!["t1".into(), "t2".into()], tag_match: TagMatch::Any, ..Filter::default() },
        Filter { tags: vec!["t1".into(), "t2".into()], tag_match: TagMatch::All, ..Filter::default() },
        Filter { after: Some(at(30)), before: Some(at(60)), ..Filter::default() },
        Filter { user_id: Some("u0".into()), agent_id: Some("a1".into()), ..Filter::default() },
        Filter { user_id: Some("nobody".into()), ..Filter::default() },
    ]
}

#[test]
fn filtered_graph_search_returns_only_matching_rows_of_the_tenant() {
    let idx = index(1000);
    let mut rng = Rng(99);
    let vs = clustered(&mut rng, 3000, 32, 20);
    let mine: Vec<_> = vs.iter().map(|v| (memory("a", &mut rng), v.clone())).collect();
    // Tenant "b" has the same vectors: any leak would rank at the very top.
    let theirs: Vec<_> = vs.iter().map(|v| (memory("b", &mut rng), v.clone())).collect();
    idx.upsert(&mine).unwrap();
    idx.upsert(&theirs).unwrap();
    idx.wait_hnsw_idle();
    assert!(idx.hnsw_stats(&tenant("a")).is_some() && idx.hnsw_stats(&tenant("b")).is_some());
    let exact = FlatVectorIndex::new(VectorConfig { hnsw_threshold: usize::MAX, ..VectorConfig::default() });
    exact.upsert(&mine).unwrap();
    let (mut found, mut total) = (0, 0);
    for f in filters() {
        let want: HashSet<_> = mine.iter().filter(|(m, _)| f.matches(m)).map(|(m, _)| m.id).collect();
        for (_, q) in mine.iter().step_by(97) {
            let got = idx.search(&tenant("a"), q, &f, 10).unwrap();
            assert_eq!(got.len(), want.len().min(10), "filter {f:?}");
            assert!(got.iter().all(|h| want.contains(&h.id)), "filter {f:?}");
            let best: HashSet<_> =
                exact.search(&tenant("a"), q, &f, 10).unwrap().iter().map(|h| h.id).collect();
            found += got.iter().filter(|h| best.contains(&h.id)).count();
            total += best.len();
        }
    }
    let recall = found as f64 / total as f64;
    assert!(recall >= 0.95, "filtered recall@10 {recall}");
}

#[test]
fn writers_and_readers_run_during_background_builds() {
    let idx = Arc::new(index(500));
    let t = tenant("t");
    let mut rng = Rng(5);
    let vs = clustered(&mut rng, 4000, 32, 16);
    let initial: Vec<_> = vs[..1000].iter().map(|v| (memory("t", &mut rng), v.clone())).collect();
    idx.upsert(&initial).unwrap();
    let later: Vec<_> = vs[1000..].iter().map(|v| (memory("t", &mut rng), v.clone())).collect();
    let removed: Vec<Uuid> = initial.iter().step_by(3).take(300).map(|(m, _)| m.id).collect();
    std::thread::scope(|s| {
        let writer = {
            let (idx, t, later, removed, vs) = (&idx, &t, &later, &removed, &vs);
            s.spawn(move || {
                for (chunk, gone) in later.chunks(100).zip(removed.chunks(10)) {
                    idx.upsert(chunk).unwrap();
                    // Each write is visible to the next search, graph or not.
                    let (m, v) = &chunk[chunk.len() - 1];
                    assert_eq!(idx.search(t, v, &Filter::default(), 1).unwrap()[0].id, m.id);
                    let ids: Vec<_> = gone.iter().map(|id| (t.clone(), *id)).collect();
                    idx.remove(&ids);
                    let hits = idx.search(t, &vs[0], &Filter::default(), 200).unwrap();
                    assert!(hits.iter().all(|h| !gone.contains(&h.id)));
                }
            })
        };
        for _ in 0..2 {
            let (idx, t, vs) = (&idx, &t, &vs);
            s.spawn(move || {
                for q in vs.iter().step_by(7).take(400) {
                    let hits = idx.search(t, q, &Filter::default(), 10).unwrap();
                    assert!(hits.len() == 10 && hits.windows(2).all(|w| w[0].score >= w[1].score));
                }
            });
        }
        writer.join().unwrap();
    });
    idx.wait_hnsw_idle();
    let stats = idx.hnsw_stats(&t).unwrap();
    assert_eq!(stats.pending, 0);
    assert!(stats.dead * 8 <= stats.graph_nodes, "{stats:?}");
    let gone: HashSet<_> = removed.iter().collect();
    let all = idx.search(&t, &vs[0], &Filter::default(), 10_000).unwrap();
    assert_eq!(all.len(), 4000 - removed.len());
    assert!(all.iter().all(|h| !gone.contains(&h.id)));
}
