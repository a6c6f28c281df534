//! The records archive's pages: the completion dashboard (a unit's rows with counts per status,
//! drill-down, filters, xlsx and CSV downloads), "my records" (what I owe, with a form to send
//! each), one obligation with its upload form, the register catalogue, and opening a school
//! year. Thin like the rest of the web edge: each handler calls the same `kyso-records`
//! function as the REST API.

use crate::AppState;
use crate::api::records::download;
use crate::http::error::ApiError;
use crate::web::i18n::Lang;
use crate::web::{Chrome, WebError, WebUser, check_form, fail, render, see_other};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use kyso_org::{OVERSEEING_ROLES, OrgTree};
use kyso_records::catalogue::RegisterType;
use kyso_records::dashboard::{self, Counts, Filter, Line, STATUSES, Summary};
use kyso_records::{export, submit, years};
use serde::Deserialize;
use std::sync::Arc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/records", get(dashboard_page))
        .route("/records/export", get(export_file))
        .route("/records/obligations/{id}", get(obligation_page).post(submit_record).layer(crate::web::form::unbounded_upload()))
        .route("/records/registers", get(registers_page))
        .route("/records/years", get(years_page).post(open_year))
}

/// What the dashboard's filters send (and the language switch adds).
#[derive(Deserialize, Default, Clone)]
pub struct DashQuery {
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    year: Option<String>,
    #[serde(default)]
    register: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    format: Option<String>,
}

impl DashQuery {
    fn filter(&self) -> Filter {
        let some = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        Filter { year: some(&self.year), register: some(&self.register), period: None, status: some(&self.status), begun_only: true }
    }

    /// The query string for links that keep the filters (escaped by the template).
    fn keep(&self, unit: &str) -> String {
        let mut q = format!("unit={}", enc(unit));
        for (k, v) in [("year", &self.year), ("register", &self.register), ("status", &self.status), ("by", &self.by)] {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                q += &format!("&{k}={}", enc(v));
            }
        }
        q
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// A deadline as people read it: the last minute before it ("30/11/2026 23:59", not "01/12 00:00").
fn last_minute(due_at: i64) -> String {
    kyso_clock::vietnam_date_time(due_at - 60)
}

/// A status as people read it, with its tag colour.
pub fn status_label(l: Lang, status: &str) -> (&'static str, &'static str) {
    let (vi, en, colour) = match status {
        "missing" => ("Chưa nộp", "Not sent", "grey"),
        "overdue" => ("Quá hạn", "Overdue", "bad"),
        "draft" => ("Chưa ký", "Not signed", "grey"),
        "submitted" => ("Đã nộp", "Sent", "warn"),
        "in_approval" => ("Đang duyệt", "In approval", "warn"),
        "returned" => ("Bị trả lại", "Returned", "bad"),
        _ => ("Đã ký đủ", "Signed", "ok"),
    };
    (l.t(vi, en), colour)
}

pub struct CountCell {
    pub status: &'static str,
    pub label: &'static str,
    pub colour: &'static str,
    pub n: i64,
    pub href: String,
}

pub struct DashRow {
    pub label: String,
    pub href: Option<String>,
    pub cells: Vec<CountCell>,
    pub total: i64,
    pub percent: i64,
}

pub struct LineView {
    pub register: String,
    pub owner: String,
    pub period: String,
    pub due: String,
    pub status: &'static str,
    pub colour: &'static str,
    pub href: String,
}

#[derive(askama::Template)]
#[template(path = "records.html")]
struct DashboardPage {
    chrome: Chrome,
    scopes: Vec<(String, String, bool)>,
    summary: Option<Summary>,
    rows: Vec<DashRow>,
    total: Option<DashRow>,
    years: Vec<(String, bool)>,
    registers: Vec<(String, String, bool)>,
    statuses: Vec<(&'static str, &'static str, bool)>,
    by_register: bool,
    export_query: String,
    lines: Vec<LineView>,
    mine: Vec<LineView>,
    can_open_year: bool,
}

fn cells(l: Lang, c: &Counts, href: impl Fn(&str) -> String) -> Vec<CountCell> {
    ["signed", "in_approval", "submitted", "draft", "returned", "overdue", "missing"]
        .iter()
        .map(|s| {
            let (label, colour) = status_label(l, s);
            CountCell { status: s, label, colour, n: c.get(s), href: href(s) }
        })
        .collect()
}

fn line_view(l: Lang, x: &Line, owner_view: bool) -> LineView {
    let (status, colour) = status_label(l, &x.status);
    let href = match (&x.document_id, owner_view) {
        (Some(d), _) => format!("/documents/{d}"),
        (None, true) => format!("/records/obligations/{}", x.id),
        (None, false) => String::new(),
    };
    LineView {
        register: x.register_name.clone(),
        owner: if x.unit_name.is_empty() || x.unit_name == x.owner_name {
            x.owner_name.clone()
        } else {
            format!("{} ({})", x.owner_name, x.unit_name)
        },
        period: x.period.clone(),
        due: last_minute(x.due_at),
        status,
        colour,
        href,
    }
}

async fn dashboard_page(State(state): State<Arc<AppState>>, user: WebUser, Query(q): Query<DashQuery>) -> Result<Response, WebError> {
    let err = fail(&user, "/records");
    let l = user.lang;
    let tree = OrgTree::load(&state.store.db.pool).await.map_err(|e| err(e.into()))?;
    let overseen: Vec<&str> =
        user.memberships.iter().filter(|(_, r)| OVERSEEING_ROLES.contains(&r.as_str())).map(|(o, _)| o.as_str()).collect();
    let unit = q.unit.clone().filter(|u| !u.is_empty()).or_else(|| overseen.first().map(|s| s.to_string()));
    let f = q.filter();
    let by_register = q.by.as_deref() == Some("register");
    let mut page = DashboardPage {
        chrome: Chrome::for_user(&user, "/records"),
        scopes: overseen.iter().filter_map(|o| tree.get(o)).map(|o| (o.id.clone(), o.name.clone(), Some(&o.id) == unit.as_ref())).collect(),
        summary: None,
        rows: Vec::new(),
        total: None,
        years: Vec::new(),
        registers: Vec::new(),
        statuses: STATUSES.iter().map(|s| (*s, status_label(l, s).0, q.status.as_deref() == Some(*s))).collect(),
        by_register,
        export_query: String::new(),
        lines: Vec::new(),
        mine: Vec::new(),
        can_open_year: user.memberships.iter().any(|(o, r)| (r == "principal" || r == "admin") && tree.get(o).is_some()),
    };
    if let Some(unit) = &unit {
        let s = dashboard::summary(&state.store, &user, unit, &f, by_register).await.map_err(|e| err(e.into()))?;
        let keep = q.keep(unit);
        let drill = matches!(s.rows_are, "district" | "school" | "unit");
        page.rows = s
            .rows
            .iter()
            .map(|r| {
                let href = (drill && r.key != *unit).then(|| format!("/records?{}", q.keep(&r.key)));
                let row_key = r.key.clone();
                let by_reg = s.rows_are == "register";
                let base =
                    if by_reg { format!("/records?{}&register={}", keep, enc(&row_key)) } else { format!("/records?{}", q.keep(&row_key)) };
                DashRow {
                    label: r.label.clone(),
                    href,
                    cells: cells(l, &r.counts, |st| format!("{base}&status={st}")),
                    total: r.counts.total,
                    percent: r.counts.percent_signed(),
                }
            })
            .collect();
        page.total = Some(DashRow {
            label: l.t("Tổng cộng", "Total").into(),
            href: None,
            cells: cells(l, &s.total, |st| format!("/records?{keep}&status={st}")),
            total: s.total.total,
            percent: s.total.percent_signed(),
        });
        let schools: Vec<&str> = tree.subtree(unit).iter().filter(|o| o.level == "school").map(|o| o.id.as_str()).collect();
        let mut names: Vec<String> =
            years::of_schools(&state.store, &schools).await.map_err(|e| err(e.into()))?.into_iter().map(|y| y.name).collect();
        names.dedup();
        page.years = names.into_iter().map(|n| (n.clone(), q.year.as_deref() == Some(n.as_str()))).collect();
        let catalogue: Vec<RegisterType> =
            kyso_records::catalogue::effective(&state.store, &tree, unit).await.map_err(|e| err(e.into()))?;
        page.registers =
            catalogue.into_iter().map(|r| (r.code.clone(), r.name_vi, q.register.as_deref() == Some(r.code.as_str()))).collect();
        // The obligations themselves: for a subject group always, elsewhere once a filter narrows them.
        if s.scope_level == "group" || f.register.is_some() || f.status.is_some() {
            let lines = dashboard::lines(&state.store, &user, Some(unit), &f, 200, 0).await.map_err(|e| err(e.into()))?;
            page.lines = lines.iter().map(|x| line_view(l, x, false)).collect();
        }
        page.export_query = keep;
        page.summary = Some(s);
    }
    let mine_filter = Filter { begun_only: true, ..Default::default() };
    let mine = dashboard::lines(&state.store, &user, None, &mine_filter, 30, 0).await.unwrap_or_default();
    page.mine = mine.iter().map(|x| line_view(l, x, true)).collect();
    Ok(render(page, l))
}

async fn export_file(State(state): State<Arc<AppState>>, user: WebUser, Query(q): Query<DashQuery>) -> Result<Response, WebError> {
    let err = fail(&user, "/records");
    let unit = q.unit.clone().ok_or_else(|| err(ApiError::not_found("unit")))?;
    let f = q.filter();
    let s = dashboard::summary(&state.store, &user, &unit, &f, q.by.as_deref() == Some("register")).await.map_err(|e| err(e.into()))?;
    match q.format.as_deref() {
        Some("csv") => Ok(download(export::summary_csv(&s).into_bytes(), "text/csv; charset=utf-8", "tinh-hinh-ho-so.csv")),
        _ => {
            let lines = dashboard::lines(&state.store, &user, Some(&unit), &f, 100_000, 0).await.map_err(|e| err(e.into()))?;
            let book = export::xlsx(&s, &lines).map_err(|e| err(e.into()))?;
            Ok(download(book, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "tinh-hinh-ho-so.xlsx"))
        }
    }
}

#[derive(askama::Template)]
#[template(path = "records_obligation.html")]
struct ObligationPage {
    chrome: Chrome,
    o: submit::Obligation,
    due: String,
    owes: bool,
    error: Option<String>,
}

async fn obligation(state: &AppState, user: &WebUser, id: &str) -> Result<submit::Obligation, WebError> {
    let err = fail(user, "/records");
    let o = submit::get(&state.store, id).await.map_err(|e| err(e.into()))?.ok_or_else(|| err(ApiError::not_found("record")))?;
    let tree = OrgTree::load(&state.store.db.pool).await.map_err(|e| err(e.into()))?;
    if !submit::owes(user, &o) && !dashboard::may_oversee(user, &tree, &o.unit_id) {
        return Err(err(ApiError::not_found("record")));
    }
    Ok(o)
}

async fn obligation_page(State(state): State<Arc<AppState>>, user: WebUser, Path(id): Path<String>) -> Result<Response, WebError> {
    let o = obligation(&state, &user, &id).await?;
    if let Some(d) = &o.document_id {
        return Ok(see_other(&format!("/documents/{d}")));
    }
    let owes = submit::owes(&user, &o);
    let due = last_minute(o.due_at);
    Ok(render(ObligationPage { chrome: Chrome::for_user(&user, "/records"), o, due, owes, error: None }, user.lang))
}

async fn submit_record(
    State(state): State<Arc<AppState>>,
    user: WebUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    m: Multipart,
) -> Result<Response, WebError> {
    let err = fail(&user, "/records");
    check_form(&headers, &user.csrf, &user.csrf).map_err(&err)?;
    let form = crate::web::form::read_upload(&state, m).await.map_err(&err)?;
    check_form(&headers, &user.csrf, form.field("_csrf")).map_err(&err)?;
    let o = obligation(&state, &user, &id).await?;
    let show = |error: String| {
        let due = last_minute(o.due_at);
        render(ObligationPage { chrome: Chrome::for_user(&user, "/records"), o: o.clone(), due, owes: true, error: Some(error) }, user.lang)
    };
    let Some((_, upload)) = form.file else {
        return Ok(show(user.lang.t("Hãy chọn tệp PDF cần nộp.", "Choose the PDF to send.").into()));
    };
    let title = form.fields.get("title").map(String::as_str);
    match submit::submit(&state.workflow, &user, &id, title, upload, &state.shutdown).await {
        Ok(v) => Ok(see_other(&format!("/documents/{}?done=submitted", v.doc.id))),
        Err(e) => {
            let e = ApiError::from(e);
            if e.status.is_client_error() { Ok(show(if user.lang == Lang::En { e.en } else { e.vi })) } else { Err(err(e)) }
        }
    }
}

pub struct RegisterView {
    pub name: String,
    pub code: String,
    pub owner: &'static str,
    pub frequency: &'static str,
    pub levels: String,
    pub citation: String,
    pub confirmed: bool,
}

/// The catalogue's codes in words.
fn register_view(l: Lang, r: RegisterType) -> RegisterView {
    let owner = match r.owner_type.as_str() {
        "school" => l.t("Nhà trường", "The school"),
        "subject_group" => l.t("Tổ chuyên môn", "Subject group"),
        "class" => l.t("Lớp", "Class"),
        "teacher" => l.t("Giáo viên", "Teacher"),
        "homeroom_teacher" => l.t("Giáo viên chủ nhiệm", "Homeroom teacher"),
        _ => l.t("Nhân viên", "Staff member"),
    };
    let frequency = match r.frequency.as_str() {
        "school_year" => l.t("Mỗi năm học", "Each school year"),
        "semester" => l.t("Mỗi học kỳ", "Each semester"),
        "month" => l.t("Mỗi tháng", "Each month"),
        "week" => l.t("Mỗi tuần", "Each week"),
        "per_lesson" => l.t("Mỗi tiết học", "Each lesson"),
        _ => l.t("Khi phát sinh", "When needed"),
    };
    let levels: Vec<&str> = r
        .levels
        .iter()
        .map(|v| match v.as_str() {
            "secondary" => l.t("Trung học", "Secondary"),
            "primary" => l.t("Tiểu học", "Primary"),
            _ => l.t("Mầm non", "Preschool"),
        })
        .collect();
    let name = if l == Lang::En { r.name_en } else { r.name_vi };
    RegisterView { name, code: r.code, owner, frequency, levels: levels.join(", "), citation: r.citation, confirmed: r.confirmed }
}

#[derive(askama::Template)]
#[template(path = "records_registers.html")]
struct RegistersPage {
    chrome: Chrome,
    unit_name: String,
    registers: Vec<RegisterView>,
}

async fn registers_page(State(state): State<Arc<AppState>>, user: WebUser, Query(q): Query<DashQuery>) -> Result<Response, WebError> {
    let err = fail(&user, "/records");
    let tree = OrgTree::load(&state.store.db.pool).await.map_err(|e| err(e.into()))?;
    let visible = kyso_org::tree::visible_units(&user, &tree);
    let unit = q.unit.clone().or_else(|| user.home_org().map(str::to_string)).filter(|u| visible.iter().any(|o| o.id == *u));
    let unit = unit.ok_or_else(|| err(ApiError::not_found("unit")))?;
    let registers = kyso_records::catalogue::effective(&state.store, &tree, &unit).await.map_err(|e| err(e.into()))?;
    let registers = registers.into_iter().map(|r| register_view(user.lang, r)).collect();
    let unit_name = tree.get(&unit).map(|o| o.name.clone()).unwrap_or_default();
    Ok(render(RegistersPage { chrome: Chrome::for_user(&user, "/records"), unit_name, registers }, user.lang))
}

#[derive(askama::Template)]
#[template(path = "records_years.html")]
struct YearsPage {
    chrome: Chrome,
    schools: Vec<(String, String)>,
    years: Vec<years::SchoolYear>,
    error: Option<String>,
    done: Option<String>,
}

async fn years_view(state: &AppState, user: &WebUser, error: Option<String>, done: Option<String>) -> Result<Response, WebError> {
    let err = fail(user, "/records");
    let tree = OrgTree::load(&state.store.db.pool).await.map_err(|e| err(e.into()))?;
    let schools: Vec<(String, String)> = tree
        .orgs
        .iter()
        .filter(|o| o.level == "school")
        .filter(|o| kyso_org::tree::administers(user, &tree, &o.id) || user.has_role_in(&o.id, "principal"))
        .map(|o| (o.id.clone(), o.name.clone()))
        .collect();
    let ids: Vec<&str> = schools.iter().map(|(id, _)| id.as_str()).collect();
    let years = years::of_schools(&state.store, &ids).await.map_err(|e| err(e.into()))?;
    Ok(render(YearsPage { chrome: Chrome::for_user(user, "/records"), schools, years, error, done }, user.lang))
}

async fn years_page(State(state): State<Arc<AppState>>, user: WebUser) -> Result<Response, WebError> {
    years_view(&state, &user, None, None).await
}

#[derive(Deserialize)]
struct YearForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    school: String,
    name: String,
    education_level: String,
    s1_start: String,
    s1_end: String,
    #[serde(default)]
    s2_start: String,
    #[serde(default)]
    s2_end: String,
}

async fn open_year(
    State(state): State<Arc<AppState>>,
    user: WebUser,
    headers: HeaderMap,
    Form(f): Form<YearForm>,
) -> Result<Response, WebError> {
    check_form(&headers, &user.csrf, &f.csrf).map_err(fail(&user, "/records"))?;
    let mut semesters = vec![(f.s1_start, f.s1_end)];
    if !f.s2_start.is_empty() || !f.s2_end.is_empty() {
        semesters.push((f.s2_start, f.s2_end));
    }
    let y = years::NewYear { school: &f.school, name: f.name.trim(), education_level: &f.education_level, semesters: &semesters };
    match years::open(&state.store, &user, y).await {
        Ok(o) => {
            let done = match user.lang {
                Lang::Vi => format!("Đã mở năm học {}: {} kỳ, {} hồ sơ phải nộp.", o.year.name, o.periods, o.obligations),
                Lang::En => format!("School year {} opened: {} periods, {} records owed.", o.year.name, o.periods, o.obligations),
            };
            years_view(&state, &user, None, Some(done)).await
        }
        Err(e) => {
            let e = ApiError::from(e);
            if e.status.is_client_error() {
                years_view(&state, &user, Some(if user.lang == Lang::En { e.en } else { e.vi }), None).await
            } else {
                Err(fail(&user, "/records")(e))
            }
        }
    }
}
