//! People and their roles: added, changed and disabled by administrators of their units.
//! Passwords are stored as argon2 hashes only.

use crate::actor::{Actor, ROLES};
use crate::error::{InputRule, OrgError, Refusal, Result};
use crate::tree::{OrgTree, administers};
use kyso_store::{Store, new_id};
use sqlx::Row;

/// A person as administrators and pages see them.
#[derive(Clone, Debug)]
pub struct Person {
    pub id: String,
    pub username: String,
    pub full_name: String,
    pub id_number: Option<String>,
    pub disabled: bool,
    pub memberships: Vec<(String, String)>,
}

/// What an administrator gives for a new person.
pub struct NewPerson<'a> {
    pub username: &'a str,
    pub full_name: &'a str,
    pub password: &'a str,
    /// CCCD/CMND or tax code, matched against certificates that carry one.
    pub id_number: Option<&'a str>,
    pub memberships: &'a [(String, String)],
}

/// An identity number as certificates carry it: 9 to 13 digits (CMND 9, CCCD 12, tax code 10
/// or 13), optionally with a dash before a tax-code branch.
pub fn check_id_number(value: &str) -> Result<String> {
    let v: String = value.trim().chars().filter(|c| *c != ' ').collect();
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let ok = (9..=14).contains(&v.len()) && (9..=13).contains(&digits) && v.chars().all(|c| c.is_ascii_digit() || c == '-');
    if ok {
        Ok(v)
    } else {
        Err(OrgError::Invalid { field: "id_number", rule: InputRule::Format("9 to 13 digits (CMND, CCCD or tax code)") })
    }
}

fn check_memberships(actor: &Actor, tree: &OrgTree, memberships: &[(String, String)]) -> Result<()> {
    if memberships.is_empty() || memberships.len() > 32 {
        return Err(OrgError::Invalid { field: "memberships", rule: InputRule::OutOfRange { min: 1, max: 32 } });
    }
    for (org, role) in memberships {
        if !ROLES.contains(&role.as_str()) {
            return Err(OrgError::Invalid { field: "role", rule: InputRule::Unknown(role.chars().take(64).collect()) });
        }
        if tree.get(org).is_none() {
            return Err(OrgError::NotFound("organisation"));
        }
        if !administers(actor, tree, org) {
            return Err(OrgError::Forbidden(Refusal::NotAdministrator));
        }
    }
    Ok(())
}

/// An administrator adds a person with roles in units they administer.
pub async fn create(store: &Store, actor: &Actor, p: NewPerson<'_>) -> Result<Person> {
    actor.require_user()?;
    crate::auth::check_username(p.username)?;
    let full_name = crate::text::line(p.full_name, "full_name", 200)?;
    let id_number = p.id_number.filter(|v| !v.trim().is_empty()).map(check_id_number).transpose()?;
    crate::auth::check_password(p.password, p.username)?;
    let tree = OrgTree::load(&store.db.pool).await?;
    if let Err(e) = check_memberships(actor, &tree, p.memberships) {
        if matches!(e, OrgError::Forbidden(_)) {
            crate::refused(store, actor, "create_user", p.memberships.first().map(|m| m.0.as_str())).await?;
        }
        return Err(e);
    }
    let password = p.password.to_string();
    let hash = store.cpu.run(&actor.owner(), move || crate::auth::hash_password(&password)).await??;
    let id = new_id();
    let mut tx = store.db.write().await?;
    let taken = sqlx::query("SELECT 1 FROM users WHERE username = $1").bind(p.username).fetch_optional(&mut *tx).await?.is_some();
    if taken {
        return Err(OrgError::UsernameTaken);
    }
    sqlx::query("INSERT INTO users (id, username, full_name, password_hash, id_number) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(p.username)
        .bind(&full_name)
        .bind(&hash)
        .bind(&id_number)
        .execute(&mut *tx)
        .await?;
    let mut memberships = Vec::new();
    for (org, role) in p.memberships {
        sqlx::query("INSERT INTO memberships (user_id, org_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(&id)
            .bind(org)
            .bind(role)
            .execute(&mut *tx)
            .await?;
        if !memberships.contains(&(org.clone(), role.clone())) {
            memberships.push((org.clone(), role.clone()));
        }
    }
    let roles: Vec<serde_json::Value> = memberships.iter().map(|(o, r)| serde_json::json!({"org_id": o, "role": r})).collect();
    crate::record(
        &mut tx,
        actor,
        "user_created",
        None,
        Some(&memberships[0].0),
        serde_json::json!({"username": p.username, "memberships": roles}),
    )
    .await?;
    tx.commit().await?;
    Ok(Person { id, username: p.username.to_string(), full_name, id_number, disabled: false, memberships })
}

pub async fn by_username(store: &Store, username: &str) -> Result<Option<Person>> {
    let row = sqlx::query("SELECT id, username, full_name, id_number, disabled_at FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(&store.db.pool)
        .await?;
    let Some(r) = row else { return Ok(None) };
    let id: String = r.try_get(0)?;
    let memberships = memberships_of(store, &id).await?;
    Ok(Some(Person {
        id,
        username: r.try_get(1)?,
        full_name: r.try_get(2)?,
        id_number: r.try_get(3)?,
        disabled: r.try_get::<Option<i64>, _>(4)?.is_some(),
        memberships,
    }))
}

pub async fn memberships_of(store: &Store, user_id: &str) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT org_id, role FROM memberships WHERE user_id = $1 ORDER BY org_id, role")
        .bind(user_id)
        .fetch_all(&store.db.pool)
        .await?;
    Ok(rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect::<Result<_, sqlx::Error>>()?)
}

/// A person the actor administers (every unit the person belongs to), or "not found".
pub async fn administered(store: &Store, actor: &Actor, username: &str) -> Result<Person> {
    actor.require_user()?;
    if !actor.has_role("admin") {
        return Err(OrgError::Forbidden(Refusal::NotAdministrator));
    }
    let person = by_username(store, username).await?.ok_or(OrgError::NotFound("user"))?;
    let tree = OrgTree::load(&store.db.pool).await?;
    if person.memberships.is_empty() || !person.memberships.iter().all(|(o, _)| administers(actor, &tree, o)) {
        // Another administrator's person: as if it did not exist.
        return Err(OrgError::NotFound("user"));
    }
    Ok(person)
}

/// The people with a role in units the actor administers (for the administrators' pages).
pub async fn list(store: &Store, actor: &Actor) -> Result<Vec<Person>> {
    actor.require_user()?;
    let tree = OrgTree::load(&store.db.pool).await?;
    let units = tree.within_any(actor.units_with_role("admin"));
    if units.is_empty() {
        return Ok(Vec::new());
    }
    let mut binds = kyso_store::Binds::default();
    let listed = binds.push_list(units.iter().copied());
    let sql = format!(
        "SELECT u.id, u.username, u.full_name, u.id_number, u.disabled_at, m.org_id, m.role FROM users u JOIN memberships m ON m.user_id = u.id WHERE u.id IN (SELECT user_id FROM memberships WHERE org_id IN ({listed})) ORDER BY u.username, m.org_id, m.role"
    );
    let rows = binds.query(sql).fetch_all(&store.db.pool).await?;
    let mut out: Vec<Person> = Vec::new();
    for r in &rows {
        let id: String = r.try_get(0)?;
        let m = (r.try_get(5)?, r.try_get(6)?);
        match out.last_mut() {
            Some(p) if p.id == id => p.memberships.push(m),
            _ => out.push(Person {
                id,
                username: r.try_get(1)?,
                full_name: r.try_get(2)?,
                id_number: r.try_get(3)?,
                disabled: r.try_get::<Option<i64>, _>(4)?.is_some(),
                memberships: vec![m],
            }),
        }
    }
    Ok(out)
}

/// What an administrator may change about a person.
#[derive(Default)]
pub struct PersonChange<'a> {
    pub full_name: Option<&'a str>,
    pub id_number: Option<&'a str>,
    pub password: Option<&'a str>,
    /// The full new list of roles (within units the administrator administers).
    pub memberships: Option<&'a [(String, String)]>,
    pub disabled: Option<bool>,
}

/// An administrator changes, disables or re-enables a person they administer. Disabling ends
/// the person's sessions at once.
pub async fn update(store: &Store, actor: &Actor, username: &str, change: PersonChange<'_>) -> Result<Person> {
    let person = administered(store, actor, username).await?;
    let full_name = change.full_name.map(|n| crate::text::line(n, "full_name", 200)).transpose()?;
    let id_number = change.id_number.map(|v| if v.trim().is_empty() { Ok(String::new()) } else { check_id_number(v) }).transpose()?;
    if let Some(pw) = change.password {
        crate::auth::check_password(pw, username)?;
    }
    let tree = OrgTree::load(&store.db.pool).await?;
    if let Some(ms) = change.memberships {
        check_memberships(actor, &tree, ms)?;
    }
    if change.disabled == Some(true) && actor.user_id() == Some(person.id.as_str()) {
        return Err(OrgError::Forbidden(Refusal::DisableSelf));
    }
    let hash = match change.password {
        Some(pw) => {
            let pw = pw.to_string();
            Some(store.cpu.run(&actor.owner(), move || crate::auth::hash_password(&pw)).await??)
        }
        None => None,
    };
    let mut tx = store.db.write().await?;
    let mut changed = Vec::new();
    if let Some(n) = &full_name {
        sqlx::query("UPDATE users SET full_name = $1 WHERE id = $2").bind(n).bind(&person.id).execute(&mut *tx).await?;
        changed.push("full_name");
    }
    if let Some(v) = &id_number {
        sqlx::query("UPDATE users SET id_number = $1 WHERE id = $2")
            .bind(Some(v).filter(|v| !v.is_empty()))
            .bind(&person.id)
            .execute(&mut *tx)
            .await?;
        changed.push("id_number");
    }
    if let Some(h) = &hash {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2").bind(h).bind(&person.id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(&person.id).execute(&mut *tx).await?;
        changed.push("password");
    }
    if let Some(ms) = change.memberships {
        sqlx::query("DELETE FROM memberships WHERE user_id = $1").bind(&person.id).execute(&mut *tx).await?;
        for (org, role) in ms {
            sqlx::query("INSERT INTO memberships (user_id, org_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(&person.id)
                .bind(org)
                .bind(role)
                .execute(&mut *tx)
                .await?;
        }
        changed.push("memberships");
    }
    if let Some(d) = change.disabled {
        let at = d.then_some(tx.now());
        sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2").bind(at).bind(&person.id).execute(&mut *tx).await?;
        if d {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(&person.id).execute(&mut *tx).await?;
        }
        changed.push(if d { "disabled" } else { "enabled" });
    }
    let org = person.memberships.first().map(|m| m.0.clone());
    crate::record(&mut tx, actor, "user_changed", None, org.as_deref(), serde_json::json!({"username": username, "changed": changed}))
        .await?;
    tx.commit().await?;
    by_username(store, username).await?.ok_or(OrgError::NotFound("user"))
}

/// (user id, username, full name) of the holders of `role` in `org`, by username.
pub async fn holders(store: &Store, org: &str, role: &str) -> Result<Vec<(String, String, String)>> {
    let rows = sqlx::query(
        "SELECT u.id, u.username, u.full_name FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND m.role = $2 AND u.disabled_at IS NULL ORDER BY u.username",
    )
    .bind(org)
    .bind(role)
    .fetch_all(&store.db.pool)
    .await?;
    Ok(rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect::<Result<_, sqlx::Error>>()?)
}
