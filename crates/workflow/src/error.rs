//! What the documents and chains can refuse. English here; the edge adds the status and the
//! Vietnamese text in one place.

use kyso_org::OrgError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkflowError {
    #[error(transparent)]
    Org(#[from] OrgError),
    #[error(transparent)]
    Store(#[from] kyso_store::StoreError),
    #[error(transparent)]
    Signers(#[from] kyso_signers::SignersError),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(Refusal),
    #[error("your stage is not reached yet: \"{waiting}\" must sign first")]
    NotYourTurn { waiting: String },
    #[error("the chain is complete: the document can no longer change")]
    Completed,
    #[error("the document was returned: it waits for a new version from its submitter")]
    Returned,
    #[error("the document is {status}; a new version is sent only after it was returned")]
    NotReturned { status: String },
    #[error("the document changed meanwhile: reload it and try again")]
    ConcurrentChange,
    #[error("the chain cannot start: {0}")]
    ChainCannotStart(PlanProblem),
    #[error("the template is not valid: stage {stage}: {rule}")]
    TemplateInvalid { stage: usize, rule: TemplateRule },
    /// The uploaded PDF is at fault (damaged, encrypted, a field clash, readers disagree).
    #[error("the PDF cannot be used: {0}")]
    InvalidPdf(kyso_pdf::Error),
    #[error("the request body is empty: send the document itself")]
    EmptyUpload,
    #[error("your certificate cannot sign: {0}")]
    CertificateUnusable(String),
    #[error("the signing key did not sign: {0}")]
    KeyBackend(kyso_keys::KeyError),
    #[error("{0}")]
    Revocation(kyso_ltv::GateRefusal),
    #[error("a signature of yours on this document is already waiting for confirmation")]
    AlreadyPending,
    #[error("the first stage certifies the document: sign it on its own, not in a batch")]
    CertifyInBatch,
    #[error("give between 1 and {max} document ids")]
    BatchSize { max: usize },
    #[error("the processor queue: {0}")]
    Cpu(#[from] kyso_store::CpuError),
    #[error("the work was cancelled")]
    Cancelled,
    #[error("internal error while {context}: {message}")]
    Internal { context: &'static str, message: String },
}

/// Why a request about a document was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    #[error("only the submitter can send a new version")]
    NotSubmitter,
    #[error("you hold no open stage of this document's chain")]
    NoOpenStage,
    #[error("you already signed an earlier stage of this chain")]
    SignedEarlierStage,
    #[error("that person is outside this client's organisation")]
    OutsideClient,
    #[error("you hold no role in that organisation")]
    NoRoleThere,
    #[error("you belong to several organisations: say which one (org)")]
    WhichOrganisation,
    #[error("an API client submits on behalf of a person: add on_behalf_of=USERNAME")]
    OnBehalfOfNeeded,
}

/// Why a chain cannot be planned for a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanProblem {
    #[error("the chain template has no stage")]
    NoStages,
    #[error("stage {stage} ({name}) needs a unit at level {levels} above the submitter's, and there is none")]
    NoUnit { stage: usize, name: String, levels: String },
    #[error("nobody holds the role {role} in {org} for stage {stage} ({name})")]
    NoHolder { stage: usize, name: String, role: String, org: String },
}

/// What is wrong with one stage of a template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateRule {
    #[error("a template has 1 to 20 stages")]
    StageCount,
    #[error("a stage needs a name (up to 200 characters)")]
    Name,
    #[error("the field name must be 1 to 64 ASCII letters, digits, spaces, '_' or '-'")]
    FieldName,
    #[error("the field name {0} is used twice")]
    DuplicateField(String),
    #[error("unknown role {0}")]
    UnknownRole(String),
    #[error("a stage needs at least one level of the tree")]
    Levels,
    #[error("days must be 1 to 365")]
    Days,
    #[error("a template id is 1 to 64 lower-case letters, digits or '-'")]
    Id,
}

pub type Result<T, E = WorkflowError> = std::result::Result<T, E>;

impl From<sqlx::Error> for WorkflowError {
    fn from(e: sqlx::Error) -> Self {
        WorkflowError::Store(kyso_store::StoreError::Database(e))
    }
}

impl From<kyso_pdf::Error> for WorkflowError {
    fn from(e: kyso_pdf::Error) -> Self {
        match e {
            kyso_pdf::Error::Io(io) => WorkflowError::Internal { context: "reading or writing a document", message: io.to_string() },
            other => WorkflowError::InvalidPdf(other),
        }
    }
}

impl From<kyso_pades::Error> for WorkflowError {
    fn from(e: kyso_pades::Error) -> Self {
        match e {
            kyso_pades::Error::Pdf(p) => p.into(),
            kyso_pades::Error::Certificate(m) => WorkflowError::CertificateUnusable(m),
            kyso_pades::Error::Key(k) => WorkflowError::KeyBackend(k),
            other => WorkflowError::Internal { context: "signing", message: other.to_string() },
        }
    }
}

impl From<std::io::Error> for WorkflowError {
    fn from(e: std::io::Error) -> Self {
        WorkflowError::Internal { context: "storing a document", message: e.to_string() }
    }
}

impl WorkflowError {
    pub(crate) fn internal(context: &'static str, e: impl std::fmt::Display) -> Self {
        WorkflowError::Internal { context, message: e.to_string() }
    }
}
