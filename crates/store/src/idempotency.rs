//! Idempotency keys, claimed before the work starts. The first request with a key inserts a
//! `pending` row (the primary key on owner and key refuses a second insert, on every backend and
//! across processes); a concurrent duplicate finds it and waits for the answer the first one
//! stores, then replays it. A request that fails without an answer worth replaying (an internal
//! error) releases its claim, so a retry runs again. The stored answer is opaque to this crate.

use crate::db::Db;
use crate::error::Result;
use sqlx::Row;
use std::time::Duration;

/// What a request finds when it claims its key.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key is ours: do the work, then [`complete`] (or [`release`]).
    Fresh,
    /// The same request was answered before: send this again.
    Replay { status: u16, body: String },
    /// The key was used for a different request.
    Mismatch,
    /// The same request is still being worked on (by another connection or process).
    InProgress,
}

/// Tries to claim `key` for `owner` and the request whose digest is `request_sha`.
pub async fn claim(db: &Db, owner: &str, key: &str, request_sha: &str) -> Result<Claim> {
    let inserted = {
        let _guard = db.write_lock().await;
        sqlx::query(
            "INSERT INTO idempotency (owner, idem_key, request_sha256, status, body, created_at, state) VALUES ($1, $2, $3, 0, '', $4, 'pending') ON CONFLICT DO NOTHING",
        )
        .bind(owner)
        .bind(key)
        .bind(request_sha)
        .bind(db.now())
        .execute(&db.pool)
        .await?
        .rows_affected()
            == 1
    };
    if inserted {
        return Ok(Claim::Fresh);
    }
    look(db, owner, key, request_sha).await
}

async fn look(db: &Db, owner: &str, key: &str, request_sha: &str) -> Result<Claim> {
    let row = sqlx::query("SELECT request_sha256, status, body, state FROM idempotency WHERE owner = $1 AND idem_key = $2")
        .bind(owner)
        .bind(key)
        .fetch_optional(&db.pool)
        .await?;
    let Some(row) = row else {
        // Released meanwhile: the caller may claim again.
        return Ok(Claim::InProgress);
    };
    if row.try_get::<String, _>(0)? != request_sha {
        return Ok(Claim::Mismatch);
    }
    if row.try_get::<String, _>(3)? == "pending" {
        return Ok(Claim::InProgress);
    }
    Ok(Claim::Replay { status: row.try_get::<i64, _>(1)?.clamp(100, 599) as u16, body: row.try_get(2)? })
}

/// Claims `key`, waiting (polling, up to `patience`) while a duplicate is in progress. Returns
/// [`Claim::InProgress`] only when the wait ran out.
pub async fn claim_or_wait(db: &Db, owner: &str, key: &str, request_sha: &str, patience: Duration) -> Result<Claim> {
    let deadline = tokio::time::Instant::now() + patience;
    let mut pause = Duration::from_millis(20);
    loop {
        match claim(db, owner, key, request_sha).await? {
            Claim::InProgress if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(500));
            }
            other => return Ok(other),
        }
    }
}

/// Stores the answer to replay for `key`.
pub async fn complete(db: &Db, owner: &str, key: &str, status: u16, body: &str) -> Result<()> {
    let _guard = db.write_lock().await;
    sqlx::query("UPDATE idempotency SET status = $1, body = $2, state = 'done' WHERE owner = $3 AND idem_key = $4")
        .bind(status as i64)
        .bind(body)
        .bind(owner)
        .bind(key)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Gives the key up (the work failed in a way a retry should repeat).
pub async fn release(db: &Db, owner: &str, key: &str) -> Result<()> {
    let _guard = db.write_lock().await;
    sqlx::query("DELETE FROM idempotency WHERE owner = $1 AND idem_key = $2 AND state = 'pending'")
        .bind(owner)
        .bind(key)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// At start: claims left pending by a process that died are released (their work either
/// committed, and the chain's own checks refuse a repeat, or it did not).
pub async fn release_abandoned(db: &Db) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM idempotency WHERE state = 'pending'").execute(&db.pool).await?.rows_affected())
}
