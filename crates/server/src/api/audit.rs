//! `/audit` and `/audit/verify`: auditors and administrators read the entries of their units and
//! those below (administrators of a top unit also those without one) and check the hash chain.

use crate::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Caller, QueryParams};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use kyso_org::{Actor, OrgTree, Principal};
use kyso_store::audit;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/v1/audit", get(entries)).route("/api/v1/audit/verify", get(verify))
}

pub fn entry_json(e: &audit::Entry) -> Value {
    json!({"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "document_id": e.document_id, "org_id": e.org_id,
           "detail": e.detail, "prev_hash": e.prev_hash, "hash": e.hash})
}

/// The units whose entries `actor` may read, and whether entries without a unit are included.
pub fn scope(actor: &Actor, tree: &OrgTree) -> ApiResult<(Vec<String>, bool)> {
    let roots: Vec<String> = match &actor.principal {
        Principal::Client { org_id, scopes, .. } if scopes.iter().any(|s| s == "audit:read") => vec![org_id.clone()],
        Principal::Client { .. } => return Err(kyso_org::OrgError::Forbidden(kyso_org::Refusal::MissingScope("audit:read")).into()),
        Principal::User { .. } => {
            actor.memberships.iter().filter(|(_, r)| r == "auditor" || r == "admin").map(|(o, _)| o.clone()).collect()
        }
    };
    if roots.is_empty() {
        return Err(kyso_org::OrgError::Forbidden(kyso_org::Refusal::NotAuditor).into());
    }
    let top = roots.iter().any(|o| tree.get(o).is_some_and(|org| org.parent_id.is_none()));
    let units = tree.within_any(roots.iter().map(String::as_str)).into_iter().map(str::to_string).collect();
    Ok((units, top))
}

#[derive(Deserialize)]
struct AuditQuery {
    after: Option<i64>,
    limit: Option<i64>,
    action: Option<String>,
    document_id: Option<String>,
    actor: Option<String>,
}

async fn entries(State(state): State<Arc<AppState>>, caller: Caller, QueryParams(q): QueryParams<AuditQuery>) -> ApiResult<Json<Value>> {
    let tree = OrgTree::load(&state.store.db.pool).await?;
    let (units, top) = scope(&caller, &tree)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000", "limit phải từ 1 đến 1000"));
    }
    let filter = audit::Filter {
        orgs: Some(&units),
        include_unscoped: top,
        action: q.action.as_deref().filter(|a| !a.is_empty()),
        document_id: q.document_id.as_deref().filter(|a| !a.is_empty()),
        actor: q.actor.as_deref().filter(|a| !a.is_empty()),
        after: q.after.unwrap_or(0).max(0),
        limit,
    };
    let items = audit::search(&state.store.db.pool, &filter).await?;
    let next = (items.len() as i64 == limit).then(|| items.last().map(|e| e.seq)).flatten();
    Ok(Json(json!({"items": items.iter().map(entry_json).collect::<Vec<_>>(), "next_after": next})))
}

async fn verify(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    let tree = OrgTree::load(&state.store.db.pool).await?;
    scope(&caller, &tree)?;
    Ok(Json(match audit::verify(&state.store.db.pool).await? {
        audit::Verdict::Intact { entries, head } => json!({"intact": true, "entries": entries, "head": head}),
        audit::Verdict::Broken { seq, reason } => json!({"intact": false, "broken_at": seq, "reason": reason}),
    }))
}
