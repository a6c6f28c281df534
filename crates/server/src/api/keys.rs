//! Signing keys: the sources the operator declared (`/key-sources`), a person's key
//! (`/users/{username}/key`: shown, or assigned by an administrator among those sources, the
//! certificate checked against the person), and a remote key's confirmation by its holder
//! (`/me/key/confirm`, an operation while the phone confirms).

use crate::AppState;
use crate::api::operations::{accepted, error_result};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Caller, JsonBody};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use kyso_signers::{KeyInfo, KeySource, SignersError};
use serde_json::{Value, json};
use std::sync::Arc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/key-sources", get(sources))
        .route("/api/v1/users/{username}/key", get(show).post(assign))
        .route("/api/v1/me/key", get(mine))
        .route("/api/v1/me/key/confirm", post(confirm))
}

pub fn key_json(k: &KeyInfo) -> Value {
    json!({
        "source": k.source, "source_name": k.source_name, "object": k.object, "remote": k.remote,
        "certificate": {"subject": k.subject, "issuer": k.issuer, "serial": k.serial, "not_before": k.not_before, "not_after": k.not_after, "sha256": k.cert_sha256},
        "identity": k.identity, "override_reason": k.override_reason, "confirmed": k.confirmed,
        "assigned_by": k.assigned_by, "assigned_at": k.assigned_at,
    })
}

async fn sources(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require_user()?;
    let items: Vec<Value> =
        state.workflow.signers.sources().iter().map(|s| json!({"kind": s.kind, "name": s.name, "object_hint": s.object_hint})).collect();
    Ok(Json(json!({"items": items})))
}

async fn show(State(state): State<Arc<AppState>>, caller: Caller, Path(username): Path<String>) -> ApiResult<Json<Value>> {
    let person = if caller.username() == Some(username.as_str()) {
        kyso_org::people::by_username(&state.store, &username).await?.ok_or(kyso_org::OrgError::NotFound("user"))?
    } else {
        kyso_org::people::administered(&state.store, &caller, &username).await?
    };
    let info = state.workflow.signers.info(&state.store, &person.id).await?.ok_or(SignersError::NoKey)?;
    Ok(Json(key_json(&info)))
}

async fn mine(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    let me = caller.require_user()?;
    let info = state.workflow.signers.info(&state.store, me).await?.ok_or(SignersError::NoKey)?;
    Ok(Json(key_json(&info)))
}

/// Reads an assignment. Anything that names a file, a library or a configuration is refused by
/// name, so an administrator learns why (and the refusal reveals nothing about the server's disk).
pub fn parse_assignment(body: &Value) -> ApiResult<(KeySource, Option<String>)> {
    let obj =
        body.as_object().ok_or_else(|| ApiError::bad_request("the body must be a JSON object", "nội dung phải là một đối tượng JSON"))?;
    for (field, what) in [
        ("key", "a key reference"),
        ("cert", "a certificate path"),
        ("chain", "a chain path"),
        ("config", "a configuration file"),
        ("key_password_env", "an environment variable name"),
        ("module", "a PKCS#11 module"),
        ("module_path", "a PKCS#11 module"),
    ] {
        if obj.contains_key(field) {
            return Err(SignersError::PathNotAccepted(what).into());
        }
    }
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty() && s.len() <= 256).map(str::to_string);
    let missing =
        |k: &str| ApiError::bad_request(format!("{k} is required (at most 256 characters)"), format!("cần có {k} (tối đa 256 ký tự)"));
    let known = ["source", "name", "object", "credential", "pkcs12", "password", "override_reason"];
    if let Some(k) = obj.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!("unknown field {k}"), format!("trường không hợp lệ: {k}")));
    }
    for bad in ["object", "credential"] {
        if text(bad).is_some_and(|v| v.contains('/') && bad == "object" || v.contains("..") || v.contains('\0')) {
            return Err(SignersError::PathNotAccepted("a path").into());
        }
    }
    let source = match obj.get("source").and_then(Value::as_str) {
        Some("hsm") => {
            KeySource::Hsm { name: text("name").ok_or_else(|| missing("name"))?, object: text("object").ok_or_else(|| missing("object"))? }
        }
        Some("provider") => KeySource::Provider {
            name: text("name").ok_or_else(|| missing("name"))?,
            credential: text("credential").ok_or_else(|| missing("credential"))?,
        },
        Some("keystore") => {
            let p12 = obj.get("pkcs12").and_then(Value::as_str).ok_or_else(|| missing("pkcs12"))?;
            if p12.len() > 64 * 1024 {
                return Err(ApiError::bad_request("pkcs12 is larger than 48 KB", "tệp PKCS#12 vượt quá 48 KB"));
            }
            let bytes = base64::engine::general_purpose::STANDARD.decode(p12.trim()).map_err(|_| {
                ApiError::bad_request("pkcs12 must be the PKCS#12 file in base64", "pkcs12 phải là tệp PKCS#12 mã hóa base64")
            })?;
            let password = obj.get("password").and_then(Value::as_str).unwrap_or_default();
            if password.len() > 1024 {
                return Err(ApiError::bad_request("the password is longer than 1024 characters", "mật khẩu dài quá 1024 ký tự"));
            }
            KeySource::Keystore { pkcs12: bytes, password: password.to_string() }
        }
        _ => {
            return Err(ApiError::bad_request(
                "source must be hsm, provider or keystore (among the sources the operator declared: GET /key-sources)",
                "source phải là hsm, provider hoặc keystore (trong các nguồn người vận hành đã khai báo: GET /key-sources)",
            ));
        }
    };
    Ok((source, obj.get("override_reason").and_then(Value::as_str).map(str::to_string)))
}

async fn assign(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(username): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let (source, override_reason) = parse_assignment(&body)?;
    let info = state.workflow.signers.assign(&state.store, &caller, &username, source, override_reason.as_deref()).await?;
    Ok(Json(key_json(&info)))
}

/// The holder confirms a remote key: the provider signs a challenge (a confirmation on the phone).
async fn confirm(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Response> {
    let me = caller.require_user()?.to_string();
    let info = state.workflow.signers.info(&state.store, &me).await?.ok_or(SignersError::NoKey)?;
    if info.confirmed {
        return Ok((StatusCode::OK, Json(key_json(&info))).into_response());
    }
    let op = kyso_workflow::operations::start(&state.store, &caller.owner(), "confirm_key", &[]).await?;
    let (st, actor, op_id) = (state.clone(), caller.actor.clone(), op.clone());
    tokio::spawn(async move {
        let outcome = st.workflow.signers.confirm(&st.store, &actor).await;
        let (ok, result) = match outcome {
            Ok(info) => (true, key_json(&info)),
            Err(e) => (false, error_result(&ApiError::from(e))),
        };
        kyso_workflow::operations::finish(&st.store, &op_id, ok, &result.to_string()).await;
    });
    Ok(accepted(&op))
}
