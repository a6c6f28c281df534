//! The validator against the public corpus with known verdicts, and against Kyso's own output,
//! untouched and tampered with.

use kyso_tests::*;
use kyso_validate::{Context, Coverage, Indication, Modifications, Report};

fn anchors(path: &std::path::Path) -> Vec<x509_cert::Certificate> {
    kyso_pades::certinfo::parse_certificates(&std::fs::read(path).unwrap()).unwrap()
}

/// 2020-11-01: the pyHanko test certificates were valid then (the corpus says so).
const PYHANKO_TIME: u64 = 1_604_188_800;

#[test]
fn corpus_verdicts_match() {
    let dir = corpus().join("verdicts");
    let table = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    let ctx = Context::offline(anchors(&dir.join("pyhanko-testing-root.cert.pem")), PYHANKO_TIME);
    let mut failures = Vec::new();
    let mut checked = 0;
    for line in table.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, expected) = (cols[0], cols[3]);
        let data = std::fs::read(dir.join(file)).unwrap();
        let report = match kyso_validate::validate(&data, &ctx) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{file}: {e}"));
                continue;
            }
        };
        let Some(first) = report.signatures.first() else {
            failures.push(format!("{file}: no signature found"));
            continue;
        };
        let rest_ok = report.signatures[1..].iter().all(|s| s.indication != Indication::TotalFailed && s.intact);
        // Trust: the RUB and Adobe samples are self-signed (untrusted); the pyHanko ones chain to
        // the pyHanko test root.
        let not_failed = |s: &kyso_validate::SignatureReport| {
            s.intact
                && s.attacks.is_empty()
                && (s.indication == Indication::TotalPassed || s.sub_indication.as_deref() == Some("NO_CERTIFICATE_CHAIN_FOUND"))
        };
        let ok = match expected {
            "VALID" => report.signatures.iter().all(not_failed) && first.modifications == Modifications::None,
            "VALID-P" => not_failed(first) && first.modifications == Modifications::Permitted && rest_ok,
            "MODIFIED" => first.indication == Indication::TotalFailed && first.modifications == Modifications::Disallowed,
            "ATTACK" => first.indication == Indication::TotalFailed && !first.attacks.is_empty(),
            "INVALID" => first.indication == Indication::TotalFailed && !first.intact,
            "INDET" => first.indication == Indication::Indeterminate,
            other => panic!("unknown expectation {other}"),
        };
        checked += 1;
        if !ok {
            failures.push(format!("{file}: expected {expected}, got {}", kyso_report_summary(&report)));
        }
        if file.starts_with("pyhanko-") && matches!(expected, "VALID") {
            assert_eq!(
                first.indication,
                Indication::TotalPassed,
                "{file} chains to the pyHanko test root: {}",
                kyso_report_summary(&report)
            );
        }
    }
    assert_eq!(checked, 34, "every corpus row was judged");
    assert!(failures.is_empty(), "{} of 34 wrong:\n{}", failures.len(), failures.join("\n"));
}

fn kyso_report_summary(r: &Report) -> String {
    r.signatures
        .iter()
        .map(|s| {
            format!(
                "{}/{:?}/{}/{:?}/{:?}",
                s.indication.as_str(),
                s.sub_indication,
                s.modifications.as_str(),
                s.attacks,
                s.messages.iter().map(|m| m.en.clone()).collect::<Vec<_>>()
            )
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn signed_chain(dir: &std::path::Path) -> std::path::PathBuf {
    let input = corpus().join("inputs/pyhanko-minimal-two-pages.pdf");
    let p = |s: &str| dir.join(format!("{s}.pdf"));
    let out = kyso(&[
        "add-field",
        &input.display().to_string(),
        "-o",
        &p("f1").display().to_string(),
        "--name",
        "Hieu truong",
        "--visible",
        "1:10,100,200,160",
        "--lock",
        "Giao vien,Hieu truong",
    ]);
    assert!(out.status.success());
    sign(&p("f1"), &p("s1"), RSA_PSS, &["--field", "Giao vien", "--certify", "form-filling", "--visible", "1:10,30,200,90"]);
    sign(&p("s1"), &p("s2"), P256, &["--field", "Hieu truong"]);
    sign(&p("s2"), &p("s3"), P384, &["--subfilter", "pkcs7"]);
    p("s3")
}

fn kyso_ctx() -> Context {
    Context::offline(anchors(&pki("root.cert.pem")), 1_795_960_985)
}

#[test]
fn what_kyso_signs_validates_and_tampering_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let signed = signed_chain(dir.path());
    let data = std::fs::read(&signed).unwrap();
    let report = kyso_validate::validate(&data, &kyso_ctx()).unwrap();
    assert_eq!(report.signatures.len(), 3);
    for (i, s) in report.signatures.iter().enumerate() {
        assert_eq!(s.indication, Indication::TotalPassed, "signature {i}: {}", kyso_report_summary(&report));
        assert!(s.trusted && s.intact);
        assert_eq!(s.modifications, if i == 2 { Modifications::None } else { Modifications::Permitted });
    }
    assert_eq!(report.signatures[0].certification, Some(2));
    assert_eq!(report.signatures[0].coverage, Coverage::EntireRevision);
    assert_eq!(report.signatures[2].coverage, Coverage::EntireFile);
    assert_eq!(report.signatures[0].signer.as_ref().unwrap().name, "Nguyễn Thị Hương");
    assert_eq!(report.signatures[0].level, "PAdES-B-B");

    // A byte flipped inside the page text, which every signature covers.
    let mut flipped = data.clone();
    let at = flipped.windows(2).position(|w| w == b"Tj").expect("page text") - 3;
    flipped[at] ^= 0x20;
    let r = kyso_validate::validate(&flipped, &kyso_ctx()).unwrap();
    for s in &r.signatures {
        assert_eq!(s.indication, Indication::TotalFailed);
        assert_eq!(s.sub_indication.as_deref(), Some("HASH_FAILURE"));
    }

    // An appended update that replaces the page's content stream (a shadow "replace").
    let mut doc = kyso_pdf::Document::open(std::io::Cursor::new(data.clone())).unwrap();
    let page = doc.pages().unwrap()[0];
    let page_dict = doc.resolve_dict(Some(&kyso_pdf::Object::Ref(page))).unwrap().unwrap();
    let contents = page_dict.get(b"Contents").and_then(kyso_pdf::Object::as_ref).expect("a content stream reference");
    let mut update = kyso_pdf::Update::new(&mut doc).unwrap();
    update.put(contents, kyso_pdf::Stream::new(kyso_pdf::Dict::new(), b"BT /F1 24 Tf 20 20 Td (Diem 10) Tj ET".to_vec()).into_object());
    let mut tampered = Vec::new();
    update.write(&mut doc, &mut tampered, &mut |_| {}).unwrap();
    let r = kyso_validate::validate(&tampered, &kyso_ctx()).unwrap();
    for s in &r.signatures {
        assert_eq!(s.indication, Indication::TotalFailed, "{}", kyso_report_summary(&r));
        assert_eq!(s.modifications, Modifications::Disallowed);
        assert!(s.attacks.contains(&kyso_validate::Attack::Shadow));
    }
    assert_eq!(r.signatures.last().unwrap().coverage, Coverage::EntireRevision, "the tampering update is not covered");
}

#[test]
fn cli_exit_codes_and_formats() {
    let dir = tempfile::tempdir().unwrap();
    let signed = signed_chain(dir.path());
    let root = pki("root.cert.pem").display().to_string();
    let s = signed.display().to_string();
    let out = kyso(&["verify", "--offline", &s, "--trust", &root, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sig = &json["signatures"][0];
    for key in [
        "field",
        "signer",
        "signing_time",
        "timestamp_time",
        "level",
        "indication",
        "sub_indication",
        "intact",
        "coverage",
        "modifications",
        "attacks",
        "messages",
    ] {
        assert!(sig.get(key).is_some(), "JSON lacks {key}");
    }
    assert_eq!(sig["signer"]["name"], "Nguyễn Thị Hương");
    assert_eq!(json["document"]["certification"], 2);
    let text = kyso(&["verify", "--offline", &s, "--trust", &root]);
    let t = String::from_utf8_lossy(&text.stdout);
    assert!(t.contains("Kết quả: HỢP LỆ") && t.contains("Người ký: Nguyễn Thị Hương") && t.contains("Hiệu lực chứng thư"), "{t}");
    let en = String::from_utf8_lossy(&kyso(&["verify", "--offline", &s, "--trust", &root, "--lang", "en"]).stdout).into_owned();
    assert!(en.contains("Result: VALID") && en.contains("Issuer:"), "{en}");
    // ETSI TS 119 102-2 XML: well-formed (Python's parser), one report per signature, the URNs.
    let xml = kyso(&["verify", "--offline", &s, "--trust", &root, "--format", "etsi"]);
    assert_eq!(xml.status.code(), Some(0));
    let check = std::process::Command::new("python3")
        .args(["-c", "import sys, xml.etree.ElementTree as E; r = E.parse(sys.stdin).getroot(); ns = {'v': 'http://uri.etsi.org/19102/v1.2.1#'}; print(len(r.findall('v:SignatureValidationReport', ns)), ' '.join(e.text for e in r.iter('{http://uri.etsi.org/19102/v1.2.1#}MainIndication')))"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&xml.stdout)?;
            c.wait_with_output()
        })
        .expect("python3 runs");
    let parsed = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "not well-formed XML: {}", String::from_utf8_lossy(&check.stderr));
    let sigs = json["signatures"].as_array().unwrap().len();
    assert_eq!(parsed.trim(), format!("{sigs} {}", vec!["urn:etsi:019102:mainindication:total-passed"; sigs].join(" ")));
    // The auditor's PDF report: a valid PDF whose text is the report.
    let report_pdf = dir.path().join("report.pdf");
    let out = kyso(&["verify", "--offline", &s, "--trust", &root, "--format", "pdf", "-o", &report_pdf.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(tool("qpdf", &["--check", &report_pdf.display().to_string()]).status.success());
    let text = String::from_utf8_lossy(&tool("pdftotext", &[&report_pdf.display().to_string(), "-"]).stdout).into_owned();
    assert!(
        text.contains("BÁO CÁO KIỂM TRA CHỮ KÝ SỐ") && text.contains("Người ký: Nguyễn Thị Hương") && text.contains("TOTAL-PASSED"),
        "{text}"
    );
    assert_eq!(kyso(&["verify", "--offline", &s, "--trust", &root, "--format", "pdf"]).status.code(), Some(3), "a PDF needs -o");
    // Untrusted: INDETERMINATE, exit 2. Tampered: exit 1. Not a file: exit 3.
    assert_eq!(kyso(&["verify", "--offline", &s]).status.code(), Some(2));
    let mut bytes = std::fs::read(&signed).unwrap();
    let n = bytes.len() - 30;
    bytes[n] ^= 1;
    let bad = dir.path().join("bad.pdf");
    std::fs::write(&bad, bytes).unwrap();
    assert_eq!(kyso(&["verify", "--offline", &bad.display().to_string(), "--trust", &root]).status.code(), Some(1));
    assert_eq!(kyso(&["verify", "--offline", "/nonexistent.pdf"]).status.code(), Some(3));
    // Validating after the signers' certificates expired (2045) without long-term data.
    assert_eq!(kyso(&["verify", "--offline", &s, "--trust", &root, "--at", "2050-01-01"]).status.code(), Some(2));
}

/// The validator's entry point under mutation (the fuzz target's property, run deterministically
/// on stable Rust): one byte changed anywhere in a fully signed chain never panics and never
/// leaves the document TOTAL-PASSED, and truncations never panic. (Run once over every byte of
/// the last /Contents: all 7,000-odd changes fail.)
#[test]
fn no_single_byte_change_passes_and_nothing_panics() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read(signed_chain(dir.path())).unwrap();
    let ctx = kyso_ctx();
    assert_eq!(kyso_validate::validate(&original, &ctx).unwrap().overall(), Indication::TotalPassed);
    // 300 positions over the whole file, and 300 over the last signature's /Contents: the one
    // part nothing signs, where only the CMS's own consistency can catch a change.
    let hole = original.windows(11).rposition(|w| w == b"/Contents <").unwrap() + 11;
    let hole_end = hole + original[hole..].iter().position(|b| *b == b'>').unwrap();
    let positions =
        (0..original.len()).step_by((original.len() / 300).max(1)).chain((hole..hole_end).step_by(((hole_end - hole) / 300).max(1)));
    let mut checked = 0;
    for at in positions {
        let mut bytes = original.clone();
        bytes[at] ^= 1;
        if let Ok(report) = kyso_validate::validate(&bytes, &ctx) {
            let around = String::from_utf8_lossy(&original[at.saturating_sub(40)..(at + 20).min(original.len())]).into_owned();
            assert_ne!(
                report.overall(),
                Indication::TotalPassed,
                "byte {at} of {} changed, yet the document passes: {around:?}",
                original.len()
            );
        }
        let _ = kyso_validate::validate(&original[..at], &ctx);
        checked += 1;
    }
    assert!(checked >= 600);
}
