//! Everything organisations, people and logins can refuse. English here (logs, the command
//! line); the HTTP edge chooses the status and adds the Vietnamese text, in one place.

use kyso_store::StoreError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OrgError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("log in first")]
    Unauthenticated,
    #[error("the token is not valid")]
    InvalidToken,
    #[error("the token has expired: log in again")]
    TokenExpired,
    #[error("wrong user name or password")]
    InvalidCredentials,
    /// Too many wrong passwords for this account; it opens again at `until` (Unix seconds).
    #[error("too many wrong passwords: the account is locked until {until}")]
    AccountLocked { until: i64 },
    /// Too many wrong passwords from this address.
    #[error("too many failed logins from this address: wait until {until}")]
    AddressThrottled { until: i64 },
    #[error("this account is disabled")]
    AccountDisabled,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(Refusal),
    #[error("{field}: {rule}")]
    Invalid { field: &'static str, rule: InputRule },
    #[error("this username is already taken")]
    UsernameTaken,
    #[error("the password is too weak: {0}")]
    WeakPassword(PasswordRule),
    #[error("checking or hashing a password failed: {0}")]
    Password(String),
    #[error("the processor queue: {0}")]
    Cpu(#[from] kyso_store::CpuError),
}

/// Why an authorised-looking request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    #[error("only a person can do this, not an API client")]
    PersonOnly,
    #[error("this API client lacks the scope {0}")]
    MissingScope(&'static str),
    #[error("only an administrator of that unit (or one above it) can do this")]
    NotAdministrator,
    #[error("only an administrator of a top unit (the Sở) can do this")]
    NotTopAdministrator,
    #[error("you can only delegate a role you hold there")]
    NotYourRole,
    #[error("a delegate must work in the same unit (or one below it)")]
    DelegateOutsideUnit,
    #[error("you cannot delegate to yourself")]
    DelegateToSelf,
    #[error("only the person who delegated (or an administrator) can revoke a delegation")]
    NotDelegator,
    #[error("you cannot disable your own account")]
    DisableSelf,
    #[error("only auditors and administrators read the audit trail")]
    NotAuditor,
}

/// What is wrong with a piece of input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputRule {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {0} characters")]
    TooLong(usize),
    #[error("must not contain control characters")]
    ControlCharacters,
    #[error("must not contain invisible or direction-changing characters")]
    InvisibleCharacters,
    #[error("{0}")]
    Format(&'static str),
    #[error("must be between {min} and {max}")]
    OutOfRange { min: i64, max: i64 },
    #[error("unknown value {0}")]
    Unknown(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordRule {
    #[error("at least 10 characters")]
    TooShort,
    #[error("at most 1024 characters")]
    TooLong,
    #[error("not only spaces")]
    Blank,
    #[error("different from the user name")]
    SameAsUsername,
    #[error("not a common password")]
    Common,
    #[error("at least 5 different characters")]
    TooRepetitive,
}

pub type Result<T, E = OrgError> = std::result::Result<T, E>;

impl From<sqlx::Error> for OrgError {
    fn from(e: sqlx::Error) -> Self {
        OrgError::Store(StoreError::Database(e))
    }
}
