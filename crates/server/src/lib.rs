//! `kyso-server`: the HTTP edge of Kyso. `app(state)` is the router: the REST API (`api/`, one
//! file per resource) and, beside it, the web pages; both are thin layers over the domain crates
//! (`kyso-org`, `kyso-workflow`, `kyso-signers`, `kyso-store`), which know no HTTP. This crate
//! maps outcomes to statuses and bilingual messages in one place (`http::error`) and adds the
//! security layer every answer passes through.
#![forbid(unsafe_code)]

pub mod api;
#[cfg(feature = "demo")]
pub mod demo;
#[cfg(feature = "demo")]
mod demo_library;
#[cfg(feature = "demo")]
mod demo_records;
pub mod http;
pub mod web;

use kyso_clock::{Clock, SystemClock};
use kyso_store::{BlobStore, CpuQueue, Db, Store, redact};
use kyso_workflow::{Cancel, Workflow};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How the server is set up (`kyso serve` flags).
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    /// Blobs, the default SQLite database and the demo's key store live here.
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
    /// `s3://BUCKET`: keep blobs in an S3-compatible store (AWS_* variables configure it).
    pub blob_store: Option<String>,
    /// The operator's `kyso.toml`: key sources (HSM tokens, providers, the key store).
    pub key_config: Option<PathBuf>,
    /// CRL files for signing-time checks and long-term data where the CA cannot be reached.
    pub crl_files: Vec<PathBuf>,
    /// How long a validation may run before it is stopped.
    pub work_deadline: Duration,
    /// Give every finished chain its long-term validation data (a DSS: PAdES B-LT).
    pub long_term_data: bool,
    /// Cookies get `Secure` (the server is behind TLS).
    pub secure_cookies: bool,
    /// The demo: its key store's key in the data folder, the test PKI's root trusted and its
    /// CRLs used (needs the `demo` feature).
    pub demo: bool,
    /// With the demo: a second subject group whose lesson plans stand in several states, so the
    /// records dashboard shows every status (off in tests that count documents and signatures).
    pub demo_samples: bool,
}

impl Config {
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("kyso.db").display()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("seeding the register catalogue: {0}")]
    Catalogue(String),
    #[error("database {url}: {source}")]
    Database { url: String, source: kyso_store::StoreError },
    #[error("data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("trust anchor {path}: {message}")]
    TrustAnchor { path: PathBuf, message: String },
    #[error("CRL file {path}: {message}")]
    Crl { path: PathBuf, message: String },
    #[error("key configuration: {0}")]
    KeyConfig(String),
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
    pub store: Arc<Store>,
    pub workflow: Arc<Workflow>,
    pub config: Config,
    pub trust_anchors: Vec<x509_cert::Certificate>,
    pub throttle: kyso_org::auth::Throttle,
    /// Set when the server is asked to stop: long work in progress stops at its next check.
    pub shutdown: Cancel,
    /// CRLs the validator may use where the network gives no answer: the operator's, and the
    /// demo's test CRLs (which the signing-time check does not use: the demo shows its warning).
    pub verify_crls: kyso_ltv::LocalCrls,
    /// Reports of the web's recent verifications, for their pages and downloads.
    pub reports: web::verify::ReportCache,
}

impl AppState {
    pub async fn open(config: Config) -> Result<Arc<AppState>, ServeError> {
        Self::open_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn open_with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<Arc<AppState>, ServeError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| ServeError::DataDir { path: config.data_dir.clone(), source })?;
        let url = config.database_url();
        let db = Db::connect(&url, clock).await.map_err(|source| ServeError::Database { url: redact(&url), source })?;
        let mut blobs = BlobStore::open(config.data_dir.join("blobs"))
            .map_err(|source| ServeError::DataDir { path: config.data_dir.join("blobs"), source })?;
        if let Some(spec) = &config.blob_store {
            let bucket =
                spec.strip_prefix("s3://").ok_or_else(|| ServeError::BlobStore(format!("{spec}: only s3://BUCKET is supported")))?;
            blobs = blobs.with_s3(bucket.trim_end_matches('/')).map_err(ServeError::BlobStore)?;
        }
        let store = Arc::new(Store { db, blobs, cpu: CpuQueue::for_this_machine() });
        let interrupted = crate::api::operations::interrupted_result().to_string();
        kyso_workflow::operations::interrupt_pending(&store, &interrupted).await.map_err(|e| ServeError::Demo(e.to_string()))?;
        kyso_store::idempotency::release_abandoned(&store.db).await.map_err(|source| ServeError::Database { url: redact(&url), source })?;
        kyso_records::catalogue::seed(&store).await.map_err(|e| ServeError::Catalogue(e.to_string()))?;
        let mut trust_anchors = Vec::new();
        for path in &config.trust_anchors {
            let bytes = std::fs::read(path).map_err(|e| ServeError::TrustAnchor { path: path.clone(), message: e.to_string() })?;
            trust_anchors.extend(
                kyso_pades::certinfo::parse_certificates(&bytes)
                    .map_err(|e| ServeError::TrustAnchor { path: path.clone(), message: e.to_string() })?,
            );
        }
        let mut crls = Vec::new();
        for path in &config.crl_files {
            crls.push(std::fs::read(path).map_err(|e| ServeError::Crl { path: path.clone(), message: e.to_string() })?);
        }
        #[allow(unused_mut)]
        let mut verify_crls = crls.clone();
        #[cfg(feature = "demo")]
        if config.demo {
            verify_crls.extend(demo::CRLS.iter().map(|c| c.to_vec()));
            trust_anchors
                .extend(kyso_pades::certinfo::parse_certificates(demo::ROOT.as_bytes()).map_err(|e| ServeError::Demo(e.to_string()))?);
        }
        #[allow(unused_mut)]
        let (key_config, mut kek) = match &config.key_config {
            Some(path) => {
                let c = kyso_keyring::config::Config::load(path).map_err(|e| ServeError::KeyConfig(format!("{e:#}")))?;
                let kek = c.keystore.as_ref().map(|k| k.key()).transpose().map_err(|e| ServeError::KeyConfig(format!("{e:#}")))?;
                (c, kek)
            }
            None => (kyso_keyring::config::Config::default(), None),
        };
        #[cfg(feature = "demo")]
        if config.demo && kek.is_none() {
            kek = Some(demo::kek(&config.data_dir).map_err(|source| ServeError::DataDir { path: config.data_dir.clone(), source })?);
        }
        let signers = Arc::new(kyso_signers::Registry::new(key_config, kek));
        let gate =
            Arc::new(kyso_ltv::RevocationGate::new(kyso_ltv::LocalCrls::new(crls), config.require_revocation, Duration::from_secs(10)));
        let workflow = Workflow::new(store.clone(), signers, gate, config.long_term_data);
        Ok(Arc::new(AppState {
            store,
            workflow,
            config,
            trust_anchors,
            throttle: Default::default(),
            shutdown: Cancel::default(),
            verify_crls: kyso_ltv::LocalCrls::new(verify_crls),
            reports: Default::default(),
        }))
    }
}

/// The router: the REST API and the web pages, behind the security layer.
pub fn app(state: Arc<AppState>) -> axum::Router {
    axum::Router::new()
        .merge(api::routes())
        .merge(web::routes())
        .fallback(http::security::not_found)
        .method_not_allowed_fallback(http::security::method_not_allowed)
        // JSON bodies are small; uploads stream past this limit with their own (see `Upload`).
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .layer(axum::middleware::from_fn(http::security::layer))
        .with_state(state)
}

fn demo_password() -> &'static str {
    #[cfg(feature = "demo")]
    return demo::PASSWORD;
    #[cfg(not(feature = "demo"))]
    return "";
}

/// Runs the server until Ctrl-C or SIGTERM. With `demo`, seeds an empty database first.
pub async fn serve(config: Config, demo: bool) -> Result<(), ServeError> {
    let state = AppState::open(config).await?;
    if demo {
        #[cfg(feature = "demo")]
        demo::seed(&state).await.map_err(|e| ServeError::Demo(e.to_string()))?;
        #[cfg(not(feature = "demo"))]
        return Err(ServeError::Demo("this build has no demo data (build kyso-cli with its default `demo` feature)".into()));
    }
    let addr = state.config.listen;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| ServeError::Listen { addr, source })?;
    let local = listener.local_addr()?;
    tracing::info!(address = %local, database = %redact(&state.config.database_url()), "kyso serve listening");
    // Tests and scripts read this line to find a port chosen by the system (--listen 127.0.0.1:0).
    // A reader that closes the pipe after this line must not stop the server: write errors are ignored.
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{local}");
        if state.config.demo {
            let _ = writeln!(
                out,
                "open http://{local}/ in a browser: log in as huong (teacher), bao, minh, ha or kiemdinh, password {}",
                demo_password()
            );
        }
        let _ = out.flush();
    }
    let shutdown = state.shutdown.clone();
    let server = axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(async move {
        shutdown_signal().await;
        // Work in progress stops at its next check; connections get a few seconds to finish.
        shutdown.cancel();
    });
    let stopping = state_shutdown_watch();
    tokio::select! {
        r = server => r?,
        _ = stopping => tracing::warn!("connections did not finish in time; stopping anyway"),
    }
    Ok(())
}

/// Resolves a fixed time after the shutdown signal: the bound on a graceful stop.
async fn state_shutdown_watch() {
    shutdown_signal().await;
    tokio::time::sleep(Duration::from_secs(10)).await;
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
    let rt = runtime()?;
    let result = rt.block_on(serve(config, demo));
    // Work still running on blocking threads (a phone that never answers) does not hold the
    // process: it stopped accepting work, and what was not committed is not lost (operations
    // left pending are marked interrupted at the next start).
    rt.shutdown_timeout(Duration::from_secs(5));
    result
}
