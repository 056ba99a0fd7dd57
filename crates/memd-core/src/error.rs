//! The service's error type and the one mapping every transport uses: each error has a stable
//! snake_case code, an HTTP status and a JSON-RPC code. Internal details never reach a caller.

use memd_embed::EmbedError;
use memd_index::IndexError;
use memd_store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ServiceError {
    /// Bad input; `code` is a stable name such as `invalid_content` or `too_many_tags`.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("{0}")]
    TooLarge(String),
    #[error("no or invalid API key")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    /// Logged with its detail; callers only see `internal error`.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Invalid { code, message: message.into() }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            ServiceError::Invalid { code, .. } => ErrorCode::Invalid(code),
            ServiceError::TooLarge(_) => ErrorCode::TooLarge,
            ServiceError::Unauthorized => ErrorCode::Unauthorized,
            ServiceError::Forbidden(_) => ErrorCode::Forbidden,
            ServiceError::NotFound => ErrorCode::NotFound,
            ServiceError::Conflict(_) => ErrorCode::Conflict,
            ServiceError::Unavailable(_) => ErrorCode::Unavailable,
            ServiceError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The message a caller may see.
    pub fn public_message(&self) -> String {
        match self {
            ServiceError::Internal(_) => "internal error".to_owned(),
            other => other.to_string(),
        }
    }
}

/// The small set of outward error classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    Invalid(&'static str),
    TooLarge,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    RateLimited,
    Unavailable,
    Internal,
}

impl ErrorCode {
    /// Stable snake_case name, as in `{"error": {"code": …}}`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::Invalid(code) => code,
            ErrorCode::TooLarge => "payload_too_large",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::Invalid(_) => 400,
            ErrorCode::TooLarge => 413,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::RateLimited => 429,
            ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
        }
    }

    /// JSON-RPC error code for the MCP transport: -32602 invalid params for bad input, an
    /// implementation-defined server error (-32000..-32099) for the rest.
    pub fn jsonrpc_code(self) -> i32 {
        match self {
            ErrorCode::Invalid(_) | ErrorCode::TooLarge => -32602,
            ErrorCode::Unauthorized => -32001,
            ErrorCode::Forbidden => -32003,
            ErrorCode::NotFound => -32004,
            ErrorCode::Conflict => -32009,
            ErrorCode::RateLimited => -32029,
            ErrorCode::Unavailable => -32053,
            ErrorCode::Internal => -32603,
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ServiceError::NotFound,
            StoreError::Invalid(m) => ServiceError::invalid("invalid_input", m),
            StoreError::Conflict(m) => ServiceError::Conflict(m),
            StoreError::Backend(m) | StoreError::Corrupt(m) => ServiceError::Internal(m),
            StoreError::Unavailable(detail) => {
                // The detail (SQLite's words) is for the log; callers learn only that it may pass.
                tracing::warn!(event = "store_unavailable", error_type = "unavailable", error = %detail);
                ServiceError::Unavailable("storage temporarily unavailable; retry later".into())
            }
        }
    }
}

impl From<IndexError> for ServiceError {
    fn from(e: IndexError) -> Self {
        match e {
            IndexError::Invalid(m) => ServiceError::invalid("invalid_input", m),
            IndexError::Io(m) | IndexError::Corrupt(m) | IndexError::Locked(m) => ServiceError::Internal(m),
        }
    }
}

impl From<EmbedError> for ServiceError {
    fn from(e: EmbedError) -> Self {
        match e {
            EmbedError::Invalid(m) => ServiceError::invalid("invalid_input", m),
            EmbedError::ModelUnavailable(m) | EmbedError::Provider(m) | EmbedError::Inference(m) => {
                ServiceError::Unavailable(format!("embedding unavailable: {m}"))
            }
        }
    }
}

impl From<tokio::task::JoinError> for ServiceError {
    fn from(e: tokio::task::JoinError) -> Self {
        ServiceError::Internal(format!("blocking task failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_details_never_leak() {
        let e = ServiceError::Internal("disk I/O error at /secret/path".into());
        assert_eq!(e.public_message(), "internal error");
        assert_eq!(e.code().http_status(), 500);
    }

    #[test]
    fn invalid_codes_are_their_own_names() {
        let e = ServiceError::invalid("too_many_tags", "at most 100 tags");
        assert_eq!(e.code().name(), "too_many_tags");
        assert_eq!(e.code().http_status(), 400);
        assert_eq!(e.code().jsonrpc_code(), -32602);
    }
}
