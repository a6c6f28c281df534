//! The hostile files of the security review, each timed (wall clock) and weighed (peak resident
//! memory, from GNU time) through `kyso verify` and `kyso sign`, beside pyHanko validating the
//! same file in the same run; then the server under two clients posting hostile files to /verify
//! while a third logs in and asks /health, whose latencies are reported.
//!
//! `cargo build --release -p kyso-cli -p kyso-tests --bins && target/release/hostile-bench [SCALE]`
//! SCALE 1 (default) is the review's sizes: a million keys, 100,000 fields, 10,000 certificates,
//! a 1 GB hex string.

use kyso_tests::hostile;
use kyso_tests::service::{Backend, Body, Server, fresh_database};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Runs a command under GNU time: (exit code, seconds, peak MiB, last stderr line).
fn measured(program: &str, args: &[&str]) -> (Option<i32>, f64, f64, String) {
    let out = Command::new("/usr/bin/time").arg("-f").arg("KYSO_TIME %e %M").arg(program).args(args).output().expect("GNU time runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().rev().find(|l| l.starts_with("KYSO_TIME")).unwrap_or("KYSO_TIME 0 0");
    let mut parts = line.split_whitespace().skip(1);
    let secs: f64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let kib: f64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let last = stderr.lines().rfind(|l| !l.starts_with("KYSO_TIME") && !l.trim().is_empty()).unwrap_or("").chars().take(100).collect();
    (out.status.code(), secs, kib / 1024.0, last)
}

fn row(what: &str, tool: &str, r: (Option<i32>, f64, f64, String)) {
    println!(
        "| {what} | {tool} | exit {} | {:.2} s | {:.0} MiB | {} |",
        r.0.map_or("signal".into(), |c| c.to_string()),
        r.1,
        r.2,
        r.3.replace('|', "/")
    );
}

fn main() {
    let scale: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let n = |x: f64| ((x * scale) as usize).max(1);
    let dir = tempfile::tempdir().unwrap();
    let kyso = kyso_tests::kyso_bin();
    let kyso = kyso.to_str().unwrap();
    let root = kyso_tests::pki("root.cert.pem");
    let root = root.to_str().unwrap();
    let key = kyso_tests::pki("principal-p256.key.pem");
    let cert = kyso_tests::pki("principal-p256.cert.pem");
    let files: Vec<(String, std::path::PathBuf)> = {
        let mut v = Vec::new();
        let mut put = |name: String, bytes: Vec<u8>| {
            let p = dir.path().join(format!("{}.pdf", v.len()));
            std::fs::write(&p, bytes).unwrap();
            v.push((name, p));
        };
        put(format!("catalog of {} keys", n(1e6)), hostile::huge_dictionary(n(1e6)));
        put(format!("{} fields Signature1…", n(1e5)), hostile::many_fields(n(1e5)));
        put(format!("CMS with {} impostor issuers", n(1e4)), hostile::many_certificates(n(1e4)));
        let hex = dir.path().join("hex.pdf");
        hostile::write_huge_hex_string(&hex, (n(1024.0) as u64) << 20).unwrap();
        v.push((format!("hex string of {} MiB", n(1024.0)), hex));
        v
    };
    println!("| input | tool | outcome | time | peak memory | last message |\n|---|---|---|---|---|---|");
    for (name, path) in &files {
        let p = path.to_str().unwrap();
        let size = std::fs::metadata(path).unwrap().len() as f64 / (1 << 20) as f64;
        let name = format!("{name} ({size:.0} MiB)");
        row(&name, "kyso verify", measured(kyso, &["verify", "--offline", p, "--trust", root, "--format", "json", "-o", "/dev/null"]));
        let out = dir.path().join("signed.pdf");
        row(
            &name,
            "kyso sign",
            measured(
                kyso,
                &[
                    "sign",
                    p,
                    "-o",
                    out.to_str().unwrap(),
                    "--key",
                    key.to_str().unwrap(),
                    "--cert",
                    cert.to_str().unwrap(),
                    "--no-revocation-check",
                ],
            ),
        );
        row(&name, "pyhanko validate", measured("pyhanko", &["sign", "validate", "--no-revocation-check", "--trust", root, p]));
    }
    // The server: two clients post hostile files while a third keeps working.
    let sdir = tempfile::tempdir().unwrap();
    let db = fresh_database(Backend::Sqlite, sdir.path());
    let server = Server::start(&sdir.path().join("data"), &db, &["--max-upload-mb", "200"]);
    let api = server.api();
    let attackers: Vec<String> = ["lan", "thuvien"].iter().map(|u| api.login(u)).collect();
    let hostile_bodies: Vec<Vec<u8>> = files.iter().take(3).map(|(_, p)| std::fs::read(p).unwrap()).collect();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (mut health, mut logins) = (Vec::new(), Vec::new());
    let mut hostile_answers = Vec::new();
    std::thread::scope(|s| {
        let workers: Vec<_> = attackers
            .iter()
            .map(|token| {
                let (api, bodies, stop) = (&api, &hostile_bodies, &stop);
                s.spawn(move || {
                    let mut answers = Vec::new();
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        for b in bodies {
                            let t = Instant::now();
                            let r = api.call("POST", "/verify", Some(token), Body::Pdf(b), &[]);
                            answers.push((r.status, t.elapsed().as_secs_f64()));
                        }
                    }
                    answers
                })
            })
            .collect();
        for _ in 0..20 {
            let t = Instant::now();
            assert_eq!(api.call("GET", "/health", None, Body::None, &[]).status, 200);
            health.push(t.elapsed().as_secs_f64() * 1000.0);
            let t = Instant::now();
            api.login("huong");
            logins.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for w in workers {
            hostile_answers.extend(w.join().unwrap());
        }
    });
    let stat = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        (v[v.len() / 2], v[v.len() * 9 / 10], v[v.len() - 1])
    };
    let (h50, h90, hmax) = stat(&mut health);
    let (l50, l90, lmax) = stat(&mut logins);
    println!("\nServer, two clients posting the hostile files to /verify ({} answers: statuses {:?}):", hostile_answers.len(), {
        let mut s: Vec<u16> = hostile_answers.iter().map(|a| a.0).collect();
        s.sort();
        s.dedup();
        s
    });
    println!("- meanwhile GET /health: p50 {h50:.1} ms, p90 {h90:.1} ms, max {hmax:.1} ms");
    println!("- meanwhile a login (argon2): p50 {l50:.0} ms, p90 {l90:.0} ms, max {lmax:.0} ms");
    let _ = Path::new("");
}
