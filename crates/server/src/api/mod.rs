//! The REST API (`/api/v1`), as described in `openapi.yaml` at the repository root: one file per
//! resource, each a thin layer that parses the request, calls one domain function and renders
//! its result as JSON. Authorisation, state changes and audit entries live in the domain crates.

pub mod admin;
pub mod approvals;
pub mod audit;
pub mod auth;
pub mod documents;
pub mod keys;
pub mod library;
pub mod operations;
pub mod orgs;
pub mod records;
pub mod users;
pub mod verify;

use crate::AppState;
use axum::Router;
use std::sync::Arc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .merge(auth::routes())
        .merge(orgs::routes())
        .merge(users::routes())
        .merge(keys::routes())
        .merge(admin::routes())
        .merge(documents::routes())
        .merge(approvals::routes())
        .merge(operations::routes())
        .merge(verify::routes())
        .merge(audit::routes())
        .merge(records::routes())
        .merge(library::routes())
}
