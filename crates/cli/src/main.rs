//! `kyso`: a thin command line over the Kyso libraries. It parses arguments, reads files and
//! the clock, and maps outcomes to exit codes; the work happens in the library crates.

use kyso_clock as clock;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand, ValueEnum};
use der::Encode;
use kyso_keyring::config;
use kyso_keys::{DigestAlgorithm, SignatureAlgorithm, SigningKey};
use kyso_pades::{CertChain, PdfSignOptions, SubFilter, certinfo};
use kyso_pdf::{AppearanceSpec, DocMdp, Document, FieldLock, Placement};
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(name = "kyso", version, about = "Ký số: digital signatures for school records (PAdES, CAdES)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the signing service (REST API; SQLite and local files unless configured otherwise).
    Serve(ServeArgs),
    /// The audit trail: verify its hash chain, or export it.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Sign a PDF (PAdES baseline B-B, or the legacy adbe.pkcs7.detached).
    Sign(SignArgs),
    /// Sign many PDFs with one key (one remote authorisation per batch the service allows).
    SignBatch(SignBatchArgs),
    /// Verify every signature of a PDF. Exit 0: all TOTAL-PASSED; 1: any TOTAL-FAILED;
    /// 2: any INDETERMINATE (none failed); 3: usage or I/O error.
    Verify(VerifyArgs),
    /// Raise the signatures of a PDF (signed by Kyso or anyone) to PAdES B-LT: add a DSS with
    /// their certificates, OCSP responses and CRLs.
    Augment {
        input: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        /// b-lt: add a DSS; b-lta: a DSS, then a document timestamp (run again before the last
        /// timestamp's TSA certificate expires to renew: a fresh DSS and a new timestamp).
        #[arg(long, value_enum, default_value_t = Level::BLt)]
        level: Level,
        /// The timestamping authority for b-lta.
        #[arg(long)]
        tsa: Option<String>,
    },
    /// List the form fields and signatures of a PDF.
    Fields { input: PathBuf },
    /// Add an empty signature field (an approval stage for a later signer).
    AddField {
        input: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long)]
        name: String,
        /// PAGE:X1,Y1,X2,Y2 in points; invisible when left out.
        #[arg(long)]
        visible: Option<String>,
        /// FieldMDP lock for the future signature: `all` or a comma-separated field list.
        #[arg(long)]
        lock: Option<String>,
    },
    /// Key backends: list what a PKCS#11 module's tokens offer.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Make a detached CAdES signature (.p7s) over any file.
    CadesSign {
        input: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        #[command(flatten)]
        key: KeyArgs,
        #[arg(long, value_enum, default_value_t = Hash::Sha256)]
        hash: Hash,
        #[arg(long)]
        pss: bool,
    },
}

#[derive(clap::Args)]
struct VerifyArgs {
    input: PathBuf,
    /// Trust anchor certificates (PEM or DER); may repeat.
    #[arg(long)]
    trust: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    #[arg(long, value_enum, default_value_t = LangArg::Vi)]
    lang: LangArg,
    /// Validate at this time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ) instead of now.
    #[arg(long)]
    at: Option<String>,
    /// Use only what the file carries to judge revocation (no OCSP or CRL requests).
    #[arg(long)]
    offline: bool,
    /// Where to write the report (needed for --format pdf; stdout otherwise).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// A CRL file (DER or PEM) to use where the CA cannot be reached; may repeat.
    #[arg(long)]
    crl: Vec<PathBuf>,
    /// The approval chain the signatures must form, in order: roles (teacher, head,
    /// principal, vice_principal, district, department, librarian, or their Vietnamese
    /// names), field names or signer names, comma-separated; or @FILE with one per line.
    #[arg(long)]
    expect_chain: Option<String>,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on (port 0: any free port, printed on start).
    #[arg(long, default_value = "127.0.0.1:8080", env = "KYSO_LISTEN")]
    listen: std::net::SocketAddr,
    /// Folder for documents (content-addressed blobs), the default SQLite database and demo keys.
    #[arg(long, default_value = "kyso-data", env = "KYSO_DATA_DIR")]
    data_dir: PathBuf,
    /// sqlite://FILE or postgres://USER@HOST/DB; SQLite in the data folder by default.
    #[arg(long, env = "KYSO_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Trust anchors for POST /verify (PEM); may repeat. --demo adds the test PKI's root.
    #[arg(long)]
    trust: Vec<PathBuf>,
    /// Seed an empty database with a district, a school, people for every role and test keys.
    #[arg(long)]
    demo: bool,
    /// Keep documents in an S3-compatible object store: s3://BUCKET (endpoint and credentials
    /// from AWS_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ALLOW_HTTP).
    #[arg(long, env = "KYSO_BLOB_STORE")]
    blob_store: Option<String>,
    /// Refuse to sign when the signer's revocation status (OCSP, else CRL) cannot be checked.
    #[arg(long)]
    require_revocation: bool,
    /// How long a login lasts, in seconds (8 hours by default).
    #[arg(long, default_value_t = 8 * 3600)]
    session_ttl: i64,
    /// Largest accepted upload, in megabytes.
    #[arg(long, default_value_t = 100)]
    max_upload_mb: usize,
    /// The operator's kyso.toml: key sources people may be given ([hsm.NAME], [provider.NAME],
    /// [keystore]). Administrators choose among them; no path ever comes over the API.
    #[arg(long, env = "KYSO_CONFIG")]
    config: Option<PathBuf>,
    /// A CRL file (DER or PEM) for revocation checks where the CA cannot be reached; may repeat.
    #[arg(long)]
    crl: Vec<PathBuf>,
    /// How long one validation may run before it is stopped, in seconds.
    #[arg(long, default_value_t = 120)]
    work_deadline_secs: u64,
    /// Mark cookies Secure (the server is reached over HTTPS, through a proxy).
    #[arg(long)]
    secure_cookies: bool,
    /// Give every finished chain its long-term validation data (a DSS with the certificates and
    /// an OCSP response or CRL for each signer: PAdES B-LT), for verification years later.
    #[arg(long)]
    long_term_data: bool,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the audit trail's hash chain. Exit 0: intact; 1: broken. Prints a checkpoint
    /// (SEQ:HASH of the newest entry) to keep elsewhere and pass back with --checkpoint later.
    Verify {
        #[arg(long, env = "KYSO_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
        #[arg(long, default_value = "kyso-data", env = "KYSO_DATA_DIR")]
        data_dir: PathBuf,
        /// SEQ:HASH noted at an earlier check or export: that entry must still be there,
        /// unchanged (detects deleted newest entries, which the chain alone cannot). Repeatable.
        #[arg(long = "checkpoint")]
        checkpoints: Vec<kyso_store::audit::Checkpoint>,
    },
    /// Write every audit entry as a JSON line (for auditors to keep); prints the checkpoint.
    Export {
        #[arg(long, env = "KYSO_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
        #[arg(long, default_value = "kyso-data", env = "KYSO_DATA_DIR")]
        data_dir: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Store a certificate on a token beside its key (same label and id).
    ImportCert {
        /// The certificate (PEM or DER).
        cert: PathBuf,
        /// The key's URI, e.g. pkcs11:token=Kyso;object=teacher;id=%01
        #[arg(long)]
        key: String,
        #[arg(long, env = "KYSO_PKCS11_PIN", hide_env_values = true)]
        pin: Option<String>,
    },
    /// List tokens, private keys and certificates of a PKCS#11 module, or (with --config) what
    /// each configured provider offers.
    List {
        /// Module path; KYSO_PKCS11_MODULE or SoftHSM2's by default.
        #[arg(long)]
        module: Option<String>,
        /// List the providers of this kyso.toml instead of a PKCS#11 module.
        #[arg(long)]
        config: Option<PathBuf>,
        /// User PIN, to see private keys (KYSO_PKCS11_PIN works too).
        #[arg(long, env = "KYSO_PKCS11_PIN", hide_env_values = true)]
        pin: Option<String>,
    },
}

#[derive(clap::Args, Clone)]
struct KeyArgs {
    /// Private key: PKCS#8 (PEM or DER, optionally password-protected), PKCS#12 (.p12/.pfx), or
    /// an RFC 7512 URI for a token key (pkcs11:token=...;object=...).
    #[arg(long)]
    key: PathBuf,
    /// The signer's certificate (PEM or DER; a PEM bundle may carry the chain too). Optional
    /// with a PKCS#12 key that carries its certificate.
    #[arg(long)]
    cert: Option<PathBuf>,
    /// Further certificates of the chain (PEM bundle).
    #[arg(long)]
    chain: Option<PathBuf>,
    /// Password of the private key; read from KYSO_KEY_PASSWORD when not given.
    #[arg(long, env = "KYSO_KEY_PASSWORD", hide_env_values = true)]
    key_password: Option<String>,
    /// Configuration naming remote providers (for --key csc:PROVIDER/CREDENTIAL); KYSO_CONFIG
    /// or ./kyso.toml by default.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(clap::Args)]
struct SignArgs {
    input: PathBuf,
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    key: KeyArgs,
    #[command(flatten)]
    style: SignStyle,
    /// Password of an encrypted PDF.
    #[arg(long)]
    password: Option<String>,
}

#[derive(clap::Args)]
struct SignBatchArgs {
    /// Folder of PDFs to sign (every *.pdf in it).
    input_dir: Option<PathBuf>,
    /// A file listing the PDFs to sign, one path per line (instead of a folder).
    #[arg(long)]
    list: Option<PathBuf>,
    /// Folder for the signed copies (same file names). Files already there are skipped.
    #[arg(short, long)]
    output_dir: PathBuf,
    #[command(flatten)]
    key: KeyArgs,
    #[command(flatten)]
    style: SignStyle,
}

/// How each signature looks and what it permits.
#[derive(clap::Args)]
struct SignStyle {
    #[arg(long, value_enum, default_value_t = SubFilterArg::Pades)]
    subfilter: SubFilterArg,
    #[arg(long, value_enum, default_value_t = Hash::Sha256)]
    hash: Hash,
    /// Use RSASSA-PSS (RSA keys), as Vietnam's rules for signing software prefer.
    #[arg(long)]
    pss: bool,
    /// Make this the certification signature (DocMDP) with the given permissions.
    #[arg(long, value_enum)]
    certify: Option<Certify>,
    /// Sign into this existing empty field, or create a field with this name.
    #[arg(long)]
    field: Option<String>,
    /// FieldMDP lock of a new field: `all` or a comma-separated list of field names.
    #[arg(long)]
    lock: Option<String>,
    /// PAGE:X1,Y1,X2,Y2 in points; invisible when left out.
    #[arg(long)]
    visible: Option<String>,
    /// PNG image (handwritten signature or seal) for the visible signature.
    #[arg(long)]
    image: Option<PathBuf>,
    /// Signer name shown and stored in /Name; the certificate's common name by default.
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    reason: Option<String>,
    #[arg(long)]
    location: Option<String>,
    /// PAdES level: b-b, or b-t (adds an RFC 3161 signature timestamp from --tsa).
    #[arg(long, value_enum, default_value_t = Level::BB)]
    level: Level,
    /// Timestamping authority URL (RFC 3161 over HTTP), for --level b-t.
    #[arg(long)]
    tsa: Option<String>,
    /// Refuse to sign when the signer's revocation status cannot be checked (by default an
    /// unreachable OCSP responder only gives a warning, as Vietnam's rules ask).
    #[arg(long)]
    require_revocation: bool,
    /// Danger: skip the signing-time OCSP check of the signer's certificate.
    #[arg(long, conflicts_with = "require_revocation")]
    no_revocation_check: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Level {
    #[value(name = "b-b")]
    BB,
    #[value(name = "b-t")]
    BT,
    /// B-T plus a DSS with the certificates, OCSP responses and CRLs (long-term validation).
    #[value(name = "b-lt")]
    BLt,
    /// B-LT plus a document timestamp (ETSI.RFC3161) over everything, DSS included.
    #[value(name = "b-lta")]
    BLta,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
    /// ETSI TS 119 102-2 validation report (XML).
    Etsi,
    /// A PDF report for the auditor's file (needs -o).
    Pdf,
}

#[derive(Clone, Copy, ValueEnum)]
enum LangArg {
    Vi,
    En,
}

#[derive(Clone, Copy, ValueEnum)]
enum SubFilterArg {
    Pades,
    Pkcs7,
}

#[derive(Clone, Copy, ValueEnum)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

#[derive(Clone, Copy, ValueEnum)]
enum Certify {
    NoChanges,
    FormFilling,
    Annotations,
}

impl From<Hash> for DigestAlgorithm {
    fn from(h: Hash) -> Self {
        match h {
            Hash::Sha256 => DigestAlgorithm::Sha256,
            Hash::Sha384 => DigestAlgorithm::Sha384,
            Hash::Sha512 => DigestAlgorithm::Sha512,
        }
    }
}

impl KeyArgs {
    fn load(&self) -> Result<(Box<dyn SigningKey>, CertChain)> {
        let spec = kyso_keyring::KeySpec {
            key: self.key.to_string_lossy().into_owned(),
            cert: self.cert.clone(),
            chain: self.chain.clone(),
            key_password: self.key_password.clone(),
            config: self.config.clone(),
        };
        kyso_keyring::load_key(&spec, clock::unix_now())
    }
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sign(args) => sign(args),
        Command::SignBatch(args) => sign_batch(args),
        Command::Fields { input } => fields(&input),
        Command::Augment { input, output, level, tsa } => augment(&input, &output, level, tsa.as_deref()),
        Command::Verify(args) => match verify(&args) {
            Ok(code) => std::process::exit(code),
            Err(e) => {
                let causes: Vec<String> = e.chain().map(|c| c.to_string()).collect();
                eprintln!("kyso: error: {}", causes.join(": "));
                std::process::exit(3);
            }
        },
        Command::AddField { input, output, name, visible, lock } => add_field(&input, &output, &name, visible.as_deref(), lock.as_deref()),
        Command::CadesSign { input, output, key, hash, pss } => cades_sign(&input, &output, &key, hash, pss),
        Command::Keys { command: KeysCommand::List { module, pin, config: None } } => keys_list(module, pin),
        Command::Keys { command: KeysCommand::List { config: Some(path), .. } } => config::load_and_describe(&path),
        Command::Keys { command: KeysCommand::ImportCert { cert, key, pin } } => keys_import_cert(&cert, &key, pin),
        Command::Serve(args) => serve(args),
        Command::Audit { command: AuditCommand::Verify { database_url, data_dir, checkpoints } } => {
            let url = database_url.unwrap_or_else(|| default_database(&data_dir));
            match audit_verify(&url, &checkpoints) {
                Ok(kyso_store::audit::Verdict::Intact { entries, head }) => {
                    println!("nhật ký nguyên vẹn / audit trail intact: {entries} entries");
                    println!("điểm kiểm tra / checkpoint (keep it elsewhere): {entries}:{head}");
                    Ok(())
                }
                Ok(kyso_store::audit::Verdict::Broken { seq, reason }) => {
                    println!("nhật ký bị sửa đổi / audit trail BROKEN at entry {seq}: {reason}");
                    std::process::exit(1);
                }
                Err(e) => Err(anyhow!(e)),
            }
        }
        Command::Audit { command: AuditCommand::Export { database_url, data_dir, output } } => {
            let url = database_url.unwrap_or_else(|| default_database(&data_dir));
            write_atomically(&output, |out| {
                let mut w = std::io::BufWriter::new(out);
                let last = audit_export(&url, &mut w)?;
                w.flush()?;
                match last {
                    Some(c) => eprintln!("{} entries written; checkpoint (keep it elsewhere): {c}", c.seq),
                    None => eprintln!("the audit trail is empty"),
                }
                Ok(())
            })
        }
    };
    if let Err(e) = result {
        // One line, naming the problem and its causes.
        let causes: Vec<String> = e.chain().map(|c| c.to_string()).collect();
        eprintln!("kyso: error: {}", causes.join(": "));
        std::process::exit(1);
    }
}

/// A PDF opened for an update: the file, or a clean rewrite of a damaged one.
type UpdatableDocument = Document<kyso_pdf::UpdateSource<BufReader<File>, File>>;

/// Opens a PDF for signing (see `kyso_pdf::open_for_update`: a damaged one is first rewritten in
/// full; a hybrid file whose readings disagree is refused).
fn open_pdf(path: &Path, password: Option<&str>) -> Result<UpdatableDocument> {
    let _ = password;
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    kyso_pdf::open_for_update(BufReader::new(file), tempfile::tempfile).with_context(|| format!("cannot read {}", path.display()))
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// `kyso audit verify`: checks the hash chain of the audit trail (and the checkpoints given).
fn audit_verify(url: &str, checkpoints: &[kyso_store::audit::Checkpoint]) -> Result<kyso_store::audit::Verdict> {
    runtime()?.block_on(async {
        let db = kyso_store::Db::connect(url, std::sync::Arc::new(clock::SystemClock))
            .await
            .with_context(|| format!("database {}", kyso_store::redact(url)))?;
        Ok(kyso_store::audit::verify_with_checkpoints(&db.pool, checkpoints).await?)
    })
}

/// `kyso audit export`: every entry as one JSON line, in order. Returns the last entry as a
/// checkpoint (none for an empty trail).
fn audit_export(url: &str, out: &mut dyn Write) -> Result<Option<kyso_store::audit::Checkpoint>> {
    runtime()?.block_on(async {
        let db = kyso_store::Db::connect(url, std::sync::Arc::new(clock::SystemClock))
            .await
            .with_context(|| format!("database {}", kyso_store::redact(url)))?;
        let mut last_entry: Option<kyso_store::audit::Checkpoint> = None;
        loop {
            let after = last_entry.as_ref().map_or(0, |c| c.seq);
            let page = kyso_store::audit::entries(&db.pool, after, 1000).await?;
            let Some(last) = page.last() else { return Ok(last_entry) };
            last_entry = Some(kyso_store::audit::Checkpoint { seq: last.seq, hash: last.hash.clone() });
            for e in &page {
                let line = serde_json::json!({"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "document_id": e.document_id,
                    "org_id": e.org_id, "detail": e.detail, "prev_hash": e.prev_hash, "hash": e.hash});
                writeln!(out, "{line}")?;
            }
        }
    })
}

/// Writes the output through a temporary file in the same folder, renamed into place only when
/// complete: a failure never leaves a partial file.
fn write_atomically(output: &Path, f: impl FnOnce(&mut File) -> Result<()>) -> Result<()> {
    let dir = output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    // 0666 before the umask, as any file a program writes (tempfile's default is 0600).
    let mut tmp = tempfile::Builder::new()
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    f(tmp.as_file_mut())?;
    tmp.as_file_mut().sync_all()?;
    tmp.persist(output).map_err(|e| anyhow!("cannot write {}: {}", output.display(), e.error))?;
    Ok(())
}

fn parse_visible(spec: &str) -> Result<Placement> {
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

fn parse_lock(spec: &str) -> FieldLock {
    if spec.eq_ignore_ascii_case("all") {
        FieldLock::All
    } else {
        FieldLock::Include(spec.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
    }
}

/// Builds the signature options shared by `sign` and `sign-batch`.
fn sign_options(style: &SignStyle, chain: &CertChain, algorithm: SignatureAlgorithm) -> Result<PdfSignOptions> {
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

fn sign(args: SignArgs) -> Result<()> {
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

fn http_tsa(url: &str) -> Result<kyso_ltv::HttpTsa> {
    let secs = std::env::var("KYSO_TSA_TIMEOUT_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    kyso_ltv::HttpTsa::new(url, std::time::Duration::from_secs(secs)).map_err(|e| anyhow!(e))
}

/// `kyso augment`: B-LT adds a DSS; B-LTA adds a DSS, then a document timestamp over it.
fn augment(input: &Path, output: &Path, level: Level, tsa: Option<&str>) -> Result<()> {
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
fn augment_file(input: &Path, output: &Path) -> Result<()> {
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
fn check_revocation(style: &SignStyle, chain: &CertChain) -> Result<()> {
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
fn readable_time(g: &str) -> String {
    match (g.get(0..4), g.get(4..6), g.get(6..8), g.get(8..10), g.get(10..12), g.get(12..14)) {
        (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) => format!("{y}-{mo}-{d} {h}:{mi}:{s} UTC"),
        _ => g.to_string(),
    }
}

/// Signs many PDFs with one key: one authorisation per `multisign` documents on remote services.
/// Already signed outputs are skipped, so a batch can simply be run again after a failure.
fn sign_batch(args: SignBatchArgs) -> Result<()> {
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

fn fields(input: &Path) -> Result<()> {
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

fn add_field(input: &Path, output: &Path, name: &str, visible: Option<&str>, lock: Option<&str>) -> Result<()> {
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

/// The CRL files given with --crl.
fn local_crls(paths: &[PathBuf]) -> Result<kyso_ltv::LocalCrls> {
    let mut crls = Vec::new();
    for p in paths {
        crls.push(std::fs::read(p).with_context(|| format!("cannot read the CRL {}", p.display()))?);
    }
    Ok(kyso_ltv::LocalCrls::new(crls))
}

fn default_database(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("kyso.db").display())
}

fn serve(args: ServeArgs) -> Result<()> {
    let config = kyso_server::Config {
        listen: args.listen,
        data_dir: args.data_dir,
        database_url: args.database_url,
        // The demo signs with the test PKI: its root is trusted there (and only there).
        trust_anchors: args.trust,
        session_ttl_secs: args.session_ttl.max(1),
        max_upload_bytes: args.max_upload_mb.max(1) * 1024 * 1024,
        require_revocation: args.require_revocation,
        blob_store: args.blob_store,
        key_config: args.config,
        crl_files: args.crl,
        work_deadline: std::time::Duration::from_secs(args.work_deadline_secs.clamp(1, 3600)),
        secure_cookies: args.secure_cookies,
        long_term_data: args.long_term_data,
        demo: args.demo,
    };
    kyso_server::serve_blocking(config, args.demo).map_err(|e| anyhow!(e))
}

fn cades_sign(input: &Path, output: &Path, key_args: &KeyArgs, hash: Hash, pss: bool) -> Result<()> {
    let (key, chain) = key_args.load()?;
    let algorithm = SignatureAlgorithm::choose(key.kind(), hash.into(), pss)?;
    let data = File::open(input).with_context(|| format!("cannot open {}", input.display()))?;
    let der = kyso_pades::sign_detached(BufReader::new(data), &chain, key.as_ref(), algorithm)?;
    write_atomically(output, |out| Ok(out.write_all(&der)?))
}

fn keys_list(module: Option<String>, pin: Option<String>) -> Result<()> {
    let uri = kyso_keys_pkcs11::Pkcs11Uri { module_path: module, ..Default::default() };
    let path = kyso_keyring::pkcs11_module(&uri);
    let ctx = kyso_keys_pkcs11::load_module(&path)?;
    let mut stdout = std::io::stdout().lock();
    for o in kyso_keys_pkcs11::list_objects(&ctx, pin)? {
        writeln!(stdout, "pkcs11:token={};object={};id={}\t{}", o.token, o.label, percent_hex(&o.id_hex), o.class)?;
    }
    Ok(())
}

fn percent_hex(hex: &str) -> String {
    hex.as_bytes().chunks(2).map(|c| format!("%{}", String::from_utf8_lossy(c))).collect()
}

fn keys_import_cert(cert: &Path, key: &str, pin: Option<String>) -> Result<()> {
    let uri: kyso_keys_pkcs11::Pkcs11Uri = key.parse()?;
    let bytes = std::fs::read(cert).with_context(|| format!("cannot read {}", cert.display()))?;
    let certs = certinfo::parse_certificates(&bytes)?;
    let pin = pin.or_else(|| uri.pin_value.clone());
    let ctx = kyso_keys_pkcs11::load_module(&kyso_keyring::pkcs11_module(&uri))?;
    let subject = certs[0].tbs_certificate().subject().to_der()?;
    kyso_keys_pkcs11::store_certificate(&ctx, &uri, pin, &certs[0].to_der()?, &subject)?;
    Ok(())
}

fn verify(args: &VerifyArgs) -> Result<i32> {
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
