//! Submitting a document into a chain, and a returned document's new version. The upload
//! arrives as a received temporary file (streamed, hashed, bounded by the edge); the stage fields
//! are added on the processor queue; then the blobs and the rows are stored together: the blobs
//! are made durable just before the transaction, and removed again if it fails, so an upload is
//! never kept without its row.

use crate::documents::{self, DocRow, DocumentView, doc_columns};
use crate::error::{Refusal, Result, WorkflowError};
use crate::templates::{self, StepPlan};
use crate::{Cancel, Workflow, signing};
use kyso_org::{Actor, OrgTree, Principal};
use kyso_store::{Binds, Received, WriteTx};
use sqlx::Row;
use std::sync::Arc;

/// The longest title.
pub const MAX_TITLE: usize = 300;

/// What a submitter says about a new document.
pub struct Submission<'a> {
    pub title: &'a str,
    pub template: &'a str,
    /// The submitter's unit, when they hold roles in several.
    pub org: Option<&'a str>,
    /// For API clients: the person submitting through them.
    pub on_behalf_of: Option<&'a str>,
}

/// Resolves every stage's unit and holders for a document of `org_id`.
async fn plan_steps(wf: &Workflow, tree: &OrgTree, stages: &[templates::Stage], org_id: &str, submitter_id: &str) -> Result<Vec<StepPlan>> {
    // Only the units the chain can reach: the submitter's and those above it.
    let units: Vec<&str> = tree.ancestors_or_self(org_id).iter().map(|o| o.id.as_str()).collect();
    let mut binds = Binds::default();
    let listed = binds.push_list(units.iter().copied());
    let rows = binds
        .query(format!(
            "SELECT m.org_id, m.role, u.id, u.username FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id IN ({listed}) AND u.disabled_at IS NULL ORDER BY u.username"
        ))
        .fetch_all(&wf.store.db.pool)
        .await?;
    let members: Vec<(String, String, String, String)> =
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))).collect::<Result<_, sqlx::Error>>()?;
    let holders = |org: &str, role: &str| -> Vec<(String, String)> {
        members.iter().filter(|m| m.0 == org && m.1 == role).map(|m| (m.2.clone(), m.3.clone())).collect()
    };
    templates::plan(stages, tree, org_id, submitter_id, wf.store.now(), &holders).map_err(WorkflowError::ChainCannotStart)
}

/// The submitter (the actor, or the person a client submits for) and their memberships.
async fn submitter(wf: &Workflow, actor: &Actor, tree: &OrgTree, on_behalf_of: Option<&str>) -> Result<(String, Vec<(String, String)>)> {
    match &actor.principal {
        Principal::User { id, .. } => Ok((id.clone(), actor.memberships.clone())),
        Principal::Client { org_id, .. } => {
            let username = on_behalf_of.ok_or(WorkflowError::Forbidden(Refusal::OnBehalfOfNeeded))?;
            let person =
                kyso_org::people::by_username(&wf.store, username).await?.filter(|p| !p.disabled).ok_or(WorkflowError::NotFound("user"))?;
            if !person.memberships.iter().any(|(o, _)| tree.is_within(o, org_id)) {
                return Err(WorkflowError::Forbidden(Refusal::OutsideClient));
            }
            Ok((person.id, person.memberships))
        }
    }
}

fn submitter_unit(memberships: &[(String, String)], asked: Option<&str>) -> Result<String> {
    match asked {
        Some(o) if memberships.iter().any(|(m, _)| m == o) => Ok(o.to_string()),
        Some(_) => Err(WorkflowError::Forbidden(Refusal::NoRoleThere)),
        None => {
            let mut orgs: Vec<&String> = memberships.iter().map(|(o, _)| o).collect();
            orgs.sort();
            orgs.dedup();
            match orgs[..] {
                [one] => Ok(one.clone()),
                [] => Err(WorkflowError::Forbidden(Refusal::NoRoleThere)),
                _ => Err(WorkflowError::Forbidden(Refusal::WhichOrganisation)),
            }
        }
    }
}

/// Adds the stage fields on the processor queue, then makes the original and the prepared file
/// blobs. Returns (original, prepared) blob names.
async fn prepare_blobs(
    wf: &Arc<Workflow>,
    actor: &Actor,
    upload: Received,
    plan: &[StepPlan],
    cancel: &Cancel,
) -> Result<(String, String)> {
    if upload.len == 0 {
        return Err(WorkflowError::EmptyUpload);
    }
    let fields = templates::locks(plan);
    let (w, c) = (wf.clone(), cancel.clone());
    let source = upload.open()?;
    let prepared = wf
        .store
        .cpu
        .run(&actor.owner(), move || signing::add_stage_fields(&w.store.blobs, source, &fields, &|| c.is_cancelled()))
        .await??;
    if cancel.is_cancelled() {
        return Err(WorkflowError::Cancelled);
    }
    let blobs = wf.store.blobs.clone();
    tokio::task::spawn_blocking(move || -> Result<(String, String)> { Ok((blobs.commit_received(upload)?, blobs.commit(prepared)?)) })
        .await
        .map_err(|e| WorkflowError::internal("storing the upload", e))?
}

/// Removes blobs no row names (after a transaction that would have named them failed).
async fn forget_unreferenced(wf: &Workflow, names: &[String]) {
    for name in names {
        let referenced = sqlx::query("SELECT 1 FROM versions WHERE original_sha256 = $1 OR current_sha256 = $1")
            .bind(name)
            .fetch_optional(&wf.store.db.pool)
            .await
            .map(|r| r.is_some())
            .unwrap_or(true);
        if !referenced {
            let (blobs, n) = (wf.store.blobs.clone(), name.clone());
            let _ = tokio::task::spawn_blocking(move || blobs.remove(&n)).await;
        }
    }
}

async fn insert_version(tx: &mut WriteTx<'_>, doc_id: &str, version: i64, blobs: &(String, String), plan: &[StepPlan]) -> Result<()> {
    let created = tx.now();
    sqlx::query("INSERT INTO versions (document_id, version, original_sha256, current_sha256, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(doc_id)
        .bind(version)
        .bind(&blobs.0)
        .bind(&blobs.1)
        .bind(created)
        .execute(&mut **tx)
        .await?;
    for s in plan {
        sqlx::query("INSERT INTO steps (document_id, version, field, stage, stage_name, org_id, role, assignee_id, allow_repeat, deadline) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(doc_id)
            .bind(version)
            .bind(&s.field)
            .bind(s.stage as i64)
            .bind(&s.stage_name)
            .bind(&s.org_id)
            .bind(&s.role)
            .bind(&s.assignee_id)
            .bind(s.allow_repeat as i64)
            .bind(s.deadline)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Submits `upload` as a new document into the chain of `s.template`.
pub async fn submit(wf: &Arc<Workflow>, actor: &Actor, s: Submission<'_>, upload: Received, cancel: &Cancel) -> Result<DocumentView> {
    actor.require_scope("documents:submit")?;
    let title = kyso_org::text::line(s.title, "title", MAX_TITLE)?;
    let tree = OrgTree::load(&wf.store.db.pool).await?;
    let (submitter_id, memberships) = submitter(wf, actor, &tree, s.on_behalf_of).await?;
    let org_id = submitter_unit(&memberships, s.org)?;
    let template = templates::get(&wf.store, s.template).await?;
    let plan = plan_steps(wf, &tree, &template.stages, &org_id, &submitter_id).await?;
    let blobs = prepare_blobs(wf, actor, upload, &plan, cancel).await?;
    let doc_id = kyso_store::new_id();
    let stored = async {
        let mut tx = wf.store.db.write().await?;
        let created = tx.now();
        sqlx::query(concat!("INSERT INTO documents (", doc_columns!(), ") VALUES ($1, $2, $3, $4, $5, 'in_progress', 1, NULL, $6, $6)"))
            .bind(&doc_id)
            .bind(&org_id)
            .bind(&submitter_id)
            .bind(&template.id)
            .bind(&title)
            .bind(created)
            .execute(&mut *tx)
            .await?;
        insert_version(&mut tx, &doc_id, 1, &blobs, &plan).await?;
        kyso_org::record(
            &mut tx,
            actor,
            "submit",
            Some(&doc_id),
            Some(&org_id),
            serde_json::json!({"version": 1, "title": title, "sha256": blobs.1, "template": template.id}),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, WorkflowError>(created)
    }
    .await;
    let created = match stored {
        Ok(c) => c,
        Err(e) => {
            forget_unreferenced(wf, &[blobs.0.clone(), blobs.1.clone()]).await;
            return Err(e);
        }
    };
    let doc = DocRow {
        id: doc_id.clone(),
        org_id,
        submitter_id,
        template_id: template.id,
        title,
        status: "in_progress".into(),
        current_version: 1,
        return_reason: None,
        created_at: created,
        updated_at: created,
    };
    let steps = documents::load_steps(&wf.store, &doc_id, 1).await?;
    documents::view(&wf.store, doc, steps).await
}

/// A returned document comes back as a new version; its chain starts again from the first stage.
pub async fn resubmit(wf: &Arc<Workflow>, actor: &Actor, id: &str, upload: Received, cancel: &Cancel) -> Result<DocumentView> {
    actor.require_scope("documents:submit")?;
    let (doc, _) = documents::visible(&wf.store, actor, id).await?;
    if actor.user_id() != Some(doc.submitter_id.as_str()) {
        kyso_org::refused(&wf.store, actor, "resubmit", Some(&doc.org_id)).await?;
        return Err(WorkflowError::Forbidden(Refusal::NotSubmitter));
    }
    if doc.status != "returned" {
        return Err(WorkflowError::NotReturned { status: doc.status });
    }
    let tree = OrgTree::load(&wf.store.db.pool).await?;
    let template = templates::get(&wf.store, &doc.template_id).await?;
    let plan = plan_steps(wf, &tree, &template.stages, &doc.org_id, &doc.submitter_id).await?;
    let blobs = prepare_blobs(wf, actor, upload, &plan, cancel).await?;
    let version = doc.current_version + 1;
    let stored = async {
        let mut tx = wf.store.db.write().await?;
        let changed = sqlx::query("UPDATE documents SET status = 'in_progress', current_version = $1, return_reason = NULL, updated_at = $2 WHERE id = $3 AND current_version = $4 AND status = 'returned'")
            .bind(version)
            .bind(tx.now())
            .bind(&doc.id)
            .bind(doc.current_version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed != 1 {
            return Err(WorkflowError::ConcurrentChange);
        }
        insert_version(&mut tx, &doc.id, version, &blobs, &plan).await?;
        kyso_org::record(&mut tx, actor, "resubmit", Some(&doc.id), Some(&doc.org_id), serde_json::json!({"version": version, "sha256": blobs.1})).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    if let Err(e) = stored {
        forget_unreferenced(wf, &[blobs.0.clone(), blobs.1.clone()]).await;
        return Err(e);
    }
    let doc = documents::load_document(&wf.store, &doc.id).await?.ok_or(WorkflowError::NotFound("document"))?;
    let steps = documents::load_steps(&wf.store, &doc.id, version).await?;
    documents::view(&wf.store, doc, steps).await
}
