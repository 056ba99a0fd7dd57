//! Conversation context in ranking. Memories written by an agent are often turns of a
//! conversation whose meaning depends on the turn before or after ("Yes, twice a week!" answers
//! "Do you still go climbing?"), so a memory next to a strong match is itself likely relevant.
//! After fusion, each memory gains part of its best neighbour's score:
//! `s'(m) = s(m) + w · max(s(before), s(after))`, where the neighbours are the memories of the
//! same user stored just before and just after `m` ([`memd_store::Store::adjacent`]), counted only
//! when both belong to the same conversation ([`same_thread`]: a common session id, or close
//! event times). A neighbour that neither index
//! returned enters the ranking with that share alone.
//!
//! Pure functions over fused lists, so the ranking invariants are property-tested here; the
//! store lookup lives in `search.rs`.

use std::collections::HashMap;

use chrono::Duration;
use memd_store::{Adjacent, Placement};
use uuid::Uuid;

use crate::fusion::Fused;

/// Settings of the context signal (from `SearchConfig`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ContextParams {
    /// `w`: the share of the best neighbour's score a memory gains; 0 turns the signal off.
    pub weight: f32,
    /// Two memories without a common session id are one conversation when their times are at
    /// most this far apart.
    pub gap: Duration,
}

/// True when `a` and `b`, stored one after the other by one user, belong to one conversation:
/// the same session id when both have one, otherwise event times at most `gap` apart. Memories
/// that say nothing about where they happened (no session id, no event time) are independent
/// facts, never linked: storing them in a row does not make them one conversation.
pub fn same_thread(a: &Placement, b: &Placement, gap: Duration) -> bool {
    match (&a.session_id, &b.session_id) {
        (Some(x), Some(y)) => x == y,
        _ => match (a.event_time, b.event_time) {
            (Some(x), Some(y)) => (x - y).abs() <= gap,
            _ => false,
        },
    }
}

/// The conversation neighbours of each looked-up memory, and symmetrically of its neighbours
/// (`b` after `a` makes `a` a neighbour of `b`). At most two per memory.
pub fn links(adjacent: &[Adjacent], gap: Duration) -> HashMap<Uuid, Vec<Uuid>> {
    let mut out: HashMap<Uuid, Vec<Uuid>> = HashMap::with_capacity(adjacent.len() * 2);
    let mut link = |a: Uuid, b: Uuid| {
        for (x, y) in [(a, b), (b, a)] {
            let list = out.entry(x).or_default();
            if !list.contains(&y) {
                list.push(y);
            }
        }
    };
    for adj in adjacent {
        for n in [&adj.before, &adj.after].into_iter().flatten() {
            if same_thread(&adj.memory, n, gap) {
                link(adj.memory.id, n.id);
            }
        }
    }
    out
}

/// `fused` rescored with `w · max(neighbour scores)` added, neighbours that were not candidates
/// included, best first (ties by id). Scores of candidates never decrease.
pub fn apply(fused: &[Fused], links: &HashMap<Uuid, Vec<Uuid>>, w: f32) -> Vec<Fused> {
    let base: HashMap<Uuid, f32> = fused.iter().map(|f| (f.id, f.score)).collect();
    let best_neighbour = |id: &Uuid| {
        links.get(id).into_iter().flatten().filter_map(|n| base.get(n)).fold(0.0f32, |a, &b| a.max(b))
    };
    let mut out: Vec<Fused> =
        fused.iter().map(|f| Fused { score: f.score + w * best_neighbour(&f.id), ..*f }).collect();
    for id in links.keys().filter(|id| !base.contains_key(id)) {
        let score = w * best_neighbour(id);
        if score > 0.0 {
            out.push(Fused { id: *id, score, keyword: None, semantic: None });
        }
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    out
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use proptest::prelude::*;

    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + minutes * 60, 0).unwrap_or_default()
    }

    fn place(id: u128, session: Option<&str>, event_min: Option<i64>) -> Placement {
        Placement {
            id: Uuid::from_u128(id),
            session_id: session.map(str::to_owned),
            event_time: event_min.map(at),
            created_at: at(0),
        }
    }

    fn fused(id: u128, score: f32) -> Fused {
        Fused { id: Uuid::from_u128(id), score, keyword: Some(score), semantic: None }
    }

    const GAP: Duration = Duration::minutes(30);

    #[test]
    fn threads_are_sessions_or_close_times() {
        assert!(same_thread(&place(1, Some("s"), Some(0)), &place(2, Some("s"), Some(900)), GAP));
        assert!(!same_thread(&place(1, Some("s"), Some(0)), &place(2, Some("t"), Some(0)), GAP));
        assert!(same_thread(&place(1, None, Some(0)), &place(2, None, Some(30)), GAP));
        assert!(!same_thread(&place(1, None, Some(0)), &place(2, Some("s"), Some(31)), GAP));
        // Neither a session nor an event time: independent facts, even when stored together.
        assert!(!same_thread(&place(1, None, None), &place(2, None, None), GAP));
        assert!(!same_thread(&place(1, Some("s"), None), &place(2, None, None), GAP));
    }

    #[test]
    fn a_neighbour_of_a_strong_match_rises_and_enters() {
        // 2 follows 1 in one session; 3 is in another session after 2.
        let adj = vec![Adjacent {
            memory: place(2, Some("s"), None),
            before: Some(place(1, Some("s"), None)),
            after: Some(place(3, Some("t"), None)),
        }];
        let links = links(&adj, GAP);
        assert_eq!(links[&Uuid::from_u128(1)], vec![Uuid::from_u128(2)]);
        assert!(!links.contains_key(&Uuid::from_u128(3)), "other session");
        let out = apply(&[fused(2, 1.0), fused(4, 0.5)], &links, 0.3);
        let view: Vec<(u128, f32)> = out.iter().map(|f| (f.id.as_u128(), f.score)).collect();
        assert_eq!(view, vec![(2, 1.0), (4, 0.5), (1, 0.3)]);
        assert_eq!(out[2].keyword, None);
    }

    proptest! {
        #[test]
        fn candidates_keep_at_least_their_score_and_the_result_is_sorted(
            scores in proptest::collection::vec(0f32..1.0, 1..30),
            pairs in proptest::collection::vec((0u128..40, 0u128..40), 0..40),
            w in 0f32..1.0,
        ) {
            let fused: Vec<Fused> = scores.iter().enumerate().map(|(i, s)| fused(i as u128, *s)).collect();
            let mut links: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
            for (a, b) in pairs.iter().filter(|(a, b)| a != b) {
                links.entry(Uuid::from_u128(*a)).or_default().push(Uuid::from_u128(*b));
                links.entry(Uuid::from_u128(*b)).or_default().push(Uuid::from_u128(*a));
            }
            let out = apply(&fused, &links, w);
            for f in &fused {
                let got = out.iter().find(|o| o.id == f.id).map(|o| o.score);
                prop_assert!(got.is_some_and(|s| s >= f.score));
            }
            for pair in out.windows(2) {
                prop_assert!(pair[0].score >= pair[1].score);
            }
            let mut ids: Vec<Uuid> = out.iter().map(|f| f.id).collect();
            let n = ids.len();
            ids.sort();
            ids.dedup();
            prop_assert_eq!(ids.len(), n);
        }

        #[test]
        fn weight_zero_changes_nothing(scores in proptest::collection::vec(0f32..1.0, 1..30)) {
            let fused: Vec<Fused> = scores.iter().enumerate().map(|(i, s)| fused(i as u128, *s)).collect();
            let links: HashMap<Uuid, Vec<Uuid>> =
                [(Uuid::from_u128(0), vec![Uuid::from_u128(99)])].into_iter().collect();
            let out = apply(&fused, &links, 0.0);
            let mut want = fused.clone();
            want.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
            prop_assert_eq!(out, want);
        }
    }
}
