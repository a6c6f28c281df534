//! `/library`: the school library over REST, in Koha's resource names: biblios (MARC21 import
//! and export by content type, or JSON), items (copies), patrons (readers), checkouts,
//! checkins, renewals, holds, loan rules, closed days, and the union-catalogue search. Each
//! handler calls one `kyso-library` function; the librarian's library is the one named by
//! `?library=` or their own.

use crate::AppState;
use crate::api::records::download;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Caller, JsonBody, QueryParams, Upload};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kyso_library::marc::{Description, Format};
use kyso_library::stocktake::{self, Scope};
use kyso_library::{Library, access, catalogue, circulation, items, readers, search};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/library/biblios", get(list_or_export).post(import_or_create))
        .route("/api/v1/library/biblios/{id}", get(biblio))
        .route("/api/v1/library/biblios/{id}/items", post(add_items))
        .route("/api/v1/library/items/{barcode}", get(item).patch(set_item_state))
        .route("/api/v1/library/patrons", get(list_readers).post(add_reader))
        .route("/api/v1/library/patrons/{id}/checkouts", get(reader_loans))
        .route("/api/v1/library/checkouts", get(open_loans).post(check_out))
        .route("/api/v1/library/checkins", post(check_in))
        .route("/api/v1/library/renewals", post(renew))
        .route("/api/v1/library/holds", post(place_hold))
        .route("/api/v1/library/rules", get(rules).put(set_rules))
        .route("/api/v1/library/closed-days", post(close_days))
        .route("/api/v1/library/search", get(union_search))
        .route("/api/v1/library/stocktakes", post(open_stocktake))
        .route("/api/v1/library/stocktakes/{id}", get(stocktake_outcome))
        .route("/api/v1/library/stocktakes/{id}/scans", post(stocktake_scans))
        .route("/api/v1/library/stocktakes/{id}/close", post(close_stocktake))
        .route("/api/v1/library/stocktakes/{id}/register.pdf", get(stocktake_register))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LibraryQuery {
    #[serde(default)]
    library: Option<String>,
}

async fn library(state: &AppState, caller: &Caller, q: &LibraryQuery) -> ApiResult<Library> {
    Ok(access::managed(&state.store, caller, q.library.as_deref()).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    library: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    offset: Option<i64>,
}

/// JSON pages of the catalogue, or the whole catalogue as MARC21 when `Accept` asks for it.
async fn list_or_export(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Response> {
    let lib = library(&state, &caller, &LibraryQuery { library: q.library.clone() }).await?;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    if let Some(format) = accept.split(',').find_map(Format::from_media_type).filter(|_| !accept.contains("application/json")) {
        let bytes = catalogue::export(&state.store, &lib, format).await?;
        let name = if format == Format::Iso2709 { "catalogue.mrc" } else { "catalogue.xml" };
        return Ok(download(bytes, format.media_type(), name));
    }
    let list = catalogue::list(&state.store, &lib, q.q.as_deref().unwrap_or(""), q.limit.unwrap_or(50), q.offset.unwrap_or(0)).await?;
    Ok(Json(json!({"items": list})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BiblioRequest {
    title: String,
    #[serde(default)]
    responsibility: String,
    #[serde(default)]
    publisher: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    edition: String,
    #[serde(default)]
    isbn: Option<String>,
    #[serde(default)]
    language: String,
    #[serde(default)]
    classification: String,
    #[serde(default)]
    subjects: Vec<String>,
    #[serde(default)]
    summary: String,
}

/// A MARC21 file (`application/marc`, `application/marcxml+xml`) is imported whole; a JSON body
/// catalogues one title by hand.
async fn import_or_create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    QueryParams(q): QueryParams<LibraryQuery>,
    Upload(upload): Upload,
) -> ApiResult<Response> {
    let lib = library(&state, &caller, &q).await?;
    let media = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let bytes = std::fs::read(upload.tmp.path()).map_err(|e| ApiError::internal("receiving an upload", e))?;
    if media.starts_with("application/json") {
        if bytes.len() > 64 * 1024 {
            return Err(ApiError::too_large(64 * 1024, "a JSON body"));
        }
        let r: BiblioRequest = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("the JSON body is not a title: {e}"), "nội dung JSON không phải một đầu sách"))?;
        if r.subjects.len() > 50 {
            return Err(ApiError::bad_request("at most 50 subjects", "tối đa 50 chủ đề"));
        }
        let d = Description {
            title: r.title,
            responsibility: r.responsibility,
            publisher: r.publisher,
            place: r.place,
            year: r.year,
            edition: r.edition,
            isbn: r.isbn,
            language: r.language,
            classification: r.classification,
            subjects: r.subjects,
            summary: r.summary,
        };
        let b = catalogue::create(&state.store, &caller, &lib, d).await?;
        return Ok((StatusCode::CREATED, Json(json!(b))).into_response());
    }
    let format = Format::from_media_type(media).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send application/marc, application/marcxml+xml or application/json",
            "hãy gửi application/marc, application/marcxml+xml hoặc application/json",
        )
    })?;
    let report = catalogue::import(&state.store, &caller, &lib, &bytes, format).await?;
    Ok(Json(json!(report)).into_response())
}

/// A title of the caller's district with its copies and holds queue.
async fn biblio(State(state): State<Arc<AppState>>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let b = catalogue::get(&state.store, &caller, &id).await?;
    let copies = items::of_biblio(&state.store, &b.id).await?;
    let queue = circulation::queue(&state.store, &b.id).await?.len();
    Ok(Json(json!({"biblio": b, "items": copies, "holds_waiting": queue})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemsRequest {
    #[serde(default = "one")]
    count: usize,
    #[serde(flatten)]
    item: items::NewItem,
}

fn one() -> usize {
    1
}

async fn add_items(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<LibraryQuery>,
    JsonBody(r): JsonBody<ItemsRequest>,
) -> ApiResult<Response> {
    let lib = library(&state, &caller, &q).await?;
    let added = items::add(&state.store, &caller, &lib, &id, r.item, r.count).await?;
    Ok((StatusCode::CREATED, Json(json!({"items": added}))).into_response())
}

async fn item(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(barcode): Path<String>,
    QueryParams(q): QueryParams<LibraryQuery>,
) -> ApiResult<Json<Value>> {
    let lib = library(&state, &caller, &q).await?;
    Ok(Json(json!(items::by_barcode(&state.store, &lib, &barcode).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateRequest {
    state: String,
}

async fn set_item_state(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(barcode): Path<String>,
    QueryParams(q): QueryParams<LibraryQuery>,
    JsonBody(r): JsonBody<StateRequest>,
) -> ApiResult<Json<Value>> {
    let lib = library(&state, &caller, &q).await?;
    Ok(Json(json!(items::set_state(&state.store, &caller, &lib, &barcode, &r.state).await?)))
}

async fn list_readers(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    QueryParams(q): QueryParams<LibraryQuery>,
) -> ApiResult<Json<Value>> {
    let lib = library(&state, &caller, &q).await?;
    Ok(Json(json!({"items": readers::list(&state.store, &lib).await?})))
}

/// One reader (JSON), or a class list (`text/csv`: the columns README.md names) registered in
/// one transaction with a report per row.
async fn add_reader(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    QueryParams(q): QueryParams<LibraryQuery>,
    Upload(upload): Upload,
) -> ApiResult<Response> {
    let lib = library(&state, &caller, &q).await?;
    let media = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let bytes = std::fs::read(upload.tmp.path()).map_err(|e| ApiError::internal("receiving an upload", e))?;
    if media.starts_with("text/csv") {
        let text = String::from_utf8(bytes)
            .map_err(|_| ApiError::unprocessable("not_utf8", "the CSV file is not UTF-8 text", "tệp CSV không phải văn bản UTF-8"))?;
        let list = kyso_library::csv::readers(&text)?;
        let report = readers::import(&state.store, &caller, &lib, list).await?;
        let refused: Vec<Value> = report.refused.iter().map(|(row, reason)| json!({"row": row, "reason": reason})).collect();
        return Ok(Json(json!({"added": report.added, "refused": refused})).into_response());
    }
    if !media.starts_with("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send application/json (one reader) or text/csv (a class list)",
            "hãy gửi application/json (một bạn đọc) hoặc text/csv (danh sách lớp)",
        ));
    }
    if bytes.len() > 64 * 1024 {
        return Err(ApiError::too_large(64 * 1024, "a JSON body"));
    }
    let r: readers::NewReader = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("the JSON body is not a reader: {e}"), "nội dung JSON không phải một bạn đọc"))?;
    let reader = readers::add(&state.store, &caller, &lib, r).await?;
    Ok((StatusCode::CREATED, Json(json!(reader))).into_response())
}

/// A reader's loan history: the reader and the librarian only.
async fn reader_loans(State(state): State<Arc<AppState>>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(json!({"items": circulation::loans_of_reader(&state.store, &caller, &id).await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoansQuery {
    #[serde(default)]
    library: Option<String>,
    #[serde(default)]
    overdue: Option<bool>,
}

async fn open_loans(State(state): State<Arc<AppState>>, caller: Caller, QueryParams(q): QueryParams<LoansQuery>) -> ApiResult<Json<Value>> {
    let lib = library(&state, &caller, &LibraryQuery { library: q.library }).await?;
    Ok(Json(json!({"items": circulation::open_loans(&state.store, &lib, q.overdue.unwrap_or(false)).await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckoutRequest {
    card: String,
    barcode: String,
}

async fn check_out(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    QueryParams(q): QueryParams<LibraryQuery>,
    JsonBody(r): JsonBody<CheckoutRequest>,
) -> ApiResult<Response> {
    let lib = library(&state, &caller, &q).await?;
    let loan = circulation::check_out(&state.store, &caller, &lib, &r.card, &r.barcode).await?;
    Ok((StatusCode::CREATED, Json(json!(loan))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BarcodeRequest {
    barcode: String,
}

async fn check_in(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    QueryParams(q): QueryParams<LibraryQuery>,
    JsonBody(r): JsonBody<BarcodeRequest>,
) -> ApiResult<Json<Value>> {
    let lib = library(&state, &caller, &q).await?;
    Ok(Json(json!(circulation::check_in(&state.store, &caller, &lib, &r.barcode).await?)))
}

async fn renew(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    QueryParams(q): QueryParams<LibraryQuery>,
    JsonBody(r): JsonBody<BarcodeRequest>,
) -> ApiResult<Json<Value>> {
    let lib = library(&state, &caller, &q).await?;
    Ok(Json(json!(circulation::renew(&state.store, &caller, &lib, &r.barcode).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldRequest {
    biblio_id: String,
    /// The reader's card, when the librarian places the hold; a reader placing their own leaves it out.
    #[serde(default)]
    card: Option<String>,
}

async fn place_hold(State(state): State<Arc<AppState>>, caller: Caller, JsonBody(r): JsonBody<HoldRequest>) -> ApiResult<Response> {
    let hold = match &r.card {
        Some(card) => {
            let b = catalogue::get(&state.store, &caller, &r.biblio_id).await?;
            let lib = access::managed(&state.store, &caller, Some(&b.library_id)).await?;
            let reader = readers::by_card(&state.store, &lib, card).await?;
            circulation::place_hold(&state.store, &caller, &lib, &reader.id, &b.id).await?
        }
        None => circulation::request(&state.store, &caller, &r.biblio_id).await?,
    };
    Ok((StatusCode::CREATED, Json(json!(hold))).into_response())
}

async fn rules(State(state): State<Arc<AppState>>, caller: Caller, QueryParams(q): QueryParams<LibraryQuery>) -> ApiResult<Json<Value>> {
    let lib = library(&state, &caller, &q).await?;
    Ok(Json(json!({"items": readers::rules(&state.store, &lib.id).await?})))
}

async fn set_rules(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    QueryParams(q): QueryParams<LibraryQuery>,
    JsonBody(r): JsonBody<readers::LoanRules>,
) -> ApiResult<Json<Value>> {
    let lib = library(&state, &caller, &q).await?;
    readers::set_rules(&state.store, &caller, &lib, &r).await?;
    Ok(Json(json!({"items": readers::rules(&state.store, &lib.id).await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClosedDays {
    from: String,
    to: String,
    label: String,
}

async fn close_days(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    QueryParams(q): QueryParams<LibraryQuery>,
    JsonBody(r): JsonBody<ClosedDays>,
) -> ApiResult<Json<Value>> {
    let lib = library(&state, &caller, &q).await?;
    let days = readers::close_days(&state.store, &caller, &lib, &r.from, &r.to, &r.label).await?;
    Ok(Json(json!({"days": days})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    q: String,
    #[serde(default)]
    limit: Option<usize>,
}

/// The union catalogue of the caller's district: titles with holdings per school.
async fn union_search(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    QueryParams(q): QueryParams<SearchQuery>,
) -> ApiResult<Json<Value>> {
    if q.q.len() > 200 {
        return Err(ApiError::bad_request("the query is longer than 200 characters", "từ khóa dài quá 200 ký tự"));
    }
    Ok(Json(json!({"items": search::search(&state.store, &caller, &q.q, q.limit.unwrap_or(20).min(100)).await?})))
}

async fn open_stocktake(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    QueryParams(q): QueryParams<LibraryQuery>,
    JsonBody(scope): JsonBody<Scope>,
) -> ApiResult<Response> {
    let lib = library(&state, &caller, &q).await?;
    let s = stocktake::open(&state.store, &caller, &lib, scope).await?;
    Ok((StatusCode::CREATED, Json(json!(s))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScansRequest {
    /// One barcode per line, as a scanner or an uploaded list gives them.
    barcodes: String,
}

async fn stocktake_scans(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<LibraryQuery>,
    JsonBody(r): JsonBody<ScansRequest>,
) -> ApiResult<Json<Value>> {
    let lib = library(&state, &caller, &q).await?;
    Ok(Json(json!({"new": stocktake::scan(&state.store, &caller, &lib, &id, &r.barcodes).await?})))
}

async fn stocktake_outcome(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<LibraryQuery>,
) -> ApiResult<Json<Value>> {
    let lib = library(&state, &caller, &q).await?;
    Ok(Json(json!(stocktake::outcome(&state.store, &lib, &id).await?)))
}

async fn close_stocktake(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<LibraryQuery>,
) -> ApiResult<Json<Value>> {
    let lib = library(&state, &caller, &q).await?;
    Ok(Json(json!(stocktake::close(&state.store, &caller, &lib, &id).await?)))
}

/// Part III of the general register, ready to submit for the principal's signature.
async fn stocktake_register(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<LibraryQuery>,
) -> ApiResult<Response> {
    let lib = library(&state, &caller, &q).await?;
    let o = stocktake::outcome(&state.store, &lib, &id).await?;
    let pdf = stocktake::register_part_three(&lib, &o)?;
    Ok(download(pdf, "application/pdf", "so-dang-ky-tong-quat-phan-3.pdf"))
}
