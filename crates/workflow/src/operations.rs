//! Operations: approvals that wait for a signer's phone run in the background; their state is
//! kept here for polling. The result is stored as the edge renders it (opaque to this crate).

use crate::error::{Result, WorkflowError};
use kyso_store::{Store, new_id};
use sqlx::Row;

#[derive(Clone, Debug)]
pub struct Operation {
    pub id: String,
    pub kind: String,
    pub document_ids: Vec<String>,
    /// `pending`, `done` or `failed`.
    pub state: String,
    pub result: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// Records a pending operation for `owner`, refusing a second one on the same documents.
pub async fn start(store: &Store, owner: &str, kind: &str, documents: &[String]) -> Result<String> {
    let pending = sqlx::query("SELECT document_ids FROM operations WHERE owner = $1 AND state = 'pending'")
        .bind(owner)
        .fetch_all(&store.db.pool)
        .await?;
    for row in &pending {
        let ids: Vec<String> = serde_json::from_str(&row.try_get::<String, _>(0)?).unwrap_or_default();
        if ids.iter().any(|i| documents.contains(i)) {
            return Err(WorkflowError::AlreadyPending);
        }
    }
    let id = new_id();
    let _guard = store.db.write_lock().await;
    sqlx::query("INSERT INTO operations (id, owner, kind, document_ids, state, created_at) VALUES ($1, $2, $3, $4, 'pending', $5)")
        .bind(&id)
        .bind(owner)
        .bind(kind)
        .bind(serde_json::to_string(documents).map_err(|e| WorkflowError::internal("recording an operation", e))?)
        .bind(store.now())
        .execute(&store.db.pool)
        .await?;
    Ok(id)
}

/// Marks an operation `done` or `failed` with its result.
pub async fn finish(store: &Store, id: &str, succeeded: bool, result: &str) {
    let _guard = store.db.write_lock().await;
    let done = sqlx::query("UPDATE operations SET state = $1, result = $2, finished_at = $3 WHERE id = $4")
        .bind(if succeeded { "done" } else { "failed" })
        .bind(result)
        .bind(store.now())
        .bind(id)
        .execute(&store.db.pool)
        .await;
    if let Err(e) = done {
        tracing::error!(operation = id, error = %e, "cannot record the end of an operation");
    }
}

/// The operation, if `owner` started it.
pub async fn get(store: &Store, owner: &str, id: &str) -> Result<Operation> {
    let row = sqlx::query("SELECT owner, kind, document_ids, state, result, created_at, finished_at FROM operations WHERE id = $1")
        .bind(id)
        .fetch_optional(&store.db.pool)
        .await?
        .filter(|r| r.try_get::<String, _>(0).ok().as_deref() == Some(owner))
        .ok_or(WorkflowError::NotFound("operation"))?;
    Ok(Operation {
        id: id.to_string(),
        kind: row.try_get(1)?,
        document_ids: serde_json::from_str(&row.try_get::<String, _>(2)?).unwrap_or_default(),
        state: row.try_get(3)?,
        result: row.try_get(4)?,
        created_at: row.try_get(5)?,
        finished_at: row.try_get(6)?,
    })
}

/// At start: operations left pending by a process that stopped did not survive it (nothing of
/// theirs was committed); `result` says so in the edge's words.
pub async fn interrupt_pending(store: &Store, result: &str) -> Result<u64> {
    Ok(sqlx::query("UPDATE operations SET state = 'failed', result = $1, finished_at = $2 WHERE state = 'pending'")
        .bind(result)
        .bind(store.now())
        .execute(&store.db.pool)
        .await?
        .rows_affected())
}
