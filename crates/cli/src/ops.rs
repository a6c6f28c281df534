//! `kyso serve`, `kyso audit` and `kyso keys`: running the service and looking after its data and tokens.

use super::*;
use crate::args::*;

pub(crate) fn default_database(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("kyso.db").display())
}

pub(crate) fn serve(args: ServeArgs) -> Result<()> {
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
        demo_samples: args.demo_samples,
    };
    kyso_server::serve_blocking(config, args.demo).map_err(|e| anyhow!(e))
}

/// `kyso audit verify`: checks the hash chain of the audit trail (and the checkpoints given).
pub(crate) fn audit_verify(url: &str, checkpoints: &[kyso_store::audit::Checkpoint]) -> Result<kyso_store::audit::Verdict> {
    runtime()?.block_on(async {
        let db = kyso_store::Db::connect(url, std::sync::Arc::new(clock::SystemClock))
            .await
            .with_context(|| format!("database {}", kyso_store::redact(url)))?;
        Ok(kyso_store::audit::verify_with_checkpoints(&db.pool, checkpoints).await?)
    })
}

/// `kyso audit export`: every entry as one JSON line, in order. Returns the last entry as a
/// checkpoint (none for an empty trail).
pub(crate) fn audit_export(url: &str, out: &mut dyn Write) -> Result<Option<kyso_store::audit::Checkpoint>> {
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

/// `kyso keys list`: what a PKCS#11 module's tokens hold.
pub(crate) fn keys_list(module: Option<String>, pin: Option<String>) -> Result<()> {
    let uri = kyso_keys_pkcs11::Pkcs11Uri { module_path: module, ..Default::default() };
    let path = kyso_keyring::pkcs11_module(&uri);
    let ctx = kyso_keys_pkcs11::load_module(&path)?;
    let mut stdout = std::io::stdout().lock();
    for o in kyso_keys_pkcs11::list_objects(&ctx, pin)? {
        writeln!(stdout, "pkcs11:token={};object={};id={}\t{}", o.token, o.label, percent_hex(&o.id_hex), o.class)?;
    }
    Ok(())
}

pub(crate) fn percent_hex(hex: &str) -> String {
    hex.as_bytes().chunks(2).map(|c| format!("%{}", String::from_utf8_lossy(c))).collect()
}

pub(crate) fn keys_import_cert(cert: &Path, key: &str, pin: Option<String>) -> Result<()> {
    let uri: kyso_keys_pkcs11::Pkcs11Uri = key.parse()?;
    let bytes = std::fs::read(cert).with_context(|| format!("cannot read {}", cert.display()))?;
    let certs = certinfo::parse_certificates(&bytes)?;
    let pin = pin.or_else(|| uri.pin_value.clone());
    let ctx = kyso_keys_pkcs11::load_module(&kyso_keyring::pkcs11_module(&uri))?;
    let subject = certs[0].tbs_certificate().subject().to_der()?;
    kyso_keys_pkcs11::store_certificate(&ctx, &uri, pin, &certs[0].to_der()?, &subject)?;
    Ok(())
}
