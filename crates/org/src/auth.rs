//! Authentication: argon2id password hashes, session tokens for people (API or web, the web's
//! with a CSRF token), scoped tokens for API clients, and throttling of failed logins per
//! account and per address with lockouts that are audited and end. Tokens are random 256-bit
//! strings; only their SHA-256 is stored, so a database leak gives no usable token.

use crate::actor::{Actor, Principal, SCOPES};
use crate::error::{InputRule, OrgError, PasswordRule, Refusal, Result};
use crate::tree::{OrgTree, administers};
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use kyso_store::{Store, new_id, sha256_hex};
use sqlx::Row;

pub const SESSION_PREFIX: &str = "kyso_s_";
pub const CLIENT_PREFIX: &str = "kyso_c_";

/// How failed logins are throttled.
#[derive(Clone, Copy, Debug)]
pub struct Throttle {
    /// Failed attempts for one account within `window_secs` that lock it.
    pub account_failures: i64,
    /// Failed attempts from one address within `window_secs` that throttle it.
    pub address_failures: i64,
    pub window_secs: i64,
    /// How long a lockout lasts.
    pub lockout_secs: i64,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle { account_failures: 5, address_failures: 20, window_secs: 15 * 60, lockout_secs: 15 * 60 }
    }
}

pub fn hash_password(password: &str) -> Result<String> {
    Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| OrgError::Password(e.to_string()))
}

/// Constant work whether or not the user exists: an unknown name is checked against a dummy hash.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$kGzG2dXCPBWdmqrV8bZ2OaHW9w4ZkJsjIhl6ueW4zAY";
    let ok_format = stored.is_some();
    let hash = PasswordHash::new(stored.unwrap_or(DUMMY)).or_else(|_| PasswordHash::new(DUMMY));
    match hash {
        Ok(h) => Argon2::default().verify_password(password.as_bytes(), &h).is_ok() && ok_format,
        Err(_) => false,
    }
}

/// The rule a new password must meet: 10 to 1024 characters, not blank, not the user name, not
/// a common password, at least five different characters.
pub fn check_password(password: &str, username: &str) -> Result<()> {
    const COMMON: &[&str] =
        &["1234567890", "12345678910", "0123456789", "password123", "matkhau123", "qwertyuiop", "abcdefghij", "1111111111", "kyso-demo1"];
    let n = password.chars().count();
    let weak = |r| Err(OrgError::WeakPassword(r));
    if n > 1024 {
        return weak(PasswordRule::TooLong);
    }
    if n < 10 {
        return weak(PasswordRule::TooShort);
    }
    if password.trim().is_empty() {
        return weak(PasswordRule::Blank);
    }
    let lower = password.to_lowercase();
    let name = username.to_lowercase();
    if lower.trim() == name || (name.len() >= 4 && lower.contains(&name)) {
        return weak(PasswordRule::SameAsUsername);
    }
    if COMMON.contains(&lower.as_str()) {
        return weak(PasswordRule::Common);
    }
    let distinct: std::collections::HashSet<char> = password.chars().collect();
    if distinct.len() < 5 {
        return weak(PasswordRule::TooRepetitive);
    }
    Ok(())
}

/// Checks a user name's form: 3 to 64 of `a-z 0-9 . _ -`.
pub fn check_username(username: &str) -> Result<()> {
    let ok = (3..=64).contains(&username.len())
        && username.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(OrgError::Invalid { field: "username", rule: InputRule::Format("3 to 64 lower-case letters, digits, '.', '_' or '-'") })
    }
}

/// A fresh token with its prefix, and the SHA-256 that is stored.
pub fn new_token(prefix: &str) -> (String, String) {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("the system random source works");
    let token = format!("{prefix}{}", kyso_store::hex(&b));
    let stored = sha256_hex(token.as_bytes());
    (token, stored)
}

/// What a login asks for a session to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    /// A bearer token for the REST API.
    Api,
    /// A browser session (cookie), with a CSRF token for its forms.
    Web,
}

/// A new session.
pub struct Session {
    pub token: String,
    pub expires_at: i64,
    pub user_id: String,
    pub username: String,
    pub full_name: String,
    /// The web session's CSRF token (forms send it back).
    pub csrf: Option<String>,
}

/// Logs `username` in from `address`. Throttled per account and per address; a lockout is
/// audited (under the person's unit, so their auditors see it) and ends by itself.
pub async fn login(
    store: &Store,
    throttle: &Throttle,
    username: &str,
    password: &str,
    address: &str,
    kind: SessionKind,
    ttl_secs: i64,
) -> Result<Session> {
    // Sizes are checked before anything is looked up or written: a megabyte "user name" never
    // reaches the audit trail.
    if username.is_empty() || username.len() > 64 || password.chars().count() > 1024 {
        return Err(OrgError::InvalidCredentials);
    }
    let now = store.now();
    let address = &address[..address.len().min(64)];
    for subject in [format!("user:{username}"), format!("addr:{address}")] {
        let until: Option<i64> = sqlx::query("SELECT until_at FROM lockouts WHERE subject = $1")
            .bind(&subject)
            .fetch_optional(&store.db.pool)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        if let Some(until) = until.filter(|u| *u > now) {
            return Err(if subject.starts_with("user:") {
                OrgError::AccountLocked { until }
            } else {
                OrgError::AddressThrottled { until }
            });
        }
    }
    let row = sqlx::query(
        "SELECT u.id, u.password_hash, u.full_name, u.disabled_at, (SELECT MIN(m.org_id) FROM memberships m WHERE m.user_id = u.id) FROM users u WHERE u.username = $1",
    )
    .bind(username)
    .fetch_optional(&store.db.pool)
    .await?;
    let stored: Option<String> = row.as_ref().map(|r| r.try_get(1)).transpose()?;
    let pw = password.to_string();
    let ok = store.cpu.run(&format!("login:{address}"), move || verify_password(&pw, stored.as_deref())).await?;
    let home_org: Option<String> = row.as_ref().and_then(|r| r.try_get(4).ok()).flatten();
    // A known name is recorded as itself; anything else as "unknown" (not echoed into the trail).
    let actor = if row.is_some() { format!("user:{username}") } else { "unknown".to_string() };
    let Some(row) = row.filter(|_| ok) else {
        let mut tx = store.db.write().await?;
        sqlx::query("INSERT INTO login_failures (id, username, address, at) VALUES ($1, $2, $3, $4)")
            .bind(new_id())
            .bind(username)
            .bind(address)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let detail = if actor == "unknown" {
            serde_json::json!({"address": address})
        } else {
            serde_json::json!({"address": address, "username": username})
        };
        crate::append(&mut tx, &actor, "login_failed", None, home_org.as_deref(), detail).await?;
        let since = now - throttle.window_secs;
        for (subject, column, limit) in [
            (format!("user:{username}"), "username", throttle.account_failures),
            (format!("addr:{address}"), "address", throttle.address_failures),
        ] {
            if subject.starts_with("user:") && actor == "unknown" {
                continue;
            }
            let value = if column == "username" { username } else { address };
            let failures: i64 =
                sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM login_failures WHERE {column} = $1 AND at > $2")))
                    .bind(value)
                    .bind(since)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
            if failures >= limit {
                let until = now + throttle.lockout_secs;
                sqlx::query("DELETE FROM lockouts WHERE subject = $1").bind(&subject).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO lockouts (subject, until_at) VALUES ($1, $2)")
                    .bind(&subject)
                    .bind(until)
                    .execute(&mut *tx)
                    .await?;
                let action = if column == "username" { "account_locked" } else { "address_throttled" };
                crate::append(
                    &mut tx,
                    &actor,
                    action,
                    None,
                    home_org.as_deref(),
                    serde_json::json!({"failures": failures, "until": until, "address": address}),
                )
                .await?;
            }
        }
        tx.commit().await?;
        return Err(OrgError::InvalidCredentials);
    };
    if row.try_get::<Option<i64>, _>(3)?.is_some() {
        return Err(OrgError::AccountDisabled);
    }
    let user_id: String = row.try_get(0)?;
    let (token, stored_hash) = new_token(SESSION_PREFIX);
    let csrf = (kind == SessionKind::Web).then(|| new_token("").0);
    let expires_at = now + ttl_secs;
    let mut tx = store.db.write().await?;
    sqlx::query("INSERT INTO sessions (token_sha256, user_id, expires_at, created_at, kind, csrf) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&stored_hash)
        .bind(&user_id)
        .bind(expires_at)
        .bind(now)
        .bind(if kind == SessionKind::Web { "web" } else { "api" })
        .bind(&csrf)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM login_failures WHERE username = $1").bind(username).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM lockouts WHERE subject = $1").bind(format!("user:{username}")).execute(&mut *tx).await?;
    crate::append(
        &mut tx,
        &actor,
        "login",
        None,
        home_org.as_deref(),
        serde_json::json!({"address": address, "kind": if kind == SessionKind::Web { "web" } else { "api" }}),
    )
    .await?;
    tx.commit().await?;
    Ok(Session { token, expires_at, user_id, username: username.to_string(), full_name: row.try_get(2)?, csrf })
}

/// An authenticated session or client, with the web session's CSRF token.
pub struct Authenticated {
    pub actor: Actor,
    pub csrf: Option<String>,
}

/// Who holds `token` (a session or an API-client token), if it is valid now.
pub async fn authenticate(store: &Store, token: &str) -> Result<Authenticated> {
    let stored = sha256_hex(token.as_bytes());
    let now = store.now();
    let pool = &store.db.pool;
    if token.starts_with(SESSION_PREFIX) {
        // The person and their memberships in one statement: a row per membership.
        let rows = sqlx::query(
            "SELECT s.expires_at, u.id, u.username, u.full_name, m.org_id, m.role, u.disabled_at, s.csrf FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN memberships m ON m.user_id = u.id WHERE s.token_sha256 = $1",
        )
        .bind(&stored)
        .fetch_all(pool)
        .await?;
        let row = rows.first().ok_or(OrgError::InvalidToken)?;
        if row.try_get::<i64, _>(0)? <= now {
            return Err(OrgError::TokenExpired);
        }
        if row.try_get::<Option<i64>, _>(6)?.is_some() {
            return Err(OrgError::AccountDisabled);
        }
        let mut memberships = Vec::with_capacity(rows.len());
        for r in &rows {
            if let (Some(org), Some(role)) = (r.try_get::<Option<String>, _>(4)?, r.try_get::<Option<String>, _>(5)?) {
                memberships.push((org, role));
            }
        }
        let principal = Principal::User { id: row.try_get(1)?, username: row.try_get(2)?, full_name: row.try_get(3)? };
        Ok(Authenticated { actor: Actor { principal, memberships }, csrf: row.try_get(7)? })
    } else if token.starts_with(CLIENT_PREFIX) {
        let row = sqlx::query("SELECT id, name, org_id, scopes, expires_at, revoked_at FROM api_clients WHERE token_sha256 = $1")
            .bind(&stored)
            .fetch_optional(pool)
            .await?
            .ok_or(OrgError::InvalidToken)?;
        if row.try_get::<Option<i64>, _>(5)?.is_some() {
            return Err(OrgError::InvalidToken);
        }
        if row.try_get::<i64, _>(4)? <= now {
            return Err(OrgError::TokenExpired);
        }
        let scopes: String = row.try_get(3)?;
        let principal = Principal::Client {
            id: row.try_get(0)?,
            name: row.try_get(1)?,
            org_id: row.try_get(2)?,
            scopes: scopes.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        };
        Ok(Authenticated { actor: Actor { principal, memberships: Vec::new() }, csrf: None })
    } else {
        Err(OrgError::InvalidToken)
    }
}

/// Ends the session (or revokes the API client) that `token` is.
pub async fn logout(store: &Store, actor: &Actor, token: &str) -> Result<()> {
    let stored = sha256_hex(token.as_bytes());
    let mut tx = store.db.write().await?;
    match &actor.principal {
        Principal::User { .. } => {
            sqlx::query("DELETE FROM sessions WHERE token_sha256 = $1").bind(&stored).execute(&mut *tx).await?;
            crate::record(&mut tx, actor, "logout", None, actor.home_org(), serde_json::json!({})).await?;
        }
        Principal::Client { id, org_id, .. } => {
            sqlx::query("UPDATE api_clients SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(tx.now())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            crate::record(&mut tx, actor, "client_revoked", None, Some(org_id), serde_json::json!({"by": "logout"})).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// A new API client and its token (shown once).
pub struct NewClient {
    pub id: String,
    pub name: String,
    pub org_id: String,
    pub scopes: Vec<String>,
    pub token: String,
    pub expires_at: i64,
}

/// An administrator registers ministry software for their unit (or one below it).
pub async fn create_client(
    store: &Store,
    actor: &Actor,
    name: &str,
    org_id: &str,
    scopes: &[String],
    valid_days: i64,
) -> Result<NewClient> {
    actor.require_user()?;
    let name = crate::text::line(name, "name", 200)?;
    if !(1..=3650).contains(&valid_days) {
        return Err(OrgError::Invalid { field: "valid_days", rule: InputRule::OutOfRange { min: 1, max: 3650 } });
    }
    if scopes.is_empty() || scopes.len() > SCOPES.len() {
        return Err(OrgError::Invalid {
            field: "scopes",
            rule: InputRule::Format("one or more of documents:read, documents:submit, verify, audit:read"),
        });
    }
    if let Some(bad) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return Err(OrgError::Invalid { field: "scopes", rule: InputRule::Unknown(bad.chars().take(64).collect()) });
    }
    let tree = OrgTree::load(&store.db.pool).await?;
    if tree.get(org_id).is_none() {
        return Err(OrgError::NotFound("organisation"));
    }
    if !administers(actor, &tree, org_id) {
        crate::refused(store, actor, "create_client", Some(org_id)).await?;
        return Err(OrgError::Forbidden(Refusal::NotAdministrator));
    }
    let (token, stored) = new_token(CLIENT_PREFIX);
    let id = new_id();
    let mut tx = store.db.write().await?;
    let expires_at = tx.now() + valid_days * 86_400;
    sqlx::query(
        "INSERT INTO api_clients (id, name, org_id, token_sha256, scopes, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(&name)
    .bind(org_id)
    .bind(&stored)
    .bind(scopes.join(" "))
    .bind(expires_at)
    .bind(tx.now())
    .execute(&mut *tx)
    .await?;
    crate::record(
        &mut tx,
        actor,
        "client_created",
        None,
        Some(org_id),
        serde_json::json!({"client": name, "scopes": scopes, "valid_days": valid_days}),
    )
    .await?;
    tx.commit().await?;
    Ok(NewClient { id, name, org_id: org_id.to_string(), scopes: scopes.to_vec(), token, expires_at })
}

/// An API client as administrators see it (never its token).
pub struct ClientInfo {
    pub id: String,
    pub name: String,
    pub org_id: String,
    pub scopes: Vec<String>,
    pub expires_at: i64,
    pub revoked: bool,
}

/// The API clients of units the actor administers.
pub async fn list_clients(store: &Store, actor: &Actor) -> Result<Vec<ClientInfo>> {
    actor.require_user()?;
    let tree = OrgTree::load(&store.db.pool).await?;
    let rows = sqlx::query("SELECT id, name, org_id, scopes, expires_at, revoked_at FROM api_clients ORDER BY name")
        .fetch_all(&store.db.pool)
        .await?;
    let mut out = Vec::new();
    for r in &rows {
        let org_id: String = r.try_get(2)?;
        if administers(actor, &tree, &org_id) {
            let scopes: String = r.try_get(3)?;
            out.push(ClientInfo {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
                org_id,
                scopes: scopes.split(' ').map(str::to_string).collect(),
                expires_at: r.try_get(4)?,
                revoked: r.try_get::<Option<i64>, _>(5)?.is_some(),
            });
        }
    }
    Ok(out)
}

/// An administrator revokes an API client of a unit they administer.
pub async fn revoke_client(store: &Store, actor: &Actor, client_id: &str) -> Result<()> {
    actor.require_user()?;
    let tree = OrgTree::load(&store.db.pool).await?;
    let org_id: String = sqlx::query("SELECT org_id FROM api_clients WHERE id = $1")
        .bind(client_id)
        .fetch_optional(&store.db.pool)
        .await?
        .ok_or(OrgError::NotFound("API client"))?
        .try_get(0)?;
    if !administers(actor, &tree, &org_id) {
        return Err(OrgError::NotFound("API client"));
    }
    let mut tx = store.db.write().await?;
    sqlx::query("UPDATE api_clients SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(tx.now())
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
    crate::record(&mut tx, actor, "client_revoked", None, Some(&org_id), serde_json::json!({"client_id": client_id})).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_with_the_right_secret() {
        let h = hash_password("mật khẩu đúng").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("mật khẩu đúng", Some(&h)));
        assert!(!verify_password("mat khau sai", Some(&h)));
        assert!(!verify_password("mật khẩu đúng", None));
        assert!(!verify_password("x", Some("not a hash")));
    }

    #[test]
    fn the_password_rule() {
        assert!(check_password("Hoa phượng đỏ 2026", "huong").is_ok());
        for (pw, rule) in [
            ("short", PasswordRule::TooShort),
            ("          ", PasswordRule::Blank),
            ("huong.nguyen", PasswordRule::SameAsUsername),
            ("1234567890", PasswordRule::Common),
            ("aaaaabbbbbaaaaa", PasswordRule::TooRepetitive),
        ] {
            let user = if rule == PasswordRule::SameAsUsername { "huong.nguyen" } else { "huong" };
            assert!(matches!(check_password(pw, user), Err(OrgError::WeakPassword(r)) if r == rule), "{pw:?}");
        }
        assert!(matches!(check_password(&"x1y2z3w4v5".repeat(103), "huong"), Err(OrgError::WeakPassword(PasswordRule::TooLong))));
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, sa) = new_token(SESSION_PREFIX);
        let (b, _) = new_token(SESSION_PREFIX);
        assert_ne!(a, b);
        assert!(a.starts_with(SESSION_PREFIX) && a.len() == SESSION_PREFIX.len() + 64);
        assert_eq!(sa, sha256_hex(a.as_bytes()));
    }
}
