//! The completion dashboard (*theo dõi tình hình hoàn thành hồ sơ*): registers × owners × periods
//! with a status each, counted by the database over indexed columns (never by loading
//! documents), for a subject group, a school, a Phòng (all its schools) and a Sở (all its
//! Phòngs), with drill-down to the obligations and their documents.
//!
//! An obligation's stored `state` follows its document ([`refresh`] reads the documents changed
//! since the last refresh, under the write lock, so no change is missed); "missing" and
//! "overdue" are decided when the page is asked for, from `due_at` and the clock.

use crate::error::{RecordsError, Result};
use kyso_org::{Actor, OVERSEEING_ROLES, OrgTree};
use kyso_store::{Binds, Store};
use serde::Serialize;
use sqlx::Row;

/// Every status an obligation can have, in the order pages show them.
pub const STATUSES: &[&str] = &["missing", "overdue", "draft", "submitted", "in_approval", "returned", "signed"];

/// The state an obligation takes from its document.
pub fn state_of(document_status: &str, signed_stages: i64) -> &'static str {
    match document_status {
        "completed" => "signed",
        "returned" => "returned",
        _ if signed_stages == 0 => "draft",
        _ if signed_stages == 1 => "submitted",
        _ => "in_approval",
    }
}

/// Brings the obligations' states up to date with their documents.
pub async fn refresh(store: &Store) -> Result<usize> {
    let mut tx = store.db.write().await?;
    let cursor: i64 = sqlx::query("SELECT cursor_at FROM records_sync WHERE id = 1")
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?
        .unwrap_or(0);
    let rows = sqlx::query(
        "SELECT d.id, d.status, d.updated_at, \
           (SELECT COUNT(*) FROM steps s WHERE s.document_id = d.id AND s.version = d.current_version AND s.signed_by IS NOT NULL) \
         FROM documents d WHERE d.updated_at >= $1 AND EXISTS (SELECT 1 FROM obligations o WHERE o.document_id = d.id)",
    )
    .bind(cursor)
    .fetch_all(&mut *tx)
    .await?;
    let mut newest = cursor;
    let mut years = std::collections::BTreeSet::new();
    for r in &rows {
        let (id, status, updated, signed): (String, String, i64, i64) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
        newest = newest.max(updated);
        let state = state_of(&status, signed);
        let changed = sqlx::query("SELECT year_id FROM obligations WHERE document_id = $1 AND (state IS NULL OR state <> $2)")
            .bind(&id)
            .bind(state)
            .fetch_all(&mut *tx)
            .await?;
        if !changed.is_empty() {
            sqlx::query("UPDATE obligations SET state = $1 WHERE document_id = $2").bind(state).bind(&id).execute(&mut *tx).await?;
            for c in &changed {
                years.insert(c.try_get::<String, _>(0)?);
            }
        }
    }
    for y in &years {
        retally(&mut tx, y).await?;
    }
    if newest != cursor || cursor == 0 {
        let changed =
            sqlx::query("UPDATE records_sync SET cursor_at = $1 WHERE id = 1").bind(newest).execute(&mut *tx).await?.rows_affected();
        if changed == 0 {
            sqlx::query("INSERT INTO records_sync (id, cursor_at) VALUES (1, $1)").bind(newest).execute(&mut *tx).await?;
        }
    }
    tx.commit().await?;
    Ok(rows.len())
}

/// Recomputes the tally of one school year from its obligations (about 1,650 rows for a school of
/// 40 teachers), inside the caller's transaction.
pub async fn retally(tx: &mut kyso_store::WriteTx<'_>, year_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM obligation_tally WHERE year_id = $1").bind(year_id).execute(&mut **tx).await?;
    sqlx::query(
        "INSERT INTO obligation_tally (year_id, year_name, school_id, district_id, department_id, register_code, period_id, opens_at, due_at, state, n) \
         SELECT year_id, year_name, school_id, district_id, department_id, register_code, period_id, opens_at, due_at, COALESCE(state, ''), COUNT(*) \
         FROM obligations WHERE year_id = $1 \
         GROUP BY year_id, year_name, school_id, district_id, department_id, register_code, period_id, opens_at, due_at, COALESCE(state, '')",
    )
    .bind(year_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The status as SQL, from `state`, `due_at` and the time bound as `now`.
fn status_sql(now: &str) -> String {
    format!(
        "CASE WHEN COALESCE(o.state, '') = '' THEN (CASE WHEN o.due_at < {now} THEN 'overdue' ELSE 'missing' END) WHEN o.state = 'draft' AND o.due_at < {now} THEN 'overdue' ELSE o.state END"
    )
}

/// What to count.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// "2026-2027"; every year when empty.
    pub year: Option<String>,
    pub register: Option<String>,
    pub period: Option<String>,
    pub status: Option<String>,
    /// Count only obligations whose period has begun (the default on pages).
    pub begun_only: bool,
}

/// Counts per status.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub missing: i64,
    pub overdue: i64,
    pub draft: i64,
    pub submitted: i64,
    pub in_approval: i64,
    pub returned: i64,
    pub signed: i64,
    pub total: i64,
}

impl Counts {
    fn add(&mut self, status: &str, n: i64) {
        match status {
            "missing" => self.missing += n,
            "overdue" => self.overdue += n,
            "draft" => self.draft += n,
            "submitted" => self.submitted += n,
            "in_approval" => self.in_approval += n,
            "returned" => self.returned += n,
            _ => self.signed += n,
        }
        self.total += n;
    }

    pub fn get(&self, status: &str) -> i64 {
        match status {
            "missing" => self.missing,
            "overdue" => self.overdue,
            "draft" => self.draft,
            "submitted" => self.submitted,
            "in_approval" => self.in_approval,
            "returned" => self.returned,
            "signed" => self.signed,
            _ => self.total,
        }
    }

    /// Signed as a share of the total, in whole percent.
    pub fn percent_signed(&self) -> i64 {
        if self.total == 0 { 0 } else { self.signed * 100 / self.total }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct SummaryRow {
    /// A unit id, an owner id or a register code: what the row drills down to.
    pub key: String,
    pub label: String,
    pub counts: Counts,
}

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub scope_id: String,
    pub scope_name: String,
    pub scope_level: String,
    /// What the rows are: "district", "school", "unit", "owner" or "register".
    pub rows_are: &'static str,
    pub rows: Vec<SummaryRow>,
    pub total: Counts,
}

/// Where the scope's obligations are and what its rows group by.
fn scope_columns(level: &str, by_register: bool) -> (&'static str, &'static str, &'static str) {
    let (filter, group, rows_are) = match level {
        "department" => ("o.department_id", "o.district_id", "district"),
        "district" => ("o.district_id", "o.school_id", "school"),
        "school" => ("o.school_id", "o.unit_id", "unit"),
        _ => ("o.unit_id", "o.owner_id", "owner"),
    };
    if by_register { (filter, "o.register_code", "register") } else { (filter, group, rows_are) }
}

/// Whether `actor` may see the dashboard of `unit`: an overseeing role there or above.
pub fn may_oversee(actor: &Actor, tree: &OrgTree, unit: &str) -> bool {
    actor.memberships.iter().any(|(o, r)| OVERSEEING_ROLES.contains(&r.as_str()) && tree.is_within(unit, o))
}

fn push_filter(binds: &mut Binds, f: &Filter, now: i64, status_expr: &str) -> String {
    let mut sql = String::new();
    if let Some(y) = &f.year {
        sql += &format!(" AND o.year_name = {}", binds.push(y));
    }
    if f.begun_only {
        sql += &format!(" AND o.opens_at <= {}", binds.push_int(now));
    }
    if let Some(r) = &f.register {
        sql += &format!(" AND o.register_code = {}", binds.push(r));
    }
    if let Some(p) = &f.period {
        sql += &format!(" AND o.period_id = {}", binds.push(p));
    }
    if let Some(s) = f.status.as_ref().filter(|s| STATUSES.contains(&s.as_str())) {
        sql += &format!(" AND {status_expr} = {}", binds.push(s));
    }
    sql
}

/// The dashboard of `unit`: one row per unit below it (or per owner in a subject group, or per
/// register with `by_register`), counts per status.
pub async fn summary(store: &Store, actor: &Actor, unit: &str, f: &Filter, by_register: bool) -> Result<Summary> {
    let tree = OrgTree::load(&store.db.pool).await?;
    let scope = tree.get(unit).ok_or(RecordsError::NotFound("unit"))?;
    if !may_oversee(actor, &tree, unit) {
        kyso_org::refused(store, actor, "records_dashboard", Some(unit)).await?;
        return Err(RecordsError::NotFound("unit"));
    }
    refresh(store).await?;
    let now = store.db.now();
    let (filter_col, group_col, rows_are) = scope_columns(&scope.level, by_register);
    let mut binds = Binds::default();
    let now_bind = binds.push_int(now);
    let status = status_sql(&now_bind);
    let scope_bind = binds.push(unit);
    let rest = push_filter(&mut binds, f, now, &status);
    // One row per unit below, each status counted by a conditional sum: the database streams the
    // scope's index in the order of `group_col` and never sorts the obligations themselves.
    // Above a school the tally is enough (and far smaller); a school's and a group's rows need
    // the obligations' units and owners.
    let (table, weight, label) = if matches!(scope.level.as_str(), "department" | "district") {
        ("obligation_tally", "o.n", "''")
    } else {
        ("obligations", "1", "MIN(o.owner_name)")
    };
    let counts: Vec<String> =
        STATUSES.iter().map(|st| format!("CAST(SUM(CASE WHEN {status} = '{st}' THEN {weight} ELSE 0 END) AS BIGINT)")).collect();
    let rows = binds
        .query(format!(
            "SELECT {group_col}, {label}, {} FROM {table} o WHERE {filter_col} = {scope_bind}{rest} GROUP BY {group_col}",
            counts.join(", ")
        ))
        .fetch_all(&store.db.pool)
        .await?;
    let mut by_key: std::collections::BTreeMap<String, (String, Counts)> = Default::default();
    let mut total = Counts::default();
    for r in &rows {
        let (key, owner_name): (String, String) = (r.try_get(0)?, r.try_get(1)?);
        let entry = by_key.entry(key).or_insert_with(|| (owner_name, Counts::default()));
        for (i, st) in STATUSES.iter().enumerate() {
            let n: i64 = r.try_get(2 + i)?;
            total.add(st, n);
            entry.1.add(st, n);
        }
    }
    let names = if rows_are == "register" { register_names(store).await? } else { Default::default() };
    let mut out: Vec<SummaryRow> = by_key
        .into_iter()
        .map(|(key, (owner_name, counts))| {
            let label = match rows_are {
                "owner" => owner_name,
                "register" => names.get(&key).cloned().unwrap_or_else(|| key.clone()),
                _ => tree.get(&key).map(|o| o.name.clone()).unwrap_or_else(|| key.clone()),
            };
            SummaryRow { key, label, counts }
        })
        .collect();
    // Vietnamese order: by the letters without their marks, then as written.
    out.sort_by_cached_key(|r| (kyso_org::text::fold(&r.label), r.label.clone()));
    Ok(Summary { scope_id: scope.id.clone(), scope_name: scope.name.clone(), scope_level: scope.level.clone(), rows_are, rows: out, total })
}

async fn register_names(store: &Store) -> Result<std::collections::HashMap<String, String>> {
    let rows = sqlx::query("SELECT code, name_vi FROM register_types WHERE defined_at IS NULL").fetch_all(&store.db.pool).await?;
    Ok(rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect::<Result<_, sqlx::Error>>()?)
}

/// One obligation, for drill-down lists and exports.
#[derive(Clone, Debug, Serialize)]
pub struct Line {
    pub id: String,
    pub register_code: String,
    pub register_name: String,
    pub owner_name: String,
    pub unit_name: String,
    pub school_name: String,
    pub period: String,
    pub due_at: i64,
    pub status: String,
    pub document_id: Option<String>,
}

/// The obligations below `unit` (or the actor's own without it), the newest periods first.
pub async fn lines(store: &Store, actor: &Actor, unit: Option<&str>, f: &Filter, limit: i64, offset: i64) -> Result<Vec<Line>> {
    let tree = OrgTree::load(&store.db.pool).await?;
    refresh(store).await?;
    let now = store.db.now();
    let mut binds = Binds::default();
    let now_bind = binds.push_int(now);
    let status = status_sql(&now_bind);
    let scope = match unit {
        Some(u) => {
            let org = tree.get(u).ok_or(RecordsError::NotFound("unit"))?;
            if !may_oversee(actor, &tree, u) {
                kyso_org::refused(store, actor, "records_lines", Some(u)).await?;
                return Err(RecordsError::NotFound("unit"));
            }
            let (col, _, _) = scope_columns(&org.level, false);
            format!("{col} = {}", binds.push(u))
        }
        None => {
            let me = actor.require_user()?;
            format!("o.owner_id = {}", binds.push(me))
        }
    };
    let rest = push_filter(&mut binds, f, now, &status);
    let rows = binds
        .query(format!(
            "SELECT o.id, o.register_code, r.name_vi, o.owner_name, o.unit_id, o.school_id, p.label, o.due_at, {status}, o.document_id \
             FROM obligations o JOIN periods p ON p.id = o.period_id JOIN register_types r ON r.id = o.register_id \
             WHERE {scope}{rest} ORDER BY o.opens_at DESC, o.due_at, o.register_code, o.owner_name, o.id LIMIT {} OFFSET {}",
            limit.clamp(1, 100_000),
            offset.max(0)
        ))
        .fetch_all(&store.db.pool)
        .await?;
    let name = |id: &str| tree.get(id).map(|o| o.name.clone()).unwrap_or_default();
    rows.iter()
        .map(|r| {
            let unit: String = r.try_get(4)?;
            let school: String = r.try_get(5)?;
            Ok(Line {
                id: r.try_get(0)?,
                register_code: r.try_get(1)?,
                register_name: r.try_get(2)?,
                owner_name: r.try_get(3)?,
                unit_name: name(&unit),
                school_name: name(&school),
                period: r.try_get(6)?,
                due_at: r.try_get(7)?,
                status: r.try_get(8)?,
                document_id: r.try_get(9)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_gives_its_obligation_a_state() {
        assert_eq!(state_of("in_progress", 0), "draft");
        assert_eq!(state_of("in_progress", 1), "submitted");
        assert_eq!(state_of("in_progress", 3), "in_approval");
        assert_eq!(state_of("returned", 2), "returned");
        assert_eq!(state_of("completed", 4), "signed");
    }

    #[test]
    fn counts_add_up() {
        let mut c = Counts::default();
        for (s, n) in [("missing", 2), ("overdue", 1), ("signed", 7)] {
            c.add(s, n);
        }
        assert_eq!((c.total, c.get("signed"), c.percent_signed()), (10, 7, 70));
    }
}
