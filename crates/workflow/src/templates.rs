//! Approval chains as data. A template is an ordered list of stages; each stage names a role and
//! the level of the organisation tree where it is found, relative to the submitter's unit ("the
//! principal of the submitter's school"). Levels are plain strings, not code, and a stage lists
//! them in order of preference: where the 2025 reform removed the district tier, a stage asking
//! for `["district", "department"]` falls through to the Sở. Templates are stored as JSON.

use crate::error::{PlanProblem, Result, TemplateRule, WorkflowError};
use kyso_org::{Actor, OrgError, OrgTree, Refusal, tree};
use kyso_store::Store;
use serde::{Deserialize, Serialize};
use sqlx::Row;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The submitter signs this stage themselves (the teacher's own lesson plan).
    Submitter,
    /// Any one holder of the role signs.
    Any,
    /// Every holder of the role signs, in parallel (one field each).
    All,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// Shown to people: "Tổ trưởng chuyên môn".
    pub name: String,
    /// The signature field's name (ASCII is kindest to other software).
    pub field: String,
    pub role: String,
    /// Organisation levels to look for, nearest the submitter first, in order of preference.
    pub levels: Vec<String>,
    pub mode: Mode,
    /// Days this stage may take once it is reached.
    #[serde(default = "default_days")]
    pub days: i64,
    /// Whether someone who signed an earlier stage may sign this one too.
    #[serde(default)]
    pub allow_repeat: bool,
}

fn default_days() -> i64 {
    3
}

/// A stored template.
#[derive(Clone, Debug)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub stages: Vec<Stage>,
}

/// Checks a template before it is stored: at least one stage (at most 20), each with a name, a
/// known role, at least one level, 1–365 days, and a field name that is plain ASCII without a
/// period (a period separates the parts of a PDF field name) and unique in the chain.
pub fn validate(stages: &[Stage], roles: &[&str]) -> Result<()> {
    let fail = |stage: usize, rule| Err(WorkflowError::TemplateInvalid { stage, rule });
    if stages.is_empty() || stages.len() > 20 {
        return fail(0, TemplateRule::StageCount);
    }
    for (i, stage) in stages.iter().enumerate() {
        let n = i + 1;
        if stage.name.trim().is_empty() || stage.name.chars().count() > 200 || kyso_org::text::line(&stage.name, "name", 200).is_err() {
            return fail(n, TemplateRule::Name);
        }
        let field_ok = (1..=64).contains(&stage.field.len())
            && stage.field.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'_' | b'-'))
            && stage.field.trim() == stage.field;
        if !field_ok {
            return fail(n, TemplateRule::FieldName);
        }
        if stages[..i].iter().any(|s| s.field.eq_ignore_ascii_case(&stage.field)) {
            return fail(n, TemplateRule::DuplicateField(stage.field.clone()));
        }
        if !roles.contains(&stage.role.as_str()) {
            return fail(n, TemplateRule::UnknownRole(stage.role.chars().take(64).collect()));
        }
        if stage.levels.is_empty() || stage.levels.len() > 8 || stage.levels.iter().any(|l| l.trim().is_empty() || l.len() > 64) {
            return fail(n, TemplateRule::Levels);
        }
        if !(1..=365).contains(&stage.days) {
            return fail(n, TemplateRule::Days);
        }
    }
    Ok(())
}

/// A stage's place in one document's chain: the organisation whose role holders may sign it,
/// and for `all` stages the person whose field it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepPlan {
    pub stage: usize,
    pub stage_name: String,
    pub field: String,
    pub org_id: String,
    pub role: String,
    pub assignee_id: Option<String>,
    pub allow_repeat: bool,
    pub deadline: i64,
}

/// Lists (user id, username) of the holders of a role in an organisation.
pub type Holders<'a> = &'a dyn Fn(&str, &str) -> Vec<(String, String)>;

/// Resolves every stage for a document of `org_id` submitted by `submitter_id` at `now`.
pub fn plan(
    stages: &[Stage],
    tree: &OrgTree,
    org_id: &str,
    submitter_id: &str,
    now: i64,
    holders: Holders<'_>,
) -> Result<Vec<StepPlan>, PlanProblem> {
    if stages.is_empty() {
        return Err(PlanProblem::NoStages);
    }
    let ancestors = tree.ancestors_or_self(org_id);
    let mut steps = Vec::new();
    let mut deadline = now;
    for (i, stage) in stages.iter().enumerate() {
        deadline += stage.days.max(0) * 86_400;
        let org = stage
            .levels
            .iter()
            .find_map(|level| ancestors.iter().find(|o| &o.level == level))
            .ok_or_else(|| PlanProblem::NoUnit { stage: i + 1, name: stage.name.clone(), levels: stage.levels.join(" or ") })?;
        let base = StepPlan {
            stage: i,
            stage_name: stage.name.clone(),
            field: stage.field.clone(),
            org_id: org.id.clone(),
            role: stage.role.clone(),
            assignee_id: None,
            allow_repeat: stage.allow_repeat,
            deadline,
        };
        let people = holders(&org.id, &stage.role);
        match stage.mode {
            Mode::Submitter => steps.push(StepPlan { assignee_id: Some(submitter_id.to_string()), ..base }),
            Mode::Any if !people.is_empty() => steps.push(base),
            Mode::All if !people.is_empty() => {
                for (id, username) in people {
                    steps.push(StepPlan { field: format!("{} - {username}", stage.field), assignee_id: Some(id), ..base.clone() });
                }
            }
            Mode::Any | Mode::All => {
                return Err(PlanProblem::NoHolder {
                    stage: i + 1,
                    name: stage.name.clone(),
                    role: stage.role.clone(),
                    org: org.name.clone(),
                });
            }
        }
    }
    Ok(steps)
}

/// One approval stage's field: its name and the fields its signature will lock.
#[derive(Clone, Debug)]
pub struct StageField {
    pub name: String,
    pub locks: Vec<String>,
}

/// The fields each step's signature locks: every field of its own and earlier stages, but not a
/// parallel sibling's (which is signed after it).
pub fn locks(steps: &[StepPlan]) -> Vec<StageField> {
    steps
        .iter()
        .map(|s| StageField {
            name: s.field.clone(),
            locks: steps.iter().filter(|o| o.stage < s.stage || o.field == s.field).map(|o| o.field.clone()).collect(),
        })
        .collect()
}

/// The lesson-plan chain of the brief: teacher → head of subject group → principal → district
/// (or the Sở where there is no district tier).
pub fn lesson_plan_template() -> Vec<Stage> {
    let stage = |name: &str, field: &str, role: &str, levels: &[&str], mode: Mode| Stage {
        name: name.into(),
        field: field.into(),
        role: role.into(),
        levels: levels.iter().map(|s| s.to_string()).collect(),
        mode,
        days: 3,
        allow_repeat: false,
    };
    vec![
        stage("Giáo viên", "1 Giao vien", "teacher", &["group", "school"], Mode::Submitter),
        stage("Tổ trưởng chuyên môn", "2 To truong", "head_of_group", &["group"], Mode::Any),
        stage("Hiệu trưởng", "3 Hieu truong", "principal", &["school"], Mode::Any),
        stage("Phòng Giáo dục và Đào tạo", "4 Phong GD", "district_officer", &["district", "department"], Mode::Any),
    ]
}

pub async fn list(store: &Store) -> Result<Vec<Template>> {
    let rows = sqlx::query("SELECT id, name, stages FROM templates ORDER BY name").fetch_all(&store.db.pool).await?;
    rows.iter()
        .map(|r| {
            let stages: String = r.try_get(2)?;
            Ok(Template {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
                stages: serde_json::from_str(&stages).map_err(|e| WorkflowError::internal("reading a chain template", e))?,
            })
        })
        .collect()
}

pub async fn get(store: &Store, id: &str) -> Result<Template> {
    let row = sqlx::query("SELECT id, name, stages FROM templates WHERE id = $1")
        .bind(id)
        .fetch_optional(&store.db.pool)
        .await?
        .ok_or(WorkflowError::NotFound("template"))?;
    let stages: String = row.try_get(2)?;
    Ok(Template {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        stages: serde_json::from_str(&stages).map_err(|e| WorkflowError::internal("reading a chain template", e))?,
    })
}

/// An administrator of a top unit (the Sở) creates or replaces a chain template. Documents
/// already submitted keep the steps they were given. Returns the template and whether it
/// replaced one.
pub async fn save(store: &Store, actor: &Actor, id: &str, name: &str, stages: Vec<Stage>) -> Result<(Template, bool)> {
    actor.require_user()?;
    let tree = OrgTree::load(&store.db.pool).await?;
    if !tree::is_top_admin(actor, &tree) {
        kyso_org::refused(store, actor, "save_template", None).await?;
        return Err(OrgError::Forbidden(Refusal::NotTopAdministrator).into());
    }
    if !(1..=64).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(WorkflowError::TemplateInvalid { stage: 0, rule: TemplateRule::Id });
    }
    let name = kyso_org::text::line(name, "name", 200)?;
    validate(&stages, kyso_org::ROLES)?;
    let json = serde_json::to_string(&stages).map_err(|e| WorkflowError::internal("storing a template", e))?;
    let mut tx = store.db.write().await?;
    let replaced = sqlx::query("UPDATE templates SET name = $1, stages = $2 WHERE id = $3")
        .bind(&name)
        .bind(&json)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if !replaced {
        sqlx::query("INSERT INTO templates (id, name, stages) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(&name)
            .bind(&json)
            .execute(&mut *tx)
            .await?;
    }
    let stages_json: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    kyso_org::record(
        &mut tx,
        actor,
        "template_saved",
        None,
        actor.home_org(),
        serde_json::json!({"template": id, "name": name, "stages": stages_json, "replaced": replaced}),
    )
    .await?;
    tx.commit().await?;
    Ok((Template { id: id.to_string(), name, stages }, replaced))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kyso_org::Org;

    fn org(id: &str, parent: Option<&str>, level: &str) -> Org {
        Org { id: id.into(), parent_id: parent.map(Into::into), level: level.into(), name: id.into() }
    }

    fn tree(with_district: bool) -> OrgTree {
        let mut orgs = vec![org("so", None, "department")];
        if with_district {
            orgs.push(org("phong", Some("so"), "district"));
        }
        orgs.push(org("school", Some(if with_district { "phong" } else { "so" }), "school"));
        orgs.push(org("math", Some("school"), "group"));
        OrgTree::new(orgs)
    }

    fn holders(org: &str, role: &str) -> Vec<(String, String)> {
        match (org, role) {
            ("math", "head_of_group") => vec![("h".into(), "head".into())],
            ("school", "principal") => vec![("p".into(), "principal".into())],
            ("phong", "district_officer") | ("so", "district_officer") => vec![("d".into(), "district".into())],
            ("school", "vice_principal") => vec![("v1".into(), "vp1".into()), ("v2".into(), "vp2".into())],
            _ => vec![],
        }
    }

    #[test]
    fn lesson_plan_resolves_up_the_tree_and_falls_back_to_the_department() {
        let steps = plan(&lesson_plan_template(), &tree(true), "math", "t", 0, &holders).unwrap();
        let orgs: Vec<_> = steps.iter().map(|s| s.org_id.as_str()).collect();
        assert_eq!(orgs, ["math", "math", "school", "phong"]);
        assert_eq!(steps[0].assignee_id.as_deref(), Some("t"));
        assert_eq!(steps[3].deadline, 12 * 86_400);
        let steps = plan(&lesson_plan_template(), &tree(false), "math", "t", 0, &holders).unwrap();
        assert_eq!(steps[3].org_id, "so");
    }

    #[test]
    fn all_mode_gives_each_holder_a_field_and_locks_skip_siblings() {
        let mut stages = lesson_plan_template();
        stages[2] = Stage { role: "vice_principal".into(), mode: Mode::All, ..stages[2].clone() };
        let steps = plan(&stages, &tree(true), "math", "t", 0, &holders).unwrap();
        assert_eq!(steps.len(), 5);
        let l = locks(&steps);
        assert_eq!(l[2].name, "3 Hieu truong - vp1");
        assert_eq!(l[2].locks, ["1 Giao vien", "2 To truong", "3 Hieu truong - vp1"]);
        assert_eq!(l[4].locks.len(), 5);
    }

    #[test]
    fn a_stage_nobody_can_sign_is_refused_at_submission() {
        let mut stages = lesson_plan_template();
        stages[1].role = "librarian".into();
        let err = plan(&stages, &tree(true), "math", "t", 0, &holders).unwrap_err();
        assert!(matches!(err, PlanProblem::NoHolder { ref role, .. } if role == "librarian"), "{err}");
        let err = plan(&lesson_plan_template(), &tree(true), "school", "t", 0, &holders).unwrap_err();
        assert!(err.to_string().contains("level group"), "{err}");
    }

    #[test]
    fn templates_are_checked_before_they_are_stored() {
        let roles = kyso_org::ROLES;
        assert!(validate(&lesson_plan_template(), roles).is_ok());
        let broken = |change: &dyn Fn(&mut Vec<Stage>)| {
            let mut stages = lesson_plan_template();
            change(&mut stages);
            validate(&stages, roles).unwrap_err().to_string()
        };
        assert!(broken(&|s| s.clear()).contains("1 to 20 stages"));
        assert!(broken(&|s| s[1].field = "To.truong".into()).contains("field name"), "a period splits PDF field names");
        assert!(broken(&|s| s[1].field = "Tổ trưởng".into()).contains("field name"));
        assert!(broken(&|s| s[2].field = "2 TO TRUONG".into()).contains("used twice"));
        assert!(broken(&|s| s[2].role = "minister".into()).contains("unknown role"));
        assert!(broken(&|s| s[3].levels.clear()).contains("level"));
        assert!(broken(&|s| s[0].days = 0).contains("days"));
        assert!(broken(&|s| s[0].name = " ".into()).contains("name"));
    }
}
