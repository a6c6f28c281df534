//! Keys on a real PKCS#11 token: SoftHSM2, set up in a temporary folder for each test.

use kyso_tests::*;
use std::path::PathBuf;
use std::process::{Command, Output};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &str = "123456";

struct Token {
    _dir: tempfile::TempDir,
    conf: PathBuf,
}

impl Token {
    /// A fresh token "Kyso" holding the teacher (RSA, id 01, with certificate), principal (P-256,
    /// id 02) and district (P-384, id 03) keys of the test PKI.
    fn new() -> Token {
        assert!(std::path::Path::new(MODULE).exists(), "SoftHSM2 is missing ({MODULE}); the README's test command installs it");
        let dir = tempfile::tempdir().unwrap();
        let conf = kyso_tests::softhsm::init_token(
            dir.path(),
            "Kyso",
            PIN,
            &[("teacher-rsa", "teacher", "01"), ("principal-p256", "principal", "02"), ("district-p384", "district", "03")],
        );
        let t = Token { _dir: dir, conf };
        let out = t.kyso(&[
            "keys",
            "import-cert",
            &pki("teacher-rsa.cert.pem").display().to_string(),
            "--key",
            "pkcs11:token=Kyso;object=teacher;id=%01",
            "--pin",
            PIN,
        ]);
        assert!(out.status.success(), "import-cert: {}", String::from_utf8_lossy(&out.stderr));
        t
    }

    fn kyso(&self, args: &[&str]) -> Output {
        Command::new(kyso_bin()).args(args).env("SOFTHSM2_CONF", &self.conf).env_remove("KYSO_PKCS11_PIN").output().expect("kyso runs")
    }
}

#[test]
fn token_keys_sign_pdfs_that_validate() {
    let token = Token::new();
    let dir = tempfile::tempdir().unwrap();
    let input = corpus().join("inputs/pyhanko-minimal-two-pages.pdf").display().to_string();
    let chain = pki("issuing-ca.cert.pem").display().to_string();
    let s1 = dir.path().join("1.pdf").display().to_string();
    let s2 = dir.path().join("2.pdf").display().to_string();
    let s3 = dir.path().join("3.pdf").display().to_string();
    // RSA-PSS with the certificate read from the token.
    let out = token.kyso(&[
        "sign",
        &input,
        "-o",
        &s1,
        "--key",
        &format!("pkcs11:token=Kyso;object=teacher?pin-value={PIN}"),
        "--chain",
        &chain,
        "--pss",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // P-256 selected by id, PIN from --key-password.
    let cert = pki("principal-p256.cert.pem").display().to_string();
    let out = token.kyso(&[
        "sign",
        &s1,
        "-o",
        &s2,
        "--key",
        "pkcs11:token=Kyso;id=%02",
        "--key-password",
        PIN,
        "--cert",
        &cert,
        "--chain",
        &chain,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // RSA PKCS#1 v1.5 with a PIN file.
    let pin_file = dir.path().join("pin.txt");
    std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
    let out = token.kyso(&[
        "sign",
        &s2,
        "-o",
        &s3,
        "--key",
        &format!("pkcs11:token=Kyso;object=teacher?pin-source=file:{}", pin_file.display()),
        "--chain",
        &chain,
        "--hash",
        "sha512",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (verdicts, report) = pyhanko(std::path::Path::new(&s3), true);
    assert_eq!(verdicts.len(), 3, "{report}");
    assert!(verdicts.iter().all(|(_, v)| v == "VALID"), "{report}");
}

#[test]
fn token_errors_are_named_and_write_nothing() {
    let token = Token::new();
    let dir = tempfile::tempdir().unwrap();
    let input = corpus().join("inputs/pyhanko-minimal.pdf").display().to_string();
    let out_path = dir.path().join("o.pdf");
    let o = out_path.display().to_string();
    let cases: [(&str, &[&str], &str); 4] = [
        ("pkcs11:token=Kyso;object=teacher?pin-value=000000", &[], "wrong PIN"),
        ("pkcs11:token=Nope;object=teacher?pin-value=123456", &[], "no PKCS#11 token labelled"),
        ("pkcs11:token=Kyso;object=nobody?pin-value=123456", &[], "no private key"),
        ("pkcs11:token=Kyso;object=principal?pin-value=123456", &["--cert", "TEACHER"], "does not match"),
    ];
    for (uri, extra, expect) in cases {
        let teacher = pki("teacher-rsa.cert.pem").display().to_string();
        let mut args = vec!["sign", &input, "-o", &o, "--key", uri];
        args.extend(extra.iter().map(|a| if *a == "TEACHER" { teacher.as_str() } else { a }));
        let res = token.kyso(&args);
        let err = String::from_utf8_lossy(&res.stderr);
        assert_eq!(res.status.code(), Some(1), "{uri}: {err}");
        assert!(err.contains(expect), "{uri}: expected {expect:?} in {err}");
        assert!(!err.contains("123456"), "the PIN must never be echoed: {err}");
        assert!(!out_path.exists());
    }
}

#[test]
fn lost_sessions_are_recovered() {
    let token = Token::new();
    let helper = kyso_bin().with_file_name("softhsm-session-loss");
    for uri in ["pkcs11:token=Kyso;object=teacher", "pkcs11:token=Kyso;id=%01"] {
        let out = Command::new(&helper).args([MODULE, uri, PIN]).env("SOFTHSM2_CONF", &token.conf).output().expect("helper runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "recovered");
    }
}

#[test]
fn keys_list_shows_what_the_token_offers() {
    let token = Token::new();
    let out = token.kyso(&["keys", "list", "--pin", PIN]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "pkcs11:token=Kyso;object=teacher;id=%01\tprivate key",
        "pkcs11:token=Kyso;object=teacher;id=%01\tcertificate",
        "pkcs11:token=Kyso;object=district;id=%03\tprivate key",
    ] {
        assert!(text.contains(line), "missing {line:?} in {text}");
    }
}

#[test]
fn configured_hsm_keys_sign_and_list() {
    let token = Token::new();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("kyso.toml");
    std::fs::write(&conf, format!("[hsm.school]\nmodule = \"{MODULE}\"\ntoken = \"Kyso\"\npin_env = \"TEST_HSM_PIN\"\n")).unwrap();
    let c = conf.display().to_string();
    let run = |args: &[&str], pin: bool| {
        let mut cmd = Command::new(kyso_bin());
        cmd.args(args).env("SOFTHSM2_CONF", &token.conf);
        if pin {
            cmd.env("TEST_HSM_PIN", PIN);
        }
        cmd.output().unwrap()
    };
    let listing = run(&["keys", "list", "--config", &c], true);
    assert!(
        String::from_utf8_lossy(&listing.stdout).contains("hsm:school/teacher\tprivate key"),
        "{}",
        String::from_utf8_lossy(&listing.stdout)
    );
    let out = dir.path().join("s.pdf").display().to_string();
    let input = corpus().join("inputs/pyhanko-minimal.pdf").display().to_string();
    let res = run(
        &[
            "sign",
            &input,
            "-o",
            &out,
            "--key",
            "hsm:school/teacher",
            "--config",
            &c,
            "--chain",
            &pki("issuing-ca.cert.pem").display().to_string(),
        ],
        true,
    );
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    assert_eq!(pdfsig(std::path::Path::new(&out)).valid, 1);
    let res = run(&["sign", &input, "-o", &out, "--key", "hsm:school/teacher", "--config", &c], false);
    assert!(String::from_utf8_lossy(&res.stderr).contains("TEST_HSM_PIN"), "{}", String::from_utf8_lossy(&res.stderr));
}
