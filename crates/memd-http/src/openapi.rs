//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{admin, health, memories, search};

#[derive(OpenApi)]
#[openapi(
    info(title = "memd", description = "Memory server for AI agents: REST API v1."),
    paths(
        memories::create, memories::create_batch, memories::get, memories::patch, memories::delete,
        memories::list, memories::delete_scoped, memories::history,
        search::search, search::promote, search::tags,
        admin::create_key, admin::list_keys, admin::revoke_key,
        health::live, health::ready, health::metrics,
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let comps = api.components.get_or_insert_with(Default::default);
        comps.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /openapi.json`.
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
