//! Logging in and out. The session token lives in an `HttpOnly`, `SameSite=Strict` cookie; a new
//! session is made at every login (the old one, if the browser sent one, is ended); logging out
//! deletes the session on the server. The login form itself carries a double-submit token.

use crate::AppState;
use crate::http::error::ApiError;
use crate::http::extract::ClientAddress;
use crate::web::i18n::Lang;
use crate::web::{Chrome, LANG_COOKIE, SESSION_COOKIE, WebError, WebUser, check_form, cookie, render, see_other};
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::sync::Arc;

const LOGIN_CSRF: &str = "kyso_login";

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/", get(home)).route("/login", get(login_page).post(login)).route("/logout", post(logout))
}

async fn home(headers: HeaderMap) -> Response {
    if cookie(&headers, SESSION_COOKIE).is_some() { see_other("/inbox") } else { see_other("/login") }
}

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    csrf: String,
    next: String,
    username: String,
    error: Option<String>,
    /// `kyso serve --demo`: the page names the demo accounts.
    demo: bool,
}

#[derive(Deserialize, Default)]
struct LoginQuery {
    next: Option<String>,
    lang: Option<String>,
}

/// Only a path on this site: never another host (`//evil`, `https://…`).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && n.len() <= 200 => n.to_string(),
        _ => "/inbox".into(),
    }
}

fn lang_from(headers: &HeaderMap, asked: Option<&str>) -> Lang {
    match asked.or(cookie(headers, LANG_COOKIE).as_deref()) {
        Some("en") => Lang::En,
        _ => Lang::Vi,
    }
}

fn login_form(state: &AppState, l: Lang, next: String, username: String, error: Option<String>) -> Response {
    let (token, _) = kyso_org::auth::new_token("");
    let page = LoginPage { chrome: Chrome::anonymous(l, "/login"), csrf: token.clone(), next, username, error, demo: state.config.demo };
    let mut r = render(page, l);
    if let Ok(v) = HeaderValue::from_str(&format!("{LOGIN_CSRF}={token}; Path=/login; HttpOnly; SameSite=Strict")) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn login_page(State(state): State<Arc<AppState>>, headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    login_form(&state, lang_from(&headers, q.lang.as_deref()), safe_next(q.next.as_deref()), String::new(), None)
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(rename = "_csrf")]
    csrf: String,
    next: Option<String>,
}

async fn login(
    State(state): State<Arc<AppState>>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let l = lang_from(&headers, None);
    let expected = cookie(&headers, LOGIN_CSRF).unwrap_or_default();
    if let Err(e) = check_form(&headers, &expected, &f.csrf) {
        return WebError { error: e, lang: l, chrome: None }.into_response();
    }
    let next = safe_next(f.next.as_deref());
    let username = f.username.trim().to_lowercase();
    match kyso_org::auth::login(
        &state.store,
        &state.throttle,
        &username,
        &f.password,
        &address,
        kyso_org::auth::SessionKind::Web,
        state.config.session_ttl_secs,
    )
    .await
    {
        Ok(session) => {
            // A session the browser already had ends: a login always gets a fresh one.
            if let Some(old) = cookie(&headers, SESSION_COOKIE)
                && let Ok(a) = kyso_org::auth::authenticate(&state.store, &old).await
            {
                let _ = kyso_org::auth::logout(&state.store, &a.actor, &old).await;
            }
            let mut r = see_other(&next);
            let secure = if state.config.secure_cookies { "; Secure" } else { "" };
            let max_age = state.config.session_ttl_secs;
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}",
                session.token
            )) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r.headers_mut().append(header::SET_COOKIE, HeaderValue::from_static("kyso_login=; Path=/login; Max-Age=0"));
            r
        }
        Err(e) => {
            let e = ApiError::from(e);
            let text = if l == Lang::En { e.en } else { e.vi };
            login_form(&state, l, next, username.chars().take(64).collect(), Some(text))
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(rename = "_csrf")]
    csrf: String,
}

async fn logout(State(state): State<Arc<AppState>>, user: WebUser, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    if let Err(e) = check_form(&headers, &user.csrf, &f.csrf) {
        return WebError { error: e, lang: user.lang, chrome: None }.into_response();
    }
    let _ = kyso_org::auth::logout(&state.store, &user.actor, &user.token).await;
    let mut r = see_other("/login");
    r.headers_mut().append(header::SET_COOKIE, HeaderValue::from_static("kyso_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"));
    r
}
