//! Detached CAdES over raw bytes, checked by `openssl cms -verify` against the test root.

use kyso_tests::*;
use std::path::Path;

fn openssl_cms_verify(sig: &Path, content: &Path) -> std::process::Output {
    let (s, c, root) = (sig.display().to_string(), content.display().to_string(), pki("root.cert.pem").display().to_string());
    tool(
        "openssl",
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            &s,
            "-content",
            &c,
            "-CAfile",
            &root,
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
    )
}

#[test]
fn openssl_accepts_detached_cades_for_every_key_type() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("so-diem.csv");
    std::fs::write(&data, "Họ tên,Điểm\nNguyễn Văn An,9.5\n").unwrap();
    let tampered = dir.path().join("tampered.csv");
    std::fs::write(&tampered, "Họ tên,Điểm\nNguyễn Văn An,10\n").unwrap();
    for (i, signer) in SIGNERS.iter().enumerate() {
        let sig = dir.path().join(format!("sig{i}.p7s"));
        let mut args: Vec<String> = vec!["cades-sign".into(), data.display().to_string(), "-o".into(), sig.display().to_string()];
        args.extend(signer.args());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = kyso(&refs);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let verify = openssl_cms_verify(&sig, &data);
        assert!(verify.status.success(), "{signer:?}: openssl: {}", String::from_utf8_lossy(&verify.stderr));
        // A changed byte must fail.
        assert!(!openssl_cms_verify(&sig, &tampered).status.success(), "tampered content must not verify");
    }
}
