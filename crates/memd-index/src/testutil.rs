//! Helpers for the unit tests: memories with chosen filter fields.

use chrono::{DateTime, TimeZone, Utc};
use memd_store::{Memory, TenantId};

pub(crate) fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).single().expect("valid test time")
}

pub(crate) fn memory(tenant: &str, content: &str) -> Memory {
    let mut m = Memory::sample(TenantId::new(tenant).expect("valid test tenant"), "u1", content);
    (m.created_at, m.updated_at) = (at(0), at(0));
    m
}

/// A memory whose filter fields are chosen by small indexes (for property tests).
#[derive(Clone, Debug)]
pub(crate) struct Shape {
    pub user: u8,
    pub agent: Option<u8>,
    pub session: Option<u8>,
    pub tags: Vec<u8>,
    pub event: Option<i64>,
    pub created: i64,
}

pub(crate) fn shaped(tenant: &str, content: &str, s: &Shape) -> Memory {
    let mut m = memory(tenant, content);
    m.user_id = format!("u{}", s.user);
    m.agent_id = s.agent.map(|a| format!("a{a}"));
    m.session_id = s.session.map(|x| format!("s{x}"));
    m.tags = s.tags.iter().map(|t| format!("t{t}")).collect();
    m.event_time = s.event.map(at);
    m.created_at = at(s.created);
    m
}

pub(crate) mod strategies {
    use memd_store::{Filter, TagMatch, TimeField};
    use proptest::prelude::*;

    use super::{at, Shape};

    pub fn shape() -> impl Strategy<Value = Shape> {
        (
            0u8..3,
            proptest::option::of(0u8..2),
            proptest::option::of(0u8..2),
            proptest::collection::vec(0u8..4, 0..3),
            proptest::option::of(0i64..10),
            0i64..10,
        )
            .prop_map(|(user, agent, session, tags, event, created)| Shape {
                user,
                agent,
                session,
                tags,
                event,
                created,
            })
    }

    pub fn filter() -> impl Strategy<Value = Filter> {
        let name = |p: &'static str, n: u8| proptest::option::of((0..n).prop_map(move |i| format!("{p}{i}")));
        (
            (name("u", 4), name("a", 3), name("s", 3)),
            proptest::collection::vec((0u8..5).prop_map(|t| format!("t{t}")), 0..3),
            any::<bool>(),
            any::<bool>(),
            proptest::option::of(0i64..11),
            proptest::option::of(0i64..11),
        )
            .prop_map(|((user_id, agent_id, session_id), tags, all, created, after, before)| {
                Filter {
                    user_id,
                    agent_id,
                    session_id,
                    tags,
                    tag_match: if all { TagMatch::All } else { TagMatch::Any },
                    time_field: if created { TimeField::CreatedAt } else { TimeField::EventTime },
                    after: after.map(at),
                    before: before.map(at),
                    metadata: Default::default(),
                }
            })
    }
}
