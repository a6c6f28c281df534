//! What every route shares: the error mapping, extractors, idempotency and the security layer.

pub mod error;
pub mod extract;
pub mod idempotent;
mod library_error;
pub mod security;
