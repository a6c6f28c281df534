//! The REST API (`/api/v1`), as described in `openapi.yaml` at the repository root. Every handler
//! authenticates through [`Caller`], checks role and organisation before touching anything, and
//! records what it changed in the audit trail in the same transaction.

use crate::AppState;
use crate::audit::{self, Record};
use crate::auth::{self, Caller, OVERSEEING_ROLES, Principal};
use crate::db::{self, OrgTree, new_id, now};
use crate::error::{ApiError, ApiResult, JsonBody, QueryParams, RawBody};
use crate::signing::{self, Approval, SignerKey};
use crate::workflow::{self, Stage};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;
use std::sync::Arc;

type AppStateRef = State<Arc<AppState>>;

pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.config.max_upload_bytes;
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/orgs", get(orgs).post(create_org))
        .route("/api/v1/users", post(create_user))
        .route("/api/v1/templates", get(templates))
        .route("/api/v1/templates/{id}", put(save_template))
        .route("/api/v1/clients", post(create_client))
        .route("/api/v1/delegations", post(create_delegation))
        .route("/api/v1/documents", get(list_documents).post(submit))
        .route("/api/v1/documents/{id}", get(get_document))
        .route("/api/v1/documents/{id}/pdf", get(download))
        .route("/api/v1/documents/{id}/versions", post(resubmit))
        .route("/api/v1/documents/{id}/approve", post(approve))
        .route("/api/v1/documents/{id}/return", post(return_document))
        .route("/api/v1/approvals/batch", post(approve_batch))
        .route("/api/v1/operations/{id}", get(get_operation))
        .route("/api/v1/users/{username}/key", post(set_user_key))
        .route("/api/v1/inbox", get(inbox))
        .route("/api/v1/verify", post(verify))
        .route("/api/v1/audit", get(audit_entries))
        .route("/api/v1/audit/verify", get(audit_verify))
        .fallback(|| async { ApiError::not_found("route") })
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(log_request))
        .with_state(state)
}

/// One log line per request: method, path, status, time. Headers and bodies (tokens,
/// passwords, documents) are never logged.
async fn log_request(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    tracing::info!(%method, %path, status = response.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
    response
}

async fn health(State(state): AppStateRef) -> ApiResult<Json<Value>> {
    sqlx::query("SELECT 1").execute(&state.db.pool).await?;
    let backend = match state.db.backend {
        db::Backend::Sqlite => "sqlite",
        db::Backend::Postgres => "postgres",
    };
    Ok(Json(json!({"status": "ok", "database": backend, "version": env!("CARGO_PKG_VERSION")})))
}

// ---------------------------------------------------------------------------------------------
// Authentication

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

async fn login(State(state): AppStateRef, JsonBody(req): JsonBody<LoginRequest>) -> ApiResult<Json<Value>> {
    let row = sqlx::query("SELECT id, password_hash, full_name FROM users WHERE username = $1")
        .bind(&req.username)
        .fetch_optional(&state.db.pool)
        .await?;
    let stored: Option<String> = row.as_ref().map(|r| r.try_get(1)).transpose()?;
    let password = req.password.clone();
    let ok = state
        .run_cpu(move || auth::verify_password(&password, stored.as_deref()))
        .await
        .map_err(|e| ApiError::internal("checking a password", e))?;
    let mut tx = state.db.write().await?;
    let Some(row) = row.filter(|_| ok) else {
        audit::append(
            &mut tx,
            Record { actor: &format!("user:{}", req.username), action: "login_failed", document_id: None, org_id: None, detail: json!({}) },
        )
        .await?;
        tx.commit().await?;
        return Err(ApiError::unauthorized("invalid_credentials", "wrong user name or password", "sai tên đăng nhập hoặc mật khẩu"));
    };
    let user_id: String = row.try_get(0)?;
    let (token, stored_hash) = auth::new_token(auth::SESSION_PREFIX);
    let expires_at = now() + state.config.session_ttl_secs;
    sqlx::query("INSERT INTO sessions (token_sha256, user_id, expires_at) VALUES ($1, $2, $3)")
        .bind(&stored_hash)
        .bind(&user_id)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        Record { actor: &format!("user:{}", req.username), action: "login", document_id: None, org_id: None, detail: json!({}) },
    )
    .await?;
    tx.commit().await?;
    Ok(Json(
        json!({"token": token, "expires_at": expires_at, "user": {"id": user_id, "username": req.username, "full_name": row.try_get::<String, _>(2)?}}),
    ))
}

async fn logout(State(state): AppStateRef, caller: Caller, headers: HeaderMap) -> ApiResult<StatusCode> {
    if let Some(token) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|h| h.strip_prefix("Bearer ")) {
        let mut tx = state.db.write().await?;
        sqlx::query("DELETE FROM sessions WHERE token_sha256 = $1")
            .bind(crate::blobs::sha256_hex(token.trim().as_bytes()))
            .execute(&mut *tx)
            .await?;
        record(&mut tx, &caller, "logout", None, None, json!({})).await?;
        tx.commit().await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(state): AppStateRef, caller: Caller) -> ApiResult<Json<Value>> {
    let tree = OrgTree::load(&state.db.pool).await?;
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

async fn orgs(State(state): AppStateRef, _caller: Caller) -> ApiResult<Json<Value>> {
    Ok(Json(json!({"items": db::all_orgs(&state.db.pool).await?})))
}

/// Whether the caller administers `org_id` (as admin there or of a unit above it).
fn administers(caller: &Caller, tree: &OrgTree, org_id: &str) -> bool {
    caller.memberships.iter().any(|(o, r)| r == "admin" && tree.is_within(org_id, o))
}

fn required_text(value: &str, what: &str, what_vi: &str) -> ApiResult<()> {
    if value.trim().is_empty() || value.chars().count() > 200 {
        return Err(ApiError::bad_request(format!("{what} must be 1 to 200 characters"), format!("{what_vi} phải dài từ 1 đến 200 ký tự")));
    }
    Ok(())
}

#[derive(Deserialize)]
struct OrgRequest {
    parent_id: String,
    level: String,
    name: String,
}

/// An administrator adds a unit under one they administer (a school under the Phòng, a subject
/// group under a school, a commune office where the district tier is gone). Levels are free data.
async fn create_org(
    State(state): AppStateRef,
    caller: Caller,
    JsonBody(req): JsonBody<OrgRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require_user()?;
    required_text(&req.name, "name", "tên")?;
    required_text(&req.level, "level", "cấp")?;
    let tree = OrgTree::load(&state.db.pool).await?;
    if tree.get(&req.parent_id).is_none() {
        return Err(ApiError::not_found("organisation"));
    }
    if !administers(&caller, &tree, &req.parent_id) {
        return Err(ApiError::forbidden(
            "only an administrator of the parent unit (or one above it) can add units under it",
            "chỉ quản trị viên của đơn vị cấp trên mới được thêm đơn vị trực thuộc",
        ));
    }
    let org =
        db::Org { id: new_id(), parent_id: Some(req.parent_id.clone()), level: req.level.trim().into(), name: req.name.trim().into() };
    let mut tx = state.db.write().await?;
    sqlx::query("INSERT INTO orgs (id, parent_id, level, name) VALUES ($1, $2, $3, $4)")
        .bind(&org.id)
        .bind(&org.parent_id)
        .bind(&org.level)
        .bind(&org.name)
        .execute(&mut *tx)
        .await?;
    record(&mut tx, &caller, "org_created", None, Some(&org.id), json!({"parent_id": org.parent_id, "level": org.level, "name": org.name}))
        .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!(org))))
}

#[derive(Deserialize)]
struct Membership {
    org_id: String,
    role: String,
}

#[derive(Deserialize)]
struct UserRequest {
    username: String,
    full_name: String,
    password: String,
    memberships: Vec<Membership>,
}

/// An administrator adds a person with roles in units they administer. The password is stored
/// as an argon2 hash only and recorded nowhere else; the key is set with POST /users/{name}/key.
async fn create_user(
    State(state): AppStateRef,
    caller: Caller,
    JsonBody(req): JsonBody<UserRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require_user()?;
    let username_ok = (3..=64).contains(&req.username.len())
        && req.username.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    if !username_ok {
        return Err(ApiError::bad_request(
            "username must be 3 to 64 characters: lower-case letters, digits, '.', '_' or '-'",
            "tên đăng nhập dài 3–64 ký tự: chữ thường không dấu, chữ số, '.', '_' hoặc '-'",
        ));
    }
    required_text(&req.full_name, "full_name", "họ tên")?;
    if !(10..=1024).contains(&req.password.chars().count()) {
        return Err(ApiError::bad_request("the password must be at least 10 characters", "mật khẩu phải có ít nhất 10 ký tự"));
    }
    if req.memberships.is_empty() {
        return Err(ApiError::bad_request("a person needs at least one role in a unit", "cần ít nhất một vai trò tại một đơn vị"));
    }
    let tree = OrgTree::load(&state.db.pool).await?;
    for m in &req.memberships {
        if !auth::ROLES.contains(&m.role.as_str()) {
            return Err(ApiError::bad_request(format!("unknown role {}", m.role), format!("vai trò không hợp lệ: {}", m.role)));
        }
        if tree.get(&m.org_id).is_none() {
            return Err(ApiError::not_found("organisation"));
        }
        if !administers(&caller, &tree, &m.org_id) {
            return Err(ApiError::forbidden(
                "only an administrator of every unit named (or one above it) can add this person",
                "chỉ quản trị viên của mọi đơn vị được nêu (hoặc cấp trên) mới được thêm người này",
            ));
        }
    }
    let password = req.password.clone();
    let hash = state.run_cpu(move || auth::hash_password(&password)).await.map_err(|e| ApiError::internal("hashing a password", e))??;
    let id = new_id();
    let mut tx = state.db.write().await?;
    let taken = sqlx::query("SELECT 1 FROM users WHERE username = $1").bind(&req.username).fetch_optional(&mut *tx).await?.is_some();
    if taken {
        return Err(ApiError::conflict("username_taken", "this username is already taken", "tên đăng nhập này đã có người dùng"));
    }
    sqlx::query("INSERT INTO users (id, username, full_name, password_hash) VALUES ($1, $2, $3, $4)")
        .bind(&id)
        .bind(&req.username)
        .bind(req.full_name.trim())
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
    let mut roles = Vec::new();
    for m in &req.memberships {
        sqlx::query("INSERT INTO memberships (user_id, org_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(&id)
            .bind(&m.org_id)
            .bind(&m.role)
            .execute(&mut *tx)
            .await?;
        roles.push(json!({"org_id": m.org_id, "role": m.role}));
    }
    let org = req.memberships[0].org_id.clone();
    record(&mut tx, &caller, "user_created", None, Some(&org), json!({"username": req.username, "memberships": roles})).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id, "username": req.username, "full_name": req.full_name.trim(), "memberships": roles}))))
}

async fn templates(State(state): AppStateRef, _caller: Caller) -> ApiResult<Json<Value>> {
    let rows = sqlx::query("SELECT id, name, stages FROM templates ORDER BY name").fetch_all(&state.db.pool).await?;
    let mut items = Vec::new();
    for r in &rows {
        let stages: Value = serde_json::from_str(&r.try_get::<String, _>(2)?).unwrap_or(Value::Null);
        items.push(json!({"id": r.try_get::<String, _>(0)?, "name": r.try_get::<String, _>(1)?, "stages": stages}));
    }
    Ok(Json(json!({"items": items})))
}

#[derive(Deserialize)]
struct TemplateRequest {
    name: String,
    stages: Vec<workflow::Stage>,
}

/// An administrator of a top unit (the Sở) creates or replaces a chain template. Documents
/// already submitted keep the steps they were given; only new submissions use the new stages.
async fn save_template(
    State(state): AppStateRef,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<TemplateRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require_user()?;
    let tree = OrgTree::load(&state.db.pool).await?;
    let top_admin = caller.memberships.iter().any(|(o, r)| r == "admin" && tree.get(o).is_some_and(|org| org.parent_id.is_none()));
    if !top_admin {
        return Err(ApiError::forbidden(
            "only an administrator of a top unit (the Sở) can change chain templates",
            "chỉ quản trị viên cấp Sở mới được thay đổi mẫu quy trình",
        ));
    }
    if !(1..=64).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(ApiError::bad_request(
            "a template id is 1 to 64 lower-case letters, digits or '-'",
            "mã mẫu quy trình gồm 1–64 chữ thường, chữ số hoặc '-'",
        ));
    }
    required_text(&req.name, "name", "tên")?;
    workflow::validate_template(&req.stages, auth::ROLES).map_err(|e| ApiError::bad_request(e.en, e.vi))?;
    let stages = serde_json::to_string(&req.stages).expect("stages serialise");
    let mut tx = state.db.write().await?;
    let replaced = sqlx::query("UPDATE templates SET name = $1, stages = $2 WHERE id = $3")
        .bind(req.name.trim())
        .bind(&stages)
        .bind(&id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if !replaced {
        sqlx::query("INSERT INTO templates (id, name, stages) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(req.name.trim())
            .bind(&stages)
            .execute(&mut *tx)
            .await?;
    }
    record(
        &mut tx,
        &caller,
        "template_saved",
        None,
        None,
        json!({"template": id, "name": req.name.trim(), "stages": req.stages, "replaced": replaced}),
    )
    .await?;
    tx.commit().await?;
    let status = if replaced { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(json!({"id": id, "name": req.name.trim(), "stages": req.stages}))))
}

#[derive(Deserialize)]
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

/// An administrator registers ministry software for their organisation (or one below it); the
/// token is shown once, in this response.
async fn create_client(
    State(state): AppStateRef,
    caller: Caller,
    JsonBody(req): JsonBody<ClientRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require_user()?;
    let tree = OrgTree::load(&state.db.pool).await?;
    if tree.get(&req.org_id).is_none() {
        return Err(ApiError::not_found("organisation"));
    }
    if !administers(&caller, &tree, &req.org_id) {
        return Err(ApiError::forbidden(
            "only an administrator of this organisation (or one above it) can register API clients",
            "chỉ quản trị viên của đơn vị (hoặc cấp trên) mới được đăng ký ứng dụng",
        ));
    }
    if let Some(bad) = req.scopes.iter().find(|s| !auth::SCOPES.contains(&s.as_str())) {
        return Err(ApiError::bad_request(format!("unknown scope {bad}"), format!("quyền không hợp lệ: {bad}")));
    }
    let (token, stored) = auth::new_token(auth::CLIENT_PREFIX);
    let id = new_id();
    let expires_at = now() + req.valid_days.clamp(1, 3650) * 86_400;
    let mut tx = state.db.write().await?;
    sqlx::query("INSERT INTO api_clients (id, name, org_id, token_sha256, scopes, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id)
        .bind(&req.name)
        .bind(&req.org_id)
        .bind(&stored)
        .bind(req.scopes.join(" "))
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
    record(&mut tx, &caller, "client_created", None, Some(&req.org_id), json!({"client": req.name, "scopes": req.scopes})).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id, "name": req.name, "token": token, "expires_at": expires_at}))))
}

#[derive(Deserialize)]
struct DelegationRequest {
    to_username: String,
    org_id: String,
    role: String,
    valid_until: i64,
}

/// A role holder lets someone sign their stages for a time (a vice principal for the principal).
async fn create_delegation(
    State(state): AppStateRef,
    caller: Caller,
    JsonBody(req): JsonBody<DelegationRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let me = caller.require_user()?.to_string();
    if !caller.has_role_in(&req.org_id, &req.role) {
        return Err(ApiError::forbidden(
            "you can only delegate a role you hold there",
            "chỉ được ủy quyền vai trò mà bạn đang giữ tại đơn vị đó",
        ));
    }
    if req.valid_until <= now() {
        return Err(ApiError::bad_request("valid_until is in the past", "thời hạn ủy quyền đã qua"));
    }
    let to: String = sqlx::query("SELECT id FROM users WHERE username = $1")
        .bind(&req.to_username)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?
        .try_get(0)?;
    let id = new_id();
    let mut tx = state.db.write().await?;
    sqlx::query("INSERT INTO delegations (id, org_id, role, from_user, to_user, valid_until) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id)
        .bind(&req.org_id)
        .bind(&req.role)
        .bind(&me)
        .bind(&to)
        .bind(req.valid_until)
        .execute(&mut *tx)
        .await?;
    record(
        &mut tx,
        &caller,
        "delegated",
        None,
        Some(&req.org_id),
        json!({"to": req.to_username, "role": req.role, "valid_until": req.valid_until}),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))))
}

// ---------------------------------------------------------------------------------------------
// Documents

#[derive(Clone, Debug)]
struct DocRow {
    id: String,
    org_id: String,
    submitter_id: String,
    template_id: String,
    title: String,
    status: String,
    current_version: i64,
    return_reason: Option<String>,
    created_at: i64,
    updated_at: i64,
}

/// The documents table's columns in [`doc_from_row`]'s order (a macro, so queries stay literals).
macro_rules! doc_columns {
    () => {
        "id, org_id, submitter_id, template_id, title, status, current_version, return_reason, created_at, updated_at"
    };
}

fn doc_from_row(r: &sqlx::any::AnyRow) -> Result<DocRow, sqlx::Error> {
    Ok(DocRow {
        id: r.try_get(0)?,
        org_id: r.try_get(1)?,
        submitter_id: r.try_get(2)?,
        template_id: r.try_get(3)?,
        title: r.try_get(4)?,
        status: r.try_get(5)?,
        current_version: r.try_get(6)?,
        return_reason: r.try_get(7)?,
        created_at: r.try_get(8)?,
        updated_at: r.try_get(9)?,
    })
}

#[derive(Clone, Debug, Serialize)]
struct StepRow {
    stage: i64,
    stage_name: String,
    field: String,
    org_id: String,
    role: String,
    assignee_id: Option<String>,
    #[serde(skip)]
    allow_repeat: bool,
    deadline: i64,
    signed_by: Option<String>,
    on_behalf_of: Option<String>,
    signed_at: Option<i64>,
}

async fn load_steps(pool: &sqlx::AnyPool, doc: &str, version: i64) -> Result<Vec<StepRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT stage, stage_name, field, org_id, role, assignee_id, allow_repeat, deadline, signed_by, on_behalf_of, signed_at FROM steps WHERE document_id = $1 AND version = $2 ORDER BY stage, field",
    )
    .bind(doc)
    .bind(version)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StepRow {
                stage: r.try_get(0)?,
                stage_name: r.try_get(1)?,
                field: r.try_get(2)?,
                org_id: r.try_get(3)?,
                role: r.try_get(4)?,
                assignee_id: r.try_get(5)?,
                allow_repeat: r.try_get::<i64, _>(6)? != 0,
                deadline: r.try_get(7)?,
                signed_by: r.try_get(8)?,
                on_behalf_of: r.try_get(9)?,
                signed_at: r.try_get(10)?,
            })
        })
        .collect()
}

async fn load_document(pool: &sqlx::AnyPool, id: &str) -> Result<Option<DocRow>, sqlx::Error> {
    sqlx::query(concat!("SELECT ", doc_columns!(), " FROM documents WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(doc_from_row)
        .transpose()
}

/// The lowest stage with an unsigned step: the one being signed now.
fn current_stage(steps: &[StepRow]) -> Option<i64> {
    steps.iter().filter(|s| s.signed_by.is_none()).map(|s| s.stage).min()
}

/// Whether `caller` may take part in `step`: its assignee, or a holder of its role in its unit.
fn eligible(caller: &Caller, step: &StepRow) -> bool {
    match (&step.assignee_id, caller.user_id()) {
        (Some(a), Some(me)) => a == me,
        (None, Some(_)) => caller.has_role_in(&step.org_id, &step.role),
        _ => false,
    }
}

/// Who may see a document: its submitter, people with a step on it, overseeing roles of its unit
/// or a unit above, and API clients of a unit above with `documents:read`.
fn can_see(caller: &Caller, doc: &DocRow, steps: &[StepRow], tree: &OrgTree) -> bool {
    match &caller.principal {
        Principal::User { id, .. } => {
            *id == doc.submitter_id
                || steps.iter().any(|s| eligible(caller, s))
                || caller.memberships.iter().any(|(o, r)| OVERSEEING_ROLES.contains(&r.as_str()) && tree.is_within(&doc.org_id, o))
        }
        Principal::Client { org_id, scopes, .. } => scopes.iter().any(|s| s == "documents:read") && tree.is_within(&doc.org_id, org_id),
    }
}

/// Loads a document the caller may see; otherwise "not found", revealing nothing.
async fn visible_document(state: &AppState, caller: &Caller, id: &str) -> ApiResult<(DocRow, Vec<StepRow>, OrgTree)> {
    let doc = load_document(&state.db.pool, id).await?.ok_or_else(|| ApiError::not_found("document"))?;
    let steps = load_steps(&state.db.pool, &doc.id, doc.current_version).await?;
    let tree = OrgTree::load(&state.db.pool).await?;
    if !can_see(caller, &doc, &steps, &tree) {
        return Err(ApiError::not_found("document"));
    }
    Ok((doc, steps, tree))
}

/// Usernames of the given user ids (those a document's JSON names).
async fn usernames(pool: &sqlx::AnyPool, ids: &[&str]) -> Result<std::collections::HashMap<String, String>, sqlx::Error> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let mut binds = Binds::default();
    let listed = binds.push_list(ids.iter().copied());
    let query = binds.query(format!("SELECT id, username FROM users WHERE id IN ({listed})"));
    let rows = query.fetch_all(pool).await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

async fn document_json(state: &AppState, doc: &DocRow, steps: &[StepRow]) -> ApiResult<Value> {
    let named = std::iter::once(doc.submitter_id.as_str())
        .chain(steps.iter().flat_map(|s| [&s.assignee_id, &s.signed_by, &s.on_behalf_of]).filter_map(|i| i.as_deref()));
    let names = usernames(&state.db.pool, &named.collect::<Vec<_>>()).await?;
    let name = |id: &Option<String>| id.as_ref().map(|i| names.get(i).cloned().unwrap_or_else(|| i.clone()));
    let versions = sqlx::query("SELECT version, original_sha256, current_sha256, created_at FROM versions WHERE document_id = $1 ORDER BY version")
        .bind(&doc.id)
        .fetch_all(&state.db.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(json!({"version": r.try_get::<i64, _>(0)?, "original_sha256": r.try_get::<String, _>(1)?, "current_sha256": r.try_get::<String, _>(2)?, "created_at": r.try_get::<i64, _>(3)?}))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let steps: Vec<Value> = steps
        .iter()
        .map(|s| {
            json!({"stage": s.stage, "stage_name": s.stage_name, "field": s.field, "org_id": s.org_id, "role": s.role,
                   "assignee": name(&s.assignee_id), "deadline": s.deadline, "signed_by": name(&s.signed_by),
                   "on_behalf_of": name(&s.on_behalf_of), "signed_at": s.signed_at})
        })
        .collect();
    let current = if doc.status == "in_progress" { current_stage_of(&steps) } else { None };
    Ok(json!({
        "id": doc.id, "title": doc.title, "org_id": doc.org_id, "submitter": names.get(&doc.submitter_id),
        "template_id": doc.template_id, "status": doc.status, "current_version": doc.current_version,
        "current_stage": current, "return_reason": doc.return_reason, "created_at": doc.created_at,
        "updated_at": doc.updated_at, "versions": versions, "steps": steps,
    }))
}

fn current_stage_of(steps: &[Value]) -> Option<i64> {
    steps.iter().filter(|s| s["signed_by"].is_null()).filter_map(|s| s["stage"].as_i64()).min()
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Pagination: `limit` (1–100, default 20) and an opaque `cursor` from the previous page.
fn page_bounds(limit: Option<i64>, cursor: Option<&str>) -> ApiResult<(i64, i64)> {
    let limit = limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 100", "limit phải từ 1 đến 100"));
    }
    let offset = match cursor.filter(|c| !c.is_empty()) {
        Some(c) => {
            c.parse::<i64>().ok().filter(|o| *o >= 0).ok_or_else(|| ApiError::bad_request("invalid cursor", "cursor không hợp lệ"))?
        }
        None => 0,
    };
    Ok((limit, offset))
}

/// Bind values for SQL built at run time: each value gets a numbered placeholder; only those
/// placeholders are ever formatted into the text.
#[derive(Default)]
struct Binds(Vec<String>);

impl Binds {
    fn push(&mut self, value: &str) -> String {
        self.0.push(value.to_string());
        format!("${}", self.0.len())
    }

    fn push_list<'a>(&mut self, values: impl IntoIterator<Item = &'a str>) -> String {
        values.into_iter().map(|v| self.push(v)).collect::<Vec<_>>().join(", ")
    }

    fn query(&self, sql: String) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments> {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for v in &self.0 {
            query = query.bind(v.as_str());
        }
        query
    }
}

/// The condition over `documents d` that [`can_see`] states, for the database to page and count
/// with. Org subtrees are expanded here from the (small) tree.
fn visibility_condition(caller: &Caller, tree: &OrgTree, binds: &mut Binds) -> String {
    let within = |roots: &[&str]| -> Vec<&str> {
        tree.orgs.iter().filter(|o| roots.iter().any(|r| tree.is_within(&o.id, r))).map(|o| o.id.as_str()).collect()
    };
    match &caller.principal {
        Principal::User { id, .. } => {
            let mut any = vec![format!("d.submitter_id = {}", binds.push(id))];
            let overseeing: Vec<&str> =
                caller.memberships.iter().filter(|(_, r)| OVERSEEING_ROLES.contains(&r.as_str())).map(|(o, _)| o.as_str()).collect();
            let overseen = within(&overseeing);
            if !overseen.is_empty() {
                any.push(format!("d.org_id IN ({})", binds.push_list(overseen)));
            }
            let mut holds = vec![format!("s.assignee_id = {}", binds.push(id))];
            for (org, role) in &caller.memberships {
                holds.push(format!("(s.assignee_id IS NULL AND s.org_id = {} AND s.role = {})", binds.push(org), binds.push(role)));
            }
            any.push(format!(
                "EXISTS (SELECT 1 FROM steps s WHERE s.document_id = d.id AND s.version = d.current_version AND ({}))",
                holds.join(" OR ")
            ));
            format!("({})", any.join(" OR "))
        }
        Principal::Client { org_id, scopes, .. } => {
            let units = within(&[org_id.as_str()]);
            if !scopes.iter().any(|s| s == "documents:read") || units.is_empty() {
                return "1 = 0".into();
            }
            format!("d.org_id IN ({})", binds.push_list(units))
        }
    }
}

async fn list_documents(State(state): AppStateRef, caller: Caller, QueryParams(q): QueryParams<ListQuery>) -> ApiResult<Json<Value>> {
    caller.require_scope("documents:read")?;
    let (limit, offset) = page_bounds(q.limit, q.cursor.as_deref())?;
    if let Some(s) = q.status.as_deref()
        && !matches!(s, "in_progress" | "returned" | "completed")
    {
        return Err(ApiError::bad_request(
            "status must be in_progress, returned or completed",
            "status phải là in_progress, returned hoặc completed",
        ));
    }
    let tree = OrgTree::load(&state.db.pool).await?;
    let mut binds = Binds::default();
    let mut condition = visibility_condition(&caller, &tree, &mut binds);
    if let Some(status) = q.status.as_deref() {
        condition = format!("{condition} AND d.status = {}", binds.push(status));
    }
    let total: i64 =
        binds.query(format!("SELECT COUNT(*) FROM documents d WHERE {condition}")).fetch_one(&state.db.pool).await?.try_get(0)?;
    let page_sql = format!(
        "SELECT {} FROM documents d WHERE {condition} ORDER BY d.created_at DESC, d.id LIMIT {limit} OFFSET {offset}",
        doc_columns!().split(", ").map(|c| format!("d.{c}")).collect::<Vec<_>>().join(", ")
    );
    let rows = binds.query(page_sql).fetch_all(&state.db.pool).await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        let doc = doc_from_row(r)?;
        let steps = load_steps(&state.db.pool, &doc.id, doc.current_version).await?;
        // The one rule for lists and single reads has the last word (fails closed).
        if can_see(&caller, &doc, &steps, &tree) {
            items.push(document_json(&state, &doc, &steps).await?);
        } else {
            tracing::error!(document = %doc.id, "the list's SQL condition and can_see disagree; document left out");
        }
    }
    let next = (offset + limit < total).then(|| (offset + limit).to_string());
    Ok(Json(json!({"items": items, "next_cursor": next, "total": total})))
}

async fn get_document(State(state): AppStateRef, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    caller.require_scope("documents:read")?;
    let (doc, steps, _) = visible_document(&state, &caller, &id).await?;
    Ok(Json(document_json(&state, &doc, &steps).await?))
}

#[derive(Deserialize)]
struct DownloadQuery {
    version: Option<i64>,
}

async fn download(
    State(state): AppStateRef,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<DownloadQuery>,
) -> ApiResult<Response> {
    caller.require_scope("documents:read")?;
    let (doc, _, _) = visible_document(&state, &caller, &id).await?;
    let version = q.version.unwrap_or(doc.current_version);
    let sha: String = sqlx::query("SELECT current_sha256 FROM versions WHERE document_id = $1 AND version = $2")
        .bind(&doc.id)
        .bind(version)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or_else(|| ApiError::not_found("version"))?
        .try_get(0)?;
    let (blobs, name) = (state.blobs.clone(), sha.clone());
    let bytes = tokio::task::spawn_blocking(move || blobs.read(&name))
        .await
        .map_err(|e| ApiError::internal("reading a stored document", e))?
        .map_err(|e| ApiError::internal("reading a stored document", e))?;
    {
        let mut tx = state.db.write().await?;
        record(&mut tx, &caller, "download", Some(&doc.id), Some(&doc.org_id), json!({"version": version, "sha256": sha})).await?;
        tx.commit().await?;
    }
    Ok(([(header::CONTENT_TYPE, "application/pdf".to_string()), (header::ETAG, format!("\"{sha}\""))], bytes).into_response())
}

// ---------------------------------------------------------------------------------------------
// Idempotency

/// A stored response to replay, when the same caller sends the same key again.
async fn idempotent_replay(state: &AppState, caller: &Caller, headers: &HeaderMap, request_sha: &str) -> ApiResult<Option<Response>> {
    let Some(key) = idempotency_key(headers)? else { return Ok(None) };
    let row = sqlx::query("SELECT request_sha256, status, body FROM idempotency WHERE owner = $1 AND idem_key = $2")
        .bind(caller.owner())
        .bind(&key)
        .fetch_optional(&state.db.pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    if row.try_get::<String, _>(0)? != request_sha {
        return Err(ApiError::unprocessable(
            "idempotency_key_reused",
            "this Idempotency-Key was already used for a different request",
            "Idempotency-Key này đã được dùng cho một yêu cầu khác",
        ));
    }
    let status = StatusCode::from_u16(row.try_get::<i64, _>(1)? as u16).unwrap_or(StatusCode::OK);
    let body: Value = serde_json::from_str(&row.try_get::<String, _>(2)?).unwrap_or(Value::Null);
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert("idempotent-replayed", header::HeaderValue::from_static("true"));
    Ok(Some(response))
}

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => match v.to_str() {
            Ok(s) if !s.is_empty() && s.len() <= 200 => Ok(Some(s.to_string())),
            _ => Err(ApiError::bad_request("Idempotency-Key must be 1 to 200 visible characters", "Idempotency-Key phải dài 1–200 ký tự")),
        },
    }
}

/// Stores a successful response under the caller's key (when the request has one), so a retry
/// gets the same answer. Written after the change commits: a crash in between makes the retry run
/// again, which the chain's own checks then refuse (the stage is already signed).
async fn store_replay(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    request_sha: &str,
    status: StatusCode,
    body: &Value,
) -> ApiResult<()> {
    if let Some(key) = idempotency_key(headers)? {
        let _guard = state.db.write_lock().await;
        sqlx::query(
            "INSERT INTO idempotency (owner, idem_key, request_sha256, status, body, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(caller.owner())
        .bind(key)
        .bind(request_sha)
        .bind(status.as_u16() as i64)
        .bind(body.to_string())
        .bind(now())
        .execute(&state.db.pool)
        .await?;
    }
    Ok(())
}

/// Appends the caller's audit entry inside `tx` (see [`audit::append`]).
async fn record(
    tx: &mut crate::db::WriteTx<'_>,
    caller: &Caller,
    action: &str,
    document_id: Option<&str>,
    org_id: Option<&str>,
    detail: Value,
) -> Result<(), sqlx::Error> {
    audit::append(tx, Record { actor: &caller.actor(), action, document_id, org_id, detail }).await
}

fn request_digest(parts: &[&[u8]]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    crate::blobs::hex(&h.finalize())
}

// ---------------------------------------------------------------------------------------------
// Submission

#[derive(Deserialize)]
struct SubmitQuery {
    title: String,
    template: String,
    /// The submitter's unit, when they hold roles in several.
    org: Option<String>,
    /// For API clients: the person submitting through them.
    on_behalf_of: Option<String>,
}

fn check_pdf_upload(body: &[u8]) -> ApiResult<()> {
    if body.is_empty() {
        return Err(ApiError::bad_request("the request body is empty: send the PDF itself", "nội dung yêu cầu trống: hãy gửi tệp PDF"));
    }
    Ok(())
}

async fn submit(
    State(state): AppStateRef,
    caller: Caller,
    headers: HeaderMap,
    QueryParams(q): QueryParams<SubmitQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require_scope("documents:submit")?;
    let request_sha = request_digest(&[b"submit", q.title.as_bytes(), q.template.as_bytes(), &body]);
    if let Some(replay) = idempotent_replay(&state, &caller, &headers, &request_sha).await? {
        return Ok(replay);
    }
    check_pdf_upload(&body)?;
    let tree = OrgTree::load(&state.db.pool).await?;
    // The submitter and their unit.
    let (submitter_id, memberships) = match &caller.principal {
        Principal::User { id, .. } => (id.clone(), caller.memberships.clone()),
        Principal::Client { org_id, .. } => {
            let username = q.on_behalf_of.as_deref().ok_or_else(|| {
                ApiError::bad_request(
                    "an API client submits on behalf of a person: add on_behalf_of=USERNAME",
                    "ứng dụng phải nộp thay một người: thêm on_behalf_of=TÊN",
                )
            })?;
            let id: String = sqlx::query("SELECT id FROM users WHERE username = $1")
                .bind(username)
                .fetch_optional(&state.db.pool)
                .await?
                .ok_or_else(|| ApiError::not_found("user"))?
                .try_get(0)?;
            let ms: Vec<(String, String)> = sqlx::query("SELECT org_id, role FROM memberships WHERE user_id = $1")
                .bind(&id)
                .fetch_all(&state.db.pool)
                .await?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_, sqlx::Error>>()?;
            if !ms.iter().any(|(o, _)| tree.is_within(o, org_id)) {
                return Err(ApiError::forbidden(
                    "that person is outside this client's organisation",
                    "người này không thuộc đơn vị của ứng dụng",
                ));
            }
            (id, ms)
        }
    };
    let org_id = match &q.org {
        Some(o) if memberships.iter().any(|(m, _)| m == o) => o.clone(),
        Some(_) => return Err(ApiError::forbidden("you hold no role in that organisation", "bạn không có vai trò tại đơn vị đó")),
        None => {
            let mut orgs: Vec<&String> = memberships.iter().map(|(o, _)| o).collect();
            orgs.dedup();
            match orgs[..] {
                [one] => one.clone(),
                [] => return Err(ApiError::forbidden("you hold no role in any organisation", "bạn chưa có vai trò tại đơn vị nào")),
                _ => {
                    return Err(ApiError::bad_request(
                        "you belong to several organisations: add org=ID",
                        "bạn thuộc nhiều đơn vị: thêm org=ID",
                    ));
                }
            }
        }
    };
    let stages = load_template(&state, &q.template).await?;
    let plan = plan_steps(&state, &tree, &stages, &org_id, &submitter_id).await?;
    let doc_id = new_id();
    let original = store_upload_with_fields(&state, body, &plan).await?;
    let created = now();
    let mut tx = state.db.write().await?;
    sqlx::query(concat!("INSERT INTO documents (", doc_columns!(), ") VALUES ($1, $2, $3, $4, $5, 'in_progress', 1, NULL, $6, $6)"))
        .bind(&doc_id)
        .bind(&org_id)
        .bind(&submitter_id)
        .bind(&q.template)
        .bind(&q.title)
        .bind(created)
        .execute(&mut *tx)
        .await?;
    insert_version(&mut tx, &doc_id, 1, &original, &plan, created).await?;
    record(&mut tx, &caller, "submit", Some(&doc_id), Some(&org_id), json!({"version": 1, "title": q.title, "sha256": original.1})).await?;
    let doc = DocRow {
        id: doc_id.clone(),
        org_id,
        submitter_id,
        template_id: q.template.clone(),
        title: q.title.clone(),
        status: "in_progress".into(),
        current_version: 1,
        return_reason: None,
        created_at: created,
        updated_at: created,
    };
    tx.commit().await?;
    let steps = load_steps(&state.db.pool, &doc_id, 1).await?;
    let body = document_json(&state, &doc, &steps).await?;
    store_replay(&state, &caller, &headers, &request_sha, StatusCode::CREATED, &body).await?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn load_template(state: &AppState, id: &str) -> ApiResult<Vec<Stage>> {
    let stages: String = sqlx::query("SELECT stages FROM templates WHERE id = $1")
        .bind(id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or_else(|| ApiError::not_found("template"))?
        .try_get(0)?;
    serde_json::from_str(&stages).map_err(|e| ApiError::internal("reading a chain template", e))
}

async fn plan_steps(
    state: &AppState,
    tree: &OrgTree,
    stages: &[Stage],
    org_id: &str,
    submitter_id: &str,
) -> ApiResult<Vec<workflow::StepPlan>> {
    let rows =
        sqlx::query("SELECT m.org_id, m.role, u.id, u.username FROM memberships m JOIN users u ON u.id = m.user_id ORDER BY u.username")
            .fetch_all(&state.db.pool)
            .await?;
    let members: Vec<(String, String, String, String)> =
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))).collect::<Result<_, sqlx::Error>>()?;
    let holders = |org: &str, role: &str| -> Vec<(String, String)> {
        members.iter().filter(|m| m.0 == org && m.1 == role).map(|m| (m.2.clone(), m.3.clone())).collect()
    };
    workflow::plan(stages, tree, org_id, submitter_id, now(), &holders)
        .map_err(|e| ApiError::unprocessable("chain_cannot_start", e.en, e.vi))
}

/// Stores the upload, then a copy with one locked signature field per step. Returns (original,
/// prepared) blob names.
async fn store_upload_with_fields(state: &AppState, body: Bytes, plan: &[workflow::StepPlan]) -> ApiResult<(String, String)> {
    let blobs = state.blobs.clone();
    let fields = workflow::locks(plan);
    tokio::task::spawn_blocking(move || {
        let original = blobs.put(&body).map_err(|e| ApiError::internal("storing the upload", e))?;
        let prepared = signing::add_stage_fields(&blobs, &original, &fields).map_err(|e| pdf_error(&e))?;
        Ok((original, prepared))
    })
    .await
    .map_err(|e| ApiError::internal("preparing the document", e))?
}

fn pdf_error(e: &signing::SigningError) -> ApiError {
    if e.is_input_error() {
        ApiError::unprocessable("invalid_pdf", format!("the PDF cannot be used: {e}"), format!("không dùng được tệp PDF: {e}"))
    } else {
        ApiError::internal("working on the PDF", e)
    }
}

async fn insert_version(
    tx: &mut crate::db::WriteTx<'_>,
    doc_id: &str,
    version: i64,
    blobs: &(String, String),
    plan: &[workflow::StepPlan],
    created: i64,
) -> ApiResult<()> {
    sqlx::query("INSERT INTO versions (document_id, version, original_sha256, current_sha256, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(doc_id)
        .bind(version)
        .bind(&blobs.0)
        .bind(&blobs.1)
        .bind(created)
        .execute(&mut **tx)
        .await?;
    for s in plan {
        sqlx::query("INSERT INTO steps (document_id, version, field, stage, stage_name, org_id, role, assignee_id, allow_repeat, deadline) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(doc_id)
            .bind(version)
            .bind(&s.field)
            .bind(s.stage as i64)
            .bind(&s.stage_name)
            .bind(&s.org_id)
            .bind(&s.role)
            .bind(&s.assignee_id)
            .bind(s.allow_repeat as i64)
            .bind(s.deadline)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// A returned document comes back as a new version; its chain starts again from the first stage.
async fn resubmit(
    State(state): AppStateRef,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require_scope("documents:submit")?;
    let request_sha = request_digest(&[b"resubmit", id.as_bytes(), &body]);
    if let Some(replay) = idempotent_replay(&state, &caller, &headers, &request_sha).await? {
        return Ok(replay);
    }
    check_pdf_upload(&body)?;
    let (doc, _, tree) = visible_document(&state, &caller, &id).await?;
    if caller.user_id() != Some(doc.submitter_id.as_str()) {
        return Err(ApiError::forbidden("only the submitter can send a new version", "chỉ người nộp mới được gửi phiên bản mới"));
    }
    if doc.status != "returned" {
        return Err(ApiError::conflict(
            "not_returned",
            format!("the document is {}; a new version is sent only after it was returned", doc.status),
            "chỉ gửi phiên bản mới khi văn bản đã bị trả lại",
        ));
    }
    let stages = load_template(&state, &doc.template_id).await?;
    let plan = plan_steps(&state, &tree, &stages, &doc.org_id, &doc.submitter_id).await?;
    let blobs = store_upload_with_fields(&state, body, &plan).await?;
    let version = doc.current_version + 1;
    let mut tx = state.db.write().await?;
    let changed = sqlx::query("UPDATE documents SET status = 'in_progress', current_version = $1, return_reason = NULL, updated_at = $2 WHERE id = $3 AND current_version = $4 AND status = 'returned'")
        .bind(version)
        .bind(now())
        .bind(&doc.id)
        .bind(doc.current_version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if changed != 1 {
        return Err(ApiError::concurrent_change());
    }
    insert_version(&mut tx, &doc.id, version, &blobs, &plan, now()).await?;
    record(&mut tx, &caller, "resubmit", Some(&doc.id), Some(&doc.org_id), json!({"version": version, "sha256": blobs.1})).await?;
    tx.commit().await?;
    let doc = load_document(&state.db.pool, &doc.id).await?.ok_or_else(|| ApiError::not_found("document"))?;
    let steps = load_steps(&state.db.pool, &doc.id, version).await?;
    let body = document_json(&state, &doc, &steps).await?;
    store_replay(&state, &caller, &headers, &request_sha, StatusCode::CREATED, &body).await?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

// ---------------------------------------------------------------------------------------------
// Approval

#[derive(Deserialize, Default)]
struct ApproveRequest {
    reason: Option<String>,
}

/// The step the caller signs now, and for whom.
struct SignTarget {
    doc: DocRow,
    /// Every step of the current version, as read under the document's lock.
    steps: Vec<StepRow>,
    step: StepRow,
    on_behalf_of: Option<String>,
    source_sha: String,
    certify: bool,
}

async fn sign_target(state: &AppState, caller: &Caller, id: &str) -> ApiResult<SignTarget> {
    let me = caller.require_user()?.to_string();
    // The document with its current version's blob, in one statement.
    let row = sqlx::query(concat!(
        "SELECT ",
        doc_columns!(),
        ", (SELECT current_sha256 FROM versions v WHERE v.document_id = documents.id AND v.version = documents.current_version) FROM documents WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or_else(|| ApiError::not_found("document"))?;
    let (doc, source_sha): (DocRow, String) = (doc_from_row(&row)?, row.try_get(10)?);
    let steps = load_steps(&state.db.pool, &doc.id, doc.current_version).await?;
    // Delegations matter only to someone who holds no open step of the current stage themselves.
    let holds_open_step =
        current_stage(&steps).is_some_and(|stage| steps.iter().any(|s| s.stage == stage && s.signed_by.is_none() && eligible(caller, s)));
    let delegations = if holds_open_step { Vec::new() } else { active_delegations(state, &me).await? };
    let delegated =
        |s: &StepRow| delegations.iter().find(|(org, role, _)| *org == s.org_id && *role == s.role).map(|(_, _, from)| from.clone());
    let involved = steps.iter().any(|s| eligible(caller, s) || (s.assignee_id.is_none() && delegated(s).is_some()));
    if !involved && !can_see(caller, &doc, &steps, &OrgTree::load(&state.db.pool).await?) {
        return Err(ApiError::not_found("document"));
    }
    match doc.status.as_str() {
        "in_progress" => {}
        "completed" => {
            return Err(ApiError::conflict(
                "document_completed",
                "the chain is complete: the document can no longer change",
                "quy trình đã hoàn tất: văn bản không thể thay đổi",
            ));
        }
        other => {
            return Err(ApiError::conflict(
                "not_in_progress",
                format!("the document is {other}: it waits for a new version from its submitter"),
                "văn bản đã bị trả lại: chờ người nộp gửi phiên bản mới",
            ));
        }
    }
    let stage =
        current_stage(&steps).ok_or_else(|| ApiError::conflict("document_completed", "every stage is signed", "mọi bước đã được ký"))?;
    let open: Vec<&StepRow> = steps.iter().filter(|s| s.stage == stage && s.signed_by.is_none()).collect();
    let (step, on_behalf_of) = if let Some(s) = open.iter().find(|s| eligible(caller, s)) {
        ((*s).clone(), None)
    } else if let Some((s, from)) = open.iter().filter(|s| s.assignee_id.is_none()).find_map(|s| delegated(s).map(|f| (*s, f))) {
        (s.clone(), Some(from))
    } else if steps.iter().any(|s| s.signed_by.is_none() && (eligible(caller, s) || delegated(s).is_some())) {
        let waiting = &open[0].stage_name;
        return Err(ApiError::conflict(
            "not_your_turn",
            format!("your stage is not reached yet: \"{waiting}\" must sign first"),
            format!("chưa đến lượt bạn: bước \"{waiting}\" phải ký trước"),
        ));
    } else {
        return Err(ApiError::forbidden(
            "you hold no open stage of this document's chain",
            "bạn không phụ trách bước nào còn mở trong quy trình của văn bản này",
        ));
    };
    if !step.allow_repeat && steps.iter().any(|s| s.signed_by.as_deref() == Some(me.as_str())) {
        return Err(ApiError::forbidden(
            "you already signed an earlier stage of this chain",
            "bạn đã ký một bước trước trong quy trình này",
        ));
    }
    let certify = stage == 0 && !steps.iter().any(|s| s.signed_by.is_some());
    Ok(SignTarget { doc, steps, step, on_behalf_of, source_sha, certify })
}

/// (org, role, from user) of delegations to `user` still valid now.
async fn active_delegations(state: &AppState, user: &str) -> ApiResult<Vec<(String, String, String)>> {
    let rows = sqlx::query("SELECT org_id, role, from_user FROM delegations WHERE to_user = $1 AND valid_until > $2")
        .bind(user)
        .bind(now())
        .fetch_all(&state.db.pool)
        .await?;
    Ok(rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect::<Result<_, sqlx::Error>>()?)
}

/// The caller's key, opened once per process.
async fn signer_key(state: &Arc<AppState>, user_id: &str) -> ApiResult<Arc<SignerKey>> {
    if let Some(k) = state.keys.lock().expect("key cache lock").get(user_id) {
        return Ok(k.clone());
    }
    let spec: Option<String> =
        sqlx::query("SELECT key_spec FROM users WHERE id = $1").bind(user_id).fetch_one(&state.db.pool).await?.try_get(0)?;
    let spec: KeySpecRecord = spec.as_deref().and_then(|s| serde_json::from_str(s).ok()).ok_or_else(|| {
        ApiError::unprocessable(
            "no_signing_key",
            "no signing key is set up for you: ask the administrator",
            "bạn chưa được cấu hình khóa ký: hãy liên hệ quản trị viên",
        )
    })?;
    let remote = spec.key.starts_with("csc:");
    let opened = tokio::task::spawn_blocking(move || -> Result<SignerKey, String> {
        let key_password = spec.key_password_env.as_deref().and_then(|v| std::env::var(v).ok());
        let ks = kyso_keyring::KeySpec { key: spec.key, cert: spec.cert, chain: spec.chain, key_password, config: spec.config };
        let (key, chain) = kyso_keyring::load_key(&ks, crate::clock::unix_now()).map_err(|e| format!("{e:#}"))?;
        SignerKey::new(Arc::from(key), chain, remote).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| ApiError::internal("opening a signing key", e))?
    .map_err(|e| {
        ApiError::unprocessable(
            "signing_key_unusable",
            format!("your signing key cannot be used: {e}"),
            format!("không dùng được khóa ký của bạn: {e}"),
        )
    })?;
    let opened = Arc::new(opened);
    state.keys.lock().expect("key cache lock").insert(user_id.to_string(), opened.clone());
    Ok(opened)
}

/// How a user's key is recorded: a key reference and certificate paths, and the name of the
/// environment variable holding its password (never the password).
#[derive(Serialize, Deserialize)]
pub struct KeySpecRecord {
    pub key: String,
    pub cert: Option<std::path::PathBuf>,
    pub chain: Option<std::path::PathBuf>,
    pub config: Option<std::path::PathBuf>,
    pub key_password_env: Option<String>,
}

/// A signature made and waiting to be recorded, and where its outcome goes.
struct PendingSignature {
    caller: Caller,
    target: SignTarget,
    new_sha: String,
    reason: Option<String>,
    revocation: String,
    reply: tokio::sync::oneshot::Sender<ApiResult<(DocRow, Vec<StepRow>)>>,
}

/// Group commit of signatures. Every signature's rows and audit entry go through the one write
/// lock, and a commit waits for the disk: one transaction each made the lock the bottleneck
/// under load (fifty approvers spent most of their time queued for it). So a committer queues
/// its signature and the first to become leader records everything queued, in one transaction
/// and one disk flush; the others find their outcome ready.
#[derive(Default)]
pub(crate) struct SignatureQueue {
    pending: std::sync::Mutex<Vec<PendingSignature>>,
    leader: tokio::sync::Mutex<()>,
}

/// Records a signed step: the step, the version's new blob (only if nobody moved it meanwhile),
/// the document's status and the audit entry, committed together (with other signatures queued
/// at the same time). Returns the document and its steps as they now stand.
async fn commit_signature(
    state: &Arc<AppState>,
    caller: &Caller,
    target: SignTarget,
    new_sha: String,
    reason: Option<String>,
    revocation: String,
) -> ApiResult<(DocRow, Vec<StepRow>)> {
    caller.require_user()?;
    let (reply, mut outcome) = tokio::sync::oneshot::channel();
    let job = PendingSignature { caller: caller.clone(), target, new_sha, reason, revocation, reply };
    state.signature_queue.pending.lock().expect("signature queue lock").push(job);
    {
        let _leader = state.signature_queue.leader.lock().await;
        // A leader before us may have taken ours; if not, it is still queued, and we lead.
        if let Ok(result) = outcome.try_recv() {
            return result;
        }
        let group = std::mem::take(&mut *state.signature_queue.pending.lock().expect("signature queue lock"));
        // In a task of its own: a client hanging up must not cancel others' commits halfway.
        let st = state.clone();
        tokio::spawn(async move { commit_group(&st, group).await }).await.map_err(|e| ApiError::internal("committing signatures", e))?;
    }
    outcome.await.unwrap_or_else(|_| Err(ApiError::internal("committing a signature", "its outcome was lost")))
}

/// Commits the group in one transaction; if any of it fails (a concurrent change, say), each
/// signature is committed on its own instead, so one failure touches only its own request.
async fn commit_group(state: &AppState, group: Vec<PendingSignature>) {
    if group.len() > 1 {
        let together = async {
            let mut tx = state.db.write().await?;
            let mut outcomes = Vec::with_capacity(group.len());
            for job in &group {
                outcomes.push(apply_signature(&mut tx, job).await?);
            }
            tx.commit().await?;
            Ok::<_, ApiError>(outcomes)
        };
        match together.await {
            Ok(outcomes) => {
                for (job, outcome) in group.into_iter().zip(outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
                return;
            }
            Err(e) => tracing::info!(signatures = group.len(), error = %e.body(), "a group commit failed; committing one at a time"),
        }
    }
    for job in group {
        let alone = async {
            let mut tx = state.db.write().await?;
            let outcome = apply_signature(&mut tx, &job).await?;
            tx.commit().await?;
            Ok(outcome)
        };
        let outcome = alone.await;
        let _ = job.reply.send(outcome);
    }
}

/// One signature's rows and audit entry, inside `tx`.
async fn apply_signature(tx: &mut crate::db::WriteTx<'_>, job: &PendingSignature) -> ApiResult<(DocRow, Vec<StepRow>)> {
    let (caller, t, new_sha) = (&job.caller, &job.target, job.new_sha.as_str());
    let me = caller.require_user()?;
    let at = now();
    let moved = sqlx::query("UPDATE versions SET current_sha256 = $1 WHERE document_id = $2 AND version = $3 AND current_sha256 = $4")
        .bind(new_sha)
        .bind(&t.doc.id)
        .bind(t.doc.current_version)
        .bind(&t.source_sha)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    let signed = sqlx::query("UPDATE steps SET signed_by = $1, on_behalf_of = $2, signed_at = $3 WHERE document_id = $4 AND version = $5 AND field = $6 AND signed_by IS NULL")
        .bind(me)
        .bind(&t.on_behalf_of)
        .bind(at)
        .bind(&t.doc.id)
        .bind(t.doc.current_version)
        .bind(&t.step.field)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if moved != 1 || signed != 1 {
        // The transaction is rolled back; the new blob stays unreferenced.
        return Err(ApiError::concurrent_change());
    }
    // The status follows from the steps left open, read in the same statement.
    let status: String = sqlx::query(
        "UPDATE documents SET status = CASE WHEN EXISTS (SELECT 1 FROM steps WHERE document_id = $1 AND version = $2 AND signed_by IS NULL) THEN 'in_progress' ELSE 'completed' END, updated_at = $3 WHERE id = $1 AND current_version = $2 AND status = 'in_progress' RETURNING status",
    )
    .bind(&t.doc.id)
    .bind(t.doc.current_version)
    .bind(at)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(ApiError::concurrent_change)?
    .try_get(0)?;
    let completed = status == "completed";
    record(tx, caller, "sign", Some(&t.doc.id), Some(&t.doc.org_id), json!({"version": t.doc.current_version, "field": t.step.field, "stage": t.step.stage, "on_behalf_of": t.on_behalf_of, "sha256": new_sha, "reason": job.reason, "completed": completed, "revocation": job.revocation})).await?;
    let doc = DocRow { status, updated_at: at, ..t.doc.clone() };
    let mut steps = t.steps.clone();
    for s in steps.iter_mut().filter(|s| s.field == t.step.field) {
        (s.signed_by, s.on_behalf_of, s.signed_at) = (Some(me.to_string()), t.on_behalf_of.clone(), Some(at));
    }
    Ok((doc, steps))
}

/// The signing-time revocation check Vietnam's rules ask for (OCSP, else the latest CRL): a
/// revoked signer is refused; an unanswerable one is refused with `require_revocation`, else
/// signs with a warning. Returns what was found, for the audit entry. Asks the network (on a
/// blocking thread) only when no answer is kept.
async fn revocation_gate(state: &Arc<AppState>, key: &Arc<SignerKey>) -> ApiResult<String> {
    let answer = match state.revocation.cached(key.chain.signer(), crate::clock::unix_now()) {
        Some(answer) => answer,
        None => {
            let (st, key) = (state.clone(), key.clone());
            tokio::task::spawn_blocking(move || {
                let chain = &key.chain;
                st.revocation.check(chain.signer(), &chain.0, std::time::Duration::from_secs(10), crate::clock::unix_now())
            })
            .await
            .map_err(|e| ApiError::internal("checking revocation", e))?
        }
    };
    match answer {
        kyso_ltv::Revocation::Good { responder, .. } => Ok(format!("good ({responder})")),
        kyso_ltv::Revocation::Revoked { since } => Err(ApiError::unprocessable(
            "certificate_revoked",
            format!("your certificate was revoked (since {since}); signing refused"),
            format!("chứng thư số của bạn đã bị thu hồi (từ {since}); không thể ký"),
        )),
        other => {
            let why = match other {
                kyso_ltv::Revocation::Unavailable(why) => why,
                _ => "the OCSP responder does not know the certificate".into(),
            };
            if state.config.require_revocation {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "revocation_unavailable",
                    format!("the certificate's revocation status cannot be checked now: {why}"),
                    format!("chưa kiểm tra được tình trạng thu hồi của chứng thư: {why}"),
                ));
            }
            tracing::warn!(reason = %why, "signing without a revocation answer");
            Ok(format!("not checked: {why}"))
        }
    }
}

fn approval_for(caller: &Caller, t: &SignTarget, reason: Option<String>) -> Approval {
    let name = match &caller.principal {
        Principal::User { full_name, .. } => full_name.clone(),
        Principal::Client { name, .. } => name.clone(),
    };
    let reason = reason.or_else(|| Some(format!("Phê duyệt: {}", t.step.stage_name)));
    Approval { field: t.step.field.clone(), certify: t.certify, signer_name: name, reason }
}

async fn approve(
    State(state): AppStateRef,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    let req: ApproveRequest = if body.is_empty() { ApproveRequest::default() } else { parse_json(&body)? };
    let request_sha = request_digest(&[b"approve", id.as_bytes(), &body]);
    if let Some(replay) = idempotent_replay(&state, &caller, &headers, &request_sha).await? {
        return Ok(replay);
    }
    let me = caller.require_user()?.to_string();
    if key_is_remote(&state, &me).await? {
        // A remote key may wait minutes for the signer's phone: check what can be checked now,
        // answer 202 with an operation to poll, and sign in the background.
        sign_target(&state, &caller, &id).await?;
        let op = start_operation(&state, &caller, "approve", std::slice::from_ref(&id)).await?;
        let (st, c, op_id) = (state.clone(), caller.clone(), op.clone());
        tokio::spawn(async move {
            let outcome = approve_now(&st, &c, &id, req.reason).await;
            finish_operation(&st, &op_id, outcome).await;
        });
        return accepted(&state, &caller, &headers, &request_sha, &op).await;
    }
    // In a task of its own: once started, a signature is finished and recorded, with the answer
    // kept for a retry under the same idempotency key, even if the client hangs up.
    let (st, c) = (state.clone(), caller.clone());
    let body = tokio::spawn(async move {
        let body = approve_now(&st, &c, &id, req.reason).await?;
        store_replay(&st, &c, &headers, &request_sha, StatusCode::OK, &body).await?;
        Ok::<_, ApiError>(body)
    })
    .await
    .map_err(|e| ApiError::internal("signing", e))??;
    Ok((StatusCode::OK, Json(body)).into_response())
}

/// Signs the caller's stage of document `id` now (holding the document's lock) and returns the
/// document as it then stands.
async fn approve_now(state: &Arc<AppState>, caller: &Caller, id: &str, reason: Option<String>) -> ApiResult<Value> {
    let me = caller.require_user()?.to_string();
    let lock = &state.document_locks[state.document_lock_index(id)];
    let _doc_guard = lock.lock().await;
    let target = sign_target(state, caller, id).await?;
    let key = signer_key(state, &me).await?;
    let approval = approval_for(caller, &target, reason.clone());
    let source = target.source_sha.clone();
    let (revocation, signed) = sign_checked(state, key, move |st, key| signing::sign_stage(&st.blobs, &source, key, &approval)).await?;
    let signed = signed.map_err(|e| signing_failure(&e))?;
    // Syncing the file to disk waits for the disk, so it runs outside the CPU queue.
    let blobs = state.blobs.clone();
    let new_sha = tokio::task::spawn_blocking(move || blobs.commit(signed))
        .await
        .map_err(|e| ApiError::internal("storing the signed document", e))?
        .map_err(|e| ApiError::internal("storing the signed document", e))?;
    let (doc, steps) = commit_signature(state, caller, target, new_sha, reason, revocation).await?;
    document_json(state, &doc, &steps).await
}

/// Checks the signer's revocation status, then runs `sign` where it belongs: queued for a core
/// with a local key, on a blocking thread of its own with a remote one (which may wait minutes
/// for the signer's phone). Returns what the check found, for the audit entry, and `sign`'s result.
async fn sign_checked<T: Send + 'static>(
    state: &Arc<AppState>,
    key: Arc<SignerKey>,
    sign: impl FnOnce(&AppState, &SignerKey) -> T + Send + 'static,
) -> ApiResult<(String, T)> {
    let revocation = revocation_gate(state, &key).await?;
    let (st, remote) = (state.clone(), key.remote);
    let work = move || sign(&st, &key);
    let result = if remote { tokio::task::spawn_blocking(work).await } else { state.run_cpu(work).await }
        .map_err(|e| ApiError::internal("signing", e))?;
    Ok((revocation, result))
}

/// Whether the user's key is a remote provider's (`csc:`), where a signature may wait for a
/// confirmation on the signer's phone.
async fn key_is_remote(state: &AppState, user_id: &str) -> ApiResult<bool> {
    if let Some(k) = state.keys.lock().expect("key cache lock").get(user_id) {
        return Ok(k.remote);
    }
    let spec: Option<String> =
        sqlx::query("SELECT key_spec FROM users WHERE id = $1").bind(user_id).fetch_one(&state.db.pool).await?.try_get(0)?;
    Ok(spec.as_deref().and_then(|s| serde_json::from_str::<KeySpecRecord>(s).ok()).is_some_and(|k| k.key.starts_with("csc:")))
}

/// Records a pending operation, refusing a second one on the same documents by the same person.
async fn start_operation(state: &AppState, caller: &Caller, kind: &str, documents: &[String]) -> ApiResult<String> {
    let owner = caller.owner();
    let pending = sqlx::query("SELECT document_ids FROM operations WHERE owner = $1 AND state = 'pending'")
        .bind(&owner)
        .fetch_all(&state.db.pool)
        .await?;
    for row in &pending {
        let ids: Vec<String> = serde_json::from_str(&row.try_get::<String, _>(0)?).unwrap_or_default();
        if ids.iter().any(|i| documents.contains(i)) {
            return Err(ApiError::conflict(
                "already_pending",
                "a signature of yours on this document is already waiting for confirmation",
                "một yêu cầu ký của bạn cho văn bản này đang chờ xác nhận",
            ));
        }
    }
    let id = new_id();
    let _guard = state.db.write_lock().await;
    sqlx::query("INSERT INTO operations (id, owner, kind, document_ids, state, created_at) VALUES ($1, $2, $3, $4, 'pending', $5)")
        .bind(&id)
        .bind(&owner)
        .bind(kind)
        .bind(serde_json::to_string(documents).expect("ids serialise"))
        .bind(now())
        .execute(&state.db.pool)
        .await?;
    Ok(id)
}

async fn finish_operation(state: &AppState, id: &str, outcome: ApiResult<Value>) {
    let (st, result) = match outcome {
        Ok(v) => ("done", v),
        Err(e) => ("failed", e.body()),
    };
    let _guard = state.db.write_lock().await;
    let done = sqlx::query("UPDATE operations SET state = $1, result = $2, finished_at = $3 WHERE id = $4")
        .bind(st)
        .bind(result.to_string())
        .bind(now())
        .bind(id)
        .execute(&state.db.pool)
        .await;
    if let Err(e) = done {
        tracing::error!(operation = id, error = %e, "cannot record the end of an operation");
    }
}

/// 202 with the operation to poll (stored for idempotent replays too).
async fn accepted(state: &AppState, caller: &Caller, headers: &HeaderMap, request_sha: &str, op: &str) -> ApiResult<Response> {
    let body = json!({"operation_id": op, "status": "pending", "location": format!("/api/v1/operations/{op}")});
    store_replay(state, caller, headers, request_sha, StatusCode::ACCEPTED, &body).await?;
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, format!("/api/v1/operations/{op}"))], Json(body)).into_response())
}

/// An asynchronous approval's state: pending, done (with the document or the batch results) or
/// failed (with the error). Only its owner may see it.
async fn get_operation(State(state): AppStateRef, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let row = sqlx::query("SELECT owner, kind, document_ids, state, result, created_at, finished_at FROM operations WHERE id = $1")
        .bind(&id)
        .fetch_optional(&state.db.pool)
        .await?
        .filter(|r| r.try_get::<String, _>(0).ok().as_deref() == Some(caller.owner().as_str()))
        .ok_or_else(|| ApiError::not_found("operation"))?;
    let docs: Value = serde_json::from_str(&row.try_get::<String, _>(2)?).unwrap_or(Value::Null);
    let result: Option<String> = row.try_get(4)?;
    Ok(Json(json!({
        "id": id, "kind": row.try_get::<String, _>(1)?, "document_ids": docs, "state": row.try_get::<String, _>(3)?,
        "result": result.and_then(|r| serde_json::from_str::<Value>(&r).ok()),
        "created_at": row.try_get::<i64, _>(5)?, "finished_at": row.try_get::<Option<i64>, _>(6)?,
    })))
}

/// An administrator sets the key backend a person signs with: a key file, a token (`pkcs11:`,
/// `hsm:`) or a remote provider (`csc:`); secrets only as names of environment variables.
async fn set_user_key(
    State(state): AppStateRef,
    caller: Caller,
    Path(username): Path<String>,
    JsonBody(spec): JsonBody<KeySpecRecord>,
) -> ApiResult<StatusCode> {
    caller.require_user()?;
    let row = sqlx::query("SELECT id FROM users WHERE username = $1")
        .bind(&username)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let user_id: String = row.try_get(0)?;
    let orgs: Vec<String> = sqlx::query("SELECT org_id FROM memberships WHERE user_id = $1")
        .bind(&user_id)
        .fetch_all(&state.db.pool)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let tree = OrgTree::load(&state.db.pool).await?;
    if orgs.is_empty() || !orgs.iter().all(|o| administers(&caller, &tree, o)) {
        return Err(ApiError::forbidden(
            "only an administrator of every unit the person belongs to can set their key",
            "chỉ quản trị viên của mọi đơn vị người này thuộc về mới được đặt khóa ký",
        ));
    }
    if spec.key.trim().is_empty() {
        return Err(ApiError::bad_request(
            "key must name a key file, a token or a provider",
            "cần chỉ rõ tệp khóa, token hoặc nhà cung cấp",
        ));
    }
    let mut tx = state.db.write().await?;
    sqlx::query("UPDATE users SET key_spec = $1 WHERE id = $2")
        .bind(serde_json::to_string(&spec).expect("a key spec serialises"))
        .bind(&user_id)
        .execute(&mut *tx)
        .await?;
    record(&mut tx, &caller, "key_set", None, orgs.first().map(String::as_str), json!({"user": username, "key": spec.key})).await?;
    tx.commit().await?;
    state.keys.lock().expect("key cache lock").remove(&user_id);
    Ok(StatusCode::NO_CONTENT)
}

fn signing_failure(e: &signing::SigningError) -> ApiError {
    match e {
        signing::SigningError::Pades(kyso_pades::Error::Certificate(m)) => ApiError::unprocessable(
            "certificate_unusable",
            format!("your certificate cannot sign: {m}"),
            format!("chứng thư số của bạn không dùng để ký được: {m}"),
        ),
        signing::SigningError::Pades(kyso_pades::Error::Key(k)) | signing::SigningError::Key(k) => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "key_backend_failed",
            format!("the signing key did not sign: {k}"),
            format!("khóa ký không thực hiện được việc ký: {k}"),
        ),
        other => pdf_error(other),
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}"), format!("JSON không hợp lệ: {e}")))
}

#[derive(Deserialize)]
struct ReturnRequest {
    reason: String,
}

/// Anyone who could sign the current stage may instead return the document, with a reason.
async fn return_document(
    State(state): AppStateRef,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<ReturnRequest>,
) -> ApiResult<Json<Value>> {
    if req.reason.trim().is_empty() {
        return Err(ApiError::bad_request("say why the document is returned", "cần nêu lý do trả lại"));
    }
    let lock = &state.document_locks[state.document_lock_index(&id)];
    let _doc_guard = lock.lock().await;
    let target = sign_target(&state, &caller, &id).await?;
    {
        let mut tx = state.db.write().await?;
        let changed = sqlx::query("UPDATE documents SET status = 'returned', return_reason = $1, updated_at = $2 WHERE id = $3 AND status = 'in_progress' AND current_version = $4")
            .bind(&req.reason)
            .bind(now())
            .bind(&id)
            .bind(target.doc.current_version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed != 1 {
            return Err(ApiError::concurrent_change());
        }
        record(
            &mut tx,
            &caller,
            "return",
            Some(&id),
            Some(&target.doc.org_id),
            json!({"version": target.doc.current_version, "stage": target.step.stage, "reason": req.reason}),
        )
        .await?;
        tx.commit().await?;
    }
    let doc = load_document(&state.db.pool, &id).await?.ok_or_else(|| ApiError::not_found("document"))?;
    let steps = load_steps(&state.db.pool, &id, doc.current_version).await?;
    Ok(Json(document_json(&state, &doc, &steps).await?))
}

#[derive(Deserialize)]
struct BatchRequest {
    document_ids: Vec<String>,
    reason: Option<String>,
}

/// A principal approves many documents in one step: one key operation for the lot where the
/// backend allows (one phone confirmation). Each document succeeds or fails on its own.
async fn approve_batch(State(state): AppStateRef, caller: Caller, JsonBody(req): JsonBody<BatchRequest>) -> ApiResult<Response> {
    let me = caller.require_user()?.to_string();
    if key_is_remote(&state, &me).await? {
        if req.document_ids.is_empty() || req.document_ids.len() > 2000 {
            return Err(ApiError::bad_request("give between 1 and 2000 non-empty document ids", "cần từ 1 đến 2000 mã văn bản"));
        }
        let op = start_operation(&state, &caller, "batch", &req.document_ids).await?;
        let (st, c, op_id) = (state.clone(), caller.clone(), op.clone());
        tokio::spawn(async move {
            let outcome = batch_now(&st, &c, req).await;
            finish_operation(&st, &op_id, outcome).await;
        });
        let body = json!({"operation_id": op, "status": "pending", "location": format!("/api/v1/operations/{op}")});
        return Ok((StatusCode::ACCEPTED, [(header::LOCATION, format!("/api/v1/operations/{op}"))], Json(body)).into_response());
    }
    let (st, c) = (state.clone(), caller.clone());
    let outcome =
        tokio::spawn(async move { batch_now(&st, &c, req).await }).await.map_err(|e| ApiError::internal("signing a batch", e))??;
    Ok(Json(outcome).into_response())
}

async fn batch_now(state: &Arc<AppState>, caller: &Caller, req: BatchRequest) -> ApiResult<Value> {
    let me = caller.require_user()?.to_string();
    let (state, caller) = (state.clone(), caller.clone());
    if req.document_ids.is_empty() || req.document_ids.len() > 2000 || req.document_ids.iter().any(String::is_empty) {
        return Err(ApiError::bad_request("give between 1 and 2000 non-empty document ids", "cần từ 1 đến 2000 mã văn bản"));
    }
    let mut ids = req.document_ids.clone();
    ids.sort();
    ids.dedup();
    // Lock every document's stripe, in stripe order (no deadlock with single approvals).
    let mut stripes: Vec<usize> = ids.iter().map(|id| state.document_lock_index(id)).collect();
    stripes.sort_unstable();
    stripes.dedup();
    let mut guards = Vec::with_capacity(stripes.len());
    for s in stripes {
        guards.push(state.document_locks[s].lock().await);
    }
    let mut results: Vec<Value> = Vec::new();
    let mut targets = Vec::new();
    for id in &ids {
        match sign_target(&state, &caller, id).await {
            Ok(t) if t.certify => results.push(json!({"document_id": id, "status": "error", "error": ApiError::bad_request(
                "the first stage certifies the document: sign it on its own, not in a batch",
                "bước đầu tiên chứng thực văn bản: hãy ký riêng, không ký theo lô").body()["error"]})),
            Ok(t) => targets.push(t),
            Err(e) => results.push(json!({"document_id": id, "status": "error", "error": e.body()["error"]})),
        }
    }
    if !targets.is_empty() {
        let key = signer_key(&state, &me).await?;
        let items: Vec<(String, Approval)> =
            targets.iter().map(|t| (t.source_sha.clone(), approval_for(&caller, t, req.reason.clone()))).collect();
        let (revocation, signed) = sign_checked(&state, key, move |st, key| signing::sign_stages_batch(&st.blobs, &items, key)).await?;
        // Syncing the files waits for the disk: outside the CPU queue, as for one approval.
        let blobs = state.blobs.clone();
        let outcomes =
            tokio::task::spawn_blocking(move || signed.into_iter().map(|r| r.and_then(|tmp| Ok(blobs.commit(tmp)?))).collect::<Vec<_>>())
                .await
                .map_err(|e| ApiError::internal("storing signed documents", e))?;
        for (t, outcome) in targets.into_iter().zip(outcomes) {
            let id = t.doc.id.clone();
            let result = match outcome {
                Ok(sha) => commit_signature(&state, &caller, t, sha.clone(), req.reason.clone(), revocation.clone()).await.map(|_| sha),
                Err(e) => Err(signing_failure(&e)),
            };
            results.push(match result {
                Ok(sha) => json!({"document_id": id, "status": "signed", "sha256": sha}),
                Err(e) => json!({"document_id": id, "status": "error", "error": e.body()["error"]}),
            });
        }
    }
    let signed = results.iter().filter(|r| r["status"] == "signed").count();
    Ok(json!({"signed": signed, "failed": results.len() - signed, "results": results}))
}

/// What waits for the caller: open steps of the current stage they may sign (themselves or for
/// someone who delegated to them), oldest deadline first. The database finds them.
async fn inbox(State(state): AppStateRef, caller: Caller) -> ApiResult<Json<Value>> {
    let me = caller.require_user()?.to_string();
    let delegations = active_delegations(&state, &me).await?;
    let mut binds = Binds::default();
    let me_bind = binds.push(&me);
    let mut holds = vec![format!("s.assignee_id = {me_bind}")];
    for (org, role) in caller.memberships.iter().map(|(o, r)| (o, r)).chain(delegations.iter().map(|(o, r, _)| (o, r))) {
        holds.push(format!("(s.assignee_id IS NULL AND s.org_id = {} AND s.role = {})", binds.push(org), binds.push(role)));
    }
    let sql = format!(
        "SELECT d.id, d.title, d.current_version, s.stage, s.stage_name, s.field, s.org_id, s.role, s.assignee_id, s.allow_repeat, s.deadline, \
         (SELECT COUNT(*) FROM steps m WHERE m.document_id = d.id AND m.version = d.current_version AND m.signed_by = {me_bind}) \
         FROM documents d JOIN steps s ON s.document_id = d.id AND s.version = d.current_version \
         WHERE d.status = 'in_progress' AND s.signed_by IS NULL AND ({}) \
         AND s.stage = (SELECT MIN(o.stage) FROM steps o WHERE o.document_id = d.id AND o.version = d.current_version AND o.signed_by IS NULL) \
         ORDER BY s.deadline, d.id",
        holds.join(" OR ")
    );
    let rows = binds.query(sql).fetch_all(&state.db.pool).await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        let step = StepRow {
            stage: r.try_get(3)?,
            stage_name: r.try_get(4)?,
            field: r.try_get(5)?,
            org_id: r.try_get(6)?,
            role: r.try_get(7)?,
            assignee_id: r.try_get(8)?,
            allow_repeat: r.try_get::<i64, _>(9)? != 0,
            deadline: r.try_get(10)?,
            signed_by: None,
            on_behalf_of: None,
            signed_at: None,
        };
        let signed_before = r.try_get::<i64, _>(11)? > 0;
        let delegated_from = delegations
            .iter()
            .find(|(o, role, _)| step.assignee_id.is_none() && *o == step.org_id && *role == step.role)
            .map(|d| d.2.clone());
        if (eligible(&caller, &step) || delegated_from.is_some()) && (step.allow_repeat || !signed_before) {
            items.push(json!({"document_id": r.try_get::<String, _>(0)?, "title": r.try_get::<String, _>(1)?,
                "version": r.try_get::<i64, _>(2)?, "stage": step.stage, "stage_name": step.stage_name, "field": step.field,
                "deadline": step.deadline, "overdue": step.deadline < now(), "on_behalf_of": delegated_from}));
        }
    }
    Ok(Json(json!({"items": items})))
}

// ---------------------------------------------------------------------------------------------
// Verification and audit

#[derive(Deserialize)]
struct VerifyQuery {
    format: Option<String>,
    lang: Option<String>,
}

async fn verify(
    State(state): AppStateRef,
    caller: Caller,
    QueryParams(q): QueryParams<VerifyQuery>,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    caller.require_scope("verify")?;
    check_pdf_upload(&body)?;
    let format = q.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "text" | "etsi" | "pdf") {
        return Err(ApiError::bad_request("format must be json, text, etsi or pdf", "format phải là json, text, etsi hoặc pdf"));
    }
    let lang = if q.lang.as_deref() == Some("en") { kyso_report::Lang::En } else { kyso_report::Lang::Vi };
    let ctx =
        kyso_validate::Context { trust_anchors: state.trust_anchors.clone(), validation_time_unix: crate::clock::unix_now(), online: None };
    let sha = crate::blobs::sha256_hex(&body);
    let report = state
        .run_cpu(move || kyso_validate::validate(&body, &ctx))
        .await
        .map_err(|e| ApiError::internal("validating", e))?
        .map_err(|e| {
            ApiError::unprocessable("invalid_pdf", format!("the file cannot be validated: {e}"), format!("không kiểm tra được tệp: {e}"))
        })?;
    Ok(match format {
        "text" => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], kyso_report::to_text(&report, lang)).into_response(),
        "pdf" => {
            let now = crate::clock::iso_utc(crate::clock::unix_now());
            let pdf = kyso_report::to_pdf(&report, None, lang, "upload.pdf", &sha, &now)
                .map_err(|e| ApiError::internal("writing the PDF report", e))?;
            ([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response()
        }
        "etsi" => (
            [(header::CONTENT_TYPE, "application/xml")],
            kyso_report::etsi::to_etsi_xml(&report, &crate::clock::iso_utc(crate::clock::unix_now())),
        )
            .into_response(),
        _ => ([(header::CONTENT_TYPE, "application/json")], kyso_report::to_json(&report)).into_response(),
    })
}

#[derive(Deserialize)]
struct AuditQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

/// Auditors and administrators read the entries of their organisation and those below it;
/// entries without an organisation (logins) only administrators of a root unit see.
async fn audit_entries(State(state): AppStateRef, caller: Caller, QueryParams(q): QueryParams<AuditQuery>) -> ApiResult<Json<Value>> {
    let scope_orgs = audit_scope(&caller)?;
    let (limit, _) = page_bounds(q.limit.or(Some(100)), None)?;
    let tree = OrgTree::load(&state.db.pool).await?;
    let root_admin = scope_orgs.iter().any(|o| tree.get(o).is_some_and(|org| org.parent_id.is_none()));
    let mut after = q.after.unwrap_or(0);
    let mut items = Vec::new();
    // Scan forward until a page of visible entries is full.
    loop {
        let page = audit::entries(&state.db.pool, after, 500).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in page {
            let visible = match &e.org_id {
                Some(org) => scope_orgs.iter().any(|s| tree.is_within(org, s)),
                None => root_admin,
            };
            if visible && (items.len() as i64) < limit {
                items.push(e);
            }
        }
        if items.len() as i64 >= limit {
            break;
        }
    }
    let next = items.last().map(|e| e.seq);
    Ok(Json(json!({"items": items, "next_after": next})))
}

fn audit_scope(caller: &Caller) -> ApiResult<Vec<String>> {
    match &caller.principal {
        Principal::Client { org_id, scopes, .. } if scopes.iter().any(|s| s == "audit:read") => Ok(vec![org_id.clone()]),
        Principal::Client { .. } => {
            Err(ApiError::forbidden("this API client lacks the scope audit:read", "ứng dụng này không có quyền audit:read"))
        }
        Principal::User { .. } => {
            let orgs: Vec<String> =
                caller.memberships.iter().filter(|(_, r)| r == "auditor" || r == "admin").map(|(o, _)| o.clone()).collect();
            if orgs.is_empty() {
                return Err(ApiError::forbidden(
                    "only auditors and administrators read the audit trail",
                    "chỉ kiểm tra viên và quản trị viên được xem nhật ký",
                ));
            }
            Ok(orgs)
        }
    }
}

async fn audit_verify(State(state): AppStateRef, caller: Caller) -> ApiResult<Json<Value>> {
    audit_scope(&caller)?;
    Ok(Json(match audit::verify(&state.db.pool).await? {
        audit::Verdict::Intact { entries, head } => json!({"intact": true, "entries": entries, "head": head}),
        audit::Verdict::Broken { seq, reason } => json!({"intact": false, "broken_at": seq, "reason": reason}),
    }))
}
