//! `/users`: people and their roles, added, listed, changed and disabled by administrators.

use crate::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Caller, JsonBody};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use kyso_org::people::{NewPerson, Person, PersonChange};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/v1/users", get(list).post(create)).route("/api/v1/users/{username}", get(show).patch(change))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Membership {
    pub org_id: String,
    pub role: String,
}

pub fn person_json(p: &Person) -> Value {
    let roles: Vec<Value> = p.memberships.iter().map(|(o, r)| json!({"org_id": o, "role": r})).collect();
    json!({"id": p.id, "username": p.username, "full_name": p.full_name, "id_number": p.id_number, "disabled": p.disabled, "memberships": roles})
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserRequest {
    username: String,
    full_name: String,
    password: String,
    #[serde(default)]
    id_number: Option<String>,
    memberships: Vec<Membership>,
}

fn pairs(ms: &[Membership]) -> Vec<(String, String)> {
    ms.iter().map(|m| (m.org_id.clone(), m.role.clone())).collect()
}

async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(req): JsonBody<UserRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let memberships = pairs(&req.memberships);
    let p = kyso_org::people::create(
        &state.store,
        &caller,
        NewPerson {
            username: &req.username,
            full_name: &req.full_name,
            password: &req.password,
            id_number: req.id_number.as_deref(),
            memberships: &memberships,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(person_json(&p))))
}

async fn list(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    let people = kyso_org::people::list(&state.store, &caller).await?;
    Ok(Json(json!({"items": people.iter().map(person_json).collect::<Vec<_>>()})))
}

async fn show(State(state): State<Arc<AppState>>, caller: Caller, Path(username): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(person_json(&kyso_org::people::administered(&state.store, &caller, &username).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeRequest {
    full_name: Option<String>,
    id_number: Option<String>,
    password: Option<String>,
    memberships: Option<Vec<Membership>>,
    disabled: Option<bool>,
}

async fn change(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(username): Path<String>,
    JsonBody(req): JsonBody<ChangeRequest>,
) -> ApiResult<Json<Value>> {
    if req.full_name.is_none() && req.id_number.is_none() && req.password.is_none() && req.memberships.is_none() && req.disabled.is_none() {
        return Err(ApiError::bad_request("say what to change", "cần nêu thông tin cần thay đổi"));
    }
    let memberships = req.memberships.as_deref().map(pairs);
    let change = PersonChange {
        full_name: req.full_name.as_deref(),
        id_number: req.id_number.as_deref(),
        password: req.password.as_deref(),
        memberships: memberships.as_deref(),
        disabled: req.disabled,
    };
    Ok(Json(person_json(&kyso_org::people::update(&state.store, &caller, &username, change).await?)))
}
