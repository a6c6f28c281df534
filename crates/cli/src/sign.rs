//! `kyso sign`, `sign-batch`, `augment`, `fields`, `add-field` and `cades-sign`: signing files on disk.

use super::*;
use crate::args::*;

pub(crate) fn parse_visible(spec: &str) -> Result<Placement> {
    let err = || anyhow!("--visible must look like PAGE:X1,Y1,X2,Y2 (for example 1:50,50,250,120), not {spec:?}");
    let (page, rect) = spec.split_once(':').ok_or_else(err)?;
    let page: usize = page.trim().parse().map_err(|_| err())?;
    let nums: Vec<f64> = rect.split(',').map(|v| v.trim().parse::<f64>()).collect::<Result<_, _>>().map_err(|_| err())?;
    let [x1, y1, x2, y2] = nums[..] else { return Err(err()) };
    if (x2 - x1).abs() < 1.0 || (y2 - y1).abs() < 1.0 {
        bail!("the visible signature box {spec:?} is empty");
    }
    Ok(Placement::Visible { page, rect: [x1, y1, x2, y2] })
}

pub(crate) fn parse_lock(spec: &str) -> FieldLock {
    if spec.eq_ignore_ascii_case("all") {
        FieldLock::All
    } else {
        FieldLock::Include(spec.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
    }
}

/// Builds the signature options shared by `sign` and `sign-batch`.
pub(crate) fn sign_options(style: &SignStyle, chain: &CertChain, algorithm: SignatureAlgorithm) -> Result<PdfSignOptions> {
    let placement = match &style.visible {
        Some(v) => parse_visible(v)?,
        None => Placement::Invisible,
    };
    let (signing_time, now_display) = kyso_pades::vietnam_signing_time(clock::unix_now() as i64);
    let signer_name = style.name.clone().unwrap_or_else(|| certinfo::subject_common_name(chain.signer()));
    let appearance = if matches!(placement, Placement::Visible { .. }) || style.field.is_some() {
        let lines = certinfo::appearance_lines(&signer_name, chain.signer(), &now_display, style.reason.as_deref());
        let image = match &style.image {
            Some(p) => Some(kyso_pdf::appearance::Image::from_png(
                &std::fs::read(p).with_context(|| format!("cannot read the image {}", p.display()))?,
            )?),
            None => None,
        };
        Some(AppearanceSpec { lines, image })
    } else {
        None
    };
    Ok(PdfSignOptions {
        subfilter: match style.subfilter {
            SubFilterArg::Pades => SubFilter::Pades,
            SubFilterArg::Pkcs7 => SubFilter::Pkcs7Detached,
        },
        algorithm,
        field: style.field.clone(),
        placement,
        certify: style.certify.map(|c| match c {
            Certify::NoChanges => DocMdp::NoChanges,
            Certify::FormFilling => DocMdp::FormFilling,
            Certify::Annotations => DocMdp::Annotations,
        }),
        lock: style.lock.as_deref().map(parse_lock),
        name: Some(signer_name),
        reason: style.reason.clone(),
        location: style.location.clone(),
        contact_info: None,
        signing_time,
        appearance,
        // A timestamp token with its TSA certificate fits in a few kilobytes.
        reserve_extra: if matches!(style.level, Level::BT | Level::BLt | Level::BLta) { 12 * 1024 } else { 0 },
        identity_note: None,
    })
}

pub(crate) fn sign(args: SignArgs) -> Result<()> {
    if args.password.is_some() {
        bail!("encrypted PDFs cannot be signed yet; decrypt the file first (qpdf --decrypt --password=PW in.pdf out.pdf)");
    }
    let (key, chain) = args.key.load()?;
    let algorithm = SignatureAlgorithm::choose(key.kind(), args.style.hash.into(), args.style.pss)?;
    let mut doc = open_pdf(&args.input, args.password.as_deref())?;
    let opts = sign_options(&args.style, &chain, algorithm)?;
    check_revocation(&args.style, &chain)?;
    let tsa = match (args.style.level, &args.style.tsa) {
        (Level::BB, _) => None,
        (_, Some(url)) => Some(http_tsa(url)?),
        (_, None) => bail!("--level b-t, b-lt and b-lta need a timestamping authority: give --tsa URL"),
    };
    // B-LT(A): sign into a temporary file beside the output, then add the DSS (and the document
    // timestamp) into the output.
    let lt_stage = if matches!(args.style.level, Level::BLt | Level::BLta) {
        let dir = args.output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        Some(tempfile::NamedTempFile::new_in(dir).context("cannot create a temporary file")?)
    } else {
        None
    };
    let first_output = lt_stage.as_ref().map(|t| t.path().to_path_buf()).unwrap_or_else(|| args.output.clone());
    write_atomically(&first_output, |out| {
        let mut buffered = std::io::BufWriter::with_capacity(1 << 20, out);
        let prepared = kyso_pades::prepare(&mut doc, &mut buffered, &chain, key.kind(), &opts)?;
        let out = buffered.into_inner().map_err(|e| e.into_error())?;
        let signature = key.sign_digest(prepared.algorithm(), prepared.to_be_signed())?;
        match &tsa {
            Some(t) => prepared.finish_timestamped(out, &signature, t)?,
            None => prepared.finish(out, &signature)?,
        }
        Ok(())
    })
    .with_context(|| format!("cannot sign {}", args.input.display()))?;
    if let Some(stage) = lt_stage {
        let level = args.style.level;
        augment(stage.path(), &args.output, level, args.style.tsa.as_deref())?;
    }
    Ok(())
}

pub(crate) fn http_tsa(url: &str) -> Result<kyso_ltv::HttpTsa> {
    let secs = std::env::var("KYSO_TSA_TIMEOUT_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    kyso_ltv::HttpTsa::new(url, std::time::Duration::from_secs(secs)).map_err(|e| anyhow!(e))
}

/// `kyso augment`: B-LT adds a DSS; B-LTA adds a DSS, then a document timestamp over it.
pub(crate) fn augment(input: &Path, output: &Path, level: Level, tsa: Option<&str>) -> Result<()> {
    match level {
        Level::BLt => augment_file(input, output).with_context(|| format!("cannot add long-term validation data to {}", output.display())),
        Level::BLta => {
            let tsa = http_tsa(tsa.ok_or_else(|| anyhow!("--level b-lta needs a timestamping authority: give --tsa URL"))?)?;
            let dir = output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let with_dss = tempfile::NamedTempFile::new_in(dir).context("cannot create a temporary file")?;
            augment_file(input, with_dss.path())
                .with_context(|| format!("cannot add long-term validation data to {}", output.display()))?;
            let mut doc = Document::open(BufReader::new(File::open(with_dss.path())?))?;
            write_atomically(output, |out| {
                kyso_pades::add_document_timestamp(&mut doc, out, &tsa, DigestAlgorithm::Sha256)?;
                Ok(())
            })
            .with_context(|| format!("cannot add a document timestamp to {}", output.display()))
        }
        Level::BB | Level::BT => bail!("augment raises signatures to b-lt or b-lta (b-t for signatures made elsewhere is not built)"),
    }
}

/// Adds a DSS (PAdES B-LT) with every signature's certificates and their current OCSP
/// responses and CRLs, fetched from the URLs the certificates name.
pub(crate) fn augment_file(input: &Path, output: &Path) -> Result<()> {
    let data = std::fs::read(input).with_context(|| format!("cannot read {}", input.display()))?;
    let sets = kyso_validate::signature_certificates(&data)?;
    if sets.is_empty() {
        bail!("the document has no signature to augment");
    }
    let all: Vec<x509_cert::Certificate> = sets.concat();
    let secs = std::env::var("KYSO_OCSP_TIMEOUT_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(15);
    let material = kyso_ltv::gather(&all, std::time::Duration::from_secs(secs)).map_err(|e| anyhow!(e))?;
    if material.ocsps.is_empty() && material.crls.is_empty() {
        bail!("không lấy được dữ liệu thu hồi / no OCSP response or CRL could be fetched, so long-term validation data cannot be added");
    }
    let mut doc = Document::open(std::io::Cursor::new(&data[..]))?;
    let mut update = kyso_pdf::Update::new(&mut doc)?;
    doc.add_dss(&mut update, &material)?;
    write_atomically(output, |out| {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, out);
        update.write(&mut doc, &mut w, &mut |_| {})?;
        w.flush()?;
        Ok(())
    })
}

/// The signing-time revocation check (OCSP from the certificate's AIA): a revoked signer is
/// refused; when no answer can be had, a warning (or an error with --require-revocation).
pub(crate) fn check_revocation(style: &SignStyle, chain: &CertChain) -> Result<()> {
    if style.no_revocation_check {
        return Ok(());
    }
    let secs = std::env::var("KYSO_OCSP_TIMEOUT_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(15);
    match kyso_ltv::check_revocation(chain.signer(), &chain.0, std::time::Duration::from_secs(secs)) {
        kyso_ltv::Revocation::Good { .. } => Ok(()),
        kyso_ltv::Revocation::Revoked { since } => {
            let since = readable_time(&since);
            bail!(
                "chứng thư số của người ký đã bị thu hồi (từ {since}) / the signer's certificate was revoked (since {since}); signing refused"
            )
        }
        kyso_ltv::Revocation::Unknown if style.require_revocation => bail!("the OCSP responder does not know the signer's certificate"),
        kyso_ltv::Revocation::Unavailable(why) if style.require_revocation => {
            bail!("không kiểm tra được tình trạng thu hồi / the revocation status could not be checked: {why}")
        }
        kyso_ltv::Revocation::Unknown => {
            eprintln!(
                "kyso: warning: cảnh báo: máy chủ OCSP không biết chứng thư này / the OCSP responder does not know the signer's certificate"
            );
            Ok(())
        }
        kyso_ltv::Revocation::Unavailable(why) => {
            eprintln!(
                "kyso: warning: không kiểm tra được tình trạng thu hồi chứng thư / could not check the signer's revocation status: {why}"
            );
            Ok(())
        }
    }
}

/// `20250601000000Z` → `2025-06-01 00:00:00 UTC` (GeneralizedTime as people read it).
pub(crate) fn readable_time(g: &str) -> String {
    match (g.get(0..4), g.get(4..6), g.get(6..8), g.get(8..10), g.get(10..12), g.get(12..14)) {
        (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) => format!("{y}-{mo}-{d} {h}:{mi}:{s} UTC"),
        _ => g.to_string(),
    }
}

/// Signs many PDFs with one key: one authorisation per `multisign` documents on remote services.
/// Already signed outputs are skipped, so a batch can simply be run again after a failure.
pub(crate) fn sign_batch(args: SignBatchArgs) -> Result<()> {
    let inputs: Vec<PathBuf> = match (&args.input_dir, &args.list) {
        (Some(dir), None) => {
            let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
                .with_context(|| format!("cannot read the folder {}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("pdf")))
                .collect();
            v.sort();
            v
        }
        (None, Some(list)) => std::fs::read_to_string(list)
            .with_context(|| format!("cannot read the list {}", list.display()))?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(PathBuf::from)
            .collect(),
        _ => bail!("give either an input folder or --list FILE"),
    };
    std::fs::create_dir_all(&args.output_dir).with_context(|| format!("cannot create {}", args.output_dir.display()))?;
    let (key, chain) = args.key.load()?;
    let algorithm = SignatureAlgorithm::choose(key.kind(), args.style.hash.into(), args.style.pss)?;
    let opts = sign_options(&args.style, &chain, algorithm)?;
    check_revocation(&args.style, &chain)?;
    let total = inputs.len();
    let (mut skipped, mut failed) = (0usize, Vec::new());
    let mut jobs = Vec::new();
    let mut names = Vec::new();
    for input in &inputs {
        let Some(name) = input.file_name() else { continue };
        let target = args.output_dir.join(name);
        if target.exists() {
            skipped += 1;
            continue;
        }
        match open_pdf(input, None).and_then(|doc| {
            let tmp = tempfile::NamedTempFile::new_in(&args.output_dir).context("cannot create a temporary file")?;
            Ok((doc, tmp))
        }) {
            Ok((document, output)) => {
                jobs.push(kyso_pades::batch::BatchItem { document, output, field: None });
                names.push((input.clone(), target));
            }
            Err(e) => failed.push(format!("{}: {e:#}", input.display())),
        }
    }
    // A progress line on the terminal (rewritten in place), plain lines when stderr is a file.
    let interactive = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut show = |p: kyso_pades::batch::Progress| {
        use kyso_pades::batch::Progress::*;
        let (line, last) = match p {
            Prepared { done, total } => (format!("chuẩn bị / preparing {done}/{total}"), done == total),
            WaitingForKey { digests } => {
                (format!("chờ xác nhận ký / waiting for the key to sign {digests} documents (confirm on your phone if asked)"), true)
            }
            Finished { done, total } => (format!("gắn chữ ký / embedding {done}/{total}"), done == total),
        };
        if interactive {
            eprint!("\r\x1b[2K{line}");
            if last {
                eprintln!();
            }
        } else if last {
            eprintln!("{line}");
        }
    };
    let outcomes = kyso_pades::batch::sign_batch_with_progress(jobs, &chain, key.as_ref(), &opts, &mut show);
    let mut signed = 0usize;
    let mut stdout = std::io::stdout().lock();
    for (i, ((tmp, outcome), (input, target))) in outcomes.into_iter().zip(names).enumerate() {
        let result = outcome.map_err(anyhow::Error::from).and_then(|()| {
            tmp.as_file().sync_all()?;
            tmp.persist_noclobber(&target).map_err(|e| anyhow!("cannot write {}: {}", target.display(), e.error))?;
            Ok(())
        });
        match result {
            Ok(()) => {
                signed += 1;
                writeln!(stdout, "[{}/{total}] {} ✓", i + 1 + skipped, target.display())?;
            }
            Err(e) => failed.push(format!("{}: {e:#}", input.display())),
        }
    }
    writeln!(stdout, "signed {signed}, already signed {skipped}, failed {} (of {total})", failed.len())?;
    for f in &failed {
        eprintln!("kyso: failed: {f}");
    }
    if failed.is_empty() { Ok(()) } else { bail!("{} of {total} documents were not signed", failed.len()) }
}

pub(crate) fn fields(input: &Path) -> Result<()> {
    let mut doc = open_pdf(input, None)?;
    let fields = doc.fields()?;
    let mut stdout = std::io::stdout().lock();
    if fields.is_empty() {
        writeln!(stdout, "no form fields")?;
    }
    for f in fields {
        let state = match (f.field_type.as_deref(), f.signature) {
            (Some("Sig"), Some(_)) => "signed",
            (Some("Sig"), None) => "empty",
            _ => "-",
        };
        writeln!(
            stdout,
            "{}\t{}\t{}{}",
            f.name,
            f.field_type.unwrap_or_else(|| "?".into()),
            state,
            if f.has_lock { "\tlocked" } else { "" }
        )?;
    }
    Ok(())
}

pub(crate) fn add_field(input: &Path, output: &Path, name: &str, visible: Option<&str>, lock: Option<&str>) -> Result<()> {
    let mut doc = open_pdf(input, None)?;
    let placement = match visible {
        Some(v) => parse_visible(v)?,
        None => Placement::Invisible,
    };
    let mut update = kyso_pdf::Update::new(&mut doc)?;
    doc.add_empty_field(&mut update, name, &placement, lock.map(parse_lock).as_ref())?;
    write_atomically(output, |out| {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, out);
        update.write(&mut doc, &mut w, &mut |_| {})?;
        w.flush()?;
        Ok(())
    })
}

/// `kyso cades-sign`: a detached CAdES signature of any file.
pub(crate) fn cades_sign(input: &Path, output: &Path, key_args: &KeyArgs, hash: Hash, pss: bool) -> Result<()> {
    let (key, chain) = key_args.load()?;
    let algorithm = SignatureAlgorithm::choose(key.kind(), hash.into(), pss)?;
    let data = File::open(input).with_context(|| format!("cannot open {}", input.display()))?;
    let der = kyso_pades::sign_detached(BufReader::new(data), &chain, key.as_ref(), algorithm)?;
    write_atomically(output, |out| Ok(out.write_all(&der)?))
}
