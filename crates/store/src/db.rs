//! The database: one schema for SQLite (embedded default) and PostgreSQL, reached through sqlx's
//! `Any` driver. Only portable SQL is used: TEXT and BIGINT columns, `$n` parameters (SQLite
//! reads them positionally too), ids made by the application, times as Unix seconds.

use crate::error::Result;
use kyso_clock::Clock;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyConnection, AnyPool, Row, Transaction};
use std::sync::Arc;

/// The pool and the lock that serialises writes (SQLite has one writer; the audit chain needs
/// one order of appends on every backend). On SQLite the lock guards the newest audit entry too,
/// once read, so an append costs one statement instead of two (one process per SQLite file). On
/// PostgreSQL several processes may share the database: each write also takes a transaction-level
/// advisory lock and reads the head afresh.
pub struct Db {
    pub pool: AnyPool,
    writer: tokio::sync::Mutex<Option<AuditHead>>,
    pub backend: Backend,
    clock: Arc<dyn Clock>,
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
    now: i64,
}

impl WriteTx<'_> {
    /// The time this transaction began (from the database's clock): every row it writes uses it.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// The newest entry, this transaction's own appends included (read from the table once).
    pub async fn audit_head(&mut self) -> Result<Option<AuditHead>> {
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

    pub async fn commit(self) -> Result<()> {
        let WriteTx { tx, mut head, appended, .. } = self;
        if appended.is_some() {
            // If this future is dropped while the commit is in flight (a client that went away
            // drops its handler), the commit may still take effect: until it is known, the
            // cached head is not trusted, and the next writer reads it from the table.
            *head = None;
        }
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
                Err(e.into())
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

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl Db {
    /// Connects (creating a SQLite file when needed) and applies the migrations it lacks.
    pub async fn connect(url: &str, clock: Arc<dyn Clock>) -> Result<Db> {
        install_default_drivers();
        let backend = if url.starts_with("postgres") { Backend::Postgres } else { Backend::Sqlite };
        let url = if backend == Backend::Sqlite && !url.contains('?') { format!("{url}?mode=rwc") } else { url.to_string() };
        let pool = AnyPoolOptions::new().max_connections(if backend == Backend::Sqlite { 8 } else { 16 }).connect(&url).await?;
        if backend == Backend::Sqlite {
            // WAL: readers never wait for the writer (sqlx keeps synchronous=FULL: durable commits).
            sqlx::query("PRAGMA journal_mode=WAL").execute(&pool).await?;
        }
        crate::migrate::run(&pool, backend).await?;
        Ok(Db { pool, writer: tokio::sync::Mutex::new(None), backend, clock })
    }

    /// Takes the write lock (waiting for the writer before) and begins a transaction.
    pub async fn write(&self) -> Result<WriteTx<'_>> {
        let mut head = self.writer.lock().await;
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            // Several nodes may share one PostgreSQL database: writers queue on one advisory lock
            // (released at commit or rollback), and the audit head another node may have moved
            // is read again inside it. The in-process lock above keeps one node's writers from
            // all holding a connection while they wait.
            sqlx::query("SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock(7262026)) AS l").execute(&mut *tx).await?;
            *head = None;
        }
        Ok(WriteTx { tx, head, appended: None, now: self.clock.now() })
    }

    /// Takes the write lock for a single statement outside a transaction (no audit entry).
    pub async fn write_lock(&self) -> tokio::sync::MutexGuard<'_, Option<AuditHead>> {
        self.writer.lock().await
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

/// A fresh random id (128 bits, hex).
pub fn new_id() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the system random source works");
    crate::hex(&b)
}

/// Bind values for SQL built at run time: each value gets a numbered placeholder; only those
/// placeholders are ever formatted into the text.
#[derive(Default)]
pub struct Binds(Vec<BindValue>);

enum BindValue {
    Text(String),
    Int(i64),
}

impl Binds {
    pub fn push(&mut self, value: &str) -> String {
        self.0.push(BindValue::Text(value.to_string()));
        format!("${}", self.0.len())
    }

    pub fn push_int(&mut self, value: i64) -> String {
        self.0.push(BindValue::Int(value));
        format!("${}", self.0.len())
    }

    pub fn push_list<'a>(&mut self, values: impl IntoIterator<Item = &'a str>) -> String {
        values.into_iter().map(|v| self.push(v)).collect::<Vec<_>>().join(", ")
    }

    pub fn query(&self, sql: String) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments> {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for v in &self.0 {
            query = match v {
                BindValue::Text(s) => query.bind(s.as_str()),
                BindValue::Int(i) => query.bind(*i),
            };
        }
        query
    }
}
