//! Validation benchmark: `cargo build --release --workspace && target/release/verify-bench`.
//! A four-signature Kyso document (certification + three approvals, 2 pages), validated
//! offline in process by kyso-validate (median of 50) and by `kyso verify` and
//! `pyhanko sign validate` from the command line (median of 5 each, same machine, same run).

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
    let sign = |src: &str, dst: &str, stem: &str, extra: &[&str]| {
        let mut a: Vec<String> = vec!["sign".into(), s(src), "-o".into(), s(dst)];
        a.extend(key(stem));
        a.extend(extra.iter().map(|x| x.to_string()));
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        run(&refs);
    };
    sign("f2", "s1", "teacher-rsa", &["--field", "A", "--certify", "form-filling", "--visible", "1:10,30,200,90"]);
    sign("s1", "s2", "head-p256", &["--field", "B"]);
    sign("s2", "s3", "principal-p256", &["--field", "C"]);
    sign("s3", "s4", "district-p384", &[]);
    let data = std::fs::read(p("s4")).unwrap();
    let anchors = kyso_pades::certinfo::parse_certificates(&std::fs::read(pki("root.cert.pem")).unwrap()).unwrap();
    let ctx = kyso_validate::Context { trust_anchors: anchors, validation_time_unix: 1_795_960_985, online: None };
    let mut times = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let r = kyso_validate::validate(&data, &ctx).unwrap();
        times.push(t.elapsed().as_secs_f64());
        assert_eq!(r.overall(), kyso_validate::Indication::TotalPassed);
    }
    let cli = |cmd: &mut Command| {
        let t = Instant::now();
        let ok = cmd.output().unwrap().status.success();
        (t.elapsed().as_secs_f64(), ok)
    };
    let root = pki("root.cert.pem").display().to_string();
    let kyso_cli: Vec<f64> = (0..5).map(|_| cli(Command::new(&kyso_bin).args(["verify", &s("s4"), "--trust", &root])).0).collect();
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
    println!("| kyso verify, command line (median of 5) | {:.1} ms |", median(kyso_cli) * 1e3);
    println!(
        "| pyhanko sign validate, command line (median of 5) | {:.1} ms (all VALID: {}) |",
        median(py.iter().map(|x| x.0).collect()) * 1e3,
        py.iter().all(|x| x.1)
    );
}
