//! Signing benchmark: `cargo build --release -p kyso-cli && cargo run --release -p kyso-tests --bin sign-bench`.
//!
//! For PDFs of 100 KB, 10 MB and 100 MB (one page showing one large image), it measures wall
//! time and peak resident memory of `kyso sign` beside `sha256sum`, `openssl dgst -sha256` and
//! `pyhanko sign addsig` on the same file, in the same run. Peak memory comes from GNU time
//! (`/usr/bin/time`, Debian package `time`). Medians of five runs.

use std::path::{Path, PathBuf};
use std::process::Command;

fn make_pdf(path: &Path, image_bytes: usize) -> std::io::Result<()> {
    use std::io::Write;
    let side = (image_bytes as f64).sqrt().ceil() as usize;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut offsets = Vec::new();
    let mut pos = 0usize;
    let put = |f: &mut std::io::BufWriter<std::fs::File>, b: &[u8], pos: &mut usize| -> std::io::Result<()> {
        f.write_all(b)?;
        *pos += b.len();
        Ok(())
    };
    put(&mut f, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", &mut pos)?;
    let content = b"q 500 0 0 700 50 50 cm /Im1 Do Q";
    let objs: Vec<Vec<u8>> = vec![
        b"<</Type/Catalog/Pages 2 0 R>>".to_vec(),
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>".to_vec(),
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</XObject<</Im1 5 0 R>>>>/Contents 4 0 R>>".to_vec(),
        [format!("<</Length {}>>stream\n", content.len()).into_bytes(), content.to_vec(), b"\nendstream".to_vec()].concat(),
    ];
    for (i, body) in objs.iter().enumerate() {
        offsets.push(pos);
        put(&mut f, format!("{} 0 obj\n", i + 1).as_bytes(), &mut pos)?;
        put(&mut f, body, &mut pos)?;
        put(&mut f, b"\nendobj\n", &mut pos)?;
    }
    offsets.push(pos);
    let n = side * side;
    put(&mut f, format!("5 0 obj\n<</Type/XObject/Subtype/Image/Width {side}/Height {side}/ColorSpace/DeviceGray/BitsPerComponent 8/Length {n}>>stream\n").as_bytes(), &mut pos)?;
    let row: Vec<u8> = (0..side).map(|x| (x * 7 % 251) as u8).collect();
    for _ in 0..side {
        put(&mut f, &row, &mut pos)?;
    }
    put(&mut f, b"\nendstream\nendobj\n", &mut pos)?;
    let xref = pos;
    let mut table = String::from("xref\n0 6\n0000000000 65535 f\r\n");
    for o in offsets {
        table.push_str(&format!("{o:010} 00000 n\r\n"));
    }
    table.push_str(&format!("trailer\n<</Size 6/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n"));
    put(&mut f, table.as_bytes(), &mut pos)?;
    f.flush()
}

/// (seconds, peak KiB) of one run, from GNU time.
fn measure(cmd: &[&str]) -> Option<(f64, u64)> {
    let out = Command::new("/usr/bin/time").arg("-f").arg("KYSO_BENCH %e %M").args(cmd).output().ok()?;
    if !out.status.success() {
        eprintln!("{} failed: {}", cmd[0], String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err.lines().find(|l| l.starts_with("KYSO_BENCH"))?;
    let mut it = line.split_whitespace().skip(1);
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

fn median(cmd: &[&str], runs: usize) -> Option<(f64, u64)> {
    let mut v: Vec<(f64, u64)> = (0..runs).filter_map(|_| measure(cmd)).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mem = v.iter().map(|x| x.1).max().unwrap_or(0);
    Some((v[v.len() / 2].0, mem))
}

fn main() {
    let root = kyso_tests::repo_root();
    let kyso = root.join("target/release/kyso");
    assert!(kyso.exists(), "build it first: cargo build --release -p kyso-cli");
    assert!(Path::new("/usr/bin/time").exists(), "GNU time is needed: apt-get install time");
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = |n: &str| root.join("testdata/pki").join(n).display().to_string();
    println!("| file | kyso sign (RSA-2048) | peak RSS | sha256sum | openssl dgst -sha256 | pyhanko addsig | pyhanko peak RSS |");
    println!("|---|---|---|---|---|---|---|");
    for (label, size) in [("100 KB", 100_000usize), ("10 MB", 10_000_000), ("100 MB", 100_000_000)] {
        let input: PathBuf = dir.path().join(format!("in-{size}.pdf"));
        make_pdf(&input, size).expect("write input");
        let out = dir.path().join("out.pdf");
        let (i, o) = (input.display().to_string(), out.display().to_string());
        let k = kyso.display().to_string();
        let kyso_run = median(&[&k, "sign", &i, "-o", &o, "--key", &pki("teacher-rsa.key.pem"), "--cert", &pki("teacher-rsa.cert.pem")], 5);
        let sha = median(&["sha256sum", &i], 5);
        let ossl = median(&["openssl", "dgst", "-sha256", &i], 5);
        let py = median(
            &[
                "pyhanko",
                "sign",
                "addsig",
                "--field",
                "Sig1",
                "pemder",
                "--key",
                &pki("teacher-rsa.key.pem"),
                "--cert",
                &pki("teacher-rsa.cert.pem"),
                "--no-pass",
                &i,
                &o,
            ],
            3,
        );
        let fmt_t = |r: Option<(f64, u64)>| r.map(|(t, _)| format!("{:.3} s", t)).unwrap_or_else(|| "n/a".into());
        let fmt_m = |r: Option<(f64, u64)>| r.map(|(_, m)| format!("{:.1} MiB", m as f64 / 1024.0)).unwrap_or_else(|| "n/a".into());
        println!(
            "| {label} | {} | {} | {} | {} | {} | {} |",
            fmt_t(kyso_run),
            fmt_m(kyso_run),
            fmt_t(sha),
            fmt_t(ossl),
            fmt_t(py),
            fmt_m(py)
        );
    }
}
