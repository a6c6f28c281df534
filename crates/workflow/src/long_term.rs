//! Long-term validation data for a finished chain: once the last stage is signed, the document
//! gets a DSS (PAdES B-LT) with every signer's certificates and an OCSP response or CRL for each
//! (the operator's local CRLs where the CA cannot be reached), so an auditor can verify it years
//! later without the network. A failure leaves the signed document as it was (logged).

use crate::Workflow;
use crate::error::{Result, WorkflowError};
use kyso_org::Actor;
use std::io::{BufWriter, Write};
use std::sync::Arc;
use std::time::Duration;

/// Adds the DSS to version `version` of `doc_id`, whose current blob is `source`; returns the new
/// blob, or `None` when no revocation data could be had (the document stays B-B/B-T).
pub(crate) async fn add(
    wf: &Arc<Workflow>,
    actor: &Actor,
    doc_id: &str,
    org_id: &str,
    version: i64,
    source: &str,
) -> Result<Option<String>> {
    let (w, src) = (wf.clone(), source.to_string());
    let made = wf
        .store
        .cpu
        .run("system:long-term", move || -> Result<Option<tempfile::NamedTempFile>> {
            let file = w.store.blobs.open_blob(&src)?;
            let input = kyso_validate::Input::file(&file)?;
            let sets = kyso_validate::signature_certificates_of(input).map_err(|e| WorkflowError::internal("reading the signatures", e))?;
            let all: Vec<x509_cert::Certificate> = sets.concat();
            let material = kyso_ltv::gather_with(&all, Duration::from_secs(10), w.revocation.local_crls())
                .map_err(|e| WorkflowError::internal("gathering revocation data", e))?;
            if material.ocsps.is_empty() && material.crls.is_empty() {
                return Ok(None);
            }
            let mut doc = kyso_pdf::Document::open(std::io::BufReader::new(w.store.blobs.open_blob(&src)?))?;
            let mut update = kyso_pdf::Update::new(&mut doc)?;
            doc.add_dss(&mut update, &material)?;
            let mut tmp = w.store.blobs.temp()?;
            {
                let mut out = BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
                update.write(&mut doc, &mut out, &mut |_| {})?;
                out.flush()?;
            }
            Ok(Some(tmp))
        })
        .await??;
    let Some(tmp) = made else { return Ok(None) };
    let blobs = wf.store.blobs.clone();
    let new_sha = tokio::task::spawn_blocking(move || blobs.commit(tmp))
        .await
        .map_err(|e| WorkflowError::internal("storing the long-term data", e))??;
    let mut tx = wf.store.db.write().await?;
    let moved = sqlx::query("UPDATE versions SET current_sha256 = $1 WHERE document_id = $2 AND version = $3 AND current_sha256 = $4")
        .bind(&new_sha)
        .bind(doc_id)
        .bind(version)
        .bind(source)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if moved != 1 {
        return Err(WorkflowError::ConcurrentChange);
    }
    kyso_org::append(
        &mut tx,
        "system",
        "long_term_data",
        Some(doc_id),
        Some(org_id),
        serde_json::json!({"version": version, "sha256": new_sha, "after": actor.name()}),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(new_sha))
}
