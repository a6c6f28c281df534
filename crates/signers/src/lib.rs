//! `kyso-signers`: who signs with which key.
//!
//! The operator declares key sources in the server's configuration (`[hsm.NAME]` tokens,
//! `[provider.NAME]` remote providers, a `[keystore]` whose key-encryption key lives in the
//! environment). An administrator assigns a person one of them by name plus an object or
//! credential id, or uploads a PKCS#12 file into the key store: nothing that arrives over the API
//! is ever a file or library path. The certificate is checked against the person (name and
//! identity number), the key proves possession by signing a challenge, and at every signature
//! the certificate presented must still be the one registered.
#![forbid(unsafe_code)]

mod error;
pub mod identity;
pub mod keystore;

pub use error::{Result, SignersError};

use der::{Decode, Encode, EncodePem};
use kyso_keyring::config::{Config, Provider};
use kyso_keys::{DigestAlgorithm, SignatureAlgorithm, SigningKey, SoftwareKey};
use kyso_org::Actor;
use kyso_pades::{CertChain, certinfo};
use kyso_store::{Store, new_id, sha256_hex};
use sqlx::Row;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use x509_cert::Certificate;

/// A person's key, opened once and kept.
pub struct SignerKey {
    pub key: Arc<dyn SigningKey>,
    pub chain: CertChain,
    pub algorithm: SignatureAlgorithm,
    /// A remote provider's key: a signature may wait minutes for the signer's confirmation.
    pub remote: bool,
    /// Set when an administrator accepted this certificate although it does not match the
    /// person's record: the signature carries the note, and validation reports show it.
    pub identity_note: Option<String>,
}

impl SignerKey {
    pub fn new(key: Arc<dyn SigningKey>, chain: CertChain, remote: bool) -> std::result::Result<Self, kyso_keys::KeyError> {
        let algorithm = SignatureAlgorithm::choose(key.kind(), DigestAlgorithm::Sha256, false)?;
        Ok(SignerKey { key, chain, algorithm, remote, identity_note: None })
    }
}

/// Where a person's key comes from, as an administrator names it.
pub enum KeySource {
    /// An object (key label) on a token the operator declared as `[hsm.NAME]`.
    Hsm { name: String, object: String },
    /// A credential at a remote provider the operator declared as `[provider.NAME]`.
    Provider { name: String, credential: String },
    /// A PKCS#12 file, kept (its key encrypted) in the server's key store.
    Keystore { pkcs12: Vec<u8>, password: String },
    /// A PKCS#8 key and its chain, kept in the key store (the demo's seeding, an import at the
    /// command line; not offered over the API).
    Pkcs8 { der: Vec<u8>, chain: Vec<Certificate> },
}

impl KeySource {
    fn kind(&self) -> &'static str {
        match self {
            KeySource::Hsm { .. } => "hsm",
            KeySource::Provider { .. } => "provider",
            KeySource::Keystore { .. } | KeySource::Pkcs8 { .. } => "keystore",
        }
    }
}

/// A key source the operator declared, for administrators to choose from.
pub struct SourceInfo {
    pub kind: &'static str,
    pub name: String,
    /// What the object or credential id is at this source ("key label on token Kyso", "citizen ID").
    pub object_hint: String,
}

/// A person's key as administrators and the person see it.
#[derive(Clone, Debug)]
pub struct KeyInfo {
    pub source: String,
    pub source_name: String,
    pub object: String,
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    pub cert_sha256: String,
    /// `match` or `override`.
    pub identity: String,
    pub override_reason: Option<String>,
    pub confirmed: bool,
    pub assigned_by: String,
    pub assigned_at: i64,
    pub remote: bool,
}

/// The operator's key sources and the keys opened from them.
pub struct Registry {
    config: Config,
    kek: Option<keystore::Kek>,
    modules: Mutex<HashMap<String, Arc<cryptoki::context::Pkcs11>>>,
    opened: Mutex<HashMap<String, Arc<SignerKey>>>,
}

/// What opening a source gives: the key, the chain (signer first) and whether it is remote.
type Opened = (Arc<dyn SigningKey>, CertChain, bool);

/// A key opened for assignment: the key itself, its source as stored (kind and reference), and
/// for the key store the sealed entry (id, ciphertext, nonce).
type Prepared = (Opened, String, String, Option<(String, String, String)>);

impl Registry {
    /// `kek`: the key store's key-encryption key (from the configuration's `[keystore]`, or the
    /// demo's own), or none when no key store is offered.
    pub fn new(config: Config, kek: Option<[u8; 32]>) -> Self {
        Registry { config, kek: kek.map(keystore::Kek::new), modules: Default::default(), opened: Default::default() }
    }

    /// The sources an administrator may choose among.
    pub fn sources(&self) -> Vec<SourceInfo> {
        let mut out = Vec::new();
        for (name, h) in &self.config.hsm {
            out.push(SourceInfo { kind: "hsm", name: name.clone(), object_hint: format!("key label on token {}", h.token) });
        }
        for (name, p) in &self.config.provider {
            let hint = match p {
                Provider::CscV1 { .. } | Provider::CscV2 { .. } => "credential ID",
                Provider::VnptSmartca { .. } => "citizen ID (optionally ID:SERIAL)",
                Provider::ViettelMysign { .. } => "USER_ID/CREDENTIAL_ID",
                Provider::MisaEsign { .. } => "user name (optionally USER:CERT_ID)",
            };
            out.push(SourceInfo { kind: "provider", name: name.clone(), object_hint: hint.into() });
        }
        if self.kek.is_some() {
            out.push(SourceInfo { kind: "keystore", name: "keystore".into(), object_hint: "a PKCS#12 file and its password".into() });
        }
        out
    }

    fn module(&self, path: &str) -> Result<Arc<cryptoki::context::Pkcs11>> {
        let mut modules = self.modules.lock().expect("module lock");
        if let Some(m) = modules.get(path) {
            return Ok(m.clone());
        }
        let m = kyso_keys_pkcs11::load_module(path).map_err(|e| SignersError::Unusable(e.to_string()))?;
        modules.insert(path.to_string(), m.clone());
        Ok(m)
    }

    /// Opens a token object or provider credential (blocking: tokens and networks).
    fn open_external(&self, kind: &str, name: &str, object: &str) -> Result<Opened> {
        match kind {
            "hsm" => {
                if !self.config.hsm.contains_key(name) {
                    return Err(SignersError::UnknownSource(format!("no HSM named \"{name}\" is declared by the operator")));
                }
                let (uri, pin) = self.config.hsm_key(name, object).map_err(|e| SignersError::Unusable(e.to_string()))?;
                let module = self.module(uri.module_path.as_deref().unwrap_or_default())?;
                let key = kyso_keys_pkcs11::Pkcs11Key::open(module, &uri, Some(pin))
                    .map_err(|e| SignersError::Unusable(format!("HSM \"{name}\", object \"{object}\": {e}")))?;
                let der = key.certificate().map(<[u8]>::to_vec).ok_or_else(|| {
                    SignersError::Unusable(format!(
                        "HSM \"{name}\", object \"{object}\": the token holds no certificate beside the key (kyso keys import-cert)"
                    ))
                })?;
                let mut certs = certinfo::parse_certificates(&der).map_err(|e| SignersError::Unusable(e.to_string()))?;
                if let Some(path) = self.config.hsm.get(name).and_then(|h| h.chain.as_ref()) {
                    let bytes = std::fs::read(path)
                        .map_err(|e| SignersError::Unusable(format!("HSM \"{name}\": the chain file the operator named: {e}")))?;
                    certs.extend(certinfo::parse_certificates(&bytes).map_err(|e| SignersError::Unusable(e.to_string()))?);
                }
                let chain = CertChain::new(certs).map_err(|e| SignersError::Unusable(e.to_string()))?;
                Ok((Arc::new(key), chain, false))
            }
            "provider" => {
                if !self.config.provider.contains_key(name) {
                    return Err(SignersError::UnknownSource(format!("no provider named \"{name}\" is declared by the operator")));
                }
                let (key, ders) =
                    self.config.open(name, object, None).map_err(|e| SignersError::Unusable(format!("provider \"{name}\": {e:#}")))?;
                let mut certs = Vec::new();
                for d in &ders {
                    certs.extend(certinfo::parse_certificates(d).map_err(|e| SignersError::Unusable(e.to_string()))?);
                }
                let chain = CertChain::new(certs)
                    .map_err(|e| SignersError::Unusable(format!("provider \"{name}\" returned no certificate: {e}")))?;
                Ok((Arc::from(key), chain, true))
            }
            other => Err(SignersError::UnknownSource(format!("unknown key source {other}"))),
        }
    }

    /// Assigns `source` to `username` (an administrator of every unit of theirs). The certificate
    /// must belong to the person, unless `override_reason` says why it is accepted anyway (audited,
    /// and carried in every signature it makes); a local key proves possession now, a remote one
    /// when its holder confirms it ([`Registry::confirm`]).
    pub async fn assign(
        self: &Arc<Self>,
        store: &Store,
        actor: &Actor,
        username: &str,
        source: KeySource,
        override_reason: Option<&str>,
    ) -> Result<KeyInfo> {
        let person = kyso_org::people::administered(store, actor, username).await?;
        let override_reason = override_reason.map(|r| kyso_org::text::paragraph(r, "override_reason", 500)).transpose()?;
        if matches!(source, KeySource::Keystore { .. } | KeySource::Pkcs8 { .. }) && self.kek.is_none() {
            return Err(SignersError::NoKeystore);
        }
        let kind = source.kind();
        let now = store.now();
        let this = self.clone();
        let user_id = person.id.clone();
        // Opening a token or a provider, and the proof signature, block: off the async threads.
        let opened = tokio::task::spawn_blocking(move || -> Result<Prepared> {
            match source {
                KeySource::Hsm { name, object } => {
                    let o = this.open_external("hsm", &name, &object)?;
                    Ok((o, name, object, None))
                }
                KeySource::Provider { name, credential } => {
                    let o = this.open_external("provider", &name, &credential)?;
                    Ok((o, name, credential, None))
                }
                KeySource::Keystore { pkcs12, password } => {
                    let (der, certs) = SoftwareKey::read_pkcs12(&pkcs12, &password)
                        .map_err(|e| SignersError::Unusable(format!("the PKCS#12 file: {e}")))?;
                    let mut chain = Vec::new();
                    for c in &certs {
                        chain.extend(certinfo::parse_certificates(c).map_err(|e| SignersError::Unusable(e.to_string()))?);
                    }
                    this.keystore_entry(&user_id, der, chain)
                }
                KeySource::Pkcs8 { der, chain } => this.keystore_entry(&user_id, der, chain),
            }
        })
        .await
        .map_err(|e| SignersError::Unusable(format!("opening the key stopped: {e}")))??;
        let ((key, chain, remote), source_name, object, sealed) = opened;
        let signer = chain.signer().clone();
        certinfo::check_validity_at(&signer, now.max(0) as u64).map_err(|e| SignersError::Unusable(e.to_string()))?;
        let mismatch = identity::mismatch(&signer, &person.full_name, person.id_number.as_deref());
        let identity = match (&mismatch, &override_reason) {
            (None, _) => "match",
            (Some(why), None) => {
                kyso_org::refused(store, actor, "assign_key", person.memberships.first().map(|m| m.0.as_str())).await?;
                return Err(SignersError::IdentityMismatch(why.clone()));
            }
            (Some(_), Some(_)) => "override",
        };
        // Possession: a local key signs a challenge now; a remote one waits for its holder.
        let proven = if remote {
            None
        } else {
            let (k, c) = (key.clone(), chain.0.clone());
            tokio::task::spawn_blocking(move || prove(k.as_ref(), &c[0])).await.map_err(|e| SignersError::ProofFailed(e.to_string()))??;
            Some(now)
        };
        let cert_der = signer.to_der().map_err(|e| SignersError::Unusable(e.to_string()))?;
        let cert_sha = sha256_hex(&cert_der);
        let chain_pem: String = chain.0.iter().filter_map(|c| c.to_pem(der::pem::LineEnding::LF).ok()).collect();
        let subject = certinfo::subject_common_name(&signer);
        let mut tx = store.db.write().await?;
        let keystore_id = if let Some((id, nonce, ciphertext)) = &sealed {
            sqlx::query("DELETE FROM stored_keys WHERE user_id = $1").bind(&person.id).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO stored_keys (id, user_id, nonce, ciphertext, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(&person.id)
                .bind(nonce)
                .bind(ciphertext)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            Some(id.clone())
        } else {
            None
        };
        let object = keystore_id.clone().unwrap_or(object);
        let source_name = if keystore_id.is_some() { "keystore".to_string() } else { source_name };
        sqlx::query("DELETE FROM signer_keys WHERE user_id = $1").bind(&person.id).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO signer_keys (user_id, source, source_name, object, cert_sha256, cert_pem, subject, identity, override_reason, assigned_by, assigned_at, proven_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&person.id)
        .bind(kind)
        .bind(&source_name)
        .bind(&object)
        .bind(&cert_sha)
        .bind(&chain_pem)
        .bind(&subject)
        .bind(identity)
        .bind(&override_reason)
        .bind(actor.name())
        .bind(now)
        .bind(proven)
        .execute(&mut *tx)
        .await?;
        let mut detail = serde_json::json!({"user": username, "source": kind, "name": source_name, "object": object, "certificate_sha256": cert_sha, "subject": subject, "identity": identity});
        if let (Some(why), Some(reason)) = (&mismatch, &override_reason) {
            detail["mismatch"] = why.clone().into();
            detail["override_reason"] = reason.clone().into();
        }
        kyso_org::record(
            &mut tx,
            actor,
            if identity == "override" { "key_assigned_with_override" } else { "key_assigned" },
            None,
            person.memberships.first().map(|m| m.0.as_str()),
            detail,
        )
        .await?;
        tx.commit().await?;
        self.forget(&person.id);
        self.info(store, &person.id).await?.ok_or(SignersError::NoKey)
    }

    /// Encrypts a software key for the store; the chain is ordered signer first.
    fn keystore_entry(&self, user_id: &str, der: Vec<u8>, mut chain: Vec<Certificate>) -> Result<Prepared> {
        let kek = self.kek.as_ref().ok_or(SignersError::NoKeystore)?;
        let key = SoftwareKey::from_pkcs8(&der, None).map_err(|e| SignersError::Unusable(e.to_string()))?;
        let spki = key.public_key_der().map_err(|e| SignersError::Unusable(e.to_string()))?;
        let at = chain
            .iter()
            .position(|c| c.tbs_certificate().subject_public_key_info().to_der().ok().as_deref() == Some(spki.as_slice()))
            .ok_or_else(|| SignersError::Unusable("the key does not belong to any certificate given with it".into()))?;
        let signer = chain.remove(at);
        chain.insert(0, signer);
        let id = new_id();
        let (nonce, ciphertext) = keystore::seal(kek, &id, user_id, &der)?;
        let chain = CertChain::new(chain).map_err(|e| SignersError::Unusable(e.to_string()))?;
        Ok(((Arc::new(key), chain, false), "keystore".into(), id.clone(), Some((id, nonce, ciphertext))))
    }

    /// The key registered for a person, if any.
    pub async fn info(&self, store: &Store, user_id: &str) -> Result<Option<KeyInfo>> {
        let row = sqlx::query(
            "SELECT source, source_name, object, cert_sha256, cert_pem, identity, override_reason, assigned_by, assigned_at, proven_at FROM signer_keys WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(&store.db.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let pem: String = r.try_get(4)?;
        let cert = certinfo::parse_certificates(pem.as_bytes()).ok().and_then(|c| c.into_iter().next());
        let (subject, issuer, serial, not_before, not_after) = match &cert {
            Some(c) => {
                let tbs = c.tbs_certificate();
                (
                    certinfo::subject_common_name(c),
                    tbs.issuer().to_string(),
                    tbs.serial_number().to_string(),
                    tbs.validity().not_before.to_string(),
                    tbs.validity().not_after.to_string(),
                )
            }
            None => Default::default(),
        };
        let source: String = r.try_get(0)?;
        Ok(Some(KeyInfo {
            remote: source == "provider",
            source,
            source_name: r.try_get(1)?,
            object: r.try_get(2)?,
            subject,
            issuer,
            serial,
            not_before,
            not_after,
            cert_sha256: r.try_get(3)?,
            identity: r.try_get(5)?,
            override_reason: r.try_get(6)?,
            assigned_by: r.try_get(7)?,
            assigned_at: r.try_get(8)?,
            confirmed: r.try_get::<Option<i64>, _>(9)?.is_some(),
        }))
    }

    /// Checks that the person has a key that may sign now (registered and confirmed), without
    /// opening it; returns whether it is remote (a signature may wait for a phone).
    pub async fn require_ready(&self, store: &Store, user_id: &str) -> Result<bool> {
        let row = sqlx::query("SELECT source, proven_at FROM signer_keys WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&store.db.pool)
            .await?
            .ok_or(SignersError::NoKey)?;
        if row.try_get::<Option<i64>, _>(1)?.is_none() {
            return Err(SignersError::NotConfirmed);
        }
        Ok(row.try_get::<String, _>(0)? == "provider")
    }

    /// Whether the person's key is a remote provider's (a signature may wait for a phone).
    pub async fn is_remote(&self, store: &Store, user_id: &str) -> Result<bool> {
        if let Some(k) = self.opened.lock().expect("key cache lock").get(user_id) {
            return Ok(k.remote);
        }
        let source: Option<String> = sqlx::query("SELECT source FROM signer_keys WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&store.db.pool)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        Ok(source.as_deref() == Some("provider"))
    }

    /// The person's key, opened and checked: confirmed, and presenting the certificate registered
    /// for them. Local keys are opened once per process; remote ones at every call.
    pub async fn open_for(self: &Arc<Self>, store: &Store, user_id: &str) -> Result<Arc<SignerKey>> {
        if let Some(k) = self.opened.lock().expect("key cache lock").get(user_id) {
            return Ok(k.clone());
        }
        let key = self.open_registered(store, user_id, true).await?;
        // A remote provider's certificate is asked for at every signature (the provider may have
        // replaced it); local keys are checked each time they are opened.
        if !key.remote {
            self.opened.lock().expect("key cache lock").insert(user_id.to_string(), key.clone());
        }
        Ok(key)
    }

    async fn open_registered(self: &Arc<Self>, store: &Store, user_id: &str, require_confirmed: bool) -> Result<Arc<SignerKey>> {
        let row = sqlx::query(
            "SELECT source, source_name, object, cert_sha256, cert_pem, override_reason, proven_at FROM signer_keys WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(&store.db.pool)
        .await?
        .ok_or(SignersError::NoKey)?;
        let (source, name, object, registered, pem): (String, String, String, String, String) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?, row.try_get(4)?);
        let note: Option<String> = row.try_get(5)?;
        if require_confirmed && row.try_get::<Option<i64>, _>(6)?.is_none() {
            return Err(SignersError::NotConfirmed);
        }
        let (key, chain, remote) = if source == "keystore" {
            let stored = sqlx::query("SELECT nonce, ciphertext FROM stored_keys WHERE id = $1 AND user_id = $2")
                .bind(&object)
                .bind(user_id)
                .fetch_optional(&store.db.pool)
                .await?
                .ok_or(SignersError::KeystoreCorrupt)?;
            let kek = self.kek.as_ref().ok_or(SignersError::NoKeystore)?;
            let der = keystore::open(kek, &object, user_id, &stored.try_get::<String, _>(0)?, &stored.try_get::<String, _>(1)?)?;
            let key = SoftwareKey::from_pkcs8(&der, None).map_err(|e| SignersError::Unusable(e.to_string()))?;
            let chain = CertChain::new(certinfo::parse_certificates(pem.as_bytes()).map_err(|e| SignersError::Unusable(e.to_string()))?)
                .map_err(|e| SignersError::Unusable(e.to_string()))?;
            (Arc::new(key) as Arc<dyn SigningKey>, chain, false)
        } else {
            let this = self.clone();
            tokio::task::spawn_blocking(move || this.open_external(&source, &name, &object))
                .await
                .map_err(|e| SignersError::Unusable(format!("opening the key stopped: {e}")))??
        };
        let found = sha256_hex(&chain.signer().to_der().map_err(|e| SignersError::Unusable(e.to_string()))?);
        if found != registered {
            return Err(SignersError::CertificateReplaced { registered: registered[..16].to_string(), found: found[..16].to_string() });
        }
        let mut signer = SignerKey::new(key, chain, remote).map_err(|e| SignersError::Unusable(e.to_string()))?;
        signer.identity_note = note;
        Ok(Arc::new(signer))
    }

    /// The holder of a remote key confirms it: the provider signs a challenge (one confirmation
    /// on the phone), checked against the registered certificate. Blocks until the provider
    /// answers; run it as an operation.
    pub async fn confirm(self: &Arc<Self>, store: &Store, actor: &Actor) -> Result<KeyInfo> {
        let me = actor.require_user()?.to_string();
        let key = self.open_registered(store, &me, false).await?;
        let (k, cert) = (key.key.clone(), key.chain.signer().clone());
        tokio::task::spawn_blocking(move || prove(k.as_ref(), &cert)).await.map_err(|e| SignersError::ProofFailed(e.to_string()))??;
        let mut tx = store.db.write().await?;
        sqlx::query("UPDATE signer_keys SET proven_at = $1 WHERE user_id = $2").bind(tx.now()).bind(&me).execute(&mut *tx).await?;
        kyso_org::record(
            &mut tx,
            actor,
            "key_confirmed",
            None,
            actor.home_org(),
            serde_json::json!({"subject": certinfo::subject_common_name(key.chain.signer())}),
        )
        .await?;
        tx.commit().await?;
        self.forget(&me);
        self.info(store, &me).await?.ok_or(SignersError::NoKey)
    }

    /// Drops a cached key (after its assignment changed, or a signing failure that may mean the
    /// token went away).
    pub fn forget(&self, user_id: &str) {
        self.opened.lock().expect("key cache lock").remove(user_id);
    }
}

/// Signs a random challenge with `key` and checks it against `cert`'s public key.
fn prove(key: &dyn SigningKey, cert: &Certificate) -> Result<()> {
    let mut challenge = [0u8; 32];
    getrandom::fill(&mut challenge).expect("the system random source works");
    let digest = DigestAlgorithm::Sha256.digest(&challenge);
    let alg =
        SignatureAlgorithm::choose(key.kind(), DigestAlgorithm::Sha256, false).map_err(|e| SignersError::ProofFailed(e.to_string()))?;
    let signature = key.sign_digest(alg, &digest).map_err(|e| SignersError::ProofFailed(e.to_string()))?;
    let spki = cert.tbs_certificate().subject_public_key_info().to_der().map_err(|e| SignersError::ProofFailed(e.to_string()))?;
    kyso_keys::verify_digest(&spki, alg, &digest, &signature).map_err(|_| {
        SignersError::ProofFailed(
            "the key's signature does not verify with the certificate's public key: they do not belong together".into(),
        )
    })
}

#[allow(unused_imports)]
use Decode as _;
