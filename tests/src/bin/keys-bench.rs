//! Key-backend benchmark: `cargo build --release --workspace && target/release/keys-bench`.
//!
//! Signatures per second for the same keys in process, through SoftHSM2 (PKCS#11) and through
//! certomancer-csc-dummy (CSC v1), one by one and batched; then `kyso sign-batch` over 1,000
//! small PDFs through the CSC service: wall time and provider calls. Needs softhsm2-util and
//! certomancer-csc on PATH (the README's test command installs both).

use kyso_keys::{DigestAlgorithm, SignatureAlgorithm, SigningKey, SoftwareKey};
use kyso_tests::pki;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PIN: &str = "123456";

fn rate(label: &str, n: usize, f: impl FnOnce() -> usize) {
    let start = Instant::now();
    let done = f();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(done, n, "{label}: {done} of {n} signatures");
    println!("| {label} | {n} | {:.2} s | {:.0} /s |", secs, n as f64 / secs);
}

fn digests(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| DigestAlgorithm::Sha256.digest(format!("hoc ba {i}").as_bytes())).collect()
}

fn one_by_one(key: &dyn SigningKey, alg: SignatureAlgorithm, d: &[Vec<u8>]) -> usize {
    d.iter().filter(|x| key.sign_digest(alg, x).is_ok()).count()
}

fn main() {
    if std::env::var_os("SOFTHSM2_CONF").is_none() {
        // Re-run with a fresh token of our own (the environment is read by the module at load).
        let dir = tempfile::tempdir().unwrap();
        let conf =
            kyso_tests::softhsm::init_token(dir.path(), "Bench", PIN, &[("teacher-rsa", "rsa", "01"), ("principal-p256", "p256", "02")]);
        let status = Command::new(std::env::current_exe().unwrap()).env("SOFTHSM2_CONF", &conf).status().unwrap();
        std::process::exit(status.code().unwrap_or(1));
    }
    let sha = DigestAlgorithm::Sha256;
    println!("| backend | signatures | time | rate |\n|---|---|---|---|");
    let rsa = SoftwareKey::from_pkcs8(&std::fs::read(pki("teacher-rsa.key.pem")).unwrap(), None).unwrap();
    let p256 = SoftwareKey::from_pkcs8(&std::fs::read(pki("principal-p256.key.pem")).unwrap(), None).unwrap();
    let rsa_alg = SignatureAlgorithm::choose(rsa.kind(), sha, false).unwrap();
    let ec_alg = SignatureAlgorithm::choose(p256.kind(), sha, false).unwrap();
    rate("in process, RSA-2048 PKCS#1 v1.5", 500, || one_by_one(&rsa, rsa_alg, &digests(500)));
    rate("in process, P-256", 2000, || one_by_one(&p256, ec_alg, &digests(2000)));

    let ctx = kyso_keys_pkcs11::load_module("/usr/lib/softhsm/libsofthsm2.so").unwrap();
    for (label, object, alg, n) in [("SoftHSM2, RSA-2048 PKCS#1 v1.5", "rsa", rsa_alg, 1000), ("SoftHSM2, P-256", "p256", ec_alg, 2000)] {
        let uri: kyso_keys_pkcs11::Pkcs11Uri = format!("pkcs11:token=Bench;object={object}").parse().unwrap();
        let key = kyso_keys_pkcs11::Pkcs11Key::open(ctx.clone(), &uri, Some(PIN.into())).unwrap();
        rate(label, n, || one_by_one(&key, alg, &digests(n)));
    }

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut dummy = Command::new("certomancer-csc")
        .args([pki("certomancer.yml").display().to_string(), port.to_string(), "2".into()])
        .stdout(Stdio::null())
        .stderr(log.reopen().unwrap())
        .spawn()
        .expect("certomancer-csc");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("localhost", port)).is_err() {
        assert!(Instant::now() < deadline, "certomancer-csc did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let base = format!("http://localhost:{port}/csc/v1");
    let csc = |cred: &str| {
        let client = kyso_keys_remote::CscClient::new(&base, None, Duration::from_secs(60)).unwrap();
        kyso_keys_remote::CscKey::new(client, cred, None, None).unwrap()
    };
    let key = csc("kyso/principal-p256");
    rate("CSC (certomancer-csc-dummy), P-256, one by one", 200, || one_by_one(&key, ec_alg, &digests(200)));
    rate("CSC (certomancer-csc-dummy), P-256, batched (multisign 10)", 1000, || key.sign_digests(ec_alg, &digests(1000)).unwrap().len());

    // 1,000 small PDFs through `kyso sign-batch`.
    let kyso = kyso_tests::repo_root().join("target/release/kyso");
    assert!(kyso.exists(), "build it first: cargo build --release -p kyso-cli");
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("in"), dir.path().join("out"));
    std::fs::create_dir(&inp).unwrap();
    for i in 0..1000 {
        std::fs::copy(kyso_tests::corpus().join("inputs/pyhanko-minimal.pdf"), inp.join(format!("{i:04}.pdf"))).unwrap();
    }
    let calls_before = std::fs::read_to_string(log.path()).unwrap().matches("credentials/authorize").count();
    let start = Instant::now();
    let ok = Command::new(&kyso)
        .args([
            "sign-batch",
            &inp.display().to_string(),
            "-o",
            &out.display().to_string(),
            "--key",
            &format!("csc:{base}#kyso/principal-p256"),
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success();
    let secs = start.elapsed().as_secs_f64();
    let text = std::fs::read_to_string(log.path()).unwrap();
    let auth = text.matches("credentials/authorize").count() - calls_before;
    println!(
        "\nkyso sign-batch, 1000 PDFs via CSC: ok={ok}, {secs:.2} s, {auth} authorisations, {} signHash calls in the whole run",
        text.matches("signatures/signHash").count()
    );
    let _ = dummy.kill();
    let _ = dummy.wait();
}
