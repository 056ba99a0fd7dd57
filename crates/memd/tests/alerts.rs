//! The built-in alert engine against the real binary: with a deliberately slow embedder (an
//! OpenAI-compatible endpoint served by the test that answers after a delay the test controls),
//! a search-latency rule goes pending, fires, and resolves once the embedder is fast again —
//! each transition exactly once, as an event, in `/api/alerts` and as one grouped notification to
//! each webhook (a flaky one is retried); a silence keeps a firing alert quiet; rules reload
//! without a restart; silences outlive a restart; and health follows a provider that fails.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use parking_lot::Mutex;
use serde_json::{json, Value};

use common::Server;

const RULES: &str = r#"
groups:
  - name: test
    rules:
      - alert: SearchSlow
        expr: histogram_quantile(0.95, sum by (le) (rate(memd_http_request_duration_seconds_bucket{route="/v1/search"}[3s]))) > 0.1
        for: 1s
        labels: {severity: error, sev: SEV-2}
        annotations: {summary: "search p95 {{ $value | humanizeDuration }}"}
"#;

/// An embeddings endpoint answering 8-dimensional vectors after `delay_ms`, or HTTP 500 while
/// `delay_ms` is `u64::MAX` (a broken provider).
async fn slow_embedder(delay_ms: Arc<AtomicU64>) -> String {
    let app = Router::new().route(
        "/v1/embeddings",
        post(move |Json(body): Json<Value>| {
            let delay = delay_ms.load(Ordering::Relaxed);
            async move {
                if delay == u64::MAX {
                    return Err(StatusCode::INTERNAL_SERVER_ERROR);
                }
                tokio::time::sleep(Duration::from_millis(delay)).await;
                let n = body["input"].as_array().map_or(1, Vec::len);
                let data: Vec<Value> = (0..n)
                    .map(|i| json!({"index": i, "embedding": [1.0, 0.5, 0.25, i as f64 + 1.0, 0.0, 0.1, 0.2, 0.3]}))
                    .collect();
                Ok(Json(json!({"data": data, "model": "slow"})))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// Received notifications by path; `/flaky` refuses its first attempt of each notification.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(String, Value)>>>,
    flaky_attempts: Arc<AtomicU64>,
}

async fn webhook_receiver() -> (String, Receiver) {
    let r = Receiver::default();
    let app = Router::new()
        .route(
            "/{path}",
            post(|State(r): State<Receiver>, Path(path): Path<String>, Json(body): Json<Value>| async move {
                if path == "flaky" && r.flaky_attempts.fetch_add(1, Ordering::SeqCst) % 2 == 0 {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                r.got.lock().push((path, body));
                StatusCode::OK
            }),
        )
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), r)
}

async fn alerts(c: &reqwest::Client, base: &str) -> Value {
    c.get(format!("{base}/api/alerts")).send().await.expect("alerts").json().await.expect("json")
}

/// Searches with new texts (no cache) until `until` says stop, or panics after `timeout`.
async fn search_until(
    c: &reqwest::Client,
    base: &str,
    what: &str,
    timeout: Duration,
    until: impl Fn(&Value) -> bool,
) {
    let deadline = Instant::now() + timeout;
    for n in 0u64.. {
        let q = json!({"query": format!("{what} question {n}"), "user_id": "u", "mode": "semantic"});
        let r = c.post(format!("{base}/v1/search")).json(&q).send().await.expect("search");
        assert_eq!(r.status(), 200);
        if n % 4 == 0 && until(&alerts(c, base).await) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: condition not reached: {}", alerts(c, base).await);
    }
}

fn rule_state(v: &Value) -> String {
    v["rules"][0]["state"].as_str().unwrap_or("").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_embedder_fires_the_latency_alert_which_resolves_when_it_recovers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, RULES).expect("rules");
    let delay = Arc::new(AtomicU64::new(150));
    let embedder = slow_embedder(delay.clone()).await;
    let (hooks, received) = webhook_receiver().await;
    let env = [
        (
            "MEMD_ALERTS_WEBHOOKS",
            format!("[{{url=\"{hooks}/json\"}}, {{url=\"{hooks}/slack\", format=\"slack\"}}, {{url=\"{hooks}/flaky\"}}]"),
        ),
        ("MEMD_EMBED_PROVIDER", "openai".to_owned()),
        ("MEMD_EMBED_OPENAI_BASE_URL", embedder),
        ("MEMD_EMBED_OPENAI_MODEL", "slow".to_owned()),
        ("MEMD_EMBED_OPENAI_DIM", "8".to_owned()),
        ("MEMD_ALERTS_RULES_FILE", rules.display().to_string()),
        ("MEMD_ALERTS_EVAL_INTERVAL_MS", "250".to_owned()),
    ];
    let server = Server::start_with_env(dir.path(), &env).await;
    let c = reqwest::Client::new();
    let r = c
        .post(format!("{}/v1/memories", server.base))
        .json(&json!({"user_id": "u", "content": "hello"}))
        .send()
        .await;
    assert_eq!(r.expect("add").status(), 201);
    assert_eq!(rule_state(&alerts(&c, &server.base).await), "inactive");

    search_until(&c, &server.base, "slow", Duration::from_secs(30), |v| rule_state(v) == "firing").await;
    let firing = alerts(&c, &server.base).await;
    assert_eq!(firing["summary"]["firing"], 1, "{firing}");
    assert_eq!(firing["active"][0]["labels"]["severity"], "error");
    assert!(
        firing["active"][0]["annotations"]["summary"].as_str().is_some_and(|s| s.starts_with("search p95 ")),
        "{firing}"
    );

    delay.store(0, Ordering::Relaxed);
    search_until(&c, &server.base, "fast", Duration::from_secs(30), |v| rule_state(v) == "inactive").await;
    // Let a few more evaluations pass: a condition that stays resolved is not reported again.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let events = server.get_json("/api/events").await;
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .filter(|k| k.starts_with("alert_"))
        .collect();
    assert_eq!(kinds, ["alert_resolved", "alert_firing"], "exactly one event per transition: {events}");
    let history = alerts(&c, &server.base).await["history"].as_array().map(Vec::len);
    assert_eq!(history, Some(2));

    // One grouped notification per transition and webhook; the flaky one got them on retry.
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.got.lock().len() < 6 {
        assert!(Instant::now() < deadline, "notifications: {:?}", received.got.lock());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = received.got.lock().clone();
    let statuses = |path: &str| -> Vec<String> {
        got.iter()
            .filter(|(p, _)| p == path)
            .map(|(_, b)| b["status"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(statuses("json"), ["firing", "resolved"], "{got:?}");
    assert_eq!(statuses("flaky"), ["firing", "resolved"], "{got:?}");
    let json_body = &got.iter().find(|(p, _)| p == "json").expect("json").1;
    assert_eq!(json_body["groupLabels"]["alertname"], "SearchSlow");
    assert_eq!(json_body["alerts"][0]["labels"]["severity"], "error");
    let slack: Vec<&str> =
        got.iter().filter(|(p, _)| p == "slack").filter_map(|(_, b)| b["text"].as_str()).collect();
    assert_eq!(slack.len(), 2, "{got:?}");
    assert!(
        slack[0].starts_with("[FIRING] SearchSlow (error)") && slack[1].starts_with("[RESOLVED]"),
        "{slack:?}"
    );
    assert!(received.flaky_attempts.load(Ordering::SeqCst) >= 4, "each flaky delivery was retried");

    // A silence keeps a firing alert quiet: shown and recorded, not notified.
    let silence = json!({"matchers": {"alertname": "SearchSlow"}, "duration_s": 600, "comment": "load test"});
    let r =
        c.post(format!("{}/api/alerts/silences", server.base)).json(&silence).send().await.expect("silence");
    assert_eq!(r.status(), 201);
    let silence_id = r.json::<Value>().await.expect("json")["id"].as_i64().expect("id");
    delay.store(150, Ordering::Relaxed);
    search_until(&c, &server.base, "silenced", Duration::from_secs(30), |v| rule_state(v) == "firing").await;
    let v = alerts(&c, &server.base).await;
    assert_eq!(v["active"][0]["silenced"], true, "{v}");
    assert_eq!(v["silences"].as_array().map(Vec::len), Some(1));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(received.got.lock().len(), 6, "nothing sent while silenced");
    // The silence ends while the alert still fires: now it is notified, once per webhook.
    let r = c
        .delete(format!("{}/api/alerts/silences/{silence_id}", server.base))
        .send()
        .await
        .expect("unsilence");
    assert_eq!(r.status(), 204);
    search_until(&c, &server.base, "still slow", Duration::from_secs(30), |_| received.got.lock().len() >= 9)
        .await;
    let late: Vec<String> = received.got.lock()[6..]
        .iter()
        .filter(|(p, _)| p == "json")
        .map(|(_, b)| b["status"].to_string())
        .collect();
    assert_eq!(late, ["\"firing\""], "{:?}", received.got.lock());
    delay.store(0, Ordering::Relaxed);

    // Reload without a restart: a file with no rules leaves none.
    std::fs::write(&rules, "groups: []\n").expect("rules");
    let r = c.post(format!("{}/api/alerts/reload", server.base)).send().await.expect("reload");
    assert_eq!(r.status(), 200);
    assert_eq!(alerts(&c, &server.base).await["rules"].as_array().map(Vec::len), Some(0));
    std::fs::write(&rules, "groups: [{name: x, rules: [{alert: Bad, expr: 'avg(x) > 1'}]}]\n")
        .expect("rules");
    let r = c.post(format!("{}/api/alerts/reload", server.base)).send().await.expect("reload");
    assert_eq!(r.status(), 200, "a rule outside the subset loads, reported as not evaluated");
    let v = alerts(&c, &server.base).await;
    assert_eq!(v["rules"][0]["evaluated"], false, "{v}");
    assert!(v["rules"][0]["not_evaluated_because"].as_str().is_some_and(|w| w.contains("avg")), "{v}");
}

/// A maintenance window outlives a restart; a deleted one stays deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silences_outlive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = reqwest::Client::new();
    let server = Server::start(dir.path()).await;
    let window = json!({"duration_s": 3600, "comment": "upgrade"});
    let r =
        c.post(format!("{}/api/alerts/silences", server.base)).json(&window).send().await.expect("create");
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.expect("json")["id"].as_i64().expect("id");
    let bad = json!({"duration_s": 10, "ends_at": "2030-01-01T00:00:00Z"});
    let r = c.post(format!("{}/api/alerts/silences", server.base)).json(&bad).send().await.expect("create");
    assert_eq!(r.status(), 400, "exactly one of duration_s and ends_at");
    drop(server);

    let server = Server::start(dir.path()).await;
    let silences = |v: Value| v["silences"].as_array().cloned().unwrap_or_default();
    let listed = silences(alerts(&c, &server.base).await);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["comment"], "upgrade");
    let r = c.delete(format!("{}/api/alerts/silences/{id}", server.base)).send().await.expect("delete");
    assert_eq!(r.status(), 204);
    let r = c.delete(format!("{}/api/alerts/silences/{id}", server.base)).send().await.expect("delete");
    assert_eq!(r.status(), 404);
    drop(server);

    let server = Server::start(dir.path()).await;
    assert!(silences(alerts(&c, &server.base).await).is_empty());
}

/// Health follows a broken component: an embedding provider that fails makes the embedder
/// degraded, then unhealthy (search still answers from keywords), and healthy again after it
/// recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_follows_a_failing_embedder_and_its_recovery() {
    let dir = tempfile::tempdir().expect("tempdir");
    let delay = Arc::new(AtomicU64::new(u64::MAX));
    let embedder = slow_embedder(delay.clone()).await;
    let env = [
        ("MEMD_EMBED_PROVIDER", "openai".to_owned()),
        ("MEMD_EMBED_OPENAI_BASE_URL", embedder),
        ("MEMD_EMBED_OPENAI_MODEL", "slow".to_owned()),
        ("MEMD_EMBED_OPENAI_DIM", "8".to_owned()),
    ];
    let server = Server::start_with_env(dir.path(), &env).await;
    let c = reqwest::Client::new();
    let health = || async {
        let v = server.get_json("/api/health").await;
        let embedder =
            v["components"].as_array().and_then(|cs| cs.iter().find(|c| c["name"] == "embedder").cloned());
        (v, embedder.expect("embedder component")["status"].as_str().unwrap_or("").to_owned())
    };
    let r = c
        .post(format!("{}/v1/memories", server.base))
        .json(&json!({"user_id": "u", "content": "kiwi"}))
        .send()
        .await;
    assert_eq!(r.expect("add").status(), 201, "writes are accepted while the embedder is down");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (v, status) = health().await;
        if status == "unhealthy" {
            assert!(v["score"].as_f64().expect("score") < 1.0);
            assert_ne!(v["status"], "critical", "keyword search still serves");
            break;
        }
        assert!(Instant::now() < deadline, "embedder never turned unhealthy: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = c
        .post(format!("{}/v1/search", server.base))
        .json(&json!({"query": "kiwi", "user_id": "u", "mode": "keyword"}))
        .send()
        .await;
    assert_eq!(r.expect("search").status(), 200);
    delay.store(0, Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(60);
    while health().await.1 != "healthy" {
        assert!(Instant::now() < deadline, "embedder never recovered: {}", health().await.0);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
