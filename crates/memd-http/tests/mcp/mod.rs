//! MCP over Streamable HTTP at `/mcp`, in process: the same keys and tenancy as REST (checked on
//! every request, not once per session), DNS-rebinding checks, and the session limit. The real
//! clients (Python SDK, Inspector, conformance suite) drive it in crates/memd/tests.

use serde_json::{json, Value};

use crate::fixture::{App, Resp};

const LOCAL_HOST: (&str, &str) = ("host", "127.0.0.1:8420");
const ACCEPT: (&str, &str) = ("accept", "application/json, text/event-stream");

/// A client of `/mcp` sending one key's `Authorization`.
struct Client<'a> {
    app: &'a App,
    auth: Option<String>,
}

impl Client<'_> {
    async fn post(&self, session: Option<&str>, extra: &[(&str, &str)], msg: Value) -> Resp {
        let mut headers = vec![LOCAL_HOST, ACCEPT, ("mcp-protocol-version", "2025-06-18")];
        if let Some(a) = &self.auth {
            headers.push(("authorization", a));
        }
        if let Some(s) = session {
            headers.push(("mcp-session-id", s));
        }
        headers.extend_from_slice(extra);
        self.app.send_with("POST", "/mcp", &headers, Some(msg.to_string().into_bytes())).await
    }

    /// `initialize` + `initialized`; returns the session id.
    async fn open(&self) -> String {
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "memd-test", "version": "1"}}});
        let r = self.post(None, &[], init).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let session =
            r.headers.get("mcp-session-id").expect("session id").to_str().expect("ascii").to_owned();
        let done = self
            .post(Some(&session), &[], json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        assert_eq!(done.status, 202, "{}", done.body);
        session
    }

    /// A tool call's JSON-RPC result (or error) from the SSE answer.
    async fn call(&self, session: &str, tool: &str, args: Value) -> Value {
        let msg = json!({"jsonrpc": "2.0", "id": "c", "method": "tools/call",
            "params": {"name": tool, "arguments": args}});
        let r = self.post(Some(session), &[], msg).await;
        assert_eq!(r.status, 200, "{}", r.body);
        sse_answer(&r.body)
    }
}

/// The JSON-RPC answer among the `data:` lines of an SSE body.
fn sse_answer(body: &Value) -> Value {
    let text = body.as_str().expect("an SSE stream");
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|v| v.get("id").is_some())
        .unwrap_or_else(|| panic!("no JSON-RPC answer in {text}"))
}

async fn key(app: &App, tenant: &str) -> String {
    let r =
        app.admin_post(&format!("/admin/tenants/{tenant}/keys"), json!({"scopes": ["read", "write"]})).await;
    r.ok(201).body["key"].as_str().expect("key").to_owned()
}

#[tokio::test]
async fn mcp_requests_are_authenticated_like_rest_on_every_request() {
    let app = App::with_admin().await;
    let (key_a, key_b) = (key(&app, "acme").await, key(&app, "other").await);
    let anonymous = Client { app: &app, auth: None };
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}});
    let r = anonymous.post(None, &[], init).await.err(401, "unauthorized");
    assert_eq!(r.headers.get("www-authenticate").map(|v| v.to_str().expect("ascii")), Some("Bearer"));

    let a = Client { app: &app, auth: Some(format!("Bearer {key_a}")) };
    let session = a.open().await;
    let added = a
        .call(&session, "add_memory", json!({"content": "acme launch is on Friday", "user_id": "bob"}))
        .await;
    let id = added["result"]["structuredContent"]["id"].as_str().expect("id").to_owned();
    let got = app.with_key(&key_a).get(&format!("/v1/memories/{id}")).await.ok(200);
    assert_eq!(got.body["content"], "acme launch is on Friday", "stored, and readable over REST");

    // The session id alone grants nothing: each request acts with its own key.
    let b = Client { app: &app, auth: Some(format!("Bearer {key_b}")) };
    let stolen = b.call(&session, "get_memory", json!({"id": id})).await;
    assert_eq!(stolen["result"]["isError"], true, "{stolen}");
    assert_eq!(stolen["result"]["structuredContent"]["error"]["code"], "not_found");
    anonymous
        .post(Some(&session), &[], json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        .await
        .err(401, "unauthorized");
}

#[tokio::test]
async fn foreign_hosts_and_origins_are_refused() {
    let app = App::local().await;
    let c = Client { app: &app, auth: None };
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    let r = app
        .send_with(
            "POST",
            "/mcp",
            &[("host", "evil.example.com"), ACCEPT],
            Some(ping.to_string().into_bytes()),
        )
        .await;
    assert_eq!(r.status, 403, "DNS rebinding: {}", r.body);
    let r = c.post(None, &[("origin", "http://evil.example.com")], ping.clone()).await;
    assert_eq!(r.status, 403, "foreign origin: {}", r.body);
    // A local browser origin (an MCP inspector page on localhost) is fine.
    c.post(None, &[("origin", "http://localhost:6274")], json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}))
        .await
        .ok(200);
}

#[tokio::test]
async fn sessions_are_bounded() {
    let app = App::build(|c| c.mcp.max_sessions = 1).await;
    let c = Client { app: &app, auth: None };
    let first = c.open().await;
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let r = c.post(None, &[], init).await.err(503, "unavailable");
    assert!(r.headers.contains_key("retry-after"));
    // A stateless request (protocol 2026-07-28) opens no session: the cap does not apply.
    let ping = json!({"jsonrpc": "2.0", "id": 9, "method": "ping"});
    let headers = [LOCAL_HOST, ACCEPT, ("mcp-protocol-version", "2026-07-28")];
    let r = app.send_with("POST", "/mcp", &headers, Some(ping.to_string().into_bytes())).await;
    assert_ne!(r.status, 503, "{}", r.body);
    // The open session keeps working.
    let status = c.call(&first, "memd_status", json!({})).await;
    assert_eq!(status["result"]["structuredContent"]["tenant"], "default", "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_session_opens_never_overshoot_the_limit() {
    let app = App::build(|c| c.mcp.max_sessions = 3).await;
    let c = Client { app: &app, auth: None };
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let opens = (0..12).map(|_| c.post(None, &[], init.clone()));
    let statuses: Vec<u16> = futures::future::join_all(opens).await.into_iter().map(|r| r.status).collect();
    let opened = statuses.iter().filter(|s| **s == 200).count();
    // An opening in progress counts until it is answered, even once its session exists, so a
    // burst may be refused a little early (503 + Retry-After) but never admitted past the limit.
    assert!((1..=3).contains(&opened), "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 503), "{statuses:?}");
    // Once the burst is answered, the sessions fill up to exactly the limit.
    let mut more = 0;
    while c.post(None, &[], init.clone()).await.status == 200 {
        more += 1;
        assert!(opened + more <= 3, "past the limit");
    }
    assert_eq!(opened + more, 3);
}

#[tokio::test]
async fn knowledge_graph_tools_store_entities_searchable_by_meaning() {
    let app = App::local().await;
    let c = Client { app: &app, auth: None };
    let s = c.open().await;
    let created = c
        .call(
            &s,
            "create_entities",
            json!({"entities": [
            {"name": "Alice", "entityType": "person", "observations": ["drinks an espresso every morning"]},
            {"name": "Lyon", "entityType": "city", "observations": []}]}),
        )
        .await;
    assert_eq!(created["result"]["structuredContent"]["entities"].as_array().expect("array").len(), 2);
    c.call(
        &s,
        "create_relations",
        json!({"relations": [{"from": "Alice", "to": "Lyon", "relationType": "lives_in"}]}),
    )
    .await;
    app.wait_embedded().await;
    let found = c
        .call(&s, "search_nodes", json!({"query": "what coffee does she have at dawn?", "mode": "hybrid"}))
        .await;
    let g = &found["result"]["structuredContent"];
    assert_eq!(g["entities"][0]["name"], "Alice", "{found}");
    assert_eq!(g["relations"], json!([{"from": "Alice", "to": "Lyon", "relationType": "lives_in"}]));
    // The observation is a memory too, found by the memory tools.
    let hits = c.call(&s, "search_memories", json!({"query": "espresso", "mode": "keyword"})).await;
    assert_eq!(
        hits["result"]["structuredContent"]["results"][0]["memory"]["content"],
        "Alice (person): drinks an espresso every morning"
    );
    let missing = c
        .call(&s, "add_observations", json!({"observations": [{"entityName": "Bob", "contents": ["x"]}]}))
        .await;
    assert_eq!(missing["result"]["isError"], true, "{missing}");
    let page = c.call(&s, "read_graph", json!({"limit": 1})).await;
    let g = &page["result"]["structuredContent"];
    assert_eq!(g["entities"].as_array().expect("array").len(), 1);
    let next = g["next_cursor"].as_str().expect("a next page").to_owned();
    let rest = c.call(&s, "read_graph", json!({"limit": 1, "cursor": next})).await;
    assert_eq!(rest["result"]["structuredContent"]["entities"][0]["name"], "Lyon");
}

#[tokio::test]
async fn resources_show_recent_memories_and_prompts_guide_memory_use() {
    let app = App::local().await;
    let c = Client { app: &app, auth: None };
    let s = c.open().await;
    c.call(&s, "add_memory", json!({"content": "Alice is vegetarian"})).await;
    c.call(&s, "add_memory", json!({"content": "Alice moved to Lyon in May", "user_id": "alice"})).await;
    let rpc = |id: u32, method: &str, params: Value| json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    let list = sse_answer(&c.post(Some(&s), &[], rpc(2, "resources/list", json!({}))).await.body);
    let uris: Vec<&str> = list["result"]["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["uri"].as_str())
        .collect();
    assert_eq!(uris, ["memd://memories/recent", "memd://graph"]);
    let read = |uri: &str| rpc(3, "resources/read", json!({"uri": uri}));
    let own = sse_answer(&c.post(Some(&s), &[], read("memd://memories/recent")).await.body);
    let text = own["result"]["contents"][0]["text"].as_str().expect("text");
    assert!(text.contains("Alice is vegetarian") && !text.contains("Lyon"), "{text}");
    let other = sse_answer(&c.post(Some(&s), &[], read("memd://users/alice/memories/recent")).await.body);
    assert!(other["result"]["contents"][0]["text"].as_str().expect("text").contains("Lyon"), "{other}");
    let missing = sse_answer(&c.post(Some(&s), &[], read("memd://nothing")).await.body);
    assert!(missing["error"]["code"].as_i64().is_some(), "{missing}");

    let prompts = sse_answer(&c.post(Some(&s), &[], rpc(4, "prompts/list", json!({}))).await.body);
    let names: Vec<&str> = prompts["result"]["prompts"]
        .as_array()
        .expect("prompts")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(names.contains(&"remember") && names.contains(&"recall"), "{prompts}");
    let got = sse_answer(
        &c.post(
            Some(&s),
            &[],
            rpc(5, "prompts/get", json!({"name": "recall", "arguments": {"topic": "dinner plans"}})),
        )
        .await
        .body,
    );
    let text = got["result"]["messages"][0]["content"]["text"].as_str().expect("text");
    assert!(text.contains("dinner plans") && text.contains("search_memories"), "{text}");
}
