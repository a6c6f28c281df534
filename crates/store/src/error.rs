//! The storage layer's one error type. Messages name what was being done; the cause stays
//! attached (the HTTP edge logs it and answers with a plain sentence).

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration {version} ({name}): {source}")]
    Migration { version: i64, name: &'static str, source: sqlx::Error },
    #[error(
        "the database was changed by a newer Kyso (migration {version} is not known to this version): upgrade Kyso or use another database"
    )]
    NewerSchema { version: i64 },
    #[error("migration {version} ({name}) was changed after it was applied: its checksum differs")]
    MigrationChanged { version: i64, name: String },
    #[error("blob storage: {0}")]
    Blob(#[from] std::io::Error),
    #[error("the upload is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("stored data is not what was written: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the database refused a row because a unique index already holds its key (the
    /// guard that keeps two racing writers, on one node or several, from both succeeding).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
