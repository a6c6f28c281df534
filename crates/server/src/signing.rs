//! The blocking PDF work of the service: stage fields at submission, one signature per approval,
//! many in a batch. Everything reads a blob and writes a new one; nothing is changed in place,
//! so a crash in the middle leaves the stored document as it was.

use crate::blobs::BlobStore;
use crate::clock;
use kyso_keys::{DigestAlgorithm, SignatureAlgorithm, SigningKey};
use kyso_pades::batch::{BatchItem, sign_batch};
use kyso_pades::{CertChain, PdfSignOptions, SubFilter, certinfo};
use kyso_pdf::{AppearanceSpec, DocMdp, Document, FieldLock, Placement};
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// The document itself is the problem (damaged, encrypted, a field clash): the caller's fault.
    #[error(transparent)]
    Pdf(#[from] kyso_pdf::Error),
    #[error(transparent)]
    Pades(#[from] kyso_pades::Error),
    #[error(transparent)]
    Key(#[from] kyso_keys::KeyError),
    #[error("storage: {0}")]
    Io(#[from] std::io::Error),
}

impl SigningError {
    /// Whether the input document is at fault (as opposed to the key or the disk).
    pub fn is_input_error(&self) -> bool {
        matches!(self, SigningError::Pdf(e) if !matches!(e, kyso_pdf::Error::Io(_)))
            || matches!(self, SigningError::Pades(kyso_pades::Error::Pdf(e)) if !matches!(e, kyso_pdf::Error::Io(_)))
    }
}

type Result<T> = std::result::Result<T, SigningError>;

/// A person's key, opened once and kept.
pub struct SignerKey {
    pub key: Arc<dyn SigningKey>,
    pub chain: CertChain,
    pub algorithm: SignatureAlgorithm,
    /// A remote provider's key: a signature may wait minutes for the signer's confirmation.
    pub remote: bool,
}

impl SignerKey {
    pub fn new(key: Arc<dyn SigningKey>, chain: CertChain, remote: bool) -> std::result::Result<Self, kyso_keys::KeyError> {
        let algorithm = SignatureAlgorithm::choose(key.kind(), DigestAlgorithm::Sha256, false)?;
        Ok(SignerKey { key, chain, algorithm, remote })
    }
}

/// A document opened for an update: the stored blob, or a clean rewrite of a damaged one.
pub type SigningDocument = Document<kyso_pdf::UpdateSource<BufReader<File>, File>>;

/// Opens a PDF for signing (see [`kyso_pdf::open_for_update`]: damaged files are rewritten in
/// full into a temporary file first; hybrid files whose readings disagree are refused).
pub fn open_pdf_for_signing(file: File) -> kyso_pdf::Result<SigningDocument> {
    kyso_pdf::open_for_update(BufReader::new(file), tempfile::tempfile)
}

/// One approval stage's field: its name and the fields its signature will lock (the stages up
/// to its own, so a later signature cannot be changed by an earlier signer's successors).
#[derive(Clone, Debug)]
pub struct StageField {
    pub name: String,
    pub locks: Vec<String>,
}

/// Where field `i` of a chain sits on the last page: four boxes to a row from the bottom left.
fn stage_placement(i: usize, page: usize) -> Placement {
    let (col, row) = ((i % 4) as f64, (i / 4) as f64);
    Placement::Visible { page, rect: [20.0 + col * 140.0, 20.0 + row * 66.0, 150.0 + col * 140.0, 80.0 + row * 66.0] }
}

/// Adds one empty, locked signature field per stage (one incremental update each). Returns the
/// new blob. Fails on a document that is already certified or has a field of the same name.
pub fn add_stage_fields(blobs: &BlobStore, source: &str, fields: &[StageField]) -> Result<String> {
    let mut current = source.to_string();
    for (i, field) in fields.iter().enumerate() {
        let mut doc = open_pdf_for_signing(blobs.open_blob(&current)?)?;
        let last_page = doc.pages()?.len().max(1);
        let mut update = kyso_pdf::Update::new(&mut doc)?;
        doc.add_empty_field(&mut update, &field.name, &stage_placement(i, last_page), Some(&FieldLock::Include(field.locks.clone())))?;
        let mut tmp = blobs.temp()?;
        {
            let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
            update.write(&mut doc, &mut w, &mut |_| {})?;
            w.flush()?;
        }
        current = blobs.commit(tmp)?;
    }
    Ok(current)
}

/// What one signature says beside the key: the field, whether it certifies, the reason.
#[derive(Clone, Debug)]
pub struct Approval {
    pub field: String,
    pub certify: bool,
    pub signer_name: String,
    pub reason: Option<String>,
}

fn options(signer: &SignerKey, approval: &Approval) -> PdfSignOptions {
    let now = clock::now_vietnam();
    PdfSignOptions {
        subfilter: SubFilter::Pades,
        algorithm: signer.algorithm,
        field: Some(approval.field.clone()),
        placement: Placement::Invisible,
        // The first stage certifies: form filling and further signatures stay allowed.
        certify: approval.certify.then_some(DocMdp::FormFilling),
        lock: None,
        name: Some(approval.signer_name.clone()),
        reason: approval.reason.clone(),
        location: None,
        contact_info: None,
        signing_time: now.pdf_date(),
        appearance: Some(AppearanceSpec {
            lines: certinfo::appearance_lines(&approval.signer_name, signer.chain.signer(), &now.display(), approval.reason.as_deref()),
            image: None,
        }),
        reserve_extra: 0,
    }
}

/// Signs one stage's field of blob `source` into a temporary file of the store, not yet synced:
/// [`BlobStore::commit`] makes it a blob (that part waits for the disk, not the processor).
pub fn sign_stage(blobs: &BlobStore, source: &str, signer: &SignerKey, approval: &Approval) -> Result<tempfile::NamedTempFile> {
    certinfo::check_validity_at(signer.chain.signer(), clock::unix_now())?;
    let mut doc = open_pdf_for_signing(blobs.open_blob(source)?)?;
    let opts = options(signer, approval);
    let mut tmp = blobs.temp()?;
    {
        let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        let prepared = kyso_pades::prepare(&mut doc, &mut w, &signer.chain, signer.key.kind(), &opts)?;
        let out = w.into_inner().map_err(|e| e.into_error())?;
        let signature = signer.key.sign_digest(prepared.algorithm(), prepared.to_be_signed())?;
        prepared.finish(out, &signature)?;
    }
    Ok(tmp)
}

/// Signs many documents' fields with one key operation where the backend allows (one phone
/// confirmation for the lot). One outcome per item, in order, each a temporary file as from
/// [`sign_stage`]; a failure touches only its item.
pub fn sign_stages_batch(blobs: &BlobStore, items: &[(String, Approval)], signer: &SignerKey) -> Vec<Result<tempfile::NamedTempFile>> {
    if let Err(e) = certinfo::check_validity_at(signer.chain.signer(), clock::unix_now()) {
        let msg = e.to_string();
        return items.iter().map(|_| Err(SigningError::Pades(kyso_pades::Error::Certificate(msg.clone())))).collect();
    }
    let Some((_, first)) = items.first() else { return Vec::new() };
    // The options are shared; each item names its own field.
    let opts = options(signer, first);
    let mut outcomes: Vec<Option<Result<tempfile::NamedTempFile>>> = Vec::with_capacity(items.len());
    let mut batch = Vec::new();
    let mut batch_index = Vec::new();
    for (i, (source, approval)) in items.iter().enumerate() {
        let opened = blobs.open_blob(source).map_err(SigningError::from).and_then(|f| Ok(open_pdf_for_signing(f)?));
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
        outcomes[i] = Some(outcome.map(|()| tmp).map_err(SigningError::from));
    }
    outcomes.into_iter().map(|o| o.expect("every item has an outcome")).collect()
}
