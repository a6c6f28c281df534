use std::io;

/// Everything that can go wrong reading or updating a PDF. Messages name the problem in plain words.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    #[error("not a PDF file: {0}")]
    NotPdf(String),
    #[error("the PDF is damaged: {0}")]
    Malformed(String),
    #[error(
        "the PDF is encrypted; encrypted PDFs cannot be signed yet: remove the password first (for example `qpdf --decrypt --password=PW in.pdf out.pdf`)"
    )]
    Encrypted,
    /// A hybrid-reference file whose table and `/XRefStm` stream disagree: readers would show
    /// different documents, so signing it would sign something other than what people see.
    #[error(
        "the PDF's two cross-reference readings disagree (a table-only reader and a PDF 1.5 reader see different objects {objects}); it cannot be signed safely: re-save it (print to PDF or `qpdf in.pdf out.pdf`) and sign the result"
    )]
    XrefDisagreement { objects: String },
    #[error("the PDF is damaged ({0}) and already carries signatures; repairing it would break them")]
    DamagedSigned(String),
    #[error("not supported: {0}")]
    Unsupported(String),
    #[error("signature field: {0}")]
    Field(String),
    #[error("the signature ({needed} bytes) does not fit the reserved space ({reserved} bytes)")]
    SignatureTooLarge { needed: usize, reserved: usize },
    #[error("the work on the PDF was stopped (the request was cancelled or ran out of time)")]
    Interrupted,
    #[error("page {0} does not exist (the document has {1} pages)")]
    NoSuchPage(usize, usize),
}

impl Error {
    pub(crate) fn malformed(msg: impl Into<String>) -> Self {
        Error::Malformed(msg.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
