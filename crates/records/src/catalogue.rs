//! The catalogue of registers (*danh mục sổ*) as data. The national list is seeded from
//! `catalogue/registers.toml` (Circulars 32/2020 and 28/2020, Art. 21); an administrator of a Sở,
//! a Phòng or a school adds registers or overrides a code for their subtree, and a school sees,
//! for each code, the definition made nearest to it.

use crate::error::{RecordsError, Result, Rule, invalid};
use kyso_org::{Actor, OrgTree, tree::administers};
use kyso_store::{Store, new_id};
use serde::{Deserialize, Serialize};
use sqlx::Row;

pub const OWNER_TYPES: &[&str] = &["school", "subject_group", "class", "teacher", "homeroom_teacher", "staff"];
pub const FREQUENCIES: &[&str] = &["school_year", "semester", "month", "week", "per_lesson", "ad_hoc"];
pub const LEVELS: &[&str] = &["secondary", "primary", "preschool"];
pub const FORMATS: &[&str] = &["pdf", "docx", "xlsx", "odt", "ods", "jpg", "png", "tiff"];

/// One register of the catalogue.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegisterType {
    #[serde(default)]
    pub id: String,
    /// The unit whose administrators defined it; `None` for the national seed.
    #[serde(default)]
    pub defined_at: Option<String>,
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    pub owner_type: String,
    pub frequency: String,
    pub levels: Vec<String>,
    pub formats: Vec<String>,
    /// The approval chain's template id.
    pub template: String,
    /// "start" (owed when the period begins) or "end".
    #[serde(default = "due_end")]
    pub due: String,
    pub citation: String,
    pub confirmed: bool,
    #[serde(default = "yes")]
    pub active: bool,
}

fn due_end() -> String {
    "end".into()
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct SeedFile {
    register: Vec<RegisterType>,
}

/// The national list as shipped.
pub fn national() -> Vec<RegisterType> {
    let seed: SeedFile = toml::from_str(include_str!("../catalogue/registers.toml")).expect("the shipped catalogue parses (tested)");
    seed.register
}

/// Checks a definition before it is stored.
pub fn check(r: &RegisterType) -> Result<()> {
    let code_ok = (2..=64).contains(&r.code.len()) && r.code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !code_ok {
        return Err(invalid("code", Rule::CodeFormat));
    }
    kyso_org::text::line(&r.name_vi, "name_vi", 200)?;
    kyso_org::text::line(&r.name_en, "name_en", 200)?;
    kyso_org::text::line(&r.citation, "citation", 500)?;
    let one_of = |field: &'static str, v: &str, allowed: &[&str]| {
        if allowed.contains(&v) {
            Ok(())
        } else {
            Err(invalid(field, Rule::OneOf { value: v.chars().take(64).collect(), allowed: allowed.join(", ") }))
        }
    };
    one_of("owner_type", &r.owner_type, OWNER_TYPES)?;
    one_of("frequency", &r.frequency, FREQUENCIES)?;
    one_of("due", &r.due, &["start", "end"])?;
    if r.levels.is_empty() {
        return Err(invalid("levels", Rule::AtLeastOne));
    }
    for l in &r.levels {
        one_of("levels", l, LEVELS)?;
    }
    if r.formats.is_empty() {
        return Err(invalid("formats", Rule::AtLeastOne));
    }
    for f in &r.formats {
        one_of("formats", f, FORMATS)?;
    }
    Ok(())
}

/// The chain templates the national catalogue names, created when missing (the lesson-plan
/// chain is the workflow's own).
fn templates() -> Vec<(&'static str, &'static str, Vec<kyso_workflow::templates::Stage>)> {
    use kyso_workflow::templates::{Mode, Stage};
    let stage = |name: &str, field: &str, role: &str, levels: &[&str], mode: Mode| Stage {
        name: name.into(),
        field: field.into(),
        role: role.into(),
        levels: levels.iter().map(|s| s.to_string()).collect(),
        mode,
        days: 5,
        allow_repeat: false,
    };
    vec![
        ("lesson-plan", "Kế hoạch bài dạy", kyso_workflow::templates::lesson_plan_template()),
        (
            "group-record",
            "Hồ sơ tổ chuyên môn",
            vec![
                stage("Tổ trưởng chuyên môn", "1 To truong", "head_of_group", &["group"], Mode::Submitter),
                stage("Hiệu trưởng", "2 Hieu truong", "principal", &["school"], Mode::Any),
            ],
        ),
        (
            "homeroom-record",
            "Hồ sơ giáo viên chủ nhiệm",
            vec![
                stage("Giáo viên chủ nhiệm", "1 GVCN", "homeroom_teacher", &["group", "school"], Mode::Submitter),
                stage("Hiệu trưởng", "2 Hieu truong", "principal", &["school"], Mode::Any),
            ],
        ),
        (
            "school-record",
            "Hồ sơ nhà trường",
            vec![
                stage("Người lập", "1 Nguoi lap", "principal", &["school"], Mode::Submitter),
                stage("Phòng Giáo dục và Đào tạo", "2 Phong GD", "district_officer", &["district", "department"], Mode::Any),
            ],
        ),
    ]
}

/// Seeds the national catalogue and its chain templates where they are missing (at start-up;
/// idempotent). An administrator's edits are never overwritten.
pub async fn seed(store: &Store) -> Result<usize> {
    let mut tx = store.db.write().await?;
    let now = tx.now();
    for (id, name, stages) in templates() {
        let exists = sqlx::query("SELECT 1 FROM templates WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?.is_some();
        if !exists {
            let stages = serde_json::to_string(&stages).expect("stages serialise");
            sqlx::query("INSERT INTO templates (id, name, stages) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(name)
                .bind(stages)
                .execute(&mut *tx)
                .await?;
        }
    }
    let mut added = 0;
    for r in national() {
        let exists = sqlx::query("SELECT 1 FROM register_types WHERE code = $1 AND defined_at IS NULL")
            .bind(&r.code)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !exists {
            insert(&mut tx, &new_id(), None, &r, now).await?;
            added += 1;
        }
    }
    if added > 0 {
        kyso_org::append(&mut tx, "system", "records_catalogue_seeded", None, None, serde_json::json!({"registers": added})).await?;
    }
    tx.commit().await?;
    Ok(added)
}

async fn insert(tx: &mut kyso_store::WriteTx<'_>, id: &str, defined_at: Option<&str>, r: &RegisterType, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO register_types (id, defined_at, code, name_vi, name_en, owner_type, frequency, levels, formats, template_id, due, citation, confirmed, active, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(id)
    .bind(defined_at)
    .bind(&r.code)
    .bind(&r.name_vi)
    .bind(&r.name_en)
    .bind(&r.owner_type)
    .bind(&r.frequency)
    .bind(r.levels.join(","))
    .bind(r.formats.join(","))
    .bind(&r.template)
    .bind(&r.due)
    .bind(&r.citation)
    .bind(r.confirmed as i64)
    .bind(r.active as i64)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<RegisterType, sqlx::Error> {
    let split = |s: String| s.split(',').filter(|v| !v.is_empty()).map(str::to_string).collect();
    Ok(RegisterType {
        id: r.try_get(0)?,
        defined_at: r.try_get(1)?,
        code: r.try_get(2)?,
        name_vi: r.try_get(3)?,
        name_en: r.try_get(4)?,
        owner_type: r.try_get(5)?,
        frequency: r.try_get(6)?,
        levels: split(r.try_get(7)?),
        formats: split(r.try_get(8)?),
        template: r.try_get(9)?,
        due: r.try_get(10)?,
        citation: r.try_get(11)?,
        confirmed: r.try_get::<i64, _>(12)? != 0,
        active: r.try_get::<i64, _>(13)? != 0,
    })
}

const COLUMNS: &str =
    "id, defined_at, code, name_vi, name_en, owner_type, frequency, levels, formats, template_id, due, citation, confirmed, active";

/// The catalogue as `unit` sees it: for each code the definition made nearest to the unit (its
/// own, then its Phòng's, its Sở's, then the national one), sorted by owner type and name.
/// Inactive overrides hide a code.
pub async fn effective(store: &Store, tree: &OrgTree, unit: &str) -> Result<Vec<RegisterType>> {
    let chain: Vec<String> = tree.ancestors_or_self(unit).iter().map(|o| o.id.clone()).collect();
    let mut binds = kyso_store::Binds::default();
    let listed = binds.push_list(chain.iter().map(String::as_str));
    let rows = binds
        .query(format!("SELECT {COLUMNS} FROM register_types WHERE defined_at IS NULL OR defined_at IN ({listed})"))
        .fetch_all(&store.db.pool)
        .await?;
    let all = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    // Nearness: position in the ancestor chain (0 = the unit itself); national = after all.
    let nearness = |r: &RegisterType| r.defined_at.as_ref().and_then(|d| chain.iter().position(|c| c == d)).unwrap_or(chain.len());
    let mut best: std::collections::BTreeMap<String, RegisterType> = std::collections::BTreeMap::new();
    for r in all {
        match best.get(&r.code) {
            Some(b) if nearness(b) <= nearness(&r) => {}
            _ => {
                best.insert(r.code.clone(), r);
            }
        }
    }
    let order = |t: &str| OWNER_TYPES.iter().position(|o| *o == t).unwrap_or(OWNER_TYPES.len());
    let mut list: Vec<RegisterType> = best.into_values().filter(|r| r.active).collect();
    list.sort_by(|a, b| {
        order(&a.owner_type)
            .cmp(&order(&b.owner_type))
            .then_with(|| kyso_org::text::fold(&a.name_vi).cmp(&kyso_org::text::fold(&b.name_vi)))
    });
    Ok(list)
}

/// An administrator defines (or overrides) a register for `unit` and everything below it.
/// Audited; a national definition is never edited in place.
pub async fn save(store: &Store, actor: &Actor, unit: &str, mut r: RegisterType) -> Result<RegisterType> {
    actor.require_user()?;
    check(&r)?;
    let tree = OrgTree::load(&store.db.pool).await?;
    if tree.get(unit).is_none() {
        return Err(RecordsError::NotFound("unit"));
    }
    if !administers(actor, &tree, unit) {
        kyso_org::refused(store, actor, "save_register", Some(unit)).await?;
        return Err(RecordsError::Forbidden("only an administrator of this unit (or one above it) can change its catalogue"));
    }
    let template_exists =
        sqlx::query("SELECT 1 FROM templates WHERE id = $1").bind(&r.template).fetch_optional(&store.db.pool).await?.is_some();
    if !template_exists {
        return Err(invalid("template", Rule::NoSuchTemplate(r.template.chars().take(64).collect())));
    }
    let mut tx = store.db.write().await?;
    let now = tx.now();
    let existing: Option<String> = sqlx::query("SELECT id FROM register_types WHERE code = $1 AND defined_at = $2")
        .bind(&r.code)
        .bind(unit)
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| row.try_get(0))
        .transpose()?;
    r.defined_at = Some(unit.to_string());
    match &existing {
        Some(id) => {
            sqlx::query("DELETE FROM register_types WHERE id = $1").bind(id).execute(&mut *tx).await?;
            r.id = id.clone();
        }
        None => r.id = new_id(),
    }
    insert(&mut tx, &r.id, Some(unit), &r, now).await?;
    kyso_org::record(
        &mut tx,
        actor,
        if existing.is_some() { "register_changed" } else { "register_defined" },
        None,
        Some(unit),
        serde_json::json!({"code": r.code, "owner_type": r.owner_type, "frequency": r.frequency, "levels": r.levels, "template": r.template, "active": r.active}),
    )
    .await?;
    tx.commit().await?;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalogue_is_valid() {
        let list = national();
        assert!(list.len() >= 20, "{}", list.len());
        for r in &list {
            check(r).unwrap_or_else(|e| panic!("{}: {e}", r.code));
            assert!(templates().iter().any(|(id, _, _)| *id == r.template), "{}: template {}", r.code, r.template);
        }
        let codes: std::collections::HashSet<_> = list.iter().map(|r| &r.code).collect();
        assert_eq!(codes.len(), list.len(), "codes are unique");
        // Circular 32/2020 Art. 21 for secondary schools: the school's 14 items.
        let school_secondary = list.iter().filter(|r| r.owner_type == "school" && r.levels.iter().any(|l| l == "secondary")).count();
        assert_eq!(
            school_secondary, 11,
            "14 items, of which transcripts, the class assessment book and the logbook are kept by homeroom teachers"
        );
    }

    #[test]
    fn a_bad_definition_names_its_field() {
        let mut r = national().remove(0);
        r.frequency = "fortnight".into();
        assert!(check(&r).unwrap_err().to_string().starts_with("frequency:"));
        r.frequency = "week".into();
        r.code = "Sổ".into();
        assert!(check(&r).unwrap_err().to_string().starts_with("code:"));
    }
}
