//! Every signable input, signed once with each key type, must pass qpdf, pdfsig and pyHanko.

use kyso_tests::*;

#[test]
fn every_input_signs_with_every_key_type() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for input in signable_inputs() {
        for (i, signer) in SIGNERS.iter().enumerate() {
            let out = dir.path().join(format!("{}-{i}.pdf", file_name(&input)));
            let extra: &[&str] = if i == 2 { &["--subfilter", "pkcs7"] } else { &[] };
            let res = try_sign(&input, &out, *signer, extra);
            if !res.status.success() {
                failures.push(format!("{} with {signer:?}: kyso failed: {}", file_name(&input), String::from_utf8_lossy(&res.stderr)));
                continue;
            }
            if let Err(e) = qpdf_no_worse(&input, &out) {
                failures.push(format!("{} with {signer:?}: qpdf --check: {e}", file_name(&input)));
            }
            let ps = pdfsig(&out);
            if ps.signatures != 1 || ps.valid != 1 || !ps.total_document_signed {
                failures.push(format!("{} with {signer:?}: pdfsig: {}", file_name(&input), ps.text));
            }
            let (verdicts, text) = pyhanko(&out, strict_reader_accepts(&input));
            if verdicts.len() != 1 || verdicts.iter().any(|(_, v)| v != "VALID") {
                failures.push(format!("{} with {signer:?}: pyHanko: {text}", file_name(&input)));
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n---\n"));
}

#[test]
fn refused_inputs_fail_clearly_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<_> = corpus_inputs().into_iter().filter(|(_, e)| e == "REJECT" || e == "PASSWORD").collect();
    assert!(rows.len() >= 4, "the corpus lists REJECT and PASSWORD rows");
    for (input, expectation) in rows {
        let out = dir.path().join(format!("{}.signed.pdf", file_name(&input)));
        let res = try_sign(&input, &out, RSA, &[]);
        let err = String::from_utf8_lossy(&res.stderr);
        assert_eq!(res.status.code(), Some(1), "{}: expected a refusal, got {:?} {err}", file_name(&input), res.status);
        assert!(!out.exists(), "{}: a refused input must leave no output", file_name(&input));
        assert_eq!(error_lines(&err).len(), 1, "one clear error line: {err}");
        let expected_word = match expectation.as_str() {
            "PASSWORD" => "encrypted",
            _ => "",
        };
        assert!(err.contains(expected_word), "{}: message should say {expected_word:?}: {err}", file_name(&input));
    }
}

#[test]
fn xref_streams_stay_xref_streams() {
    let dir = tempfile::tempdir().unwrap();
    let input = corpus().join("inputs/pyhanko-minimal-xref.pdf");
    let out = dir.path().join("x.pdf");
    sign(&input, &out, P256, &[]);
    let bytes = std::fs::read(&out).unwrap();
    let original = std::fs::read(&input).unwrap();
    assert_eq!(&bytes[..original.len()], &original[..], "the original bytes stay untouched");
    let update = &bytes[original.len()..];
    let contains = |needle: &[u8]| update.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(b"\nxref\n"), "no switch back to a cross-reference table");
    assert!(contains(b"/Type /XRef"), "the update carries a cross-reference stream");
}

#[test]
fn contents_reservation_is_exact_for_rsa() {
    let dir = tempfile::tempdir().unwrap();
    let input = corpus().join("inputs/pyhanko-minimal.pdf");
    let out = dir.path().join("rsa.pdf");
    sign(&input, &out, RSA, &[]);
    let bytes = std::fs::read(&out).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let start = text.find("/Contents <").unwrap() + "/Contents <".len();
    let end = start + text[start..].find('>').unwrap();
    let hex = &text[start..end];
    // RSA signatures have a fixed length, so the CMS fills the hole exactly: no padding.
    assert!(!hex.ends_with("00"), "RSA reservation should have no zero padding");
    assert!(hex.len() < 8000, "no megabytes of padding: {} hex digits", hex.len());
}
