//! Cases for the knowledge graph: the reference memory server's semantics (dedup by name and by
//! triple, relations removed with their entities, insertion order), paging, per-user isolation,
//! and the mirror memories that keep observations searchable.

use super::{base, tenant};
use crate::graph::{
    AddedObservations, Entity, Graph, GraphRead, GraphWrite, GraphWritten, ObservationAdd, ObservationDelete,
    Relation, GRAPH_ENTITY_KEY, GRAPH_TAG,
};
use crate::{Filter, ListQuery, Store, StoreError, TenantId};

fn entity(name: &str, ty: &str, obs: &[&str]) -> Entity {
    Entity {
        name: name.into(),
        entity_type: ty.into(),
        observations: obs.iter().map(|o| o.to_string()).collect(),
    }
}

fn rel(from: &str, to: &str, ty: &str) -> Relation {
    Relation { from: from.into(), to: to.into(), relation_type: ty.into() }
}

fn write(s: &dyn Store, t: &TenantId, user: &str, op: GraphWrite) -> GraphWritten {
    s.graph_write(t, user, op, base()).expect("graph_write")
}

fn read(s: &dyn Store, t: &TenantId, user: &str, q: GraphRead) -> Graph {
    s.graph_read(t, user, &q).expect("graph_read")
}

fn whole(s: &dyn Store, t: &TenantId, user: &str) -> Graph {
    read(s, t, user, GraphRead::Page { cursor: None, limit: 1000 })
}

fn names(g: &Graph) -> Vec<&str> {
    g.entities.iter().map(|e| e.name.as_str()).collect()
}

/// The reference server's sequence: creates dedup, observations dedup, deletes cascade.
pub fn graph_reference_semantics(s: &dyn Store) {
    let t = tenant("a");
    let created = write(
        s,
        &t,
        "u",
        GraphWrite::CreateEntities(vec![
            entity("Alice", "person", &["likes espresso"]),
            entity("Acme", "company", &[]),
            entity("Alice", "robot", &["duplicate in the same call"]),
        ]),
    );
    assert_eq!(
        created,
        GraphWritten::Entities(vec![
            entity("Alice", "person", &["likes espresso"]),
            entity("Acme", "company", &[])
        ])
    );
    let again = write(
        s,
        &t,
        "u",
        GraphWrite::CreateEntities(vec![entity("Alice", "x", &[]), entity("Bob", "person", &[])]),
    );
    assert_eq!(
        again,
        GraphWritten::Entities(vec![entity("Bob", "person", &[])]),
        "existing names are skipped"
    );

    let rels = vec![
        rel("Alice", "Acme", "works_at"),
        rel("Bob", "Alice", "knows"),
        rel("Alice", "Acme", "works_at"),
    ];
    let created = write(s, &t, "u", GraphWrite::CreateRelations(rels));
    assert_eq!(
        created,
        GraphWritten::Relations(vec![rel("Alice", "Acme", "works_at"), rel("Bob", "Alice", "knows")])
    );

    let added = write(
        s,
        &t,
        "u",
        GraphWrite::AddObservations(vec![ObservationAdd {
            entity_name: "Alice".into(),
            contents: vec!["likes espresso".into(), "lives in Lyon".into()],
        }]),
    );
    let want = vec![AddedObservations {
        entity_name: "Alice".into(),
        added_observations: vec!["lives in Lyon".into()],
    }];
    assert_eq!(added, GraphWritten::Observations(want));

    // An unknown entity fails the whole call: nothing of it is applied.
    let failed = s.graph_write(
        &t,
        "u",
        GraphWrite::AddObservations(vec![
            ObservationAdd { entity_name: "Bob".into(), contents: vec!["plays chess".into()] },
            ObservationAdd { entity_name: "Nobody".into(), contents: vec!["x".into()] },
        ]),
        base(),
    );
    match failed {
        Err(StoreError::Invalid(m)) => assert!(m.contains("Nobody") && m.contains("not found"), "{m}"),
        other => panic!("an unknown entity must fail the call, got {other:?}"),
    }
    let g = whole(s, &t, "u");
    assert_eq!(names(&g), ["Alice", "Acme", "Bob"], "insertion order");
    assert_eq!(g.entities[0].observations, ["likes espresso", "lives in Lyon"]);
    assert!(g.entities[2].observations.is_empty(), "the failed call added nothing");
    assert_eq!(g.relations.len(), 2);

    let found = read(s, &t, "u", GraphRead::Containing { query: "LYON".into(), limit: 10 });
    assert_eq!(names(&found), ["Alice"]);
    assert_eq!(found.relations.len(), 2, "relations with at least one endpoint in the result");
    let opened = read(s, &t, "u", GraphRead::Names(vec!["Acme".into(), "Nobody".into()]));
    assert_eq!(names(&opened), ["Acme"]);
    assert_eq!(opened.relations, [rel("Alice", "Acme", "works_at")]);

    write(
        s,
        &t,
        "u",
        GraphWrite::DeleteObservations(vec![ObservationDelete {
            entity_name: "Alice".into(),
            observations: vec!["likes espresso".into(), "never said".into()],
        }]),
    );
    write(s, &t, "u", GraphWrite::DeleteRelations(vec![rel("Bob", "Alice", "knows"), rel("X", "Y", "z")]));
    let g = whole(s, &t, "u");
    assert_eq!(g.entities[0].observations, ["lives in Lyon"]);
    assert_eq!(g.relations, [rel("Alice", "Acme", "works_at")]);

    write(s, &t, "u", GraphWrite::DeleteEntities(vec!["Acme".into(), "Ghost".into()]));
    let g = whole(s, &t, "u");
    assert_eq!(names(&g), ["Alice", "Bob"]);
    assert!(g.relations.is_empty(), "relations go with their entities");
}

/// Graphs are per tenant and per user.
pub fn graph_isolation(s: &dyn Store) {
    let (a, b) = (tenant("a"), tenant("b"));
    write(s, &a, "u1", GraphWrite::CreateEntities(vec![entity("Alice", "person", &["secret of u1"])]));
    write(s, &a, "u1", GraphWrite::CreateRelations(vec![rel("Alice", "Bob", "knows")]));
    for (t, user) in [(&a, "u2"), (&b, "u1")] {
        let g = whole(s, t, user);
        assert!(g.entities.is_empty() && g.relations.is_empty(), "{t:?}/{user} sees another graph");
        assert!(read(s, t, user, GraphRead::Containing { query: "secret".into(), limit: 10 })
            .entities
            .is_empty());
        let created = write(s, t, user, GraphWrite::CreateEntities(vec![entity("Alice", "other", &[])]));
        assert_eq!(
            created,
            GraphWritten::Entities(vec![entity("Alice", "other", &[])]),
            "names are per user"
        );
    }
    assert_eq!(whole(s, &a, "u1").entities[0].entity_type, "person");
}

/// `read_graph` pages: every entity once, in order, and every relation once (with its `from`
/// entity, else its `to` entity, else on the last page).
pub fn graph_paging(s: &dyn Store) {
    let t = tenant("a");
    let many: Vec<Entity> = (0..7).map(|i| entity(&format!("e{i}"), "thing", &[])).collect();
    write(s, &t, "u", GraphWrite::CreateEntities(many));
    write(
        s,
        &t,
        "u",
        GraphWrite::CreateRelations(vec![
            rel("e0", "e6", "links"),
            rel("e3", "e4", "links"),
            rel("x", "y", "dangling"),
            rel("ghost", "e5", "points_at"),
        ]),
    );
    let mut seen = Vec::new();
    let mut relations = Vec::new();
    let mut cursor = None;
    loop {
        let page = read(s, &t, "u", GraphRead::Page { cursor, limit: 3 });
        assert!(page.entities.len() <= 3);
        seen.extend(page.entities.iter().map(|e| e.name.clone()));
        relations.extend(page.relations);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, (0..7).map(|i| format!("e{i}")).collect::<Vec<_>>());
    let mut want = vec![rel("e0", "e6", "links"), rel("e3", "e4", "links"), rel("x", "y", "dangling")];
    want.push(rel("ghost", "e5", "points_at"));
    let mut got = relations.clone();
    got.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    want.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    assert_eq!(got, want, "every relation on exactly one page");
    assert_eq!(whole(s, &t, "u").relations.len(), 4, "one page holds every relation");

    // A substring search over a graph larger than any internal page: matches in insertion
    // order, across pages, cut at the limit.
    let big: Vec<Entity> = (0..700)
        .map(|i| {
            let obs =
                if i % 100 == 50 { format!("found the Ünïcode NEEDLE {i}") } else { format!("plain {i}") };
            entity(&format!("n{i}"), "thing", &[obs.as_str()])
        })
        .collect();
    write(s, &t, "big", GraphWrite::CreateEntities(big));
    let hits = |limit| read(s, &t, "big", GraphRead::Containing { query: "ünïcode needle".into(), limit });
    let all: Vec<String> = (0..7).map(|k| format!("n{}", k * 100 + 50)).collect();
    assert_eq!(names(&hits(10)), all, "every match, in order");
    assert_eq!(names(&hits(3)), all[..3], "the first `limit` matches");
}

/// Observations are mirrored by memories of the graph's user, which go when they go.
pub fn graph_mirror_memories(s: &dyn Store) {
    let t = tenant("a");
    write(s, &t, "u", GraphWrite::CreateEntities(vec![entity("Alice", "person", &["drinks espresso"])]));
    write(
        s,
        &t,
        "u",
        GraphWrite::AddObservations(vec![ObservationAdd {
            entity_name: "Alice".into(),
            contents: vec!["lives in Lyon".into()],
        }]),
    );
    let list = |s: &dyn Store| {
        let filter = Filter { user_id: Some("u".into()), tags: vec![GRAPH_TAG.into()], ..Filter::default() };
        let page = s.list(&t, &ListQuery { filter, cursor: None, limit: 100 }, base()).expect("list");
        let mut contents: Vec<String> = page.items.iter().map(|m| m.content.clone()).collect();
        contents.sort();
        (contents, page.items)
    };
    let (contents, items) = list(s);
    assert_eq!(contents, ["Alice (person): drinks espresso", "Alice (person): lives in Lyon"]);
    assert!(items.iter().all(|m| m.metadata.get(GRAPH_ENTITY_KEY) == Some(&serde_json::json!("Alice"))));
    write(
        s,
        &t,
        "u",
        GraphWrite::DeleteObservations(vec![ObservationDelete {
            entity_name: "Alice".into(),
            observations: vec!["drinks espresso".into()],
        }]),
    );
    assert_eq!(list(s).0, ["Alice (person): lives in Lyon"]);
    write(s, &t, "u", GraphWrite::DeleteEntities(vec!["Alice".into()]));
    assert!(list(s).0.is_empty(), "an entity's mirror memories go with it");
}
