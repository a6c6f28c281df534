//! The library's pages: the desk (check-out, check-in and renewal by scanning: a USB scanner
//! types the barcode into the focused field and presses Enter, so the page works with nothing
//! but a keyboard, and the reader's card stays filled in for the next copy), the overdue list,
//! the catalogue with MARC21 import, the union-catalogue search with online requests, and a
//! reader's own loans and holds. Each handler calls the same `kyso-library` function as the
//! REST API; who may do what is decided there.

use crate::AppState;
use crate::http::error::ApiError;
use crate::web::i18n::Lang;
use crate::web::{Chrome, WebError, WebUser, check_form, fail, render};
use axum::extract::{Multipart, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use kyso_library::circulation::{Hold, Loan};
use kyso_library::marc::Format;
use kyso_library::search::Hit;
use kyso_library::{Library, access, catalogue, circulation, dates, readers, search};
use serde::Deserialize;
use std::sync::Arc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/library", get(home))
        // The desk answers its forms with the desk itself (the next scan goes straight in); a
        // GET of the same address, as a reload or a bookmark makes, shows the desk too.
        .route("/library/desk", get(home).post(desk_action))
        .route("/library/search", get(search_page))
        .route("/library/requests", get(home).post(request))
        .route("/library/catalogue", get(catalogue_page).post(import).layer(crate::web::form::unbounded_upload()))
}

/// A loan as the pages show it.
pub struct LoanView {
    pub barcode: String,
    pub title: String,
    pub reader: String,
    pub card: String,
    pub due: String,
    pub overdue: bool,
}

fn loan_view(l: &Loan, today: &str) -> LoanView {
    LoanView {
        barcode: l.barcode.clone(),
        title: l.title.clone(),
        reader: l.reader_name.clone(),
        card: l.card_number.clone(),
        due: dates::display(&l.due_on),
        overdue: l.returned_at.is_none() && l.due_on.as_str() < today,
    }
}

/// What the last desk action did, in the person's language.
pub struct Outcome {
    pub ok: bool,
    pub text: String,
}

#[derive(askama::Template)]
#[template(path = "library.html")]
struct HomePage {
    chrome: Chrome,
    desk: Option<Library>,
    outcome: Option<Outcome>,
    card: String,
    overdue: Vec<LoanView>,
    on_loan: usize,
    mine: Vec<LoanView>,
    holds: Vec<(String, String)>,
}

async fn librarian_of(state: &AppState, user: &WebUser) -> Option<Library> {
    // Only a librarian has a desk (an administrator acts as one by naming the library over REST).
    user.units_with_role("librarian").next()?;
    access::managed(&state.store, user, None).await.ok()
}

async fn home_view(state: &AppState, user: &WebUser, outcome: Option<Outcome>, card: String) -> Result<Response, WebError> {
    let err = fail(user, "/library");
    let today = dates::iso(dates::day_of(state.store.now()));
    let desk = librarian_of(state, user).await;
    let (mut overdue, mut on_loan) = (Vec::new(), 0);
    if let Some(lib) = &desk {
        let open = circulation::open_loans(&state.store, lib, false).await.map_err(|e| err(e.into()))?;
        on_loan = open.len();
        overdue = open.iter().filter(|l| l.due_on < today).map(|l| loan_view(l, &today)).collect();
    }
    let (mut mine, mut holds) = (Vec::new(), Vec::new());
    if let Some(uid) = user.user_id() {
        for r in readers::of_user(&state.store, uid).await.map_err(|e| err(e.into()))? {
            let loans = circulation::loans_of_reader(&state.store, user, &r.id).await.map_err(|e| err(e.into()))?;
            mine.extend(loans.iter().filter(|l| l.returned_at.is_none()).map(|l| loan_view(l, &today)));
            holds.extend(my_holds(state, &r.id).await.map_err(|e| err(e.into()))?);
        }
    }
    let page = HomePage { chrome: Chrome::for_user(user, "/library"), desk, outcome, card, overdue, on_loan, mine, holds };
    Ok(render(page, user.lang))
}

/// The reader's open holds: (title, state in words).
async fn my_holds(state: &AppState, reader_id: &str) -> kyso_library::Result<Vec<(String, String)>> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT b.title, h.state FROM library_holds h JOIN biblios b ON b.id = h.biblio_id WHERE h.reader_id = $1 AND h.state IN ('waiting', 'ready') ORDER BY h.placed_at",
    )
    .bind(reader_id)
    .fetch_all(&state.store.db.pool)
    .await
    .map_err(kyso_store::StoreError::from)?;
    rows.iter()
        .map(|r| Ok((r.try_get(0).map_err(kyso_store::StoreError::from)?, r.try_get(1).map_err(kyso_store::StoreError::from)?)))
        .collect()
}

async fn home(State(state): State<Arc<AppState>>, user: WebUser) -> Result<Response, WebError> {
    home_view(&state, &user, None, String::new()).await
}

#[derive(Deserialize)]
struct DeskForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    action: String,
    #[serde(default)]
    card: String,
    #[serde(default)]
    barcode: String,
}

fn words(l: Lang, e: ApiError) -> String {
    if l == Lang::En { e.en } else { e.vi }
}

async fn desk_action(
    State(state): State<Arc<AppState>>,
    user: WebUser,
    headers: HeaderMap,
    Form(f): Form<DeskForm>,
) -> Result<Response, WebError> {
    let err = fail(&user, "/library");
    check_form(&headers, &user.csrf, &f.csrf).map_err(&err)?;
    let lib = access::managed(&state.store, &user, None).await.map_err(|e| err(e.into()))?;
    let l = user.lang;
    let (store, barcode) = (&state.store, f.barcode.trim());
    let outcome = match f.action.as_str() {
        "checkout" => circulation::check_out(store, &user, &lib, &f.card, barcode).await.map(|loan| {
            let due = dates::display(&loan.due_on);
            match l {
                Lang::Vi => format!("Đã cho {} mượn «{}» ({}), hạn trả {due}.", loan.reader_name, loan.title, loan.barcode),
                Lang::En => format!("Lent “{}” ({}) to {}, due {due}.", loan.title, loan.barcode, loan.reader_name),
            }
        }),
        "checkin" => circulation::check_in(store, &user, &lib, barcode).await.map(|c| {
            let mut text = match l {
                Lang::Vi => format!("Đã nhận lại «{}» ({}) của {}.", c.loan.title, c.loan.barcode, c.loan.reader_name),
                Lang::En => format!("Returned “{}” ({}) from {}.", c.loan.title, c.loan.barcode, c.loan.reader_name),
            };
            if c.overdue_days > 0 {
                text.push_str(&match l {
                    Lang::Vi => format!(" Trả muộn {} ngày.", c.overdue_days),
                    Lang::En => format!(" {} days late.", c.overdue_days),
                });
            }
            if let Some(who) = c.held_for {
                text.push_str(&match l {
                    Lang::Vi => format!(" Để riêng cho bạn đọc đang chờ: {who}."),
                    Lang::En => format!(" Put it aside for the reader waiting: {who}."),
                });
            }
            text
        }),
        "renew" => circulation::renew(store, &user, &lib, barcode).await.map(|loan| match l {
            Lang::Vi => format!("Đã gia hạn «{}» đến {}.", loan.title, dates::display(&loan.due_on)),
            Lang::En => format!("Renewed “{}” until {}.", loan.title, dates::display(&loan.due_on)),
        }),
        _ => return Err(err(ApiError::bad_request("unknown desk action", "thao tác không hợp lệ"))),
    };
    let outcome = match outcome {
        Ok(text) => Outcome { ok: true, text },
        Err(e) => {
            let e = ApiError::from(e);
            if !e.status.is_client_error() {
                return Err(err(e));
            }
            Outcome { ok: false, text: words(l, e) }
        }
    };
    // The card stays for the next copy of the same reader.
    let card = if f.action == "checkout" { f.card.trim().to_string() } else { String::new() };
    home_view(&state, &user, Some(outcome), card).await
}

#[derive(Deserialize, Default)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// A union-catalogue hit with the reader's own library's copy flagged for online requests.
pub struct HitView {
    pub hit: Hit,
    pub own_biblio: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "library_search.html")]
struct SearchPage {
    chrome: Chrome,
    q: String,
    hits: Vec<HitView>,
    searched: bool,
}

async fn search_page(State(state): State<Arc<AppState>>, user: WebUser, Query(q): Query<SearchQuery>) -> Result<Response, WebError> {
    let err = fail(&user, "/library");
    let query: String = q.q.chars().take(200).collect();
    let hits = search::search(&state.store, &user, &query, 30).await.map_err(|e| err(e.into()))?;
    let my_libraries: Vec<String> = match user.user_id() {
        Some(uid) => readers::of_user(&state.store, uid).await.map_err(|e| err(e.into()))?.into_iter().map(|r| r.library_id).collect(),
        None => Vec::new(),
    };
    let hits = hits
        .into_iter()
        .map(|hit| {
            let own_biblio = hit.holdings.iter().find(|h| my_libraries.contains(&h.library_id)).map(|h| h.biblio_id.clone());
            HitView { hit, own_biblio }
        })
        .collect();
    let searched = !query.trim().is_empty();
    Ok(render(SearchPage { chrome: Chrome::for_user(&user, "/library"), q: query, hits, searched }, user.lang))
}

#[derive(Deserialize)]
struct RequestForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    biblio_id: String,
}

/// A reader asks for a title of their library online.
async fn request(
    State(state): State<Arc<AppState>>,
    user: WebUser,
    headers: HeaderMap,
    Form(f): Form<RequestForm>,
) -> Result<Response, WebError> {
    let err = fail(&user, "/library");
    check_form(&headers, &user.csrf, &f.csrf).map_err(&err)?;
    let outcome = match circulation::request(&state.store, &user, &f.biblio_id).await {
        Ok(Hold { state: s, barcode, .. }) => Outcome {
            ok: true,
            text: match (user.lang, s.as_str()) {
                (Lang::Vi, "ready") => {
                    format!("Sách đã được để riêng cho bạn (bản {}): hãy đến thư viện nhận.", barcode.unwrap_or_default())
                }
                (Lang::En, "ready") => format!("A copy is set aside for you ({}): collect it at the library.", barcode.unwrap_or_default()),
                (Lang::Vi, _) => "Đã ghi yêu cầu: thư viện sẽ giữ sách cho bạn khi có bản được trả.".into(),
                (Lang::En, _) => "Request recorded: the library will hold a copy for you when one comes back.".into(),
            },
        },
        Err(e) => {
            let e = ApiError::from(e);
            if !e.status.is_client_error() {
                return Err(err(e));
            }
            Outcome { ok: false, text: words(user.lang, e) }
        }
    };
    home_view(&state, &user, Some(outcome), String::new()).await
}

#[derive(askama::Template)]
#[template(path = "library_catalogue.html")]
struct CataloguePage {
    chrome: Chrome,
    library: Library,
    q: String,
    titles: Vec<catalogue::Biblio>,
    report: Option<catalogue::ImportReport>,
    error: Option<String>,
}

async fn catalogue_view(
    state: &AppState,
    user: &WebUser,
    q: String,
    report: Option<catalogue::ImportReport>,
    error: Option<String>,
) -> Result<Response, WebError> {
    let err = fail(user, "/library");
    let library = access::managed(&state.store, user, None).await.map_err(|e| err(e.into()))?;
    let titles = catalogue::list(&state.store, &library, &q, 100, 0).await.map_err(|e| err(e.into()))?;
    Ok(render(CataloguePage { chrome: Chrome::for_user(user, "/library"), library, q, titles, report, error }, user.lang))
}

async fn catalogue_page(State(state): State<Arc<AppState>>, user: WebUser, Query(q): Query<SearchQuery>) -> Result<Response, WebError> {
    catalogue_view(&state, &user, q.q.chars().take(200).collect(), None, None).await
}

/// A MARC21 file uploaded from the catalogue page.
async fn import(State(state): State<Arc<AppState>>, user: WebUser, headers: HeaderMap, m: Multipart) -> Result<Response, WebError> {
    let err = fail(&user, "/library");
    check_form(&headers, &user.csrf, &user.csrf).map_err(&err)?;
    let form = crate::web::form::read_upload(&state, m).await.map_err(&err)?;
    check_form(&headers, &user.csrf, form.field("_csrf")).map_err(&err)?;
    let library = access::managed(&state.store, &user, None).await.map_err(|e| err(e.into()))?;
    let Some((_, upload)) = form.file else {
        let text = user.lang.t("Hãy chọn tệp MARC21 (.mrc hoặc .xml).", "Choose a MARC21 file (.mrc or .xml).");
        return catalogue_view(&state, &user, String::new(), None, Some(text.into())).await;
    };
    let bytes = std::fs::read(upload.tmp.path()).map_err(|e| err(ApiError::internal("receiving an upload", e)))?;
    match catalogue::import(&state.store, &user, &library, &bytes, Format::sniff(&bytes)).await {
        Ok(report) => catalogue_view(&state, &user, String::new(), Some(report), None).await,
        Err(e) => {
            let e = ApiError::from(e);
            if !e.status.is_client_error() {
                return Err(err(e));
            }
            catalogue_view(&state, &user, String::new(), None, Some(words(user.lang, e))).await
        }
    }
}
