//! What administrators set up besides people: chain templates (`/templates`), API clients
//! (`/clients`) and delegations (`/delegations`, which any role holder may give).

use crate::AppState;
use crate::http::error::ApiResult;
use crate::http::extract::{Caller, JsonBody};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, put};
use axum::{Json, Router};
use kyso_workflow::templates::Stage;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/templates", get(templates))
        .route("/api/v1/templates/{id}", put(save_template))
        .route("/api/v1/clients", get(clients).post(create_client))
        .route("/api/v1/clients/{id}", delete(revoke_client))
        .route("/api/v1/delegations", get(delegations).post(create_delegation))
        .route("/api/v1/delegations/{id}", delete(revoke_delegation))
}

fn stages_json(stages: &[Stage]) -> Value {
    serde_json::to_value(stages).unwrap_or(Value::Null)
}

async fn templates(State(state): State<Arc<AppState>>, _caller: Caller) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = kyso_workflow::templates::list(&state.store)
        .await?
        .iter()
        .map(|t| json!({"id": t.id, "name": t.name, "stages": stages_json(&t.stages)}))
        .collect();
    Ok(Json(json!({"items": items})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateRequest {
    name: String,
    stages: Vec<Stage>,
}

async fn save_template(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<TemplateRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (t, replaced) = kyso_workflow::templates::save(&state.store, &caller, &id, &req.name, req.stages).await?;
    let status = if replaced { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(json!({"id": t.id, "name": t.name, "stages": stages_json(&t.stages)}))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientRequest {
    name: String,
    org_id: String,
    scopes: Vec<String>,
    #[serde(default = "default_client_days")]
    valid_days: i64,
}

fn default_client_days() -> i64 {
    365
}

/// An administrator registers ministry software; the token is shown once, in this answer.
async fn create_client(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(req): JsonBody<ClientRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let c = kyso_org::auth::create_client(&state.store, &caller, &req.name, &req.org_id, &req.scopes, req.valid_days).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": c.id, "name": c.name, "org_id": c.org_id, "scopes": c.scopes, "token": c.token, "expires_at": c.expires_at})),
    ))
}

async fn clients(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = kyso_org::auth::list_clients(&state.store, &caller)
        .await?
        .iter()
        .map(|c| json!({"id": c.id, "name": c.name, "org_id": c.org_id, "scopes": c.scopes, "expires_at": c.expires_at, "revoked": c.revoked}))
        .collect();
    Ok(Json(json!({"items": items})))
}

async fn revoke_client(State(state): State<Arc<AppState>>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    kyso_org::auth::revoke_client(&state.store, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DelegationRequest {
    to_username: String,
    org_id: String,
    role: String,
    valid_until: i64,
}

fn delegation_json(d: &kyso_org::delegations::Delegation) -> Value {
    json!({"id": d.id, "org_id": d.org_id, "role": d.role, "from": d.from_username, "to": d.to_username, "valid_until": d.valid_until, "revoked": d.revoked})
}

async fn create_delegation(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(req): JsonBody<DelegationRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let d = kyso_org::delegations::create(&state.store, &caller, &req.to_username, &req.org_id, &req.role, req.valid_until).await?;
    Ok((StatusCode::CREATED, Json(delegation_json(&d))))
}

async fn delegations(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = kyso_org::delegations::list(&state.store, &caller).await?.iter().map(delegation_json).collect();
    Ok(Json(json!({"items": items})))
}

async fn revoke_delegation(State(state): State<Arc<AppState>>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    kyso_org::delegations::revoke(&state.store, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
