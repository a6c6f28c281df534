//! `/documents`: submitting, listing, reading and downloading documents, and new versions.

use crate::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Caller, QueryParams, Upload};
use crate::http::idempotent;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kyso_workflow::documents::{DocumentView, ListFilter};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/documents", get(list).post(submit))
        .route("/api/v1/documents/{id}", get(show))
        .route("/api/v1/documents/{id}/pdf", get(download))
        .route("/api/v1/documents/{id}/versions", post(resubmit))
}

/// A document as the API shows it.
pub fn document_json(v: &DocumentView) -> Value {
    let name = |id: &Option<String>| v.name_of(id.as_deref()).map(|n| n.username.clone()).or_else(|| id.clone());
    let versions: Vec<Value> = v
        .versions
        .iter()
        .map(|r| json!({"version": r.version, "original_sha256": r.original_sha256, "current_sha256": r.current_sha256, "created_at": r.created_at}))
        .collect();
    let steps: Vec<Value> = v
        .steps
        .iter()
        .map(|s| {
            json!({"stage": s.stage, "stage_name": s.stage_name, "field": s.field, "org_id": s.org_id, "role": s.role,
                   "assignee": name(&s.assignee_id), "deadline": s.deadline, "signed_by": name(&s.signed_by),
                   "on_behalf_of": name(&s.on_behalf_of), "signed_at": s.signed_at})
        })
        .collect();
    let d = &v.doc;
    json!({
        "id": d.id, "title": d.title, "org_id": d.org_id, "submitter": v.name_of(Some(&d.submitter_id)).map(|n| n.username.clone()),
        "template_id": d.template_id, "status": d.status, "current_version": d.current_version,
        "current_stage": v.current_stage, "return_reason": d.return_reason, "created_at": d.created_at,
        "updated_at": d.updated_at, "versions": versions, "steps": steps,
    })
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Pagination: `limit` (1–100, default 20) and an opaque `cursor` from the previous page.
pub fn page_bounds(limit: Option<i64>, cursor: Option<&str>) -> ApiResult<(i64, i64)> {
    let limit = limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 100", "limit phải từ 1 đến 100"));
    }
    let offset = match cursor.filter(|c| !c.is_empty()) {
        Some(c) => c
            .parse::<i64>()
            .ok()
            .filter(|o| (0..=i64::from(i32::MAX)).contains(o))
            .ok_or_else(|| ApiError::bad_request("invalid cursor", "cursor không hợp lệ"))?,
        None => 0,
    };
    Ok((limit, offset))
}

async fn list(State(state): State<Arc<AppState>>, caller: Caller, QueryParams(q): QueryParams<ListQuery>) -> ApiResult<Json<Value>> {
    let (limit, offset) = page_bounds(q.limit, q.cursor.as_deref())?;
    if let Some(s) = q.status.as_deref()
        && !matches!(s, "in_progress" | "returned" | "completed")
    {
        return Err(ApiError::bad_request(
            "status must be in_progress, returned or completed",
            "status phải là in_progress, returned hoặc completed",
        ));
    }
    let page = kyso_workflow::documents::list(&state.store, &caller, &ListFilter { status: q.status, mine: false, limit, offset }).await?;
    let items: Vec<Value> = page.items.iter().map(document_json).collect();
    Ok(Json(json!({"items": items, "next_cursor": page.next.map(|n| n.to_string()), "total": page.total})))
}

async fn show(State(state): State<Arc<AppState>>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(document_json(&kyso_workflow::documents::get(&state.store, &caller, &id).await?)))
}

#[derive(Deserialize)]
struct DownloadQuery {
    version: Option<i64>,
}

/// A file name for `Content-Disposition`: the title in ASCII (folded), plus the RFC 5987 form.
pub fn attachment(title: &str, extension: &str) -> String {
    let ascii: String =
        kyso_org::text::fold(title).chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).take(80).collect();
    let ascii = if ascii.trim_matches('_').is_empty() { "document".to_string() } else { ascii };
    let encoded: String = title
        .bytes()
        .take(200)
        .map(|b| if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    format!("attachment; filename=\"{ascii}.{extension}\"; filename*=UTF-8''{encoded}.{extension}")
}

/// Streams a stored file as an attachment (never shown inline: an upload is never served as HTML).
pub fn file_response(file: std::fs::File, content_type: &'static str, disposition: String, etag: &str) -> Response {
    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::ETAG, format!("\"{etag}\"")),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

async fn download(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<DownloadQuery>,
) -> ApiResult<Response> {
    let (doc, sha, file) = kyso_workflow::documents::open_version(&state.store, &caller, &id, q.version).await?;
    Ok(file_response(file, "application/pdf", attachment(&doc.title, "pdf"), &sha))
}

#[derive(Deserialize)]
struct SubmitQuery {
    title: String,
    template: String,
    org: Option<String>,
    on_behalf_of: Option<String>,
}

async fn submit(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    QueryParams(q): QueryParams<SubmitQuery>,
    Upload(upload): Upload,
) -> ApiResult<Response> {
    let request_sha = idempotent::request_digest(&[
        b"submit",
        q.title.as_bytes(),
        q.template.as_bytes(),
        q.org.as_deref().unwrap_or("").as_bytes(),
        upload.sha256.as_bytes(),
    ]);
    let (st, actor, cancel) = (state.clone(), caller.actor.clone(), state.shutdown.clone());
    idempotent::run(&state, &caller.owner(), &headers, &request_sha, async move {
        let submission = kyso_workflow::submit::Submission {
            title: &q.title,
            template: &q.template,
            org: q.org.as_deref(),
            on_behalf_of: q.on_behalf_of.as_deref(),
        };
        let view = kyso_workflow::submit::submit(&st.workflow, &actor, submission, upload, &cancel).await?;
        Ok((StatusCode::CREATED, document_json(&view)))
    })
    .await
}

async fn resubmit(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Upload(upload): Upload,
) -> ApiResult<Response> {
    let request_sha = idempotent::request_digest(&[b"resubmit", id.as_bytes(), upload.sha256.as_bytes()]);
    let (st, actor, cancel) = (state.clone(), caller.actor.clone(), state.shutdown.clone());
    idempotent::run(&state, &caller.owner(), &headers, &request_sha, async move {
        let view = kyso_workflow::submit::resubmit(&st.workflow, &actor, &id, upload, &cancel).await?;
        Ok((StatusCode::CREATED, document_json(&view)))
    })
    .await
}
