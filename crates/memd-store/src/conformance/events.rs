//! Cases for operational events: newest first, filters, paging, pruning by age and count.

use chrono::Duration;
use serde_json::json;

use super::base;
use crate::events::{EventQuery, NewEvent, Severity};
use crate::{Store, StoreError};

fn event(kind: &str, n: u32) -> NewEvent {
    NewEvent { kind: kind.into(), severity: Severity::Info, details: json!({"n": n}) }
}

/// Record, read back newest first with filters and paging, prune by age then by count.
pub fn events_lifecycle(s: &dyn Store) {
    let t0 = base() - Duration::hours(2);
    for n in 0..5 {
        let kind = if n % 2 == 0 { "started" } else { "alert_firing" };
        let e = s.record_event(&event(kind, n), t0 + Duration::minutes(i64::from(n) * 30)).expect("record");
        assert_eq!(e.details, json!({"n": n}));
    }
    let all = s.events(&EventQuery { limit: 100, ..EventQuery::default() }).expect("events");
    let ns: Vec<u64> = all.iter().filter_map(|e| e.details["n"].as_u64()).collect();
    assert_eq!(ns, [4, 3, 2, 1, 0], "newest first");
    assert!(all.windows(2).all(|w| w[0].id > w[1].id && w[0].created_at >= w[1].created_at));

    let started = s.events(&EventQuery { kind: Some("started".into()), limit: 100, ..EventQuery::default() });
    assert_eq!(started.expect("by type").len(), 3);
    let since = t0 + Duration::minutes(60);
    let recent =
        s.events(&EventQuery { since: Some(since), limit: 100, ..EventQuery::default() }).expect("since");
    assert_eq!(recent.len(), 3, "events at or after `since`");
    let page = s.events(&EventQuery { limit: 2, ..EventQuery::default() }).expect("page");
    let next = s
        .events(&EventQuery { limit: 2, before_id: Some(page[1].id), ..EventQuery::default() })
        .expect("next");
    assert_eq!(next.iter().filter_map(|e| e.details["n"].as_u64()).collect::<Vec<_>>(), [2, 1]);

    let bad = s.record_event(
        &NewEvent { kind: "a\0b".into(), severity: Severity::Error, details: json!({}) },
        base(),
    );
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");

    // Older than t0 + 45 min: n = 0 and 1 go; then keep only the newest 2 of the 3 left.
    assert_eq!(s.prune_events(t0 + Duration::minutes(45), 1000).expect("prune by age"), 2);
    assert_eq!(s.prune_events(t0, 2).expect("prune by count"), 1);
    let left = s.events(&EventQuery { limit: 100, ..EventQuery::default() }).expect("events");
    assert_eq!(left.iter().filter_map(|e| e.details["n"].as_u64()).collect::<Vec<_>>(), [4, 3]);
}

/// Silences survive as stored, ended ones go, deletes report whether they found one.
pub fn silences_lifecycle(s: &dyn Store) {
    use crate::events::Silence;
    let now = base();
    let window = |mins: i64, comment: &str| Silence {
        id: 0,
        matchers: [("alertname".to_owned(), "MemdCpuHigh".to_owned())].into(),
        starts_at: now - Duration::minutes(1),
        ends_at: now + Duration::minutes(mins),
        comment: comment.into(),
    };
    let a = s.create_silence(&window(30, "deploy"), now).expect("create");
    let b = s.create_silence(&window(60, "maintenance"), now).expect("create");
    assert!(b.id > a.id);
    assert_eq!(s.silences(now).expect("list"), [a.clone(), b.clone()]);
    assert_eq!(
        s.silences(now + Duration::minutes(45)).expect("list"),
        std::slice::from_ref(&b),
        "ended ones are not listed"
    );
    assert!(s.delete_silence(a.id).expect("delete"));
    assert!(!s.delete_silence(a.id).expect("delete again"));
    assert_eq!(s.silences(now).expect("list"), [b]);
}
