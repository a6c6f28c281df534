//! Group commit of signatures. Every signature's rows and audit entry go through the one write
//! lock, and a commit waits for the disk: one transaction each made the lock the bottleneck under
//! load (fifty approvers spent most of their time queued for it). So a committer queues its
//! signature and the first to become leader records everything queued, in one transaction and one
//! disk flush; the others find their outcome ready. If anything in a group fails, each signature
//! is committed in a transaction of its own, so a failure stays with its request.

use crate::Workflow;
use crate::approve::SignTarget;
use crate::documents::{DocRow, StepRow};
use crate::error::{Result, WorkflowError};
use kyso_org::Actor;
use kyso_store::WriteTx;
use std::sync::Arc;

/// A signature made and waiting to be recorded, and where its outcome goes.
struct Pending {
    actor: Actor,
    target: SignTarget,
    new_sha: String,
    reason: Option<String>,
    revocation: String,
    reply: tokio::sync::oneshot::Sender<Result<(DocRow, Vec<StepRow>)>>,
}

#[derive(Default)]
pub(crate) struct SignatureQueue {
    pending: std::sync::Mutex<Vec<Pending>>,
    leader: tokio::sync::Mutex<()>,
}

/// Records a signed step: the step, the version's new blob (only if nobody moved it meanwhile),
/// the document's status and the audit entry, committed together (with other signatures queued
/// at the same time). Returns the document and its steps as they now stand.
pub(crate) async fn commit_signature(
    wf: &Arc<Workflow>,
    actor: &Actor,
    target: SignTarget,
    new_sha: String,
    reason: Option<String>,
    revocation: String,
) -> Result<(DocRow, Vec<StepRow>)> {
    actor.require_user()?;
    let (reply, mut outcome) = tokio::sync::oneshot::channel();
    let job = Pending { actor: actor.clone(), target, new_sha, reason, revocation, reply };
    wf.queue.pending.lock().expect("signature queue lock").push(job);
    {
        let _leader = wf.queue.leader.lock().await;
        // A leader before us may have taken ours; if not, it is still queued, and we lead.
        if let Ok(result) = outcome.try_recv() {
            return result;
        }
        let group = std::mem::take(&mut *wf.queue.pending.lock().expect("signature queue lock"));
        // In a task of its own: a client hanging up must not cancel others' commits halfway.
        let w = wf.clone();
        tokio::spawn(async move { commit_group(&w, group).await })
            .await
            .map_err(|e| WorkflowError::internal("committing signatures", e))?;
    }
    outcome.await.unwrap_or_else(|_| Err(WorkflowError::internal("committing a signature", "its outcome was lost")))
}

async fn commit_group(wf: &Workflow, group: Vec<Pending>) {
    if group.len() > 1 {
        let together = async {
            let mut tx = wf.store.db.write().await?;
            let mut outcomes = Vec::with_capacity(group.len());
            for job in &group {
                outcomes.push(apply(&mut tx, job).await?);
            }
            tx.commit().await?;
            Ok::<_, WorkflowError>(outcomes)
        };
        match together.await {
            Ok(outcomes) => {
                for (job, outcome) in group.into_iter().zip(outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
                return;
            }
            Err(e) => tracing::info!(signatures = group.len(), error = %e, "a group commit failed; committing one at a time"),
        }
    }
    for job in group {
        let alone = async {
            let mut tx = wf.store.db.write().await?;
            let outcome = apply(&mut tx, &job).await?;
            tx.commit().await?;
            Ok(outcome)
        };
        let outcome = alone.await;
        let _ = job.reply.send(outcome);
    }
}

/// One signature's rows and audit entry, inside `tx`.
async fn apply(tx: &mut WriteTx<'_>, job: &Pending) -> Result<(DocRow, Vec<StepRow>)> {
    let (actor, t, new_sha) = (&job.actor, &job.target, job.new_sha.as_str());
    let me = actor.require_user()?;
    let at = tx.now();
    let moved = sqlx::query("UPDATE versions SET current_sha256 = $1 WHERE document_id = $2 AND version = $3 AND current_sha256 = $4")
        .bind(new_sha)
        .bind(&t.doc.id)
        .bind(t.doc.current_version)
        .bind(&t.source_sha)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    let signed = sqlx::query("UPDATE steps SET signed_by = $1, on_behalf_of = $2, signed_at = $3 WHERE document_id = $4 AND version = $5 AND field = $6 AND signed_by IS NULL")
        .bind(me)
        .bind(&t.on_behalf_of)
        .bind(at)
        .bind(&t.doc.id)
        .bind(t.doc.current_version)
        .bind(&t.step.field)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if moved != 1 || signed != 1 {
        // The transaction is rolled back; the new blob stays unreferenced.
        return Err(WorkflowError::ConcurrentChange);
    }
    // The status follows from the steps left open, read in the same statement.
    let status: String = {
        use sqlx::Row;
        sqlx::query(
            "UPDATE documents SET status = CASE WHEN EXISTS (SELECT 1 FROM steps WHERE document_id = $1 AND version = $2 AND signed_by IS NULL) THEN 'in_progress' ELSE 'completed' END, updated_at = $3 WHERE id = $1 AND current_version = $2 AND status = 'in_progress' RETURNING status",
        )
        .bind(&t.doc.id)
        .bind(t.doc.current_version)
        .bind(at)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(WorkflowError::ConcurrentChange)?
        .try_get(0)?
    };
    let completed = status == "completed";
    kyso_org::record(
        tx,
        actor,
        "sign",
        Some(&t.doc.id),
        Some(&t.doc.org_id),
        serde_json::json!({"version": t.doc.current_version, "field": t.step.field, "stage": t.step.stage, "on_behalf_of": t.on_behalf_of, "sha256": new_sha, "reason": job.reason, "completed": completed, "revocation": job.revocation}),
    )
    .await?;
    let doc = DocRow { status, updated_at: at, ..t.doc.clone() };
    let mut steps = t.steps.clone();
    for s in steps.iter_mut().filter(|s| s.field == t.step.field) {
        (s.signed_by, s.on_behalf_of, s.signed_at) = (Some(me.to_string()), t.on_behalf_of.clone(), Some(at));
    }
    Ok((doc, steps))
}
