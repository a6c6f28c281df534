//! `kyso verify`: a validation report for a signed PDF, with exit codes for scripts.

use super::*;
use crate::args::*;

/// The CRL files given with --crl.
pub(crate) fn local_crls(paths: &[PathBuf]) -> Result<kyso_ltv::LocalCrls> {
    let mut crls = Vec::new();
    for p in paths {
        crls.push(std::fs::read(p).with_context(|| format!("cannot read the CRL {}", p.display()))?);
    }
    Ok(kyso_ltv::LocalCrls::new(crls))
}

pub(crate) fn verify(args: &VerifyArgs) -> Result<i32> {
    let VerifyArgs { input, trust, format, lang, at, offline, output, expect_chain, crl } = args;
    let (format, lang, offline, at, expect_chain) = (*format, *lang, *offline, at.as_deref(), expect_chain.as_deref());
    let expected: Option<Vec<String>> = match expect_chain {
        Some(spec) => {
            let text = match spec.strip_prefix('@') {
                Some(file) => std::fs::read_to_string(file).with_context(|| format!("cannot read the chain file {file}"))?,
                None => spec.replace(',', "\n"),
            };
            let entries: Vec<String> =
                text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string).collect();
            if entries.is_empty() {
                bail!("--expect-chain names no stage");
            }
            Some(entries)
        }
        None => None,
    };
    // Read by range, never whole: memory does not grow with the file.
    let file = File::open(input).with_context(|| format!("cannot read {}", input.display()))?;
    let mut anchors = Vec::new();
    for t in trust {
        let bytes = std::fs::read(t).with_context(|| format!("cannot read the trust anchor {}", t.display()))?;
        anchors.extend(certinfo::parse_certificates(&bytes).with_context(|| format!("trust anchor {}", t.display()))?);
    }
    let when = match at {
        Some(s) => clock::parse_utc(s).ok_or_else(|| anyhow!("--at must look like 2026-11-29 or 2026-11-29T14:03:05Z, not {s:?}"))?,
        None => clock::unix_now(),
    };
    let secs = std::env::var("KYSO_OCSP_TIMEOUT_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(15);
    let online: Option<Box<dyn kyso_validate::OnlineRevocation>> = if offline {
        None
    } else {
        Some(Box::new(kyso_ltv::OnlineChecker { timeout: std::time::Duration::from_secs(secs), local: local_crls(crl)?, now: when }))
    };
    let report = kyso_validate::validate_file(
        &file,
        &kyso_validate::Context { trust_anchors: anchors, validation_time_unix: when, online, interrupt: None },
    )
    .with_context(|| format!("cannot verify {}", input.display()))?;
    let chain = expected.as_ref().map(|e| kyso_validate::chain::check_chain(&report, e));
    let lang = if matches!(lang, LangArg::Vi) { kyso_report::Lang::Vi } else { kyso_report::Lang::En };
    let out = match format {
        Format::Json => kyso_report::to_json_with_chain(&report, chain.as_ref()).into_bytes(),
        Format::Text => kyso_report::to_text_with_chain(&report, chain.as_ref(), lang).into_bytes(),
        Format::Etsi => kyso_report::etsi::to_etsi_xml(&report, &clock::iso_utc(when)).into_bytes(),
        Format::Pdf => {
            let name = input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let mut hasher = kyso_keys::DigestAlgorithm::Sha256.hasher();
            let input = kyso_validate::Input::file(&file)?;
            input.stream(&[(0, input.len())], &mut |chunk| hasher.update(chunk))?;
            let sha = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect::<String>();
            kyso_report::to_pdf(&report, chain.as_ref(), lang, &name, &sha, &clock::iso_utc(when))?
        }
    };
    match output {
        Some(path) => write_atomically(path, |f| Ok(f.write_all(&out)?))?,
        None if matches!(format, Format::Pdf) => bail!("--format pdf writes a file: give -o REPORT.pdf"),
        None => println!("{}", String::from_utf8_lossy(&out)),
    }
    if chain.as_ref().is_some_and(|c| !c.ok) {
        return Ok(1);
    }
    Ok(match report.overall() {
        kyso_validate::Indication::TotalPassed => 0,
        kyso_validate::Indication::TotalFailed => 1,
        kyso_validate::Indication::Indeterminate => 2,
    })
}
