//! The web pages in a real browser: `tests/browser/walk.py` drives Debian's Chromium through the
//! whole chain as its people would (and through the hostile cases), on each database. What the
//! browser brought back is then judged here by tools Kyso did not write: the signed lesson plan
//! by pyHanko and poppler, the report PDF by qpdf and pdftotext; the screenshots are checked to
//! be real PNGs of both widths (and are kept in target/screenshots/ to be looked at).

use kyso_tests::service::{Backend, Server, fresh_database};
use kyso_tests::{corpus, kyso, pdfsig, pki, pyhanko, qpdf_ok, repo_root, tool};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn axe() -> std::path::PathBuf {
    let p = repo_root().join("target/npm/node_modules/axe-core/axe.min.js");
    assert!(p.exists(), "{} is missing: run scripts/deps.sh", p.display());
    p
}

/// (width, height) of a PNG, from its header.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).expect("a screenshot");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", path.display());
    let n = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
    (n(16), n(20))
}

fn walk_in_a_browser(backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_database(backend, dir.path());
    let server = Server::start(&dir.path().join("data"), &url, &["--demo-samples", "true"]);
    let out = repo_root().join("target/screenshots").join(format!("{backend:?}").to_lowercase());
    let _ = std::fs::remove_dir_all(&out);
    let lesson = corpus().join("inputs/pyhanko-minimal.pdf");
    let attack = corpus().join("verdicts/rub-hide-v1-manipulated.pdf");
    let run = Command::new("python3")
        .arg(repo_root().join("tests/browser/walk.py"))
        .args(["--base", &server.base, "--out"])
        .arg(&out)
        .arg("--pdf")
        .arg(&lesson)
        .arg("--attack")
        .arg(&attack)
        .arg("--axe")
        .arg(axe())
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "the browser walk failed:\n{stderr}");
    let result: Value = serde_json::from_slice(run.stdout.trim_ascii()).unwrap_or_else(|e| panic!("walk output: {e}\n{stderr}"));

    // The lesson plan the district officer downloaded: four signatures, in chain order, that
    // pyHanko and poppler accept, and that `kyso verify` finds in the required order.
    let signed = Path::new(result["signed"].as_str().expect("signed file"));
    qpdf_ok(signed).expect("qpdf --check accepts the signed lesson plan");
    let (verdicts, text) = pyhanko(signed, true);
    assert_eq!(verdicts.len(), 4, "pyHanko sees four signatures:\n{text}");
    assert!(verdicts.iter().all(|(_, v)| v == "VALID"), "pyHanko:\n{text}");
    let sig = pdfsig(signed);
    assert_eq!(sig.valid, 4, "pdfsig: {}", sig.text);
    let root = pki("root.cert.pem").display().to_string();
    let crl = pki("issuing-ca.crl").display().to_string();
    let verify = kyso(&[
        "verify",
        &signed.display().to_string(),
        "--trust",
        &root,
        "--crl",
        &crl,
        "--expect-chain",
        "teacher,head,principal,district",
    ]);
    assert!(verify.status.success(), "kyso verify --expect-chain: {}", String::from_utf8_lossy(&verify.stdout));

    // The report the auditor downloaded is a PDF that names the four signers.
    let report = Path::new(result["report_pdf"].as_str().expect("report"));
    qpdf_ok(report).expect("qpdf --check accepts the report");
    let words = tool("pdftotext", &[&report.display().to_string(), "-"]);
    let words = String::from_utf8_lossy(&words.stdout);
    for name in ["Nguyễn Thị Hương", "Phạm Quốc Bảo", "Trần Văn Minh", "Lê Thu Hà"] {
        assert!(words.contains(name), "the report names {name}:\n{words}");
    }

    // The attack is named in Vietnamese.
    let attack_text = result["attack_text"].as_str().unwrap_or_default();
    assert!(attack_text.contains("tấn công bóng"), "attack named: {attack_text}");

    // The script title was stored as the text it is (and the page showed it as text).
    let api = server.api();
    let token = api.login("huong");
    let doc = api.get(&format!("/documents/{}", result["xss_document"].as_str().expect("id")), &token);
    assert_eq!(doc.json["title"], "<script>alert('xss')</script><img src=x onerror=alert(2)>");

    // Every page was photographed at both widths.
    let shots = result["screenshots"].as_array().expect("screenshots");
    assert!(shots.len() >= 40, "{} screenshots", shots.len());
    for s in shots {
        let path = Path::new(s.as_str().expect("path"));
        let (w, h) = png_size(path);
        let expected = if path.to_string_lossy().ends_with("-360.png") { 360 } else { 1280 };
        assert_eq!(w, expected, "{}", path.display());
        assert!(h >= 300, "{} is only {h} px high", path.display());
    }
}

on_both_databases!(browser_walk_on_sqlite, browser_walk_on_postgres => walk_in_a_browser);
