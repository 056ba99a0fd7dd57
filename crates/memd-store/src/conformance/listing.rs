//! Cases for listing (pagination, every filter dimension against [`Filter::matches`]) and the
//! tag statistics.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

use super::{base, ids, insert_one, list_all, mem, newest_first, tagged, tenant};
use crate::{Filter, ListQuery, Memory, NewMemory, Store, StoreError, TagCount, TagMatch, TimeField};

/// Walking every page with the cursor yields each live memory once, newest first, including
/// memories that share a `created_at`.
pub fn list_pagination(s: &dyn Store) {
    let (t, now) = (tenant("acme"), base());
    let mut all = Vec::new();
    for i in 0..9 {
        let at = now - Duration::seconds(100 - i);
        let batch = (0..3).map(|j| mem("u1", &format!("m{i}-{j}"))).collect();
        all.extend(s.insert(&t, batch, at).expect("insert"));
    }
    insert_one(s, &tenant("other"), mem("u1", "elsewhere"), now);
    let expected = ids(&newest_first(all.clone()));
    for limit in [1, 2, 4, 7, 27, 100] {
        let got = list_all(s, &t, &Filter::default(), limit, now);
        assert_eq!(ids(&got), expected, "limit {limit}");
    }
    let one = s.list(&t, &ListQuery { limit: 0, ..Default::default() }, now).expect("list");
    assert_eq!(one.items.len(), 1, "a zero limit is clamped to 1");
    let q = ListQuery { cursor: Some("not a cursor!".into()), limit: 5, ..Default::default() };
    assert!(matches!(s.list(&t, &q, now), Err(StoreError::Invalid(_))), "bad cursor is Invalid");
    assert_eq!(list_all(s, &t, &Filter::default(), 5, now), newest_first(all));
}

fn pick<'a>(rng: &mut StdRng, xs: &[&'a str]) -> &'a str {
    xs[rng.gen_range(0..xs.len())]
}

fn maybe(rng: &mut StdRng, xs: &[&str]) -> Option<String> {
    rng.gen_bool(0.7).then(|| pick(rng, xs).to_string())
}

const TAGS: &[&str] = &["work", "home", "food", "travel", "health"];

fn random_metadata(rng: &mut StdRng) -> Map<String, Value> {
    let mut m = Map::new();
    let candidates = [
        ("color", json!(pick(rng, &["red", "blue"]))),
        ("n", json!(rng.gen_range(1..3))),
        ("flag", json!(rng.gen_bool(0.5))),
        ("nested", json!({"a": rng.gen_range(1..3)})),
        ("one", if rng.gen_bool(0.5) { json!(1) } else { json!("1") }),
    ];
    for (k, v) in candidates {
        if rng.gen_bool(0.7) {
            m.insert(k.to_string(), v);
        }
    }
    m
}

fn random_memory(rng: &mut StdRng, base: DateTime<Utc>, i: usize) -> NewMemory {
    let tags = TAGS.iter().filter(|_| rng.gen_bool(0.35)).map(|t| t.to_string()).collect();
    NewMemory {
        user_id: pick(rng, &["u0", "u1", "u2"]).into(),
        agent_id: maybe(rng, &["a0", "a1"]),
        session_id: maybe(rng, &["s0", "s1"]),
        content: format!("memory {i}"),
        tags,
        metadata: random_metadata(rng),
        event_time: rng.gen_bool(0.6).then(|| base - Duration::minutes(rng.gen_range(0..600))),
        ..Default::default()
    }
}

fn random_filter(rng: &mut StdRng, base: DateTime<Utc>) -> Filter {
    let mut f = Filter {
        user_id: rng.gen_bool(0.3).then(|| pick(rng, &["u0", "u1", "u2", "nobody"]).into()),
        agent_id: rng.gen_bool(0.3).then(|| pick(rng, &["a0", "a1"]).into()),
        session_id: rng.gen_bool(0.3).then(|| pick(rng, &["s0", "s1"]).into()),
        tag_match: if rng.gen_bool(0.5) { TagMatch::Any } else { TagMatch::All },
        time_field: if rng.gen_bool(0.5) { TimeField::EventTime } else { TimeField::CreatedAt },
        ..Default::default()
    };
    f.tags = TAGS.iter().filter(|_| rng.gen_bool(0.25)).map(|t| t.to_string()).collect();
    if rng.gen_bool(0.4) {
        f.after = Some(base - Duration::minutes(rng.gen_range(0..600)));
    }
    if rng.gen_bool(0.4) {
        f.before = Some(base - Duration::minutes(rng.gen_range(0..600)));
    }
    if rng.gen_bool(0.4) {
        let (k, v) = random_metadata(rng).into_iter().next().unwrap_or(("n".into(), json!(1)));
        f.metadata.insert(k, v);
    }
    f
}

/// Hand-picked filters covering each dimension alone, then random combinations.
fn filters(rng: &mut StdRng, base: DateTime<Utc>) -> Vec<Filter> {
    let tags = |ts: &[&str], m: TagMatch| Filter {
        tags: ts.iter().map(|t| t.to_string()).collect(),
        tag_match: m,
        ..Default::default()
    };
    let meta = |k: &str, v: Value| Filter {
        metadata: [(k.to_string(), v)].into_iter().collect(),
        ..Default::default()
    };
    let mut out = vec![
        Filter::default(),
        Filter { user_id: Some("u1".into()), ..Default::default() },
        Filter { agent_id: Some("a0".into()), ..Default::default() },
        Filter { session_id: Some("s1".into()), ..Default::default() },
        tags(&["work", "food"], TagMatch::Any),
        tags(&["work", "food"], TagMatch::All),
        tags(&["home", "home"], TagMatch::All),
        meta("color", json!("red")),
        meta("n", json!(2)),
        meta("flag", json!(true)),
        meta("nested", json!({"a": 1})),
        meta("one", json!(1)),
        meta("one", json!("1")),
        meta("missing", json!(null)),
    ];
    for field in [TimeField::EventTime, TimeField::CreatedAt] {
        out.push(Filter {
            time_field: field,
            after: Some(base - Duration::minutes(300)),
            before: Some(base - Duration::minutes(100)),
            ..Default::default()
        });
    }
    out.extend((0..60).map(|_| random_filter(rng, base)));
    out
}

/// `list` agrees with [`Filter::matches`] on every filter dimension and combination.
pub fn filters_match_reference(s: &dyn Store) {
    let (t, now) = (tenant("acme"), base());
    let mut rng = StdRng::seed_from_u64(0x6d656d64);
    let mut all: Vec<Memory> = Vec::new();
    for i in 0..90 {
        let created = now - Duration::minutes(rng.gen_range(0..600));
        all.push(insert_one(s, &t, random_memory(&mut rng, now, i), created));
    }
    insert_one(s, &tenant("other"), tagged("u1", "elsewhere", &["work"]), now);
    for (n, f) in filters(&mut rng, now).into_iter().enumerate() {
        let expected: Vec<Memory> = all.iter().filter(|m| f.matches(m)).cloned().collect();
        let got = list_all(s, &t, &f, 7, now);
        assert_eq!(ids(&got), ids(&newest_first(expected)), "filter #{n}: {f:?}");
    }
}

fn as_map(v: &[TagCount]) -> BTreeMap<String, u64> {
    assert!(v.windows(2).all(|w| w[0].count >= w[1].count), "most used first: {v:?}");
    v.iter().map(|c| (c.tag.clone(), c.count)).collect()
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(t, n)| (t.to_string(), *n)).collect()
}

/// Tag counts and co-occurrence neighbours over live memories, per tenant and per user.
pub fn tag_stats(s: &dyn Store) {
    let (t, now) = (tenant("acme"), base());
    for tags in [&["a", "b"][..], &["a", "c"], &["a", "b", "c"]] {
        insert_one(s, &t, tagged("u1", "x", tags), now);
    }
    insert_one(s, &t, tagged("u2", "x", &["a", "d"]), now);
    let gone = insert_one(s, &t, tagged("u2", "x", &["a", "b", "d"]), now);
    s.delete(&t, gone.id, now).expect("delete");
    let expired = NewMemory { expires_at: Some(now), ..tagged("u1", "x", &["b", "c"]) };
    insert_one(s, &t, expired, now - Duration::hours(1));
    insert_one(s, &tenant("other"), tagged("u1", "x", &["a", "z"]), now);
    let all = as_map(&s.tag_counts(&t, None, now).expect("tag_counts"));
    assert_eq!(all, counts(&[("a", 4), ("b", 2), ("c", 2), ("d", 1)]));
    let u1 = as_map(&s.tag_counts(&t, Some("u1"), now).expect("tag_counts"));
    assert_eq!(u1, counts(&[("a", 3), ("b", 2), ("c", 2)]));
    let nb = s.tag_neighbours(&t, None, "a", 10, now).expect("neighbours");
    assert_eq!(as_map(&nb), counts(&[("b", 2), ("c", 2), ("d", 1)]));
    let top = s.tag_neighbours(&t, None, "a", 1, now).expect("neighbours");
    assert_eq!((top.len(), top.first().map(|c| c.count)), (1, Some(2)), "limit is respected");
    let u2 = s.tag_neighbours(&t, Some("u2"), "a", 10, now).expect("neighbours");
    assert_eq!(as_map(&u2), counts(&[("d", 1)]));
    let c = s.tag_neighbours(&t, Some("u1"), "c", 10, now).expect("neighbours");
    assert_eq!(as_map(&c), counts(&[("a", 2), ("b", 1)]));
    assert!(s.tag_neighbours(&t, None, "nope", 10, now).expect("neighbours").is_empty());
}
