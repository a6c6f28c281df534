//! The one error shape every endpoint returns:
//! `{"error": {"code": "...", "message": "...", "message_vi": "..."}}` with a meaningful status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable, machine-readable: clients branch on it.
    pub code: &'static str,
    pub en: String,
    pub vi: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, en: impl Into<String>, vi: impl Into<String>) -> Self {
        ApiError { status, code, en: en.into(), vi: vi.into() }
    }
    pub fn bad_request(en: impl Into<String>, vi: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", en, vi)
    }
    pub fn unauthorized(code: &'static str, en: impl Into<String>, vi: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, en, vi)
    }
    pub fn forbidden(en: impl Into<String>, vi: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", en, vi)
    }
    /// Also used for what exists but the caller may not see: no hint that it exists.
    pub fn not_found(what: &str) -> Self {
        let vi = match what {
            "document" => "văn bản",
            "template" => "mẫu quy trình",
            "user" => "người dùng",
            "version" => "phiên bản",
            "organisation" => "đơn vị",
            "route" => "đường dẫn",
            other => other,
        };
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"), format!("không tìm thấy {vi}"))
    }
    pub fn conflict(code: &'static str, en: impl Into<String>, vi: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, en, vi)
    }
    /// Somebody changed the document between reading and writing (optimistic concurrency).
    pub fn concurrent_change() -> Self {
        Self::conflict(
            "concurrent_change",
            "the document changed meanwhile: reload it and try again",
            "văn bản vừa thay đổi: hãy tải lại và thử lại",
        )
    }
    pub fn unprocessable(code: &'static str, en: impl Into<String>, vi: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, en, vi)
    }
    /// An internal failure: the details go to the log, the caller gets a plain sentence.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(context, error = %err, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error while {context}; nothing was changed"),
            format!("lỗi nội bộ khi {context}; không có thay đổi nào"),
        )
    }
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"error": {"code": self.code, "message": self.en, "message_vi": self.vi}})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::internal("using the database", e)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.en, self.code)
    }
}

impl std::error::Error for ApiError {}

/// `Json<T>` whose rejections (bad JSON, wrong content type) answer in the error shape.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(rejection) => Err(ApiError::new(
                rejection.status(),
                "bad_request",
                format!("invalid JSON body: {}", rejection.body_text()),
                format!("nội dung JSON không hợp lệ: {}", rejection.body_text()),
            )),
        }
    }
}

/// `Query<T>` whose rejections answer in the error shape.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(QueryParams(v)),
            Err(rejection) => Err(ApiError::bad_request(
                format!("invalid query parameters: {}", rejection.body_text()),
                format!("tham số truy vấn không hợp lệ: {}", rejection.body_text()),
            )),
        }
    }
}

/// The raw request body (a PDF), with "too large" in the error shape.
pub struct RawBody(pub axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => Ok(RawBody(b)),
            Err(rejection) => Err(ApiError::new(
                rejection.status(),
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE { "too_large" } else { "bad_request" },
                format!("the request body cannot be read: {}", rejection.body_text()),
                format!("không đọc được nội dung yêu cầu (có thể tệp quá lớn): {}", rejection.body_text()),
            )),
        }
    }
}
