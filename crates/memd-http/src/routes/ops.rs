//! The operations API: `/api/health` (components, overall status and 0–1 score),
//! `/api/status` (version, uptime, the settings and flags in effect) and `/api/metrics` (the
//! Prometheus metrics as JSON with a timestamp) are unauthenticated like `/health` and
//! `/metrics` and never show secrets; `/api/events` (the operational timeline) is for operators:
//! the admin token, or local mode.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use serde_json::{json, Value};

use chrono::DateTime;
use memd_store::events::EventQuery;
use serde::Deserialize;

use crate::error::ApiError;
use crate::extract::{ApiQuery, Operator};
use crate::routes::health::{blocks_serving, components, overall};
use crate::state::{AppState, Phase};

fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Starting => "starting",
        Phase::Ready => "ready",
        Phase::Draining => "draining",
    }
}

fn uptime_s(s: &AppState) -> i64 {
    (Utc::now() - s.service.started_at()).num_seconds()
}

/// Components, the worst status among them and the mean score; 503 exactly when
/// `/health/ready` is.
pub async fn health(State(s): State<AppState>) -> (StatusCode, Json<Value>) {
    let components = components(&s).await;
    let (status, score) = overall(&components);
    let serving = s.phase() == Phase::Ready && !blocks_serving(&components);
    let code = if serving { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({
        "status": status,
        "score": score,
        "phase": phase_name(s.phase()),
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": uptime_s(&s),
        "components": components,
    });
    (code, Json(body))
}

/// Version, uptime, and the configuration and flags in effect.
pub async fn status(State(s): State<AppState>) -> Json<Value> {
    let cfg = s.service.config();
    let indexer = s.service.indexer();
    let (lexical_seq, vector_seq) = indexer.applied();
    let local_mode = s.service.auth().local_mode().unwrap_or(false);
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "started_at": s.service.started_at(),
        "uptime_s": uptime_s(&s),
        "phase": phase_name(s.phase()),
        "flags": {
            "local_mode": local_mode,
            "mcp_http": s.mcp.is_some(),
            "admin_api": cfg.admin_token.is_some(),
            "semantic_search": s.service.embedder().is_some(),
        },
        "embedder": s.service.embedder().map(|e| e.model_id().to_owned()),
        "embedder_error": s.service.embedder_error(),
        "index": {
            "vectors": indexer.vector().len(),
            "lexical_docs": indexer.lexical().num_docs(),
            "lexical_seq": lexical_seq,
            "vector_seq": vector_seq,
            "background_jobs": indexer.vector().background_jobs(),
            "embed_pending": s.service.embed_pending(),
        },
        "settings": cfg.redacted(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsParams {
    #[serde(rename = "type")]
    kind: Option<String>,
    since: Option<DateTime<Utc>>,
    limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// `GET /api/events?type=&since=&limit=&cursor=`: events newest first.
pub async fn events(
    _: Operator,
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<EventsParams>,
) -> Result<Json<Value>, ApiError> {
    let before_id = match p.cursor.as_deref().map(str::parse::<i64>).transpose() {
        Ok(c) => c,
        Err(_) => {
            return Err(ApiError(memd_core::ServiceError::invalid(
                "invalid_cursor",
                "cursor is not a next_cursor",
            )))
        }
    };
    let limit = p.limit.unwrap_or(100);
    let q = EventQuery { kind: p.kind, since: p.since, before_id, limit };
    let events = s.service.events(q).await?;
    let next_cursor = (events.len() == limit).then(|| events.last().map(|e| e.id.to_string())).flatten();
    Ok(Json(json!({"events": events, "next_cursor": next_cursor})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerformanceParams {
    hours: Option<u32>,
}

/// `GET /api/performance?hours=N` (default 1): percentiles, error rate, throughput and cache hit
/// rate per route over the last N hours, with baselines.
pub async fn performance(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<PerformanceParams>,
) -> Result<Json<memd_core::perf::PerformanceReport>, ApiError> {
    Ok(Json(s.service.performance(p.hours.unwrap_or(1)).await?))
}

/// The metrics of `/metrics` as JSON: families with type, help and samples.
pub async fn metrics(State(s): State<AppState>) -> Json<Value> {
    let mut text = s.metrics.render();
    text.push_str(&crate::process::render());
    Json(json!({"timestamp": Utc::now(), "metrics": parse_exposition(&text)}))
}

/// Parses Prometheus text exposition into `{family: {type, help, samples: [{name, labels, value}]}}`.
/// Histogram and summary samples (`_bucket`, `_sum`, `_count`) belong to their family.
pub fn parse_exposition(text: &str) -> BTreeMap<String, Value> {
    let mut families: BTreeMap<String, Value> = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            family(&mut families, name)["help"] = json!(help);
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            family(&mut families, name)["type"] = json!(kind);
        } else if !line.starts_with('#') {
            if let Some((name, labels, value)) = memd_alerts::series::parse_sample(line) {
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|suffix| name.strip_suffix(suffix).filter(|b| families.contains_key(*b)))
                    .unwrap_or(name)
                    .to_owned();
                let samples = &mut family(&mut families, &base)["samples"];
                if let Value::Array(v) = samples {
                    v.push(json!({"name": name, "labels": labels, "value": value}));
                }
            }
        }
    }
    families
}

fn family<'a>(families: &'a mut BTreeMap<String, Value>, name: &str) -> &'a mut Value {
    families.entry(name.to_owned()).or_insert_with(|| json!({"type": "untyped", "help": "", "samples": []}))
}

/// Reloads the configuration (as SIGHUP does): the settings applied, those that need a restart,
/// and problems; 400 `invalid_config` (nothing changed) when the configuration does not validate.
pub async fn reload_config(
    _: Operator,
    State(s): State<AppState>,
) -> Result<Json<memd_core::ReloadReport>, ApiError> {
    Ok(Json(crate::reload::reload(&s).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_becomes_families_with_samples() {
        let text = "# HELP memd_x_total Things.\n# TYPE memd_x_total counter\n\
            memd_x_total{route=\"/v1/search\",code=\"a \\\"b\\\"\"} 3\n\
            # TYPE memd_h_seconds histogram\nmemd_h_seconds_bucket{le=\"+Inf\"} 2\nmemd_h_seconds_sum 0.5\n\
            memd_h_seconds_count 2\nmemd_plain 1.5\n";
        let f = parse_exposition(text);
        assert_eq!(f["memd_x_total"]["type"], "counter");
        assert_eq!(f["memd_x_total"]["help"], "Things.");
        let s = &f["memd_x_total"]["samples"][0];
        assert_eq!(s["labels"]["code"], "a \"b\"");
        assert_eq!(s["labels"]["route"], "/v1/search");
        assert_eq!(s["value"], 3.0);
        assert_eq!(f["memd_h_seconds"]["samples"].as_array().map(Vec::len), Some(3));
        assert_eq!(f["memd_plain"]["samples"][0]["value"], 1.5);
    }
}
