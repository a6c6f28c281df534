//! The database: one schema for SQLite (embedded default) and PostgreSQL, reached through sqlx's
//! `Any` driver. Only portable SQL is used: TEXT and BIGINT columns, `$n` parameters (SQLite
//! reads them positionally too), ids made by the application, times as Unix seconds.

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyConnection, AnyPool, Row, Transaction};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS orgs (
    id TEXT PRIMARY KEY,
    parent_id TEXT,
    level TEXT NOT NULL,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    full_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    key_spec TEXT
);
CREATE TABLE IF NOT EXISTS memberships (
    user_id TEXT NOT NULL,
    org_id TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (user_id, org_id, role)
);
CREATE TABLE IF NOT EXISTS delegations (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    role TEXT NOT NULL,
    from_user TEXT NOT NULL,
    to_user TEXT NOT NULL,
    valid_until BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    org_id TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS templates (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    stages TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    submitter_id TEXT NOT NULL,
    template_id TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    current_version BIGINT NOT NULL,
    return_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    document_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    original_sha256 TEXT NOT NULL,
    current_sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (document_id, version)
);
CREATE TABLE IF NOT EXISTS steps (
    document_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    field TEXT NOT NULL,
    stage BIGINT NOT NULL,
    stage_name TEXT NOT NULL,
    org_id TEXT NOT NULL,
    role TEXT NOT NULL,
    assignee_id TEXT,
    allow_repeat BIGINT NOT NULL,
    deadline BIGINT NOT NULL,
    signed_by TEXT,
    on_behalf_of TEXT,
    signed_at BIGINT,
    PRIMARY KEY (document_id, version, field)
);
CREATE TABLE IF NOT EXISTS idempotency (
    owner TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    status BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (owner, idem_key)
);
CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    kind TEXT NOT NULL,
    document_ids TEXT NOT NULL,
    state TEXT NOT NULL,
    result TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE TABLE IF NOT EXISTS audit (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    document_id TEXT,
    org_id TEXT,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
)
"#;

/// The pool and the lock that serialises writes (SQLite has one writer; the audit chain needs
/// one order of appends on every backend). The lock guards the newest audit entry too, once read,
/// so an append costs one statement instead of two. One `kyso serve` process per database: the
/// lock and that memory are the process's.
pub struct Db {
    pub pool: AnyPool,
    writer: tokio::sync::Mutex<Option<AuditHead>>,
    pub backend: Backend,
}

/// The newest audit entry: the next one's `seq - 1` and `prev_hash`.
#[derive(Clone, Debug)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
}

/// A write transaction holding the write lock. Derefs to the connection, for `execute(&mut *tx)`.
/// Dropped without [`WriteTx::commit`], it rolls back and leaves the known audit head as it was.
pub struct WriteTx<'a> {
    tx: Transaction<'static, Any>,
    head: tokio::sync::MutexGuard<'a, Option<AuditHead>>,
    /// The head after this transaction's appends, known once it commits.
    appended: Option<AuditHead>,
}

impl WriteTx<'_> {
    /// The newest entry, this transaction's own appends included (read from the table once).
    pub async fn audit_head(&mut self) -> Result<Option<AuditHead>, sqlx::Error> {
        if let Some(a) = &self.appended {
            return Ok(Some(a.clone()));
        }
        if self.head.is_none() {
            let last = sqlx::query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetch_optional(&mut *self.tx).await?;
            *self.head = last.map(|r| Ok::<_, sqlx::Error>(AuditHead { seq: r.try_get(0)?, hash: r.try_get(1)? })).transpose()?;
        }
        Ok(self.head.clone())
    }

    /// Records that this transaction appended the entry `head`.
    pub fn appended(&mut self, head: AuditHead) {
        self.appended = Some(head);
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        let WriteTx { tx, mut head, appended } = self;
        match tx.commit().await {
            Ok(()) => {
                if appended.is_some() {
                    *head = appended;
                }
                Ok(())
            }
            Err(e) => {
                // Whether the commit took effect is unknown: read the head again next time.
                *head = None;
                Err(e)
            }
        }
    }
}

impl std::ops::Deref for WriteTx<'_> {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Db {
    /// Connects (creating a SQLite file when needed) and creates missing tables.
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        install_default_drivers();
        let backend = if url.starts_with("postgres") { Backend::Postgres } else { Backend::Sqlite };
        let url = if backend == Backend::Sqlite && !url.contains('?') { format!("{url}?mode=rwc") } else { url.to_string() };
        let pool = AnyPoolOptions::new().max_connections(if backend == Backend::Sqlite { 8 } else { 16 }).connect(&url).await?;
        if backend == Backend::Sqlite {
            // WAL: readers never wait for the writer (sqlx keeps synchronous=FULL: durable commits).
            sqlx::query("PRAGMA journal_mode=WAL").execute(&pool).await?;
        }
        for statement in SCHEMA.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            sqlx::query(statement).execute(&pool).await?;
        }
        Ok(Db { pool, writer: tokio::sync::Mutex::new(None), backend })
    }

    /// Takes the write lock (waiting for the writer before) and begins a transaction.
    pub async fn write(&self) -> Result<WriteTx<'_>, sqlx::Error> {
        let head = self.writer.lock().await;
        let tx = self.pool.begin().await?;
        Ok(WriteTx { tx, head, appended: None })
    }

    /// Takes the write lock for a single statement outside a transaction (no audit entry).
    pub async fn write_lock(&self) -> tokio::sync::MutexGuard<'_, Option<AuditHead>> {
        self.writer.lock().await
    }
}

/// A fresh random id (128 bits, hex).
pub fn new_id() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the system random source works");
    crate::blobs::hex(&b)
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// An organisation of the tree.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Org {
    pub id: String,
    pub parent_id: Option<String>,
    pub level: String,
    pub name: String,
}

pub async fn all_orgs(pool: &AnyPool) -> Result<Vec<Org>, sqlx::Error> {
    let rows = sqlx::query("SELECT id, parent_id, level, name FROM orgs ORDER BY name").fetch_all(pool).await?;
    rows.iter().map(|r| Ok(Org { id: r.try_get(0)?, parent_id: r.try_get(1)?, level: r.try_get(2)?, name: r.try_get(3)? })).collect()
}

/// The organisation tree in memory (small: a district has hundreds of units).
pub struct OrgTree {
    pub orgs: Vec<Org>,
}

impl OrgTree {
    pub async fn load(pool: &AnyPool) -> Result<OrgTree, sqlx::Error> {
        Ok(OrgTree { orgs: all_orgs(pool).await? })
    }

    pub fn get(&self, id: &str) -> Option<&Org> {
        self.orgs.iter().find(|o| o.id == id)
    }

    /// `id` and its ancestors, nearest first (bounded: a cycle in the data cannot loop).
    pub fn ancestors_or_self(&self, id: &str) -> Vec<&Org> {
        let mut out = Vec::new();
        let mut cur = self.get(id);
        while let Some(o) = cur {
            if out.len() > 64 || out.iter().any(|x: &&Org| x.id == o.id) {
                break;
            }
            out.push(o);
            cur = o.parent_id.as_deref().and_then(|p| self.get(p));
        }
        out
    }

    /// Whether `ancestor` is `id` or above it.
    pub fn is_within(&self, id: &str, ancestor: &str) -> bool {
        self.ancestors_or_self(id).iter().any(|o| o.id == ancestor)
    }
}
