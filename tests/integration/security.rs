//! The findings of the security review of the running service (issue 11), each reproduced as
//! the attack it was and required to fail now, on SQLite and on PostgreSQL.

use kyso_tests::service::{Api, Backend, Body, Server, approve, expect, fresh_database, lesson_plan, sql_on, submit};
use kyso_tests::*;
use serde_json::json;

fn demo(backend: Backend) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(backend, dir.path());
    (Server::start(&dir.path().join("data"), &db, &[]), dir)
}

/// A PKCS#12 file of a test-PKI signer (OpenSSL's defaults: PBES2, AES), base64.
fn pkcs12_of(stem: &str, dir: &std::path::Path) -> String {
    let out = dir.join(format!("{stem}.p12"));
    let o = tool(
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-inkey",
            pki(&format!("{stem}.key.pem")).to_str().unwrap(),
            "-in",
            pki(&format!("{stem}.cert.pem")).to_str().unwrap(),
            "-certfile",
            pki("issuing-ca.cert.pem").to_str().unwrap(),
            "-passout",
            "pass:mat-khau-p12",
            "-out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "openssl pkcs12: {}", String::from_utf8_lossy(&o.stderr));
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(std::fs::read(out).unwrap())
}

fn audit_actions(api: &Api, token: &str) -> Vec<serde_json::Value> {
    api.get("/audit?limit=1000", token).json["items"].as_array().cloned().unwrap_or_default()
}

// Findings 1–3: nothing that arrives over REST is a file or library path; a polyglot upload can
// never become a PKCS#11 module, a configuration path never reads a file.
on_both_databases!(security_keys_are_never_paths_on_sqlite, security_keys_are_never_paths_on_postgres => keys_are_never_paths);

fn keys_are_never_paths(backend: Backend) {
    let (server, _dir) = demo(backend);
    let api = server.api();
    let (admin, huong) = (api.login("admin"), api.login("huong"));
    // A file that is a PDF (and, the attacker hopes, a shared library) stored as a blob.
    let polyglot = [&b"%PDF-1.4\n\x7fELF"[..], &lesson_plan()].concat();
    let r = submit(&api, &huong, "Giao an", &polyglot, None);
    let sha = r.json["versions"][0]["original_sha256"].as_str().unwrap_or("0").to_string();
    let blob = server.data_dir.join("blobs").join(&sha[..2]).join(&sha);
    let assigned = |api: &Api| audit_actions(api, &admin).iter().filter(|e| e["action"] == "key_assigned").count();
    let before = assigned(&api);
    let attempts = [
        json!({"key": format!("pkcs11:token=Kyso;object=teacher?module-path={}", blob.display())}),
        json!({"source": "hsm", "name": "school", "object": "teacher", "module_path": blob.display().to_string()}),
        json!({"key": "csc:prov/cred", "config": "/etc/passwd"}),
        json!({"source": "provider", "name": "p", "credential": "c", "config": "/proc/self/environ"}),
        json!({"key": "/etc/shadow", "cert": "../../../../etc/passwd"}),
    ];
    for a in attempts {
        let r = api.post("/users/huong/key", &admin, Body::Json(a.clone()));
        expect(&r, "POST", "/api/v1/users/{username}/key", 400);
        let text = String::from_utf8_lossy(&r.bytes);
        assert!(text.contains("never accepted over the API"), "{a}: {text}");
        assert!(!text.contains("root:") && !text.contains("PATH="), "nothing of a file comes back: {text}");
    }
    // Names that are not the operator's sources, or that look like paths, are refused too.
    for (a, needle) in [
        (json!({"source": "hsm", "name": "../../lib", "object": "teacher"}), "no HSM named"),
        (json!({"source": "provider", "name": "vnpt", "credential": "001"}), "no provider named"),
        (json!({"source": "hsm", "name": "school", "object": "../../../../etc/passwd"}), "never accepted"),
        (json!({"source": "module", "name": "x"}), "source must be"),
    ] {
        let r = api.post("/users/huong/key", &admin, Body::Json(a.clone()));
        assert_eq!(r.status, 400, "{a}: {}", r.json);
        assert!(r.json["error"]["message"].as_str().unwrap_or_default().contains(needle), "{a}: {}", r.json);
    }
    assert_eq!(assigned(&api), before, "nothing was assigned");
    // The teacher still signs with the key she had.
    assert_eq!(api.get("/me/key", &huong).json["certificate"]["subject"], "Nguyễn Thị Hương");
}

// Finding 3: a certificate belongs to a person. Another person's certificate is refused, or
// accepted only by an audited override that every signature then carries; a certificate swapped
// behind the server's back stops the key.
on_both_databases!(security_certificates_belong_to_their_people_on_sqlite, security_certificates_belong_to_their_people_on_postgres => certificates_belong_to_their_people);

fn certificates_belong_to_their_people(backend: Backend) {
    let (server, dir) = demo(backend);
    let api = server.api();
    let (admin, huong, kiemdinh) = (api.login("admin"), api.login("huong"), api.login("kiemdinh"));
    let principals = pkcs12_of("principal-p256", dir.path());
    let r =
        api.post("/users/huong/key", &admin, Body::Json(json!({"source": "keystore", "pkcs12": principals, "password": "mat-khau-p12"})));
    expect(&r, "POST", "/api/v1/users/{username}/key", 422);
    assert_eq!(r.code(), "certificate_mismatch");
    let message = r.json["error"]["message"].as_str().unwrap();
    assert!(message.contains("Trần Văn Minh") && message.contains("Nguyễn Thị Hương"), "{message}");
    assert!(r.json["error"]["message_vi"].as_str().unwrap().contains("không thuộc về"), "{}", r.json);
    let r = api.post("/users/huong/key", &admin, Body::Json(json!({"source": "keystore", "pkcs12": principals, "password": "sai"})));
    assert_eq!(r.code(), "signing_key_unusable", "a wrong PKCS#12 password is named: {}", r.json);
    // Her own certificate, uploaded: the name and the CCCD in its subject match her record.
    let own = pkcs12_of("teacher-rsa", dir.path());
    let r = api.post("/users/huong/key", &admin, Body::Json(json!({"source": "keystore", "pkcs12": own, "password": "mat-khau-p12"})));
    expect(&r, "POST", "/api/v1/users/{username}/key", 200);
    assert_eq!((r.json["identity"].as_str(), r.json["confirmed"].as_bool()), (Some("match"), Some(true)));
    // The same CCCD recorded differently: refused.
    assert_eq!(api.call("PATCH", "/users/huong", Some(&admin), Body::Json(json!({"id_number": "001190099999"})), &[]).status, 200);
    let r = api.post("/users/huong/key", &admin, Body::Json(json!({"source": "keystore", "pkcs12": own, "password": "mat-khau-p12"})));
    assert_eq!(r.code(), "certificate_mismatch", "{}", r.json);
    assert!(r.json["error"]["message"].as_str().unwrap().contains("001190099999"), "{}", r.json);
    // An explicit, audited override: accepted, and every signature carries it.
    let reason = "Chứng thư mới đang chờ cấp; dùng tạm theo biên bản 12/BB";
    let r = api.post(
        "/users/huong/key",
        &admin,
        Body::Json(json!({"source": "keystore", "pkcs12": principals, "password": "mat-khau-p12", "override_reason": reason})),
    );
    expect(&r, "POST", "/api/v1/users/{username}/key", 200);
    assert_eq!(r.json["identity"], "override");
    let audit = audit_actions(&api, &kiemdinh);
    let entry = audit.iter().find(|e| e["action"] == "key_assigned_with_override").expect("the override is audited");
    assert!(entry["detail"].as_str().unwrap().contains(reason), "{entry}");
    let id = submit(&api, &huong, "Giao an", &lesson_plan(), None).json["id"].as_str().unwrap().to_string();
    assert_eq!(approve(&api, &huong, &id).status, 200);
    let file = dir.path().join("override.pdf");
    std::fs::write(&file, api.get(&format!("/documents/{id}/pdf"), &huong).bytes).unwrap();
    let out = kyso(&["verify", "--offline", file.to_str().unwrap(), "--trust", pki("root.cert.pem").to_str().unwrap(), "--lang", "en"]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("an administrator accepted this certificate") && report.contains(reason), "{report}");
    // The certificate registered for bao replaced behind the server's back: his key stops.
    sql_on(
        &server.database_url,
        "UPDATE signer_keys SET cert_sha256 = '0000000000000000000000000000000000000000000000000000000000000000' WHERE user_id = (SELECT id FROM users WHERE username = 'bao')",
    );
    drop(api);
    let data = server.data_dir.clone();
    let db = server.database_url.clone();
    drop(server);
    let server = Server::start(&data, &db, &[]);
    let api = server.api();
    let r = approve(&api, &api.login("bao"), &id);
    expect(&r, "POST", "/api/v1/documents/{id}/approve", 422);
    assert_eq!(r.code(), "certificate_replaced");
}

// Finding 4: one idempotency key, many concurrent requests: one document, one signature, every
// other answer a replay of the first.
on_both_databases!(security_idempotency_holds_under_concurrency_on_sqlite, security_idempotency_holds_under_concurrency_on_postgres => idempotency_holds_under_concurrency);

fn idempotency_holds_under_concurrency(backend: Backend) {
    let (server, _dir) = demo(backend);
    let api = server.api();
    let huong = api.login("huong");
    let pdf = lesson_plan();
    let replies: Vec<_> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..10).map(|_| s.spawn(|| submit(&api, &huong, "Giao an", &pdf, Some("same-key")))).collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert!(replies.iter().all(|r| r.status == 201), "{:?}", replies.iter().map(|r| (r.status, r.json.clone())).collect::<Vec<_>>());
    let ids: std::collections::BTreeSet<&str> = replies.iter().filter_map(|r| r.json["id"].as_str()).collect();
    assert_eq!(ids.len(), 1, "one document: {ids:?}");
    assert_eq!(replies.iter().filter(|r| r.replayed).count(), 9);
    assert_eq!(api.get("/documents", &huong).json["total"], 1);
    let id = ids.into_iter().next().unwrap().to_string();
    let replies: Vec<_> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..10)
            .map(|_| {
                s.spawn(|| {
                    api.call("POST", &format!("/documents/{id}/approve"), Some(&huong), Body::None, &[("idempotency-key", "approve-once")])
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert!(replies.iter().all(|r| r.status == 200), "{:?}", replies.iter().map(|r| (r.status, r.code().to_string())).collect::<Vec<_>>());
    assert_eq!(replies.iter().filter(|r| r.replayed).count(), 9);
    let doc = api.get(&format!("/documents/{id}"), &huong);
    assert_eq!(doc.json["current_stage"], 1, "signed once");
    let signs = audit_actions(&api, &api.login("kiemdinh")).iter().filter(|e| e["action"] == "sign").count();
    assert_eq!(signs, 1);
}

// Finding 5 and 7: throttled logins with an audited lockout, bounded sizes with clear errors,
// and the smaller findings.
on_both_databases!(security_logins_sizes_and_headers_on_sqlite, security_logins_sizes_and_headers_on_postgres => logins_sizes_and_headers);

fn logins_sizes_and_headers(backend: Backend) {
    let (server, _dir) = demo(backend);
    let api = server.api();
    let login = |user: &str, password: &str| {
        api.call("POST", "/auth/login", None, Body::Json(json!({"username": user, "password": password})), &[])
    };
    for _ in 0..5 {
        assert_eq!(login("bao", "mat-khau-sai").code(), "invalid_credentials");
    }
    let r = login("bao", "kyso-demo");
    expect(&r, "POST", "/api/v1/auth/login", 429);
    assert_eq!(r.code(), "account_locked", "the right password is refused while locked: {}", r.json);
    assert!(r.json["error"]["message_vi"].as_str().unwrap().contains("bị khóa"), "{}", r.json);
    let kiemdinh = api.login("kiemdinh");
    let audit = audit_actions(&api, &kiemdinh);
    assert!(audit.iter().any(|e| e["action"] == "account_locked" && e["actor"] == "user:bao"), "the district auditor sees the lockout");
    assert!(
        audit.iter().filter(|e| e["action"] == "login_failed" && e["actor"] == "user:bao").count() >= 5,
        "and the failed logins, under bao's unit"
    );
    // A megabyte of user name never reaches the audit trail.
    let r = login(&"x".repeat(1 << 20), "whatever");
    assert!(r.status == 401 || r.status == 413, "{}", r.status);
    let admin = api.login("admin");
    assert!(audit_actions(&api, &admin).iter().all(|e| e["actor"].as_str().unwrap_or_default().len() < 100), "no oversized actor");
    // Sizes: a 2 MB reason is refused before it is read whole; a long one with a clear message.
    let huong = api.login("huong");
    let id = submit(&api, &huong, "Giao an", &lesson_plan(), None).json["id"].as_str().unwrap().to_string();
    let r = api.post(&format!("/documents/{id}/return"), &huong, Body::Json(json!({"reason": "x".repeat(2 << 20)})));
    assert_eq!((r.status, r.code()), (413, "too_large"), "{}", r.json);
    let r = api.post(&format!("/documents/{id}/approve"), &huong, Body::Json(json!({"reason": "x".repeat(2001)})));
    assert_eq!(r.status, 400, "{}", r.json);
    assert!(r.json["error"]["message"].as_str().unwrap().contains("at most 2000"), "{}", r.json);
    // Titles that hide or turn text are refused.
    for title in ["Giao%00an", "Giao%E2%80%AEan", "Giao%E2%80%8Ban", "%20"] {
        let r = api.call("POST", &format!("/documents?title={title}&template=lesson-plan"), Some(&huong), Body::Pdf(&lesson_plan()), &[]);
        assert_eq!(r.status, 400, "title {title}: {}", r.json);
    }
    // The password rule.
    for (password, needle) in [
        ("          ", "not only spaces"),
        ("nguoi.moi.1", "different from the user name"),
        (&"a1b2c3d4e5".repeat(103)[..], "at most 1024"),
    ] {
        let r = api.post("/users", &admin, Body::Json(json!({"username": "nguoi.moi.1", "full_name": "Người Mới", "password": password, "memberships": [{"org_id": "group", "role": "teacher"}]})));
        assert_eq!(r.status, 400, "{password:?}: {}", r.json);
        assert!(r.json["error"]["message"].as_str().unwrap().contains(needle), "{}", r.json);
    }
    for days in [0, 999_999] {
        let r = api.post(
            "/clients",
            &admin,
            Body::Json(json!({"name": "SMAS", "org_id": "school", "scopes": ["documents:read"], "valid_days": days})),
        );
        assert_eq!(r.status, 400, "valid_days {days}: {}", r.json);
    }
    // Logging out with an API client's token ends that token.
    let client = api.post("/clients", &admin, Body::Json(json!({"name": "SMAS", "org_id": "school", "scopes": ["documents:read"]})));
    let token = client.json["token"].as_str().unwrap().to_string();
    assert_eq!(api.get("/documents", &token).status, 200);
    assert_eq!(api.post("/auth/logout", &token, Body::None).status, 204);
    assert_eq!(api.get("/documents", &token).code(), "invalid_token");
    // Refused actions are audited where the unit's auditors see them.
    let thuvien = api.login("thuvien");
    assert_eq!(api.post("/orgs", &thuvien, Body::Json(json!({"parent_id": "school", "level": "group", "name": "Tổ X"}))).status, 403);
    assert!(
        audit_actions(&api, &kiemdinh).iter().any(|e| e["action"] == "refused" && e["actor"] == "user:thuvien"),
        "the refusal is in the trail"
    );
    // The error shape everywhere, and the headers.
    let r = api.call("DELETE", "/documents", Some(&huong), Body::None, &[]);
    assert_eq!((r.status, r.code()), (405, "method_not_allowed"));
    let r = api.get(&format!("/documents?cursor={}", "9".repeat(9000)), &huong);
    assert_eq!((r.status, r.code()), (414, "uri_too_long"));
    let http = reqwest::blocking::Client::new();
    let resp = http.post(format!("{}/auth/login", api.base)).json(&json!({"username": "huong", "password": "kyso-demo"})).send().unwrap();
    assert_eq!(resp.headers().get("x-content-type-options").map(|v| v.to_str().unwrap()), Some("nosniff"));
    assert_eq!(resp.headers().get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"));
    let resp = http.get(format!("{}/documents/{id}/pdf", api.base)).bearer_auth(&huong).send().unwrap();
    assert!(
        resp.headers().get("content-disposition").is_some_and(|v| v.to_str().unwrap().starts_with("attachment")),
        "a PDF is never shown inline"
    );
    // The tree: a teacher of another school sees her own branch, not Gia Thụy's.
    let lan = api.login("lan");
    let orgs =
        api.get("/orgs", &lan).json["items"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert!(
        orgs.contains(&"other-group".to_string()) && !orgs.contains(&"school".to_string()) && !orgs.contains(&"group".to_string()),
        "{orgs:?}"
    );
}

// Finding 6: delegations stay in their unit, are bounded and revocable, and give the delegate the
// delegated stages only.
on_both_databases!(security_delegations_are_bounded_on_sqlite, security_delegations_are_bounded_on_postgres => delegations_are_bounded);

fn delegations_are_bounded(backend: Backend) {
    let (server, _dir) = demo(backend);
    let api = server.api();
    let [huong, bao, minh, pho, lan] = ["huong", "bao", "minh", "pho", "lan"].map(|u| api.login(u));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let delegate = |to: &str, until: i64| {
        api.post(
            "/delegations",
            &minh,
            Body::Json(json!({"to_username": to, "org_id": "school", "role": "principal", "valid_until": until})),
        )
    };
    assert_eq!(delegate("lan", now + 86_400).status, 403, "another school's teacher");
    assert_eq!(delegate("minh", now + 86_400).status, 403, "oneself");
    assert_eq!(delegate("pho", i64::MAX).status, 400, "for ever");
    assert_eq!(delegate("pho", now + 91 * 86_400).status, 400, "past 90 days");
    let id = submit(&api, &huong, "Giao an", &lesson_plan(), None).json["id"].as_str().unwrap().to_string();
    assert_eq!(approve(&api, &huong, &id).status, 200);
    assert_eq!(approve(&api, &bao, &id).status, 200);
    // The vice principal sees nothing of the principal's until delegated.
    assert_eq!(api.get(&format!("/documents/{id}"), &pho).status, 200, "a vice principal oversees the school");
    assert!(api.get("/inbox", &pho).json["items"].as_array().unwrap().is_empty());
    let d = delegate("pho", now + 7 * 86_400);
    expect(&d, "POST", "/api/v1/delegations", 201);
    let inbox = api.get("/inbox", &pho);
    assert_eq!(inbox.json["items"][0]["on_behalf_of"], "minh", "{}", inbox.json);
    assert!(api.get("/inbox", &lan).json["items"].as_array().unwrap().is_empty(), "another school sees nothing");
    assert_eq!(api.get("/delegations", &pho).json["items"].as_array().unwrap().len(), 1);
    let did = d.json["id"].as_str().unwrap();
    assert_eq!(
        api.call("DELETE", &format!("/delegations/{did}"), Some(&pho), Body::None, &[]).status,
        403,
        "the delegate cannot revoke it"
    );
    assert_eq!(api.call("DELETE", &format!("/delegations/{did}"), Some(&minh), Body::None, &[]).status, 204);
    assert!(api.get("/inbox", &pho).json["items"].as_array().unwrap().is_empty(), "revoked at once");
    assert_eq!(approve(&api, &pho, &id).status, 403);
    // Delegated again, the vice principal signs for the principal.
    let d = delegate("pho", now + 86_400);
    assert_eq!(d.status, 201);
    let r = approve(&api, &pho, &id);
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["steps"][2]["on_behalf_of"], "minh");
    assert_eq!(r.json["steps"][2]["signed_by"], "pho");
}
