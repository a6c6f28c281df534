//! Key files as people have them: PKCS#8 (plain or with a password) and PKCS#12 from OpenSSL.

use kyso_tests::*;

#[test]
fn pkcs12_from_openssl_signs_and_wrong_passwords_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let p12 = dir.path().join("giao-vien.p12");
    let export = tool(
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-inkey",
            &pki("teacher-rsa.key.pem").display().to_string(),
            "-in",
            &pki("teacher-rsa.cert.pem").display().to_string(),
            "-certfile",
            &pki("issuing-ca.cert.pem").display().to_string(),
            "-passout",
            "pass:mật khẩu 123",
            "-out",
            &p12.display().to_string(),
        ],
    );
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    let input = corpus().join("inputs/pyhanko-minimal.pdf").display().to_string();
    let out = dir.path().join("signed.pdf");
    let o = out.display().to_string();
    let k = p12.display().to_string();
    // The certificate and chain come from the PKCS#12 file itself.
    let res = kyso(&["sign", &input, "-o", &o, "--key", &k, "--key-password", "mật khẩu 123"]);
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let (verdicts, report) = pyhanko(&out, true);
    assert_eq!(verdicts, vec![("Signature1".to_string(), "VALID".to_string())], "{report}");

    let wrong = dir.path().join("wrong.pdf");
    let res = kyso(&["sign", &input, "-o", &wrong.display().to_string(), "--key", &k, "--key-password", "sai"]);
    assert_eq!(res.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&res.stderr).contains("wrong password"), "{}", String::from_utf8_lossy(&res.stderr));
    assert!(!wrong.exists());

    let res = kyso(&["sign", &input, "-o", &wrong.display().to_string(), "--key", &k]);
    assert_eq!(res.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&res.stderr).contains("PKCS#12"), "{}", String::from_utf8_lossy(&res.stderr));
}

#[test]
fn encrypted_pkcs8_needs_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("enc.pem");
    let conv = tool(
        "openssl",
        &[
            "pkcs8",
            "-topk8",
            "-in",
            &pki("principal-p256.key.pem").display().to_string(),
            "-passout",
            "pass:bí mật",
            "-out",
            &key.display().to_string(),
        ],
    );
    assert!(conv.status.success(), "{}", String::from_utf8_lossy(&conv.stderr));
    let input = corpus().join("inputs/pyhanko-minimal.pdf").display().to_string();
    let out = dir.path().join("o.pdf");
    let (k, c, o) = (key.display().to_string(), pki("principal-p256.cert.pem").display().to_string(), out.display().to_string());
    let res = kyso(&["sign", &input, "-o", &o, "--key", &k, "--cert", &c]);
    assert_eq!(res.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&res.stderr).contains("password"), "{}", String::from_utf8_lossy(&res.stderr));
    let res = kyso(&["sign", &input, "-o", &o, "--key", &k, "--cert", &c, "--key-password", "bí mật"]);
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    assert_eq!(pdfsig(&out).valid, 1);
}
