//! The auditor's pages: verify any PDF (an upload, or a stored document's current version) and
//! read the report in the page (signers, issuers, times, integrity, coverage, changes, named
//! attacks, the expected chain), download it as PDF, ETSI XML or JSON; and the audit trail of
//! the units the auditor oversees, with its hash chain checked.

use crate::AppState;
use crate::http::error::ApiError;
use crate::web::i18n::Lang;
use crate::web::{Chrome, WebError, WebUser, check_form, fail, render, see_other};
use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/verify", get(verify_page).post(verify_upload).layer(crate::web::form::unbounded_upload()))
        .route("/verify/{id}", get(report_page))
        .route("/verify/{id}/download/{format}", get(download))
        .route("/audit", get(audit))
}

/// A report kept for its owner for an hour, for the page and its downloads.
struct Kept {
    owner: String,
    at: std::time::Instant,
    name: String,
    sha256: String,
    report: kyso_validate::Report,
    chain: Option<kyso_validate::chain::ChainCheck>,
    at_unix: u64,
}

/// The reports of recent verifications (at most 200, an hour each).
#[derive(Default)]
pub struct ReportCache(Mutex<HashMap<String, Kept>>);

impl ReportCache {
    fn put(&self, k: Kept) -> String {
        let id = kyso_store::new_id();
        let mut m = self.0.lock().expect("report cache lock");
        m.retain(|_, v| v.at.elapsed() < std::time::Duration::from_secs(3600));
        if m.len() >= 200
            && let Some(oldest) = m.iter().min_by_key(|(_, v)| v.at).map(|(k, _)| k.clone())
        {
            m.remove(&oldest);
        }
        m.insert(id.clone(), k);
        id
    }

    fn get<R>(&self, id: &str, owner: &str, f: impl FnOnce(&Kept) -> R) -> Option<R> {
        let m = self.0.lock().expect("report cache lock");
        m.get(id).filter(|k| k.owner == owner && k.at.elapsed() < std::time::Duration::from_secs(3600)).map(f)
    }
}

#[derive(askama::Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    chrome: Chrome,
    error: Option<String>,
    document: String,
}

#[derive(Deserialize)]
struct VerifyQuery {
    document: Option<String>,
}

async fn verify_page(user: WebUser, Query(q): Query<VerifyQuery>) -> Response {
    let document: String = q.document.unwrap_or_default().chars().filter(|c| c.is_ascii_hexdigit()).take(64).collect();
    render(VerifyPage { chrome: Chrome::for_user(&user, "/verify"), error: None, document }, user.lang)
}

fn expected_chain(text: &str) -> Option<Vec<String>> {
    let v: Vec<String> =
        text.split([',', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(|s| s.chars().take(64).collect()).take(20).collect();
    (!v.is_empty()).then_some(v)
}

async fn verify_upload(State(state): State<Arc<AppState>>, user: WebUser, headers: HeaderMap, m: Multipart) -> Result<Response, WebError> {
    let err = fail(&user, "/verify");
    check_form(&headers, &user.csrf, &user.csrf).map_err(&err)?;
    let form = crate::web::form::read_upload(&state, m).await.map_err(&err)?;
    check_form(&headers, &user.csrf, form.field("_csrf")).map_err(&err)?;
    let gone = Arc::new(AtomicBool::new(false));
    let document = form.field("document").to_string();
    let expected = expected_chain(form.field("expect_chain"));
    let (name, sha256, report) = match form.file {
        Some((name, received)) => {
            let file = crate::api::verify::open_upload(&received).map_err(&err)?;
            let report = crate::api::verify::validate_upload(&state, &user.owner(), file, gone).await.map_err(&err)?;
            (name, received.sha256.clone(), report)
        }
        None if !document.is_empty() => {
            let (doc, sha, file) =
                kyso_workflow::documents::open_version(&state.store, &user, &document, None).await.map_err(|e| err(e.into()))?;
            let report = crate::api::verify::validate_upload(&state, &user.owner(), file, gone).await.map_err(&err)?;
            (format!("{}.pdf", doc.title), sha, report)
        }
        None => {
            let text = user.lang.t("Hãy chọn tệp PDF cần kiểm tra.", "Choose the PDF to verify.").to_string();
            return Ok(render(VerifyPage { chrome: Chrome::for_user(&user, "/verify"), error: Some(text), document }, user.lang));
        }
    };
    let chain = expected.map(|e| kyso_validate::chain::check_chain(&report, &e));
    let id = state.reports.put(Kept {
        owner: user.owner(),
        at: std::time::Instant::now(),
        name,
        sha256,
        report,
        chain,
        at_unix: kyso_clock::unix_now(),
    });
    Ok(see_other(&format!("/verify/{id}")))
}

/// One signature of a report, as the page shows it.
pub struct SignatureView {
    pub field: String,
    pub verdict: String,
    pub verdict_kind: &'static str,
    pub sub: String,
    pub signer: String,
    pub issuer: String,
    pub validity: String,
    pub time: String,
    pub timestamp: String,
    pub level: String,
    pub integrity: String,
    pub coverage: String,
    pub changes: String,
    pub attacks: Vec<String>,
    pub messages: Vec<String>,
}

/// A PDF date (`D:20261202133416+07'00'`) as people read it, when it is one.
fn readable_date(d: &str) -> String {
    let s = d.trim_start_matches("D:");
    match (s.get(0..4), s.get(4..6), s.get(6..8), s.get(8..10), s.get(10..12), s.get(12..14)) {
        (Some(y), Some(mo), Some(dd), Some(h), Some(mi), Some(sec)) if s[..14].bytes().all(|b| b.is_ascii_digit()) => {
            let zone = s.get(14..).unwrap_or("").replace('\'', "");
            let zone = if zone.len() >= 5 { format!(" {}:{}", &zone[..3], &zone[3..5]) } else { String::new() };
            format!("{dd}/{mo}/{y} {h}:{mi}:{sec}{zone}")
        }
        _ => d.to_string(),
    }
}

fn signature_view(s: &kyso_validate::SignatureReport, l: Lang) -> SignatureView {
    let (verdict, verdict_kind) = l.indication(s.indication);
    SignatureView {
        field: s.field.clone(),
        verdict,
        verdict_kind,
        sub: s.sub_indication.clone().unwrap_or_default(),
        signer: s
            .signer
            .as_ref()
            .map(|x| match &x.organization {
                Some(o) => format!("{} — {o}", x.name),
                None => x.name.clone(),
            })
            .unwrap_or_else(|| l.t("không rõ", "unknown").into()),
        issuer: s.signer.as_ref().map(|x| x.issuer.clone()).unwrap_or_default(),
        validity: s
            .signer
            .as_ref()
            .map(|x| format!("{} → {}", crate::web::readable_utc(&x.not_before), crate::web::readable_utc(&x.not_after)))
            .unwrap_or_default(),
        time: s.signing_time.as_deref().map(readable_date).unwrap_or_default(),
        timestamp: s.timestamp_time.clone().unwrap_or_default(),
        level: s.level.clone(),
        integrity: if s.intact { l.t("nguyên vẹn", "intact") } else { l.t("không xác nhận được", "not confirmed") }.into(),
        coverage: l.coverage(s.coverage),
        changes: l.modifications(s.modifications),
        attacks: s.attacks.iter().map(|a| l.attack(*a)).collect(),
        messages: s.messages.iter().map(|m| l.message(m).to_string()).collect(),
    }
}

#[derive(askama::Template)]
#[template(path = "report.html")]
struct ReportPage {
    chrome: Chrome,
    id: String,
    name: String,
    sha256: String,
    when: String,
    overall: String,
    overall_kind: &'static str,
    signatures: Vec<SignatureView>,
    messages: Vec<String>,
    chain: Option<(bool, Vec<String>)>,
}

async fn report_page(State(state): State<Arc<AppState>>, user: WebUser, Path(id): Path<String>) -> Result<Response, WebError> {
    let l = user.lang;
    let page = state
        .reports
        .get(&id, &user.owner(), |k| {
            let (overall, overall_kind) = l.indication(k.report.overall());
            ReportPage {
                chrome: Chrome::for_user(&user, "/verify"),
                id: id.clone(),
                name: k.name.clone(),
                sha256: k.sha256.clone(),
                when: kyso_clock::vietnam_date_time(k.at_unix as i64),
                overall,
                overall_kind,
                signatures: k.report.signatures.iter().map(|s| signature_view(s, l)).collect(),
                messages: k.report.messages.iter().map(|m| l.message(m).to_string()).collect(),
                chain: k.chain.as_ref().map(|c| {
                    (
                        c.ok,
                        c.steps
                            .iter()
                            .map(|s| {
                                format!(
                                    "{} {}. {} ← {}",
                                    if s.ok { "✓" } else { "✗" },
                                    s.position,
                                    s.expected.clone().unwrap_or_default(),
                                    s.signer.clone().unwrap_or_else(|| "—".into())
                                )
                            })
                            .collect(),
                    )
                }),
            }
        })
        .ok_or_else(|| fail(&user, "/verify")(ApiError::not_found("report")))?;
    Ok(render(page, l))
}

async fn download(
    State(state): State<Arc<AppState>>,
    user: WebUser,
    Path((id, format)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let l = if user.lang == Lang::En { kyso_report::Lang::En } else { kyso_report::Lang::Vi };
    let made = state.reports.get(&id, &user.owner(), |k| {
        let when = kyso_clock::iso_utc(k.at_unix);
        match format.as_str() {
            "pdf" => {
                kyso_report::to_pdf(&k.report, k.chain.as_ref(), l, &k.name, &k.sha256, &when).ok().map(|b| (b, "application/pdf", "pdf"))
            }
            "xml" => Some((kyso_report::etsi::to_etsi_xml(&k.report, &when).into_bytes(), "application/xml", "xml")),
            "json" => Some((kyso_report::to_json_with_chain(&k.report, k.chain.as_ref()).into_bytes(), "application/json", "json")),
            _ => None,
        }
    });
    let (bytes, ct, ext) = made.flatten().ok_or_else(|| fail(&user, "/verify")(ApiError::not_found("report")))?;
    Ok((
        [(header::CONTENT_TYPE, ct.to_string()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"kyso-report.{ext}\""))],
        bytes,
    )
        .into_response())
}

/// One audit entry as the page shows it.
pub struct AuditLine {
    pub seq: i64,
    pub when: String,
    pub actor: String,
    pub action: String,
    pub document: Option<String>,
    pub unit: String,
    pub detail: String,
}

#[derive(askama::Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    lines: Vec<AuditLine>,
    intact: Option<(bool, String)>,
    action: String,
    document: String,
    actor: String,
    next: Option<String>,
}

#[derive(Deserialize)]
struct AuditQuery {
    action: Option<String>,
    document: Option<String>,
    actor: Option<String>,
    after: Option<i64>,
    check: Option<String>,
}

async fn audit(State(state): State<Arc<AppState>>, user: WebUser, Query(q): Query<AuditQuery>) -> Result<Response, WebError> {
    let err = fail(&user, "/audit");
    let tree = kyso_org::OrgTree::load(&state.store.db.pool).await.map_err(|e| err(e.into()))?;
    let (units, top) = crate::api::audit::scope(&user, &tree).map_err(&err)?;
    let clean = |v: Option<String>| v.map(|s| s.trim().chars().take(100).collect::<String>()).unwrap_or_default();
    let (action, document, actor) = (clean(q.action), clean(q.document), clean(q.actor));
    let filter = kyso_store::audit::Filter {
        orgs: Some(&units),
        include_unscoped: top,
        action: Some(action.as_str()).filter(|s| !s.is_empty()),
        document_id: Some(document.as_str()).filter(|s| !s.is_empty()),
        actor: Some(actor.as_str()).filter(|s| !s.is_empty()),
        after: q.after.unwrap_or(0).max(0),
        limit: 50,
    };
    let entries = kyso_store::audit::search(&state.store.db.pool, &filter).await.map_err(|e| err(e.into()))?;
    let intact = if q.check.is_some() {
        Some(match kyso_store::audit::verify(&state.store.db.pool).await.map_err(|e| err(e.into()))? {
            kyso_store::audit::Verdict::Intact { entries, head } => (true, format!("{entries}:{head}")),
            kyso_store::audit::Verdict::Broken { seq, reason } => (false, format!("{seq}: {reason}")),
        })
    } else {
        None
    };
    let next = (entries.len() == 50)
        .then(|| entries.last().map(|e| format!("/audit?after={}&action={action}&document={document}&actor={actor}", e.seq)))
        .flatten();
    let lines = entries
        .into_iter()
        .map(|e| AuditLine {
            seq: e.seq,
            when: kyso_clock::vietnam_date_time(e.at),
            actor: e.actor,
            action: e.action,
            document: e.document_id,
            unit: e.org_id.as_deref().and_then(|o| tree.get(o)).map(|o| o.name.clone()).unwrap_or_default(),
            detail: e.detail.chars().take(300).collect(),
        })
        .collect();
    Ok(render(AuditPage { chrome: Chrome::for_user(&user, "/audit"), lines, intact, action, document, actor, next }, user.lang))
}
