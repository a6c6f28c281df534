//! Delegations: a role holder lets a colleague sign their stages for a while (a vice principal
//! for the principal). Bounded: the delegate works in the same unit or below it, the period is at
//! most [`MAX_DAYS`], it can be revoked, and the delegate gains only the stages of that role (not
//! the role's oversight of every document).

use crate::actor::Actor;
use crate::error::{InputRule, OrgError, Refusal, Result};
use crate::tree::{OrgTree, administers};
use kyso_store::{Store, new_id};
use sqlx::Row;

/// The longest a delegation may last.
pub const MAX_DAYS: i64 = 90;

#[derive(Clone, Debug)]
pub struct Delegation {
    pub id: String,
    pub org_id: String,
    pub role: String,
    pub from_user: String,
    pub from_username: String,
    pub to_user: String,
    pub to_username: String,
    pub valid_until: i64,
    pub revoked: bool,
}

/// `actor` delegates `role` at `org_id` to `to_username` until `valid_until`.
pub async fn create(store: &Store, actor: &Actor, to_username: &str, org_id: &str, role: &str, valid_until: i64) -> Result<Delegation> {
    let me = actor.require_user()?.to_string();
    if !actor.has_role_in(org_id, role) {
        crate::refused(store, actor, "delegate", Some(org_id)).await?;
        return Err(OrgError::Forbidden(Refusal::NotYourRole));
    }
    let now = store.now();
    if valid_until <= now || valid_until > now + MAX_DAYS * 86_400 {
        return Err(OrgError::Invalid { field: "valid_until", rule: InputRule::OutOfRange { min: now + 1, max: now + MAX_DAYS * 86_400 } });
    }
    let to = crate::people::by_username(store, to_username).await?.filter(|p| !p.disabled).ok_or(OrgError::NotFound("user"))?;
    if to.id == me {
        return Err(OrgError::Forbidden(Refusal::DelegateToSelf));
    }
    let tree = OrgTree::load(&store.db.pool).await?;
    if !to.memberships.iter().any(|(o, _)| tree.is_within(o, org_id)) {
        crate::refused(store, actor, "delegate", Some(org_id)).await?;
        return Err(OrgError::Forbidden(Refusal::DelegateOutsideUnit));
    }
    let id = new_id();
    let mut tx = store.db.write().await?;
    sqlx::query(
        "INSERT INTO delegations (id, org_id, role, from_user, to_user, valid_until, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(org_id)
    .bind(role)
    .bind(&me)
    .bind(&to.id)
    .bind(valid_until)
    .bind(tx.now())
    .execute(&mut *tx)
    .await?;
    crate::record(
        &mut tx,
        actor,
        "delegated",
        None,
        Some(org_id),
        serde_json::json!({"id": id, "to": to_username, "role": role, "valid_until": valid_until}),
    )
    .await?;
    tx.commit().await?;
    Ok(Delegation {
        id,
        org_id: org_id.into(),
        role: role.into(),
        from_user: me,
        from_username: actor.username().unwrap_or_default().into(),
        to_user: to.id,
        to_username: to.username,
        valid_until,
        revoked: false,
    })
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<Delegation, sqlx::Error> {
    Ok(Delegation {
        id: r.try_get(0)?,
        org_id: r.try_get(1)?,
        role: r.try_get(2)?,
        from_user: r.try_get(3)?,
        from_username: r.try_get(4)?,
        to_user: r.try_get(5)?,
        to_username: r.try_get(6)?,
        valid_until: r.try_get(7)?,
        revoked: r.try_get::<Option<i64>, _>(8)?.is_some(),
    })
}

const SELECT: &str = "SELECT d.id, d.org_id, d.role, d.from_user, f.username, d.to_user, t.username, d.valid_until, d.revoked_at FROM delegations d JOIN users f ON f.id = d.from_user JOIN users t ON t.id = d.to_user";

/// Delegations the actor gave or received, and those in units it administers.
pub async fn list(store: &Store, actor: &Actor) -> Result<Vec<Delegation>> {
    let me = actor.require_user()?;
    let tree = OrgTree::load(&store.db.pool).await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} ORDER BY d.valid_until DESC"))).fetch_all(&store.db.pool).await?;
    let mut out = Vec::new();
    for r in &rows {
        let d = from_row(r)?;
        if d.from_user == me || d.to_user == me || administers(actor, &tree, &d.org_id) {
            out.push(d);
        }
    }
    Ok(out)
}

/// The delegator (or an administrator of the unit) ends a delegation now.
pub async fn revoke(store: &Store, actor: &Actor, id: &str) -> Result<()> {
    let me = actor.require_user()?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE d.id = $1"))).bind(id).fetch_optional(&store.db.pool).await?;
    let d = row.as_ref().map(from_row).transpose()?.ok_or(OrgError::NotFound("delegation"))?;
    let tree = OrgTree::load(&store.db.pool).await?;
    if d.from_user != me && !administers(actor, &tree, &d.org_id) {
        if d.to_user == me {
            return Err(OrgError::Forbidden(Refusal::NotDelegator));
        }
        return Err(OrgError::NotFound("delegation"));
    }
    let mut tx = store.db.write().await?;
    sqlx::query("UPDATE delegations SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(tx.now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    crate::record(
        &mut tx,
        actor,
        "delegation_revoked",
        None,
        Some(&d.org_id),
        serde_json::json!({"id": id, "to": d.to_username, "role": d.role}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// (org, role, from user) of the delegations to `user_id` in force now.
pub async fn active_for(store: &Store, user_id: &str) -> Result<Vec<(String, String, String)>> {
    let rows = sqlx::query(
        "SELECT d.org_id, d.role, d.from_user FROM delegations d JOIN users f ON f.id = d.from_user WHERE d.to_user = $1 AND d.valid_until > $2 AND d.revoked_at IS NULL AND f.disabled_at IS NULL",
    )
    .bind(user_id)
    .bind(store.now())
    .fetch_all(&store.db.pool)
    .await?;
    Ok(rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect::<Result<_, sqlx::Error>>()?)
}
