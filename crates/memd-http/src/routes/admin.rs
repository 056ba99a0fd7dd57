//! `/admin`: API keys. Every route requires the admin token.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use uuid::Uuid;

use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Admin, ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

/// Create an API key for a tenant; the secret is in this response only.
#[utoipa::path(post, path = "/admin/tenants/{tenant}/keys", tag = "admin", request_body = CreateKeyBody,
    responses((status = 201, body = CreatedKeyView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create_key(
    State(s): State<AppState>,
    _admin: Admin,
    ApiPath(tenant): ApiPath<String>,
    ApiJson(body): ApiJson<CreateKeyBody>,
) -> Result<(StatusCode, Json<CreatedKeyView>), ApiError> {
    let (key, secret) = s.service.create_key(&tenant, &body.scopes, body.user_id).await?;
    tracing::info!(event = "api_key_created", tenant = %key.tenant, key_id = %key.id);
    Ok((
        StatusCode::CREATED,
        Json(CreatedKeyView {
            id: key.id,
            key: secret,
            tenant: key.tenant.to_string(),
            scopes: key.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            user_id: key.user_id,
        }),
    ))
}

/// List keys (never their secrets), optionally of one tenant.
#[utoipa::path(get, path = "/admin/keys", tag = "admin", params(KeysParams),
    responses((status = 200, body = KeysView), (status = 401, body = ErrorBody)))]
pub async fn list_keys(
    State(s): State<AppState>,
    _admin: Admin,
    ApiQuery(p): ApiQuery<KeysParams>,
) -> Result<Json<KeysView>, ApiError> {
    let keys = s.service.list_keys(p.tenant).await?;
    Ok(Json(KeysView { keys: keys.into_iter().map(Into::into).collect() }))
}

/// Revoke a key.
#[utoipa::path(delete, path = "/admin/keys/{id}", tag = "admin",
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_key(
    State(s): State<AppState>,
    _admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    s.service.revoke_key(id).await?;
    tracing::info!(event = "api_key_revoked", key_id = %id);
    Ok(StatusCode::NO_CONTENT)
}
