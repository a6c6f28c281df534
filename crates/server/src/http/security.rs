//! The layer every answer passes through: security headers, the JSON error shape for what the
//! router itself refuses (unknown routes, wrong methods, over-long addresses), and one log line
//! per request (method, path, status, time; never headers or bodies: tokens, passwords and
//! documents stay out of logs).

use crate::http::error::ApiError;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The longest request target accepted (path and query).
pub const MAX_URI: usize = 8 * 1024;

pub async fn layer(req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let started = std::time::Instant::now();
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    let mut response = if uri_len > MAX_URI {
        ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the address is longer than {MAX_URI} bytes"),
            "địa chỉ yêu cầu quá dài",
        )
        .into_response()
    } else if req.uri().path_and_query().is_some_and(|p| p.as_str().contains("%00")) {
        // No name or value Kyso keeps may hold a NUL (PostgreSQL refuses it in text): the
        // address is refused here, once, rather than failing deep inside a query.
        ApiError::bad_request("the address holds a NUL character (%00)", "địa chỉ yêu cầu chứa ký tự NUL (%00)").into_response()
    } else {
        next.run(req).await
    };
    let h = response.headers_mut();
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    // Pages send their address only to Kyso itself ("no-referrer" would make browsers send
    // `Origin: null` with forms, which the CSRF check must refuse).
    let referrer = if path.starts_with("/api/") { "no-referrer" } else { "same-origin" };
    h.insert("referrer-policy", HeaderValue::from_static(referrer));
    if path.starts_with("/api/") {
        // API answers carry tokens and documents: never cached anywhere.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.entry("content-security-policy").or_insert(HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"));
    }
    // Answers the framework makes itself (a body over the limit) get the JSON shape too.
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json(&response) && path.starts_with("/api/") {
        let mut shaped =
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the request body is too large", "nội dung yêu cầu quá lớn")
                .into_response();
        for (k, v) in response.headers() {
            if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
                shaped.headers_mut().insert(k.clone(), v.clone());
            }
        }
        response = shaped;
    }
    // A body refused before it was read leaves the rest of it on the connection: close it, so
    // a client does not send its next request down a connection the server is about to drop.
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    tracing::info!(%method, %path, status = response.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
    response
}

fn is_json(r: &Response) -> bool {
    r.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"))
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("route")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this method is not allowed here",
        "phương thức này không được phép tại đây",
    )
}
