#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Pdf(#[from] kyso_pdf::Error),
    #[error(transparent)]
    Key(#[from] kyso_keys::KeyError),
    #[error("ASN.1 encoding failed: {0}")]
    Asn1(#[from] der::Error),
    #[error("certificate: {0}")]
    Certificate(String),
    #[error("revocation: {0}")]
    Revocation(String),
    #[error("timestamp: {0}")]
    Timestamp(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
