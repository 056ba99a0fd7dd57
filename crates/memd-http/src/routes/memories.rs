//! `/v1/memories`: create (single and batch), get, patch, delete, list, scoped bulk delete,
//! history. Each handler extracts, calls one service function, maps.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use memd_store::MemoryPatch;
use uuid::Uuid;

use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::state::AppState;

type ApiResult<T> = Result<T, ApiError>;

/// Store one memory.
#[utoipa::path(post, path = "/v1/memories", tag = "memories", request_body = AddMemoryBody,
    responses((status = 201, body = MemoryView), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 503, body = ErrorBody, description = "not applied: storage unavailable; retry after Retry-After")))]
pub async fn create(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(body): ApiJson<AddMemoryBody>,
) -> ApiResult<(StatusCode, Json<MemoryView>)> {
    let m = s.service.add(&caller, body.into()).await?;
    Ok((StatusCode::CREATED, Json(m.into())))
}

/// Store up to `limits.max_batch` memories in one transaction (all or none).
#[utoipa::path(post, path = "/v1/memories/batch", tag = "memories", request_body = BatchBody,
    responses((status = 201, body = MemoriesView), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody, description = "not applied: storage unavailable; retry after Retry-After")))]
pub async fn create_batch(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(body): ApiJson<BatchBody>,
) -> ApiResult<(StatusCode, Json<MemoriesView>)> {
    let items = body.memories.into_iter().map(Into::into).collect();
    let stored = s.service.add_batch(&caller, items).await?;
    Ok((StatusCode::CREATED, Json(MemoriesView { memories: stored.into_iter().map(Into::into).collect() })))
}

/// One memory by id.
#[utoipa::path(get, path = "/v1/memories/{id}", tag = "memories",
    responses((status = 200, body = MemoryView), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<MemoryView>> {
    Ok(Json(s.service.get(&caller, id).await?.into()))
}

/// Change content, tags, metadata, event_time or expires_at.
#[utoipa::path(patch, path = "/v1/memories/{id}", tag = "memories", request_body = PatchBody,
    responses((status = 200, body = MemoryView), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody, description = "not applied: storage unavailable; retry after Retry-After")))]
pub async fn patch(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<PatchBody>,
) -> ApiResult<Json<MemoryView>> {
    let patch = MemoryPatch {
        content: body.content,
        tags: body.tags,
        metadata: body.metadata,
        event_time: body.event_time,
        expires_at: body.expires_at,
    };
    Ok(Json(s.service.update(&caller, id, patch).await?.into()))
}

/// Delete one memory (a tombstone; its history remains).
#[utoipa::path(delete, path = "/v1/memories/{id}", tag = "memories",
    responses((status = 204), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody, description = "not applied: storage unavailable; retry after Retry-After")))]
pub async fn delete(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    s.service.delete(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List memories newest first with cursor pagination.
#[utoipa::path(get, path = "/v1/memories", tag = "memories", params(ListParams),
    responses((status = 200, body = PageView), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<PageView>> {
    let filter = p.filter()?;
    let page = s.service.list(&caller, filter, p.cursor, p.limit).await?;
    Ok(Json(PageView {
        memories: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Delete every memory of a user, agent or session (at least one is required).
#[utoipa::path(delete, path = "/v1/memories", tag = "memories", params(ListParams),
    responses((status = 200, body = DeletedView), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody, description = "not applied: storage unavailable; retry after Retry-After")))]
pub async fn delete_scoped(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<DeletedView>> {
    let only_scope = p.tags.is_none()
        && p.after.is_none()
        && p.before.is_none()
        && p.metadata.is_none()
        && p.cursor.is_none()
        && p.limit.is_none();
    if !only_scope {
        return Err(ApiError(memd_core::ServiceError::invalid(
            "invalid_query_params",
            "bulk delete takes only user_id, agent_id and session_id",
        )));
    }
    let deleted = s.service.delete_scoped(&caller, p.user_id, p.agent_id, p.session_id).await?;
    Ok(Json(DeletedView { deleted }))
}

/// Every change of a memory, oldest first (also after deletion).
#[utoipa::path(get, path = "/v1/memories/{id}/history", tag = "memories",
    responses((status = 200, body = Vec<HistoryView>), (status = 404, body = ErrorBody)))]
pub async fn history(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Vec<HistoryView>>> {
    let h = s.service.history(&caller, id).await?;
    Ok(Json(h.into_iter().map(Into::into).collect()))
}
