//! `kyso`: a thin command line over the Kyso libraries. It parses arguments, reads files and
//! the clock, and maps outcomes to exit codes; the work happens in the library crates.
#![forbid(unsafe_code)]

mod args;
mod library;
mod ops;
mod sign;
mod verify;

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

use args::*;
use ops::*;
use sign::*;
use verify::*;

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
        Command::Library { command: LibraryCommand::Import { file, at } } => library::import(&file, &at),
        Command::Library { command: LibraryCommand::Export { output, format, at } } => library::export(&output, format, &at),
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
