//! Helpers for the integration tests: where things are, and how to ask each independent
//! validator for its verdict. A missing validator fails the test loudly: the README's test
//! command installs them all.
#![forbid(unsafe_code)]

pub mod csc2_double;
pub mod csc_double;
pub mod domain;
pub mod hostile;
pub mod http_double;
pub mod phone_double;
pub mod service;
pub mod softhsm;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// The shared corpus, beside the project (never copied into it).
pub fn corpus() -> PathBuf {
    let p = repo_root().join("../shared/corpus");
    assert!(p.join("inputs/expected.tsv").exists(), "the shared corpus is missing at {}", p.display());
    p
}

pub fn pki(name: &str) -> PathBuf {
    repo_root().join("testdata/pki").join(name)
}

/// The `kyso` binary built from these sources: `cargo build -p kyso-cli` runs once per test
/// process (a no-op when it is up to date), so a stale binary is never what gets tested.
pub fn kyso_bin() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        // Tests run from target/<profile>/deps, bench binaries from target/<profile>.
        let here = exe.parent().expect("the executable's folder");
        let dir = if here.ends_with("deps") { here.parent().expect("target/<profile>") } else { here };
        let release = dir.file_name().is_some_and(|n| n == "release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "-p", "kyso-cli", "--bin", "kyso"]).current_dir(repo_root());
        if release {
            build.arg("--release");
        }
        let out = build.output().expect("cargo runs");
        assert!(out.status.success(), "building kyso failed: {}", String::from_utf8_lossy(&out.stderr));
        let bin = dir.join("kyso");
        assert!(bin.exists(), "{} is missing after cargo build", bin.display());
        bin
    })
    .clone()
}

pub fn kyso(args: &[&str]) -> Output {
    Command::new(kyso_bin()).args(args).output().expect("kyso runs")
}

/// The `kyso: error:` lines of a stderr (warnings such as an unreachable OCSP responder are
/// allowed beside them).
pub fn error_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with("kyso: error")).collect()
}

/// Runs an external tool; panics with a clear message when it is not installed.
pub fn tool(name: &str, args: &[&str]) -> Output {
    Command::new(name).args(args).output().unwrap_or_else(|e| panic!("cannot run {name} ({e}); the README's test command installs it"))
}

/// One of the test PKI's signers: (key, certificate, extra kyso arguments).
#[derive(Clone, Copy, Debug)]
pub struct Signer {
    pub stem: &'static str,
    pub extra: &'static [&'static str],
}

pub const RSA: Signer = Signer { stem: "teacher-rsa", extra: &[] };
pub const RSA_PSS: Signer = Signer { stem: "teacher-rsa", extra: &["--pss", "--hash", "sha384"] };
pub const P256: Signer = Signer { stem: "principal-p256", extra: &[] };
pub const P384: Signer = Signer { stem: "district-p384", extra: &["--hash", "sha512"] };
pub const HEAD_P256: Signer = Signer { stem: "head-p256", extra: &[] };
pub const RSA3072: Signer = Signer { stem: "principal-rsa3072", extra: &["--pss"] };
pub const SEAL: Signer = Signer { stem: "seal-rsa", extra: &[] };
pub const EXPIRED: Signer = Signer { stem: "expired-teacher", extra: &[] };
pub const SIGNERS: [Signer; 4] = [RSA, RSA_PSS, P256, P384];

impl Signer {
    pub fn args(&self) -> Vec<String> {
        let mut v = vec![
            "--key".into(),
            pki(&format!("{}.key.pem", self.stem)).display().to_string(),
            "--cert".into(),
            pki(&format!("{}.cert.pem", self.stem)).display().to_string(),
            "--chain".into(),
            pki("issuing-ca.cert.pem").display().to_string(),
        ];
        v.extend(self.extra.iter().map(|s| s.to_string()));
        v
    }
}

/// Signs `input` into `output` with `signer` and extra arguments; panics with kyso's message on failure.
pub fn sign(input: &Path, output: &Path, signer: Signer, extra: &[&str]) {
    let out = try_sign(input, output, signer, extra);
    assert!(out.status.success(), "kyso sign {} failed: {}", input.display(), String::from_utf8_lossy(&out.stderr));
}

pub fn try_sign(input: &Path, output: &Path, signer: Signer, extra: &[&str]) -> Output {
    let mut args: Vec<String> = vec!["sign".into(), input.display().to_string(), "-o".into(), output.display().to_string()];
    args.extend(signer.args());
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    kyso(&refs)
}

/// `qpdf --check`: true when qpdf finds nothing wrong (exit 0, no warnings).
pub fn qpdf_ok(file: &Path) -> Result<(), String> {
    let out = tool("qpdf", &["--check", &file.display().to_string()]);
    if out.status.code() == Some(0) {
        Ok(())
    } else {
        Err(format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }
}

/// qpdf must find nothing in the output that it did not already find in the input: a clean
/// input stays clean, and a damaged one (the corpus has some) gets no worse.
pub fn qpdf_no_worse(input: &Path, output: &Path) -> Result<(), String> {
    let before = tool("qpdf", &["--check", &input.display().to_string()]).status.code().unwrap_or(2);
    let after = tool("qpdf", &["--check", &output.display().to_string()]);
    let code = after.status.code().unwrap_or(2);
    if code == 0 || (before != 0 && code <= before) {
        Ok(())
    } else {
        Err(format!(
            "qpdf exit {code} (input: {before}): {}{}",
            String::from_utf8_lossy(&after.stdout),
            String::from_utf8_lossy(&after.stderr)
        ))
    }
}

/// False for inputs pyHanko's strict reader refuses even unsigned (and that Kyso signs without
/// rewriting): the corpus rows whose notes say so, and every hybrid-reference file (pyHanko's
/// strict mode refuses hybrid references as such). Those are validated with `--no-strict-syntax`.
pub fn strict_reader_accepts(input: &Path) -> bool {
    let name = file_name(input);
    let table = std::fs::read_to_string(corpus().join("inputs/expected.tsv")).unwrap_or_default();
    let noted = table.lines().any(|l| l.starts_with(&format!("{name}\t")) && l.contains("strict read refuses"));
    let hybrid = std::fs::File::open(input)
        .ok()
        .and_then(|f| kyso_pdf::Document::open(std::io::BufReader::new(f)).ok())
        .is_some_and(|d| d.is_hybrid());
    !noted && !hybrid
}

/// poppler's verdicts: one `Signature is Valid.` per signature, and whether the last covers the file.
pub struct PdfSig {
    pub signatures: usize,
    pub valid: usize,
    pub total_document_signed: bool,
    pub text: String,
}

pub fn pdfsig(file: &Path) -> PdfSig {
    let out = tool("pdfsig", &["-nocert", &file.display().to_string()]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    PdfSig {
        // Unsigned signature fields are listed too; they are not signatures.
        signatures: text.matches("Signature #").count() - text.matches("The signature form field is not signed.").count(),
        valid: text.matches("Signature Validation: Signature is Valid.").count(),
        total_document_signed: text
            .split("Signature #")
            .filter(|s| !s.contains("is not signed"))
            .last()
            .is_some_and(|last| last.contains("Total document signed")),
        text,
    }
}

/// pyHanko's executive summary against the test root, difference analysis on:
/// `(field, VALID|INVALID)` per signature, and the full pretty-printed report for messages.
pub fn pyhanko(file: &Path, strict: bool) -> (Vec<(String, String)>, String) {
    let root = pki("root.cert.pem").display().to_string();
    let ca = pki("issuing-ca.cert.pem").display().to_string();
    let f = file.display().to_string();
    let mut args =
        vec!["sign", "validate", "--trust-replace", "--trust", &root, "--other-certs", &ca, "--no-revocation-check", "--executive-summary"];
    if !strict {
        args.push("--no-strict-syntax");
    }
    args.push(&f);
    let out = tool("pyhanko", &args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let verdicts = text
        .lines()
        .filter_map(|l| {
            let parts: Vec<&str> = l.split(':').collect();
            (parts.len() >= 3).then(|| (parts[0].to_string(), parts[parts.len() - 1].trim().to_string()))
        })
        .collect();
    (verdicts, format!("{text}{}", String::from_utf8_lossy(&out.stderr)))
}

/// The rows of the corpus inputs table: (file, expectation).
pub fn corpus_inputs() -> Vec<(PathBuf, String)> {
    let dir = corpus().join("inputs");
    let table = std::fs::read_to_string(dir.join("expected.tsv")).expect("expected.tsv");
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols.len() >= 4).then(|| (dir.join(cols[0]), cols[3].to_string()))
        })
        .collect()
}

/// Every unsigned PDF that must be signable: the corpus's SIGN rows and our own testdata.
pub fn signable_inputs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = corpus_inputs().into_iter().filter(|(_, e)| e == "SIGN").map(|(p, _)| p).collect();
    let mut own: Vec<PathBuf> = std::fs::read_dir(repo_root().join("testdata/pdf"))
        .expect("testdata/pdf")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
        .collect();
    own.sort();
    v.extend(own);
    v
}

pub fn file_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// certomancer animate: the test PKI's OCSP responder, CRLs and TSA. The certificates name 127.0.0.1:9009 in their AIA and CRL distribution points, so
/// the services run there, one test at a time.
pub static SERVICES_PORT: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub struct Animator {
    child: std::process::Child,
    port: u16,
    _exclusive: std::sync::MutexGuard<'static, ()>,
}

impl Animator {
    pub fn start() -> Animator {
        let exclusive = SERVICES_PORT.lock().unwrap_or_else(|e| e.into_inner());
        let port = 9009;
        let child = std::process::Command::new("certomancer")
            .args([
                "--config",
                &pki("certomancer.yml").display().to_string(),
                "--service-url-prefix",
                &format!("http://127.0.0.1:{port}"),
                "animate",
                "--port",
                &port.to_string(),
                "--no-web-ui",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("certomancer runs (the README's test command installs certomancer[web-api])");
        let a = Animator { child, port, _exclusive: exclusive };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "certomancer animate did not start");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        a
    }

    pub fn tsa(&self) -> String {
        format!("http://127.0.0.1:{}/kyso/tsa/tsa", self.port)
    }
}

impl Drop for Animator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
