//! A submission attached to an obligation: the owner sends the record, which starts the
//! register's approval chain as an ordinary document (the workflow's submission, so the access
//! rule, blobs, audit and signing are the same), and the obligation points at it.

use crate::error::{RecordsError, Result};
use kyso_org::Actor;
use kyso_store::{Received, Store};
use kyso_workflow::{Cancel, Workflow, documents::DocumentView};
use serde::Serialize;
use sqlx::Row;
use std::sync::Arc;

/// An obligation as its owner sees it before submitting.
#[derive(Clone, Debug, Serialize)]
pub struct Obligation {
    pub id: String,
    pub register_code: String,
    pub register_name: String,
    pub template: String,
    pub owner_type: String,
    pub owner_id: String,
    pub owner_name: String,
    pub unit_id: String,
    pub school_id: String,
    pub period: String,
    pub due_at: i64,
    pub document_id: Option<String>,
}

pub async fn get(store: &Store, id: &str) -> Result<Option<Obligation>> {
    let row = sqlx::query(
        "SELECT o.id, o.register_code, r.name_vi, r.template_id, o.owner_type, o.owner_id, o.owner_name, o.unit_id, o.school_id, p.label, o.due_at, o.document_id \
         FROM obligations o JOIN register_types r ON r.id = o.register_id JOIN periods p ON p.id = o.period_id WHERE o.id = $1",
    )
    .bind(id)
    .fetch_optional(&store.db.pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(Obligation {
        id: r.try_get(0)?,
        register_code: r.try_get(1)?,
        register_name: r.try_get(2)?,
        template: r.try_get(3)?,
        owner_type: r.try_get(4)?,
        owner_id: r.try_get(5)?,
        owner_name: r.try_get(6)?,
        unit_id: r.try_get(7)?,
        school_id: r.try_get(8)?,
        period: r.try_get(9)?,
        due_at: r.try_get(10)?,
        document_id: r.try_get(11)?,
    }))
}

/// Whether `actor` owes `o` (and so may submit it): the person it names; for a subject group
/// its head; for the school its principal (the first signer of the school's chains).
pub fn owes(actor: &Actor, o: &Obligation) -> bool {
    match o.owner_type.as_str() {
        "subject_group" => actor.has_role_in(&o.unit_id, "head_of_group"),
        "school" => actor.has_role_in(&o.school_id, "principal"),
        _ => actor.user_id() == Some(o.owner_id.as_str()),
    }
}

/// The owner submits the record for `obligation_id`. The title defaults to "register — owner —
/// period". Refused when someone else owes it (as if it did not exist) or it was submitted
/// already (its document then carries corrections as new versions).
pub async fn submit(
    wf: &Arc<Workflow>,
    actor: &Actor,
    obligation_id: &str,
    title: Option<&str>,
    upload: Received,
    cancel: &Cancel,
) -> Result<DocumentView> {
    let store = &wf.store;
    let o = get(store, obligation_id).await?.ok_or(RecordsError::NotFound("record"))?;
    if !owes(actor, &o) {
        kyso_org::refused(store, actor, "submit_record", Some(&o.unit_id)).await?;
        return Err(RecordsError::NotFound("record"));
    }
    if o.document_id.is_some() {
        return Err(RecordsError::AlreadySubmitted);
    }
    let default_title = format!("{} — {} — {}", o.register_name, o.owner_name, o.period);
    let title = title.filter(|t| !t.trim().is_empty()).unwrap_or(&default_title);
    let s = kyso_workflow::submit::Submission { title, template: &o.template, org: Some(&o.unit_id), on_behalf_of: None };
    let view = kyso_workflow::submit::submit(wf, actor, s, upload, cancel).await?;
    let mut tx = store.db.write().await?;
    let linked = sqlx::query("UPDATE obligations SET document_id = $1, state = 'draft' WHERE id = $2 AND document_id IS NULL")
        .bind(&view.doc.id)
        .bind(&o.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if linked == 0 {
        // Two submissions raced: the other one is the record; this document stays in the
        // submitter's list as an ordinary document.
        return Err(RecordsError::AlreadySubmitted);
    }
    let year_id: String = sqlx::query("SELECT year_id FROM obligations WHERE id = $1").bind(&o.id).fetch_one(&mut *tx).await?.try_get(0)?;
    crate::dashboard::retally(&mut tx, &year_id).await?;
    kyso_org::record(
        &mut tx,
        actor,
        "record_submitted",
        Some(&view.doc.id),
        Some(&o.unit_id),
        serde_json::json!({"obligation": o.id, "register": o.register_code, "period": o.period}),
    )
    .await?;
    tx.commit().await?;
    Ok(view)
}
