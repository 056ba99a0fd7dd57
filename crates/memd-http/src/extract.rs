//! Extractors: the authenticated [`Caller`], the admin check, and JSON/query/path wrappers whose
//! rejections become the API's error shape.

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::Json;
use memd_core::Caller;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

fn credential(parts: &Parts) -> Option<String> {
    parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// The caller of a `/v1` route (and of `/mcp`).
pub struct Auth(pub Caller);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = state.service.authenticate(credential(parts)).await?;
        tracing::Span::current().record("tenant", caller.tenant.as_str());
        Ok(Auth(caller))
    }
}

/// Proof that the request carried the admin token.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        state.service.auth().check_admin(credential(parts).as_deref())?;
        Ok(Admin)
    }
}

/// An operator of this server: the admin token, or anyone in local mode (no keys exist and memd
/// listens on loopback), for the operations routes that show server-wide data (`/api/events`).
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let credential = credential(parts);
        if state.service.auth().check_admin(credential.as_deref()).is_ok() {
            return Ok(Operator);
        }
        match state.service.authenticate(None).await {
            Ok(caller) if caller.local => Ok(Operator),
            _ => Err(ApiError(memd_core::ServiceError::Unauthorized)),
        }
    }
}

/// JSON body with the API's error mapping.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(v) = Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(v))
    }
}

/// Query string with the API's error mapping.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(v) = Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(v))
    }
}

/// Path parameters with the API's error mapping.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(v) = Path::<T>::from_request_parts(parts, state).await?;
        Ok(ApiPath(v))
    }
}
