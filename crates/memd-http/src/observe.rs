//! Request observation: the Prometheus recorder, per-route-template request metrics, and the
//! request-id/tenant span every log line of a request carries.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::error::ErrorName;
use crate::state::AppState;

pub const HTTP_REQUESTS_TOTAL: &str = "memd_http_requests_total";
pub const HTTP_REQUEST_SECONDS: &str = "memd_http_request_duration_seconds";
pub const HTTP_IN_FLIGHT: &str = "memd_http_requests_in_flight";
pub const HTTP_ERRORS_TOTAL: &str = "memd_http_errors_total";
pub const HTTP_REJECTED_TOTAL: &str = "memd_http_rejected_total";
pub const INDEX_SEQ_LAG: &str = "memd_index_seq_lag";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// A handle that renders nothing, with no recorder installed: every `metrics::` call of the
/// process is a no-op (`observe.metrics = false`).
pub fn metrics_off() -> PrometheusHandle {
    PrometheusBuilder::new().build_recorder().handle()
}

/// The process-wide recorder (installed on first use; later calls share it).
pub fn metrics_handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_seconds".into()),
                    memd_core::metrics::LATENCY_BUCKETS,
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Suffix("_batch_size".into()),
                        memd_core::metrics::BATCH_BUCKETS,
                    )
                });
            let handle = match builder.and_then(|b| b.install_recorder()) {
                Ok(h) => h,
                // Another recorder is installed (embedding memd in a host app): render ours unused.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            };
            describe();
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    memd_core::metrics::describe();
    describe_counter!(HTTP_REQUESTS_TOTAL, "HTTP requests by route template, method and status.");
    describe_histogram!(
        HTTP_REQUEST_SECONDS,
        Unit::Seconds,
        "HTTP request latency by route template and method."
    );
    describe_gauge!(HTTP_IN_FLIGHT, "HTTP requests being served.");
    describe_counter!(HTTP_ERRORS_TOTAL, "Error responses by route template and stable error code.");
    describe_counter!(
        HTTP_REJECTED_TOTAL,
        "Requests refused before routing by reason (overloaded: concurrency limit; timeout)."
    );
    describe_counter!(
        memd_mcp::TOOL_CALLS_TOTAL,
        "MCP tool calls by tool and outcome (ok, tool_error, error, overloaded)."
    );
    describe_histogram!(
        memd_mcp::TOOL_CALL_SECONDS,
        Unit::Seconds,
        "MCP tool call latency by tool (HTTP and stdio)."
    );
    describe_counter!(
        crate::alerting::notify::NOTIFICATIONS_TOTAL,
        "Alert notification attempts by outcome (delivered, retried, failed)."
    );
    describe_gauge!(INDEX_SEQ_LAG, "Change-log entries committed but not yet applied, by index.");
    describe_gauge!(crate::routes::mcp::MCP_SESSIONS, "Open MCP sessions on /mcp (Streamable HTTP).");
}

/// The method as a label: the standard methods, every other token as `OTHER` (any token is a
/// valid method, and unauthenticated clients must not be able to mint label values).
fn method_label(m: &axum::http::Method) -> &'static str {
    const KNOWN: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
    KNOWN.into_iter().find(|k| *k == m.as_str()).unwrap_or("OTHER")
}

/// Records count and latency labelled by the matched route template, never the raw path, in
/// the Prometheus metrics and in the performance history.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(req.method()).to_owned();
    let started = Instant::now();
    metrics::gauge!(HTTP_IN_FLIGHT).increment(1.0);
    let resp = next.run(req).await;
    metrics::gauge!(HTTP_IN_FLIGHT).decrement(1.0);
    if let Some(ErrorName(code)) = resp.extensions().get::<ErrorName>() {
        metrics::counter!(HTTP_ERRORS_TOTAL, "route" => route.clone(), "code" => *code).increment(1);
    }
    let elapsed = started.elapsed();
    state.service.perf().request(&route, resp.status().is_server_error(), elapsed);
    let status = resp.status().as_u16().to_string();
    metrics::histogram!(HTTP_REQUEST_SECONDS, "route" => route.clone(), "method" => method.clone())
        .record(elapsed.as_secs_f64());
    metrics::counter!(HTTP_REQUESTS_TOTAL, "route" => route, "method" => method, "status" => status)
        .increment(1);
    resp
}
