//! `kyso-store`: what the service keeps and how. The database (SQLite by default, PostgreSQL for
//! districts) behind versioned migrations, content-addressed blobs on disk or in an
//! S3-compatible store, the hash-chained audit trail, idempotency claims, and the queue that
//! shares the processor fairly. It knows nothing of HTTP, organisations or documents.
#![forbid(unsafe_code)]

pub mod audit;
pub mod blobs;
pub mod cpu;
pub mod db;
mod error;
pub mod idempotency;
pub mod migrate;

pub use blobs::{BlobStore, Received};
pub use cpu::{CpuError, CpuQueue};
pub use db::{Backend, Binds, Db, WriteTx, new_id};
pub use error::{Result, StoreError};

use sha2::{Digest, Sha256};

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// A database URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// What every domain crate is given: the database, the blobs and the processor queue.
pub struct Store {
    pub db: Db,
    pub blobs: BlobStore,
    pub cpu: CpuQueue,
}

impl Store {
    pub fn now(&self) -> i64 {
        self.db.now()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(super::redact("postgres://kyso:s3cret@127.0.0.1/kyso"), "postgres://kyso:***@127.0.0.1/kyso");
        assert_eq!(super::redact("sqlite:///tmp/k.db"), "sqlite:///tmp/k.db");
    }
}
