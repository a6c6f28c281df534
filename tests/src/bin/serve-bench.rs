//! Load benchmark of the signing service (not a test): `kyso serve --demo` on loopback with
//! software keys, N concurrent clients each approving documents as fast as they can.
//!
//! ```text
//! cargo build --release -p kyso-cli -p kyso-tests --bins
//! target/release/serve-bench [DOCUMENTS=2000] [CLIENTS=50] [sqlite|postgres] [RATE]
//! ```
//! Phase 1 submits the documents and has the teacher certify them (RSA-2048, also measured);
//! phase 2 is the measured load: the head of subject group approves every document (P-256).
//! Without `RATE` the load is closed: `CLIENTS` requests in flight at all times, as fast as the
//! server answers (the throughput ceiling). With `RATE` it is open, like wrk2: requests are due at
//! RATE per second, spread over the `CLIENTS` connections, and each latency runs from the moment
//! its request was due, so a stalled server is charged for the requests it kept waiting.
//! Prints requests/s, p50, p90, p99 and max latency. certomancer serves the test PKI's OCSP
//! responder meanwhile, as a CA would in production: each signer's revocation answer is fetched
//! once and kept while it holds (so no signature here is made "unchecked").

use kyso_tests::service::{Backend, Body, Server, fresh_database};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn run_phase(api: &kyso_tests::service::Api, token: &str, ids: &[String], clients: usize, rate: Option<f64>, what: &str) {
    let next = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(ids.len())));
    let errors = Arc::new(AtomicUsize::new(0));
    let ids = Arc::new(ids.to_vec());
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (api, token, next, latencies, errors, ids) =
                (api.clone(), token.to_string(), next.clone(), latencies.clone(), errors.clone(), ids.clone());
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(id) = ids.get(i) else { break };
                    let t = match rate {
                        Some(r) => {
                            let due = started + Duration::from_secs_f64(i as f64 / r);
                            std::thread::sleep(due.saturating_duration_since(Instant::now()));
                            due
                        }
                        None => Instant::now(),
                    };
                    let ok = api
                        .try_call("POST", &format!("/documents/{id}/approve"), Some(&token), Body::None, &[])
                        .is_ok_and(|r| r.status == 200);
                    let took = t.elapsed();
                    if ok {
                        latencies.lock().unwrap().push(took);
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let wall = started.elapsed();
    let mut l = latencies.lock().unwrap().clone();
    l.sort();
    let pct = |p: f64| l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1))).copied().unwrap_or_default();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let load = rate.map_or_else(|| "closed loop".to_string(), |r| format!("offered {r:.0}/s"));
    println!(
        "{what}: {} signatures in {:.2} s = {:.0}/s with {clients} clients ({load}); latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms; errors {}",
        l.len(),
        wall.as_secs_f64(),
        l.len() as f64 / wall.as_secs_f64(),
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(l.last().copied().unwrap_or_default()),
        errors.load(Ordering::Relaxed)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let documents: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let clients: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(50);
    let backend = if args.get(3).map(String::as_str) == Some("postgres") { Backend::Postgres } else { Backend::Sqlite };
    let rate: Option<f64> = args.get(4).and_then(|s| s.parse().ok());
    let _revocation_services = kyso_tests::Animator::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = fresh_database(backend, dir.path());
    let server = Server::start(&dir.path().join("data"), &db, &[]);
    let api = server.api();
    let (huong, bao) = (api.login("huong"), api.login("bao"));
    let pdf = std::fs::read(kyso_tests::corpus().join("inputs/pyhanko-minimal.pdf")).expect("input");
    println!("kyso serve ({backend:?}), {documents} documents of {} bytes, {clients} clients", pdf.len());
    let t = Instant::now();
    let ids: Vec<String> = (0..=documents)
        .map(|n| {
            let r = api.call("POST", &format!("/documents?title=Giao%20an%20{n}&template=lesson-plan"), Some(&huong), Body::Pdf(&pdf), &[]);
            assert_eq!(r.status, 201, "{}", r.json);
            r.json["id"].as_str().expect("id").to_string()
        })
        .collect();
    println!("submissions (one client, four fields added each): {:.0}/s", documents as f64 / t.elapsed().as_secs_f64());
    // One approval each first, unmeasured: the signer's key is opened and their revocation
    // answer fetched once, as happens at a person's first signature of the hour.
    let (warm_up, ids) = ids.split_first().expect("at least one document");
    for token in [&huong, &bao] {
        let r = api.call("POST", &format!("/documents/{warm_up}/approve"), Some(token), Body::None, &[]);
        assert_eq!(r.status, 200, "{}", r.json);
    }
    run_phase(&api, &huong, ids, clients, rate, "teacher certifies (RSA-2048)");
    run_phase(&api, &bao, ids, clients, rate, "head approves (P-256)");
}
