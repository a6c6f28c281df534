//! Idempotency keys at the edge: a request with an `Idempotency-Key` claims it before any work
//! (insert first, on a unique key); a duplicate waits for the first answer and replays it. The
//! work runs in a task of its own, so a client hanging up cannot leave a started signature
//! unrecorded; its answer is stored there too, for the retry.

use crate::AppState;
use crate::http::error::{ApiError, ApiResult};
use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kyso_store::idempotency::{self, Claim};
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// A digest of a request's parts (length-prefixed, so no two requests collide by concatenation).
pub fn request_digest(parts: &[&[u8]]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    kyso_store::hex(&h.finalize())
}

/// The answer as JSON; a 202 names its operation in `Location` too.
fn respond(status: StatusCode, body: Value) -> Response {
    let location =
        (status == StatusCode::ACCEPTED).then(|| body["location"].as_str().and_then(|l| HeaderValue::from_str(l).ok())).flatten();
    let mut response = (status, Json(body)).into_response();
    if let Some(l) = location {
        response.headers_mut().insert(axum::http::header::LOCATION, l);
    }
    response
}

fn replayed(status: u16, body: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let mut response = respond(status, body);
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

/// Runs `work` once per (owner, key, request): see the module's description. Without a key,
/// `work` simply runs (still in its own task).
pub async fn run<F>(state: &Arc<AppState>, owner: &str, headers: &HeaderMap, request_sha: &str, work: F) -> ApiResult<Response>
where
    F: Future<Output = ApiResult<(StatusCode, Value)>> + Send + 'static,
{
    let key = crate::http::extract::idempotency_key(headers)?;
    if let Some(key) = &key {
        match idempotency::claim_or_wait(&state.store.db, owner, key, request_sha, Duration::from_secs(300)).await? {
            Claim::Fresh => {}
            Claim::Replay { status, body } => return Ok(replayed(status, &body)),
            Claim::Mismatch => {
                return Err(ApiError::unprocessable(
                    "idempotency_key_reused",
                    "this Idempotency-Key was already used for a different request",
                    "Idempotency-Key này đã được dùng cho một yêu cầu khác",
                ));
            }
            Claim::InProgress => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "idempotency_in_progress",
                    "the first request with this Idempotency-Key is still being worked on: try again later",
                    "yêu cầu đầu tiên với Idempotency-Key này vẫn đang được xử lý: hãy thử lại sau",
                ));
            }
        }
    }
    let (st, owner, key2) = (state.clone(), owner.to_string(), key.clone());
    let outcome = tokio::spawn(async move {
        let outcome = work.await;
        if let Some(key) = &key2 {
            let stored = match &outcome {
                Ok((status, body)) => idempotency::complete(&st.store.db, &owner, key, status.as_u16(), &body.to_string()).await,
                // A refusal is the answer to this request, replayed as such; an internal failure is not.
                Err(e) if e.status.is_client_error() => {
                    idempotency::complete(&st.store.db, &owner, key, e.status.as_u16(), &e.body().to_string()).await
                }
                Err(_) => idempotency::release(&st.store.db, &owner, key).await,
            };
            if let Err(e) = stored {
                tracing::error!(error = %e, "cannot record an idempotent answer");
            }
        }
        outcome
    })
    .await
    .map_err(|e| ApiError::internal("handling the request", e))?;
    let (status, body) = outcome?;
    Ok(respond(status, body))
}
