//! What waits for a person: open steps of the current stage they may sign (themselves or for
//! someone who delegated to them), oldest deadline first. The database finds them.

use crate::documents::StepRow;
use crate::error::Result;
use kyso_org::Actor;
use kyso_store::{Binds, Store};
use sqlx::Row;

#[derive(Clone, Debug)]
pub struct InboxItem {
    pub document_id: String,
    pub title: String,
    pub version: i64,
    pub stage: i64,
    pub stage_name: String,
    pub field: String,
    pub deadline: i64,
    pub overdue: bool,
    /// The user name of whoever delegated this stage to the person, if it is theirs by delegation.
    pub on_behalf_of: Option<String>,
    pub submitted_at: i64,
    pub org_id: String,
}

pub async fn inbox(store: &Store, actor: &Actor) -> Result<Vec<InboxItem>> {
    let me = actor.require_user()?.to_string();
    let delegations = kyso_org::delegations::active_for(store, &me).await?;
    let mut binds = Binds::default();
    let me_bind = binds.push(&me);
    let mut holds = vec![format!("s.assignee_id = {me_bind}")];
    for (org, role) in actor.memberships.iter().map(|(o, r)| (o, r)).chain(delegations.iter().map(|(o, r, _)| (o, r))) {
        holds.push(format!("(s.assignee_id IS NULL AND s.org_id = {} AND s.role = {})", binds.push(org), binds.push(role)));
    }
    let sql = format!(
        "SELECT d.id, d.title, d.current_version, s.stage, s.stage_name, s.field, s.org_id, s.role, s.assignee_id, s.allow_repeat, s.deadline, \
         (SELECT COUNT(*) FROM steps m WHERE m.document_id = d.id AND m.version = d.current_version AND m.signed_by = {me_bind}), d.created_at, d.org_id \
         FROM documents d JOIN steps s ON s.document_id = d.id AND s.version = d.current_version \
         WHERE d.status = 'in_progress' AND s.signed_by IS NULL AND ({}) \
         AND s.stage = (SELECT MIN(o.stage) FROM steps o WHERE o.document_id = d.id AND o.version = d.current_version AND o.signed_by IS NULL) \
         ORDER BY s.deadline, d.created_at, d.id",
        holds.join(" OR ")
    );
    let rows = binds.query(sql).fetch_all(&store.db.pool).await?;
    let now = store.now();
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        let step = StepRow {
            version: r.try_get(2)?,
            stage: r.try_get(3)?,
            stage_name: r.try_get(4)?,
            field: r.try_get(5)?,
            org_id: r.try_get(6)?,
            role: r.try_get(7)?,
            assignee_id: r.try_get(8)?,
            allow_repeat: r.try_get::<i64, _>(9)? != 0,
            deadline: r.try_get(10)?,
            signed_by: None,
            on_behalf_of: None,
            signed_at: None,
        };
        let signed_before = r.try_get::<i64, _>(11)? > 0;
        let own = match &step.assignee_id {
            Some(a) => *a == me,
            None => actor.has_role_in(&step.org_id, &step.role),
        };
        let delegated_from = if own {
            None
        } else {
            delegations
                .iter()
                .find(|(o, role, _)| step.assignee_id.is_none() && *o == step.org_id && *role == step.role)
                .map(|d| d.2.clone())
        };
        if !(own || delegated_from.is_some()) || (!step.allow_repeat && signed_before) {
            continue;
        }
        let on_behalf_of = match delegated_from {
            Some(id) => sqlx::query("SELECT username FROM users WHERE id = $1")
                .bind(&id)
                .fetch_optional(&store.db.pool)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?,
            None => None,
        };
        items.push(InboxItem {
            document_id: r.try_get(0)?,
            title: r.try_get(1)?,
            version: step.version,
            stage: step.stage,
            stage_name: step.stage_name,
            field: step.field,
            deadline: step.deadline,
            overdue: step.deadline < now,
            on_behalf_of,
            submitted_at: r.try_get(12)?,
            org_id: r.try_get(13)?,
        });
    }
    Ok(items)
}
