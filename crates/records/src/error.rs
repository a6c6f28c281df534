//! Everything the records archive can refuse. English here (logs, the command line); the HTTP
//! edge chooses the status and adds the Vietnamese text, in one place.

use kyso_org::OrgError;
use kyso_store::StoreError;
use kyso_workflow::WorkflowError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Org(#[from] OrgError),
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{field}: {rule}")]
    Invalid { field: &'static str, rule: Rule },
    #[error("a school year named {0:?} is already open for this school")]
    YearExists(String),
    #[error("this record has already been submitted: open its document to follow it or send a new version")]
    AlreadySubmitted,
    #[error("writing the spreadsheet failed: {0}")]
    Spreadsheet(String),
}

impl From<sqlx::Error> for RecordsError {
    fn from(e: sqlx::Error) -> Self {
        RecordsError::Store(StoreError::from(e))
    }
}

pub type Result<T, E = RecordsError> = std::result::Result<T, E>;

pub(crate) fn invalid(field: &'static str, rule: Rule) -> RecordsError {
    RecordsError::Invalid { field, rule }
}

/// What a value broke; the edge words it in Vietnamese too.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rule {
    #[error("2 to 64 characters: lower-case letters, digits and hyphens")]
    CodeFormat,
    #[error("{value:?} is not one of {allowed}")]
    OneOf { value: String, allowed: String },
    #[error("give at least one")]
    AtLeastOne,
    #[error("a school year is written YYYY-YYYY with consecutive years, e.g. 2026-2027")]
    YearName,
    #[error("one to three semesters")]
    SemesterCount,
    #[error("dates are written YYYY-MM-DD")]
    DateFormat,
    #[error("each semester ends after it starts and after the one before it")]
    SemesterOrder,
    #[error("a school year lasts at most 400 days")]
    YearTooLong,
    #[error("no approval chain {0:?}")]
    NoSuchTemplate(String),
}
