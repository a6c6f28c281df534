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
    #[error("{field}: {problem}")]
    Invalid { field: &'static str, problem: String },
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

pub(crate) fn invalid(field: &'static str, problem: impl Into<String>) -> RecordsError {
    RecordsError::Invalid { field, problem: problem.into() }
}
