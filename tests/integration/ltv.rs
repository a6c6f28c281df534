//! PAdES B-T: RFC 3161 timestamps from certomancer's TSA (an independent implementation, run by
//! `certomancer animate` over the test PKI's generated configuration).

use kyso_tests::*;
use std::time::{Duration, Instant};

#[test]
fn b_t_signatures_carry_a_checked_timestamp() {
    let animator = Animator::start();
    let dir = tempfile::tempdir().unwrap();
    let input = corpus().join("inputs/pyhanko-minimal-two-pages.pdf");
    let s1 = dir.path().join("bt1.pdf");
    let s2 = dir.path().join("bt2.pdf");
    sign(&input, &s1, RSA_PSS, &["--level", "b-t", "--tsa", &animator.tsa(), "--visible", "1:20,20,250,90"]);
    sign(&s1, &s2, P256, &["--level", "b-t", "--tsa", &animator.tsa()]);
    let (verdicts, report) = pyhanko(&s2, true);
    assert_eq!(verdicts.len(), 2, "{report}");
    assert!(verdicts.iter().all(|(_, v)| v == "VALID"), "{report}");
    let out = kyso(&["verify", &s2.display().to_string(), "--trust", &pki("root.cert.pem").display().to_string(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for sig in json["signatures"].as_array().unwrap() {
        assert_eq!(sig["level"], "PAdES-B-T");
        assert!(sig["messages"].to_string().contains("not revoked (http://127.0.0.1:9009/"), "asked online: {sig}");
        assert!(sig["timestamp_time"].as_str().is_some_and(|t| t.len() >= 15 && t.ends_with('Z')), "{sig}");
    }
}

#[test]
fn revoked_signers_are_refused_and_unreachable_responders_warn() {
    let dir = tempfile::tempdir().unwrap();
    let input = corpus().join("inputs/pyhanko-minimal.pdf");
    let revoked = Signer { stem: "revoked-teacher", extra: &[] };
    let out = dir.path().join("r.pdf");
    {
        let _services = Animator::start();
        let res = try_sign(&input, &out, revoked, &[]);
        let err = String::from_utf8_lossy(&res.stderr);
        assert_eq!(res.status.code(), Some(1), "{err}");
        assert!(err.contains("đã bị thu hồi") && err.contains("was revoked (since 2025-06-01"), "{err}");
        assert!(!out.exists());
        // A good signer is checked and signs without a warning.
        let res = try_sign(&input, &out, RSA, &["--require-revocation"]);
        assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
        assert!(!String::from_utf8_lossy(&res.stderr).contains("warning"));
    }
    // Responder gone: a warning by default, an error on request.
    let _exclusive = SERVICES_PORT.lock().unwrap_or_else(|e| e.into_inner());
    let out2 = dir.path().join("w.pdf");
    let res = try_sign(&input, &out2, RSA, &[]);
    assert!(res.status.success());
    assert!(
        String::from_utf8_lossy(&res.stderr).contains("kyso: warning: không kiểm tra được"),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let out3 = dir.path().join("e.pdf");
    let res = try_sign(&input, &out3, RSA, &["--require-revocation"]);
    assert_eq!(res.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&res.stderr).contains("could not be checked"));
    assert!(!out3.exists());
}

#[test]
fn a_missing_tsa_fails_in_bounded_time_and_b_b_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let input = corpus().join("inputs/pyhanko-minimal.pdf");
    let out = dir.path().join("o.pdf");
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started = Instant::now();
    let res = try_sign(&input, &out, RSA, &["--level", "b-t", "--tsa", &format!("http://127.0.0.1:{dead}/tsa")]);
    assert_eq!(res.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&res.stderr).contains("cannot reach the TSA"), "{}", String::from_utf8_lossy(&res.stderr));
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(!out.exists());
    let res = try_sign(&input, &out, RSA, &["--level", "b-t"]);
    assert!(String::from_utf8_lossy(&res.stderr).contains("--tsa"));
    sign(&input, &out, RSA, &["--level", "b-b"]);
    assert_eq!(pdfsig(&out).valid, 1);
}

fn adesverify(file: &std::path::Path) -> String {
    adesverify_at(file, None)
}

/// pyHanko's AdES validation, offline, optionally at another validation time (ISO 8601).
fn adesverify_at(file: &std::path::Path, at: Option<&str>) -> String {
    let root = pki("root.cert.pem").display().to_string();
    let f = file.display().to_string();
    let mut args = vec!["sign", "adesverify", "--trust", root.as_str(), "--trust-replace", "--executive-summary"];
    if let Some(t) = at {
        args.extend(["--validation-time", t]);
    }
    args.push(f.as_str());
    let out = tool("pyhanko", &args);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// 2047-06-01: the signers' certificates expired in 2045; the CAs and the TSA last to 2049.
const AFTER_SIGNER_EXPIRY: &str = "2047-06-01T00:00:00+00:00";

#[test]
fn b_lt_validates_later_from_embedded_data_alone() {
    let dir = tempfile::tempdir().unwrap();
    let input = corpus().join("inputs/pyhanko-minimal-two-pages.pdf");
    let (bt, blt, bb, augmented) =
        (dir.path().join("bt.pdf"), dir.path().join("blt.pdf"), dir.path().join("bb.pdf"), dir.path().join("aug.pdf"));
    {
        let services = Animator::start();
        sign(&input, &bt, RSA, &["--level", "b-t", "--tsa", &services.tsa()]);
        sign(&input, &blt, RSA, &["--level", "b-lt", "--tsa", &services.tsa()]);
        // A file signed without long-term data, augmented afterwards.
        sign(&input, &bb, P256, &["--no-revocation-check"]);
        let out = kyso(&["augment", &bb.display().to_string(), "-o", &augmented.display().to_string(), "--level", "b-lt"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    // The services are gone: only what the file carries can prove the certificates were good.
    let _exclusive = SERVICES_PORT.lock().unwrap_or_else(|e| e.into_inner());
    assert!(adesverify(&blt).ends_with(":VALID"), "B-LT: {}", adesverify(&blt));
    assert!(adesverify(&augmented).ends_with(":VALID"), "augmented: {}", adesverify(&augmented));
    assert!(adesverify(&bt).ends_with(":INVALID"), "control: a B-T file without the DSS cannot be validated offline: {}", adesverify(&bt));
    // After the signer's certificate expired: the timestamp is the proof of existence, the DSS
    // the proof it was not revoked. A file without a timestamp cannot prove anything then.
    assert!(
        adesverify_at(&blt, Some(AFTER_SIGNER_EXPIRY)).ends_with(":VALID"),
        "B-LT in 2047: {}",
        adesverify_at(&blt, Some(AFTER_SIGNER_EXPIRY))
    );
    assert!(adesverify_at(&augmented, Some(AFTER_SIGNER_EXPIRY)).ends_with(":INVALID"), "control: no timestamp, no proof in 2047");
    let root = pki("root.cert.pem").display().to_string();
    let at_2047 = |f: &std::path::Path| {
        let out = kyso(&["verify", "--offline", "--at", "2047-06-01", &f.display().to_string(), "--trust", &root, "--format", "json"]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (
            out.status.code(),
            json["signatures"][0]["indication"].as_str().unwrap_or_default().to_string(),
            json["signatures"][0]["sub_indication"].clone(),
        )
    };
    assert_eq!(at_2047(&blt).0, Some(0), "kyso verify --at 2047 on B-LT: {:?}", at_2047(&blt));
    assert_eq!(at_2047(&augmented), (Some(2), "INDETERMINATE".to_string(), serde_json::json!("OUT_OF_BOUNDS_NO_POE")));
    // Online by default: the services are down, so the embedded OCSP response must carry it.
    let out = kyso(&["verify", &blt.display().to_string(), "--trust", &pki("root.cert.pem").display().to_string(), "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["signatures"][0]["level"], "PAdES-B-LT");
    assert_eq!(json["signatures"][0]["indication"], "TOTAL-PASSED");
    assert_eq!(json["signatures"][0]["modifications"], "PERMITTED", "the DSS update is a permitted change");
    // Augmenting needs the services: with them gone it fails clearly and writes nothing.
    let again = dir.path().join("again.pdf");
    let out = kyso(&["augment", &bb.display().to_string(), "-o", &again.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no OCSP response or CRL could be fetched"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!again.exists());
}

/// B-LTA: a DSS, then a document timestamp over it; renewal adds a fresh DSS and a second
/// document timestamp. Judged offline by pyHanko's AdES validation and by `kyso verify`; a byte
/// changed under the document timestamp is caught.
#[test]
fn b_lta_document_timestamps_and_renewal() {
    let dir = tempfile::tempdir().unwrap();
    let input = corpus().join("inputs/pyhanko-minimal-two-pages.pdf");
    let (lta, renewed) = (dir.path().join("lta.pdf"), dir.path().join("renewed.pdf"));
    {
        let services = Animator::start();
        sign(&input, &lta, RSA, &["--level", "b-lta", "--tsa", &services.tsa()]);
        let out = kyso(&[
            "augment",
            &lta.display().to_string(),
            "-o",
            &renewed.display().to_string(),
            "--level",
            "b-lta",
            "--tsa",
            &services.tsa(),
        ]);
        assert!(out.status.success(), "renewal: {}", String::from_utf8_lossy(&out.stderr));
    }
    let _exclusive = SERVICES_PORT.lock().unwrap_or_else(|e| e.into_inner());
    let root = pki("root.cert.pem").display().to_string();
    for (file, document_timestamps) in [(&lta, 1), (&renewed, 2)] {
        assert!(adesverify(file).ends_with(":VALID"), "{}: {}", file.display(), adesverify(file));
        let later = adesverify_at(file, Some(AFTER_SIGNER_EXPIRY));
        assert!(later.ends_with(":VALID"), "{} in 2047: {later}", file.display());
        let out = kyso(&[
            "verify",
            "--offline",
            "--at",
            "2047-06-01",
            &file.display().to_string(),
            "--trust",
            &pki("root.cert.pem").display().to_string(),
        ]);
        assert_eq!(out.status.code(), Some(0), "kyso verify --at 2047: {}", String::from_utf8_lossy(&out.stdout));
        qpdf_no_worse(&input, file).unwrap();
        let out = kyso(&["verify", &file.display().to_string(), "--trust", &root, "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let sigs = json["signatures"].as_array().unwrap();
        assert_eq!(sigs.len(), 1 + document_timestamps);
        assert_eq!(sigs[0]["level"], "PAdES-B-LTA");
        for ts in &sigs[1..] {
            assert_eq!((ts["level"].as_str(), ts["subfilter"].as_str()), (Some("DOCUMENT-TIMESTAMP"), Some("ETSI.RFC3161")));
            assert_eq!(ts["indication"], "TOTAL-PASSED", "{ts}");
            assert!(ts["timestamp_time"].is_string());
        }
    }
    // Change one byte the last document timestamp covers (the catalog's /DSS key of the renewal).
    let mut bytes = std::fs::read(&renewed).unwrap();
    let at = bytes.windows(5).rposition(|w| w == b"/DSS ").expect("the catalog names the DSS");
    bytes[at + 3] = b'X';
    let tampered = dir.path().join("tampered.pdf");
    std::fs::write(&tampered, &bytes).unwrap();
    let out = kyso(&["verify", "--offline", &tampered.display().to_string(), "--trust", &root, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let last = json["signatures"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["indication"].as_str(), last["sub_indication"].as_str()), (Some("TOTAL-FAILED"), Some("HASH_FAILURE")), "{last}");
}

/// The validator's revocation check: online (certomancer's responder) a revoked signer fails;
/// with the services down it is INDETERMINATE (try later), or not checked with --offline; a
/// B-LT file answers from its own DSS without the network.
#[test]
fn the_validator_checks_revocation_online_and_from_the_file() {
    const REVOKED: Signer = Signer { stem: "revoked-teacher", extra: &["--no-revocation-check"] };
    let dir = tempfile::tempdir().unwrap();
    let input = corpus().join("inputs/pyhanko-minimal.pdf");
    let (revoked, blt) = (dir.path().join("revoked.pdf"), dir.path().join("blt.pdf"));
    let root = pki("root.cert.pem").display().to_string();
    let verify = |file: &std::path::Path, extra: &[&str]| {
        let f = file.display().to_string();
        let mut args = vec!["verify", f.as_str(), "--trust", root.as_str(), "--format", "json"];
        args.extend_from_slice(extra);
        let out = kyso(&args);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
        (out.status.code(), json["signatures"][0].clone())
    };
    sign(&input, &revoked, REVOKED, &[]);
    {
        let services = Animator::start();
        sign(&input, &blt, RSA, &["--level", "b-lt", "--tsa", &services.tsa()]);
        let (code, sig) = verify(&revoked, &[]);
        assert_eq!((code, sig["sub_indication"].as_str()), (Some(1), Some("REVOKED")), "{sig}");
        assert!(sig["messages"].to_string().contains("revoked on 2025-06-01"), "{sig}");
    }
    let _exclusive = SERVICES_PORT.lock().unwrap_or_else(|e| e.into_inner());
    let (code, sig) = verify(&revoked, &[]);
    assert_eq!((code, sig["sub_indication"].as_str()), (Some(2), Some("TRY_LATER")), "fails closed when nobody answers: {sig}");
    let (code, sig) = verify(&revoked, &["--offline"]);
    assert_eq!(code, Some(0), "offline and without evidence in the file: not checked, and said so: {sig}");
    assert!(sig["messages"].to_string().contains("revocation status not checked"), "{sig}");
    let (code, sig) = verify(&blt, &[]);
    assert_eq!(code, Some(0), "{sig}");
    assert!(sig["messages"].to_string().contains("not revoked (OCSP (trong tệp / embedded))"), "{sig}");
}
