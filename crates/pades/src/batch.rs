//! Many documents, one key, as few key operations as the backend allows (a remote service's
//! `multisign`: one phone confirmation for a principal's 1,500 transcripts). A failing item never
//! touches the others.

use crate::pdf_sign::{PdfSignOptions, Prepared, prepare};
use crate::{CertChain, Error, Result};
use kyso_keys::SigningKey;
use kyso_pdf::Document;
use std::io::{Read, Seek, Write};

/// One document of a batch: where it is read from and where its signed copy is written.
pub struct BatchItem<R, W> {
    pub document: Document<R>,
    pub output: W,
    /// The field to sign in this document, instead of the options' one (approval stages of
    /// different documents carry different names).
    pub field: Option<String>,
}

/// What a batch is doing, for progress displays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Document `done` of `total` is prepared (written and hashed).
    Prepared { done: usize, total: usize },
    /// All digests went to the key; waiting for it (a phone confirmation may take minutes).
    WaitingForKey { digests: usize },
    /// Document `done` of `total` has its signature embedded (or failed).
    Finished { done: usize, total: usize },
}

/// Signs every item; returns one outcome per item, in order, with its output writer back.
pub fn sign_batch<R: Read + Seek, W: Write + Seek>(
    items: Vec<BatchItem<R, W>>,
    chain: &CertChain,
    key: &dyn SigningKey,
    opts: &PdfSignOptions,
) -> Vec<(W, Result<()>)> {
    sign_batch_with_progress(items, chain, key, opts, &mut |_| {})
}

/// [`sign_batch`], reporting progress as it goes.
pub fn sign_batch_with_progress<R: Read + Seek, W: Write + Seek>(
    items: Vec<BatchItem<R, W>>,
    chain: &CertChain,
    key: &dyn SigningKey,
    opts: &PdfSignOptions,
    progress: &mut dyn FnMut(Progress),
) -> Vec<(W, Result<()>)> {
    let total = items.len();
    // Phase 1: prepare each document; failures stay with their item.
    let mut prepared: Vec<(W, Result<Prepared>)> = items
        .into_iter()
        .enumerate()
        .map(|(i, mut item)| {
            let p = match &item.field {
                Some(field) => {
                    let own = PdfSignOptions { field: Some(field.clone()), ..opts.clone() };
                    prepare(&mut item.document, &mut item.output, chain, key.kind(), &own)
                }
                None => prepare(&mut item.document, &mut item.output, chain, key.kind(), opts),
            };
            progress(Progress::Prepared { done: i + 1, total });
            (item.output, p)
        })
        .collect();
    // Phase 2: one call for all digests; the backend batches them as it can.
    let digests: Vec<Vec<u8>> = prepared.iter().filter_map(|(_, p)| p.as_ref().ok().map(|p| p.to_be_signed().to_vec())).collect();
    progress(Progress::WaitingForKey { digests: digests.len() });
    let signatures = if digests.is_empty() { Ok(Vec::new()) } else { key.sign_digests(opts.algorithm, &digests) };
    let mut signatures = match signatures {
        Ok(s) if s.len() == digests.len() => Ok(s.into_iter()),
        Ok(s) => Err(format!("the key backend returned {} signatures for {} documents", s.len(), digests.len())),
        Err(e) => Err(e.to_string()),
    };
    // Phase 3: check each value against the certificate and embed it.
    prepared
        .drain(..)
        .enumerate()
        .map(|(i, (mut out, p))| {
            let outcome = p.and_then(|p| match &mut signatures {
                Ok(iter) => {
                    let sig = iter.next().expect("one signature per prepared document");
                    p.finish(&mut out, &sig)
                }
                Err(msg) => Err(Error::Key(kyso_keys::KeyError::Backend(msg.clone()))),
            });
            progress(Progress::Finished { done: i + 1, total });
            (out, outcome)
        })
        .collect()
}
