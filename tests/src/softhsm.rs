//! A SoftHSM2 token of the tests' own, in a temporary folder (never the machine's tokens).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Writes a SoftHSM2 configuration under `dir`, initialises a token `label` with user PIN `pin`,
/// and imports test PKI keys given as (file stem, object label, hex id). Returns the
/// configuration path to put in SOFTHSM2_CONF.
pub fn init_token(dir: &Path, label: &str, pin: &str, keys: &[(&str, &str, &str)]) -> PathBuf {
    std::fs::create_dir_all(dir.join("tokens")).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!("directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n", dir.join("tokens").display()),
    )
    .unwrap();
    let util = |args: &[&str]| {
        let out = Command::new("softhsm2-util")
            .args(args)
            .env("SOFTHSM2_CONF", &conf)
            .stdout(Stdio::null())
            .output()
            .expect("softhsm2-util runs (the README's test command installs softhsm2)");
        assert!(out.status.success(), "softhsm2-util {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    util(&["--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", "87654321"]);
    for (stem, object, id) in keys {
        util(&[
            "--import",
            &crate::pki(&format!("{stem}.key.pem")).display().to_string(),
            "--token",
            label,
            "--label",
            object,
            "--id",
            id,
            "--pin",
            pin,
        ]);
    }
    conf
}
