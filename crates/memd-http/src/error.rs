//! The one place service errors and request-parsing rejections become HTTP responses:
//! `{"error": {"code", "message"}}` with the status of [`ErrorCode::http_status`].

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use memd_core::{ErrorCode, ServiceError};
use serde::Serialize;
use utoipa::ToSchema;

/// An error answer.
#[derive(Debug)]
pub struct ApiError(pub ServiceError);

/// The stable code of an error response, left in the response's extensions for the metrics
/// middleware (`memd_http_errors_total{code}`).
#[derive(Clone, Copy, Debug)]
pub struct ErrorName(pub &'static str);

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code, e.g. `invalid_content`, `not_found`, `payload_too_large`.
    pub code: String,
    pub message: String,
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.0.code();
        if let ServiceError::Internal(detail) = &self.0 {
            tracing::error!(event = "internal_error", error_type = "internal", error = %detail);
        }
        let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            error: ErrorDetail { code: code.name().to_owned(), message: self.0.public_message() },
        };
        let mut resp = (status, Json(body)).into_response();
        resp.extensions_mut().insert(ErrorName(code.name()));
        match code {
            ErrorCode::Unauthorized => {
                resp.headers_mut().insert("www-authenticate", HeaderValue::from_static("Bearer"));
            }
            // Every 503 is worth retrying; say when (callers may set a more precise value).
            ErrorCode::Unavailable => {
                resp.headers_mut().insert("retry-after", HeaderValue::from_static("5"));
            }
            ErrorCode::Invalid(_)
            | ErrorCode::TooLarge
            | ErrorCode::Forbidden
            | ErrorCode::NotFound
            | ErrorCode::Conflict
            | ErrorCode::RateLimited
            | ErrorCode::Internal => {}
        }
        resp
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let text = r.body_text();
        let err = match &r {
            JsonRejection::BytesRejection(_) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ServiceError::TooLarge("request body exceeds the configured limit".into())
            }
            JsonRejection::MissingJsonContentType(_) => {
                ServiceError::invalid("invalid_content_type", "send the body as application/json")
            }
            JsonRejection::JsonDataError(_) if text.contains("unknown field") => {
                ServiceError::invalid("unknown_field", strip_prefix(&text))
            }
            JsonRejection::JsonDataError(_) => ServiceError::invalid("invalid_body", strip_prefix(&text)),
            JsonRejection::JsonSyntaxError(_) => ServiceError::invalid("invalid_json", strip_prefix(&text)),
            _ => ServiceError::invalid("invalid_body", strip_prefix(&text)),
        };
        ApiError(err)
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError(ServiceError::invalid("invalid_query_params", strip_prefix(&r.body_text())))
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        // A malformed memory id cannot name an existing memory.
        let _ = r;
        ApiError(ServiceError::NotFound)
    }
}

/// axum prefixes rejection texts with its own wording; keep only serde's explanation.
fn strip_prefix(text: &str) -> String {
    let t = text.split_once(": ").map(|(_, rest)| rest).unwrap_or(text);
    t.chars().take(300).collect()
}
