//! OpenAiEmbedder against a local stand-in server: request shape, ordering, normalisation,
//! dimension handling and error mapping.

use std::time::Duration;

use memd_embed::{EmbedError, Embedder, OpenAiEmbedder};
use serde_json::json;

use crate::stub_server::{Reply, StubServer};

const KEY: &str = "sk-test-SECRET-1234";

fn embeddings(items: &[(usize, Vec<f32>)]) -> String {
    let data: Vec<_> =
        items.iter().map(|(i, v)| json!({"object": "embedding", "index": i, "embedding": v})).collect();
    json!({"object": "list", "data": data, "model": "m"}).to_string()
}

fn embedder(base: &str, dim: Option<usize>) -> OpenAiEmbedder {
    OpenAiEmbedder::new(base, "text-embed-small", Some(KEY.into()), dim, Duration::from_secs(5)).expect("new")
}

fn provider_message(err: EmbedError) -> String {
    match err {
        EmbedError::Provider(m) => {
            assert!(!m.contains(KEY), "api key leaked: {m}");
            m
        }
        other => panic!("expected a provider error, got {other:?}"),
    }
}

#[test]
fn request_shape_order_and_normalisation() {
    let body = embeddings(&[(1, vec![0.0, 2.0]), (0, vec![3.0, 4.0])]);
    let server = StubServer::start(vec![Reply::json(200, body)]);
    let e = embedder(&format!("{}/v1/", server.base), None);
    assert_eq!(e.model_id(), "openai:text-embed-small");
    let v = e.embed(&["first", "second"]).expect("embed");
    assert_eq!(v, vec![vec![0.6, 0.8], vec![0.0, 1.0]]);
    assert_eq!(e.dim(), 2, "dimension learned from the first answer");
    let req = &server.recorded()[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/v1/embeddings");
    assert_eq!(req.headers["authorization"], format!("Bearer {KEY}"));
    assert!(req.headers["content-type"].starts_with("application/json"));
    assert_eq!(req.body, json!({"model": "text-embed-small", "input": ["first", "second"]}));
}

#[test]
fn no_key_no_auth_header() {
    let server = StubServer::start(vec![Reply::json(200, embeddings(&[(0, vec![1.0])]))]);
    let e = OpenAiEmbedder::new(&server.base, "m", None, None, Duration::from_secs(5)).expect("new");
    e.embed(&["x"]).expect("embed");
    assert!(!server.recorded()[0].headers.contains_key("authorization"));
}

#[test]
fn connect_probes_the_dimension() {
    let server = StubServer::start(vec![Reply::json(200, embeddings(&[(0, vec![1.0; 5])]))]);
    let e = OpenAiEmbedder::connect(&server.base, "m", None, None, Duration::from_secs(5)).expect("connect");
    assert_eq!(e.dim(), 5);
}

#[test]
fn configured_dimension_is_enforced() {
    let server = StubServer::start(vec![Reply::json(200, embeddings(&[(0, vec![1.0; 3])]))]);
    let e = embedder(&server.base, Some(4));
    let msg = provider_message(e.embed(&["x"]).expect_err("wrong dim"));
    assert!(msg.contains("3 dimensions, expected 4"), "{msg}");
}

#[test]
fn http_500_is_a_provider_error() {
    let body = json!({"error": {"message": format!("boom, key {KEY} rejected")}}).to_string();
    let server = StubServer::start(vec![Reply::json(500, body)]);
    let msg = provider_message(embedder(&server.base, None).embed(&["x"]).expect_err("500"));
    assert!(msg.contains("HTTP 500") && msg.contains("boom"), "{msg}");
}

#[test]
fn malformed_json_is_a_provider_error() {
    let server = StubServer::start(vec![Reply::json(200, "{\"data\": [oops")]);
    let msg = provider_message(embedder(&server.base, None).embed(&["x"]).expect_err("json"));
    assert!(msg.contains("malformed response"), "{msg}");
}

#[test]
fn wrong_count_and_bad_index_are_errors() {
    let server = StubServer::start(vec![
        Reply::json(200, embeddings(&[(0, vec![1.0])])),
        Reply::json(200, embeddings(&[(0, vec![1.0]), (0, vec![1.0])])),
    ]);
    let e = embedder(&server.base, None);
    let msg = provider_message(e.embed(&["a", "b"]).expect_err("count"));
    assert!(msg.contains("asked for 2 embeddings, got 1"), "{msg}");
    let msg = provider_message(e.embed(&["a", "b"]).expect_err("index"));
    assert!(msg.contains("index 0"), "{msg}");
}

#[test]
fn timeout_is_a_provider_error() {
    let mut slow = Reply::json(200, embeddings(&[(0, vec![1.0])]));
    slow.delay = Duration::from_millis(1500);
    let server = StubServer::start(vec![slow]);
    let e = OpenAiEmbedder::new(&server.base, "m", Some(KEY.into()), None, Duration::from_millis(200))
        .expect("new");
    let started = std::time::Instant::now();
    let msg = provider_message(e.embed(&["x"]).expect_err("timeout"));
    assert!(started.elapsed() < Duration::from_millis(1200), "timed out late");
    assert!(msg.to_lowercase().contains("timeout"), "{msg}");
}

#[test]
fn connection_refused_is_a_provider_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let e = embedder(&format!("http://127.0.0.1:{port}"), None);
    provider_message(e.embed(&["x"]).expect_err("refused"));
}

#[test]
fn empty_input_makes_no_request() {
    let e = embedder("http://127.0.0.1:9", None);
    assert!(e.embed(&[]).expect("empty").is_empty());
}
