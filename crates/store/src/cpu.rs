//! CPU-bound work (signing with a local key, validation, password hashing) queued one job per
//! core, so the database writer always finds a core and commits stay short under load; and at
//! most a few jobs per person, so that one user (or one hostile upload) cannot take every core
//! while everyone else waits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CpuError {
    /// The owner already has as many jobs queued or running as allowed.
    #[error("too many requests of yours are being worked on at once ({running}); wait for them to finish")]
    Busy { running: usize },
    #[error("the work stopped unexpectedly: {0}")]
    Failed(String),
}

pub struct CpuQueue {
    slots: tokio::sync::Semaphore,
    per_owner: Arc<Mutex<HashMap<String, usize>>>,
    owner_limit: usize,
}

/// Releases an owner's place when the job ends (or is dropped before it starts).
struct OwnerSlot {
    owners: Arc<Mutex<HashMap<String, usize>>>,
    owner: String,
}

impl Drop for OwnerSlot {
    fn drop(&mut self) {
        let mut owners = self.owners.lock().expect("owner counts lock");
        if let Some(n) = owners.get_mut(&self.owner) {
            *n -= 1;
            if *n == 0 {
                owners.remove(&self.owner);
            }
        }
    }
}

impl CpuQueue {
    /// `cores` jobs at once in all; at most `owner_limit` queued or running per owner.
    pub fn new(cores: usize, owner_limit: usize) -> Self {
        CpuQueue { slots: tokio::sync::Semaphore::new(cores.max(1)), per_owner: Default::default(), owner_limit: owner_limit.max(1) }
    }

    /// One slot per core of this machine, four jobs per owner.
    pub fn for_this_machine() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()), 4)
    }

    /// Runs `work` on the blocking pool once a core is free. `owner` names who asked (a person,
    /// an API client, an address): past its limit the job is refused at once.
    pub async fn run<T: Send + 'static>(&self, owner: &str, work: impl FnOnce() -> T + Send + 'static) -> Result<T, CpuError> {
        let _owner_slot = {
            let mut owners = self.per_owner.lock().expect("owner counts lock");
            let n = owners.entry(owner.to_string()).or_insert(0);
            if *n >= self.owner_limit {
                return Err(CpuError::Busy { running: *n });
            }
            *n += 1;
            OwnerSlot { owners: self.per_owner.clone(), owner: owner.to_string() }
        };
        let _permit = self.slots.acquire().await.expect("the CPU semaphore is never closed");
        tokio::task::spawn_blocking(work).await.map_err(|e| CpuError::Failed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_owner_cannot_take_every_slot() {
        let q = Arc::new(CpuQueue::new(2, 1));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let q2 = q.clone();
        let first = tokio::spawn(async move { q2.run("lan", move || rx.recv().ok()).await });
        // Wait until the first job holds lan's place.
        while q.per_owner.lock().unwrap().get("lan").is_none() {
            tokio::task::yield_now().await;
        }
        assert_eq!(q.run("lan", || 1).await, Err(CpuError::Busy { running: 1 }));
        assert_eq!(q.run("huong", || 2).await, Ok(2), "another person still gets a core");
        tx.send(()).unwrap();
        assert_eq!(first.await.unwrap(), Ok(Some(())));
        assert_eq!(q.run("lan", || 3).await, Ok(3), "the place is given back");
        assert!(q.per_owner.lock().unwrap().is_empty());
    }
}
