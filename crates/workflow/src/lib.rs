//! `kyso-workflow`: documents and their approval chains. Templates as data, documents and
//! versions, the one access rule, submission (stage fields added, blobs and rows stored
//! together), approval through the person's registered key (revocation gate, processor queue,
//! group commit), return, batches, the inbox and operations. It knows no HTTP: the REST API and
//! the web pages are two thin edges over these functions, which are tested without a server.
#![forbid(unsafe_code)]

pub mod access;
pub mod approve;
mod commit;
pub mod documents;
mod error;
pub mod inbox;
mod long_term;
pub mod operations;
pub mod signing;
pub mod submit;
pub mod templates;

pub use error::{PlanProblem, Refusal, Result, TemplateRule, WorkflowError};

use kyso_ltv::RevocationGate;
use kyso_signers::Registry;
use kyso_store::Store;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set when the work a request started should stop (the client hung up, the server is shutting
/// down); long work checks it between steps.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What the chains share: storage, the key registry, the revocation gate, the document locks and
/// the queue of signatures waiting to be committed.
pub struct Workflow {
    pub store: Arc<Store>,
    pub signers: Arc<Registry>,
    pub revocation: Arc<RevocationGate>,
    /// Whether a finished chain gets its long-term validation data (a DSS).
    pub long_term_data: bool,
    /// Striped per-document locks: one signature at a time per document, in this process. Many
    /// stripes, so that unrelated documents rarely share one.
    document_locks: Vec<tokio::sync::Mutex<()>>,
    queue: commit::SignatureQueue,
}

impl Workflow {
    pub fn new(store: Arc<Store>, signers: Arc<Registry>, revocation: Arc<RevocationGate>, long_term_data: bool) -> Arc<Self> {
        Arc::new(Workflow {
            store,
            signers,
            revocation,
            long_term_data,
            document_locks: (0..4096).map(|_| tokio::sync::Mutex::new(())).collect(),
            queue: Default::default(),
        })
    }

    fn lock_index(&self, document_id: &str) -> usize {
        document_id.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize)) % self.document_locks.len()
    }

    pub(crate) async fn lock_document(&self, id: &str) -> tokio::sync::MutexGuard<'_, ()> {
        self.document_locks[self.lock_index(id)].lock().await
    }

    /// Locks every document's stripe, in stripe order (no deadlock with single approvals).
    pub(crate) async fn lock_documents(&self, ids: &[String]) -> Vec<tokio::sync::MutexGuard<'_, ()>> {
        let mut stripes: Vec<usize> = ids.iter().map(|id| self.lock_index(id)).collect();
        stripes.sort_unstable();
        stripes.dedup();
        let mut guards = Vec::with_capacity(stripes.len());
        for s in stripes {
            guards.push(self.document_locks[s].lock().await);
        }
        guards
    }
}
