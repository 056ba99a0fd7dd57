//! End-to-end tests that drive the real `memd` binary over HTTP.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::{free_port, memd, post, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill9_after_acknowledged_writes_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path()).await;
    let client = reqwest::Client::new();
    let base = server.base.clone();
    let mut tasks = Vec::new();
    for w in 0..8 {
        let (c, base) = (client.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..125 {
                let n = w * 125 + i;
                let body = json!({"user_id": format!("user{}", n % 5), "content": format!("durable note number q{n}z about item {n}")});
                let (status, v) = post(&c, format!("{base}/v1/memories"), body).await;
                assert_eq!(status, 201, "{v}");
                acked.push((n, v["id"].as_str().expect("id").to_owned()));
            }
            acked
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.expect("writer"));
    }
    assert_eq!(acked.len(), 1000);
    server.kill9();

    let server = Server::start(dir.path()).await;
    for (n, id) in &acked {
        let body = json!({"query": format!("q{n}z"), "user_id": format!("user{}", n % 5), "mode": "keyword", "top_k": 3});
        let (status, v) = post(&client, format!("{}/v1/search", server.base), body).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["results"][0]["memory"]["id"], id.as_str(), "memory {n} not found after kill -9: {v}");
    }
}

/// Two `memd serve` processes on one data directory (as when an MCP client starts `memd mcp`
/// beside a running server): both start, and each finds the other's writes with its next search.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_on_one_data_directory_see_each_others_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (Server::start(dir.path()).await, Server::start(dir.path()).await);
    let client = reqwest::Client::new();
    let search = |server: &Server, q: &str| {
        let (c, url) = (client.clone(), format!("{}/v1/search", server.base));
        let body = json!({"query": q, "user_id": "u", "mode": "keyword"});
        async move {
            let (status, v) = post(&c, url, body).await;
            assert_eq!(status, 200, "{v}");
            v["results"]
                .as_array()
                .expect("results")
                .iter()
                .map(|r| r["memory"]["id"].clone())
                .collect::<Vec<_>>()
        }
    };
    for (writer, reader, word) in [(&a, &b, "saxophone"), (&b, &a, "harmonica")] {
        assert!(search(reader, word).await.is_empty());
        let body = json!({"user_id": "u", "content": format!("Bob plays the {word} on Sundays")});
        let (status, v) = post(&client, format!("{}/v1/memories", writer.base), body).await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(search(reader, word).await, vec![v["id"].clone()], "{word} written by the other process");
    }
}

/// `/metrics` of the real server, after traffic that touches every subsystem (writes, searches of
/// each mode, an error, MCP), passes `promtool check metrics` (Debian's prometheus package,
/// installed by scripts/ensure-prometheus.sh) with no findings, and carries the process, build,
/// error-code, store and lag metrics the runbooks read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_pass_promtool_lint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path()).await;
    let c = reqwest::Client::new();
    let (status, _) =
        post(&c, format!("{}/v1/memories", server.base), json!({"user_id": "u", "content": "metrics check"}))
            .await;
    assert_eq!(status, 201);
    for mode in ["keyword", "semantic", "hybrid"] {
        let (status, _) = post(
            &c,
            format!("{}/v1/search", server.base),
            json!({"query": "metrics", "user_id": "u", "mode": mode}),
        )
        .await;
        assert_eq!(status, 200);
    }
    let (status, _) =
        post(&c, format!("{}/v1/memories", server.base), json!({"user_id": "u", "content": ""})).await;
    assert_eq!(status, 400);
    // The stored-memories gauge is re-counted at most once a second after writes.
    let stored = "memd_memories_stored{tenant=\"default\"} 1\n";
    let deadline = Instant::now() + Duration::from_secs(5);
    let text = loop {
        let text = c
            .get(format!("{}/metrics", server.base))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        if text.contains(stored) || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for name in [
        "memd_build_info{",
        "memd_process_resident_memory_bytes ",
        "memd_process_cpu_seconds_total ",
        "memd_process_open_fds ",
        "memd_http_errors_total{",
        "memd_store_operation_duration_seconds_bucket{",
        "memd_index_seq_lag{",
        "memd_search_duration_seconds_bucket{",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics:\n{text}");
    }
    assert!(text.contains(r#"code="invalid_content""#), "errors are counted by code");
    assert!(text.contains(stored), "stored memories by tenant:\n{text}");
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (scripts/ensure-prometheus.sh installs it)");
    use std::io::Write as _;
    promtool.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write");
    let out = promtool.wait_with_output().expect("promtool");
    let findings = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && findings.trim().is_empty(), "promtool check metrics: {findings}");
}

fn deploy_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/prometheus")
}

fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool").args(args).current_dir(deploy_dir()).output().expect("promtool");
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    text
}

/// The shipped rules are valid and each fires (and stays quiet) as its unit test expects.
#[test]
fn shipped_alert_rules_pass_promtool_check_and_test() {
    promtool(&["check", "rules", "alerts.yml"]);
    promtool(&["check", "config", "prometheus.yml"]);
    let tested = promtool(&["test", "rules", "alerts_test.yml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
}

/// A real Prometheus (Debian's package) scrapes a running memd with the shipped configuration
/// and rules: the target is up, memd's metrics arrive, and the rule groups are loaded and
/// evaluated with nothing firing on a healthy server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_scrapes_memd_and_evaluates_the_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path()).await;
    let target = server.base.trim_start_matches("http://").to_owned();
    let shipped = std::fs::read_to_string(deploy_dir().join("prometheus.yml")).expect("prometheus.yml");
    let config = shipped
        .replace("127.0.0.1:8420", &target)
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace("evaluation_interval: 15s", "evaluation_interval: 1s");
    std::fs::write(dir.path().join("prometheus.yml"), config).expect("write config");
    std::fs::copy(deploy_dir().join("alerts.yml"), dir.path().join("alerts.yml")).expect("copy rules");
    let port = free_port();
    let mut prometheus = Command::new("prometheus")
        .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("tsdb").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus (scripts/ensure-prometheus.sh installs it)");
    let api = format!("http://127.0.0.1:{port}/api/v1");
    let query = |q: &str| {
        let url = format!("{api}/query?query={q}");
        async move { reqwest::get(url).await.ok()?.json::<Value>().await.ok() }
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let up = query("up%7Bjob%3D%22memd%22%7D").await;
        let build = query("memd_build_info").await;
        let value = |v: &Option<Value>| {
            v.as_ref().and_then(|v| v["data"]["result"][0]["value"][1].as_str().map(str::to_owned))
        };
        if value(&up).as_deref() == Some("1") && value(&build).as_deref() == Some("1") {
            break;
        }
        assert!(Instant::now() < deadline, "prometheus never scraped memd: up={up:?} build={build:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let rules: Value = reqwest::get(format!("{api}/rules")).await.expect("rules").json().await.expect("json");
    let groups = rules["data"]["groups"].as_array().expect("rule groups");
    assert_eq!(groups.len(), 5, "{rules}");
    let firing: Vec<&Value> = groups
        .iter()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .filter(|r| r["state"] == "firing")
        .collect();
    assert!(firing.is_empty(), "a healthy memd fires nothing: {firing:?}");
    // Every query of the shipped Grafana dashboard is valid PromQL over memd's metrics.
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(deploy_dir().join("../grafana/memd-dashboard.json")).expect("dashboard"),
    )
    .expect("dashboard JSON");
    let c = reqwest::Client::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr").replace("$instance", ".*");
            let r: Value = c
                .get(format!("{api}/query"))
                .query(&[("query", expr.as_str())])
                .send()
                .await
                .expect("query")
                .json()
                .await
                .expect("json");
            assert_eq!(r["status"], "success", "{}: {expr}: {r}", panel["title"]);
        }
    }
    let _ = prometheus.kill();
    let _ = prometheus.wait();
}

/// JSON logs (`--log-json`, debug level): every line is a JSON object with a level, request
/// lines carry the request id, and neither memory content nor API keys ever reach the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_request_ids_and_never_content_or_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out =
        memd(&["keys", "create", "--tenant", "acme", "--json"], dir.path()).output().expect("keys create");
    let key =
        serde_json::from_slice::<Value>(&out.stdout).expect("json")["key"].as_str().expect("key").to_owned();
    let log = dir.path().join("memd.log");
    let level =
        ("MEMD_LOG_LEVEL", "memd=debug,memd_core=debug,memd_http=debug,tower_http=debug,info".to_owned());
    let mut server = Server::start_logging(dir.path(), &["--log-json"], &[level], &log).await;
    let base = server.base.clone();
    let c = reqwest::Client::new();
    let secret = "ZEBRA-PASSPORT-4471 is Alice's passport number";
    let r = c
        .post(format!("{base}/v1/memories"))
        .bearer_auth(&key)
        .json(&json!({"user_id": "u", "content": secret}))
        .send()
        .await;
    assert_eq!(r.expect("add").status(), 201);
    let r = c
        .post(format!("{base}/v1/search"))
        .bearer_auth(&key)
        .json(&json!({"query": "ZEBRA-PASSPORT", "user_id": "u"}))
        .send()
        .await;
    assert_eq!(r.expect("search").status(), 200);
    let r = c
        .post(format!("{base}/v1/memories"))
        .bearer_auth("memd_wrong_key_ZEBRA")
        .json(&json!({"content": secret}))
        .send()
        .await;
    assert_eq!(r.expect("refused").status(), 401);
    let _ = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status();
    let _ = server.child.wait();
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(!text.contains("ZEBRA"), "memory content or a key reached the log:\n{text}");
    assert!(!text.contains(&key) && !text.contains(&key[..20]), "an API key reached the log");
    let mut with_request_id = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["level"].is_string(), "no level: {line}");
        if v["span"]["request_id"].is_string() || v["request_id"].is_string() {
            with_request_id += 1;
        }
    }
    assert!(with_request_id > 0, "request-scoped lines carry the request id:\n{text}");
}

#[tokio::test]
async fn cli_config_validate_version_and_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "listen = \"127.0.0.1:9999\"\n[limits]\nmax_tags = 10\n").expect("write");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "listen = \"127.0.0.1:9999\"\nnot_a_key = true\n").expect("write");
    let out = memd(&["config", "validate"], dir.path()).arg(&good).output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = memd(&["config", "validate"], dir.path()).arg(&bad).output().expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not_a_key"));
    let out = memd(&["version"], dir.path()).output().expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("memd "));

    let out = memd(&["keys", "create", "--tenant", "acme", "--json"], dir.path()).output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: Value = serde_json::from_slice(&out.stdout).expect("json");
    let key = created["key"].as_str().expect("key").to_owned();
    let server = Server::start(dir.path()).await;
    let c = reqwest::Client::new();
    let r = c.get(format!("{}/v1/memories", server.base)).send().await.expect("send");
    assert_eq!(r.status(), 401, "a key exists, so local mode is off");
    let r = c.get(format!("{}/v1/memories", server.base)).bearer_auth(&key).send().await.expect("send");
    assert_eq!(r.status(), 200);
    let out = memd(&["keys", "list", "--json"], dir.path()).output().expect("run");
    let listed: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(listed.as_array().expect("array").len(), 1);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&key));
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_drains_and_exits_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path()).await;
    let c = reqwest::Client::new();
    let (status, _) =
        post(&c, format!("{}/v1/memories", server.base), json!({"user_id": "u", "content": "persist me"}))
            .await;
    assert_eq!(status, 201);
    let pid = server.child.id().to_string();
    let ok = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(ok.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = server.child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "memd did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status:?}");
    let server = Server::start(dir.path()).await;
    let (_, v) = post(
        &c,
        format!("{}/v1/search", server.base),
        json!({"query": "persist", "user_id": "u", "mode": "keyword"}),
    )
    .await;
    assert_eq!(v["results"].as_array().map(Vec::len), Some(1), "{v}");
    // The timeline shows the stop and both starts, newest first.
    let events = server.get_json("/api/events").await;
    let kinds: Vec<&str> =
        events["events"].as_array().expect("events").iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds, ["started", "stopped", "started"], "{events}");
    assert!(events["events"][1]["details"]["uptime_s"].is_u64(), "{events}");
}

/// Calls an MCP tool and returns (is_error, structured content).
async fn mcp_call(
    client: &rmcp::service::RunningService<rmcp::RoleClient, ()>,
    tool: &'static str,
    args: Value,
) -> (bool, Value) {
    let Value::Object(args) = args else { panic!("arguments must be an object") };
    let params = rmcp::model::CallToolRequestParams::new(tool).with_arguments(args);
    let r = client.call_tool(params).await.unwrap_or_else(|e| panic!("{tool}: {e}"));
    assert!(!r.content.is_empty(), "{tool}: a tool result carries text for the model");
    (r.is_error == Some(true), r.structured_content.unwrap_or(Value::Null))
}

/// `memd mcp` over stdio with the official Rust SDK's client: the tools are listed, a memory added
/// through MCP is found by meaning, is really stored (a `memd serve` on the same data directory
/// reads it over REST), and is deleted; bad input is a tool error with the REST error code.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mcp_over_stdio_with_the_official_rust_client() {
    use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
    use rmcp::ServiceExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_path_buf();
    let start = || {
        let cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_memd")).configure(|c| {
            c.arg("mcp").arg("--data-dir").arg(&data).env("MEMD_LOG_LEVEL", "warn");
        });
        ().serve(TokioChildProcess::new(cmd).expect("spawn memd mcp"))
    };
    // Clients may start the server twice at once on one directory: both must come up.
    let (client, second) = tokio::join!(start(), start());
    let (client, second) = (client.expect("initialize"), second.expect("initialize the second"));
    let info = client.peer_info().expect("server info");
    assert_eq!(info.server_info.as_ref().map(|s| s.name.as_str()), Some("memd"));
    let listed = client.list_all_tools().await.expect("tools/list");
    for t in &listed {
        let schema = serde_json::to_string(&t.input_schema).expect("schema");
        assert!(
            !schema.contains("\"null\""),
            "{}: a portable schema has no null alternatives: {schema}",
            t.name
        );
    }
    let tools: Vec<String> = listed.into_iter().map(|t| t.name.to_string()).collect();
    for want in [
        "add_memory",
        "search_memories",
        "get_memory",
        "list_memories",
        "update_memory",
        "delete_memory",
        "memory_history",
        "promote",
        "list_tags",
        "memd_status",
    ] {
        assert!(tools.iter().any(|t| t == want), "{want} missing from {tools:?}");
    }

    let (err, added) = mcp_call(
        &client,
        "add_memory",
        json!({"content": "Alice has an espresso every day at 7am", "tags": ["coffee"]}),
    )
    .await;
    assert!(!err, "{added}");
    let id = added["id"].as_str().expect("id").to_owned();
    assert_eq!(added["user_id"], "default");
    let deadline = Instant::now() + Duration::from_secs(60);
    while mcp_call(&client, "memd_status", json!({})).await.1["embed_pending"] != 0 {
        assert!(Instant::now() < deadline, "not embedded in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let query = json!({"query": "What does she drink when she wakes up?", "mode": "semantic"});
    let (err, found) = mcp_call(&client, "search_memories", query).await;
    assert!(!err, "{found}");
    assert_eq!(found["results"][0]["memory"]["id"], id.as_str(), "{found}");

    let (err, seen) =
        mcp_call(&second, "search_memories", json!({"query": "espresso", "mode": "keyword"})).await;
    assert!(!err, "{seen}");
    assert_eq!(seen["results"][0]["memory"]["id"], id.as_str(), "the second process sees the first's write");
    second.cancel().await.expect("close the second session");

    let server = Server::start(dir.path()).await;
    let rest = reqwest::get(format!("{}/v1/memories/{id}", server.base)).await.expect("get");
    assert_eq!(rest.status(), 200, "stored, and visible to a server on the same data directory");

    let (err, bad) = mcp_call(&client, "get_memory", json!({"id": "not-a-uuid"})).await;
    assert!(err, "{bad}");
    assert_eq!(bad["error"]["code"], "invalid_id");
    let (err, empty) = mcp_call(&client, "add_memory", json!({"content": "  "})).await;
    assert!(err, "{empty}");
    assert_eq!(empty["error"]["code"], "invalid_content", "the REST API's code for empty content");

    let (err, _) = mcp_call(&client, "delete_memory", json!({"id": id})).await;
    assert!(!err);
    let rest = reqwest::get(format!("{}/v1/memories/{id}", server.base)).await.expect("get");
    assert_eq!(rest.status(), 404, "deleted through MCP");
    let (err, gone) = mcp_call(&client, "get_memory", json!({"id": id})).await;
    assert!(err);
    assert_eq!(gone["error"]["code"], "not_found");
    client.cancel().await.expect("close the session");
}
