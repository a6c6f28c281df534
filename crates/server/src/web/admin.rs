//! Administrators' pages: the organisation tree, people and their roles (add, change, disable),
//! a person's key chosen among the sources the operator declared (never a path), chain
//! templates, API clients (token shown once); and delegations, which any role holder gives.

use crate::AppState;
use crate::http::error::ApiError;
use crate::web::i18n::Lang;
use crate::web::{Chrome, WebError, WebUser, check_form, fail, render, see_other};
use axum::extract::{Multipart, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use kyso_org::people::{NewPerson, PersonChange};
use serde::Deserialize;
use std::sync::Arc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin", get(overview))
        .route("/admin/units", get(units).post(add_unit))
        .route("/admin/people", get(people).post(add_person))
        .route("/admin/people/{username}", get(person).post(change_person))
        .route("/admin/people/{username}/key", post(assign_key).layer(crate::web::form::unbounded_upload()))
        .route("/admin/templates", get(templates).post(save_template))
        .route("/admin/clients", get(clients).post(add_client))
        .route("/admin/clients/{id}/revoke", post(revoke_client))
        .route("/delegations", get(delegations).post(add_delegation))
        .route("/delegations/{id}/revoke", post(revoke_delegation))
}

/// A key's certificate as pages show it.
pub struct KeyView {
    pub subject: String,
    pub issuer: String,
    pub valid: String,
    pub serial: String,
    pub sha256: String,
    pub source: String,
    pub matched: bool,
    pub override_reason: String,
    pub confirmed: bool,
}

impl KeyView {
    pub fn of(k: &kyso_signers::KeyInfo, l: Lang) -> KeyView {
        let source = match k.source.as_str() {
            "hsm" => format!("{} {} — {}", l.t("Thiết bị HSM", "HSM"), k.source_name, k.object),
            "provider" => format!("{} {} — {}", l.t("Nhà cung cấp ký số từ xa", "Remote provider"), k.source_name, k.object),
            _ => l.t("Kho khóa của máy chủ (tệp PKCS#12)", "The server's key store (PKCS#12 file)").to_string(),
        };
        KeyView {
            subject: k.subject.clone(),
            issuer: k.issuer.clone(),
            valid: format!("{} → {}", crate::web::readable_utc(&k.not_before), crate::web::readable_utc(&k.not_after)),
            serial: k.serial.clone(),
            sha256: k.cert_sha256.clone(),
            source,
            matched: k.identity == "match",
            override_reason: k.override_reason.clone().unwrap_or_default(),
            confirmed: k.confirmed,
        }
    }
}

#[derive(Deserialize)]
struct Csrf {
    #[serde(rename = "_csrf")]
    csrf: String,
}

fn require_admin(user: &WebUser, current: &str) -> Result<(), WebError> {
    if user.has_role("admin") {
        Ok(())
    } else {
        Err(fail(user, current)(kyso_org::OrgError::Forbidden(kyso_org::Refusal::NotAdministrator).into()))
    }
}

#[derive(askama::Template)]
#[template(path = "admin.html")]
struct Overview {
    chrome: Chrome,
}

async fn overview(user: WebUser) -> Result<Response, WebError> {
    require_admin(&user, "/admin")?;
    Ok(render(Overview { chrome: Chrome::for_user(&user, "/admin") }, user.lang))
}

/// A unit in the tree, indented by depth.
pub struct UnitLine {
    pub id: String,
    pub name: String,
    pub level: String,
    pub depth: usize,
    pub administered: bool,
}

#[derive(askama::Template)]
#[template(path = "admin_units.html")]
struct UnitsPage {
    chrome: Chrome,
    units: Vec<UnitLine>,
    error: Option<String>,
}

async fn units_page(state: &Arc<AppState>, user: &WebUser, error: Option<String>) -> Result<Response, WebError> {
    let tree = kyso_org::OrgTree::load(&state.store.db.pool).await.map_err(|e| fail(user, "/admin")(e.into()))?;
    let visible = kyso_org::tree::visible_units(user, &tree);
    let mut lines: Vec<UnitLine> = visible
        .iter()
        .map(|o| UnitLine {
            id: o.id.clone(),
            name: o.name.clone(),
            level: o.level.clone(),
            depth: tree.ancestors_or_self(&o.id).len().saturating_sub(1),
            administered: kyso_org::tree::administers(user, &tree, &o.id),
        })
        .collect();
    lines.sort_by_key(|u| tree.path(&u.id));
    Ok(render(UnitsPage { chrome: Chrome::for_user(user, "/admin"), units: lines, error }, user.lang))
}

async fn units(State(state): State<Arc<AppState>>, user: WebUser) -> Result<Response, WebError> {
    require_admin(&user, "/admin")?;
    units_page(&state, &user, None).await
}

#[derive(Deserialize)]
struct UnitForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    parent_id: String,
    level: String,
    name: String,
}

fn words(e: ApiError, l: Lang) -> String {
    if l == Lang::En { e.en } else { e.vi }
}

async fn add_unit(
    State(state): State<Arc<AppState>>,
    user: WebUser,
    headers: HeaderMap,
    Form(f): Form<UnitForm>,
) -> Result<Response, WebError> {
    check_form(&headers, &user.csrf, &f.csrf).map_err(fail(&user, "/admin"))?;
    match kyso_org::tree::create_unit(&state.store, &user, &f.parent_id, &f.level, &f.name).await {
        Ok(_) => Ok(see_other("/admin/units")),
        Err(e) => units_page(&state, &user, Some(words(e.into(), user.lang))).await,
    }
}

/// A person in the administrators' list.
pub struct PersonLine {
    pub username: String,
    pub full_name: String,
    pub roles: String,
    pub disabled: bool,
}

#[derive(askama::Template)]
#[template(path = "admin_people.html")]
struct PeoplePage {
    chrome: Chrome,
    people: Vec<PersonLine>,
    units: Vec<(String, String)>,
    roles: Vec<(&'static str, String)>,
    error: Option<String>,
}

async fn people_page(state: &Arc<AppState>, user: &WebUser, error: Option<String>) -> Result<Response, WebError> {
    let f = fail(user, "/admin");
    let tree = kyso_org::OrgTree::load(&state.store.db.pool).await.map_err(|e| f(e.into()))?;
    let l = user.lang;
    let people = kyso_org::people::list(&state.store, user).await.map_err(|e| f(e.into()))?;
    let people = people
        .iter()
        .map(|p| PersonLine {
            username: p.username.clone(),
            full_name: p.full_name.clone(),
            roles: p
                .memberships
                .iter()
                .map(|(o, r)| format!("{} ({})", l.role(r), tree.get(o).map(|x| x.name.as_str()).unwrap_or(o)))
                .collect::<Vec<_>>()
                .join(", "),
            disabled: p.disabled,
        })
        .collect();
    let mut units: Vec<(String, String)> =
        tree.within_any(user.units_with_role("admin")).into_iter().map(|id| (id.to_string(), tree.path(id))).collect();
    units.sort_by(|a, b| a.1.cmp(&b.1));
    let roles = kyso_org::ROLES.iter().map(|r| (*r, l.role(r))).collect();
    Ok(render(PeoplePage { chrome: Chrome::for_user(user, "/admin"), people, units, roles, error }, l))
}

async fn people(State(state): State<Arc<AppState>>, user: WebUser) -> Result<Response, WebError> {
    require_admin(&user, "/admin")?;
    people_page(&state, &user, None).await
}

#[derive(Deserialize)]
struct PersonForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    username: String,
    full_name: String,
    password: String,
    id_number: Option<String>,
    org_id: String,
    role: String,
}

async fn add_person(
    State(state): State<Arc<AppState>>,
    user: WebUser,
    headers: HeaderMap,
    Form(f): Form<PersonForm>,
) -> Result<Response, WebError> {
    check_form(&headers, &user.csrf, &f.csrf).map_err(fail(&user, "/admin"))?;
    let memberships = [(f.org_id.clone(), f.role.clone())];
    let p = NewPerson {
        username: f.username.trim(),
        full_name: &f.full_name,
        password: &f.password,
        id_number: f.id_number.as_deref(),
        memberships: &memberships,
    };
    match kyso_org::people::create(&state.store, &user, p).await {
        Ok(p) => Ok(see_other(&format!("/admin/people/{}", p.username))),
        Err(e) => people_page(&state, &user, Some(words(e.into(), user.lang))).await,
    }
}

#[derive(askama::Template)]
#[template(path = "admin_person.html")]
struct PersonPage {
    chrome: Chrome,
    username: String,
    full_name: String,
    id_number: String,
    disabled: bool,
    roles: Vec<(String, String, String)>,
    key: Option<KeyView>,
    sources: Vec<(String, String, String)>,
    error: Option<String>,
}

async fn person_page(state: &Arc<AppState>, user: &WebUser, username: &str, error: Option<String>) -> Result<Response, WebError> {
    let f = fail(user, "/admin");
    let p = kyso_org::people::administered(&state.store, user, username).await.map_err(|e| f(e.into()))?;
    let tree = kyso_org::OrgTree::load(&state.store.db.pool).await.map_err(|e| f(e.into()))?;
    let l = user.lang;
    let key = state.workflow.signers.info(&state.store, &p.id).await.map_err(|e| f(e.into()))?.map(|k| KeyView::of(&k, l));
    let sources = state.workflow.signers.sources().into_iter().map(|s| (s.kind.to_string(), s.name, s.object_hint)).collect();
    let roles = p.memberships.iter().map(|(o, r)| (o.clone(), r.clone(), format!("{} — {}", l.role(r), tree.path(o)))).collect();
    Ok(render(
        PersonPage {
            chrome: Chrome::for_user(user, "/admin"),
            username: p.username,
            full_name: p.full_name,
            id_number: p.id_number.unwrap_or_default(),
            disabled: p.disabled,
            roles,
            key,
            sources,
            error,
        },
        l,
    ))
}

async fn person(State(state): State<Arc<AppState>>, user: WebUser, Path(username): Path<String>) -> Result<Response, WebError> {
    person_page(&state, &user, &username, None).await
}

#[derive(Deserialize)]
struct ChangeForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    full_name: Option<String>,
    id_number: Option<String>,
    password: Option<String>,
    disabled: Option<String>,
}

async fn change_person(
    State(state): State<Arc<AppState>>,
    user: WebUser,
    headers: HeaderMap,
    Path(username): Path<String>,
    Form(f): Form<ChangeForm>,
) -> Result<Response, WebError> {
    check_form(&headers, &user.csrf, &f.csrf).map_err(fail(&user, "/admin"))?;
    let change = PersonChange {
        full_name: f.full_name.as_deref().filter(|s| !s.trim().is_empty()),
        id_number: f.id_number.as_deref(),
        password: f.password.as_deref().filter(|s| !s.is_empty()),
        memberships: None,
        disabled: f.disabled.as_deref().map(|d| d == "1"),
    };
    match kyso_org::people::update(&state.store, &user, &username, change).await {
        Ok(_) => Ok(see_other(&format!("/admin/people/{username}"))),
        Err(e) => person_page(&state, &user, &username, Some(words(e.into(), user.lang))).await,
    }
}

/// The key form: a declared source by name with its object or credential, or a PKCS#12 file.
async fn assign_key(
    State(state): State<Arc<AppState>>,
    user: WebUser,
    headers: HeaderMap,
    Path(username): Path<String>,
    m: Multipart,
) -> Result<Response, WebError> {
    let err = fail(&user, "/admin");
    check_form(&headers, &user.csrf, &user.csrf).map_err(&err)?;
    let form = match crate::web::form::read_upload(&state, m).await {
        Ok(f) => f,
        Err(e) => return person_page(&state, &user, &username, Some(words(e, user.lang))).await,
    };
    check_form(&headers, &user.csrf, form.field("_csrf")).map_err(&err)?;
    let (fields, p12) = (&form.fields, form.key_file.clone());
    let choice = fields.get("source").cloned().unwrap_or_default();
    let (kind, name) = choice.split_once(':').map(|(k, n)| (k.to_string(), n.to_string())).unwrap_or_default();
    let object = fields.get("object").cloned().unwrap_or_default();
    let source = match kind.as_str() {
        "hsm" => kyso_signers::KeySource::Hsm { name, object },
        "provider" => kyso_signers::KeySource::Provider { name, credential: object },
        "keystore" if !p12.is_empty() => {
            kyso_signers::KeySource::Keystore { pkcs12: p12, password: fields.get("password").cloned().unwrap_or_default() }
        }
        _ => {
            let text = user
                .lang
                .t("Hãy chọn một nguồn khóa (và tệp PKCS#12 cho kho khóa).", "Choose a key source (and a PKCS#12 file for the key store).")
                .to_string();
            return person_page(&state, &user, &username, Some(text)).await;
        }
    };
    let override_reason = fields.get("override_reason").map(String::as_str).filter(|s| !s.trim().is_empty());
    match state.workflow.signers.assign(&state.store, &user, &username, source, override_reason).await {
        Ok(_) => Ok(see_other(&format!("/admin/people/{username}"))),
        Err(e) => person_page(&state, &user, &username, Some(words(e.into(), user.lang))).await,
    }
}

#[derive(askama::Template)]
#[template(path = "admin_templates.html")]
struct TemplatesPage {
    chrome: Chrome,
    templates: Vec<(String, String, Vec<String>, String)>,
    error: Option<String>,
}

async fn templates_page(state: &Arc<AppState>, user: &WebUser, error: Option<String>) -> Result<Response, WebError> {
    let l = user.lang;
    let list = kyso_workflow::templates::list(&state.store).await.map_err(|e| fail(user, "/admin")(e.into()))?;
    let templates = list
        .into_iter()
        .map(|t| {
            let stages = t
                .stages
                .iter()
                .map(|s| format!("{} — {} ({} {})", s.name, l.role(&s.role), l.t("cấp", "level"), s.levels.join(" / ")))
                .collect();
            let json = serde_json::to_string_pretty(&t.stages).unwrap_or_default();
            (t.id, t.name, stages, json)
        })
        .collect();
    Ok(render(TemplatesPage { chrome: Chrome::for_user(user, "/admin"), templates, error }, l))
}

async fn templates(State(state): State<Arc<AppState>>, user: WebUser) -> Result<Response, WebError> {
    require_admin(&user, "/admin")?;
    templates_page(&state, &user, None).await
}

#[derive(Deserialize)]
struct TemplateForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    id: String,
    name: String,
    stages: String,
}

async fn save_template(
    State(state): State<Arc<AppState>>,
    user: WebUser,
    headers: HeaderMap,
    Form(f): Form<TemplateForm>,
) -> Result<Response, WebError> {
    check_form(&headers, &user.csrf, &f.csrf).map_err(fail(&user, "/admin"))?;
    let stages: Vec<kyso_workflow::templates::Stage> = match serde_json::from_str(&f.stages) {
        Ok(s) => s,
        Err(e) => {
            let text = format!("{}: {e}", user.lang.t("Các bước không đúng định dạng JSON", "The stages are not valid JSON"));
            return templates_page(&state, &user, Some(text)).await;
        }
    };
    match kyso_workflow::templates::save(&state.store, &user, f.id.trim(), &f.name, stages).await {
        Ok(_) => Ok(see_other("/admin/templates")),
        Err(e) => templates_page(&state, &user, Some(words(e.into(), user.lang))).await,
    }
}

/// An API client as the list shows it.
pub struct ClientLine {
    pub id: String,
    pub name: String,
    pub unit: String,
    pub scopes: String,
    pub expires: String,
    pub revoked: bool,
}

#[derive(askama::Template)]
#[template(path = "admin_clients.html")]
struct ClientsPage {
    chrome: Chrome,
    clients: Vec<ClientLine>,
    units: Vec<(String, String)>,
    new_token: Option<String>,
    error: Option<String>,
}

async fn clients_page(
    state: &Arc<AppState>,
    user: &WebUser,
    new_token: Option<String>,
    error: Option<String>,
) -> Result<Response, WebError> {
    let f = fail(user, "/admin");
    let clients = kyso_org::auth::list_clients(&state.store, user).await.map_err(|e| f(e.into()))?;
    let tree = kyso_org::OrgTree::load(&state.store.db.pool).await.map_err(|e| f(e.into()))?;
    let clients = clients
        .into_iter()
        .map(|c| ClientLine {
            unit: tree.path(&c.org_id),
            scopes: c.scopes.join(", "),
            expires: kyso_clock::vietnam_date(c.expires_at),
            revoked: c.revoked,
            id: c.id,
            name: c.name,
        })
        .collect();
    let mut units: Vec<(String, String)> =
        tree.within_any(user.units_with_role("admin")).into_iter().map(|id| (id.to_string(), tree.path(id))).collect();
    units.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(render(ClientsPage { chrome: Chrome::for_user(user, "/admin"), clients, units, new_token, error }, user.lang))
}

async fn clients(State(state): State<Arc<AppState>>, user: WebUser) -> Result<Response, WebError> {
    require_admin(&user, "/admin")?;
    clients_page(&state, &user, None, None).await
}

async fn add_client(
    State(state): State<Arc<AppState>>,
    user: WebUser,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let (mut csrf, mut name, mut org, mut days, mut scopes) = (String::new(), String::new(), String::new(), 365i64, Vec::new());
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "_csrf" => csrf = v.into_owned(),
            "name" => name = v.into_owned(),
            "org_id" => org = v.into_owned(),
            "valid_days" => days = v.trim().parse().unwrap_or(0),
            "scopes" => scopes.push(v.into_owned()),
            _ => {}
        }
    }
    check_form(&headers, &user.csrf, &csrf).map_err(fail(&user, "/admin"))?;
    match kyso_org::auth::create_client(&state.store, &user, &name, &org, &scopes, days).await {
        // The token is shown once, on this page; only its hash is kept.
        Ok(c) => clients_page(&state, &user, Some(c.token), None).await,
        Err(e) => clients_page(&state, &user, None, Some(words(e.into(), user.lang))).await,
    }
}

async fn revoke_client(
    State(state): State<Arc<AppState>>,
    user: WebUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<Csrf>,
) -> Result<Response, WebError> {
    check_form(&headers, &user.csrf, &f.csrf).map_err(fail(&user, "/admin"))?;
    kyso_org::auth::revoke_client(&state.store, &user, &id).await.map_err(|e| fail(&user, "/admin")(e.into()))?;
    Ok(see_other("/admin/clients"))
}

/// A delegation as the list shows it.
pub struct DelegationLine {
    pub id: String,
    pub from: String,
    pub to: String,
    pub role: String,
    pub until: String,
    pub revoked: bool,
    /// The viewer gave it, so may revoke it.
    pub mine: bool,
}

#[derive(askama::Template)]
#[template(path = "delegations.html")]
struct DelegationsPage {
    chrome: Chrome,
    delegations: Vec<DelegationLine>,
    holdings: Vec<(String, String, String)>,
    error: Option<String>,
}

async fn delegations_page(state: &Arc<AppState>, user: &WebUser, error: Option<String>) -> Result<Response, WebError> {
    let f = fail(user, "/me/key");
    let list = kyso_org::delegations::list(&state.store, user).await.map_err(|e| f(e.into()))?;
    let tree = kyso_org::OrgTree::load(&state.store.db.pool).await.map_err(|e| f(e.into()))?;
    let l = user.lang;
    let list = list
        .into_iter()
        .map(|d| DelegationLine {
            mine: user.user_id() == Some(d.from_user.as_str()),
            role: format!("{} — {}", l.role(&d.role), tree.path(&d.org_id)),
            until: kyso_clock::vietnam_date(d.valid_until),
            revoked: d.revoked,
            from: d.from_username,
            to: d.to_username,
            id: d.id,
        })
        .collect();
    let holdings = user
        .memberships
        .iter()
        .map(|(o, r)| (format!("{o}|{r}"), o.clone(), format!("{} — {}", user.lang.role(r), tree.path(o))))
        .collect();
    Ok(render(DelegationsPage { chrome: Chrome::for_user(user, "/me/key"), delegations: list, holdings, error }, user.lang))
}

async fn delegations(State(state): State<Arc<AppState>>, user: WebUser) -> Result<Response, WebError> {
    delegations_page(&state, &user, None).await
}

#[derive(Deserialize)]
struct DelegationForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    holding: String,
    to_username: String,
    until: String,
}

async fn add_delegation(
    State(state): State<Arc<AppState>>,
    user: WebUser,
    headers: HeaderMap,
    Form(f): Form<DelegationForm>,
) -> Result<Response, WebError> {
    check_form(&headers, &user.csrf, &f.csrf).map_err(fail(&user, "/me/key"))?;
    let (org, role) = f.holding.split_once('|').unwrap_or_default();
    // The delegation ends at the end of the chosen day, Vietnam time.
    let Some(until) = kyso_clock::parse_vietnam_date(f.until.trim()).map(|d| d + 86_399) else {
        let text = user.lang.t("Hãy chọn ngày kết thúc ủy quyền.", "Choose the day the delegation ends.").to_string();
        return delegations_page(&state, &user, Some(text)).await;
    };
    match kyso_org::delegations::create(&state.store, &user, f.to_username.trim(), org, role, until).await {
        Ok(_) => Ok(see_other("/delegations")),
        Err(e) => delegations_page(&state, &user, Some(words(e.into(), user.lang))).await,
    }
}

async fn revoke_delegation(
    State(state): State<Arc<AppState>>,
    user: WebUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<Csrf>,
) -> Result<Response, WebError> {
    check_form(&headers, &user.csrf, &f.csrf).map_err(fail(&user, "/me/key"))?;
    kyso_org::delegations::revoke(&state.store, &user, &id).await.map_err(|e| fail(&user, "/me/key")(e.into()))?;
    Ok(see_other("/delegations"))
}
