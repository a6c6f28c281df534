//! Approving (signing) a stage, returning a document, and approving many at once. The document's
//! lock is held from reading the target to recording the signature, so one stage is signed once.

use crate::commit::commit_signature;
use crate::documents::{self, DocRow, DocumentView, StepRow, doc_columns, doc_from_row};
use crate::error::{Refusal, Result, WorkflowError};
use crate::{Workflow, signing};
use kyso_org::{Actor, OrgTree};
use kyso_pades::Approval;
use kyso_signers::SignerKey;
use sqlx::Row;
use std::sync::Arc;

/// The longest reason a signer or a returner may give.
pub const MAX_REASON: usize = 2000;
/// The most documents one batch may hold.
pub const MAX_BATCH: usize = 2000;

/// The step the actor signs now, and for whom.
#[derive(Clone, Debug)]
pub(crate) struct SignTarget {
    pub doc: DocRow,
    /// Every step of the current version, as read under the document's lock.
    pub steps: Vec<StepRow>,
    pub step: StepRow,
    pub on_behalf_of: Option<String>,
    pub source_sha: String,
    pub certify: bool,
}

/// Whether `actor` may take part in `step` themselves: its assignee, or a holder of its role in its unit.
fn eligible(actor: &Actor, step: &StepRow) -> bool {
    match (&step.assignee_id, actor.user_id()) {
        (Some(a), Some(me)) => a == me,
        (None, Some(_)) => actor.has_role_in(&step.org_id, &step.role),
        _ => false,
    }
}

pub(crate) async fn sign_target(wf: &Workflow, actor: &Actor, id: &str) -> Result<SignTarget> {
    let store = &wf.store;
    let me = actor.require_user()?.to_string();
    // The document with its current version's blob, in one statement.
    let row = sqlx::query(concat!(
        "SELECT ",
        doc_columns!(),
        ", (SELECT current_sha256 FROM versions v WHERE v.document_id = documents.id AND v.version = documents.current_version) FROM documents WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&store.db.pool)
    .await?
    .ok_or(WorkflowError::NotFound("document"))?;
    let (doc, source_sha): (DocRow, String) = (doc_from_row(&row)?, row.try_get(10)?);
    let steps = documents::load_steps(store, &doc.id, doc.current_version).await?;
    // Delegations matter only to someone who holds no open step of the current stage themselves.
    let holds_open_step = documents::current_stage(&steps)
        .is_some_and(|stage| steps.iter().any(|s| s.stage == stage && s.signed_by.is_none() && eligible(actor, s)));
    let delegations = if holds_open_step { Vec::new() } else { kyso_org::delegations::active_for(store, &me).await? };
    let delegated =
        |s: &StepRow| delegations.iter().find(|(org, role, _)| *org == s.org_id && *role == s.role).map(|(_, _, from)| from.clone());
    let involved = steps.iter().any(|s| eligible(actor, s) || (s.assignee_id.is_none() && delegated(s).is_some()));
    if !involved {
        let tree = OrgTree::load(&store.db.pool).await?;
        if !documents::access_for(store, actor, &tree).await?.allows(&doc, &steps) {
            return Err(WorkflowError::NotFound("document"));
        }
    }
    match doc.status.as_str() {
        "in_progress" => {}
        "completed" => return Err(WorkflowError::Completed),
        _ => return Err(WorkflowError::Returned),
    }
    let stage = documents::current_stage(&steps).ok_or(WorkflowError::Completed)?;
    let open: Vec<&StepRow> = steps.iter().filter(|s| s.stage == stage && s.signed_by.is_none()).collect();
    let (step, on_behalf_of) = if let Some(s) = open.iter().find(|s| eligible(actor, s)) {
        ((*s).clone(), None)
    } else if let Some((s, from)) = open.iter().filter(|s| s.assignee_id.is_none()).find_map(|s| delegated(s).map(|f| (*s, f))) {
        (s.clone(), Some(from))
    } else if steps.iter().any(|s| s.signed_by.is_none() && (eligible(actor, s) || delegated(s).is_some())) {
        return Err(WorkflowError::NotYourTurn { waiting: open[0].stage_name.clone() });
    } else {
        kyso_org::refused(store, actor, "approve", Some(&doc.org_id)).await?;
        return Err(WorkflowError::Forbidden(Refusal::NoOpenStage));
    };
    if !step.allow_repeat && steps.iter().any(|s| s.signed_by.as_deref() == Some(me.as_str())) {
        kyso_org::refused(store, actor, "approve", Some(&doc.org_id)).await?;
        return Err(WorkflowError::Forbidden(Refusal::SignedEarlierStage));
    }
    let certify = stage == 0 && !steps.iter().any(|s| s.signed_by.is_some());
    Ok(SignTarget { doc, steps, step, on_behalf_of, source_sha, certify })
}

fn approval_for(actor: &Actor, key: &SignerKey, t: &SignTarget, reason: Option<String>) -> Approval {
    let reason = reason.or_else(|| Some(format!("Phê duyệt: {}", t.step.stage_name)));
    Approval {
        field: t.step.field.clone(),
        certify: t.certify,
        signer_name: actor.display_name().to_string(),
        reason,
        identity_note: key.identity_note.clone(),
    }
}

fn check_reason(reason: Option<&str>) -> Result<Option<String>> {
    Ok(kyso_org::text::optional_line(reason, "reason", MAX_REASON)?)
}

/// Whether the actor's key is a remote provider's: approving then waits for a phone, and the
/// edge runs it as an operation. Checks first that the actor could sign the document now.
pub async fn check_can_approve(wf: &Arc<Workflow>, actor: &Actor, id: &str) -> Result<bool> {
    let me = actor.require_user()?;
    sign_target(wf, actor, id).await?;
    Ok(wf.signers.require_ready(&wf.store, me).await?)
}

/// Whether the actor signs with a remote provider's key.
pub async fn signs_remotely(wf: &Workflow, actor: &Actor) -> Result<bool> {
    Ok(wf.signers.is_remote(&wf.store, actor.require_user()?).await?)
}

/// Checks the signer's revocation status, then runs `sign` where it belongs: queued for a core
/// with a local key, on a blocking thread of its own with a remote one (which may wait minutes
/// for the signer's phone). Returns what the check found, for the audit entry, and the result.
async fn sign_checked<T: Send + 'static>(
    wf: &Arc<Workflow>,
    actor: &Actor,
    key: Arc<SignerKey>,
    sign: impl FnOnce(&Workflow, &SignerKey, i64) -> T + Send + 'static,
) -> Result<(String, T)> {
    let now = wf.store.now();
    let chain = key.chain.0.clone();
    let revocation = match wf.revocation.cached(&chain, now.max(0) as u64) {
        Some(answer) => answer,
        None => {
            let gate = wf.revocation.clone();
            tokio::task::spawn_blocking(move || gate.check(&chain, now.max(0) as u64))
                .await
                .map_err(|e| WorkflowError::internal("checking revocation", e))?
        }
    }
    .map_err(WorkflowError::Revocation)?;
    let (w, remote) = (wf.clone(), key.remote);
    let work = move || sign(&w, &key, now);
    let result = if remote {
        tokio::task::spawn_blocking(work).await.map_err(|e| WorkflowError::internal("signing", e))?
    } else {
        wf.store.cpu.run(&actor.owner(), work).await?
    };
    Ok((revocation, result))
}

/// Signs the actor's stage of document `id` now (holding the document's lock) and returns the
/// document as it then stands. With a remote key this waits for the signer's confirmation.
pub async fn approve_now(wf: &Arc<Workflow>, actor: &Actor, id: &str, reason: Option<&str>) -> Result<DocumentView> {
    let reason = check_reason(reason)?;
    let me = actor.require_user()?.to_string();
    let _doc_guard = wf.lock_document(id).await;
    let target = sign_target(wf, actor, id).await?;
    let key = wf.signers.open_for(&wf.store, &me).await?;
    let approval = approval_for(actor, &key, &target, reason.clone());
    let source = target.source_sha.clone();
    let (revocation, signed) =
        sign_checked(wf, actor, key, move |w, key, now| signing::sign_stage(&w.store.blobs, &source, key, &approval, now)).await?;
    let signed = signed?;
    // Syncing the file to disk waits for the disk, so it runs outside the CPU queue.
    let blobs = wf.store.blobs.clone();
    let new_sha = tokio::task::spawn_blocking(move || blobs.commit(signed))
        .await
        .map_err(|e| WorkflowError::internal("storing the signed document", e))??;
    let (doc, steps) = commit_signature(wf, actor, target, new_sha.clone(), reason, revocation).await?;
    if doc.status == "completed" {
        finish_chain(wf, actor, &doc, &new_sha).await;
    }
    documents::view(&wf.store, doc, steps).await
}

/// The chain is complete: the document gets its long-term validation data (logged, not fatal:
/// the signatures stand without it).
async fn finish_chain(wf: &Arc<Workflow>, actor: &Actor, doc: &DocRow, sha: &str) {
    if !wf.long_term_data {
        return;
    }
    match crate::long_term::add(wf, actor, &doc.id, &doc.org_id, doc.current_version, sha).await {
        Ok(Some(_)) => {}
        Ok(None) => tracing::warn!(document = %doc.id, "no revocation data could be had: the completed document carries no long-term data"),
        Err(e) => tracing::warn!(document = %doc.id, error = %e, "adding long-term data failed; the signed document stands as it is"),
    }
}

/// Anyone who could sign the current stage may instead return the document, with a reason.
pub async fn return_document(wf: &Arc<Workflow>, actor: &Actor, id: &str, reason: &str) -> Result<DocumentView> {
    let reason = kyso_org::text::paragraph(reason, "reason", MAX_REASON)?;
    let _doc_guard = wf.lock_document(id).await;
    let target = sign_target(wf, actor, id).await?;
    let mut tx = wf.store.db.write().await?;
    let changed = sqlx::query("UPDATE documents SET status = 'returned', return_reason = $1, updated_at = $2 WHERE id = $3 AND status = 'in_progress' AND current_version = $4")
        .bind(&reason)
        .bind(tx.now())
        .bind(id)
        .bind(target.doc.current_version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if changed != 1 {
        return Err(WorkflowError::ConcurrentChange);
    }
    kyso_org::record(
        &mut tx,
        actor,
        "return",
        Some(id),
        Some(&target.doc.org_id),
        serde_json::json!({"version": target.doc.current_version, "stage": target.step.stage, "reason": reason, "on_behalf_of": target.on_behalf_of}),
    )
    .await?;
    tx.commit().await?;
    let doc = documents::load_document(&wf.store, id).await?.ok_or(WorkflowError::NotFound("document"))?;
    let steps = documents::load_steps(&wf.store, id, doc.current_version).await?;
    documents::view(&wf.store, doc, steps).await
}

/// One document's outcome in a batch.
pub struct BatchResult {
    pub document_id: String,
    /// The signed file's SHA-256, or why this document was not signed.
    pub outcome: Result<String>,
}

/// Checks a batch request's size and ids.
pub fn check_batch(ids: &[String]) -> Result<()> {
    if ids.is_empty() || ids.len() > MAX_BATCH || ids.iter().any(|i| i.is_empty() || i.len() > 64) {
        return Err(WorkflowError::BatchSize { max: MAX_BATCH });
    }
    Ok(())
}

/// A principal approves many documents in one step: one key operation for the lot where the
/// backend allows (one phone confirmation). Each document succeeds or fails on its own.
pub async fn batch_now(wf: &Arc<Workflow>, actor: &Actor, ids: &[String], reason: Option<&str>) -> Result<Vec<BatchResult>> {
    let me = actor.require_user()?.to_string();
    check_batch(ids)?;
    let reason = check_reason(reason)?;
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    // Lock every document's stripe, in stripe order (no deadlock with single approvals).
    let _guards = wf.lock_documents(&ids).await;
    let mut results = Vec::new();
    let mut targets = Vec::new();
    for id in &ids {
        match sign_target(wf, actor, id).await {
            Ok(t) if t.certify => results.push(BatchResult { document_id: id.clone(), outcome: Err(WorkflowError::CertifyInBatch) }),
            Ok(t) => targets.push(t),
            Err(e) => results.push(BatchResult { document_id: id.clone(), outcome: Err(e) }),
        }
    }
    if targets.is_empty() {
        return Ok(results);
    }
    let key = wf.signers.open_for(&wf.store, &me).await?;
    let items: Vec<(String, Approval)> =
        targets.iter().map(|t| (t.source_sha.clone(), approval_for(actor, &key, t, reason.clone()))).collect();
    let (revocation, signed) =
        sign_checked(wf, actor, key, move |w, key, now| signing::sign_stages_batch(&w.store.blobs, &items, key, now)).await?;
    // Syncing the files waits for the disk: outside the CPU queue, as for one approval.
    let blobs = wf.store.blobs.clone();
    let stored =
        tokio::task::spawn_blocking(move || signed.into_iter().map(|r| r.and_then(|tmp| Ok(blobs.commit(tmp)?))).collect::<Vec<_>>())
            .await
            .map_err(|e| WorkflowError::internal("storing signed documents", e))?;
    for (t, outcome) in targets.into_iter().zip(stored) {
        let id = t.doc.id.clone();
        let outcome = match outcome {
            Ok(sha) => match commit_signature(wf, actor, t, sha.clone(), reason.clone(), revocation.clone()).await {
                Ok((doc, _)) if doc.status == "completed" => {
                    finish_chain(wf, actor, &doc, &sha).await;
                    Ok(sha)
                }
                other => other.map(|_| sha),
            },
            Err(e) => Err(e),
        };
        results.push(BatchResult { document_id: id, outcome });
    }
    Ok(results)
}
