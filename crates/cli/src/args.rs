//! The command line: every subcommand and flag (clap derive).

use super::*;

#[derive(Parser)]
#[command(name = "kyso", version, about = "Ký số: digital signatures for school records (PAdES, CAdES)")]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
    /// The school library's catalogue: MARC21 import and export for a librarian.
    Library {
        #[command(subcommand)]
        command: LibraryCommand,
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
pub(crate) struct VerifyArgs {
    pub(crate) input: PathBuf,
    /// Trust anchor certificates (PEM or DER); may repeat.
    #[arg(long)]
    pub(crate) trust: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    #[arg(long, value_enum, default_value_t = LangArg::Vi)]
    pub(crate) lang: LangArg,
    /// Validate at this time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ) instead of now.
    #[arg(long)]
    pub(crate) at: Option<String>,
    /// Use only what the file carries to judge revocation (no OCSP or CRL requests).
    #[arg(long)]
    pub(crate) offline: bool,
    /// Where to write the report (needed for --format pdf; stdout otherwise).
    #[arg(short, long)]
    pub(crate) output: Option<PathBuf>,
    /// A CRL file (DER or PEM) to use where the CA cannot be reached; may repeat.
    #[arg(long)]
    pub(crate) crl: Vec<PathBuf>,
    /// The approval chain the signatures must form, in order: roles (teacher, head,
    /// principal, vice_principal, district, department, librarian, or their Vietnamese
    /// names), field names or signer names, comma-separated; or @FILE with one per line.
    #[arg(long)]
    pub(crate) expect_chain: Option<String>,
}

#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (port 0: any free port, printed on start).
    #[arg(long, default_value = "127.0.0.1:8080", env = "KYSO_LISTEN")]
    pub(crate) listen: std::net::SocketAddr,
    /// Folder for documents (content-addressed blobs), the default SQLite database and demo keys.
    #[arg(long, default_value = "kyso-data", env = "KYSO_DATA_DIR")]
    pub(crate) data_dir: PathBuf,
    /// sqlite://FILE or postgres://USER@HOST/DB; SQLite in the data folder by default.
    #[arg(long, env = "KYSO_DATABASE_URL", hide_env_values = true)]
    pub(crate) database_url: Option<String>,
    /// Trust anchors for POST /verify (PEM); may repeat. --demo adds the test PKI's root.
    #[arg(long)]
    pub(crate) trust: Vec<PathBuf>,
    /// Seed an empty database with a district, a school, people for every role and test keys.
    #[arg(long)]
    pub(crate) demo: bool,
    /// Keep documents in an S3-compatible object store: s3://BUCKET (endpoint and credentials
    /// from AWS_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ALLOW_HTTP).
    #[arg(long, env = "KYSO_BLOB_STORE")]
    pub(crate) blob_store: Option<String>,
    /// Refuse to sign when the signer's revocation status (OCSP, else CRL) cannot be checked.
    #[arg(long)]
    pub(crate) require_revocation: bool,
    /// How long a login lasts, in seconds (8 hours by default).
    #[arg(long, default_value_t = 8 * 3600)]
    pub(crate) session_ttl: i64,
    /// Largest accepted upload, in megabytes.
    #[arg(long, default_value_t = 100)]
    pub(crate) max_upload_mb: usize,
    /// The operator's kyso.toml: key sources people may be given ([hsm.NAME], [provider.NAME],
    /// [keystore]). Administrators choose among them; no path ever comes over the API.
    #[arg(long, env = "KYSO_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// A CRL file (DER or PEM) for revocation checks where the CA cannot be reached; may repeat.
    #[arg(long)]
    pub(crate) crl: Vec<PathBuf>,
    /// How long one validation may run before it is stopped, in seconds.
    #[arg(long, default_value_t = 120)]
    pub(crate) work_deadline_secs: u64,
    /// Mark cookies Secure (the server is reached over HTTPS, through a proxy).
    #[arg(long)]
    pub(crate) secure_cookies: bool,
    /// Give every finished chain its long-term validation data (a DSS with the certificates and
    /// an OCSP response or CRL for each signer: PAdES B-LT), for verification years later.
    #[arg(long)]
    pub(crate) long_term_data: bool,
    /// With --demo: also seed a second subject group's lesson plans in several states (returned,
    /// sent, unsigned), so the records dashboard shows every status. `--demo-samples false` to skip.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub(crate) demo_samples: bool,
}

#[derive(Subcommand)]
pub(crate) enum AuditCommand {
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

/// Where the library's data is and who is acting: the librarian's username (their roles
/// decide, as they would at the desk) and, when they work in several, the library.
#[derive(clap::Args)]
pub(crate) struct LibraryArgs {
    #[arg(long, env = "KYSO_DATABASE_URL", hide_env_values = true)]
    pub(crate) database_url: Option<String>,
    #[arg(long, default_value = "kyso-data", env = "KYSO_DATA_DIR")]
    pub(crate) data_dir: PathBuf,
    /// The librarian's username (audited as the one who imported or exported).
    #[arg(long = "as", value_name = "USERNAME")]
    pub(crate) user: String,
    /// The library (the school's organisation id); the librarian's own when left out.
    #[arg(long)]
    pub(crate) library: Option<String>,
}

#[derive(Subcommand)]
pub(crate) enum LibraryCommand {
    /// Import a MARC21 file (ISO 2709 or MARCXML, told apart by content): prints the report
    /// (added, duplicates, refused records with the reason). Nothing is half-imported.
    Import {
        file: PathBuf,
        #[command(flatten)]
        at: LibraryArgs,
    },
    /// Export the whole catalogue as MARC21.
    Export {
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long, value_enum, default_value_t = MarcFormat::Marcxml)]
        format: MarcFormat,
        #[command(flatten)]
        at: LibraryArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum MarcFormat {
    /// ISO 2709 (`.mrc`).
    Iso2709,
    /// MARCXML (`.xml`).
    Marcxml,
}

#[derive(Subcommand)]
pub(crate) enum KeysCommand {
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
pub(crate) struct KeyArgs {
    /// Private key: PKCS#8 (PEM or DER, optionally password-protected), PKCS#12 (.p12/.pfx), or
    /// an RFC 7512 URI for a token key (pkcs11:token=...;object=...).
    #[arg(long)]
    pub(crate) key: PathBuf,
    /// The signer's certificate (PEM or DER; a PEM bundle may carry the chain too). Optional
    /// with a PKCS#12 key that carries its certificate.
    #[arg(long)]
    pub(crate) cert: Option<PathBuf>,
    /// Further certificates of the chain (PEM bundle).
    #[arg(long)]
    pub(crate) chain: Option<PathBuf>,
    /// Password of the private key; read from KYSO_KEY_PASSWORD when not given.
    #[arg(long, env = "KYSO_KEY_PASSWORD", hide_env_values = true)]
    pub(crate) key_password: Option<String>,
    /// Configuration naming remote providers (for --key csc:PROVIDER/CREDENTIAL); KYSO_CONFIG
    /// or ./kyso.toml by default.
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
}

#[derive(clap::Args)]
pub(crate) struct SignArgs {
    pub(crate) input: PathBuf,
    #[arg(short, long)]
    pub(crate) output: PathBuf,
    #[command(flatten)]
    pub(crate) key: KeyArgs,
    #[command(flatten)]
    pub(crate) style: SignStyle,
    /// Password of an encrypted PDF.
    #[arg(long)]
    pub(crate) password: Option<String>,
}

#[derive(clap::Args)]
pub(crate) struct SignBatchArgs {
    /// Folder of PDFs to sign (every *.pdf in it).
    pub(crate) input_dir: Option<PathBuf>,
    /// A file listing the PDFs to sign, one path per line (instead of a folder).
    #[arg(long)]
    pub(crate) list: Option<PathBuf>,
    /// Folder for the signed copies (same file names). Files already there are skipped.
    #[arg(short, long)]
    pub(crate) output_dir: PathBuf,
    #[command(flatten)]
    pub(crate) key: KeyArgs,
    #[command(flatten)]
    pub(crate) style: SignStyle,
}

/// How each signature looks and what it permits.
#[derive(clap::Args)]
pub(crate) struct SignStyle {
    #[arg(long, value_enum, default_value_t = SubFilterArg::Pades)]
    pub(crate) subfilter: SubFilterArg,
    #[arg(long, value_enum, default_value_t = Hash::Sha256)]
    pub(crate) hash: Hash,
    /// Use RSASSA-PSS (RSA keys), as Vietnam's rules for signing software prefer.
    #[arg(long)]
    pub(crate) pss: bool,
    /// Make this the certification signature (DocMDP) with the given permissions.
    #[arg(long, value_enum)]
    pub(crate) certify: Option<Certify>,
    /// Sign into this existing empty field, or create a field with this name.
    #[arg(long)]
    pub(crate) field: Option<String>,
    /// FieldMDP lock of a new field: `all` or a comma-separated list of field names.
    #[arg(long)]
    pub(crate) lock: Option<String>,
    /// PAGE:X1,Y1,X2,Y2 in points; invisible when left out.
    #[arg(long)]
    pub(crate) visible: Option<String>,
    /// PNG image (handwritten signature or seal) for the visible signature.
    #[arg(long)]
    pub(crate) image: Option<PathBuf>,
    /// Signer name shown and stored in /Name; the certificate's common name by default.
    #[arg(long)]
    pub(crate) name: Option<String>,
    #[arg(long)]
    pub(crate) reason: Option<String>,
    #[arg(long)]
    pub(crate) location: Option<String>,
    /// PAdES level: b-b, or b-t (adds an RFC 3161 signature timestamp from --tsa).
    #[arg(long, value_enum, default_value_t = Level::BB)]
    pub(crate) level: Level,
    /// Timestamping authority URL (RFC 3161 over HTTP), for --level b-t.
    #[arg(long)]
    pub(crate) tsa: Option<String>,
    /// Refuse to sign when the signer's revocation status cannot be checked (by default an
    /// unreachable OCSP responder only gives a warning, as Vietnam's rules ask).
    #[arg(long)]
    pub(crate) require_revocation: bool,
    /// Danger: skip the signing-time OCSP check of the signer's certificate.
    #[arg(long, conflicts_with = "require_revocation")]
    pub(crate) no_revocation_check: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum Level {
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
pub(crate) enum Format {
    Text,
    Json,
    /// ETSI TS 119 102-2 validation report (XML).
    Etsi,
    /// A PDF report for the auditor's file (needs -o).
    Pdf,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum LangArg {
    Vi,
    En,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum SubFilterArg {
    Pades,
    Pkcs7,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Certify {
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
    pub(crate) fn load(&self) -> Result<(Box<dyn SigningKey>, CertChain)> {
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
