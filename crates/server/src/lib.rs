//! `kyso-server`: the signing service. Organisations as a tree, people with roles, approval chains
//! from templates, documents with versions, REST over axum, SQLite or PostgreSQL, content-addressed
//! blobs on disk and a hash-chained audit trail. This is the only crate that knows HTTP.
//!
//! Async at the edge, blocking in the middle: handlers read and write the database; the PDF and
//! key work (files, HSM calls, remote providers) runs on tokio's blocking pool.
#![forbid(unsafe_code)]

pub mod api;
pub mod audit;
pub mod auth;
pub mod blobs;
pub mod clock;
pub mod db;
pub mod demo;
pub mod error;
pub mod signing;
pub mod workflow;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// How the server is set up (`kyso serve` flags).
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    /// Blobs, the default SQLite database and demo keys live here.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; default: SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Trust anchors for `/verify` (PEM files).
    pub trust_anchors: Vec<PathBuf>,
    pub session_ttl_secs: i64,
    pub max_upload_bytes: usize,
    /// Refuse to sign when the signer's revocation status cannot be checked (otherwise: a
    /// warning in the log and the audit entry).
    pub require_revocation: bool,
    /// `s3://BUCKET`: keep blobs in an S3-compatible store (AWS_* variables configure it); the
    /// data folder is then a cache.
    pub blob_store: Option<String>,
}

impl Config {
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("kyso.db").display()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("database {url}: {source}")]
    Database { url: String, source: sqlx::Error },
    #[error("data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("trust anchor {path}: {message}")]
    TrustAnchor { path: PathBuf, message: String },
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("blob store: {0}")]
    BlobStore(String),
    #[error("demo data: {0}")]
    Demo(String),
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// What every handler shares.
pub struct AppState {
    pub db: db::Db,
    pub blobs: blobs::BlobStore,
    pub config: Config,
    pub trust_anchors: Vec<x509_cert::Certificate>,
    /// Opened signing keys by user id: a token login or a key parse happens once.
    pub keys: Mutex<HashMap<String, Arc<signing::SignerKey>>>,
    /// Striped per-document locks: one signature at a time per document, in this process. Many
    /// stripes, so that unrelated documents rarely share one (with 64, fifty signatures in flight
    /// collided half the time and waited for each other).
    pub document_locks: Vec<tokio::sync::Mutex<()>>,
    /// Signing-time OCSP/CRL answers, kept as long as they hold.
    pub revocation: kyso_ltv::RevocationCache,
    /// One permit per core for CPU-bound work (signing with a local key, validation, password
    /// hashing); see [`AppState::run_cpu`].
    cpu_slots: tokio::sync::Semaphore,
    /// Signatures waiting to be committed together.
    pub(crate) signature_queue: api::SignatureQueue,
}

impl AppState {
    pub async fn open(config: Config) -> Result<Arc<AppState>, ServeError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| ServeError::DataDir { path: config.data_dir.clone(), source })?;
        let url = config.database_url();
        let db = db::Db::connect(&url).await.map_err(|source| ServeError::Database { url: redact(&url), source })?;
        // Asynchronous approvals do not survive a restart; nothing of theirs was committed.
        let interrupted = serde_json::json!({"error": {"code": "interrupted", "message": "the server restarted before the signature was confirmed; nothing was signed: approve again", "message_vi": "máy chủ khởi động lại trước khi chữ ký được xác nhận; chưa ký gì: hãy phê duyệt lại"}});
        sqlx::query("UPDATE operations SET state = 'failed', result = $1, finished_at = $2 WHERE state = 'pending'")
            .bind(interrupted.to_string())
            .bind(db::now())
            .execute(&db.pool)
            .await
            .map_err(|source| ServeError::Database { url: redact(&url), source })?;
        let mut blobs = blobs::BlobStore::open(config.data_dir.join("blobs"))
            .map_err(|source| ServeError::DataDir { path: config.data_dir.join("blobs"), source })?;
        if let Some(spec) = &config.blob_store {
            let bucket =
                spec.strip_prefix("s3://").ok_or_else(|| ServeError::BlobStore(format!("{spec}: only s3://BUCKET is supported")))?;
            blobs = blobs.with_remote(blobs::s3_from_env(bucket.trim_end_matches('/')).map_err(ServeError::BlobStore)?);
        }
        let mut trust_anchors = Vec::new();
        for path in &config.trust_anchors {
            let bytes = std::fs::read(path).map_err(|e| ServeError::TrustAnchor { path: path.clone(), message: e.to_string() })?;
            trust_anchors.extend(
                kyso_pades::certinfo::parse_certificates(&bytes)
                    .map_err(|e| ServeError::TrustAnchor { path: path.clone(), message: e.to_string() })?,
            );
        }
        Ok(Arc::new(AppState {
            db,
            blobs,
            config,
            trust_anchors,
            keys: Mutex::new(HashMap::new()),
            document_locks: (0..4096).map(|_| tokio::sync::Mutex::new(())).collect(),
            revocation: kyso_ltv::RevocationCache::new(std::time::Duration::from_secs(3600)),
            signature_queue: Default::default(),
            cpu_slots: tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
        }))
    }

    /// Runs CPU-bound work on the blocking pool, at most one job per core at a time. Fifty
    /// signatures computed at once would share the cores round-robin with the database writer
    /// and stretch every commit (which holds the write lock) fiftyfold; queued here instead, the
    /// writer gets a core when it needs one. Work that waits on a person or the network (a
    /// remote key) does not belong here.
    pub async fn run_cpu<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, tokio::task::JoinError> {
        let _permit = self.cpu_slots.acquire().await.expect("the CPU semaphore is never closed");
        tokio::task::spawn_blocking(work).await
    }

    pub fn document_lock_index(&self, document_id: &str) -> usize {
        document_id.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize)) % self.document_locks.len()
    }
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

/// Runs the server until Ctrl-C or SIGTERM. With `demo`, seeds an empty database first.
pub async fn serve(config: Config, demo: bool) -> Result<(), ServeError> {
    let state = AppState::open(config).await?;
    if demo {
        demo::seed(&state).await.map_err(|e| ServeError::Demo(e.to_string()))?;
    }
    let addr = state.config.listen;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| ServeError::Listen { addr, source })?;
    let local = listener.local_addr()?;
    tracing::info!(address = %local, database = %redact(&state.config.database_url()), "kyso serve listening");
    // Tests and scripts read this line to find a port chosen by the system (--listen 127.0.0.1:0).
    println!("listening on http://{local}");
    axum::serve(listener, api::router(state)).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Structured logs on stderr (`RUST_LOG` filters; `KYSO_LOG_FORMAT=json` for JSON lines).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    let _ = if std::env::var("KYSO_LOG_FORMAT").as_deref() == Ok("json") { builder.json().try_init() } else { builder.try_init() };
}

fn runtime() -> Result<tokio::runtime::Runtime, ServeError> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// [`serve`] on a runtime of its own, for the `kyso` binary.
pub fn serve_blocking(config: Config, demo: bool) -> Result<(), ServeError> {
    init_logging();
    runtime()?.block_on(serve(config, demo))
}

/// `kyso audit verify`: checks the hash chain of the audit trail.
pub fn audit_verify_blocking(database_url: &str, checkpoints: &[audit::Checkpoint]) -> Result<audit::Verdict, ServeError> {
    runtime()?.block_on(async {
        let db = db::Db::connect(database_url).await.map_err(|source| ServeError::Database { url: redact(database_url), source })?;
        audit::verify_with_checkpoints(&db.pool, checkpoints)
            .await
            .map_err(|source| ServeError::Database { url: redact(database_url), source })
    })
}

/// `kyso audit export`: every entry as one JSON line, in order, for auditors to keep. Returns
/// the last entry as a checkpoint (none for an empty trail).
pub fn audit_export_blocking(database_url: &str, out: &mut dyn std::io::Write) -> Result<Option<audit::Checkpoint>, ServeError> {
    runtime()?.block_on(async {
        let db = db::Db::connect(database_url).await.map_err(|source| ServeError::Database { url: redact(database_url), source })?;
        let mut last_entry: Option<audit::Checkpoint> = None;
        loop {
            let after = last_entry.as_ref().map_or(0, |c| c.seq);
            let page =
                audit::entries(&db.pool, after, 1000).await.map_err(|source| ServeError::Database { url: redact(database_url), source })?;
            let Some(last) = page.last() else { return Ok(last_entry) };
            last_entry = Some(audit::Checkpoint { seq: last.seq, hash: last.hash.clone() });
            for e in &page {
                writeln!(out, "{}", serde_json::to_string(e).expect("audit entries serialise"))?;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(super::redact("postgres://kyso:s3cret@127.0.0.1/kyso"), "postgres://kyso:***@127.0.0.1/kyso");
        assert_eq!(super::redact("sqlite:///tmp/k.db"), "sqlite:///tmp/k.db");
    }
}
