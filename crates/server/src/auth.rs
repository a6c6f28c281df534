//! Who is calling: people with session tokens from a password login (argon2id hashes), and
//! ministry software with API-client tokens carrying scopes. Tokens are random 256-bit strings;
//! only their SHA-256 is stored, so a database leak gives no usable token.

use crate::AppState;
use crate::error::ApiError;
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sqlx::Row;
use std::sync::Arc;

pub const SESSION_PREFIX: &str = "kyso_s_";
pub const CLIENT_PREFIX: &str = "kyso_c_";

/// The roles a person can hold in an organisation.
pub const ROLES: &[&str] =
    &["teacher", "head_of_group", "vice_principal", "principal", "district_officer", "librarian", "auditor", "admin"];

/// Roles that see every document of their organisation and the organisations below it.
pub const OVERSEEING_ROLES: &[&str] = &["head_of_group", "vice_principal", "principal", "district_officer", "auditor", "admin"];

/// Scopes an API client may hold.
pub const SCOPES: &[&str] = &["documents:read", "documents:submit", "verify", "audit:read"];

pub fn hash_password(password: &str) -> Result<String, ApiError> {
    Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| ApiError::internal("hashing a password", e))
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

/// A fresh token with its prefix, and the SHA-256 that is stored.
pub fn new_token(prefix: &str) -> (String, String) {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("the system random source works");
    let token = format!("{prefix}{}", crate::blobs::hex(&b));
    let stored = crate::blobs::sha256_hex(token.as_bytes());
    (token, stored)
}

#[derive(Clone, Debug)]
pub enum Principal {
    User { id: String, username: String, full_name: String },
    Client { id: String, name: String, org_id: String, scopes: Vec<String> },
}

/// The authenticated caller of a request, with what it may do where.
#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
    /// (organisation, role) pairs; empty for API clients.
    pub memberships: Vec<(String, String)>,
}

impl Caller {
    /// How the audit trail names the caller.
    pub fn actor(&self) -> String {
        match &self.principal {
            Principal::User { username, .. } => format!("user:{username}"),
            Principal::Client { name, .. } => format!("client:{name}"),
        }
    }

    pub fn user_id(&self) -> Option<&str> {
        match &self.principal {
            Principal::User { id, .. } => Some(id),
            Principal::Client { .. } => None,
        }
    }

    /// Identity for idempotency keys.
    pub fn owner(&self) -> String {
        match &self.principal {
            Principal::User { id, .. } => format!("u:{id}"),
            Principal::Client { id, .. } => format!("c:{id}"),
        }
    }

    pub fn has_role_in(&self, org_id: &str, role: &str) -> bool {
        self.memberships.iter().any(|(o, r)| o == org_id && r == role)
    }

    /// A person needs nothing more; a client needs the scope.
    pub fn require_scope(&self, scope: &str) -> Result<(), ApiError> {
        match &self.principal {
            Principal::User { .. } => Ok(()),
            Principal::Client { scopes, .. } if scopes.iter().any(|s| s == scope) => Ok(()),
            Principal::Client { .. } => {
                Err(ApiError::forbidden(format!("this API client lacks the scope {scope}"), format!("ứng dụng này không có quyền {scope}")))
            }
        }
    }

    pub fn require_user(&self) -> Result<&str, ApiError> {
        self.user_id().ok_or_else(|| {
            ApiError::forbidden("only a person can do this, not an API client", "chỉ người dùng mới được làm việc này, không phải ứng dụng")
        })
    }
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let token = header.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim).ok_or_else(|| {
            ApiError::unauthorized(
                "unauthenticated",
                "log in first: send Authorization: Bearer <token>",
                "cần đăng nhập: gửi Authorization: Bearer <token>",
            )
        })?;
        let stored = crate::blobs::sha256_hex(token.as_bytes());
        let now = crate::db::now();
        let invalid = || ApiError::unauthorized("invalid_token", "the token is not valid", "mã truy cập không hợp lệ");
        let expired =
            || ApiError::unauthorized("token_expired", "the token has expired: log in again", "mã truy cập đã hết hạn: hãy đăng nhập lại");
        let pool = &state.db.pool;
        if token.starts_with(SESSION_PREFIX) {
            // The person and their memberships in one statement: a row per membership.
            let rows = sqlx::query(
                "SELECT s.expires_at, u.id, u.username, u.full_name, m.org_id, m.role FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN memberships m ON m.user_id = u.id WHERE s.token_sha256 = $1",
            )
            .bind(&stored)
            .fetch_all(pool)
            .await?;
            let row = rows.first().ok_or_else(invalid)?;
            if row.try_get::<i64, _>(0)? <= now {
                return Err(expired());
            }
            let mut memberships = Vec::with_capacity(rows.len());
            for r in &rows {
                if let (Some(org), Some(role)) = (r.try_get::<Option<String>, _>(4)?, r.try_get::<Option<String>, _>(5)?) {
                    memberships.push((org, role));
                }
            }
            let principal = Principal::User { id: row.try_get(1)?, username: row.try_get(2)?, full_name: row.try_get(3)? };
            Ok(Caller { principal, memberships })
        } else if token.starts_with(CLIENT_PREFIX) {
            let row = sqlx::query("SELECT id, name, org_id, scopes, expires_at FROM api_clients WHERE token_sha256 = $1")
                .bind(&stored)
                .fetch_optional(pool)
                .await?
                .ok_or_else(invalid)?;
            if row.try_get::<i64, _>(4)? <= now {
                return Err(expired());
            }
            let scopes: String = row.try_get(3)?;
            Ok(Caller {
                principal: Principal::Client {
                    id: row.try_get(0)?,
                    name: row.try_get(1)?,
                    org_id: row.try_get(2)?,
                    scopes: scopes.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect(),
                },
                memberships: Vec::new(),
            })
        } else {
            Err(invalid())
        }
    }
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
    fn tokens_are_random_and_stored_hashed() {
        let (a, sa) = new_token(SESSION_PREFIX);
        let (b, _) = new_token(SESSION_PREFIX);
        assert_ne!(a, b);
        assert!(a.starts_with(SESSION_PREFIX) && a.len() == SESSION_PREFIX.len() + 64);
        assert_eq!(sa, crate::blobs::sha256_hex(a.as_bytes()));
        assert!(!sa.contains(&a[SESSION_PREFIX.len()..]));
    }
}
