//! CPU-bound work (signing with a local key, validation, password hashing) queued one job per
//! core, so the database writer always finds a core and commits stay short under load; and shared
//! fairly: when a core frees up, it goes to the waiting owner (a person, an API client, an
//! address) with the fewest jobs running, so one user's burst (or a hostile upload) cannot keep
//! everyone else waiting. An owner with too many jobs queued is refused at once.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CpuError {
    /// The owner already has as many jobs queued or running as allowed.
    #[error("too many requests of yours are being worked on at once ({running}); wait for them to finish")]
    Busy { running: usize },
    #[error("the work stopped unexpectedly: {0}")]
    Failed(String),
}

#[derive(Default)]
struct Inner {
    free: usize,
    /// Jobs running, per owner.
    running: HashMap<String, usize>,
    /// Jobs queued or running, per owner.
    queued: HashMap<String, usize>,
    /// Waiters in arrival order.
    waiting: BTreeMap<u64, (String, tokio::sync::oneshot::Sender<()>)>,
    /// Waiters given a core that have not started yet (a dropped one gives it back).
    granted: std::collections::HashSet<u64>,
    next: u64,
}

impl Inner {
    /// Gives free cores to waiters, fewest-running owner first (arrival order among equals).
    fn dispatch(&mut self) {
        while self.free > 0 && !self.waiting.is_empty() {
            let seq = *self
                .waiting
                .iter()
                .min_by_key(|(seq, (owner, _))| (self.running.get(owner).copied().unwrap_or(0), **seq))
                .map(|(seq, _)| seq)
                .expect("not empty");
            let (owner, tx) = self.waiting.remove(&seq).expect("present");
            // A waiter that went away (its request was dropped) does not take the core.
            if tx.send(()).is_ok() {
                self.free -= 1;
                self.granted.insert(seq);
                *self.running.entry(owner).or_insert(0) += 1;
            }
        }
    }
}

pub struct CpuQueue {
    inner: Arc<Mutex<Inner>>,
    owner_limit: usize,
}

/// An owner's place in the queue: released (and the core passed on) when dropped.
struct Place {
    inner: Arc<Mutex<Inner>>,
    owner: String,
    running: bool,
    /// The waiter's number, while it waits.
    seq: Option<u64>,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut inner = self.inner.lock().expect("CPU queue lock");
        if let Some(n) = inner.queued.get_mut(&self.owner) {
            *n -= 1;
            if *n == 0 {
                inner.queued.remove(&self.owner);
            }
        }
        let granted = self.seq.is_some_and(|s| inner.granted.remove(&s));
        if let Some(s) = self.seq {
            inner.waiting.remove(&s);
        }
        if self.running || granted {
            if let Some(n) = inner.running.get_mut(&self.owner) {
                *n -= 1;
                if *n == 0 {
                    inner.running.remove(&self.owner);
                }
            }
            inner.free += 1;
        }
        inner.dispatch();
    }
}

impl CpuQueue {
    /// `cores` jobs at once in all; at most `owner_limit` queued or running per owner.
    pub fn new(cores: usize, owner_limit: usize) -> Self {
        CpuQueue { inner: Arc::new(Mutex::new(Inner { free: cores.max(1), ..Default::default() })), owner_limit: owner_limit.max(1) }
    }

    /// One slot per core of this machine; up to 256 jobs queued per owner.
    pub fn for_this_machine() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()), 256)
    }

    /// Runs `work` on the blocking pool once a core is given to `owner`.
    pub async fn run<T: Send + 'static>(&self, owner: &str, work: impl FnOnce() -> T + Send + 'static) -> Result<T, CpuError> {
        let (mut place, wait) = {
            let mut inner = self.inner.lock().expect("CPU queue lock");
            let queued = inner.queued.get(owner).copied().unwrap_or(0);
            if queued >= self.owner_limit {
                return Err(CpuError::Busy { running: queued });
            }
            *inner.queued.entry(owner.to_string()).or_insert(0) += 1;
            let mut place = Place { inner: self.inner.clone(), owner: owner.to_string(), running: false, seq: None };
            if inner.free > 0 && inner.waiting.is_empty() {
                inner.free -= 1;
                *inner.running.entry(owner.to_string()).or_insert(0) += 1;
                place.running = true;
                (place, None)
            } else {
                let (tx, rx) = tokio::sync::oneshot::channel();
                let seq = inner.next;
                inner.next += 1;
                inner.waiting.insert(seq, (owner.to_string(), tx));
                place.seq = Some(seq);
                (place, Some(rx))
            }
        };
        if let Some(rx) = wait {
            // Given a core (the dispatcher counted it as running), or the queue was dropped.
            rx.await.map_err(|_| CpuError::Failed("the processor queue was closed".into()))?;
            let mut inner = self.inner.lock().expect("CPU queue lock");
            if let Some(s) = place.seq.take() {
                inner.granted.remove(&s);
            }
            place.running = true;
        }
        let result = tokio::task::spawn_blocking(work).await.map_err(|e| CpuError::Failed(e.to_string()));
        drop(place);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two cores: lan queues three long jobs, huong one; when a core frees up, huong (nothing
    /// running) goes before lan's third job.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_freed_core_goes_to_the_owner_with_the_fewest_jobs_running() {
        let q = Arc::new(CpuQueue::new(2, 8));
        let order = Arc::new(Mutex::new(Vec::new()));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let release_rx = Arc::new(Mutex::new(release_rx));
        let mut jobs = Vec::new();
        for (who, n) in [("lan", 0), ("lan", 1), ("lan", 2)] {
            let (qj, order, rx) = (q.clone(), order.clone(), release_rx.clone());
            jobs.push(tokio::spawn(async move {
                qj.run(who, move || {
                    order.lock().unwrap().push(format!("{who}{n}"));
                    rx.lock().unwrap().recv().ok();
                })
                .await
            }));
            // Let each one take its place in order.
            while q.inner.lock().unwrap().queued.get("lan").copied().unwrap_or(0) < n + 1 {
                tokio::task::yield_now().await;
            }
        }
        while order.lock().unwrap().len() < 2 {
            tokio::task::yield_now().await;
        }
        let (q2, order2) = (q.clone(), order.clone());
        let huong = tokio::spawn(async move { q2.run("huong", move || order2.lock().unwrap().push("huong".into())).await });
        while q.inner.lock().unwrap().waiting.len() < 2 {
            tokio::task::yield_now().await;
        }
        release_tx.send(()).unwrap();
        huong.await.unwrap().unwrap();
        release_tx.send(()).unwrap();
        release_tx.send(()).unwrap();
        for j in jobs {
            j.await.unwrap().unwrap();
        }
        let order = order.lock().unwrap().clone();
        // lan0 and lan1 run at once on the two cores: which one writes first is the threads' race.
        let mut first_two = order[..2].to_vec();
        first_two.sort();
        assert_eq!(first_two, ["lan0", "lan1"]);
        assert_eq!(order[2], "huong", "{order:?}");
        assert_eq!(order[3], "lan2");
        let inner = q.inner.lock().unwrap();
        assert!(inner.queued.is_empty() && inner.running.is_empty() && inner.free == 2);
    }

    #[tokio::test]
    async fn an_owner_past_its_limit_is_refused_at_once() {
        let q = Arc::new(CpuQueue::new(1, 1));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let q2 = q.clone();
        let first = tokio::spawn(async move { q2.run("lan", move || rx.recv().ok()).await });
        while !q.inner.lock().unwrap().queued.contains_key("lan") {
            tokio::task::yield_now().await;
        }
        assert_eq!(q.run("lan", || 1).await, Err(CpuError::Busy { running: 1 }));
        tx.send(()).unwrap();
        assert_eq!(first.await.unwrap(), Ok(Some(())));
        assert_eq!(q.run("lan", || 3).await, Ok(3));
    }
}
