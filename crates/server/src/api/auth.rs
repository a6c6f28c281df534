//! `/health`, `/auth/login`, `/auth/logout`, `/me`.

use crate::AppState;
use crate::http::error::ApiResult;
use crate::http::extract::{Caller, ClientAddress, JsonBody};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use kyso_org::{OrgTree, Principal};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/me", get(me))
}

async fn health(State(state): State<Arc<AppState>>) -> ApiResult<Json<Value>> {
    sqlx::query("SELECT 1").execute(&state.store.db.pool).await?;
    Ok(Json(json!({"status": "ok", "database": state.store.db.backend.name(), "version": env!("CARGO_PKG_VERSION")})))
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

async fn login(
    State(state): State<Arc<AppState>>,
    ClientAddress(address): ClientAddress,
    JsonBody(req): JsonBody<LoginRequest>,
) -> ApiResult<Json<Value>> {
    let s = kyso_org::auth::login(
        &state.store,
        &state.throttle,
        &req.username,
        &req.password,
        &address,
        kyso_org::auth::SessionKind::Api,
        state.config.session_ttl_secs,
    )
    .await?;
    Ok(Json(
        json!({"token": s.token, "expires_at": s.expires_at, "user": {"id": s.user_id, "username": s.username, "full_name": s.full_name}}),
    ))
}

async fn logout(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<StatusCode> {
    kyso_org::auth::logout(&state.store, &caller.actor, &caller.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    let tree = OrgTree::load(&state.store.db.pool).await?;
    let memberships: Vec<Value> = caller
        .memberships
        .iter()
        .map(|(org, role)| json!({"org_id": org, "org_name": tree.get(org).map(|o| o.name.as_str()), "role": role}))
        .collect();
    Ok(Json(match &caller.principal {
        Principal::User { id, username, full_name } => {
            json!({"kind": "user", "id": id, "username": username, "full_name": full_name, "memberships": memberships})
        }
        Principal::Client { id, name, org_id, scopes } => {
            json!({"kind": "client", "id": id, "name": name, "org_id": org_id, "scopes": scopes})
        }
    }))
}
