//! `/records`: the records archive. The catalogue of registers a unit sees (and an
//! administrator's changes to it), school years, the completion dashboard (JSON, CSV or xlsx),
//! the obligations behind it, and a submission attached to an obligation.

use crate::AppState;
use crate::api::documents::document_json;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Caller, JsonBody, QueryParams, Upload};
use crate::http::idempotent;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use kyso_org::OrgTree;
use kyso_records::catalogue::RegisterType;
use kyso_records::dashboard::{self, Filter};
use kyso_records::{export, years};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/records/registers", get(registers))
        .route("/api/v1/records/registers/{code}", put(save_register))
        .route("/api/v1/records/years", get(list_years).post(open_year))
        .route("/api/v1/records/dashboard", get(dashboard_answer))
        .route("/api/v1/records/obligations", get(obligations))
        .route("/api/v1/records/obligations/{id}/submit", post(submit))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitQuery {
    unit: String,
}

/// The catalogue as a unit sees it; any unit the caller may see in the tree.
async fn registers(State(state): State<Arc<AppState>>, caller: Caller, QueryParams(q): QueryParams<UnitQuery>) -> ApiResult<Json<Value>> {
    let tree = OrgTree::load(&state.store.db.pool).await?;
    if !kyso_org::tree::visible_units(&caller, &tree).iter().any(|o| o.id == q.unit) {
        return Err(ApiError::not_found("unit"));
    }
    let list = kyso_records::catalogue::effective(&state.store, &tree, &q.unit).await?;
    Ok(Json(json!({"items": list})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterRequest {
    name_vi: String,
    name_en: String,
    owner_type: String,
    frequency: String,
    levels: Vec<String>,
    formats: Vec<String>,
    template: String,
    #[serde(default)]
    due: Option<String>,
    citation: String,
    #[serde(default)]
    confirmed: Option<bool>,
    #[serde(default)]
    active: Option<bool>,
}

async fn save_register(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(code): Path<String>,
    QueryParams(q): QueryParams<UnitQuery>,
    JsonBody(r): JsonBody<RegisterRequest>,
) -> ApiResult<Json<Value>> {
    if r.levels.len() > 8 || r.formats.len() > 16 {
        return Err(ApiError::bad_request("too many levels or formats", "quá nhiều cấp học hoặc định dạng"));
    }
    let register = RegisterType {
        id: String::new(),
        defined_at: None,
        code,
        name_vi: r.name_vi,
        name_en: r.name_en,
        owner_type: r.owner_type,
        frequency: r.frequency,
        levels: r.levels,
        formats: r.formats,
        template: r.template,
        due: r.due.unwrap_or_else(|| "end".into()),
        citation: r.citation,
        confirmed: r.confirmed.unwrap_or(true),
        active: r.active.unwrap_or(true),
    };
    let saved = kyso_records::catalogue::save(&state.store, &caller, &q.unit, register).await?;
    Ok(Json(json!(saved)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SemesterRequest {
    starts_on: String,
    ends_on: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearRequest {
    school: String,
    name: String,
    education_level: String,
    semesters: Vec<SemesterRequest>,
}

async fn open_year(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(y): JsonBody<YearRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if y.semesters.len() > 3 {
        return Err(kyso_records::RecordsError::Invalid { field: "semesters", rule: kyso_records::Rule::SemesterCount }.into());
    }
    let semesters: Vec<(String, String)> = y.semesters.into_iter().map(|s| (s.starts_on, s.ends_on)).collect();
    let opened = years::open(
        &state.store,
        &caller,
        years::NewYear { school: &y.school, name: &y.name, education_level: &y.education_level, semesters: &semesters },
    )
    .await?;
    let skipped: Vec<Value> = opened.skipped.iter().map(|(code, why)| json!({"code": code, "reason": why})).collect();
    Ok((
        StatusCode::CREATED,
        Json(json!({"year": opened.year, "periods": opened.periods, "obligations": opened.obligations, "skipped": skipped})),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearsQuery {
    #[serde(default)]
    unit: Option<String>,
}

/// The school years of the schools the caller sees (below `unit` when given).
async fn list_years(State(state): State<Arc<AppState>>, caller: Caller, QueryParams(q): QueryParams<YearsQuery>) -> ApiResult<Json<Value>> {
    let tree = OrgTree::load(&state.store.db.pool).await?;
    let visible = kyso_org::tree::visible_units(&caller, &tree);
    let schools: Vec<&str> = visible
        .iter()
        .filter(|o| o.level == "school" && q.unit.as_deref().is_none_or(|u| tree.is_within(&o.id, u)))
        .map(|o| o.id.as_str())
        .collect();
    let list = years::of_schools(&state.store, &schools).await?;
    let mut items = Vec::with_capacity(list.len());
    for y in list {
        let periods = years::periods(&state.store, &y.id).await?;
        items.push(json!({"year": y, "periods": periods}));
    }
    Ok(Json(json!({"items": items})))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DashboardQuery {
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub year: Option<String>,
    #[serde(default)]
    pub register: Option<String>,
    #[serde(default)]
    pub period: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    /// "register": one row per register instead of one per unit below.
    #[serde(default)]
    pub by: Option<String>,
    /// Count periods that have not begun too.
    #[serde(default)]
    pub all_periods: Option<bool>,
    /// json (default), csv or xlsx.
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub offset: Option<i64>,
}

impl DashboardQuery {
    pub fn filter(&self) -> Filter {
        let some = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        Filter {
            year: some(&self.year),
            register: some(&self.register),
            period: some(&self.period),
            status: some(&self.status),
            begun_only: !self.all_periods.unwrap_or(false),
        }
    }
}

/// A spreadsheet or CSV download, never shown inline.
pub fn download(bytes: Vec<u8>, content_type: &'static str, filename: &str) -> Response {
    (
        [(header::CONTENT_TYPE, content_type.to_string()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\""))],
        bytes,
    )
        .into_response()
}

async fn dashboard_answer(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    QueryParams(q): QueryParams<DashboardQuery>,
) -> ApiResult<Response> {
    let unit = q.unit.clone().or_else(|| caller.home_org().map(str::to_string)).ok_or_else(|| ApiError::not_found("unit"))?;
    let f = q.filter();
    let summary = dashboard::summary(&state.store, &caller, &unit, &f, q.by.as_deref() == Some("register")).await?;
    match q.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(json!(summary)).into_response()),
        "csv" => Ok(download(export::summary_csv(&summary).into_bytes(), "text/csv; charset=utf-8", "tinh-hinh-ho-so.csv")),
        "xlsx" => {
            let lines = dashboard::lines(&state.store, &caller, Some(&unit), &f, 100_000, 0).await?;
            let book = export::xlsx(&summary, &lines)?;
            Ok(download(book, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "tinh-hinh-ho-so.xlsx"))
        }
        _ => Err(ApiError::bad_request("format must be json, csv or xlsx", "định dạng phải là json, csv hoặc xlsx")),
    }
}

/// The obligations below `unit`, or the caller's own without it.
async fn obligations(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    QueryParams(q): QueryParams<DashboardQuery>,
) -> ApiResult<Response> {
    let f = q.filter();
    let (limit, offset) = (q.limit.unwrap_or(100).clamp(1, 1000), q.offset.unwrap_or(0).max(0));
    let lines = dashboard::lines(&state.store, &caller, q.unit.as_deref(), &f, limit, offset).await?;
    match q.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(json!({"items": lines, "limit": limit, "offset": offset})).into_response()),
        "csv" => Ok(download(export::lines_csv(&lines).into_bytes(), "text/csv; charset=utf-8", "ho-so.csv")),
        _ => Err(ApiError::bad_request("format must be json or csv", "định dạng phải là json hoặc csv")),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitQuery {
    #[serde(default)]
    title: Option<String>,
}

async fn submit(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<SubmitQuery>,
    Upload(upload): Upload,
) -> ApiResult<Response> {
    let request_sha =
        idempotent::request_digest(&[b"record", id.as_bytes(), q.title.as_deref().unwrap_or("").as_bytes(), upload.sha256.as_bytes()]);
    let (st, actor, cancel) = (state.clone(), caller.actor.clone(), state.shutdown.clone());
    idempotent::run(&state, &caller.owner(), &headers, &request_sha, async move {
        let view = kyso_records::submit::submit(&st.workflow, &actor, &id, q.title.as_deref(), upload, &cancel).await?;
        Ok((StatusCode::CREATED, document_json(&view)))
    })
    .await
}
