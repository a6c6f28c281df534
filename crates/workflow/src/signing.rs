//! The blocking PDF work of a chain: stage fields at submission, one signature per approval,
//! many in a batch. Everything reads a blob and writes a new temporary file of the store;
//! nothing is changed in place, so a crash in the middle leaves the stored document as it was.

use crate::error::Result;
use crate::templates::StageField;
use kyso_pades::batch::{BatchItem, sign_batch};
use kyso_pades::{Approval, certinfo};
use kyso_pdf::{Document, FieldLock, Placement};
use kyso_signers::SignerKey;
use kyso_store::BlobStore;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};

/// A document opened for an update: the stored blob, or a clean rewrite of a damaged one.
pub type SigningDocument<R = BufReader<File>> = Document<kyso_pdf::UpdateSource<R, File>>;

/// Opens a PDF for an update (see [`kyso_pdf::open_for_update`]: damaged files are rewritten in
/// full into a temporary file first; hybrid files whose readings disagree are refused).
pub fn open_for_update<R: Read + Seek>(source: R) -> kyso_pdf::Result<SigningDocument<R>> {
    kyso_pdf::open_for_update(source, tempfile::tempfile)
}

/// Where field `i` of a chain sits on the last page: four boxes to a row from the bottom left.
fn stage_placement(i: usize, page: usize) -> Placement {
    let (col, row) = ((i % 4) as f64, (i / 4) as f64);
    Placement::Visible { page, rect: [20.0 + col * 140.0, 20.0 + row * 66.0, 150.0 + col * 140.0, 80.0 + row * 66.0] }
}

/// Adds one empty, locked signature field per stage (one incremental update each) to the PDF in
/// `source`. Returns the temporary file holding the result (not yet a blob). Fails on a
/// document that is already certified or has a field of the same name.
pub fn add_stage_fields(
    blobs: &BlobStore,
    source: File,
    fields: &[StageField],
    cancelled: &dyn Fn() -> bool,
) -> Result<tempfile::NamedTempFile> {
    let mut current: Option<tempfile::NamedTempFile> = None;
    let mut input = source;
    for (i, field) in fields.iter().enumerate() {
        if cancelled() {
            return Err(crate::WorkflowError::Cancelled);
        }
        let mut doc = open_for_update(BufReader::new(input))?;
        let last_page = doc.pages()?.len().max(1);
        let mut update = kyso_pdf::Update::new(&mut doc)?;
        doc.add_empty_field(&mut update, &field.name, &stage_placement(i, last_page), Some(&FieldLock::Include(field.locks.clone())))?;
        let mut tmp = blobs.temp()?;
        {
            let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
            update.write(&mut doc, &mut w, &mut |_| {})?;
            w.flush()?;
        }
        input = File::open(tmp.path())?;
        current = Some(tmp);
    }
    match current {
        Some(tmp) => Ok(tmp),
        None => {
            // No stage needs a field: the upload as it is.
            let mut tmp = blobs.temp()?;
            std::io::copy(&mut input, tmp.as_file_mut())?;
            Ok(tmp)
        }
    }
}

fn options(signer: &SignerKey, approval: &Approval, now: i64) -> kyso_pades::PdfSignOptions {
    let (date, display) = kyso_pades::vietnam_signing_time(now);
    kyso_pades::approval_options(approval, &signer.chain, signer.algorithm, date, &display)
}

/// Signs one stage's field of blob `source` into a temporary file of the store, not yet synced:
/// [`BlobStore::commit`] makes it a blob (that part waits for the disk, not the processor).
pub fn sign_stage(blobs: &BlobStore, source: &str, signer: &SignerKey, approval: &Approval, now: i64) -> Result<tempfile::NamedTempFile> {
    certinfo::check_validity_at(signer.chain.signer(), now.max(0) as u64)?;
    let mut doc = open_for_update(BufReader::new(blobs.open_blob(source)?))?;
    let opts = options(signer, approval, now);
    let mut tmp = blobs.temp()?;
    {
        let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        let prepared = kyso_pades::prepare(&mut doc, &mut w, &signer.chain, signer.key.kind(), &opts)?;
        let out = w.into_inner().map_err(|e| e.into_error())?;
        let signature = signer.key.sign_digest(prepared.algorithm(), prepared.to_be_signed()).map_err(kyso_pades::Error::Key)?;
        prepared.finish(out, &signature)?;
    }
    Ok(tmp)
}

/// Signs many documents' fields with one key operation where the backend allows (one phone
/// confirmation for the lot). One outcome per item, in order, each a temporary file as from
/// [`sign_stage`]; a failure touches only its item.
pub fn sign_stages_batch(
    blobs: &BlobStore,
    items: &[(String, Approval)],
    signer: &SignerKey,
    now: i64,
) -> Vec<Result<tempfile::NamedTempFile>> {
    if let Err(e) = certinfo::check_validity_at(signer.chain.signer(), now.max(0) as u64) {
        let msg = e.to_string();
        return items.iter().map(|_| Err(crate::WorkflowError::CertificateUnusable(msg.clone()))).collect();
    }
    let Some((_, first)) = items.first() else { return Vec::new() };
    // The options are shared; each item names its own field.
    let opts = options(signer, first, now);
    let mut outcomes: Vec<Option<Result<tempfile::NamedTempFile>>> = Vec::with_capacity(items.len());
    let mut batch = Vec::new();
    let mut batch_index = Vec::new();
    for (i, (source, approval)) in items.iter().enumerate() {
        let opened = blobs.open_blob(source).map_err(crate::WorkflowError::from).and_then(|f| Ok(open_for_update(BufReader::new(f))?));
        match (opened, blobs.temp()) {
            (Ok(document), Ok(tmp)) => {
                batch.push(BatchItem { document, output: tmp, field: Some(approval.field.clone()) });
                batch_index.push(i);
                outcomes.push(None);
            }
            (Err(e), _) => outcomes.push(Some(Err(e))),
            (_, Err(e)) => outcomes.push(Some(Err(e.into()))),
        }
    }
    for (i, (tmp, outcome)) in batch_index.into_iter().zip(sign_batch(batch, &signer.chain, signer.key.as_ref(), &opts)) {
        outcomes[i] = Some(outcome.map(|()| tmp).map_err(crate::WorkflowError::from));
    }
    outcomes.into_iter().map(|o| o.expect("every item has an outcome")).collect()
}
