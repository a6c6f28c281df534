//! `/operations/{id}`: approvals waiting for a signer's phone, polled until done or failed.

use crate::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::Caller;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/v1/operations/{id}", get(show))
}

/// What a failed operation keeps: the error as the API shows it.
pub fn error_result(e: &ApiError) -> Value {
    e.body()
}

/// The body of a 202 answer.
pub fn pending_body(op: &str) -> Value {
    json!({"operation_id": op, "status": "pending", "location": format!("/api/v1/operations/{op}")})
}

/// 202 with the operation to poll.
pub fn accepted(op: &str) -> Response {
    (StatusCode::ACCEPTED, [(header::LOCATION, format!("/api/v1/operations/{op}"))], Json(pending_body(op))).into_response()
}

/// The edge's words for an operation the server's restart cut short.
pub fn interrupted_result() -> Value {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "interrupted",
        "the server restarted before the signature was confirmed; nothing was signed: approve again",
        "máy chủ khởi động lại trước khi chữ ký được xác nhận; chưa ký gì: hãy phê duyệt lại",
    )
    .body()
}

async fn show(State(state): State<Arc<AppState>>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let op = kyso_workflow::operations::get(&state.store, &caller.owner(), &id).await?;
    Ok(Json(json!({
        "id": op.id, "kind": op.kind, "document_ids": op.document_ids, "state": op.state,
        "result": op.result.and_then(|r| serde_json::from_str::<Value>(&r).ok()),
        "created_at": op.created_at, "finished_at": op.finished_at,
    })))
}
