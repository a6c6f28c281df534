//! Extractors: who is calling (a bearer token for the REST API), bodies and queries whose
//! rejections answer in the error shape, and uploads streamed to a temporary file of the blob
//! store (hashed and bounded as they arrive, never held in memory whole).

use crate::AppState;
use crate::http::error::{ApiError, ApiResult};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use http_body_util::BodyExt;
use kyso_org::Actor;
use std::net::SocketAddr;
use std::sync::Arc;

/// The authenticated REST caller and the token it used.
pub struct Caller {
    pub actor: Actor,
    pub token: String,
}

impl std::ops::Deref for Caller {
    type Target = Actor;
    fn deref(&self) -> &Actor {
        &self.actor
    }
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let token = header
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 200)
            .ok_or(kyso_org::OrgError::Unauthenticated)?;
        let authed = kyso_org::auth::authenticate(&state.store, token).await?;
        Ok(Caller { actor: authed.actor, token: token.to_string() })
    }
}

/// The caller's network address (for login throttling), as the connection says.
pub struct ClientAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let addr = parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
        Ok(ClientAddress(addr))
    }
}

/// `Json<T>` whose rejections (bad JSON, wrong content type, too large) answer in the error shape.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(rejection) => {
                let status = rejection.status();
                let text = rejection.body_text();
                let code = if status == StatusCode::PAYLOAD_TOO_LARGE { "too_large" } else { "bad_request" };
                let (en, vi) = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    ("the request body is too large".to_string(), "nội dung yêu cầu quá lớn".to_string())
                } else {
                    (
                        format!("invalid JSON body: {}", truncate(&text, 300)),
                        format!("nội dung JSON không hợp lệ: {}", truncate(&text, 300)),
                    )
                };
                Err(ApiError::new(status, code, en, vi))
            }
        }
    }
}

/// `Query<T>` whose rejections answer in the error shape.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(QueryParams(v)),
            Err(rejection) => {
                let text = truncate(&rejection.body_text(), 300);
                Err(ApiError::bad_request(format!("invalid query parameters: {text}"), format!("tham số truy vấn không hợp lệ: {text}")))
            }
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n).collect::<String>()) }
}

/// An uploaded file, received into a temporary file of the blob store (hashed and counted as it
/// arrives; refused the moment it passes the server's limit).
pub struct Upload(pub kyso_store::Received);

impl FromRequest<Arc<AppState>> for Upload {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let limit = state.config.max_upload_bytes as u64;
        if let Some(len) =
            req.headers().get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok())
            && len > limit
        {
            return Err(kyso_store::StoreError::TooLarge { limit }.into());
        }
        let mut incoming = state.store.blobs.receive(limit).map_err(|e| ApiError::internal("receiving an upload", e))?;
        let mut body = req.into_body();
        while let Some(frame) = body.frame().await {
            let frame =
                frame.map_err(|e| ApiError::bad_request(format!("the upload was interrupted: {e}"), "việc tải lên bị gián đoạn"))?;
            if let Ok(data) = frame.into_data() {
                incoming.write(&data)?;
            }
        }
        Ok(Upload(incoming.finish().map_err(|e| ApiError::internal("receiving an upload", e))?))
    }
}

/// An `Idempotency-Key` header, checked.
pub fn idempotency_key(headers: &axum::http::HeaderMap) -> ApiResult<Option<String>> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => match v.to_str() {
            Ok(s) if !s.is_empty() && s.len() <= 200 => Ok(Some(s.to_string())),
            _ => Err(ApiError::bad_request("Idempotency-Key must be 1 to 200 visible characters", "Idempotency-Key phải dài 1–200 ký tự")),
        },
    }
}
