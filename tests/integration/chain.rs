//! An approval chain of four signatures on every input: fields pre-created for each stage, a
//! certification by the teacher, then head, principal and district. Every earlier signature
//! must stay valid with only permitted changes after it.

use kyso_tests::*;
use std::path::Path;

fn add_field(input: &Path, output: &Path, name: &str, visible: &str, lock: &str) {
    let out = kyso(&[
        "add-field",
        &input.display().to_string(),
        "-o",
        &output.display().to_string(),
        "--name",
        name,
        "--visible",
        visible,
        "--lock",
        lock,
    ]);
    assert!(out.status.success(), "add-field {name}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn four_stage_approval_chain_validates_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for input in signable_inputs() {
        let name = file_name(&input);
        let p = |s: &str| dir.path().join(format!("{name}-{s}.pdf"));
        add_field(&input, &p("f1"), "To truong", "1:10,100,200,160", "Giao vien,To truong");
        add_field(&p("f1"), &p("f2"), "Hieu truong", "1:10,170,200,230", "Giao vien,To truong,Hieu truong");
        sign(
            &p("f2"),
            &p("s1"),
            RSA_PSS,
            &["--field", "Giao vien", "--visible", "1:10,30,200,90", "--certify", "form-filling", "--lock", "Giao vien"],
        );
        sign(&p("s1"), &p("s2"), HEAD_P256, &["--field", "To truong"]);
        sign(&p("s2"), &p("s3"), RSA3072, &["--field", "Hieu truong"]);
        sign(&p("s3"), &p("s4"), P384, &["--field", "Phong GD", "--subfilter", "pkcs7"]);
        let last = p("s4");
        if let Err(e) = qpdf_no_worse(&input, &last) {
            failures.push(format!("{name}: qpdf: {e}"));
        }
        let ps = pdfsig(&last);
        if ps.signatures != 4 || ps.valid != 4 || !ps.total_document_signed {
            failures.push(format!("{name}: pdfsig: {}", ps.text));
        }
        if name == "pyhanko-circular-page-tree.pdf" || name == "pyhanko-CompactedPDFSyntaxTest.pdf" {
            // pyHanko's difference analysis cannot read these inputs' earlier revisions at all:
            // a looping page tree (noted in the corpus), and a structure element without /K
            // (TypeError in pyhanko.pdf_utils.reader._collect_struct_tree_refs). pdfsig and qpdf
            // above still judge them.
            continue;
        }
        let (verdicts, text) = pyhanko(&last, strict_reader_accepts(&input));
        if verdicts.len() != 4 || verdicts.iter().any(|(_, v)| v != "VALID") {
            failures.push(format!("{name}: pyHanko: {text}"));
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n---\n"));
}

#[test]
fn locked_and_certified_documents_refuse_forbidden_changes() {
    let dir = tempfile::tempdir().unwrap();
    let input = corpus().join("inputs/pyhanko-minimal.pdf");
    let p = |s: &str| dir.path().join(format!("{s}.pdf"));
    add_field(&input, &p("f1"), "B", "1:10,100,100,150", "All");
    sign(&p("f1"), &p("s1"), RSA, &["--field", "A", "--certify", "form-filling"]);
    sign(&p("s1"), &p("s2"), P256, &["--field", "B"]);
    // B locked everything: signing anything visible now would break B's signature.
    let res = try_sign(&p("s2"), &p("s3"), P384, &["--visible", "1:10,10,100,50"]);
    assert_eq!(res.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&res.stderr).contains("certified"), "{}", String::from_utf8_lossy(&res.stderr));
    assert!(!p("s3").exists());
    // Adding a stage after certification is not a permitted change either.
    let res = kyso(&["add-field", &p("s1").display().to_string(), "-o", &p("late").display().to_string(), "--name", "Late"]);
    assert_eq!(res.status.code(), Some(1));
    assert!(!p("late").exists());
    // No changes allowed at all after P=1.
    sign(&input, &p("p1"), RSA, &["--certify", "no-changes"]);
    let res = try_sign(&p("p1"), &p("p1b"), P256, &[]);
    assert_eq!(res.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&res.stderr).contains("no changes"), "{}", String::from_utf8_lossy(&res.stderr));
}

/// The evil annotation attack (issue 12, item 5): a document certified for form filling (P=2)
/// gets an incremental update that adds a FreeText annotation over the page ("Diem 10 -
/// Attacker"); a Stamp is added after an ordinary approval signature. Both are DISALLOWED by
/// `kyso verify`, the first named as certification abuse, and pyHanko refuses the first too.
#[test]
fn annotations_added_after_a_signature_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = corpus().join("inputs/pyhanko-minimal.pdf");
    let p = |s: &str| dir.path().join(format!("{s}.pdf"));
    sign(&input, &p("certified"), RSA, &["--certify", "form-filling"]);
    sign(&input, &p("approved"), RSA, &[]);
    let annotate = |from: &Path, to: &Path, subtype: &str| {
        let script = r#"
import sys
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils import generic as g
src, dst, subtype = sys.argv[1], sys.argv[2], sys.argv[3]
with open(src, 'rb') as f:
    w = IncrementalPdfFileWriter(f)
    page_ref = w.find_page_for_modification(0)[0]
    annot = g.DictionaryObject({
        g.NameObject('/Type'): g.NameObject('/Annot'),
        g.NameObject('/Subtype'): g.NameObject('/' + subtype),
        g.NameObject('/Rect'): g.ArrayObject([g.FloatObject(v) for v in (0, 0, 600, 800)]),
        g.NameObject('/Contents'): g.TextStringObject('Diem 10 - Attacker'),
        g.NameObject('/DA'): g.TextStringObject('/Helv 48 Tf 1 0 0 rg'),
    })
    w.register_annotation(page_ref, w.add_object(annot))
    with open(dst, 'wb') as out:
        w.write(out)
"#;
        let out = std::process::Command::new("python3").args(["-c", script]).arg(from).arg(to).arg(subtype).output().expect("python3 runs");
        assert!(out.status.success(), "pyHanko's writer: {}", String::from_utf8_lossy(&out.stderr));
    };
    annotate(&p("certified"), &p("evil"), "FreeText");
    annotate(&p("approved"), &p("stamped"), "Stamp");
    let verdict = |f: &Path| {
        let out = kyso(&[
            "verify",
            &f.display().to_string(),
            "--trust",
            &pki("root.cert.pem").display().to_string(),
            "--offline",
            "--format",
            "json",
        ]);
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("JSON: {}", String::from_utf8_lossy(&out.stdout)));
        (out.status.code(), v)
    };
    let (code, v) = verdict(&p("evil"));
    assert_eq!(code, Some(1), "{v}");
    let sig = &v["signatures"][0];
    let text = sig.to_string();
    assert!(text.contains("FreeText"), "the added annotation is named: {text}");
    assert!(text.contains("EAA_SSA"), "named as certification abuse (evil annotation): {text}");
    let (verdicts, report) = pyhanko(&p("evil"), false);
    assert!(report.contains("ILLEGAL") || verdicts.iter().any(|(_, v)| v != "VALID"), "pyHanko refuses it too: {report}");
    let (code, v) = verdict(&p("stamped"));
    assert_eq!(code, Some(1), "a stamp over an approval is refused: {v}");
    assert!(v["signatures"][0].to_string().contains("Stamp"), "{v}");
}
