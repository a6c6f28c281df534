//! Remote signing over the CSC API v1: against certomancer-csc-dummy (an independent server,
//! in SCAL 1 and SCAL 2) for the good path, and against a fault double for the bad ones.

use kyso_tests::csc_double::{CscDouble, Fault};
use kyso_tests::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// certomancer-csc-dummy on a free loopback port, killed when dropped. Its access log (stderr)
/// goes to a file so tests can count calls.
struct Dummy {
    child: Child,
    port: u16,
    log: tempfile::NamedTempFile,
}

impl Dummy {
    fn start(scal: u8) -> Dummy {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new("certomancer-csc")
            .args([pki("certomancer.yml").display().to_string(), port.to_string(), scal.to_string()])
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("certomancer-csc runs (the README's test command installs certomancer-csc-dummy)");
        let d = Dummy { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("localhost", port)).is_err() {
            assert!(Instant::now() < deadline, "certomancer-csc did not start on port {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        d
    }

    fn key(&self, credential: &str) -> String {
        format!("csc:http://localhost:{}/csc/v1#kyso/{credential}", self.port)
    }

    fn calls(&self, method: &str) -> usize {
        std::fs::read_to_string(self.log.path()).unwrap_or_default().lines().filter(|l| l.contains(method)).count()
    }
}

impl Drop for Dummy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn certomancer_csc_dummy_signs_in_scal1_and_scal2() {
    for scal in [1, 2] {
        let dummy = Dummy::start(scal);
        let dir = tempfile::tempdir().unwrap();
        let mut current = corpus().join("inputs/pyhanko-minimal-two-pages.pdf");
        for (i, (credential, extra)) in [
            ("teacher-rsa", vec!["--pss"]),
            ("head-p256", vec![]),
            ("district-p384", vec!["--hash", "sha384"]),
            ("seal-rsa", vec!["--subfilter", "pkcs7"]),
        ]
        .into_iter()
        .enumerate()
        {
            let out = dir.path().join(format!("{i}.pdf"));
            let mut args = vec![
                "sign".to_string(),
                current.display().to_string(),
                "-o".into(),
                out.display().to_string(),
                "--key".into(),
                dummy.key(credential),
            ];
            args.extend(extra.iter().map(|s| s.to_string()));
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let res = kyso(&refs);
            assert!(res.status.success(), "SCAL {scal}, {credential}: {}", String::from_utf8_lossy(&res.stderr));
            current = out;
        }
        let (verdicts, report) = pyhanko(&current, true);
        assert_eq!(verdicts.len(), 4, "{report}");
        assert!(verdicts.iter().all(|(_, v)| v == "VALID"), "SCAL {scal}: {report}");
    }
}

#[test]
fn a_batch_takes_one_authorisation_per_multisign_and_reruns_skip() {
    let dummy = Dummy::start(2);
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("in"), dir.path().join("out"));
    std::fs::create_dir(&inp).unwrap();
    for i in 0..23 {
        std::fs::copy(corpus().join("inputs/pyhanko-minimal.pdf"), inp.join(format!("hoc-ba-{i:02}.pdf"))).unwrap();
    }
    let key = dummy.key("principal-p256");
    let res = kyso(&["sign-batch", &inp.display().to_string(), "-o", &out.display().to_string(), "--key", &key]);
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    assert!(String::from_utf8_lossy(&res.stdout).contains("signed 23, already signed 0, failed 0"));
    // The dummy's multisign is 10: 23 documents need 3 authorisations and 3 signHash calls.
    assert_eq!(dummy.calls("credentials/authorize"), 3);
    assert_eq!(dummy.calls("signatures/signHash"), 3);
    for i in [0, 11, 22] {
        let p = out.join(format!("hoc-ba-{i:02}.pdf"));
        assert_eq!(pdfsig(&p).valid, 1, "{}", p.display());
    }
    let (verdicts, report) = pyhanko(&out.join("hoc-ba-05.pdf"), true);
    assert_eq!(verdicts.len(), 1, "{report}");
    assert_eq!(verdicts[0].1, "VALID", "{report}");
    // `keys list` shows what the configured service offers.
    let conf = dir.path().join("kyso.toml");
    std::fs::write(&conf, format!("[provider.school]\nkind = \"csc-v1\"\nurl = \"http://localhost:{}/csc/v1\"\n", dummy.port)).unwrap();
    let res = kyso(&["keys", "list", "--config", &conf.display().to_string()]);
    let listing = String::from_utf8_lossy(&res.stdout);
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    assert!(listing.contains("csc:school/kyso/teacher-rsa\tNguyễn Thị Hương\tRSA-2048\tmultisign 10\tSCAL 2"), "{listing}");
    assert!(listing.contains("csc:school/kyso/district-p384\tLê Thu Hà\tECDSA P-384"), "{listing}");
    // Run again: nothing left to sign, no new provider calls.
    let res = kyso(&["sign-batch", &inp.display().to_string(), "-o", &out.display().to_string(), "--key", &key]);
    assert!(res.status.success());
    assert!(String::from_utf8_lossy(&res.stdout).contains("signed 0, already signed 23"));
    assert_eq!(dummy.calls("signatures/signHash"), 3);
}

fn sign_with_double(fault: Fault) -> (std::process::Output, tempfile::TempDir) {
    let double = CscDouble::start("teacher-rsa", fault);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.pdf");
    let res = Command::new(kyso_bin())
        .args([
            "sign",
            &corpus().join("inputs/pyhanko-minimal.pdf").display().to_string(),
            "-o",
            &out.display().to_string(),
            "--key",
            &format!("csc:{}#teacher", double.base),
        ])
        .env("KYSO_CSC_TIMEOUT_SECS", "2")
        .output()
        .unwrap();
    (res, dir)
}

#[test]
fn provider_faults_are_named_and_write_nothing() {
    let (res, _) = sign_with_double(Fault::None);
    assert!(res.status.success(), "the double's good path works: {}", String::from_utf8_lossy(&res.stderr));
    for (fault, expect) in [
        (Fault::ServerError, "HTTP 503: HSM cluster busy"),
        (Fault::MalformedJson, "malformed JSON"),
        (Fault::FewerSignatures, "returned 0 signatures for 1 hashes"),
        (Fault::GarbageSignatures, "does not verify"),
        (Fault::Hang, "did not answer signatures/signHash in time"),
    ] {
        let started = Instant::now();
        let (res, dir) = sign_with_double(fault);
        let err = String::from_utf8_lossy(&res.stderr);
        assert_eq!(res.status.code(), Some(1), "{fault:?}: {err}");
        assert!(err.contains(expect), "{fault:?}: expected {expect:?} in {err}");
        assert!(started.elapsed() < Duration::from_secs(15), "{fault:?} took {:?}", started.elapsed());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{fault:?}: nothing written");
    }
}

#[test]
fn a_failing_batch_writes_none_and_keeps_the_inputs() {
    let double = CscDouble::start("teacher-rsa", Fault::GarbageSignatures);
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("in"), dir.path().join("out"));
    std::fs::create_dir(&inp).unwrap();
    for i in 0..5 {
        std::fs::copy(corpus().join("inputs/pyhanko-minimal.pdf"), inp.join(format!("{i}.pdf"))).unwrap();
    }
    std::fs::write(inp.join("broken.pdf"), b"not a pdf").unwrap();
    let res = kyso(&[
        "sign-batch",
        &inp.display().to_string(),
        "-o",
        &out.display().to_string(),
        "--key",
        &format!("csc:{}#teacher", double.base),
    ]);
    let err = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(1));
    assert_eq!(err.matches("does not verify").count(), 5, "{err}");
    assert!(err.contains("broken.pdf") && err.contains("not a PDF"), "{err}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0, "no signed or temporary files");
    assert_eq!(std::fs::read_dir(&inp).unwrap().count(), 6, "inputs untouched");
    // Four hashes per authorisation on the double: five documents, two signHash calls.
    assert_eq!(double.sign_calls.load(std::sync::atomic::Ordering::SeqCst), 2);
}

fn csc2_sign(double: &kyso_tests::csc2_double::Csc2Double, asynchronous: bool, args: &[&str]) -> (std::process::Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("kyso.toml");
    std::fs::write(&conf, format!("[provider.v2]\nkind = \"csc-v2\"\nurl = \"{}\"\nasynchronous = {asynchronous}\npoll_interval_ms = 20\npoll_deadline_secs = 10\n", double.base)).unwrap();
    let mut all: Vec<String> = args.iter().map(|s| s.replace("{dir}", &dir.path().display().to_string())).collect();
    all.extend([
        "--key".into(),
        "csc:v2/cred-1".into(),
        "--config".into(),
        conf.display().to_string(),
        "--key-password".into(),
        "1234".into(),
    ]);
    (Command::new(kyso_bin()).args(&all).output().unwrap(), dir)
}

#[test]
fn csc_v2_signs_synchronously_and_asynchronously() {
    let input = corpus().join("inputs/pyhanko-minimal.pdf").display().to_string();
    for asynchronous in [false, true] {
        let double = kyso_tests::csc2_double::Csc2Double::start("principal-p256", 3, 2);
        let (out, dir) = csc2_sign(&double, asynchronous, &["sign", &input, "-o", "{dir}/s.pdf"]);
        assert!(out.status.success(), "async={asynchronous}: {}", String::from_utf8_lossy(&out.stderr));
        let (verdicts, report) = pyhanko(&dir.path().join("s.pdf"), true);
        assert_eq!(verdicts.len(), 1, "{report}");
        assert_eq!(verdicts[0].1, "VALID", "{report}");
        assert_eq!(double.polls.load(std::sync::atomic::Ordering::SeqCst), if asynchronous { 3 } else { 0 });
    }
    // A batch of 7 with multisign 3: three signHash calls, each polled until ready.
    let double = kyso_tests::csc2_double::Csc2Double::start("principal-p256", 3, 1);
    let src = tempfile::tempdir().unwrap();
    for i in 0..7 {
        std::fs::copy(corpus().join("inputs/pyhanko-minimal.pdf"), src.path().join(format!("{i}.pdf"))).unwrap();
    }
    let (out, dir) = csc2_sign(&double, true, &["sign-batch", &src.path().display().to_string(), "-o", "{dir}/out"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(double.sign_calls.load(std::sync::atomic::Ordering::SeqCst), 3);
    for i in 0..7 {
        assert_eq!(pdfsig(&dir.path().join(format!("out/{i}.pdf"))).valid, 1);
    }
}
