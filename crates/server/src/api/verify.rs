//! `/verify`: any PDF → the validator's report (JSON, text, ETSI XML or the auditor's PDF), with
//! online revocation checks (the operator's local CRLs where the network gives none). The work is
//! bounded: it stops when the client hangs up or after a deadline.

use crate::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Caller, QueryParams, Upload};
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/v1/verify", post(verify))
}

#[derive(Deserialize)]
struct VerifyQuery {
    format: Option<String>,
    lang: Option<String>,
}

/// Sets its flag when dropped: the request's future is dropped when the client hangs up.
struct HangUp(Arc<AtomicBool>);

impl Drop for HangUp {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Validates `bytes` on the processor queue, stopping when `gone` is set, the server shuts down
/// or `deadline` passes. Shared by the REST endpoint and the auditor's page.
pub async fn validate_upload(
    state: &Arc<AppState>,
    owner: &str,
    file: std::fs::File,
    gone: Arc<AtomicBool>,
) -> ApiResult<kyso_validate::Report> {
    let deadline = std::time::Instant::now() + state.config.work_deadline;
    let shutdown = state.shutdown.clone();
    let interrupt: kyso_pdf::Interrupt =
        Arc::new(move || gone.load(Ordering::SeqCst) || shutdown.is_cancelled() || std::time::Instant::now() > deadline);
    let now = kyso_clock::unix_now();
    let online: Option<Box<dyn kyso_validate::OnlineRevocation>> =
        Some(Box::new(kyso_ltv::OnlineChecker { timeout: std::time::Duration::from_secs(10), local: state.verify_crls.clone(), now }));
    let ctx = kyso_validate::Context {
        trust_anchors: state.trust_anchors.clone(),
        validation_time_unix: now,
        online,
        interrupt: Some(interrupt),
    };
    let result = state.store.cpu.run(owner, move || kyso_validate::validate_file(&file, &ctx)).await?;
    result.map_err(|e| match e {
        kyso_validate::Error::Pdf(kyso_pdf::Error::Interrupted) => ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "cancelled",
            "the validation took too long or was cancelled",
            "việc kiểm tra mất quá nhiều thời gian hoặc đã bị hủy",
        ),
        kyso_validate::Error::Pdf(p) => ApiError::unprocessable(
            "invalid_pdf",
            format!("the file cannot be validated: {p}"),
            format!("không kiểm tra được tệp: {}", crate::http::error::vi_pdf(&p)),
        ),
    })
}

/// The received upload, opened for the validator (which reads it by range, never whole).
pub fn open_upload(upload: &kyso_store::Received) -> ApiResult<std::fs::File> {
    if upload.len == 0 {
        return Err(ApiError::bad_request("the request body is empty: send the PDF itself", "nội dung yêu cầu trống: hãy gửi tệp PDF"));
    }
    upload.open().map_err(|e| ApiError::internal("reading an upload", e))
}

async fn verify(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    QueryParams(q): QueryParams<VerifyQuery>,
    Upload(upload): Upload,
) -> ApiResult<Response> {
    caller.require_scope("verify")?;
    let format = q.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "text" | "etsi" | "pdf") {
        return Err(ApiError::bad_request("format must be json, text, etsi or pdf", "format phải là json, text, etsi hoặc pdf"));
    }
    let lang = if q.lang.as_deref() == Some("en") { kyso_report::Lang::En } else { kyso_report::Lang::Vi };
    let file = open_upload(&upload)?;
    let gone = Arc::new(AtomicBool::new(false));
    let _hang_up = HangUp(gone.clone());
    let report = validate_upload(&state, &caller.owner(), file, gone).await?;
    let now = kyso_clock::iso_utc(kyso_clock::unix_now());
    Ok(match format {
        "text" => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], kyso_report::to_text(&report, lang)).into_response(),
        "pdf" => {
            let pdf = kyso_report::to_pdf(&report, None, lang, "upload.pdf", &upload.sha256, &now)
                .map_err(|e| ApiError::internal("writing the PDF report", e))?;
            (
                [
                    (header::CONTENT_TYPE, "application/pdf"),
                    (header::CONTENT_DISPOSITION, "attachment; filename=\"validation-report.pdf\""),
                ],
                pdf,
            )
                .into_response()
        }
        "etsi" => ([(header::CONTENT_TYPE, "application/xml")], kyso_report::etsi::to_etsi_xml(&report, &now)).into_response(),
        _ => ([(header::CONTENT_TYPE, "application/json")], kyso_report::to_json(&report)).into_response(),
    })
}
