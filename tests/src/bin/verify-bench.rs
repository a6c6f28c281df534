//! Validation benchmark: `cargo build --release --workspace && target/release/verify-bench`.
//! A four-signature PAdES B-LT Kyso document (certification + three approvals, 2 pages, each
//! with a signature timestamp and DSS revocation data from certomancer's services), validated
//! offline — the services are stopped first — in process by kyso-validate (median of 50) and by
//! pyHanko's `validate_pdf_signature` (median of 10), and from the command line by `kyso verify`
//! and `pyhanko sign validate` (median of 5 each). Same machine, same run.

use kyso_tests::*;
use std::process::Command;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let p = |s: &str| dir.path().join(format!("{s}.pdf"));
    let input = corpus().join("inputs/pyhanko-minimal-two-pages.pdf");
    let kyso_bin = repo_root().join("target/release/kyso");
    let run = |args: &[&str]| assert!(Command::new(&kyso_bin).args(args).status().unwrap().success(), "kyso {args:?}");
    let s = |x: &str| p(x).display().to_string();
    run(&["add-field", &input.display().to_string(), "-o", &s("f1"), "--name", "B", "--visible", "1:10,100,200,160"]);
    run(&["add-field", &s("f1"), "-o", &s("f2"), "--name", "C", "--visible", "1:10,170,200,230"]);
    let key = |stem: &str| {
        vec![
            "--key".to_string(),
            pki(&format!("{stem}.key.pem")).display().to_string(),
            "--cert".into(),
            pki(&format!("{stem}.cert.pem")).display().to_string(),
            "--chain".into(),
            pki("issuing-ca.cert.pem").display().to_string(),
        ]
    };
    let services = Animator::start();
    let tsa = services.tsa();
    let sign = |src: &str, dst: &str, stem: &str, extra: &[&str]| {
        let mut a: Vec<String> =
            vec!["sign".into(), s(src), "-o".into(), s(dst), "--level".into(), "b-lt".into(), "--tsa".into(), tsa.clone()];
        a.extend(key(stem));
        a.extend(extra.iter().map(|x| x.to_string()));
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        run(&refs);
    };
    sign("f2", "s1", "teacher-rsa", &["--field", "A", "--certify", "form-filling", "--visible", "1:10,30,200,90"]);
    sign("s1", "s2", "head-p256", &["--field", "B"]);
    sign("s2", "s3", "principal-p256", &["--field", "C"]);
    sign("s3", "s4", "district-p384", &[]);
    drop(services);
    let data = std::fs::read(p("s4")).unwrap();
    let anchors = kyso_pades::certinfo::parse_certificates(&std::fs::read(pki("root.cert.pem")).unwrap()).unwrap();
    let ctx = kyso_validate::Context::offline(anchors, 1_795_960_985);
    let mut times = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let r = kyso_validate::validate(&data, &ctx).unwrap();
        times.push(t.elapsed().as_secs_f64());
        assert_eq!(r.overall(), kyso_validate::Indication::TotalPassed);
        assert!(r.signatures.iter().all(|s| s.level == "PAdES-B-LT"));
    }
    let py_in_process = Command::new("python3")
        .args([
            "-c",
            PYHANKO_IN_PROCESS,
            &s("s4"),
            &pki("root.cert.pem").display().to_string(),
            &pki("issuing-ca.cert.pem").display().to_string(),
        ])
        .output()
        .unwrap();
    let py_in_process = String::from_utf8_lossy(&py_in_process.stdout).trim().to_string();
    let cli = |cmd: &mut Command| {
        let t = Instant::now();
        let ok = cmd.output().unwrap().status.success();
        (t.elapsed().as_secs_f64(), ok)
    };
    let root = pki("root.cert.pem").display().to_string();
    let kyso_cli: Vec<f64> =
        (0..5).map(|_| cli(Command::new(&kyso_bin).args(["verify", "--offline", &s("s4"), "--trust", &root])).0).collect();
    let py: Vec<(f64, bool)> = (0..5)
        .map(|_| {
            cli(Command::new("pyhanko").args([
                "sign",
                "validate",
                "--trust-replace",
                "--trust",
                &root,
                "--other-certs",
                &pki("issuing-ca.cert.pem").display().to_string(),
                "--no-revocation-check",
                "--executive-summary",
                &s("s4"),
            ]))
        })
        .collect();
    println!("| validator | 4-signature document ({} bytes) |\n|---|---|", data.len());
    println!("| kyso-validate in process (median of 50) | {:.1} ms |", median(times) * 1e3);
    println!("| pyHanko validate_pdf_signature in process, 4 signatures (median of 10) | {py_in_process} ms |");
    println!("| kyso verify --offline, command line (median of 5) | {:.1} ms |", median(kyso_cli) * 1e3);
    println!(
        "| pyhanko sign validate, command line (median of 5) | {:.1} ms (all VALID: {}) |",
        median(py.iter().map(|x| x.0).collect()) * 1e3,
        py.iter().all(|x| x.1)
    );
}

/// pyHanko in one Python process: every embedded signature, offline, trusting the test root.
const PYHANKO_IN_PROCESS: &str = r#"
import sys, time
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko.keys import load_cert_from_pemder
root = load_cert_from_pemder(sys.argv[2])
ca = load_cert_from_pemder(sys.argv[3])
times = []
for _ in range(10):
    t = time.perf_counter()
    with open(sys.argv[1], 'rb') as f:
        r = PdfFileReader(f)
        for s in r.embedded_regular_signatures:
            vc = ValidationContext(trust_roots=[root], other_certs=[ca], allow_fetching=False, revocation_mode='soft-fail')
            st = validate_pdf_signature(s, vc, ts_validation_context=vc)
            assert st.bottom_line, st.pretty_print_details()
    times.append(time.perf_counter() - t)
times.sort()
print(f"{times[len(times) // 2] * 1000:.1f}")
"#;
