//! Benchmark of the web pages (not a test): how long each page takes to answer on the demo data,
//! beside the REST call that returns the same list, and how much each page weighs (HTML + CSS +
//! JS before the PDF viewer).
//!
//! ```text
//! cargo build --release -p kyso-cli -p kyso-tests --bins
//! target/release/web-bench [DOCUMENTS=60] [REQUESTS=300] [sqlite|postgres]
//! ```
//! The teacher submits and certifies DOCUMENTS lesson plans first, so the head of subject
//! group's to-do list, the documents list and the audit trail hold real rows. Each page is then
//! fetched REQUESTS times in sequence over one keep-alive connection; p50, p95 and max are
//! printed in milliseconds. The budget is 50 ms a page and 150 KB of HTML + CSS + JS.

use kyso_tests::service::{Backend, Server, approve, fresh_database, lesson_plan, submit};
use std::time::{Duration, Instant};

struct Timing {
    p50: Duration,
    p95: Duration,
    max: Duration,
    bytes: usize,
}

fn measure(client: &reqwest::blocking::Client, url: &str, cookie: Option<&str>, bearer: Option<&str>, n: usize) -> Timing {
    let mut times = Vec::with_capacity(n);
    let mut bytes = 0;
    for _ in 0..n {
        let mut req = client.get(url);
        if let Some(c) = cookie {
            req = req.header("cookie", format!("kyso_session={c}"));
        }
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        let started = Instant::now();
        let resp = req.send().unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = resp.status();
        let body = resp.bytes().unwrap_or_else(|e| panic!("GET {url}: {e}"));
        times.push(started.elapsed());
        assert!(status.is_success(), "GET {url}: {status}");
        bytes = body.len();
    }
    times.sort();
    Timing { p50: times[n / 2], p95: times[(n * 95 / 100).min(n - 1)], max: times[n - 1], bytes }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let documents: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(60);
    let requests: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(300).max(1);
    let backend = if args.get(2).is_some_and(|a| a == "postgres") { Backend::Postgres } else { Backend::Sqlite };
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_database(backend, dir.path());
    let server = Server::start(&dir.path().join("data"), &url, &[]);
    let api = server.api();
    let teacher = api.login("huong");
    let head = api.login("bao");
    let auditor = api.login("kiemdinh");
    let admin = api.login("admin");
    let pdf = lesson_plan();
    let mut first = String::new();
    for i in 0..documents {
        let r = submit(&api, &teacher, &format!("Giáo án tuần {i}"), &pdf, None);
        assert_eq!(r.status, 201, "submit: {}", r.json);
        let id = r.json["id"].as_str().expect("id").to_string();
        assert_eq!(approve(&api, &teacher, &id).status, 200, "the teacher certifies");
        if first.is_empty() {
            first = id;
        }
    }
    // One document through the whole chain, so its page shows four signatures.
    for who in ["bao", "minh", "ha"] {
        let token = api.login(who);
        assert_eq!(approve(&api, &token, &first).status, 200, "{who} approves");
    }
    let client = reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let base = &server.base;
    let asset = |path: &str| measure(&client, &format!("{base}{path}"), None, None, 1).bytes;
    let css_js = asset("/static/kyso.css") + asset("/static/kyso.js");
    let viewer = asset("/static/kyso-viewer.mjs");

    println!("web-bench: {documents} documents, {requests} requests a page, {backend:?}");
    println!("{:<34} {:>8} {:>8} {:>8} {:>10} {:>12}", "page", "p50 ms", "p95 ms", "max ms", "HTML KB", "+CSS+JS KB");
    let pages: [(&str, String, &str); 9] = [
        ("login (anonymous)", "/login".into(), ""),
        ("to do (head, documents waiting)", "/inbox".into(), &head),
        ("documents (teacher)", "/documents".into(), &teacher),
        ("a document, four signatures", format!("/documents/{first}"), &head),
        ("submit form (teacher)", "/submit".into(), &teacher),
        ("verify form (auditor)", "/verify".into(), &auditor),
        ("audit trail (auditor)", "/audit".into(), &auditor),
        ("administration: people", "/admin/people".into(), &admin),
        ("my key (teacher)", "/me/key".into(), &teacher),
    ];
    let mut worst = Duration::ZERO;
    let mut heaviest = 0;
    for (name, path, session) in &pages {
        let cookie = (!session.is_empty()).then_some(*session);
        let t = measure(&client, &format!("{base}{path}"), cookie, None, requests);
        worst = worst.max(t.p95);
        let with_assets = t.bytes + css_js + if path.starts_with("/documents/") { viewer } else { 0 };
        heaviest = heaviest.max(with_assets);
        println!(
            "{name:<34} {:>8} {:>8} {:>8} {:>10.1} {:>12.1}",
            ms(t.p50),
            ms(t.p95),
            ms(t.max),
            t.bytes as f64 / 1024.0,
            with_assets as f64 / 1024.0
        );
    }
    println!("peer: the same lists over REST (JSON)");
    for (name, path, token) in [("GET /api/v1/inbox (head)", "/inbox", &head), ("GET /api/v1/documents (teacher)", "/documents", &teacher)]
    {
        let t = measure(&client, &format!("{}{path}", api.base), None, Some(token), requests);
        println!("{name:<34} {:>8} {:>8} {:>8} {:>10.1}", ms(t.p50), ms(t.p95), ms(t.max), t.bytes as f64 / 1024.0);
    }
    println!(
        "worst p95 {} ms (budget 50 ms); heaviest page {:.1} KB with CSS and JS (budget 150 KB; pdf.js loads only on a document page, lazily)",
        ms(worst),
        heaviest as f64 / 1024.0
    );
}
