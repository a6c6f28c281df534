//! Static files, compiled into the binary and served by Kyso itself (no CDN: schools' networks
//! and offline LANs). Cached for an hour: a new release is picked up the same day.

use crate::AppState;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;

/// (path under /static/, content type, bytes)
const FILES: &[(&str, &str, &[u8])] = &[
    ("kyso.css", "text/css; charset=utf-8", include_bytes!("../../static/kyso.css")),
    ("kyso.js", "text/javascript; charset=utf-8", include_bytes!("../../static/kyso.js")),
    ("kyso-viewer.mjs", "text/javascript; charset=utf-8", include_bytes!("../../static/kyso-viewer.mjs")),
    ("vendor/pdfjs/pdf.min.mjs", "text/javascript; charset=utf-8", include_bytes!("../../static/vendor/pdfjs/pdf.min.mjs")),
    ("vendor/pdfjs/pdf.worker.min.mjs", "text/javascript; charset=utf-8", include_bytes!("../../static/vendor/pdfjs/pdf.worker.min.mjs")),
];

/// The published files' SHA-256 (see static/vendor/VENDOR.md).
pub const VENDORED: &[(&str, &str)] = &[
    ("vendor/pdfjs/pdf.min.mjs", "b0fc97331dc1fc03c4a381ebdd88f751a4d12de4ec97fa1faf18bb37721a4b5b"),
    ("vendor/pdfjs/pdf.worker.min.mjs", "52fadd5b81b6abd1eb665bab0c3749a8ad6a293fcb6ee9d9e0309f29d4f82619"),
];

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/static/{*path}", get(serve))
}

async fn serve(Path(path): Path<String>) -> Response {
    let Some((_, content_type, bytes)) = FILES.iter().find(|(p, _, _)| *p == path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut r = (*bytes).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    r
}

/// The bytes of a static file (for the page-weight benchmark and tests).
pub fn file(path: &str) -> Option<&'static [u8]> {
    FILES.iter().find(|(p, _, _)| *p == path).map(|(_, _, b)| *b)
}

#[cfg(test)]
mod tests {
    #[test]
    fn vendored_files_are_the_published_ones() {
        for (path, sha) in super::VENDORED {
            let bytes = super::file(path).expect("a vendored file");
            assert_eq!(&kyso_store::sha256_hex(bytes), sha, "{path} differs from the published file");
        }
    }
}
