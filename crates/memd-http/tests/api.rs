//! REST API tests over the real service (SQLite in a temp dir, the real embedding model),
//! driven in-process through the router.

mod fixture;
mod mcp;

use fixture::{App, Resp};
use serde_json::{json, Value};

fn ids(v: &Value) -> Vec<String> {
    v["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|h| h["memory"]["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn walkthrough_two_users_see_only_their_own_memories() {
    let app = App::local().await;
    let alice = [
        "Alice has an espresso every day at 7am",
        "Alice is allergic to peanuts",
        "Alice works as a nurse in Lisbon",
    ];
    let bob = [
        "Bob drinks green tea in the morning",
        "Bob is training for a marathon",
        "Bob works as a nurse in Porto",
    ];
    for c in alice {
        app.post("/v1/memories", json!({"user_id": "alice", "content": c})).await.ok(201);
    }
    let batch: Vec<Value> = bob.iter().map(|c| json!({"user_id": "bob", "content": c})).collect();
    app.post("/v1/memories/batch", json!({"memories": batch})).await.ok(201);
    app.wait_embedded().await;

    for mode in ["hybrid", "keyword", "semantic"] {
        let r = app
            .post("/v1/search", json!({"query": "works as a nurse", "user_id": "alice", "mode": mode}))
            .await
            .ok(200);
        let results = r.body["results"].as_array().expect("array");
        assert!(!results.is_empty(), "{mode}: {}", r.body);
        assert!(results.iter().all(|h| h["memory"]["user_id"] == "alice"), "{mode} leaked: {}", r.body);
    }
    let r = app
        .post("/v1/search", json!({"query": "What does she drink when she wakes up?", "user_id": "alice", "mode": "semantic", "top_k": 1}))
        .await
        .ok(200);
    assert_eq!(r.body["results"][0]["memory"]["content"], alice[0], "{}", r.body);
    let r = app
        .post(
            "/v1/search",
            json!({"query": "What does she drink when she wakes up?", "user_id": "alice", "top_k": 1}),
        )
        .await
        .ok(200);
    assert_eq!(r.body["results"][0]["memory"]["content"], alice[0], "hybrid: {}", r.body);
    assert_eq!(r.body["degraded"], false);
    let hit = &r.body["results"][0];
    assert!(hit["scores"]["semantic"].as_f64().expect("semantic score") > 0.3, "{hit}");
}

#[tokio::test]
async fn keyword_search_finds_a_write_at_once() {
    let app = App::local().await;
    let m =
        app.post("/v1/memories", json!({"user_id": "u", "content": "zanzibar octopus recipe"})).await.ok(201);
    let r =
        app.post("/v1/search", json!({"query": "octopus", "user_id": "u", "mode": "keyword"})).await.ok(200);
    assert_eq!(ids(&r.body), vec![m.body["id"].as_str().expect("id").to_owned()]);
}

#[tokio::test]
async fn crud_history_and_pagination() {
    let app = App::local().await;
    let m = app
        .post(
            "/v1/memories",
            json!({"user_id": "u", "content": "first", "tags": ["a", "b"], "metadata": {"k": "v"}}),
        )
        .await
        .ok(201);
    let id = m.body["id"].as_str().expect("id").to_owned();
    assert_eq!(m.body["version"], 1);
    let p =
        app.patch(&format!("/v1/memories/{id}"), json!({"content": "second", "tags": ["c"]})).await.ok(200);
    assert_eq!(p.body["version"], 2);
    assert_eq!(p.body["content"], "second");
    assert_eq!(p.body["metadata"]["k"], "v");
    app.get(&format!("/v1/memories/{id}")).await.ok(200);
    app.delete(&format!("/v1/memories/{id}")).await.ok(204);
    app.get(&format!("/v1/memories/{id}")).await.err(404, "not_found");
    let h = app.get(&format!("/v1/memories/{id}/history")).await.ok(200);
    let events: Vec<&str> =
        h.body.as_array().expect("array").iter().map(|e| e["event"].as_str().expect("event")).collect();
    assert_eq!(events, ["ADD", "UPDATE", "DELETE"]);
    assert_eq!(h.body[1]["old_content"], "first");
    assert_eq!(h.body[1]["new_content"], "second");

    let batch: Vec<Value> = (0..25)
        .map(|i| json!({"user_id": "p", "content": format!("item {i}"), "tags": [format!("t{}", i % 3)]}))
        .collect();
    app.post("/v1/memories/batch", json!({"memories": batch})).await.ok(201);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("/v1/memories?user_id=p&limit=10&cursor={c}"),
            None => "/v1/memories?user_id=p&limit=10".to_owned(),
        };
        let page = app.get(&q).await.ok(200);
        for m in page.body["memories"].as_array().expect("array") {
            seen.push(m["content"].as_str().expect("content").to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
    assert_eq!(seen[0], "item 24", "newest first");
    let tagged = app.get("/v1/memories?user_id=p&tags=t0,t1&limit=100").await.ok(200);
    assert_eq!(tagged.body["memories"].as_array().expect("array").len(), 17);
    let tags = app.get("/v1/tags?user_id=p").await.ok(200);
    assert_eq!(tags.body["tags"].as_array().expect("array").len(), 3);
    let d = app.delete("/v1/memories?user_id=p").await.ok(200);
    assert_eq!(d.body["deleted"], 25);
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_stored() {
    let app = App::local().await;
    let deep = (0..12).fold(json!(1), |acc, _| json!({ "k": acc }));
    let cases = [
        (json!({"user_id": "u", "content": ""}), 400, "invalid_content"),
        (json!({"user_id": "u", "content": "   "}), 400, "invalid_content"),
        (json!({"user_id": "u", "content": "x".repeat(64 * 1024 + 1)}), 413, "payload_too_large"),
        (json!({"user_id": "u", "content": "ok", "colour": "red"}), 400, "unknown_field"),
        (
            json!({"user_id": "u", "content": "ok", "tags": (0..101).map(|i| i.to_string()).collect::<Vec<_>>()}),
            400,
            "too_many_tags",
        ),
        (json!({"user_id": "u", "content": "ok", "tags": ["fine", "bad\u{1}"]}), 400, "invalid_tag"),
        (json!({"user_id": "u", "content": "ok", "metadata": deep}), 400, "metadata_too_deep"),
        (json!({"user_id": "u\n", "content": "ok"}), 400, "invalid_id"),
        (json!({"user_id": "u", "content": "ok", "event_time": "yesterday"}), 400, "invalid_body"),
    ];
    for (body, status, code) in cases {
        app.post("/v1/memories", body).await.err(status, code);
    }
    app.post_raw("/v1/memories", b"{\"user_id\": \"u\", \"content\": ".to_vec())
        .await
        .err(400, "invalid_json");
    app.post_raw("/v1/memories", b"{\"user_id\": \"u\", \"content\": \"\xff\xfe\"}".to_vec())
        .await
        .err(400, "invalid_json");
    let batch = json!({"memories": [{"user_id": "u", "content": "good"}, {"user_id": "u", "content": ""}]});
    app.post("/v1/memories/batch", batch).await.err(400, "invalid_content");
    app.get("/v1/memories/0190b3a4-0000-7000-8000-000000000000").await.err(404, "not_found");
    app.get("/v1/memories/not-a-uuid").await.err(404, "not_found");
    app.delete("/v1/memories").await.err(400, "scope_required");
    app.post("/v1/search", json!({"query": "", "user_id": "u"})).await.err(400, "invalid_query");
    app.post("/v1/search", json!({"query": "x", "top_k": 0})).await.err(400, "invalid_top_k");
    let all = app.get("/v1/memories?limit=1000").await.ok(200);
    assert_eq!(all.body["memories"].as_array().expect("array").len(), 0, "nothing stored: {}", all.body);
}

#[tokio::test]
async fn expired_memories_are_never_returned() {
    let app = App::local().await;
    let past = "2000-01-01T00:00:00Z";
    let m = app
        .post("/v1/memories", json!({"user_id": "u", "content": "ephemeral walrus", "expires_at": past}))
        .await
        .ok(201);
    let id = m.body["id"].as_str().expect("id");
    app.get(&format!("/v1/memories/{id}")).await.err(404, "not_found");
    let l = app.get("/v1/memories?user_id=u").await.ok(200);
    assert_eq!(l.body["memories"].as_array().expect("array").len(), 0);
    let s =
        app.post("/v1/search", json!({"query": "walrus", "user_id": "u", "mode": "keyword"})).await.ok(200);
    assert_eq!(s.body["results"].as_array().expect("array").len(), 0);
}

#[tokio::test]
async fn keys_tenants_scopes_and_user_binding() {
    let app = App::with_admin().await;
    app.post("/admin/tenants/acme/keys", json!({"scopes": ["read"]})).await.err(401, "unauthorized");
    let a = app.admin_post("/admin/tenants/acme/keys", json!({"scopes": ["read", "write"]})).await.ok(201);
    let key_a = a.body["key"].as_str().expect("key").to_owned();
    let b = app.admin_post("/admin/tenants/other/keys", json!({"scopes": ["read", "write"]})).await.ok(201);
    let key_b = b.body["key"].as_str().expect("key").to_owned();
    let ro = app.admin_post("/admin/tenants/acme/keys", json!({"scopes": ["read"]})).await.ok(201);
    let key_ro = ro.body["key"].as_str().expect("key").to_owned();
    let bound = app
        .admin_post("/admin/tenants/acme/keys", json!({"scopes": ["read", "write"], "user_id": "alice"}))
        .await
        .ok(201);
    let key_bound = bound.body["key"].as_str().expect("key").to_owned();

    // Keys exist now: no more local mode.
    app.post("/v1/memories", json!({"user_id": "u", "content": "x"})).await.err(401, "unauthorized");
    app.with_key("memd_wrong")
        .post("/v1/memories", json!({"user_id": "u", "content": "x"}))
        .await
        .err(401, "unauthorized");
    let m = app
        .with_key(&key_a)
        .post("/v1/memories", json!({"user_id": "bob", "content": "acme secret plan"}))
        .await
        .ok(201);
    let id = m.body["id"].as_str().expect("id").to_owned();
    // Token scheme (mem0 clients) works too.
    app.with_header("Token ".to_owned() + &key_a).get(&format!("/v1/memories/{id}")).await.ok(200);
    // Another tenant cannot see it: 404, not 403.
    let other = app.with_key(&key_b);
    other.get(&format!("/v1/memories/{id}")).await.err(404, "not_found");
    other.delete(&format!("/v1/memories/{id}")).await.err(404, "not_found");
    other.patch(&format!("/v1/memories/{id}"), json!({"content": "hijack"})).await.err(404, "not_found");
    other.get(&format!("/v1/memories/{id}/history")).await.err(404, "not_found");
    let s = other.post("/v1/search", json!({"query": "secret plan", "mode": "keyword"})).await.ok(200);
    assert_eq!(s.body["results"].as_array().expect("array").len(), 0);
    // Read-only key cannot write.
    app.with_key(&key_ro)
        .post("/v1/memories", json!({"user_id": "u", "content": "x"}))
        .await
        .err(403, "forbidden");
    app.with_key(&key_ro).get(&format!("/v1/memories/{id}")).await.ok(200);
    // A key bound to alice cannot read bob's memory or write as bob.
    let alice = app.with_key(&key_bound);
    alice.get(&format!("/v1/memories/{id}")).await.err(404, "not_found");
    alice.post("/v1/memories", json!({"user_id": "bob", "content": "x"})).await.err(403, "forbidden");
    let own = alice.post("/v1/memories", json!({"content": "alice note"})).await.ok(201);
    assert_eq!(own.body["user_id"], "alice");
    let keys = app.admin_get("/admin/keys?tenant=acme").await.ok(200);
    assert_eq!(keys.body["keys"].as_array().expect("array").len(), 3);
    assert!(!keys.body.to_string().contains(&key_a), "secrets never listed");
    let kid = a.body["id"].as_str().expect("id");
    app.admin_delete(&format!("/admin/keys/{kid}")).await.ok(204);
    app.with_key(&key_a).get(&format!("/v1/memories/{id}")).await.err(401, "unauthorized");
}

#[tokio::test]
async fn promote_uses_goal_tags_and_neighbours() {
    let app = App::local().await;
    let items = [
        ("Prefers window seats on flights", vec!["travel", "flights"]),
        ("Gets airsick on small planes", vec!["flights", "health"]),
        ("Vegetarian since 2015", vec!["food", "health"]),
        ("Likes hiking in the Alps", vec!["travel", "sport"]),
    ];
    for (c, tags) in items {
        app.post("/v1/memories", json!({"user_id": "u", "content": c, "tags": tags})).await.ok(201);
    }
    app.wait_embedded().await;
    let r = app.get("/v1/promote?user_id=u&tags=travel&k=10&neighbours=false").await.ok(200);
    assert_eq!(r.body["memories"].as_array().expect("array").len(), 2, "{}", r.body);
    let r = app.get("/v1/promote?user_id=u&tags=travel&k=10").await.ok(200);
    let tags: Vec<&str> =
        r.body["tags"].as_array().expect("array").iter().map(|t| t.as_str().expect("tag")).collect();
    assert!(tags.contains(&"flights") && tags.contains(&"sport"), "{tags:?}");
    assert_eq!(r.body["memories"].as_array().expect("array").len(), 3, "{}", r.body);
    let r = app
        .get("/v1/promote?user_id=u&goal=book%20a%20plane%20ticket&tags=flights&k=1&neighbours=false")
        .await
        .ok(200);
    let first = r.body["memories"][0]["memory"]["content"].as_str().expect("content");
    assert!(first.contains("plane") || first.contains("flights"), "{}", r.body);
}

#[tokio::test]
async fn ops_endpoints() {
    let app = App::local().await;
    app.get("/health").await.ok(200);
    let r = app.get("/health/ready").await.ok(200);
    assert_eq!(r.body["status"], "ready");
    let m = app.post("/v1/memories", json!({"user_id": "u", "content": "metrics please"})).await.ok(201);
    let id = m.body["id"].as_str().expect("id");
    app.get(&format!("/v1/memories/{id}")).await.ok(200);
    let text = app.get_text("/metrics").await;
    assert!(text.contains("memd_embed_pending"), "{text}");
    // One memory written: the lexical index holds it at once; no tenant is near the ANN threshold.
    assert!(text.lines().any(|l| l == "memd_index_lexical_docs 1"), "{text}");
    assert!(text.lines().any(|l| l == "memd_index_background_jobs 0"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("memd_index_vectors ")), "{text}");
    assert!(text.contains("route=\"/v1/memories/{id}\""), "route template label missing");
    assert!(!text.contains(id), "raw ids must never be labels");
    let spec = app.get("/openapi.json").await.ok(200);
    assert!(spec.body["openapi"].as_str().expect("version").starts_with("3.1"));
    for p in
        ["/v1/memories", "/v1/memories/{id}", "/v1/search", "/v1/promote", "/admin/tenants/{tenant}/keys"]
    {
        assert!(spec.body["paths"].get(p).is_some(), "{p} missing from OpenAPI");
    }
    let r = app.get("/nope").await;
    assert_eq!(r.status, 404);
    let Resp { headers, .. } = app.get("/health").await;
    assert!(headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn ops_api_health_status_and_metrics_as_json() {
    let app = App::build(|c| c.admin_token = Some(fixture::ADMIN.into())).await;
    let h = app.get("/api/health").await.ok(200);
    let names: Vec<&str> = h.body["components"]
        .as_array()
        .expect("components")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    for want in ["store", "lexical_index", "vector_index", "embedder", "disk", "memory"] {
        assert!(names.contains(&want), "{want} missing: {}", h.body);
    }
    let score = h.body["score"].as_f64().expect("score");
    assert!((0.0..=1.0).contains(&score), "{}", h.body);
    assert_eq!(h.body["phase"], "ready");

    let s = app.get("/api/status").await.ok(200);
    assert_eq!(s.body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(s.body["settings"]["admin_token"], "<redacted>", "secrets are never shown");
    assert!(!s.body.to_string().contains(fixture::ADMIN));
    assert_eq!(s.body["flags"]["mcp_http"], true);
    assert!(s.body["embedder"].as_str().is_some_and(|m| m.starts_with("all-MiniLM-L6-v2")), "{}", s.body);

    app.get("/v1/memories/00000000-0000-0000-0000-000000000000").await.err(404, "not_found");
    let m = app.get("/api/metrics").await.ok(200);
    assert!(m.body["timestamp"].as_str().is_some());
    let families = &m.body["metrics"];
    assert_eq!(families["memd_build_info"]["samples"][0]["value"], 1.0);
    assert_eq!(families["memd_http_request_duration_seconds"]["type"], "histogram");
    let errors = families["memd_http_errors_total"]["samples"].as_array().expect("errors counted");
    assert!(
        errors
            .iter()
            .any(|e| e["labels"]["code"] == "not_found" && e["labels"]["route"] == "/v1/memories/{id}"),
        "{errors:?}"
    );
}

#[tokio::test]
async fn health_is_degraded_without_semantic_search() {
    let app = App::build(|c| c.embed.provider = memd_core::config::EmbedProvider::None).await;
    let h = app.get("/api/health").await.ok(200);
    let embedder = h.body["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["name"] == "embedder")
        .cloned();
    assert_eq!(embedder.expect("embedder component")["status"], "degraded");
    assert!(matches!(h.body["status"].as_str(), Some("degraded" | "unhealthy")), "{}", h.body);
    assert!(h.body["score"].as_f64().expect("score") < 1.0);
}

#[tokio::test]
async fn events_are_for_operators_newest_first_with_filters() {
    use memd_store::events::Severity;
    let app = App::with_admin().await;
    for (kind, n) in [("started", 1), ("alert_firing", 2), ("alert_resolved", 3)] {
        app.service.record_event(kind, Severity::Warning, json!({"n": n})).await;
    }
    // Local mode (no keys yet): an operator.
    let all = app.get("/api/events").await.ok(200);
    let kinds: Vec<&str> =
        all.body["events"].as_array().expect("events").iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds, ["alert_resolved", "alert_firing", "started"]);
    let one = app.get("/api/events?type=alert_firing").await.ok(200);
    assert_eq!(one.body["events"][0]["details"]["n"], 2);
    assert_eq!(one.body["events"][0]["severity"], "warning");
    let page = app.get("/api/events?limit=2").await.ok(200);
    let cursor = page.body["next_cursor"].as_str().expect("next page").to_owned();
    let rest = app.get(&format!("/api/events?limit=2&cursor={cursor}")).await.ok(200);
    assert_eq!(rest.body["events"][0]["type"], "started");
    app.get("/api/events?limit=0").await.err(400, "invalid_limit");
    app.get("/api/events?since=yesterday").await.err(400, "invalid_query_params");

    // Once keys exist, only the admin token reads the timeline.
    let key = app.admin_post("/admin/tenants/acme/keys", json!({"scopes": ["read", "write"]})).await.ok(201);
    let key = key.body["key"].as_str().expect("key").to_owned();
    app.get("/api/events").await.err(401, "unauthorized");
    app.with_key(&key).get("/api/events").await.err(401, "unauthorized");
    app.admin_get("/api/events").await.ok(200);
}

#[tokio::test]
async fn performance_reports_routes_cache_and_baselines_across_a_flush() {
    let app = App::local().await;
    for i in 0..5 {
        app.post("/v1/memories", json!({"user_id": "u", "content": format!("note {i} about the garden")}))
            .await
            .ok(201);
    }
    for _ in 0..3 {
        app.post("/v1/search", json!({"query": "garden", "user_id": "u", "mode": "keyword"})).await.ok(200);
    }
    let before = app.get("/api/performance?hours=1").await.ok(200);
    let add = &before.body["routes"]["/v1/memories"];
    assert_eq!(add["requests"], 5, "{}", before.body);
    assert_eq!(add["errors"], 0);
    assert!(add["p95_ms"].as_f64().is_some_and(|p| p > 0.0), "{}", before.body);
    assert_eq!(before.body["routes"]["/v1/search"]["requests"], 3);
    // Same query three times: one miss, then two hits.
    assert_eq!(before.body["cache"], json!({"lookups": 3, "hits": 2, "hit_rate": 0.6667}));
    assert!(before.body["baselines"]["trailing_24h"]["requests"].as_u64().is_some_and(|n| n >= 8));
    assert_eq!(before.body["baselines"]["same_hours_last_7d"]["requests"], 0);

    // Moving finished minutes into the store neither loses nor double-counts them.
    app.service.flush_perf().await.expect("flush");
    let after = app.get("/api/performance?hours=1").await.ok(200);
    assert_eq!(after.body["routes"]["/v1/memories"]["requests"], 5, "{}", after.body);
    let long = app.get("/api/performance?hours=48").await.ok(200);
    assert!(long.body["baselines"]["same_hours_last_7d"].is_null(), "no overlapping daily windows");
    app.get("/api/performance?hours=0").await.err(400, "invalid_hours");
    app.get("/api/performance?hours=1000").await.err(400, "invalid_hours");
}

#[tokio::test]
async fn with_observability_off_nothing_is_recorded_for_performance() {
    let app = App::build(|c| c.observe.metrics = false).await;
    app.post("/v1/memories", json!({"user_id": "u", "content": "quiet"})).await.ok(201);
    let p = app.get("/api/performance?hours=1").await.ok(200);
    assert_eq!(p.body["overall"]["requests"], 0, "{}", p.body);
}
