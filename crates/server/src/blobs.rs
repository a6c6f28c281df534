//! Content-addressed blobs: `ROOT/ab/abcdef…` named by the SHA-256 of the bytes, on local disk,
//! and optionally in an S3-compatible object store (`object_store`) where the local folder is a
//! working cache. A blob is written to a temporary file, synced and renamed into place (and
//! uploaded) before any database row names it, so a crash leaves at worst an unreferenced blob,
//! never a row without its bytes. A blob fetched back from the store is checked against its
//! name before use.

use object_store::ObjectStoreExt;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

#[derive(Clone)]
pub struct BlobStore {
    root: PathBuf,
    /// The durable copy, when configured (S3-compatible); the local folder is then a cache.
    remote: Option<std::sync::Arc<dyn object_store::ObjectStore>>,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStore").field("root", &self.root).field("remote", &self.remote.as_ref().map(|r| r.to_string())).finish()
    }
}

/// An S3-compatible store for bucket `bucket`, configured from the standard AWS_* environment
/// variables (AWS_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ALLOW_HTTP).
pub fn s3_from_env(bucket: &str) -> Result<std::sync::Arc<dyn object_store::ObjectStore>, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .build()
        .map(|s| std::sync::Arc::new(s) as std::sync::Arc<dyn object_store::ObjectStore>)
        .map_err(|e| e.to_string())
}

fn remote_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("object store: {e}"))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl BlobStore {
    /// Opens (creating) the store. Temporary files left by a process that was killed are
    /// removed: no row can name them, as a blob is renamed into place before any row is written.
    /// Only one server process may use a data folder at a time.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        let tmp = root.join("tmp");
        std::fs::create_dir_all(&tmp)?;
        for entry in std::fs::read_dir(&tmp)? {
            let _ = std::fs::remove_file(entry?.path());
        }
        Ok(BlobStore { root, remote: None })
    }

    /// Keeps every blob in `remote` too; the local folder becomes a cache. Blocking calls to the
    /// store run on the current tokio runtime: use this store from blocking threads
    /// (`spawn_blocking`), as the server does.
    pub fn with_remote(mut self, remote: std::sync::Arc<dyn object_store::ObjectStore>) -> Self {
        self.remote = Some(remote);
        self
    }

    /// Makes sure the blob is in the local folder (fetching and checking it from the store).
    fn ensure_local(&self, sha256: &str) -> io::Result<PathBuf> {
        let path = self.path(sha256)?;
        if path.exists() {
            return Ok(path);
        }
        let Some(remote) = &self.remote else { return Ok(path) };
        let rt = tokio::runtime::Handle::try_current().map_err(remote_error)?;
        let bytes =
            rt.block_on(async { remote.get(&object_store::path::Path::from(sha256)).await?.bytes().await }).map_err(remote_error)?;
        if sha256_hex(&bytes) != sha256 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("the stored blob {sha256} does not hash to its name")));
        }
        let mut tmp = self.temp()?;
        tmp.write_all(&bytes)?;
        tmp.as_file_mut().sync_all()?;
        let dir = path.parent().expect("blob paths have a directory");
        std::fs::create_dir_all(dir)?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(path)
    }

    pub fn path(&self, sha256: &str) -> io::Result<PathBuf> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a SHA-256 blob name"));
        }
        Ok(self.root.join(&sha256[..2]).join(sha256))
    }

    pub fn open_blob(&self, sha256: &str) -> io::Result<File> {
        File::open(self.ensure_local(sha256)?)
    }

    pub fn read(&self, sha256: &str) -> io::Result<Vec<u8>> {
        std::fs::read(self.ensure_local(sha256)?)
    }

    /// A temporary file in the store's own file system, for [`BlobStore::commit`].
    pub fn temp(&self) -> io::Result<tempfile::NamedTempFile> {
        tempfile::NamedTempFile::new_in(self.root.join("tmp"))
    }

    /// Stores `bytes`; returns their SHA-256 (hex).
    pub fn put(&self, bytes: &[u8]) -> io::Result<String> {
        let mut tmp = self.temp()?;
        tmp.write_all(bytes)?;
        self.commit(tmp)
    }

    /// Hashes a finished temporary file (streaming), syncs it and renames it to its address.
    pub fn commit(&self, mut tmp: tempfile::NamedTempFile) -> io::Result<String> {
        tmp.as_file_mut().sync_all()?;
        let mut reader = File::open(tmp.path())?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let name = hex(&hasher.finalize());
        let target = self.path(&name)?;
        let dir = target.parent().expect("blob paths have a directory");
        std::fs::create_dir_all(dir)?;
        if !target.exists() {
            tmp.persist(&target).map_err(|e| e.error)?;
            sync_dir(dir)?;
        }
        if let Some(remote) = &self.remote {
            // Durable in the store before any row names it.
            let rt = tokio::runtime::Handle::try_current().map_err(remote_error)?;
            let bytes = std::fs::read(&target)?;
            rt.block_on(remote.put(&object_store::path::Path::from(name.as_str()), bytes.into())).map_err(remote_error)?;
        }
        Ok(name)
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_is_content_addressed_and_rejects_odd_names() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let a = store.put(b"hello").unwrap();
        assert_eq!(a, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(store.put(b"hello").unwrap(), a);
        assert_eq!(store.read(&a).unwrap(), b"hello");
        assert!(store.path("../../etc/passwd").is_err());
        assert!(store.read(&"0".repeat(64)).is_err());
        // Nothing left behind in tmp/.
        assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }
}
