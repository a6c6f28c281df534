//! Approving (signing) a stage, returning a document, batches, and the inbox.

use crate::AppState;
use crate::api::documents::document_json;
use crate::api::operations::{accepted, error_result, pending_body};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Caller, JsonBody};
use crate::http::idempotent;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use kyso_workflow::approve::{self, BatchResult};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/documents/{id}/approve", post(approve_document))
        .route("/api/v1/documents/{id}/return", post(return_document))
        .route("/api/v1/approvals/batch", post(batch))
        .route("/api/v1/inbox", get(inbox))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ApproveRequest {
    reason: Option<String>,
}

/// The body of an approval: nothing, or `{"reason": "..."}`.
fn approve_request(body: &axum::body::Bytes) -> ApiResult<ApproveRequest> {
    if body.is_empty() {
        return Ok(ApproveRequest::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}"), format!("JSON không hợp lệ: {e}")))
}

pub fn batch_json(results: &[BatchResult]) -> Value {
    let items: Vec<Value> = results
        .iter()
        .map(|r| match &r.outcome {
            Ok(sha) => json!({"document_id": r.document_id, "status": "signed", "sha256": sha}),
            Err(e) => {
                let err = ApiError::from(clone_error(e));
                json!({"document_id": r.document_id, "status": "error", "error": err.body()["error"]})
            }
        })
        .collect();
    let signed = items.iter().filter(|r| r["status"] == "signed").count();
    json!({"signed": signed, "failed": items.len() - signed, "results": items})
}

/// Errors are not `Clone`; a batch result's error is rendered from its message where needed.
fn clone_error(e: &kyso_workflow::WorkflowError) -> kyso_workflow::WorkflowError {
    use kyso_workflow::WorkflowError as W;
    match e {
        W::NotYourTurn { waiting } => W::NotYourTurn { waiting: waiting.clone() },
        W::Completed => W::Completed,
        W::Returned => W::Returned,
        W::ConcurrentChange => W::ConcurrentChange,
        W::CertifyInBatch => W::CertifyInBatch,
        W::NotFound(w) => W::NotFound(w),
        W::Forbidden(r) => W::Forbidden(*r),
        W::CertificateUnusable(m) => W::CertificateUnusable(m.clone()),
        W::KeyBackend(k) => W::KeyBackend(kyso_keys::KeyError::Backend(k.to_string())),
        W::InvalidPdf(p) => W::Internal { context: "signing", message: p.to_string() },
        other => W::Internal { context: "signing", message: other.to_string() },
    }
}

async fn approve_document(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let req = approve_request(&body)?;
    let request_sha = idempotent::request_digest(&[b"approve", id.as_bytes(), &body]);
    let (st, actor) = (state.clone(), caller.actor.clone());
    idempotent::run(&state, &caller.owner(), &headers, &request_sha, async move {
        if approve::check_can_approve(&st.workflow, &actor, &id).await? {
            // A remote key may wait minutes for the signer's phone: answer 202 with an operation
            // to poll, and sign in the background.
            let op = kyso_workflow::operations::start(&st.store, &actor.owner(), "approve", std::slice::from_ref(&id)).await?;
            let (st2, actor2, op2) = (st.clone(), actor.clone(), op.clone());
            tokio::spawn(async move {
                let (ok, result) = match approve::approve_now(&st2.workflow, &actor2, &id, req.reason.as_deref()).await {
                    Ok(view) => (true, document_json(&view)),
                    Err(e) => (false, error_result(&ApiError::from(e))),
                };
                kyso_workflow::operations::finish(&st2.store, &op2, ok, &result.to_string()).await;
            });
            return Ok((StatusCode::ACCEPTED, pending_body(&op)));
        }
        let view = approve::approve_now(&st.workflow, &actor, &id, req.reason.as_deref()).await?;
        Ok((StatusCode::OK, document_json(&view)))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReturnRequest {
    reason: String,
}

async fn return_document(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<ReturnRequest>,
) -> ApiResult<Json<Value>> {
    Ok(Json(document_json(&approve::return_document(&state.workflow, &caller, &id, &req.reason).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchRequest {
    document_ids: Vec<String>,
    reason: Option<String>,
}

async fn batch(State(state): State<Arc<AppState>>, caller: Caller, JsonBody(req): JsonBody<BatchRequest>) -> ApiResult<Response> {
    approve::check_batch(&req.document_ids)?;
    let (st, actor) = (state.clone(), caller.actor.clone());
    if approve::signs_remotely(&state.workflow, &caller).await? {
        let op = kyso_workflow::operations::start(&state.store, &caller.owner(), "batch", &req.document_ids).await?;
        let op2 = op.clone();
        tokio::spawn(async move {
            let (ok, result) = match approve::batch_now(&st.workflow, &actor, &req.document_ids, req.reason.as_deref()).await {
                Ok(results) => (true, batch_json(&results)),
                Err(e) => (false, error_result(&ApiError::from(e))),
            };
            kyso_workflow::operations::finish(&st.store, &op2, ok, &result.to_string()).await;
        });
        return Ok(accepted(&op));
    }
    // In a task of its own: once started, every signature is recorded even if the client hangs up.
    let results = tokio::spawn(async move {
        approve::batch_now(&st.workflow, &actor, &req.document_ids, req.reason.as_deref()).await.map(|r| batch_json(&r))
    })
    .await
    .map_err(|e| ApiError::internal("signing a batch", e))??;
    Ok(axum::response::IntoResponse::into_response(Json(results)))
}

async fn inbox(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    let items = kyso_workflow::inbox::inbox(&state.store, &caller).await?;
    let items: Vec<Value> = items
        .iter()
        .map(|i| {
            json!({"document_id": i.document_id, "title": i.title, "version": i.version, "stage": i.stage, "stage_name": i.stage_name,
                   "field": i.field, "deadline": i.deadline, "overdue": i.overdue, "on_behalf_of": i.on_behalf_of})
        })
        .collect();
    Ok(Json(json!({"items": items})))
}
