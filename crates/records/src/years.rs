//! School years and what they make people owe. Opening a year for a school creates its periods
//! (the year, its semesters, its months and its teaching weeks) and one obligation per register
//! of the school's catalogue × owner × period: every teacher owes a lesson plan per week, each
//! subject group its yearly plan, the school its enrolment register. Generation is idempotent
//! (`refresh` adds what people or registers added since need, and never removes anything).

use crate::catalogue::{self, RegisterType};
use crate::error::{RecordsError, Result, Rule, invalid};
use kyso_clock::{CivilTime, days_from_civil, parse_vietnam_date};
use kyso_org::{Actor, OrgTree, tree::administers};
use kyso_store::{Binds, Store, WriteTx, new_id};
use serde::Serialize;
use sqlx::Row;

const DAY: i64 = 86_400;

/// What an administrator or principal gives to open a year.
pub struct NewYear<'a> {
    pub school: &'a str,
    /// "2026-2027".
    pub name: &'a str,
    pub education_level: &'a str,
    /// Each semester's first and last day, `YYYY-MM-DD`, in order.
    pub semesters: &'a [(String, String)],
}

#[derive(Clone, Debug, Serialize)]
pub struct SchoolYear {
    pub id: String,
    pub school_id: String,
    pub name: String,
    pub education_level: String,
    pub starts_on: String,
    pub ends_on: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Opened {
    pub year: SchoolYear,
    pub periods: usize,
    /// Obligations created now.
    pub obligations: usize,
    /// Registers that create no obligations yet, and why.
    pub skipped: Vec<(String, &'static str)>,
}

/// A period of a year.
#[derive(Clone, Debug, Serialize)]
pub struct Period {
    pub id: String,
    pub kind: &'static str,
    pub seq: i64,
    pub label: String,
    pub starts_at: i64,
    pub ends_at: i64,
}

fn check_name(name: &str) -> Result<()> {
    let parts: Vec<&str> = name.split('-').collect();
    let ok = parts.len() == 2
        && parts.iter().all(|p| p.len() == 4 && p.bytes().all(|b| b.is_ascii_digit()))
        && parts[1].parse::<i32>().ok() == parts[0].parse::<i32>().ok().map(|y| y + 1);
    if ok { Ok(()) } else { Err(invalid("name", Rule::YearName)) }
}

/// The year's periods from its semesters (Vietnam midnights; `ends_at` exclusive).
pub fn periods_of(semesters: &[(i64, i64)]) -> Vec<Period> {
    let (start, end) = (semesters[0].0, semesters[semesters.len() - 1].1);
    let first = CivilTime::vietnam(start);
    let last = CivilTime::vietnam(end - 1);
    let mut out = vec![Period {
        id: new_id(),
        kind: "school_year",
        seq: 0,
        label: format!("Năm học {}-{}", first.year, last.year),
        starts_at: start,
        ends_at: end,
    }];
    const ROMAN: [&str; 3] = ["I", "II", "III"];
    for (i, (s, e)) in semesters.iter().enumerate() {
        out.push(Period {
            id: new_id(),
            kind: "semester",
            seq: i as i64 + 1,
            label: format!("Học kỳ {}", ROMAN[i]),
            starts_at: *s,
            ends_at: *e,
        });
    }
    let vn_midnight = |y: i32, m: u32| days_from_civil(y, m, 1) * DAY - kyso_clock::VIETNAM_OFFSET_SECS;
    let (mut y, mut m, mut seq) = (first.year, first.month, 1);
    while (y, m) <= (last.year, last.month) {
        let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        out.push(Period {
            id: new_id(),
            kind: "month",
            seq,
            label: format!("Tháng {m}/{y}"),
            starts_at: vn_midnight(y, m).max(start),
            ends_at: vn_midnight(ny, nm).min(end),
        });
        (y, m, seq) = (ny, nm, seq + 1);
    }
    // Teaching weeks: Monday to Sunday, those that overlap a semester (holidays between
    // semesters owe no lesson plans).
    let local_days = (start + kyso_clock::VIETNAM_OFFSET_SECS).div_euclid(DAY);
    let monday = local_days - (local_days + 3).rem_euclid(7); // 1970-01-01 was a Thursday
    let mut week_start = monday * DAY - kyso_clock::VIETNAM_OFFSET_SECS;
    let mut seq = 1;
    while week_start < end {
        let week_end = week_start + 7 * DAY;
        if semesters.iter().any(|(s, e)| week_start < *e && week_end > *s) {
            let (a, b) = (CivilTime::vietnam(week_start), CivilTime::vietnam(week_end - 1));
            out.push(Period {
                id: new_id(),
                kind: "week",
                seq,
                label: format!("Tuần {seq} ({:02}/{:02}–{:02}/{:02})", a.day, a.month, b.day, b.month),
                starts_at: week_start,
                ends_at: week_end,
            });
            seq += 1;
        }
        week_start = week_end;
    }
    out
}

/// The period kind a frequency creates obligations for.
fn period_kind(frequency: &str) -> Option<&'static str> {
    match frequency {
        "school_year" => Some("school_year"),
        "semester" => Some("semester"),
        "month" => Some("month"),
        "week" => Some("week"),
        _ => None,
    }
}

/// Whether `actor` may open or refresh years for `school`: its administrators and principal.
fn may_manage(actor: &Actor, tree: &OrgTree, school: &str) -> bool {
    administers(actor, tree, school) || actor.has_role_in(school, "principal")
}

/// Opens a school year for a school. Audited.
pub async fn open(store: &Store, actor: &Actor, y: NewYear<'_>) -> Result<Opened> {
    actor.require_user()?;
    check_name(y.name)?;
    if !catalogue::LEVELS.contains(&y.education_level) {
        return Err(invalid(
            "education_level",
            Rule::OneOf { value: y.education_level.chars().take(64).collect(), allowed: catalogue::LEVELS.join(", ") },
        ));
    }
    if y.semesters.is_empty() || y.semesters.len() > 3 {
        return Err(invalid("semesters", Rule::SemesterCount));
    }
    let mut bounds = Vec::new();
    for (a, b) in y.semesters {
        let (Some(s), Some(e)) = (parse_vietnam_date(a), parse_vietnam_date(b)) else {
            return Err(invalid("semesters", Rule::DateFormat));
        };
        let e = e + DAY;
        if e <= s || bounds.last().is_some_and(|(_, prev_end)| s < *prev_end) {
            return Err(invalid("semesters", Rule::SemesterOrder));
        }
        bounds.push((s, e));
    }
    if bounds[bounds.len() - 1].1 - bounds[0].0 > 400 * DAY {
        return Err(invalid("semesters", Rule::YearTooLong));
    }
    let tree = OrgTree::load(&store.db.pool).await?;
    let school = tree.get(y.school).filter(|o| o.level == "school").ok_or(RecordsError::NotFound("school"))?;
    if !may_manage(actor, &tree, &school.id) {
        kyso_org::refused(store, actor, "open_school_year", Some(&school.id)).await?;
        return Err(RecordsError::Forbidden("only the school's principal or an administrator can open its school year"));
    }
    let year = SchoolYear {
        id: new_id(),
        school_id: school.id.clone(),
        name: y.name.to_string(),
        education_level: y.education_level.to_string(),
        starts_on: y.semesters[0].0.clone(),
        ends_on: y.semesters[y.semesters.len() - 1].1.clone(),
    };
    let periods = periods_of(&bounds);
    let registers = catalogue::effective(store, &tree, &school.id).await?;
    let owners = Owners::load(store, &tree, &school.id).await?;
    let mut tx = store.db.write().await?;
    let taken = sqlx::query("SELECT 1 FROM school_years WHERE school_id = $1 AND name = $2")
        .bind(&school.id)
        .bind(y.name)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if taken {
        return Err(RecordsError::YearExists(y.name.to_string()));
    }
    let now = tx.now();
    sqlx::query("INSERT INTO school_years (id, school_id, name, education_level, starts_on, ends_on, opened_by, opened_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(&year.id)
        .bind(&year.school_id)
        .bind(&year.name)
        .bind(&year.education_level)
        .bind(&year.starts_on)
        .bind(&year.ends_on)
        .bind(actor.name())
        .bind(now)
        .execute(&mut *tx)
        .await?;
    for p in &periods {
        sqlx::query("INSERT INTO periods (id, year_id, kind, seq, label, starts_at, ends_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&p.id)
            .bind(&year.id)
            .bind(p.kind)
            .bind(p.seq)
            .bind(&p.label)
            .bind(p.starts_at)
            .bind(p.ends_at)
            .execute(&mut *tx)
            .await?;
    }
    let (created, skipped) = generate(&mut tx, &tree, &year, &periods, &registers, &owners).await?;
    kyso_org::record(
        &mut tx,
        actor,
        "school_year_opened",
        None,
        Some(&school.id),
        serde_json::json!({"year": year.name, "level": year.education_level, "periods": periods.len(), "obligations": created}),
    )
    .await?;
    tx.commit().await?;
    Ok(Opened { year, periods: periods.len(), obligations: created, skipped })
}

/// Adds the obligations people or registers added since the year opened need. Audited.
pub async fn refresh(store: &Store, actor: &Actor, year_id: &str) -> Result<usize> {
    let year = get(store, year_id).await?.ok_or(RecordsError::NotFound("school year"))?;
    let tree = OrgTree::load(&store.db.pool).await?;
    if !may_manage(actor, &tree, &year.school_id) {
        return Err(RecordsError::Forbidden("only the school's principal or an administrator can refresh its school year"));
    }
    let periods = periods(store, year_id).await?;
    let registers = catalogue::effective(store, &tree, &year.school_id).await?;
    let owners = Owners::load(store, &tree, &year.school_id).await?;
    let mut tx = store.db.write().await?;
    let (created, _) = generate(&mut tx, &tree, &year, &periods, &registers, &owners).await?;
    kyso_org::record(
        &mut tx,
        actor,
        "school_year_refreshed",
        None,
        Some(&year.school_id),
        serde_json::json!({"year": year.name, "obligations": created}),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// Who can owe something in a school: (owner id, display name, unit).
struct Owners {
    school: Vec<(String, String, String)>,
    groups: Vec<(String, String, String)>,
    by_role: std::collections::HashMap<String, Vec<(String, String, String)>>,
}

impl Owners {
    async fn load(store: &Store, tree: &OrgTree, school: &str) -> Result<Owners> {
        let units = tree.subtree(school);
        let school_org = tree.get(school).ok_or(RecordsError::NotFound("school"))?;
        let groups = units.iter().filter(|o| o.level == "group").map(|o| (o.id.clone(), o.name.clone(), o.id.clone())).collect();
        let mut binds = Binds::default();
        let listed = binds.push_list(units.iter().map(|o| o.id.as_str()));
        let rows = binds
            .query(format!(
                "SELECT m.role, u.id, u.full_name, m.org_id FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE m.org_id IN ({listed}) AND u.disabled_at IS NULL ORDER BY u.full_name, u.id, m.org_id"
            ))
            .fetch_all(&store.db.pool)
            .await?;
        let mut by_role: std::collections::HashMap<String, Vec<(String, String, String)>> = Default::default();
        for r in &rows {
            let (role, id, name, org): (String, String, String, String) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
            let list = by_role.entry(role).or_default();
            if !list.iter().any(|(i, _, _)| *i == id) {
                list.push((id, name, org));
            }
        }
        Ok(Owners { school: vec![(school_org.id.clone(), school_org.name.clone(), school_org.id.clone())], groups, by_role })
    }

    fn of(&self, owner_type: &str) -> Option<&[(String, String, String)]> {
        match owner_type {
            "school" => Some(&self.school),
            "subject_group" => Some(&self.groups),
            "teacher" | "homeroom_teacher" | "staff" => Some(self.by_role.get(owner_type).map(Vec::as_slice).unwrap_or(&[])),
            _ => None,
        }
    }
}

/// Inserts the missing obligations (the unique index makes a second run add nothing).
async fn generate(
    tx: &mut WriteTx<'_>,
    tree: &OrgTree,
    year: &SchoolYear,
    periods: &[Period],
    registers: &[RegisterType],
    owners: &Owners,
) -> Result<(usize, Vec<(String, &'static str)>)> {
    let district = tree.nearest_at_level(&year.school_id, "district").map(|o| o.id.clone()).unwrap_or_default();
    let department = tree.nearest_at_level(&year.school_id, "department").map(|o| o.id.clone()).unwrap_or_default();
    let mut skipped = Vec::new();
    let mut pending: Vec<[String; 8]> = Vec::new();
    let mut times: Vec<(i64, i64)> = Vec::new();
    for r in registers.iter().filter(|r| r.levels.contains(&year.education_level)) {
        let Some(kind) = period_kind(&r.frequency) else {
            skipped.push((r.code.clone(), "submitted when needed (per lesson or ad hoc): no deadlines to track"));
            continue;
        };
        let Some(list) = owners.of(&r.owner_type) else {
            skipped.push((r.code.clone(), "kept per class: Kyso has no classes yet"));
            continue;
        };
        for p in periods.iter().filter(|p| p.kind == kind) {
            let due = if r.due == "start" { p.starts_at + DAY } else { p.ends_at };
            for (owner, name, unit) in list {
                pending.push([
                    new_id(),
                    p.id.clone(),
                    r.code.clone(),
                    r.id.clone(),
                    r.owner_type.clone(),
                    owner.clone(),
                    name.clone(),
                    unit.clone(),
                ]);
                times.push((p.starts_at, due));
            }
        }
    }
    let mut created = 0;
    for (chunk, chunk_times) in pending.chunks(40).zip(times.chunks(40)) {
        let mut binds = Binds::default();
        let mut values = Vec::with_capacity(chunk.len());
        for (row, (opens, due)) in chunk.iter().zip(chunk_times) {
            let [id, period, code, register, owner_type, owner, name, unit] = row;
            values.push(format!(
                "({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                binds.push(id),
                binds.push(&year.id),
                binds.push(&year.name),
                binds.push(period),
                binds.push(code),
                binds.push(register),
                binds.push(owner_type),
                binds.push(owner),
                binds.push(name),
                binds.push(unit),
                binds.push(&year.school_id),
                binds.push(&district),
                binds.push(&department),
                binds.push_int(*opens),
                binds.push_int(*due),
            ));
        }
        let done = binds
            .query(format!(
                "INSERT INTO obligations (id, year_id, year_name, period_id, register_code, register_id, owner_type, owner_id, owner_name, unit_id, school_id, district_id, department_id, opens_at, due_at) \
                 VALUES {} ON CONFLICT (period_id, register_code, owner_id) DO NOTHING",
                values.join(", ")
            ))
            .execute(&mut **tx)
            .await?;
        created += done.rows_affected() as usize;
    }
    crate::dashboard::retally(tx, &year.id).await?;
    Ok((created, skipped))
}

fn year_from_row(r: &sqlx::any::AnyRow) -> Result<SchoolYear, sqlx::Error> {
    Ok(SchoolYear {
        id: r.try_get(0)?,
        school_id: r.try_get(1)?,
        name: r.try_get(2)?,
        education_level: r.try_get(3)?,
        starts_on: r.try_get(4)?,
        ends_on: r.try_get(5)?,
    })
}

pub async fn get(store: &Store, id: &str) -> Result<Option<SchoolYear>> {
    let row = sqlx::query("SELECT id, school_id, name, education_level, starts_on, ends_on FROM school_years WHERE id = $1")
        .bind(id)
        .fetch_optional(&store.db.pool)
        .await?;
    Ok(row.as_ref().map(year_from_row).transpose()?)
}

/// The years of the schools in `units`, newest first.
pub async fn of_schools(store: &Store, units: &[&str]) -> Result<Vec<SchoolYear>> {
    if units.is_empty() {
        return Ok(Vec::new());
    }
    let mut binds = Binds::default();
    let listed = binds.push_list(units.iter().copied());
    let rows = binds
        .query(format!("SELECT id, school_id, name, education_level, starts_on, ends_on FROM school_years WHERE school_id IN ({listed}) ORDER BY name DESC, school_id"))
        .fetch_all(&store.db.pool)
        .await?;
    Ok(rows.iter().map(year_from_row).collect::<Result<_, _>>()?)
}

pub async fn periods(store: &Store, year_id: &str) -> Result<Vec<Period>> {
    let rows = sqlx::query("SELECT id, kind, seq, label, starts_at, ends_at FROM periods WHERE year_id = $1 ORDER BY starts_at, seq")
        .bind(year_id)
        .fetch_all(&store.db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get(1)?;
            let kind = ["school_year", "semester", "month", "week"].into_iter().find(|k| *k == kind).unwrap_or("week");
            Ok(Period {
                id: r.try_get(0)?,
                kind,
                seq: r.try_get(2)?,
                label: r.try_get(3)?,
                starts_at: r.try_get(4)?,
                ends_at: r.try_get(5)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_has_its_semesters_months_and_teaching_weeks() {
        let d = |s: &str| parse_vietnam_date(s).unwrap();
        // 2026-2027: semester I 07/09/2026–16/01/2027, a week off, semester II 25/01–29/05/2027.
        let p = periods_of(&[(d("2026-09-07"), d("2027-01-16") + DAY), (d("2027-01-25"), d("2027-05-29") + DAY)]);
        let count = |k: &str| p.iter().filter(|x| x.kind == k).count();
        assert_eq!(count("school_year"), 1);
        assert_eq!(count("semester"), 2);
        assert_eq!(count("month"), 9, "September to May");
        // 19 weeks (07/09 to 17/01) + 18 weeks (25/01 to 30/05), the week of 18/01 is a holiday.
        assert_eq!(count("week"), 37);
        let first_week = p.iter().find(|x| x.kind == "week").unwrap();
        assert_eq!(first_week.label, "Tuần 1 (07/09–13/09)");
        assert_eq!(first_week.starts_at, d("2026-09-07"));
        assert!(p.iter().filter(|x| x.kind == "week").all(|w| w.ends_at - w.starts_at == 7 * DAY));
        assert_eq!(p.iter().find(|x| x.kind == "month").unwrap().label, "Tháng 9/2026");
    }

    #[test]
    fn year_names_are_checked() {
        assert!(check_name("2026-2027").is_ok());
        for bad in ["2026-2028", "2026", "26-27", "2026–2027", "abcd-efgh"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
