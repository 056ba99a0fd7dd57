//! memd-http is the HTTP transport: REST API v1, the admin API, health, Prometheus metrics,
//! the OpenAPI document and MCP over Streamable HTTP at `/mcp` (memd-mcp's service, behind the
//! same authentication and bounds). Handlers only extract, call one `MemoryService` function and map the
//! result; the middleware stack bounds every request (body size, concurrency with load shedding,
//! timeout) and gives it a request id.

pub mod alerting;
mod datadir;
mod dto;
pub mod error;
mod extract;
pub mod observe;
pub mod openapi;
pub mod process;
pub mod reload;
mod routes;
pub mod state;

use std::future::Future;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use axum::{middleware, BoxError, Router};
use memd_core::ServiceError;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use error::ApiError;
pub use state::{AppState, Phase};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The full application router.
pub fn router(state: AppState) -> Router {
    let limits = state.service.config().limits.clone();
    let mut api = Router::new()
        .route(
            "/v1/memories",
            post(routes::memories::create)
                .get(routes::memories::list)
                .delete(routes::memories::delete_scoped),
        )
        .route("/v1/memories/batch", post(routes::memories::create_batch))
        .route(
            "/v1/memories/{id}",
            get(routes::memories::get).patch(routes::memories::patch).delete(routes::memories::delete),
        )
        .route("/v1/memories/{id}/history", get(routes::memories::history))
        .route("/v1/search", post(routes::search::search))
        .route("/v1/promote", get(routes::search::promote))
        .route("/v1/tags", get(routes::search::tags))
        .route("/admin/tenants/{tenant}/keys", post(routes::admin::create_key))
        .route("/admin/keys", get(routes::admin::list_keys))
        .route("/admin/keys/{id}", delete(routes::admin::revoke_key))
        .route("/health", get(routes::health::live))
        .route("/health/ready", get(routes::health::ready))
        .route("/metrics", get(routes::health::metrics))
        .route("/api/health", get(routes::ops::health))
        .route("/api/status", get(routes::ops::status))
        .route("/api/metrics", get(routes::ops::metrics))
        .route("/api/events", get(routes::ops::events))
        .route("/api/performance", get(routes::ops::performance))
        .route("/api/alerts", get(routes::alerts::status))
        .route("/api/alerts/reload", post(routes::alerts::reload))
        .route("/api/config/reload", post(routes::ops::reload_config))
        .route("/api/alerts/silences", post(routes::alerts::create_silence))
        .route("/api/alerts/silences/{id}", delete(routes::alerts::delete_silence))
        .route("/openapi.json", get(openapi::openapi_json));
    if state.mcp.is_some() {
        api = api.route("/mcp", any(routes::mcp::endpoint));
    }
    let api = api
        .route_layer(middleware::from_fn_with_state(state.clone(), observe::track))
        .fallback(not_found)
        .with_state(state);
    let bounded = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(overloaded))
        .load_shed()
        .concurrency_limit(limits.max_concurrency)
        .timeout(Duration::from_millis(limits.request_timeout_ms));
    api.layer(DefaultBodyLimit::max(limits.max_body_bytes)).layer(bounded).layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                tracing::info_span!(
                    "request",
                    method = %req.method(),
                    path = %req.uri().path(),
                    request_id = %id,
                    tenant = tracing::field::Empty,
                )
            }))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(CatchPanicLayer::custom(|_| {
                ApiError(ServiceError::Internal("handler panicked".into())).into_response()
            })),
    )
}

async fn not_found() -> ApiError {
    ApiError(ServiceError::NotFound)
}

async fn overloaded(err: BoxError) -> Response {
    let (msg, reason) = if err.is::<tower::timeout::error::Elapsed>() {
        ("request timed out", "timeout")
    } else if err.is::<tower::load_shed::error::Overloaded>() {
        ("server overloaded; retry shortly", "overloaded")
    } else {
        ("service unavailable", "other")
    };
    metrics::counter!(observe::HTTP_REJECTED_TOTAL, "reason" => reason).increment(1);
    let mut resp = ApiError(ServiceError::Unavailable(msg.into())).into_response();
    if resp.status() == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
    }
    resp
}

/// Serves until `shutdown` resolves, then stops accepting and drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    state.set_phase(Phase::Ready);
    let alerting = state.alerts.clone().map(|a| tokio::spawn(alerting::run(state.clone(), a)));
    let st = state.clone();
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            st.set_phase(Phase::Draining);
            st.shutdown.cancel();
            tracing::info!(event = "draining", "shutdown requested: draining in-flight requests");
        })
        .await;
    if let Some(task) = alerting {
        task.abort();
    }
    served
}
