//! Everything the library can refuse. English here (logs, the command line); the HTTP edge
//! chooses the status and adds the Vietnamese text, in one place.

use kyso_org::OrgError;
use kyso_store::StoreError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LibraryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Org(#[from] OrgError),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("only the library's librarian may do this")]
    NotLibrarian,
    #[error("{field}: {rule}")]
    Invalid { field: &'static str, rule: Rule },
    #[error("the file is not MARC21 that can be read: {0}")]
    Unreadable(String),
    #[error("no copy has the barcode {0:?} in this library")]
    NoSuchCopy(String),
    #[error("no reader has the card {0:?} in this library")]
    NoSuchReader(String),
    #[error("the copy {barcode:?} cannot be lent: it is {state}")]
    NotLendable { barcode: String, state: String },
    #[error("the copy {0:?} is already on loan")]
    AlreadyOnLoan(String),
    #[error("the copy {0:?} is not on loan")]
    NotOnLoan(String),
    #[error("the copy {barcode:?} is held for another reader ({reader})")]
    HeldForAnother { barcode: String, reader: String },
    #[error("{0}")]
    Refused(LoanRule),
    #[error("a copy with the barcode {0:?} already exists in this library")]
    BarcodeTaken(String),
    #[error("a reader with the card {0:?} already exists in this library")]
    CardTaken(String),
}

impl From<sqlx::Error> for LibraryError {
    fn from(e: sqlx::Error) -> Self {
        LibraryError::Store(StoreError::from(e))
    }
}

pub type Result<T, E = LibraryError> = std::result::Result<T, E>;

pub(crate) fn invalid(field: &'static str, rule: Rule) -> LibraryError {
    LibraryError::Invalid { field, rule }
}

/// What a value broke; the edge words it in Vietnamese too.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rule {
    #[error("{0:?} is not a valid ISBN (10 or 13 digits with a correct check digit)")]
    Isbn(String),
    #[error("required")]
    Required,
    #[error("{value:?} is not one of {allowed}")]
    OneOf { value: String, allowed: String },
    #[error("1 to 32 characters: letters, digits, '-', '.' or '/'")]
    CodeFormat,
    #[error("a whole number from {min} to {max}")]
    Range { min: i64, max: i64 },
    #[error("dates are written YYYY-MM-DD")]
    DateFormat,
}

/// A loan rule that refused a check-out or renewal, named so the desk can say which.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoanRule {
    #[error("the reader already has {limit} items on loan, the most a {reader_type} may borrow")]
    MaxItems { limit: i64, reader_type: String },
    #[error("the loan was already renewed {limit} times, the most allowed")]
    MaxRenewals { limit: i64 },
    #[error("the reader has overdue items: return them first")]
    Overdue,
    #[error("another reader is waiting for this title: it cannot be renewed")]
    WaitedFor,
    #[error("the reader's card is not active")]
    InactiveCard,
    #[error("no loan rule is set for {0} readers in this library")]
    NoRule(String),
}
