//! `/orgs`: the organisation tree, as far as the caller may see it, and new units.

use crate::AppState;
use crate::http::error::ApiResult;
use crate::http::extract::{Caller, JsonBody};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use kyso_org::{Org, OrgTree};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/v1/orgs", get(list).post(create))
}

pub fn org_json(o: &Org) -> Value {
    json!({"id": o.id, "parent_id": o.parent_id, "level": o.level, "name": o.name})
}

async fn list(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    let tree = OrgTree::load(&state.store.db.pool).await?;
    let items: Vec<Value> = kyso_org::tree::visible_units(&caller, &tree).iter().map(org_json).collect();
    Ok(Json(json!({"items": items})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgRequest {
    parent_id: String,
    level: String,
    name: String,
}

async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(req): JsonBody<OrgRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let org = kyso_org::tree::create_unit(&state.store, &caller, &req.parent_id, &req.level, &req.name).await?;
    Ok((StatusCode::CREATED, Json(org_json(&org))))
}
