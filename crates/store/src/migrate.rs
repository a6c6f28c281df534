//! Versioned schema migrations: numbered SQL files under `migrations/`, compiled into the binary
//! and applied in order, each in its own transaction, recorded with its checksum in
//! `schema_migrations`. A database made by any earlier release upgrades in place; a migration
//! that shipped is never edited (its checksum would no longer match, and that is refused).
//! The SQL is portable; a statement that only PostgreSQL has (an index method SQLite lacks)
//! starts with [`POSTGRES_ONLY`] and is skipped on SQLite.

use crate::error::{Result, StoreError};
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Row};

/// (version, name, SQL). Append only.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/0001_initial.sql")),
    (2, "security_and_domain", include_str!("../migrations/0002_security_and_domain.sql")),
    (3, "records", include_str!("../migrations/0003_records.sql")),
    (4, "library", include_str!("../migrations/0004_library.sql")),
    (5, "search_indexes", include_str!("../migrations/0005_search_indexes.sql")),
];

/// The marker of a statement run on PostgreSQL only.
pub const POSTGRES_ONLY: &str = "/* postgres only */";

fn checksum(sql: &str) -> String {
    crate::hex(&Sha256::digest(sql.as_bytes()))
}

/// The statements of a migration: `--` comments dropped, split at `;`.
fn statements(sql: &str) -> Vec<String> {
    let text: String = sql.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
    text.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// Applies every migration the database lacks. Returns the versions applied now.
pub async fn run(pool: &AnyPool, backend: crate::Backend) -> Result<Vec<i64>> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(pool)
    .await?;
    let rows = sqlx::query("SELECT version, name, checksum FROM schema_migrations ORDER BY version").fetch_all(pool).await?;
    let mut applied = Vec::new();
    for r in &rows {
        let (version, name, sum): (i64, String, String) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        match MIGRATIONS.iter().find(|(v, _, _)| *v == version) {
            None => return Err(StoreError::NewerSchema { version }),
            Some((_, _, sql)) if checksum(sql) != sum => return Err(StoreError::MigrationChanged { version, name }),
            Some(_) => applied.push(version),
        }
    }
    let mut now_applied = Vec::new();
    for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| !applied.contains(v)) {
        let fail = |source| StoreError::Migration { version: *version, name, source };
        let mut tx = pool.begin().await.map_err(fail)?;
        for statement in statements(sql) {
            if statement.starts_with(POSTGRES_ONLY) && backend != crate::Backend::Postgres {
                continue;
            }
            sqlx::query(sqlx::AssertSqlSafe(statement)).execute(&mut *tx).await.map_err(fail)?;
        }
        sqlx::query("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)")
            .bind(version)
            .bind(*name)
            .bind(checksum(sql))
            .bind(kyso_clock::unix_now() as i64)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        tracing::info!(version, name, "database migration applied");
        now_applied.push(*version);
    }
    Ok(now_applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_and_split_cleanly() {
        for (i, (v, _, sql)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*v, i as i64 + 1, "migrations are numbered 1, 2, 3… with no gap");
            assert!(statements(sql).iter().all(|s| !s.contains("--")), "comments are dropped");
        }
        assert!(statements(MIGRATIONS[0].2).len() >= 12);
    }
}
