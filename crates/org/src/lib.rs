//! `kyso-org`: organisations and the people in them. The tree of units (levels are data), people
//! with roles, authentication (passwords, sessions, API clients, throttled logins), delegations,
//! and the [`Actor`] every domain operation is given. It knows no HTTP: the REST API and the web
//! pages call the same functions.
#![forbid(unsafe_code)]

pub mod actor;
pub mod auth;
pub mod delegations;
mod error;
pub mod people;
pub mod text;
pub mod tree;

pub use actor::{Actor, OVERSEEING_ROLES, Principal, ROLES, SCOPES};
pub use error::{InputRule, OrgError, PasswordRule, Refusal, Result};
pub use tree::{Org, OrgTree};

use kyso_store::{Store, WriteTx, audit};

/// Appends `actor`'s audit entry inside `tx`.
pub async fn record(
    tx: &mut WriteTx<'_>,
    actor: &Actor,
    action: &str,
    document_id: Option<&str>,
    org_id: Option<&str>,
    detail: serde_json::Value,
) -> kyso_store::Result<()> {
    append(tx, &actor.name(), action, document_id, org_id, detail).await
}

/// Appends an entry for an actor given by name (`system`, `unknown`, `user:NAME`).
pub async fn append(
    tx: &mut WriteTx<'_>,
    actor: &str,
    action: &str,
    document_id: Option<&str>,
    org_id: Option<&str>,
    detail: serde_json::Value,
) -> kyso_store::Result<()> {
    audit::append(tx, audit::Record { actor, action, document_id, org_id, detail }).await
}

/// Records that `actor` was refused `action` (under `org_id`, so that unit's auditors see it),
/// in a transaction of its own.
pub async fn refused(store: &Store, actor: &Actor, action: &str, org_id: Option<&str>) -> kyso_store::Result<()> {
    let mut tx = store.db.write().await?;
    record(&mut tx, actor, "refused", None, org_id.or(actor.home_org()), serde_json::json!({"action": action})).await?;
    tx.commit().await
}
