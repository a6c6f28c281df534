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

use crate::{hex, sha256_hex};

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

    /// Keeps every blob in the S3-compatible bucket `bucket` too (AWS_* variables configure the
    /// endpoint and credentials).
    pub fn with_s3(self, bucket: &str) -> Result<Self, String> {
        Ok(self.with_remote(s3_from_env(bucket)?))
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

    /// Starts receiving an upload of at most `limit` bytes: hashed and counted as it arrives,
    /// never held in memory whole, refused the moment it passes the limit.
    pub fn receive(&self, limit: u64) -> io::Result<Incoming> {
        Ok(Incoming { tmp: self.temp()?, hasher: Sha256::new(), len: 0, limit })
    }

    /// Hashes a finished temporary file (streaming), syncs it and renames it to its address.
    pub fn commit(&self, tmp: tempfile::NamedTempFile) -> io::Result<String> {
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
        self.commit_named(tmp, hex(&hasher.finalize()))
    }

    /// Makes a received upload a blob (synced, renamed, uploaded when a remote store is set).
    pub fn commit_received(&self, received: Received) -> io::Result<String> {
        self.commit_named(received.tmp, received.sha256)
    }

    /// Deletes a blob, locally and in the remote store. Only the records archive's disposal
    /// (after a signed disposal record) and the clean-up of an upload whose row was never
    /// written call this.
    pub fn remove(&self, sha256: &str) -> io::Result<()> {
        let path = self.path(sha256)?;
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        if let Some(remote) = &self.remote {
            let rt = tokio::runtime::Handle::try_current().map_err(remote_error)?;
            match rt.block_on(remote.delete(&object_store::path::Path::from(sha256))) {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(remote_error(e)),
            }
        }
        Ok(())
    }

    /// Whether the blob exists (locally or in the remote store).
    pub fn exists(&self, sha256: &str) -> io::Result<bool> {
        if self.path(sha256)?.exists() {
            return Ok(true);
        }
        let Some(remote) = &self.remote else { return Ok(false) };
        let rt = tokio::runtime::Handle::try_current().map_err(remote_error)?;
        match rt.block_on(remote.head(&object_store::path::Path::from(sha256))) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(remote_error(e)),
        }
    }

    fn commit_named(&self, mut tmp: tempfile::NamedTempFile, name: String) -> io::Result<String> {
        tmp.as_file_mut().sync_all()?;
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

/// An upload being received (see [`BlobStore::receive`]).
pub struct Incoming {
    tmp: tempfile::NamedTempFile,
    hasher: Sha256,
    len: u64,
    limit: u64,
}

impl Incoming {
    /// Appends a chunk; refuses it (the partial file is dropped with `self`) past the limit.
    pub fn write(&mut self, chunk: &[u8]) -> crate::Result<()> {
        self.len += chunk.len() as u64;
        if self.len > self.limit {
            return Err(crate::StoreError::TooLarge { limit: self.limit });
        }
        self.hasher.update(chunk);
        self.tmp.write_all(chunk)?;
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<Received> {
        self.tmp.flush()?;
        Ok(Received { tmp: self.tmp, sha256: hex(&self.hasher.finalize()), len: self.len })
    }
}

/// A complete upload in a temporary file of the store: not yet a blob (nothing names it, and a
/// restart removes it), until [`BlobStore::commit_received`].
pub struct Received {
    pub tmp: tempfile::NamedTempFile,
    pub sha256: String,
    pub len: u64,
}

impl Received {
    /// A fresh read handle on the received bytes.
    pub fn open(&self) -> io::Result<File> {
        File::open(self.tmp.path())
    }
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

    #[test]
    fn uploads_are_hashed_as_they_arrive_and_refused_past_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let mut incoming = store.receive(8).unwrap();
        incoming.write(b"hel").unwrap();
        incoming.write(b"lo").unwrap();
        let received = incoming.finish().unwrap();
        assert_eq!((received.len, received.sha256.as_str()), (5, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"));
        let name = store.commit_received(received).unwrap();
        assert_eq!(store.read(&name).unwrap(), b"hello");
        let mut big = store.receive(4).unwrap();
        assert!(matches!(big.write(b"12345"), Err(crate::StoreError::TooLarge { limit: 4 })));
        drop(big);
        assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0, "the refused upload left nothing");
        store.remove(&name).unwrap();
        assert!(!store.exists(&name).unwrap());
    }
}
