//! `/v1/search`, `/v1/promote`, `/v1/tags`.

use axum::extract::State;
use axum::Json;
use memd_core::PromoteRequest;

use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::state::AppState;

/// Hybrid (BM25 + dense), semantic or keyword search with filters.
#[utoipa::path(post, path = "/v1/search", tag = "search", request_body = SearchBody,
    responses((status = 200, body = SearchView), (status = 400, body = ErrorBody)))]
pub async fn search(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(body): ApiJson<SearchBody>,
) -> Result<Json<SearchView>, ApiError> {
    let r = s.service.search(&caller, body.into_request()).await?;
    Ok(Json(SearchView {
        results: r.results.into_iter().map(Into::into).collect(),
        degraded: r.degraded,
        mode: r.mode.as_str().to_owned(),
    }))
}

/// The top-k memories to carry into an agent's context for a goal and tags.
#[utoipa::path(get, path = "/v1/promote", tag = "search", params(PromoteParams),
    responses((status = 200, body = PromoteView), (status = 400, body = ErrorBody)))]
pub async fn promote(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(p): ApiQuery<PromoteParams>,
) -> Result<Json<PromoteView>, ApiError> {
    let req = PromoteRequest {
        user_id: p.user_id,
        goal: p.goal,
        tags: split_tags(p.tags.as_deref()),
        k: p.k,
        expand_neighbours: p.neighbours.unwrap_or(true),
    };
    let r = s.service.promote(&caller, req).await?;
    Ok(Json(PromoteView {
        memories: r.memories.into_iter().map(Into::into).collect(),
        tags: r.tags,
        expanded: r.expanded,
    }))
}

/// Tags with counts and co-occurring neighbours, most used first.
#[utoipa::path(get, path = "/v1/tags", tag = "search", params(TagsParams),
    responses((status = 200, body = TagsView), (status = 400, body = ErrorBody)))]
pub async fn tags(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(p): ApiQuery<TagsParams>,
) -> Result<Json<TagsView>, ApiError> {
    let tags = s.service.tags(&caller, p.user_id, p.limit.unwrap_or(100), p.neighbours.unwrap_or(5)).await?;
    Ok(Json(TagsView {
        tags: tags
            .into_iter()
            .map(|t| TagView {
                tag: t.tag,
                count: t.count,
                neighbours: t
                    .neighbours
                    .into_iter()
                    .map(|n| TagCountView { tag: n.tag, count: n.count })
                    .collect(),
            })
            .collect(),
    }))
}
