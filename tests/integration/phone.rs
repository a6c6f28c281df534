//! Confirm-on-phone providers (VNPT SmartCA, Viettel MySign, MISA eSign) through their doubles:
//! the signer confirms after a few polls, refuses, lets it expire, has a revoked certificate, or
//! never answers. Each outcome is named, nothing partial is written.

use kyso_tests::phone_double::{Dialect, Outcome, PhoneDouble, config_for, credential};
use kyso_tests::*;
use std::process::{Command, Output};

const DIALECTS: [Dialect; 3] = [Dialect::Vnpt, Dialect::Viettel, Dialect::Misa];

fn run(dialect: Dialect, double: &PhoneDouble, deadline: u64, args: &[&str]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("kyso.toml");
    std::fs::write(&conf, config_for(dialect, &double.base, deadline)).unwrap();
    let key = format!("csc:p/{}", credential(dialect));
    let mut all: Vec<String> = args.iter().map(|s| s.replace("{dir}", &dir.path().display().to_string())).collect();
    all.extend(["--key".into(), key, "--config".into(), conf.display().to_string()]);
    let out = Command::new(kyso_bin()).args(&all).env("TEST_SP_PASSWORD", "s3cret-sp").output().unwrap();
    (out, dir)
}

#[test]
fn confirmed_on_the_phone_signs_valid_pdfs() {
    let input = corpus().join("inputs/pyhanko-minimal.pdf").display().to_string();
    for dialect in DIALECTS {
        let double = PhoneDouble::start(dialect, "teacher-rsa", Outcome::Confirm, 3);
        let (out, dir) = run(dialect, &double, 10, &["sign", &input, "-o", "{dir}/signed.pdf", "--reason", "Duyệt học bạ"]);
        assert!(out.status.success(), "{dialect:?}: {}", String::from_utf8_lossy(&out.stderr));
        let signed = dir.path().join("signed.pdf");
        let (verdicts, report) = pyhanko(&signed, true);
        assert_eq!(verdicts.len(), 1, "{dialect:?}: {report}");
        assert_eq!(verdicts[0].1, "VALID", "{dialect:?}: {report}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("s3cret"), "secrets never printed");
    }
}

#[test]
fn one_confirmation_covers_a_whole_batch() {
    for dialect in DIALECTS {
        let double = PhoneDouble::start(dialect, "teacher-rsa", Outcome::Confirm, 2);
        let src = tempfile::tempdir().unwrap();
        for i in 0..7 {
            std::fs::copy(corpus().join("inputs/pyhanko-minimal-two-pages.pdf"), src.path().join(format!("hoc-ba-{i}.pdf"))).unwrap();
        }
        let (out, dir) = run(dialect, &double, 10, &["sign-batch", &src.path().display().to_string(), "-o", "{dir}/out"]);
        assert!(out.status.success(), "{dialect:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(
            double.submissions.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "{dialect:?}: one phone confirmation for seven documents"
        );
        for i in 0..7 {
            // Signatures came back in reverse order; each must still sit in its own document.
            assert_eq!(pdfsig(&dir.path().join(format!("out/hoc-ba-{i}.pdf"))).valid, 1, "{dialect:?} document {i}");
        }
    }
}

#[test]
fn refusals_expiry_revocation_and_silence_are_named() {
    let input = corpus().join("inputs/pyhanko-minimal.pdf").display().to_string();
    for dialect in DIALECTS {
        for (outcome, expect) in [
            (Outcome::Reject, "the signer rejected the request on the phone"),
            (Outcome::Expire, "the request expired before the signer confirmed it"),
            (Outcome::CertificateRevoked, "the signer's certificate is revoked or expired"),
            (Outcome::NeverAnswer, "no confirmation within 1 s"),
        ] {
            let double = PhoneDouble::start(dialect, "teacher-rsa", outcome, 1);
            let (out, dir) = run(dialect, &double, 1, &["sign", &input, "-o", "{dir}/signed.pdf"]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{dialect:?} {outcome:?}: {err}");
            assert!(err.contains(expect), "{dialect:?} {outcome:?}: expected {expect:?} in {err}");
            assert_eq!(error_lines(&err).len(), 1, "one error line: {err}");
            assert!(!dir.path().join("signed.pdf").exists());
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "only the config file remains");
        }
    }
}

#[test]
fn configuration_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("kyso.toml");
    let input = corpus().join("inputs/pyhanko-minimal.pdf").display().to_string();
    let o = dir.path().join("o.pdf").display().to_string();
    std::fs::write(&conf, config_for(Dialect::Vnpt, "http://127.0.0.1:9", 5)).unwrap();
    let run = |key: &str, env: bool| {
        let mut c = Command::new(kyso_bin());
        c.args(["sign", &input, "-o", &o, "--key", key, "--config", &conf.display().to_string()]);
        if env {
            c.env("TEST_SP_PASSWORD", "x");
        } else {
            c.env_remove("TEST_SP_PASSWORD");
        }
        String::from_utf8_lossy(&c.output().unwrap().stderr).into_owned()
    };
    assert!(run("csc:p/1", false).contains("TEST_SP_PASSWORD"), "missing secret named");
    assert!(run("csc:nope/1", true).contains("no provider \"nope\""));
    assert!(run("csc:p/1", true).contains("cannot reach the signing service"));
    std::fs::write(&conf, "[provider.p]\nkind = \"smoke-signals\"\n").unwrap();
    let err = run("csc:p/1", true);
    assert!(err.contains("kyso.toml") && err.contains("smoke-signals"), "{err}");
}
