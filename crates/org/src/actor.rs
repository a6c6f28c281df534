//! Who is acting: a person with roles in units, or ministry software (an API client) with
//! scopes in one unit. Every domain operation takes an [`Actor`] and checks it itself.

use crate::error::{OrgError, Refusal, Result};

/// The roles a person can hold in an organisation.
pub const ROLES: &[&str] = &[
    "teacher",
    "homeroom_teacher",
    "head_of_group",
    "vice_principal",
    "principal",
    "district_officer",
    "department_officer",
    "librarian",
    "auditor",
    "admin",
    "staff",
    "student",
];

/// Roles that see every document of their organisation and the organisations below it.
pub const OVERSEEING_ROLES: &[&str] =
    &["head_of_group", "vice_principal", "principal", "district_officer", "department_officer", "auditor", "admin"];

/// Scopes an API client may hold.
pub const SCOPES: &[&str] = &["documents:read", "documents:submit", "verify", "audit:read"];

#[derive(Clone, Debug)]
pub enum Principal {
    User { id: String, username: String, full_name: String },
    Client { id: String, name: String, org_id: String, scopes: Vec<String> },
}

/// An authenticated caller, with what it may do where.
#[derive(Clone, Debug)]
pub struct Actor {
    pub principal: Principal,
    /// (organisation, role) pairs; empty for API clients.
    pub memberships: Vec<(String, String)>,
}

impl Actor {
    /// How the audit trail names the actor.
    pub fn name(&self) -> String {
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

    pub fn username(&self) -> Option<&str> {
        match &self.principal {
            Principal::User { username, .. } => Some(username),
            Principal::Client { .. } => None,
        }
    }

    /// The name shown on a signature or a page.
    pub fn display_name(&self) -> &str {
        match &self.principal {
            Principal::User { full_name, .. } => full_name,
            Principal::Client { name, .. } => name,
        }
    }

    /// Identity for idempotency keys and the processor queue.
    pub fn owner(&self) -> String {
        match &self.principal {
            Principal::User { id, .. } => format!("u:{id}"),
            Principal::Client { id, .. } => format!("c:{id}"),
        }
    }

    pub fn has_role_in(&self, org_id: &str, role: &str) -> bool {
        self.memberships.iter().any(|(o, r)| o == org_id && r == role)
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.memberships.iter().any(|(_, r)| r == role)
    }

    /// Units where the actor holds `role`.
    pub fn units_with_role<'a>(&'a self, role: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.memberships.iter().filter(move |(_, r)| r == role).map(|(o, _)| o.as_str())
    }

    /// A person needs nothing more; a client needs the scope.
    pub fn require_scope(&self, scope: &'static str) -> Result<()> {
        match &self.principal {
            Principal::User { .. } => Ok(()),
            Principal::Client { scopes, .. } if scopes.iter().any(|s| s == scope) => Ok(()),
            Principal::Client { .. } => Err(OrgError::Forbidden(Refusal::MissingScope(scope))),
        }
    }

    pub fn require_user(&self) -> Result<&str> {
        self.user_id().ok_or(OrgError::Forbidden(Refusal::PersonOnly))
    }

    /// The first unit the actor belongs to (where its audit entries without a document go).
    pub fn home_org(&self) -> Option<&str> {
        match &self.principal {
            Principal::User { .. } => self.memberships.first().map(|(o, _)| o.as_str()),
            Principal::Client { org_id, .. } => Some(org_id),
        }
    }
}
