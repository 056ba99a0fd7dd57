//! A thin HTTP client for memd's REST API: base URL, optional API key, whole-body reads (so a
//! measured latency includes receiving the full answer).

use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;

/// A finished exchange: the status and the raw body.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_slice(&self.body).context("the server answered with invalid JSON")
    }

    /// The body as JSON when the status is 2xx, an error naming the status otherwise.
    pub fn into_json(self, what: &str) -> anyhow::Result<Value> {
        if !self.ok() {
            bail!("{what}: HTTP {} {}", self.status, String::from_utf8_lossy(&self.body));
        }
        self.json()
    }
}

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    key: Option<String>,
}

impl Api {
    pub fn new(url: &str, key: Option<String>, pool: usize) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(pool.max(1))
            .timeout(Duration::from_secs(120))
            .tcp_nodelay(true)
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Api { http, base: url.trim_end_matches('/').to_owned(), key })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.key {
            Some(k) => rb.bearer_auth(k),
            None => rb,
        }
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> Result<Reply, reqwest::Error> {
        let resp = self.auth(rb).send().await?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await?.to_vec();
        Ok(Reply { status, body })
    }

    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Reply, reqwest::Error> {
        self.send(self.http.get(format!("{}{path}", self.base)).query(query)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Reply, reqwest::Error> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body)).await
    }

    /// `GET /metrics` and the value of one unlabelled gauge or counter.
    pub async fn metric(&self, name: &str) -> anyhow::Result<Option<f64>> {
        let r = self.get("/metrics", &[]).await.context("GET /metrics")?;
        if !r.ok() {
            bail!("GET /metrics: HTTP {}", r.status);
        }
        Ok(parse_metric(&String::from_utf8_lossy(&r.body), name))
    }
}

/// The value of `name` in a Prometheus text exposition (first unlabelled sample).
pub fn parse_metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The ids of the memories in a `{memories: [...]}` answer.
pub fn memory_ids(v: &Value) -> Vec<String> {
    v["memories"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_gauge_in_prometheus_text() {
        let text = "# HELP memd_embed_pending x\n# TYPE memd_embed_pending gauge\n\
                    memd_embed_pending_total 9\nmemd_embed_pending 42\n";
        assert_eq!(parse_metric(text, "memd_embed_pending"), Some(42.0));
        assert_eq!(parse_metric(text, "memd_nothing"), None);
    }

    #[test]
    fn extracts_ids() {
        let v = serde_json::json!({"memories": [{"id": "a"}, {"id": "b"}]});
        assert_eq!(memory_ids(&v), vec!["a", "b"]);
    }
}
