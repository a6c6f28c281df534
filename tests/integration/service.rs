//! The signing service end to end, over HTTP, on SQLite and on a real PostgreSQL server: a lesson
//! plan through teacher → head of subject group → principal → district, a return and a
//! resubmission, authorisation refusals, idempotency, batch approval, API clients, the audit
//! trail, and a SIGKILL in the middle of signing. The final PDF is judged by pyHanko, pdfsig and
//! `kyso verify --expect-chain`; every JSON answer by `openapi.yaml`.

use kyso_tests::service::{
    Api, Backend, Body, Reply, Server, approve, expect, fresh_database, lesson_plan, psql_on, served_routes, spec_routes, submit,
};
use kyso_tests::*;
use serde_json::json;
use std::path::Path;

fn pyhanko_verdicts(pdf: &Path) -> Vec<String> {
    let out = tool(
        "pyhanko",
        &[
            "sign",
            "validate",
            "--no-revocation-check",
            "--trust-replace",
            "--trust",
            &pki("root.cert.pem").display().to_string(),
            &pdf.display().to_string(),
        ],
    );
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains(':')).map(str::to_string).collect()
}

fn walk_the_chain(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(backend, dir.path());
    let server = Server::start(&dir.path().join("data"), &db, &[]);
    let api = server.api();
    let r = api.call("GET", "/health", None, Body::None, &[]);
    expect(&r, "GET", "/api/v1/health", 200);
    assert_eq!(r.json["database"], if backend == Backend::Sqlite { "sqlite" } else { "postgres" });

    let [huong, bao, minh, ha, lan, thuvien, kiemdinh, admin] =
        ["huong", "bao", "minh", "ha", "lan", "thuvien", "kiemdinh", "admin"].map(|u| api.login(u));
    let r = api.call("POST", "/auth/login", None, Body::Json(json!({"username": "huong", "password": "sai"})), &[]);
    expect(&r, "POST", "/api/v1/auth/login", 401);
    assert_eq!(r.code(), "invalid_credentials");
    expect(&api.get("/me", &huong), "GET", "/api/v1/me", 200);
    expect(&api.get("/orgs", &huong), "GET", "/api/v1/orgs", 200);
    expect(&api.get("/templates", &huong), "GET", "/api/v1/templates", 200);

    // Submit, with an idempotency key: a replay returns the same document, not a second one.
    let pdf = lesson_plan();
    let first = submit(&api, &huong, "Giao an Ngu van 6", &pdf, Some("submit-1"));
    expect(&first, "POST", "/api/v1/documents", 201);
    let id = first.json["id"].as_str().unwrap().to_string();
    let again = submit(&api, &huong, "Giao an Ngu van 6", &pdf, Some("submit-1"));
    assert_eq!((again.status, again.json["id"].as_str(), again.replayed), (201, Some(id.as_str()), true));
    let reused = submit(&api, &huong, "Another title", &pdf, Some("submit-1"));
    assert_eq!((reused.status, reused.code()), (422, "idempotency_key_reused"));
    assert_eq!(api.get("/documents", &huong).json["total"], 1, "the replay created nothing");

    // Who sees what.
    let r = api.get(&format!("/documents/{id}"), &lan);
    expect(&r, "GET", "/api/v1/documents/{id}", 404);
    assert_eq!(api.get("/documents", &lan).json["total"], 0, "another school's teacher sees nothing");
    assert_eq!(api.get(&format!("/documents/{id}/pdf"), &lan).status, 404);
    for t in [&bao, &minh, &ha, &kiemdinh] {
        assert_eq!(api.get(&format!("/documents/{id}"), t).status, 200);
    }
    assert_eq!(api.get(&format!("/documents/{id}"), &thuvien).status, 404, "a librarian does not oversee lesson plans");

    // Out of turn and out of role.
    let r = approve(&api, &bao, &id);
    expect(&r, "POST", "/api/v1/documents/{id}/approve", 409);
    assert_eq!(r.code(), "not_your_turn");
    assert_eq!(approve(&api, &minh, &id).code(), "not_your_turn");
    assert_eq!(approve(&api, &thuvien, &id).status, 404);
    assert_eq!(approve(&api, &lan, &id).status, 404);

    // Teacher certifies, head signs; a replay of the head's request without a key is refused.
    expect(&approve(&api, &huong, &id), "POST", "/api/v1/documents/{id}/approve", 200);
    let inbox = api.get("/inbox", &bao);
    expect(&inbox, "GET", "/api/v1/inbox", 200);
    assert_eq!(inbox.json["items"][0]["document_id"], id.as_str());
    let key = [("idempotency-key", "approve-bao-1")];
    let r = api.call("POST", &format!("/documents/{id}/approve"), Some(&bao), Body::None, &key);
    expect(&r, "POST", "/api/v1/documents/{id}/approve", 200);
    let replay = api.call("POST", &format!("/documents/{id}/approve"), Some(&bao), Body::None, &key);
    assert!(replay.replayed && replay.status == 200, "same key: the stored answer, no second signature");
    let r = approve(&api, &bao, &id);
    expect(&r, "POST", "/api/v1/documents/{id}/approve", 403);
    assert!(api.get("/inbox", &bao).json["items"].as_array().unwrap().is_empty());

    // The principal returns it; the teacher sends version 2; the chain starts again.
    let r = api.post(&format!("/documents/{id}/return"), &minh, Body::Json(json!({"reason": "Bổ sung mục tiêu bài học"})));
    expect(&r, "POST", "/api/v1/documents/{id}/return", 200);
    assert_eq!(r.json["status"], "returned");
    assert_eq!(approve(&api, &minh, &id).code(), "not_in_progress");
    let r = api.post(&format!("/documents/{id}/versions"), &bao, Body::Pdf(&pdf));
    expect(&r, "POST", "/api/v1/documents/{id}/versions", 403);
    let v2 = api.post(&format!("/documents/{id}/versions"), &huong, Body::Pdf(&pdf));
    expect(&v2, "POST", "/api/v1/documents/{id}/versions", 201);
    assert_eq!((v2.json["current_version"].as_i64(), v2.json["current_stage"].as_i64()), (Some(2), Some(0)));
    for t in [&huong, &bao, &minh, &ha] {
        expect(&approve(&api, t, &id), "POST", "/api/v1/documents/{id}/approve", 200);
    }
    let done = api.get(&format!("/documents/{id}"), &ha);
    assert_eq!(done.json["status"], "completed");
    let r = approve(&api, &ha, &id);
    assert_eq!((r.status, r.code()), (409, "document_completed"));
    assert_eq!(api.post(&format!("/documents/{id}/return"), &ha, Body::Json(json!({"reason": "x"}))).code(), "document_completed");

    // The final PDF: four signatures, valid for pyHanko, pdfsig and kyso verify --expect-chain.
    let r = api.get(&format!("/documents/{id}/pdf"), &huong);
    assert_eq!(r.status, 200);
    let final_pdf = dir.path().join("final.pdf");
    std::fs::write(&final_pdf, &r.bytes).unwrap();
    let verdicts = pyhanko_verdicts(&final_pdf);
    assert_eq!(verdicts.len(), 4, "pyHanko: {verdicts:?}");
    assert!(verdicts.iter().all(|v| v.contains("INTACT:TRUSTED")), "pyHanko: {verdicts:?}");
    let ps = pdfsig(&final_pdf);
    assert!(ps.signatures == 4 && ps.valid == 4 && ps.total_document_signed, "pdfsig: {}", ps.text);
    let root = pki("root.cert.pem").display().to_string();
    let f = final_pdf.display().to_string();
    let out = kyso(&["verify", "--offline", &f, "--trust", &root, "--expect-chain", "teacher,head,principal,district"]);
    assert!(out.status.success(), "kyso verify --expect-chain: {}", String::from_utf8_lossy(&out.stdout));
    let out = kyso(&["verify", "--offline", &f, "--trust", &root, "--expect-chain", "teacher,principal,head,district"]);
    assert_eq!(out.status.code(), Some(1), "a wrong order must fail");
    // Version 1 is kept as it was: two signatures.
    let v1 = api.get(&format!("/documents/{id}/pdf?version=1"), &huong);
    std::fs::write(dir.path().join("v1.pdf"), &v1.bytes).unwrap();
    assert_eq!(pdfsig(&dir.path().join("v1.pdf")).signatures, 2);

    // Verification over REST.
    let r = api.call("POST", "/verify", Some(&kiemdinh), Body::Pdf(&api.get(&format!("/documents/{id}/pdf"), &huong).bytes), &[]);
    expect(&r, "POST", "/api/v1/verify", 200);
    assert_eq!(r.json["indication"], "TOTAL-PASSED");
    assert_eq!(r.json["signatures"].as_array().unwrap().len(), 4);
    let final_bytes = api.get(&format!("/documents/{id}/pdf"), &huong).bytes;
    for (format, magic) in [("etsi", &b"<?xml"[..]), ("pdf", &b"%PDF-"[..])] {
        let r = api.call("POST", &format!("/verify?format={format}"), Some(&kiemdinh), Body::Pdf(&final_bytes), &[]);
        assert!(r.status == 200 && r.bytes.starts_with(magic), "/verify?format={format}: {}", r.status);
    }
    let r = api.call("POST", "/verify", Some(&kiemdinh), Body::Pdf(b"not a pdf"), &[]);
    expect(&r, "POST", "/api/v1/verify", 422);

    // Batch: three more lesson plans, certified by the teacher, approved by the head in one call
    // (with one id that is not theirs to sign).
    let mut ids = Vec::new();
    for n in 0..3 {
        let r = submit(&api, &huong, &format!("Giao an {n}"), &pdf, None);
        let doc = r.json["id"].as_str().unwrap().to_string();
        assert_eq!(approve(&api, &huong, &doc).status, 200);
        ids.push(doc);
    }
    let mut batch_ids = ids.clone();
    batch_ids.push(id.clone());
    let r = api.post("/approvals/batch", &bao, Body::Json(json!({"document_ids": batch_ids})));
    expect(&r, "POST", "/api/v1/approvals/batch", 200);
    assert_eq!((r.json["signed"].as_i64(), r.json["failed"].as_i64()), (Some(3), Some(1)), "{}", r.json);
    for doc in &ids {
        assert_eq!(api.get(&format!("/documents/{doc}"), &bao).json["current_stage"], 2);
    }

    // Delegation: the vice principal may not sign the principal's stage, until the principal
    // delegates it; the signature then records on whose behalf it was made.
    let pho = api.login("pho");
    assert_eq!(approve(&api, &pho, &ids[0]).status, 403, "a vice principal sees the document but holds no stage of it");
    let until = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 3600;
    let r = api.post(
        "/delegations",
        &pho,
        Body::Json(json!({"to_username": "pho", "org_id": "school", "role": "principal", "valid_until": until})),
    );
    expect(&r, "POST", "/api/v1/delegations", 403);
    let r = api.post(
        "/delegations",
        &minh,
        Body::Json(json!({"to_username": "pho", "org_id": "school", "role": "principal", "valid_until": until})),
    );
    expect(&r, "POST", "/api/v1/delegations", 201);
    assert_eq!(api.get("/inbox", &pho).json["items"].as_array().unwrap().len(), 3, "the delegated stages wait for the vice principal");
    let r = approve(&api, &pho, &ids[0]);
    expect(&r, "POST", "/api/v1/documents/{id}/approve", 200);
    let principal_step = r.json["steps"].as_array().unwrap().iter().find(|s| s["stage"] == 2).unwrap().clone();
    assert_eq!((principal_step["signed_by"].as_str(), principal_step["on_behalf_of"].as_str()), (Some("pho"), Some("minh")));

    // API clients: an administrator registers one with read scope only.
    let r = api.post("/clients", &admin, Body::Json(json!({"name": "qlnt", "org_id": "school", "scopes": ["documents:read"]})));
    expect(&r, "POST", "/api/v1/clients", 201);
    let client = r.json["token"].as_str().unwrap().to_string();
    assert_eq!(api.get("/documents", &client).json["total"], 4);

    // Lists and single reads follow one rule: for every person and the client, the pages (two
    // documents each) hold exactly the documents GET /documents/{id} shows them.
    let mut readers: Vec<(String, String)> = ["huong", "bao", "minh", "pho", "ha", "thuvien", "kiemdinh", "admin", "lan"]
        .iter()
        .map(|u| (u.to_string(), api.login(u)))
        .collect();
    readers.push(("client qlnt".into(), client.clone()));
    let listed = |token: &str, filter: &str| {
        let (mut seen, mut cursor) = (Vec::new(), String::new());
        loop {
            let r = api.get(&format!("/documents?limit=2{filter}{cursor}"), token);
            assert_eq!(r.status, 200, "{}", r.json);
            seen.extend(r.json["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_string()));
            match r.json["next_cursor"].as_str() {
                Some(c) => cursor = format!("&cursor={c}"),
                None => return (seen, r.json["total"].as_u64().unwrap() as usize),
            }
        }
    };
    let lists: Vec<(&str, Vec<String>)> = readers
        .iter()
        .map(|(who, token)| {
            let (seen, total) = listed(token, "");
            assert_eq!(seen.len(), total, "{who}: the pages add up to the total");
            let (completed, _) = listed(token, "&status=completed");
            assert!(completed.iter().all(|id| seen.contains(id)), "{who}: a status filter only narrows");
            (who.as_str(), seen)
        })
        .collect();
    let every_id: std::collections::BTreeSet<&String> = lists.iter().flat_map(|(_, l)| l).collect();
    assert!(every_id.len() >= 4, "documents listed: {every_id:?}");
    for ((who, token), (_, seen)) in readers.iter().zip(&lists) {
        for id in &every_id {
            let shown = api.get(&format!("/documents/{id}"), token).status == 200;
            assert_eq!(shown, seen.contains(id), "{who} and document {id}: listed {} but GET says {shown}", seen.contains(id));
        }
    }
    assert!(lists.iter().any(|(who, l)| *who == "lan" && l.is_empty()), "another school's teacher lists nothing");
    let r = api.call("POST", "/verify", Some(&client), Body::Pdf(&pdf), &[]);
    assert_eq!((r.status, r.code()), (403, "forbidden"), "no verify scope");
    assert_eq!(submit(&api, &client, "x", &pdf, None).status, 403, "no submit scope");
    let r = api.post("/clients", &huong, Body::Json(json!({"name": "mine", "org_id": "school", "scopes": ["verify"]})));
    assert_eq!(r.status, 403, "a teacher registers no clients");

    // Tokens: garbage, and logged out.
    let r = api.get("/me", "kyso_s_0000");
    expect(&r, "GET", "/api/v1/me", 401);
    assert_eq!(r.code(), "invalid_token");
    assert_eq!(api.call("GET", "/me", None, Body::None, &[]).code(), "unauthenticated");
    assert_eq!(api.post("/auth/logout", &lan, Body::None).status, 204);
    assert_eq!(api.get("/me", &lan).code(), "invalid_token");

    // The audit trail: auditors read it, teachers do not; the chain is intact.
    let r = api.get("/audit", &kiemdinh);
    expect(&r, "GET", "/api/v1/audit", 200);
    let actions: Vec<&str> = r.json["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for a in ["submit", "sign", "return", "resubmit", "download"] {
        assert!(actions.contains(&a), "audit has no {a}: {actions:?}");
    }
    expect(&api.get("/audit", &huong), "GET", "/api/v1/audit", 403);
    let r = api.get("/audit/verify", &admin);
    expect(&r, "GET", "/api/v1/audit/verify", 200);
    assert_eq!(r.json["intact"], true);
    let out = kyso(&["audit", "verify", "--database-url", &db]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "kyso audit verify: {stdout}");
    let checkpoint =
        stdout.lines().find_map(|l| l.split("(keep it elsewhere): ").nth(1)).expect("a checkpoint is printed").trim().to_string();
    let export = dir.path().join("audit.jsonl");
    assert!(kyso(&["audit", "export", "--database-url", &db, "-o", &export.display().to_string()]).status.success());
    assert!(std::fs::read_to_string(&export).unwrap().lines().count() > 20);

    if backend == Backend::Postgres {
        // Edit one entry behind the service's back: the chain check names it.
        psql_on(&db, "UPDATE audit SET detail = '{\"reason\":\"changed\"}' WHERE seq = 5");
        let out = kyso(&["audit", "verify", "--database-url", &db]);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stdout).contains("entry 5"), "{}", String::from_utf8_lossy(&out.stdout));
        // Cut the edited entry and all after it: a valid chain again, but the checkpoint
        // noted earlier names an entry that is gone.
        psql_on(&db, "DELETE FROM audit WHERE seq >= 5");
        assert!(kyso(&["audit", "verify", "--database-url", &db]).status.success(), "a cut chain is still a chain");
        let out = kyso(&["audit", "verify", "--database-url", &db, "--checkpoint", &checkpoint]);
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
        assert!(String::from_utf8_lossy(&out.stdout).contains("deleted"), "{}", String::from_utf8_lossy(&out.stdout));
    }
}

on_both_databases!(service_lesson_plan_chain_on_sqlite, service_lesson_plan_chain_on_postgres => walk_the_chain);

#[test]
fn service_routes_and_openapi_agree() {
    let served = served_routes();
    let documented = spec_routes();
    assert!(served.len() >= 19, "routes read from api.rs: {served:?}");
    assert_eq!(served, documented, "served routes (left) and openapi.yaml paths (right) differ");
    // And each documented route answers (not the 404 fallback) on a running server.
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(Backend::Sqlite, dir.path());
    let server = Server::start(&dir.path().join("data"), &db, &[]);
    let api = server.api();
    for (method, path) in &documented {
        let concrete = path.trim_start_matches("/api/v1").replace("{id}", "no-such-document");
        let r = api.call(&method.to_uppercase(), &concrete, None, Body::None, &[]);
        assert!(!(r.status == 404 && r.json["error"]["message"] == "route not found"), "{method} {path} is not served");
        assert_ne!(r.status, 405, "{method} {path}: method not allowed");
    }
}

on_both_databases!(service_sessions_expire_on_sqlite, service_sessions_expire_on_postgres => sessions_expire);

fn sessions_expire(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(backend, dir.path());
    let server = Server::start(&dir.path().join("data"), &db, &["--session-ttl", "1"]);
    let api = server.api();
    let t = api.login("huong");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let r = api.get("/me", &t);
    assert_eq!((r.status, r.code()), (401, "token_expired"));
}

// Kills the server with SIGKILL while approvals are in flight, restarts it, and checks that each
// document is consistent (its stored PDF carries exactly the signatures its steps record, all
// valid) and that every chain can still be completed.
on_both_databases!(service_survives_sigkill_during_signing_on_sqlite, service_survives_sigkill_during_signing_on_postgres => survives_sigkill_during_signing);

fn survives_sigkill_during_signing(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(backend, dir.path());
    let data = dir.path().join("data");
    let pdf = lesson_plan();
    let mut server = Server::start(&data, &db, &[]);
    let api = server.api();
    let huong = api.login("huong");
    let ids: Vec<String> =
        (0..30).map(|n| submit(&api, &huong, &format!("Giao an {n}"), &pdf, None).json["id"].as_str().unwrap().to_string()).collect();
    let finished = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = ids
        .iter()
        .cloned()
        .map(|id| {
            let (api, token, finished) = (api.clone(), huong.clone(), finished.clone());
            std::thread::spawn(move || {
                // A request cut off by the kill fails; what matters is the state after restart.
                let r = api.try_call("POST", &format!("/documents/{id}/approve"), Some(&token), Body::None, &[]);
                finished.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                r.map(|r| r.status)
            })
        })
        .collect();
    // Kill as soon as the first approval is through: the others are mid-way.
    while finished.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    server.kill();
    for w in workers {
        let _ = w.join();
    }
    let leftovers = std::fs::read_dir(data.join("blobs/tmp")).map(|d| d.count()).unwrap_or(0);
    let server = Server::start(&data, &db, &[]);
    let api = server.api();
    let [huong, bao] = ["huong", "bao"].map(|u| api.login(u));
    let root = pki("root.cert.pem").display().to_string();
    let mut signed_before_restart = 0;
    for id in &ids {
        let doc = api.get(&format!("/documents/{id}"), &huong);
        assert_eq!(doc.status, 200);
        let recorded = doc.json["steps"].as_array().unwrap().iter().filter(|s| !s["signed_by"].is_null()).count();
        signed_before_restart += recorded;
        // Finish the teacher's and the head's stages now.
        if recorded == 0 {
            assert_eq!(approve(&api, &huong, id).status, 200, "the chain continues after the restart");
        }
        assert_eq!(approve(&api, &bao, id).status, 200);
        let file = dir.path().join(format!("{id}.pdf"));
        std::fs::write(&file, api.get(&format!("/documents/{id}/pdf"), &huong).bytes).unwrap();
        let out = kyso(&["verify", "--offline", &file.display().to_string(), "--trust", &root, "--format", "json"]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
        assert_eq!(report["signatures"].as_array().unwrap().len(), 2, "{id}: the PDF has exactly the recorded signatures");
        assert_eq!(report["indication"], "TOTAL-PASSED", "{id}");
    }
    eprintln!(
        "SIGKILL test: {signed_before_restart} of {} approvals had committed before the kill; {leftovers} temporary files were left and removed at restart",
        ids.len()
    );
    assert!(signed_before_restart < ids.len(), "the kill came after every approval: nothing was tested");
    assert_eq!(std::fs::read_dir(data.join("blobs/tmp")).unwrap().count(), 0, "temporary files are cleared at start");
    let r = api.get("/audit/verify", &api.login("admin"));
    assert_eq!(r.json["intact"], true, "the audit chain survives the kill: {}", r.json);
}

// Signing-time revocation over REST: with `--require-revocation` and the responders down, the
// approval is refused (503, nothing signed); with certomancer's OCSP responder up it goes
// through, and the audit entry records the answer.
on_both_databases!(service_checks_revocation_when_signing_on_sqlite, service_checks_revocation_when_signing_on_postgres => checks_revocation_when_signing);

fn checks_revocation_when_signing(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(backend, dir.path());
    let data = dir.path().join("data");
    let pdf = lesson_plan();
    let id;
    {
        let _nothing_on_the_services_port = SERVICES_PORT.lock().unwrap_or_else(|e| e.into_inner());
        let server = Server::start(&data, &db, &["--require-revocation"]);
        let api = server.api();
        let huong = api.login("huong");
        id = submit(&api, &huong, "Giao an", &pdf, None).json["id"].as_str().unwrap().to_string();
        let r = approve(&api, &huong, &id);
        expect(&r, "POST", "/api/v1/documents/{id}/approve", 503);
        assert_eq!(r.code(), "revocation_unavailable");
        assert_eq!(api.get(&format!("/documents/{id}"), &huong).json["current_stage"], 0, "nothing was signed");
    }
    let _services = Animator::start();
    let server = Server::start(&data, &db, &["--require-revocation"]);
    let api = server.api();
    let huong = api.login("huong");
    expect(&approve(&api, &huong, &id), "POST", "/api/v1/documents/{id}/approve", 200);
    let audit = api.get("/audit", &api.login("kiemdinh"));
    let sign = audit.json["items"].as_array().unwrap().iter().find(|e| e["action"] == "sign").expect("a sign entry").clone();
    let detail: serde_json::Value = serde_json::from_str(sign["detail"].as_str().unwrap()).unwrap();
    assert!(detail["revocation"].as_str().unwrap().starts_with("good (http://127.0.0.1:9009/"), "{detail}");
}

// Schemathesis (an independent, schema-driven fuzzer) against the running server with an
// administrator's token: no server errors, and every status, content type and JSON body as
// `openapi.yaml` documents. PDF uploads are left to the end-to-end tests (it cannot make PDFs);
// logout is left out because it would end the fuzzer's own session.
on_both_databases!(service_schemathesis_finds_no_server_errors_or_undocumented_answers_on_sqlite, service_schemathesis_finds_no_server_errors_or_undocumented_answers_on_postgres => schemathesis_finds_no_server_errors_or_undocumented_answers);

fn schemathesis_finds_no_server_errors_or_undocumented_answers(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(backend, dir.path());
    let server = Server::start(&dir.path().join("data"), &db, &[]);
    let token = server.api().login("admin");
    let out = tool(
        "st",
        &[
            "run",
            &repo_root().join("openapi.yaml").display().to_string(),
            "--url",
            &server.base,
            "-H",
            &format!("Authorization: Bearer {token}"),
            "--max-examples",
            "10",
            "--seed",
            "20261129",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--exclude-path",
            "/api/v1/auth/logout",
            "--exclude-operation-id",
            "submitDocument",
            "--exclude-operation-id",
            "resubmitDocument",
            "--exclude-operation-id",
            "submitRecord",
            "--exclude-operation-id",
            "verifyDocument",
        ],
    );
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "schemathesis found problems:\n{report}");
}

// Remote signing with confirmation on the phone (the VNPT SmartCA double): the administrator
// points the teacher's key at the provider; approving answers 202 with an operation that is
// pending while the phone has not confirmed, then done with the signed document. A refusal on
// the phone ends as a failed operation and leaves the document as it was.
on_both_databases!(service_remote_keys_confirm_on_the_phone_asynchronously_on_sqlite, service_remote_keys_confirm_on_the_phone_asynchronously_on_postgres => remote_keys_confirm_on_the_phone_asynchronously);

/// A server beside the phone double (VNPT's dialect) holding `cert_stem`'s key: the operator
/// declares the provider in the server's kyso.toml, and an administrator assigns a person the
/// credential there by name. Fields drop in order: the server before its folder.
struct WithPhone {
    server: Server,
    phone: kyso_tests::phone_double::PhoneDouble,
    key: serde_json::Value,
    dir: tempfile::TempDir,
}

fn with_phone(backend: Backend, cert_stem: &str, outcome: kyso_tests::phone_double::Outcome, pending_polls: usize) -> WithPhone {
    use kyso_tests::phone_double::{Dialect, PhoneDouble, config_for, credential};
    let phone = PhoneDouble::start(Dialect::Vnpt, cert_stem, outcome, pending_polls);
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("kyso.toml");
    std::fs::write(&conf, config_for(Dialect::Vnpt, &phone.base, 20)).unwrap();
    let db = fresh_database(backend, dir.path());
    let server =
        Server::start_with_env(&dir.path().join("data"), &db, &["--config", conf.to_str().unwrap()], &[("TEST_SP_PASSWORD", "s3cret-sp")]);
    let key = json!({"source": "provider", "name": "p", "credential": credential(Dialect::Vnpt)});
    WithPhone { server, phone, key, dir }
}

/// Polls an operation until it is no longer pending.
fn wait_for(api: &Api, token: &str, op: &str) -> Reply {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let r = api.get(&format!("/operations/{op}"), token);
        expect(&r, "GET", "/api/v1/operations/{id}", 200);
        if r.json["state"] != "pending" {
            return r;
        }
        assert!(std::time::Instant::now() < deadline, "the operation never finished");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The holder of a remote key confirms it once (a challenge signed on the phone).
fn confirm_key(api: &Api, token: &str) {
    let r = api.post("/me/key/confirm", token, Body::None);
    expect(&r, "POST", "/api/v1/me/key/confirm", 202);
    let done = wait_for(api, token, r.json["operation_id"].as_str().unwrap());
    assert_eq!(done.json["state"], "done", "{}", done.json);
    assert_eq!(done.json["result"]["confirmed"], true, "{}", done.json);
}

fn remote_keys_confirm_on_the_phone_asynchronously(backend: Backend) {
    use kyso_tests::phone_double::Outcome;
    for (outcome, expect_done) in [(Outcome::Confirm, true), (Outcome::Reject, false)] {
        let setup = with_phone(backend, "teacher-rsa", Outcome::Confirm, 4);
        let api = setup.server.api();
        let (admin, huong, lan) = (api.login("admin"), api.login("huong"), api.login("lan"));
        assert_eq!(api.post("/users/huong/key", &huong, Body::Json(setup.key.clone())).status, 403, "not an administrator");
        let r = api.post("/users/huong/key", &admin, Body::Json(setup.key.clone()));
        expect(&r, "POST", "/api/v1/users/{username}/key", 200);
        assert_eq!(
            (r.json["certificate"]["subject"].as_str(), r.json["identity"].as_str(), r.json["confirmed"].as_bool()),
            (Some("Nguyễn Thị Hương"), Some("match"), Some(false))
        );
        let id = submit(&api, &huong, "Hoc ba", &lesson_plan(), None).json["id"].as_str().unwrap().to_string();
        assert_eq!(
            approve(&api, &huong, &id).code(),
            "key_not_confirmed",
            "a remote key signs documents only once its holder confirmed it"
        );
        confirm_key(&api, &huong);
        setup.phone.set_outcome(outcome);
        let r = approve(&api, &huong, &id);
        expect(&r, "POST", "/api/v1/documents/{id}/approve", 202);
        let op = r.json["operation_id"].as_str().unwrap().to_string();
        assert_eq!(approve(&api, &huong, &id).code(), "already_pending", "one confirmation at a time per document");
        assert_eq!(api.get(&format!("/operations/{op}"), &lan).status, 404, "only its owner sees an operation");
        let last = wait_for(&api, &huong, &op);
        let doc = api.get(&format!("/documents/{id}"), &huong);
        if expect_done {
            assert_eq!(last.json["state"], "done", "{}", last.json);
            assert_eq!(last.json["result"]["current_stage"], 1);
            assert_eq!(doc.json["current_stage"], 1);
            let file = setup.dir.path().join("signed.pdf");
            std::fs::write(&file, api.get(&format!("/documents/{id}/pdf"), &huong).bytes).unwrap();
            let ps = pdfsig(&file);
            assert!(ps.signatures == 1 && ps.valid == 1, "{}", ps.text);
        } else {
            assert_eq!(last.json["state"], "failed", "{}", last.json);
            assert_eq!(last.json["result"]["error"]["code"], "key_backend_failed", "{}", last.json);
            assert_eq!(doc.json["current_stage"], 0, "nothing was signed");
        }
    }
}

/// Documents in an S3-compatible object store (moto's server, an independent implementation):
/// every blob lands in the bucket before its row; a node with an empty local cache fetches what
/// it needs and the chain continues; a blob changed in the store behind Kyso's back is refused.
#[test]
fn service_keeps_documents_in_an_s3_compatible_store() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut moto = std::process::Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("moto_server runs (the README's test command installs moto[server])");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "moto_server did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    kyso_keys_remote::install_crypto_provider();
    let http = reqwest::blocking::Client::new();
    assert!(http.put(format!("{endpoint}/kyso-blobs")).send().unwrap().status().is_success(), "bucket created");
    let env = [
        ("AWS_ENDPOINT", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ALLOW_HTTP", "true"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(Backend::Sqlite, dir.path());
    let data = dir.path().join("data");
    let args = ["--blob-store", "s3://kyso-blobs"];
    let id;
    {
        let server = Server::start_with_env(&data, &db, &args, &env);
        let api = server.api();
        let huong = api.login("huong");
        id = submit(&api, &huong, "Giao an", &lesson_plan(), None).json["id"].as_str().unwrap().to_string();
        let r = approve(&api, &huong, &id);
        assert_eq!(r.status, 200, "{}", r.json);
        let sha = r.json["versions"][0]["current_sha256"].as_str().unwrap().to_string();
        let listing = http.get(format!("{endpoint}/kyso-blobs?list-type=2")).send().unwrap().text().unwrap();
        assert!(listing.contains(&sha), "the signed version is in the bucket: {listing}");
    }
    // A fresh node: nothing cached locally.
    std::fs::remove_dir_all(data.join("blobs")).unwrap();
    let server = Server::start_with_env(&data, &db, &args, &env);
    let api = server.api();
    let (huong, bao) = (api.login("huong"), api.login("bao"));
    assert_eq!(approve(&api, &bao, &id).status, 200, "the chain continues from the store");
    let file = dir.path().join("two.pdf");
    std::fs::write(&file, api.get(&format!("/documents/{id}/pdf"), &huong).bytes).unwrap();
    let ps = pdfsig(&file);
    assert!(ps.signatures == 2 && ps.valid == 2, "{}", ps.text);
    // Changed in the store behind Kyso's back: refused, never served.
    let sha = api.get(&format!("/documents/{id}"), &huong).json["versions"][0]["current_sha256"].as_str().unwrap().to_string();
    drop(server);
    std::fs::remove_dir_all(data.join("blobs")).unwrap();
    // Signed like any S3 client (boto3 comes with moto); moto refuses anonymous overwrites.
    let put = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, boto3; boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id='test', aws_secret_access_key='test', region_name='us-east-1').put_object(Bucket='kyso-blobs', Key=sys.argv[2], Body=b'not the document')",
            &endpoint,
            &sha,
        ])
        .output()
        .unwrap();
    assert!(put.status.success(), "overwrite {sha}: {}", String::from_utf8_lossy(&put.stderr));
    let server = Server::start_with_env(&data, &db, &args, &env);
    let api = server.api();
    let r = api.get(&format!("/documents/{id}/pdf"), &api.login("huong"));
    assert_eq!((r.status, r.code()), (500, "internal"), "a blob that does not hash to its name is not served");
    let _ = moto.kill();
    let _ = moto.wait();
}

// A principal-style batch with a remote key: one phone confirmation signs the whole lot.
on_both_databases!(service_batch_with_a_remote_key_takes_one_confirmation_on_sqlite, service_batch_with_a_remote_key_takes_one_confirmation_on_postgres => batch_with_a_remote_key_takes_one_confirmation);

fn batch_with_a_remote_key_takes_one_confirmation(backend: Backend) {
    let setup = with_phone(backend, "head-p256", kyso_tests::phone_double::Outcome::Confirm, 3);
    let api = setup.server.api();
    let (admin, huong, bao) = (api.login("admin"), api.login("huong"), api.login("bao"));
    assert_eq!(api.post("/users/bao/key", &admin, Body::Json(setup.key.clone())).status, 200);
    confirm_key(&api, &bao);
    let ids: Vec<String> = (0..4)
        .map(|n| {
            let id = submit(&api, &huong, &format!("Giao an {n}"), &lesson_plan(), None).json["id"].as_str().unwrap().to_string();
            assert_eq!(approve(&api, &huong, &id).status, 200);
            id
        })
        .collect();
    let before = setup.phone.submissions.load(std::sync::atomic::Ordering::SeqCst);
    let r = api.post("/approvals/batch", &bao, Body::Json(json!({"document_ids": ids})));
    expect(&r, "POST", "/api/v1/approvals/batch", 202);
    let done = wait_for(&api, &bao, r.json["operation_id"].as_str().unwrap());
    assert_eq!(done.json["state"], "done", "{}", done.json);
    assert_eq!(done.json["result"]["signed"], 4, "{}", done.json);
    assert_eq!(setup.phone.submissions.load(std::sync::atomic::Ordering::SeqCst) - before, 1, "one confirmation on the phone for all four");
    for id in &ids {
        assert_eq!(api.get(&format!("/documents/{id}"), &bao).json["current_stage"], 2);
    }
}

// A person whose key lives on a PKCS#11 token (SoftHSM2): the administrator points their key at
// the token, the PIN coming from an environment variable of the server's. A wrong PIN is refused
// with a plain message and signs nothing; the right one signs a stage that validates.
on_both_databases!(service_signs_with_a_pkcs11_token_on_sqlite, service_signs_with_a_pkcs11_token_on_postgres => signs_with_a_pkcs11_token);

fn signs_with_a_pkcs11_token(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let conf = kyso_tests::softhsm::init_token(dir.path(), "Kyso", "123456", &[("teacher-rsa", "teacher", "01")]);
    // The certificate beside the key on the token, as a USB token holds it.
    let out = std::process::Command::new(kyso_bin())
        .args([
            "keys",
            "import-cert",
            pki("teacher-rsa.cert.pem").to_str().unwrap(),
            "--key",
            "pkcs11:token=Kyso;object=teacher;id=%01",
            "--pin",
            "123456",
        ])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    assert!(out.status.success(), "import-cert: {}", String::from_utf8_lossy(&out.stderr));
    // The operator declares the token; the PIN is the name of an environment variable.
    let kyso_toml = dir.path().join("kyso.toml");
    std::fs::write(
        &kyso_toml,
        format!(
            "[hsm.school]\nmodule = \"/usr/lib/softhsm/libsofthsm2.so\"\ntoken = \"Kyso\"\npin_env = \"TEST_TOKEN_PIN\"\nchain = \"{}\"\n",
            pki("issuing-ca.cert.pem").display()
        ),
    )
    .unwrap();
    let db = fresh_database(backend, dir.path());
    let key = json!({"source": "hsm", "name": "school", "object": "teacher"});
    let id;
    {
        let env = [("SOFTHSM2_CONF", conf.to_str().unwrap()), ("TEST_TOKEN_PIN", "654321")];
        let server = Server::start_with_env(&dir.path().join("data"), &db, &["--config", kyso_toml.to_str().unwrap()], &env);
        let api = server.api();
        let (admin, huong) = (api.login("admin"), api.login("huong"));
        id = submit(&api, &huong, "Giao an", &lesson_plan(), None).json["id"].as_str().unwrap().to_string();
        let r = api.post("/users/huong/key", &admin, Body::Json(key.clone()));
        assert_eq!((r.status, r.code()), (422, "signing_key_unusable"), "{}", r.json);
        let message = r.json["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("PIN"), "the message names the PIN: {message}");
        assert!(!String::from_utf8_lossy(&r.bytes).contains("654321"), "the PIN itself is never echoed");
        assert_eq!(api.get(&format!("/documents/{id}"), &huong).json["current_stage"], 0, "nothing was signed");
    }
    let env = [("SOFTHSM2_CONF", conf.to_str().unwrap()), ("TEST_TOKEN_PIN", "123456")];
    let server = Server::start_with_env(&dir.path().join("data"), &db, &["--config", kyso_toml.to_str().unwrap()], &env);
    let api = server.api();
    let (admin, huong) = (api.login("admin"), api.login("huong"));
    let r = api.post("/users/huong/key", &admin, Body::Json(key.clone()));
    expect(&r, "POST", "/api/v1/users/{username}/key", 200);
    assert_eq!(
        (r.json["source"].as_str(), r.json["confirmed"].as_bool()),
        (Some("hsm"), Some(true)),
        "a local key proves possession at once: {}",
        r.json
    );
    let r = approve(&api, &huong, &id);
    expect(&r, "POST", "/api/v1/documents/{id}/approve", 200);
    assert_eq!(r.json["current_stage"], 1);
    let file = dir.path().join("signed.pdf");
    std::fs::write(&file, api.get(&format!("/documents/{id}/pdf"), &huong).bytes).unwrap();
    let ps = pdfsig(&file);
    assert!(ps.signatures == 1 && ps.valid == 1, "{}", ps.text);
    let out = kyso(&["verify", &file.display().to_string(), "--trust", &pki("root.cert.pem").display().to_string(), "--offline"]);
    assert!(out.status.success(), "kyso verify: {}", String::from_utf8_lossy(&out.stdout));
}

// The tree and its people are data an administrator adds over REST, within what they
// administer: a new school under the district, its subject group, its own administrator, who
// then adds a teacher there and nothing elsewhere.
on_both_databases!(service_administrators_add_units_and_people_on_sqlite, service_administrators_add_units_and_people_on_postgres => administrators_add_units_and_people);

fn administrators_add_units_and_people(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(backend, dir.path());
    let server = Server::start(&dir.path().join("data"), &db, &[]);
    let api = server.api();
    let (admin, lan) = (api.login("admin"), api.login("lan"));
    let org = |token: &str, parent: &str, level: &str, name: &str| {
        api.post("/orgs", token, Body::Json(json!({"parent_id": parent, "level": level, "name": name})))
    };
    let r = org(&admin, "district", "school", "Trường THCS Đông Dư");
    expect(&r, "POST", "/api/v1/orgs", 201);
    let school = r.json["id"].as_str().unwrap().to_string();
    assert_eq!(r.json["parent_id"], "district");
    let r = org(&admin, &school, "group", "Tổ Khoa học Tự nhiên");
    expect(&r, "POST", "/api/v1/orgs", 201);
    let group = r.json["id"].as_str().unwrap().to_string();
    assert_eq!(org(&lan, &school, "group", "Tổ Anh").status, 403, "a teacher adds no units");
    assert_eq!(org(&admin, "no-such-unit", "group", "X").status, 404);
    assert_eq!(org(&admin, &school, "group", "  ").status, 400, "a name is required");

    let user = |token: &str, username: &str, org_id: &str, role: &str| {
        let body = json!({"username": username, "full_name": "Ngô Thị Mai", "password": "mật-khẩu-đủ-dài",
                          "memberships": [{"org_id": org_id, "role": role}]});
        api.post("/users", token, Body::Json(body))
    };
    let r = user(&admin, "dongdu.admin", &school, "admin");
    expect(&r, "POST", "/api/v1/users", 201);
    let r = api.call("POST", "/auth/login", None, Body::Json(json!({"username": "dongdu.admin", "password": "mật-khẩu-đủ-dài"})), &[]);
    assert_eq!(r.status, 200, "{}", r.json);
    let school_admin = r.json["token"].as_str().unwrap().to_string();
    let r = user(&school_admin, "mai.ngo", &group, "teacher");
    expect(&r, "POST", "/api/v1/users", 201);
    assert_eq!(r.json["memberships"][0]["org_id"], group.as_str());
    assert_eq!(user(&school_admin, "mai.ngo", &group, "teacher").code(), "username_taken");
    assert_eq!(user(&school_admin, "x.gia-thuy", "school", "teacher").status, 403, "another school is out of reach");
    assert_eq!(org(&school_admin, "district", "school", "X").status, 403, "so is the district");
    assert_eq!(user(&school_admin, "x.role", &group, "minister").status, 400, "unknown role");
    assert_eq!(user(&lan, "x.lan", &group, "teacher").status, 403, "a teacher adds nobody");
    let weak = json!({"username": "x.weak", "full_name": "X", "password": "short", "memberships": [{"org_id": group, "role": "teacher"}]});
    assert_eq!(api.post("/users", &school_admin, Body::Json(weak)).status, 400, "a short password is refused");

    // Chain templates are data too: the Sở's administrator adds the library's yearly report.
    let library = |field: &str| {
        json!({"name": "Báo cáo thư viện", "stages": [
            {"name": "Thủ thư", "field": field, "role": "librarian", "levels": ["school"], "mode": "submitter"},
            {"name": "Hiệu trưởng", "field": "2 Hieu truong", "role": "principal", "levels": ["school"], "mode": "any", "days": 5}]})
    };
    let r = api.call("PUT", "/templates/library-report", Some(&admin), Body::Json(library("1 Thu thu")), &[]);
    expect(&r, "PUT", "/api/v1/templates/{id}", 201);
    let r = api.call("PUT", "/templates/library-report", Some(&admin), Body::Json(library("1 Thu thu")), &[]);
    expect(&r, "PUT", "/api/v1/templates/{id}", 200);
    let r = api.call("PUT", "/templates/library-report", Some(&admin), Body::Json(library("1.Thu thu")), &[]);
    assert_eq!(r.status, 400, "a period in a field name: {}", r.json);
    assert!(r.json["error"]["message"].as_str().unwrap().contains("field name"), "{}", r.json);
    let r = api.call("PUT", "/templates/library-report", Some(&school_admin), Body::Json(library("1 Thu thu")), &[]);
    assert_eq!(r.status, 403, "a school's administrator does not change the Sở's templates");
    assert!(api.get("/templates", &lan).json.to_string().contains("library-report"));
    let thuvien = api.login("thuvien");
    let r =
        api.call("POST", "/documents?title=Bao%20cao%20thu%20vien&template=library-report", Some(&thuvien), Body::Pdf(&lesson_plan()), &[]);
    assert_eq!(r.status, 201, "{}", r.json);
    let stages: Vec<&str> = r.json["steps"].as_array().unwrap().iter().map(|s| s["stage_name"].as_str().unwrap()).collect();
    assert_eq!(stages, ["Thủ thư", "Hiệu trưởng"]);

    let r = api.call("POST", "/auth/login", None, Body::Json(json!({"username": "mai.ngo", "password": "mật-khẩu-đủ-dài"})), &[]);
    let mai = r.json["token"].as_str().unwrap().to_string();
    let me = api.get("/me", &mai);
    assert!(me.json.to_string().contains(&group), "{}", me.json);
    assert_eq!(api.get("/documents", &mai).json["total"], 0, "a new school's teacher sees nothing of the others'");
    let r = api.get("/audit/verify", &admin);
    assert_eq!(r.json["intact"], true);
    let actions = api.get("/audit?limit=100", &admin).json.to_string();
    assert!(["org_created", "user_created", "template_saved"].iter().all(|a| actions.contains(a)), "{actions}");
    assert!(!actions.contains("mật-khẩu"), "no password in the audit trail");
}

/// Approvals arriving together are committed together (one transaction for the queued ones):
/// every one is recorded once, in its own audit entry, and the chain stays intact.
fn concurrent_approvals_commit_together(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(backend, dir.path());
    let server = Server::start(&dir.path().join("data"), &db, &[]);
    let api = server.api();
    let (huong, bao, admin) = (api.login("huong"), api.login("bao"), api.login("admin"));
    let ids: Vec<String> = (0..24)
        .map(|n| {
            let id = submit(&api, &huong, &format!("Giao an {n}"), &lesson_plan(), None).json["id"].as_str().unwrap().to_string();
            assert_eq!(approve(&api, &huong, &id).status, 200);
            id
        })
        .collect();
    let replies: Vec<u16> = std::thread::scope(|s| {
        let threads: Vec<_> =
            ids.chunks(3).map(|chunk| s.spawn(|| chunk.iter().map(|id| approve(&api, &bao, id).status).collect::<Vec<_>>())).collect();
        threads.into_iter().flat_map(|t| t.join().unwrap()).collect()
    });
    assert!(replies.iter().all(|s| *s == 200), "{replies:?}");
    for id in &ids {
        let doc = api.get(&format!("/documents/{id}"), &bao);
        assert_eq!(doc.json["current_stage"], 2, "{}", doc.json);
        let file = dir.path().join("d.pdf");
        std::fs::write(&file, api.get(&format!("/documents/{id}/pdf"), &bao).bytes).unwrap();
        let ps = pdfsig(&file);
        assert!(ps.signatures == 2 && ps.valid == 2, "{}", ps.text);
    }
    let r = api.get("/audit/verify", &admin);
    assert_eq!(r.json["intact"], true, "{}", r.json);
    let mut signs = 0;
    let mut cursor = String::new();
    loop {
        let page = api.get(&format!("/audit?limit=100{cursor}"), &admin);
        signs += page.json["items"].as_array().unwrap().iter().filter(|e| e["action"] == "sign").count();
        match page.json["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(signs, 48, "one audit entry per signature");
}

on_both_databases!(service_concurrent_approvals_on_sqlite, service_concurrent_approvals_on_postgres => concurrent_approvals_commit_together);
