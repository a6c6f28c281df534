//! The pages of the signing chain: what waits for me (with a batch approval), documents, one
//! document (read in the page, the chain's stages, approve or return), submitting and a new
//! version, the waiting page while a phone confirms, and my key.

use crate::AppState;
use crate::api::approvals::batch_json;
use crate::api::documents::{attachment, document_json, file_response};
use crate::api::operations::error_result;
use crate::http::error::ApiError;
use crate::web::i18n::Lang;
use crate::web::{Chrome, WebError, WebUser, check_form, fail, render, see_other};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use kyso_workflow::approve;
use kyso_workflow::documents::{DocumentView, ListFilter};
use serde::Deserialize;
use std::sync::Arc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/inbox", get(inbox))
        .route("/documents", get(documents))
        .route("/documents/{id}", get(document))
        .route("/documents/{id}/file", get(file))
        .route("/documents/{id}/approve", post(approve_form))
        .route("/documents/{id}/return", post(return_form))
        .route("/documents/{id}/versions", post(new_version).layer(crate::web::form::unbounded_upload()))
        .route("/approvals/batch", post(batch_form))
        .route("/submit", get(submit_page).post(submit).layer(crate::web::form::unbounded_upload()))
        .route("/operations/{id}", get(operation))
        .route("/me/key", get(my_key))
        .route("/me/key/confirm", post(confirm_key))
}

/// One line of the inbox as the page shows it.
pub struct InboxLine {
    pub id: String,
    pub title: String,
    pub stage: String,
    pub deadline: String,
    pub overdue: bool,
    pub on_behalf_of: Option<String>,
    /// The first (certifying) stage is signed one document at a time.
    pub batchable: bool,
}

#[derive(askama::Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    chrome: Chrome,
    any_batchable: bool,
    items: Vec<InboxLine>,
}

async fn inbox(State(state): State<Arc<AppState>>, user: WebUser) -> Result<Response, WebError> {
    let items = kyso_workflow::inbox::inbox(&state.store, &user).await.map_err(|e| fail(&user, "/inbox")(e.into()))?;
    let items: Vec<InboxLine> = items
        .into_iter()
        .map(|i| InboxLine {
            id: i.document_id,
            title: i.title,
            stage: i.stage_name,
            deadline: kyso_clock::vietnam_date_time(i.deadline),
            overdue: i.overdue,
            on_behalf_of: i.on_behalf_of,
            batchable: i.stage > 0,
        })
        .collect();
    let flash = flash_of(&user);
    let mut chrome = Chrome::for_user(&user, "/inbox");
    chrome.flash = flash;
    let any_batchable = items.iter().any(|i: &InboxLine| i.batchable);
    Ok(render(InboxPage { chrome, items, any_batchable }, user.lang))
}

/// Messages a redirect asked for (`?done=...`).
fn flash_of(user: &WebUser) -> Vec<crate::web::Flash> {
    let l = user.lang;
    let done = user.path.split('?').nth(1).unwrap_or("").split('&').find_map(|kv| kv.strip_prefix("done=")).unwrap_or("");
    let text = match done {
        "signed" => l.t("Đã ký và chuyển tiếp.", "Signed and passed on."),
        "returned" => l.t("Đã trả lại văn bản cho người nộp.", "The document was returned to its submitter."),
        "submitted" => l.t("Đã trình ký. Bước đầu tiên đang chờ.", "Submitted. The first stage is waiting."),
        "version" => l.t("Đã gửi phiên bản mới; quy trình bắt đầu lại.", "New version sent; the chain starts again."),
        "confirmed" => l.t("Khóa ký đã được xác nhận.", "Your key is confirmed."),
        _ => return Vec::new(),
    };
    vec![crate::web::Flash { kind: "ok", text: text.into() }]
}

/// A document as a list shows it.
pub struct DocLine {
    pub id: String,
    pub title: String,
    pub status: String,
    pub status_kind: &'static str,
    pub stage: String,
    pub submitter: String,
    pub updated: String,
}

fn doc_line(v: &DocumentView, l: Lang) -> DocLine {
    let (status, status_kind) = l.status(&v.doc.status);
    let stage = v.current_stage.and_then(|n| v.steps.iter().find(|s| s.stage == n)).map(|s| s.stage_name.clone()).unwrap_or_default();
    DocLine {
        id: v.doc.id.clone(),
        title: v.doc.title.clone(),
        status,
        status_kind,
        stage,
        submitter: v.name_of(Some(&v.doc.submitter_id)).map(|n| n.full_name.clone()).unwrap_or_default(),
        updated: kyso_clock::vietnam_date_time(v.doc.updated_at),
    }
}

#[derive(askama::Template)]
#[template(path = "documents.html")]
struct DocumentsPage {
    chrome: Chrome,
    items: Vec<DocLine>,
    total: i64,
    status: String,
    mine: bool,
    next: Option<String>,
    prev: Option<String>,
}

#[derive(Deserialize)]
struct DocumentsQuery {
    status: Option<String>,
    mine: Option<String>,
    offset: Option<i64>,
}

async fn documents(State(state): State<Arc<AppState>>, user: WebUser, Query(q): Query<DocumentsQuery>) -> Result<Response, WebError> {
    let status = q.status.filter(|s| matches!(s.as_str(), "in_progress" | "returned" | "completed"));
    let mine = q.mine.as_deref() == Some("1");
    let offset = q.offset.unwrap_or(0).clamp(0, i64::from(i32::MAX));
    let filter = ListFilter { status: status.clone(), mine, limit: 20, offset };
    let page = kyso_workflow::documents::list(&state.store, &user, &filter).await.map_err(|e| fail(&user, "/documents")(e.into()))?;
    let link = |o: i64| {
        format!(
            "/documents?offset={o}{}{}",
            status.as_deref().map(|s| format!("&status={s}")).unwrap_or_default(),
            if mine { "&mine=1" } else { "" }
        )
    };
    let items = page.items.iter().map(|v| doc_line(v, user.lang)).collect();
    let prev = (offset > 0).then(|| link((offset - 20).max(0)));
    let next = page.next.map(link);
    Ok(render(
        DocumentsPage {
            chrome: Chrome::for_user(&user, "/documents"),
            items,
            total: page.total,
            status: status.unwrap_or_default(),
            mine,
            next,
            prev,
        },
        user.lang,
    ))
}

/// One stage of a document's chain as the page shows it.
pub struct StageLine {
    pub name: String,
    pub unit: String,
    pub state: &'static str,
    pub who: String,
    pub when: String,
    pub deadline: String,
}

#[derive(askama::Template)]
#[template(path = "document.html")]
struct DocumentPage {
    chrome: Chrome,
    doc: DocLine,
    return_reason: Option<String>,
    stages: Vec<StageLine>,
    versions: Vec<(i64, String, String)>,
    current_version: i64,
    can_act: bool,
    can_resubmit: bool,
}

async fn document(State(state): State<Arc<AppState>>, user: WebUser, Path(id): Path<String>) -> Result<Response, WebError> {
    let f = fail(&user, "/documents");
    let v = kyso_workflow::documents::get(&state.store, &user, &id).await.map_err(|e| f(e.into()))?;
    let l = user.lang;
    let tree = kyso_org::OrgTree::load(&state.store.db.pool).await.map_err(|e| f(e.into()))?;
    let inbox = kyso_workflow::inbox::inbox(&state.store, &user).await.map_err(|e| f(e.into()))?;
    let can_act = inbox.iter().any(|i| i.document_id == id);
    let can_resubmit = v.doc.status == "returned" && user.user_id() == Some(v.doc.submitter_id.as_str());
    let stages = v
        .steps
        .iter()
        .map(|s| {
            let signed = s.signed_by.is_some();
            let state = if signed {
                "done"
            } else if v.current_stage == Some(s.stage) {
                "now"
            } else if v.doc.status == "returned" {
                "returned"
            } else {
                "waiting"
            };
            let mut who = v.name_of(s.signed_by.as_deref()).map(|n| n.full_name.clone()).unwrap_or_default();
            if let Some(b) = v.name_of(s.on_behalf_of.as_deref()) {
                who = format!("{who} ({} {})", l.t("thay mặt", "on behalf of"), b.full_name);
            }
            if !signed && let Some(a) = v.name_of(s.assignee_id.as_deref()) {
                who = a.full_name.clone();
            }
            StageLine {
                name: s.stage_name.clone(),
                unit: format!("{} — {}", l.role(&s.role), tree.get(&s.org_id).map(|o| o.name.as_str()).unwrap_or(&s.org_id)),
                state,
                who,
                when: s.signed_at.map(kyso_clock::vietnam_date_time).unwrap_or_default(),
                deadline: kyso_clock::vietnam_date_time(s.deadline),
            }
        })
        .collect();
    let versions = v.versions.iter().map(|r| (r.version, kyso_clock::vietnam_date_time(r.created_at), r.current_sha256.clone())).collect();
    let mut chrome = Chrome::for_user(&user, "/documents");
    chrome.flash = flash_of(&user);
    let page = DocumentPage {
        chrome,
        doc: doc_line(&v, l),
        return_reason: v.doc.return_reason.clone(),
        stages,
        versions,
        current_version: v.doc.current_version,
        can_act,
        can_resubmit,
    };
    Ok(render(page, l))
}

#[derive(Deserialize)]
struct FileQuery {
    version: Option<i64>,
}

/// The stored PDF, for the viewer and for download: always an attachment, never shown inline
/// as a page of this site.
async fn file(
    State(state): State<Arc<AppState>>,
    user: WebUser,
    Path(id): Path<String>,
    Query(q): Query<FileQuery>,
) -> Result<Response, WebError> {
    let (doc, sha, f) = kyso_workflow::documents::open_version(&state.store, &user, &id, q.version)
        .await
        .map_err(|e| fail(&user, "/documents")(e.into()))?;
    let mut r = file_response(f, "application/pdf", attachment(&doc.title, "pdf"), &sha);
    r.headers_mut().insert("content-security-policy", axum::http::HeaderValue::from_static("sandbox; default-src 'none'"));
    Ok(r)
}

#[derive(Deserialize)]
struct ReasonForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    reason: Option<String>,
}

async fn approve_form(
    State(state): State<Arc<AppState>>,
    user: WebUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<ReasonForm>,
) -> Result<Response, WebError> {
    let err = fail(&user, "/documents");
    check_form(&headers, &user.csrf, &f.csrf).map_err(&err)?;
    let reason = f.reason.filter(|r| !r.trim().is_empty());
    if approve::check_can_approve(&state.workflow, &user, &id).await.map_err(|e| err(e.into()))? {
        let op = kyso_workflow::operations::start(&state.store, &user.owner(), "approve", std::slice::from_ref(&id))
            .await
            .map_err(|e| err(e.into()))?;
        let (st, actor, op2) = (state.clone(), user.actor.clone(), op.clone());
        tokio::spawn(async move {
            let (ok, result) = match approve::approve_now(&st.workflow, &actor, &id, reason.as_deref()).await {
                Ok(view) => (true, document_json(&view)),
                Err(e) => (false, error_result(&ApiError::from(e))),
            };
            kyso_workflow::operations::finish(&st.store, &op2, ok, &result.to_string()).await;
        });
        return Ok(see_other(&format!("/operations/{op}")));
    }
    // In a task of its own: once started, the signature is recorded even if the browser leaves.
    let (st, actor, id2) = (state.clone(), user.actor.clone(), id.clone());
    tokio::spawn(async move { approve::approve_now(&st.workflow, &actor, &id2, reason.as_deref()).await })
        .await
        .map_err(|e| err(ApiError::internal("signing", e)))?
        .map_err(|e| err(e.into()))?;
    Ok(see_other(&format!("/documents/{id}?done=signed")))
}

async fn return_form(
    State(state): State<Arc<AppState>>,
    user: WebUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<ReasonForm>,
) -> Result<Response, WebError> {
    let err = fail(&user, "/documents");
    check_form(&headers, &user.csrf, &f.csrf).map_err(&err)?;
    approve::return_document(&state.workflow, &user, &id, f.reason.as_deref().unwrap_or("")).await.map_err(|e| err(e.into()))?;
    Ok(see_other(&format!("/documents/{id}?done=returned")))
}

/// The batch form: repeated `document_ids` fields (checkboxes), a reason, the CSRF token.
async fn batch_form(
    State(state): State<Arc<AppState>>,
    user: WebUser,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let err = fail(&user, "/inbox");
    let mut ids = Vec::new();
    let (mut csrf, mut reason) = (String::new(), None);
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "document_ids" => ids.push(v.into_owned()),
            "_csrf" => csrf = v.into_owned(),
            "reason" if !v.trim().is_empty() => reason = Some(v.into_owned()),
            _ => {}
        }
    }
    check_form(&headers, &user.csrf, &csrf).map_err(&err)?;
    approve::check_batch(&ids).map_err(|e| err(e.into()))?;
    // The outcome is kept as an operation and shown at its address (a reload does not sign again).
    // With a remote key the page waits there for the phone; with a local one the work is done
    // before the redirect.
    let remote = approve::signs_remotely(&state.workflow, &user).await.map_err(|e| err(e.into()))?;
    let op = kyso_workflow::operations::start(&state.store, &user.owner(), "batch", &ids).await.map_err(|e| err(e.into()))?;
    let (st, actor, op2) = (state.clone(), user.actor.clone(), op.clone());
    let work = tokio::spawn(async move {
        let (ok, result) = match approve::batch_now(&st.workflow, &actor, &ids, reason.as_deref()).await {
            Ok(r) => (true, batch_json(&r)),
            Err(e) => (false, error_result(&ApiError::from(e))),
        };
        kyso_workflow::operations::finish(&st.store, &op2, ok, &result.to_string()).await;
    });
    if !remote {
        work.await.map_err(|e| err(ApiError::internal("signing a batch", e)))?;
    }
    Ok(see_other(&format!("/operations/{op}")))
}

/// One document's outcome in a batch, as the page shows it.
pub struct BatchLine {
    pub id: String,
    pub title: String,
    pub ok: bool,
    pub message: String,
}

#[derive(askama::Template)]
#[template(path = "batch.html")]
struct BatchPage {
    chrome: Chrome,
    signed: u64,
    failed: u64,
    lines: Vec<BatchLine>,
}

async fn batch_page(user: &WebUser, state: &Arc<AppState>, result: &serde_json::Value) -> BatchPage {
    let l = user.lang;
    let mut lines = Vec::new();
    for r in result["results"].as_array().into_iter().flatten() {
        let id = r["document_id"].as_str().unwrap_or_default().to_string();
        let title =
            kyso_workflow::documents::load_document(&state.store, &id).await.ok().flatten().map(|d| d.title).unwrap_or_else(|| id.clone());
        let ok = r["status"] == "signed";
        let message = if ok {
            l.t("Đã ký", "Signed").to_string()
        } else {
            r["error"][if l == Lang::En { "message" } else { "message_vi" }].as_str().unwrap_or_default().to_string()
        };
        lines.push(BatchLine { id, title, ok, message });
    }
    BatchPage {
        chrome: Chrome::for_user(user, "/inbox"),
        signed: result["signed"].as_u64().unwrap_or(0),
        failed: result["failed"].as_u64().unwrap_or(0),
        lines,
    }
}

#[derive(askama::Template)]
#[template(path = "submit.html")]
struct SubmitPage {
    chrome: Chrome,
    templates: Vec<(String, String)>,
    units: Vec<(String, String)>,
    error: Option<String>,
    title: String,
}

async fn submit_page(State(state): State<Arc<AppState>>, user: WebUser) -> Result<Response, WebError> {
    Ok(render(submit_form(&state, &user, None, String::new()).await?, user.lang))
}

async fn submit_form(state: &Arc<AppState>, user: &WebUser, error: Option<String>, title: String) -> Result<SubmitPage, WebError> {
    let f = fail(user, "/submit");
    let templates =
        kyso_workflow::templates::list(&state.store).await.map_err(|e| f(e.into()))?.into_iter().map(|t| (t.id, t.name)).collect();
    let tree = kyso_org::OrgTree::load(&state.store.db.pool).await.map_err(|e| f(e.into()))?;
    let mut units: Vec<(String, String)> = user.memberships.iter().map(|(o, _)| (o.clone(), tree.path(o))).collect();
    units.sort();
    units.dedup();
    Ok(SubmitPage { chrome: Chrome::for_user(user, "/submit"), templates, units, error, title })
}

fn no_file(l: Lang) -> String {
    l.t("Hãy chọn tệp PDF cần trình ký.", "Choose the PDF to submit.").into()
}

async fn submit(State(state): State<Arc<AppState>>, user: WebUser, headers: HeaderMap, m: Multipart) -> Result<Response, WebError> {
    let err = fail(&user, "/submit");
    // Cross-site posts are refused before the body is read.
    check_form(&headers, &user.csrf, &user.csrf).map_err(&err)?;
    let form = crate::web::form::read_upload(&state, m).await.map_err(&err)?;
    check_form(&headers, &user.csrf, form.field("_csrf")).map_err(&err)?;
    let title = form.fields.get("title").cloned().unwrap_or_default();
    let Some((_, upload)) = form.file else {
        return Ok(render(submit_form(&state, &user, Some(no_file(user.lang)), title).await?, user.lang));
    };
    let s = kyso_workflow::submit::Submission {
        title: &title,
        template: form.fields.get("template").map(String::as_str).unwrap_or("lesson-plan"),
        org: form.fields.get("org").map(String::as_str).filter(|o| !o.is_empty()),
        on_behalf_of: None,
    };
    match kyso_workflow::submit::submit(&state.workflow, &user, s, upload, &state.shutdown).await {
        Ok(v) => Ok(see_other(&format!("/documents/{}?done=submitted", v.doc.id))),
        Err(e) => {
            let e = ApiError::from(e);
            if e.status.is_client_error() {
                let text = if user.lang == Lang::En { e.en } else { e.vi };
                Ok(render(submit_form(&state, &user, Some(text), title).await?, user.lang))
            } else {
                Err(err(e))
            }
        }
    }
}

async fn new_version(
    State(state): State<Arc<AppState>>,
    user: WebUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    m: Multipart,
) -> Result<Response, WebError> {
    let err = fail(&user, "/documents");
    check_form(&headers, &user.csrf, &user.csrf).map_err(&err)?;
    let form = crate::web::form::read_upload(&state, m).await.map_err(&err)?;
    check_form(&headers, &user.csrf, form.field("_csrf")).map_err(&err)?;
    let (_, upload) = form.file.ok_or_else(|| err(ApiError::bad_request("choose the new version's PDF", no_file(Lang::Vi))))?;
    kyso_workflow::submit::resubmit(&state.workflow, &user, &id, upload, &state.shutdown).await.map_err(|e| err(e.into()))?;
    Ok(see_other(&format!("/documents/{id}?done=version")))
}

#[derive(askama::Template)]
#[template(path = "operation.html")]
struct OperationPage {
    chrome: Chrome,
    id: String,
    pending: bool,
    failed: Option<String>,
    document: Option<String>,
}

/// The waiting page while a phone confirms; it refreshes itself every two seconds and moves on
/// when the operation ends.
async fn operation(State(state): State<Arc<AppState>>, user: WebUser, Path(id): Path<String>) -> Result<Response, WebError> {
    let op = kyso_workflow::operations::get(&state.store, &user.owner(), &id).await.map_err(|e| fail(&user, "/inbox")(e.into()))?;
    let result: serde_json::Value = op.result.as_deref().and_then(|r| serde_json::from_str(r).ok()).unwrap_or_default();
    if op.state == "done" {
        return Ok(match op.kind.as_str() {
            "approve" => see_other(&format!("/documents/{}?done=signed", op.document_ids.first().cloned().unwrap_or_default())),
            "confirm_key" => see_other("/me/key?done=confirmed"),
            _ => render(batch_page(&user, &state, &result).await, user.lang),
        });
    }
    let failed = (op.state == "failed")
        .then(|| result["error"][if user.lang == Lang::En { "message" } else { "message_vi" }].as_str().unwrap_or_default().to_string());
    let page = OperationPage {
        chrome: Chrome::for_user(&user, "/inbox"),
        id,
        pending: op.state == "pending",
        failed,
        document: op.document_ids.first().cloned(),
    };
    Ok(render(page, user.lang))
}

#[derive(askama::Template)]
#[template(path = "key.html")]
struct KeyPage {
    chrome: Chrome,
    key: Option<crate::web::admin::KeyView>,
}

async fn my_key(State(state): State<Arc<AppState>>, user: WebUser) -> Result<Response, WebError> {
    let me = user.require_user().map_err(|e| fail(&user, "/me/key")(e.into()))?.to_string();
    let info = state.workflow.signers.info(&state.store, &me).await.map_err(|e| fail(&user, "/me/key")(e.into()))?;
    let mut chrome = Chrome::for_user(&user, "/me/key");
    chrome.flash = flash_of(&user);
    Ok(render(KeyPage { chrome, key: info.as_ref().map(|k| crate::web::admin::KeyView::of(k, user.lang)) }, user.lang))
}

async fn confirm_key(
    State(state): State<Arc<AppState>>,
    user: WebUser,
    headers: HeaderMap,
    Form(f): Form<ReasonForm>,
) -> Result<Response, WebError> {
    let err = fail(&user, "/me/key");
    check_form(&headers, &user.csrf, &f.csrf).map_err(&err)?;
    let op = kyso_workflow::operations::start(&state.store, &user.owner(), "confirm_key", &[]).await.map_err(|e| err(e.into()))?;
    let (st, actor, op2) = (state.clone(), user.actor.clone(), op.clone());
    tokio::spawn(async move {
        let (ok, result) = match st.workflow.signers.confirm(&st.store, &actor).await {
            Ok(info) => (true, crate::api::keys::key_json(&info)),
            Err(e) => (false, error_result(&ApiError::from(e))),
        };
        kyso_workflow::operations::finish(&st.store, &op2, ok, &result.to_string()).await;
    });
    Ok(see_other(&format!("/operations/{op}")))
}
