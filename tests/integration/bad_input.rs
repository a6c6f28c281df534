//! Bad input gets one clear line, exit code 1, no panic and no output file.

use kyso_tests::*;

fn refuse(name: &str, bytes: &[u8], expect: &str) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join(name);
    std::fs::write(&input, bytes).unwrap();
    let out = dir.path().join("out.pdf");
    let res = try_sign(&input, &out, RSA, &[]);
    let err = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(1), "{name}: expected exit 1 (no panic), got {:?}: {err}", res.status);
    assert_eq!(error_lines(&err).len(), 1, "{name}: one error line: {err}");
    assert!(err.contains(expect), "{name}: message should mention {expect:?}: {err}");
    assert!(!out.exists(), "{name}: no partial output");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "{name}: no temporary files left behind");
}

#[test]
fn garbage_and_truncation_are_refused_clearly() {
    let minimal = std::fs::read(corpus().join("inputs/pyhanko-minimal.pdf")).unwrap();
    refuse("empty.pdf", b"", "not a PDF");
    refuse("garbage.pdf", b"this is not a pdf at all\n", "not a PDF");
    refuse("photo.pdf", &[0xff, 0xd8, 0xff, 0xe0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xff, 0xd9], "not a PDF");
    refuse("header-only.pdf", b"%PDF-1.7\n%%EOF\n", "PDF");
    refuse("truncated.pdf", &minimal[..minimal.len() / 3], "");
    let mut deep = b"%PDF-1.7\n1 0 obj\n<</Type/Catalog/Pages 2 0 R/X ".to_vec();
    deep.extend(std::iter::repeat_n(b'[', 100_000));
    deep.extend_from_slice(b"\nendobj\ntrailer<</Root 1 0 R>>\n%%EOF\n");
    refuse("deep.pdf", &deep, "damaged");
}

#[test]
fn a_lying_length_is_survived() {
    // Make /Length of the page content stream lie; the reader must find endstream itself.
    let minimal = std::fs::read(corpus().join("inputs/pyhanko-minimal.pdf")).unwrap();
    let text = String::from_utf8_lossy(&minimal).into_owned();
    let at = text.find("/Length ").expect("a /Length");
    let end = at + 8 + text[at + 8..].find(|c: char| !c.is_ascii_digit()).unwrap();
    let mut lying = minimal[..at + 8].to_vec();
    lying.extend_from_slice(b"99999");
    lying.extend_from_slice(&minimal[end..]);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("lying.pdf");
    std::fs::write(&input, &lying).unwrap();
    let out = dir.path().join("out.pdf");
    let res = try_sign(&input, &out, RSA, &[]);
    assert!(res.status.code() == Some(0) || res.status.code() == Some(1), "no panic: {:?}", res.status);
    if res.status.success() {
        assert!(pdfsig(&out).valid == 1);
    } else {
        assert!(!out.exists());
    }
}

#[test]
fn wrong_key_for_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.pdf");
    let input = corpus().join("inputs/pyhanko-minimal.pdf");
    let res = kyso(&[
        "sign",
        &input.display().to_string(),
        "-o",
        &out.display().to_string(),
        "--key",
        &pki("principal-p256.key.pem").display().to_string(),
        "--cert",
        &pki("teacher-rsa.cert.pem").display().to_string(),
    ]);
    assert_eq!(res.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&res.stderr).contains("does not belong"), "{}", String::from_utf8_lossy(&res.stderr));
    assert!(!out.exists());
}

#[test]
fn expired_certificate_is_refused_in_both_languages() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.pdf");
    let res = try_sign(&corpus().join("inputs/pyhanko-minimal.pdf"), &out, EXPIRED, &[]);
    let err = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(1), "{err}");
    assert!(err.contains("đã hết hạn") && err.contains("expired"), "{err}");
    assert!(!out.exists());
}

#[test]
fn organisation_seal_signs_visibly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("seal.pdf");
    let png = repo_root().join("testdata/images/seal.png").display().to_string();
    sign(&corpus().join("inputs/pyhanko-minimal-two-pages.pdf"), &out, SEAL, &["--visible", "2:20,20,200,120", "--image", &png]);
    let (verdicts, report) = pyhanko(&out, true);
    assert_eq!(verdicts.len(), 1, "{report}");
    assert_eq!(verdicts[0].1, "VALID", "{report}");
}
