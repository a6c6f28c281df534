//! The web pages, in Vietnamese by default (English switchable): server-rendered HTML from
//! compile-time-checked templates (askama), forms that work without JavaScript, a few lines of
//! our own script and the PDF viewer (pdf.js, vendored) as enhancements, every asset served by Kyso itself.
//! A thin edge like the REST API: each handler reads the form, calls the same domain function
//! the API calls, and renders its result; a page shows only what the same REST call would return.
//!
//! Sessions are cookies (`HttpOnly`, `SameSite=Strict`, `Secure` behind TLS) naming a server-side
//! session that logout deletes; every state-changing form carries the session's CSRF token and
//! must come from this site (`Sec-Fetch-Site`/`Origin`); every page has a Content-Security-Policy
//! without inline scripts and `frame-ancestors 'none'`.

pub mod admin;
pub mod assets;
pub mod auth;
pub mod documents;
pub mod form;
pub mod i18n;
pub mod library;
pub mod records;
pub mod verify;

use crate::AppState;
use crate::http::error::ApiError;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use i18n::Lang;
use kyso_org::Actor;
use std::sync::Arc;

pub const SESSION_COOKIE: &str = "kyso_session";
pub const LANG_COOKIE: &str = "kyso_lang";

/// The policy every page is sent with.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; worker-src 'self' blob:; connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .merge(assets::routes())
        .merge(auth::routes())
        .merge(documents::routes())
        .merge(verify::routes())
        .merge(admin::routes())
        .merge(records::routes())
        .merge(library::routes())
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The language of the request: `?lang=` (remembered in a cookie by the switch link), else the
/// cookie, else Vietnamese.
pub fn lang_of(parts: &Parts) -> Lang {
    let query = parts.uri.query().unwrap_or("");
    if query.split('&').any(|kv| kv == "lang=en") {
        return Lang::En;
    }
    if query.split('&').any(|kv| kv == "lang=vi") {
        return Lang::Vi;
    }
    match cookie(&parts.headers, LANG_COOKIE).as_deref() {
        Some("en") => Lang::En,
        _ => Lang::Vi,
    }
}

/// A logged-in person on the web.
pub struct WebUser {
    pub actor: Actor,
    pub token: String,
    pub csrf: String,
    pub lang: Lang,
    /// The path of this request (for "back to" links and the language switch).
    pub path: String,
}

impl std::ops::Deref for WebUser {
    type Target = Actor;
    fn deref(&self) -> &Actor {
        &self.actor
    }
}

impl FromRequestParts<Arc<AppState>> for WebUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let lang = lang_of(parts);
        let path = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
        let to_login = || {
            let next: String = path.chars().filter(|c| c.is_ascii_alphanumeric() || "/-_".contains(*c)).take(200).collect();
            Redirect::to(&format!("/login?next={next}")).into_response()
        };
        let Some(token) =
            cookie(&parts.headers, SESSION_COOKIE).filter(|t| t.starts_with(kyso_org::auth::SESSION_PREFIX) && t.len() <= 200)
        else {
            return Err(to_login());
        };
        match kyso_org::auth::authenticate(&state.store, &token).await {
            Ok(a) => Ok(WebUser { csrf: a.csrf.unwrap_or_default(), actor: a.actor, token, lang, path }),
            Err(_) => Err(to_login()),
        }
    }
}

/// One navigation entry.
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// A message shown once at the top of a page.
pub struct Flash {
    pub kind: &'static str,
    pub text: String,
}

/// What every page's frame shows: the language, the person, the sections they may use.
pub struct Chrome {
    pub l: Lang,
    pub user: Option<String>,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    pub lang_switch: String,
    pub flash: Vec<Flash>,
}

impl Chrome {
    /// The frame for `user` on the section `current`.
    pub fn for_user(user: &WebUser, current: &str) -> Chrome {
        let l = user.lang;
        let a = &user.actor;
        let mut nav = vec![
            ("/inbox", l.t("Việc cần làm", "To do")),
            ("/documents", l.t("Hồ sơ", "Documents")),
            ("/submit", l.t("Trình ký", "Submit")),
            ("/records", l.t("Hồ sơ sổ sách", "Records")),
            ("/library", l.t("Thư viện", "Library")),
            ("/verify", l.t("Kiểm tra chữ ký", "Verify")),
        ];
        if a.has_role("auditor") || a.has_role("admin") {
            nav.push(("/audit", l.t("Nhật ký", "Audit trail")));
        }
        if a.has_role("admin") {
            nav.push(("/admin", l.t("Quản trị", "Administration")));
        }
        nav.push(("/me/key", l.t("Khóa ký", "My key")));
        // A student signs nothing and owes no register: the library is their part of Kyso.
        if !a.memberships.is_empty() && a.memberships.iter().all(|(_, r)| r == "student") {
            nav.retain(|(href, _)| *href == "/library");
        }
        Chrome {
            l,
            user: Some(a.display_name().to_string()),
            csrf: user.csrf.clone(),
            nav: nav.into_iter().map(|(href, label)| NavItem { href, label, current: href == current }).collect(),
            lang_switch: lang_switch(&user.path, l),
            flash: Vec::new(),
        }
    }

    /// The frame of a page for someone not logged in.
    pub fn anonymous(l: Lang, path: &str) -> Chrome {
        Chrome { l, user: None, csrf: String::new(), nav: Vec::new(), lang_switch: lang_switch(path, l), flash: Vec::new() }
    }

    pub fn with_flash(mut self, kind: &'static str, text: impl Into<String>) -> Self {
        self.flash.push(Flash { kind, text: text.into() });
        self
    }
}

/// The link that switches language on the same page.
fn lang_switch(path: &str, l: Lang) -> String {
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    let rest: Vec<&str> = q.split('&').filter(|kv| !kv.is_empty() && !kv.starts_with("lang=")).collect();
    let mut out = format!("{p}?lang={}", l.other_code());
    for kv in rest {
        out.push('&');
        out.push_str(kv);
    }
    out
}

/// Renders a page with the security headers pages need (and the language cookie, when the
/// request asked for a language).
pub fn render(t: impl askama::Template, lang: Lang) -> Response {
    match t.render() {
        Ok(body) => {
            let mut r = (StatusCode::OK, axum::response::Html(body)).into_response();
            secure_page(&mut r, lang);
            r
        }
        Err(e) => ApiError::internal("rendering a page", e).into_response(),
    }
}

pub fn secure_page(r: &mut Response, lang: Lang) {
    let h = r.headers_mut();
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax", lang.code())) {
        h.append(header::SET_COOKIE, v);
    }
}

/// Refuses a state-changing form that did not come from this site, or whose CSRF token is not
/// the session's.
pub fn check_form(headers: &HeaderMap, expected: &str, sent: &str) -> Result<(), ApiError> {
    let refused = || {
        ApiError::forbidden(
            "this form did not come from Kyso's own pages (cross-site request refused)",
            "biểu mẫu không xuất phát từ trang của Kyso (yêu cầu từ trang khác bị từ chối)",
        )
    };
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err(refused());
    }
    if let (Some(origin), Some(host)) =
        (headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()), headers.get(header::HOST).and_then(|v| v.to_str().ok()))
    {
        let origin_host = origin.split("://").nth(1).unwrap_or(origin);
        if origin_host != host {
            return Err(refused());
        }
    }
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), sent.as_bytes()) {
        return Err(refused());
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An error shown as a page, in the person's language, with the status the API would give.
pub struct WebError {
    pub error: ApiError,
    pub lang: Lang,
    /// Boxed: the frame is large and errors travel through every `?`.
    pub chrome: Option<Box<Chrome>>,
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    status: u16,
    message: &'a str,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let chrome = self.chrome.map(|c| *c).unwrap_or_else(|| Chrome::anonymous(self.lang, "/"));
        let message = if self.lang == Lang::En { self.error.en.as_str() } else { self.error.vi.as_str() };
        let page = ErrorPage { chrome, status: self.error.status.as_u16(), message };
        let mut r = render(page, self.lang);
        *r.status_mut() = self.error.status;
        r
    }
}

/// Turns a domain or API error into a page for `user`.
pub fn fail<'a>(user: &'a WebUser, current: &'a str) -> impl Fn(ApiError) -> WebError + 'a {
    move |error| WebError { error, lang: user.lang, chrome: Some(Box::new(Chrome::for_user(user, current))) }
}

/// A redirect after a successful form (303: the browser then GETs the page).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A certificate's UTC time as a Vietnamese date, when it parses.
pub fn readable_utc(t: &str) -> String {
    kyso_clock::parse_utc(t).map(|u| kyso_clock::vietnam_date(u as i64)).unwrap_or_else(|| t.to_string())
}
