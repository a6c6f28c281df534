//! What assigning, proving and opening signing keys can refuse.

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignersError {
    #[error(transparent)]
    Org(#[from] kyso_org::OrgError),
    #[error(transparent)]
    Store(#[from] kyso_store::StoreError),
    /// The request named something that is not one of the operator's sources.
    #[error("{0}")]
    UnknownSource(String),
    /// A file or library path (or a configuration file) arrived where only a source name may.
    #[error("keys are chosen among the sources the operator declared (hsm, provider, keystore); {0} is never accepted over the API")]
    PathNotAccepted(&'static str),
    #[error("the server's key store is not configured: the operator sets [keystore] kek_env in kyso.toml")]
    NoKeystore,
    /// The key or its certificate could not be opened (the message names the source, never a PIN).
    #[error("the key cannot be opened: {0}")]
    Unusable(String),
    /// The certificate does not belong to the person.
    #[error("the certificate does not belong to this person: {0}")]
    IdentityMismatch(String),
    #[error("the key did not prove possession of the certificate's private key: {0}")]
    ProofFailed(String),
    #[error("no signing key is set up for you: ask the administrator")]
    NoKey,
    #[error("your key has not been confirmed yet: confirm it once (it signs a challenge) before signing documents")]
    NotConfirmed,
    /// The key now presents another certificate than the one registered for the person.
    #[error(
        "the key now presents a different certificate ({found}) from the one registered ({registered}): signing refused until an administrator assigns it again"
    )]
    CertificateReplaced { registered: String, found: String },
    #[error("the stored key cannot be decrypted: the key-encryption key is wrong or the record was altered")]
    KeystoreCorrupt,
}

pub type Result<T, E = SignersError> = std::result::Result<T, E>;

impl From<sqlx::Error> for SignersError {
    fn from(e: sqlx::Error) -> Self {
        SignersError::Store(kyso_store::StoreError::Database(e))
    }
}
