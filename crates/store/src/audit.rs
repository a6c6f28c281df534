//! The audit trail: append-only and hash-chained. Entry n stores the hash of entry n-1 and its
//! own hash over every field, so removing, reordering or editing any entry breaks the chain from
//! there on, which [`verify`] finds. Entries are appended in the same transaction as the change
//! they record: no change without its entry, no entry without its change.

use crate::db::{AuditHead, WriteTx};
use crate::error::Result;
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Row};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Clone, Debug)]
pub struct Entry {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub document_id: Option<String>,
    pub org_id: Option<String>,
    /// JSON: what and why (a return's reason, a version, a field, a blob hash).
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// Every field, length-prefixed so that no two different entries hash the same bytes.
fn entry_hash(e: &Entry) -> String {
    let mut h = Sha256::new();
    for part in [
        e.seq.to_string().as_str(),
        &e.at.to_string(),
        &e.actor,
        &e.action,
        e.document_id.as_deref().unwrap_or(""),
        e.org_id.as_deref().unwrap_or(""),
        &e.detail,
        &e.prev_hash,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    crate::hex(&h.finalize())
}

/// What to record. `actor` is `user:<username>` or `client:<name>`.
pub struct Record<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub document_id: Option<&'a str>,
    pub org_id: Option<&'a str>,
    pub detail: serde_json::Value,
}

/// Appends inside `tx`, which holds the write lock: `seq` is the next one. The primary key on
/// `seq` still refuses a second writer that raced past it (another process on the same database).
pub async fn append(tx: &mut WriteTx<'_>, r: Record<'_>) -> Result<()> {
    let (seq, prev_hash) = match tx.audit_head().await? {
        Some(head) => (head.seq + 1, head.hash),
        None => (1, GENESIS.to_string()),
    };
    let mut e = Entry {
        seq,
        at: tx.now(),
        actor: r.actor.to_string(),
        action: r.action.to_string(),
        document_id: r.document_id.map(str::to_string),
        org_id: r.org_id.map(str::to_string),
        detail: r.detail.to_string(),
        prev_hash,
        hash: String::new(),
    };
    e.hash = entry_hash(&e);
    sqlx::query("INSERT INTO audit (seq, at, actor, action, document_id, org_id, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(e.seq)
        .bind(e.at)
        .bind(e.actor)
        .bind(e.action)
        .bind(e.document_id)
        .bind(e.org_id)
        .bind(e.detail)
        .bind(e.prev_hash)
        .bind(&e.hash)
        .execute(&mut **tx)
        .await?;
    tx.appended(AuditHead { seq: e.seq, hash: e.hash });
    Ok(())
}

fn entry_from_row(r: &sqlx::any::AnyRow) -> Result<Entry, sqlx::Error> {
    Ok(Entry {
        seq: r.try_get(0)?,
        at: r.try_get(1)?,
        actor: r.try_get(2)?,
        action: r.try_get(3)?,
        document_id: r.try_get(4)?,
        org_id: r.try_get(5)?,
        detail: r.try_get(6)?,
        prev_hash: r.try_get(7)?,
        hash: r.try_get(8)?,
    })
}

/// Entries with `seq > after`, at most `limit`, in order.
pub async fn entries(pool: &AnyPool, after: i64, limit: i64) -> Result<Vec<Entry>> {
    let rows = sqlx::query(
        "SELECT seq, at, actor, action, document_id, org_id, detail, prev_hash, hash FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(entry_from_row).collect::<Result<_, sqlx::Error>>()?)
}

/// Which entries to read: those of some organisations (and, for administrators of a top unit,
/// those without one: logins of unknown names), optionally of one action, document or actor.
pub struct Filter<'a> {
    /// `None`: every entry (the command line's export and verify).
    pub orgs: Option<&'a [String]>,
    pub include_unscoped: bool,
    pub action: Option<&'a str>,
    pub document_id: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub after: i64,
    pub limit: i64,
}

/// Entries matching `f`, in order, found by the database (indexed on organisation and seq).
pub async fn search(pool: &AnyPool, f: &Filter<'_>) -> Result<Vec<Entry>> {
    let mut binds = crate::Binds::default();
    let mut conditions = vec![format!("seq > {}", binds.push_int(f.after))];
    if let Some(orgs) = f.orgs {
        let mut scope = Vec::new();
        if !orgs.is_empty() {
            scope.push(format!("org_id IN ({})", binds.push_list(orgs.iter().map(String::as_str))));
        }
        if f.include_unscoped {
            scope.push("org_id IS NULL".to_string());
        }
        if scope.is_empty() {
            return Ok(Vec::new());
        }
        conditions.push(format!("({})", scope.join(" OR ")));
    }
    if let Some(a) = f.action {
        conditions.push(format!("action = {}", binds.push(a)));
    }
    if let Some(d) = f.document_id {
        conditions.push(format!("document_id = {}", binds.push(d)));
    }
    if let Some(a) = f.actor {
        conditions.push(format!("actor = {}", binds.push(a)));
    }
    let sql = format!(
        "SELECT seq, at, actor, action, document_id, org_id, detail, prev_hash, hash FROM audit WHERE {} ORDER BY seq LIMIT {}",
        conditions.join(" AND "),
        f.limit.clamp(1, 1000)
    );
    let rows = binds.query(sql).fetch_all(pool).await?;
    Ok(rows.iter().map(entry_from_row).collect::<Result<_, sqlx::Error>>()?)
}

/// The outcome of checking the whole chain.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every entry links to the one before and hashes to what it says; `head` is the last hash.
    Intact { entries: i64, head: String },
    /// The first entry that does not fit, and why.
    Broken { seq: i64, reason: String },
}

/// An entry's position and hash, noted when it was read (printed by `kyso audit verify` and
/// `export`) and kept away from the server. The chain alone cannot show that its newest entries
/// were deleted; a checkpoint can: the entry must still be there, with the same hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
}

impl std::fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

impl std::str::FromStr for Checkpoint {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (seq, hash) = s.split_once(':').ok_or("a checkpoint reads SEQ:HASH")?;
        let seq = seq.trim().parse::<i64>().ok().filter(|n| *n >= 1).ok_or("a checkpoint's SEQ is a positive number")?;
        let hash = hash.trim().to_ascii_lowercase();
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("a checkpoint's HASH is 64 hexadecimal digits".into());
        }
        Ok(Checkpoint { seq, hash })
    }
}

/// Walks the chain from the first entry, a page at a time.
pub async fn verify(pool: &AnyPool) -> Result<Verdict> {
    verify_with_checkpoints(pool, &[]).await
}

/// [`verify`], and every checkpoint's entry must still be in the chain with its hash.
pub async fn verify_with_checkpoints(pool: &AnyPool, checkpoints: &[Checkpoint]) -> Result<Verdict> {
    let verdict = walk(pool, checkpoints).await?;
    if let Verdict::Intact { entries, .. } = &verdict
        && let Some(cut) = checkpoints.iter().filter(|c| c.seq > *entries).min_by_key(|c| c.seq)
    {
        return Ok(Verdict::Broken {
            seq: cut.seq,
            reason: format!("the checkpoint {cut} names an entry the trail no longer has: its newest entries were deleted"),
        });
    }
    Ok(verdict)
}

async fn walk(pool: &AnyPool, checkpoints: &[Checkpoint]) -> Result<Verdict> {
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1;
    loop {
        let page = entries(pool, expected_seq - 1, 1000).await?;
        if page.is_empty() {
            return Ok(Verdict::Intact { entries: expected_seq - 1, head: prev });
        }
        for e in page {
            if e.seq != expected_seq {
                return Ok(Verdict::Broken { seq: expected_seq, reason: format!("entry {expected_seq} is missing (next is {})", e.seq) });
            }
            if e.prev_hash != prev {
                return Ok(Verdict::Broken { seq: e.seq, reason: "does not link to the entry before it".into() });
            }
            if entry_hash(&e) != e.hash {
                return Ok(Verdict::Broken { seq: e.seq, reason: "its content was changed after it was written".into() });
            }
            if let Some(c) = checkpoints.iter().find(|c| c.seq == e.seq && c.hash != e.hash) {
                return Ok(Verdict::Broken {
                    seq: e.seq,
                    reason: format!("the checkpoint {c} does not match: the trail was rewritten from here or before"),
                });
            }
            prev = e.hash;
            expected_seq += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    fn clock() -> std::sync::Arc<dyn kyso_clock::Clock> {
        std::sync::Arc::new(kyso_clock::FixedClock::new(1_800_000_000))
    }

    async fn append_one(db: &Db, action: &str, commit: bool) {
        let mut tx = db.write().await.expect("write transaction");
        let r = Record { actor: "user:test", action, document_id: None, org_id: None, detail: serde_json::json!({}) };
        append(&mut tx, r).await.expect("append");
        if commit {
            tx.commit().await.expect("commit");
        }
    }

    /// The head kept in memory follows commits only: an entry rolled back leaves no gap or fork.
    #[tokio::test]
    async fn the_chain_survives_a_rolled_back_append_and_a_restart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("kyso.db").display());
        let db = Db::connect(&url, clock()).await.expect("database");
        append_one(&db, "first", true).await;
        append_one(&db, "rolled-back", false).await;
        append_one(&db, "second", true).await;
        // A new process reads the head from the table.
        let reopened = Db::connect(&url, clock()).await.expect("database again");
        append_one(&reopened, "third", true).await;
        match verify(&reopened.pool).await.expect("verify") {
            Verdict::Intact { entries, .. } => assert_eq!(entries, 3),
            broken => panic!("chain broken: {broken:?}"),
        }
        let actions: Vec<String> = entries(&db.pool, 0, 10).await.expect("entries").into_iter().map(|e| e.action).collect();
        assert_eq!(actions, ["first", "second", "third"]);
    }

    /// Deleting the newest entries leaves a valid chain; a checkpoint noted before shows the cut.
    #[tokio::test]
    async fn a_checkpoint_reveals_a_cut_tail_and_a_rewrite() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("kyso.db").display()), clock()).await.expect("database");
        for action in ["a", "b", "c"] {
            append_one(&db, action, true).await;
        }
        let Verdict::Intact { entries: 3, head } = verify(&db.pool).await.expect("verify") else { panic!("three entries, intact") };
        let checkpoint: Checkpoint = format!("3:{head}").parse().expect("a checkpoint parses");
        assert_eq!(checkpoint.to_string(), format!("3:{head}"));
        let second = entries(&db.pool, 1, 1).await.expect("entries")[0].hash.clone();
        let earlier = Checkpoint { seq: 2, hash: second };
        assert!(matches!(verify_with_checkpoints(&db.pool, &[earlier.clone(), checkpoint.clone()]).await.unwrap(), Verdict::Intact { .. }));

        sqlx::query("DELETE FROM audit WHERE seq = 3").execute(&db.pool).await.expect("delete");
        assert!(matches!(verify(&db.pool).await.unwrap(), Verdict::Intact { entries: 2, .. }), "the chain alone cannot tell");
        match verify_with_checkpoints(&db.pool, &[earlier.clone(), checkpoint]).await.unwrap() {
            Verdict::Broken { seq: 3, reason } => assert!(reason.contains("deleted"), "{reason}"),
            other => panic!("the cut went unnoticed: {other:?}"),
        }
        let wrong = Checkpoint { seq: 2, hash: "0".repeat(64) };
        assert!(matches!(verify_with_checkpoints(&db.pool, &[wrong]).await.unwrap(), Verdict::Broken { seq: 2, .. }));
        for bad in ["3", "x:abc", "0:".to_string().as_str(), &format!("-1:{}", "a".repeat(64)), "2:zz"] {
            assert!(bad.parse::<Checkpoint>().is_err(), "{bad} parses");
        }
    }
}
