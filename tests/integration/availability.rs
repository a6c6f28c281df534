//! Bounded work for hostile input (the security review's item 8): each hostile PDF is refused
//! with a message or finished, and never hangs the signer, the validator or the server; the
//! server stops on SIGTERM with work in flight; a refused upload leaves nothing behind. The time
//! and memory each takes are measured by `hostile-bench`, not asserted here.

use kyso_tests::hostile;
use kyso_tests::service::{Backend, Body, Server, fresh_database};
use kyso_tests::*;

fn verify_exit(file: &std::path::Path) -> (Option<i32>, String) {
    let out = kyso(&["verify", "--offline", file.to_str().unwrap(), "--trust", pki("root.cert.pem").to_str().unwrap(), "--lang", "en"]);
    (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn hostile_pdfs_are_refused_or_finished() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    // A catalog of 200,000 keys: read in linear time, signed, validated.
    std::fs::write(p("dict.pdf"), hostile::huge_dictionary(200_000)).unwrap();
    sign(&p("dict.pdf"), &p("dict-signed.pdf"), P256, &["--no-revocation-check"]);
    let (code, text) = verify_exit(&p("dict-signed.pdf"));
    assert_eq!(code, Some(0), "{text}");
    // 20,000 fields named Signature1…: the next name is found without a quadratic search.
    std::fs::write(p("fields.pdf"), hostile::many_fields(20_000)).unwrap();
    sign(&p("fields.pdf"), &p("fields-signed.pdf"), P256, &["--no-revocation-check"]);
    let (code, text) = verify_exit(&p("fields-signed.pdf"));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("Signature20001"), "{text}");
    // 2,000 certificates claiming to be the issuer: path building gives up within its budget.
    std::fs::write(p("certs.pdf"), hostile::many_certificates(2_000)).unwrap();
    let (code, text) = verify_exit(&p("certs.pdf"));
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("gave up after 64 signature checks"), "{text}");
    // An 80 MB hex string in a signature dictionary: refused as an oversized object.
    hostile::write_huge_hex_string(&p("hex.pdf"), 40 << 20).unwrap();
    let (code, text) = verify_exit(&p("hex.pdf"));
    assert!(matches!(code, Some(1) | Some(3)), "{code:?} {text}");
    assert!(text.contains("larger than") || text.contains("cannot be read"), "{text}");
    // Signing never needs that object: it signs (copying the bytes through), or refuses cleanly.
    let res = try_sign(&p("hex.pdf"), &p("hex-signed.pdf"), P256, &["--no-revocation-check"]);
    match res.status.code() {
        Some(0) => assert_eq!(verify_exit(&p("hex-signed.pdf")).0, Some(1), "the broken signature stays failed"),
        Some(1) => assert!(!p("hex-signed.pdf").exists()),
        other => panic!("{other:?}: {}", String::from_utf8_lossy(&res.stderr)),
    }
}

#[test]
fn refused_uploads_leave_nothing_and_hostile_verifications_answer() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(Backend::Sqlite, dir.path());
    let server = Server::start(&dir.path().join("data"), &db, &[]);
    let api = server.api();
    let huong = api.login("huong");
    let blobs = |d: &std::path::Path| walk(&d.join("blobs")).into_iter().filter(|p| !p.starts_with(d.join("blobs/tmp"))).count();
    let before = blobs(&server.data_dir);
    let r = api.call("POST", "/documents?title=x&template=lesson-plan", Some(&huong), Body::Pdf(b"%PDF-1.7 not really"), &[]);
    assert_eq!((r.status, r.code()), (422, "invalid_pdf"), "{}", r.json);
    assert_eq!(blobs(&server.data_dir), before, "a refused upload is not stored");
    let r =
        api.call("POST", "/documents?title=x&template=no-such-chain", Some(&huong), Body::Pdf(&kyso_tests::service::lesson_plan()), &[]);
    assert_eq!(r.status, 404);
    assert_eq!(blobs(&server.data_dir), before, "nor one whose chain does not exist");
    for pdf in [hostile::huge_dictionary(200_000), hostile::many_certificates(2_000)] {
        let r = api.call("POST", "/verify", Some(&huong), Body::Pdf(&pdf), &[]);
        assert_eq!(r.status, 200, "{}", r.json);
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

/// SIGTERM with work in flight (a phone that never answers): the server stops; at the next
/// start the operation is marked interrupted, nothing signed.
#[test]
fn the_server_stops_on_sigterm_with_work_in_flight() {
    use kyso_tests::phone_double::{Dialect, Outcome, PhoneDouble, config_for, credential};
    let phone = PhoneDouble::start(Dialect::Vnpt, "teacher-rsa", Outcome::NeverAnswer, 0);
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("kyso.toml");
    std::fs::write(&conf, config_for(Dialect::Vnpt, &phone.base, 3600)).unwrap();
    let db = fresh_database(Backend::Sqlite, dir.path());
    let data = dir.path().join("data");
    let mut server = Server::start_with_env(&data, &db, &["--config", conf.to_str().unwrap()], &[("TEST_SP_PASSWORD", "x")]);
    let api = server.api();
    let admin = api.login("admin");
    let key = serde_json::json!({"source": "provider", "name": "p", "credential": credential(Dialect::Vnpt)});
    assert_eq!(api.post("/users/huong/key", &admin, Body::Json(key)).status, 200);
    let huong = api.login("huong");
    let r = api.post("/me/key/confirm", &huong, Body::None);
    assert_eq!(r.status, 202, "{}", r.json);
    let op = r.json["operation_id"].as_str().unwrap().to_string();
    assert!(server.terminate(std::time::Duration::from_secs(60)), "kyso serve did not stop on SIGTERM");
    let server = Server::start_with_env(&data, &db, &["--config", conf.to_str().unwrap()], &[("TEST_SP_PASSWORD", "x")]);
    let api = server.api();
    let huong = api.login("huong");
    let r = api.get(&format!("/operations/{op}"), &huong);
    assert_eq!((r.json["state"].as_str(), r.json["result"]["error"]["code"].as_str()), (Some("failed"), Some("interrupted")), "{}", r.json);
    assert_eq!(api.get("/me/key", &huong).json["confirmed"], false);
}
