//! `kyso.toml`: the key backends a deployment offers. Secrets are never written in the file: each
//! is named by the environment variable that holds it (`*_env`), and checked at load.
//!
//! ```toml
//! [hsm.school]                # --key hsm:school/<object label>
//! module = "/usr/lib/softhsm/libsofthsm2.so"
//! token = "Kyso"
//! pin_env = "KYSO_HSM_PIN"
//!
//! [provider.vnpt]
//! kind = "vnpt-smartca"
//! url = "https://gwsca.vnpt.vn"
//! sp_id = "SP123"
//! sp_password_env = "KYSO_VNPT_SP_PASSWORD"
//!
//! [provider.viettel]
//! kind = "viettel-mysign"
//! url = "https://remotesigning.viettel.vn"
//! client_id = "..."
//! client_secret_env = "KYSO_VIETTEL_SECRET"
//! profile_id = "..."
//!
//! [provider.misa]
//! kind = "misa-esign"
//! url = "https://esign.misa.vn/api"
//! client_id = "..."
//! client_key_env = "KYSO_MISA_KEY"
//! password_env = "KYSO_MISA_PASSWORD"
//!
//! [provider.ca]
//! kind = "csc-v1"
//! url = "https://ca.example/csc/v1"
//! token_env = "KYSO_CSC_TOKEN"
//!
//! [keystore]                # software keys uploaded as PKCS#12, kept encrypted by the server
//! kek_env = "KYSO_KEK"       # 32 bytes as 64 hexadecimal digits: the key-encryption key
//!
//! [provider.ca2]
//! kind = "csc-v2"
//! url = "https://ca.example/csc/v2"
//! token_env = "KYSO_CSC_TOKEN"
//! asynchronous = true        # operationMode "A" + signatures/signPolling
//! ```
//! A key is then `csc:<provider>/<credential>`: for VNPT the signer's citizen ID (optionally
//! `ID:SERIAL`), for Viettel `USER_ID/CREDENTIAL_ID`, for MISA the user name (optionally
//! `USER:CERT_ID`), for CSC the credential ID.

use anyhow::{Context, Result, anyhow, bail};
use kyso_keys::SigningKey;
use kyso_keys_remote::providers::{MisaESign, ViettelMySign, VnptSmartCa};
use kyso_keys_remote::{CscClient, CscKey, PhoneKey, Polling};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub provider: BTreeMap<String, Provider>,
    #[serde(default)]
    pub hsm: BTreeMap<String, Hsm>,
    /// The server's own encrypted store for uploaded software keys.
    pub keystore: Option<Keystore>,
}

/// Where the key-encryption key of the server's key store comes from: an environment variable
/// holding 32 bytes as 64 hexadecimal digits. The database never holds it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keystore {
    pub kek_env: String,
}

impl Keystore {
    /// The key-encryption key, read from its environment variable.
    pub fn key(&self) -> Result<[u8; 32]> {
        let hex = std::env::var(&self.kek_env)
            .map_err(|_| anyhow!("kyso.toml: keystore: the environment variable {} (the key-encryption key) is not set", self.kek_env))?;
        parse_kek(&hex).ok_or_else(|| anyhow!("kyso.toml: keystore: {} must hold 32 bytes as 64 hexadecimal digits", self.kek_env))
    }
}

/// 32 bytes from 64 hexadecimal digits.
pub fn parse_kek(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// A PKCS#11 token: `--key hsm:NAME/OBJECT_LABEL`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hsm {
    /// The PKCS#11 module (`.so`).
    pub module: String,
    /// Token label.
    pub token: String,
    /// Environment variable holding the user PIN.
    pub pin_env: String,
    /// Certificates (PEM) of the CAs above the token's certificates, added to every signature.
    #[serde(default)]
    pub chain: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Provider {
    CscV1 {
        url: String,
        token_env: Option<String>,
        #[serde(default)]
        timeout_secs: Option<u64>,
    },
    CscV2 {
        url: String,
        token_env: Option<String>,
        /// Ask for `operationMode: "A"` and poll `signatures/signPolling`.
        #[serde(default)]
        asynchronous: bool,
        #[serde(flatten)]
        polling: PollingConfig,
    },
    VnptSmartca {
        url: String,
        sp_id: String,
        sp_password_env: String,
        #[serde(flatten)]
        polling: PollingConfig,
    },
    ViettelMysign {
        url: String,
        client_id: String,
        client_secret_env: String,
        profile_id: String,
        #[serde(flatten)]
        polling: PollingConfig,
    },
    MisaEsign {
        url: String,
        client_id: String,
        client_key_env: String,
        password_env: String,
        #[serde(flatten)]
        polling: PollingConfig,
    },
}

#[derive(Deserialize, Default)]
pub struct PollingConfig {
    /// First wait between polls, in milliseconds (default 2,000; it grows 1.5× up to 10 s).
    poll_interval_ms: Option<u64>,
    /// Give up after this many seconds without an answer (default 300).
    poll_deadline_secs: Option<u64>,
    timeout_secs: Option<u64>,
}

impl PollingConfig {
    fn polling(&self) -> Polling {
        let d = Polling::default();
        let first = self.poll_interval_ms.map(Duration::from_millis).unwrap_or(d.first_interval);
        Polling {
            first_interval: first,
            max_interval: d.max_interval.max(first),
            deadline: self.poll_deadline_secs.map(Duration::from_secs).unwrap_or(d.deadline),
        }
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.unwrap_or(60))
    }
}

fn secret(provider: &str, var: &str) -> Result<String> {
    std::env::var(var).map_err(|_| anyhow!("kyso.toml: provider \"{provider}\": the environment variable {var} (its secret) is not set"))
}

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the configuration {}", path.display()))?;
        let config: Config = toml::from_str(&text).map_err(|e| anyhow!("{}: {}", path.display(), e.to_string().trim()))?;
        // Check every secret and module now, not at the first signature.
        for (name, h) in &config.hsm {
            secret(name, &h.pin_env)?;
            if !Path::new(&h.module).exists() {
                bail!("kyso.toml: hsm \"{name}\": the PKCS#11 module {} does not exist", h.module);
            }
        }
        if let Some(k) = &config.keystore {
            k.key()?;
        }
        for (name, p) in &config.provider {
            let vars: Vec<&String> = match p {
                Provider::CscV1 { token_env, .. } | Provider::CscV2 { token_env, .. } => token_env.iter().collect(),
                Provider::VnptSmartca { sp_password_env, .. } => vec![sp_password_env],
                Provider::ViettelMysign { client_secret_env, .. } => vec![client_secret_env],
                Provider::MisaEsign { client_key_env, password_env, .. } => vec![client_key_env, password_env],
            };
            for v in vars {
                secret(name, v)?;
            }
        }
        Ok(config)
    }

    /// Opens `credential` at provider `name`: the key and the certificates the provider holds.
    pub fn open(&self, name: &str, credential: &str, pin: Option<String>) -> Result<OpenedKey> {
        let p = self.provider.get(name).ok_or_else(|| {
            anyhow!("no provider \"{name}\" in kyso.toml (configured: {})", self.provider.keys().cloned().collect::<Vec<_>>().join(", "))
        })?;
        let description = "Kyso";
        Ok(match p {
            Provider::CscV1 { url, token_env, timeout_secs } => {
                let token = token_env.as_deref().map(|v| secret(name, v)).transpose()?;
                let client = CscClient::new(url, token, Duration::from_secs(timeout_secs.unwrap_or(120)))?;
                let key = CscKey::new(client, credential, pin, std::env::var("KYSO_CSC_OTP").ok())?;
                let certs = key.credential().certificates.clone();
                (Box::new(key), certs)
            }
            Provider::CscV2 { url, token_env, asynchronous, polling } => {
                let token = token_env.as_deref().map(|v| secret(name, v)).transpose()?;
                let (provider, info) = kyso_keys_remote::csc2::Csc2::open(url, token, credential, pin, *asynchronous, polling.timeout())?;
                (Box::new(PhoneKey::new(provider, info.kind, info.certificates.clone(), polling.polling(), description)), info.certificates)
            }
            Provider::VnptSmartca { url, sp_id, sp_password_env, polling } => {
                let (user, serial) = split(credential, ':');
                let provider = VnptSmartCa::new(url, sp_id.clone(), secret(name, sp_password_env)?, user, serial, polling.timeout())?;
                let certs = provider.certificates()?;
                let kind = kyso_keys::KeyKind::from_certificate_der(&certs[0])?;
                (Box::new(PhoneKey::new(provider, kind, certs.clone(), polling.polling(), description)), certs)
            }
            Provider::ViettelMysign { url, client_id, client_secret_env, profile_id, polling } => {
                let (user, cred) = split(credential, '/');
                let cred = cred.ok_or_else(|| anyhow!("a Viettel MySign key is csc:{name}/USER_ID/CREDENTIAL_ID"))?;
                let provider = ViettelMySign::new(
                    url,
                    client_id.clone(),
                    secret(name, client_secret_env)?,
                    profile_id.clone(),
                    user,
                    cred,
                    polling.timeout(),
                )?;
                let certs = provider.certificates()?;
                let kind = kyso_keys::KeyKind::from_certificate_der(
                    certs.first().ok_or_else(|| anyhow!("Viettel MySign returned no certificate"))?,
                )?;
                (Box::new(PhoneKey::new(provider, kind, certs.clone(), polling.polling(), description)), certs)
            }
            Provider::MisaEsign { url, client_id, client_key_env, password_env, polling } => {
                let (user, cert_id) = split(credential, ':');
                let provider = MisaESign::new(
                    url,
                    client_id.clone(),
                    secret(name, client_key_env)?,
                    user,
                    secret(name, password_env)?,
                    cert_id,
                    polling.timeout(),
                )?;
                let certs = provider.certificates()?;
                let kind = kyso_keys::KeyKind::from_certificate_der(&certs[0])?;
                (Box::new(PhoneKey::new(provider, kind, certs.clone(), polling.polling(), description)), certs)
            }
        })
    }
}

impl Config {
    /// The `pkcs11:` URI and PIN for `hsm:NAME/OBJECT`.
    pub fn hsm_key(&self, name: &str, object: &str) -> Result<(kyso_keys_pkcs11::Pkcs11Uri, String)> {
        let h = self.hsm.get(name).ok_or_else(|| {
            anyhow!("no hsm \"{name}\" in kyso.toml (configured: {})", self.hsm.keys().cloned().collect::<Vec<_>>().join(", "))
        })?;
        let uri = kyso_keys_pkcs11::Pkcs11Uri {
            token: Some(h.token.clone()),
            object: Some(object.to_string()),
            module_path: Some(h.module.clone()),
            ..Default::default()
        };
        Ok((uri, secret(name, &h.pin_env)?))
    }
}

/// A key and the DER certificates its provider holds (signer first).
pub type OpenedKey = (Box<dyn SigningKey>, Vec<Vec<u8>>);

fn split(s: &str, sep: char) -> (String, Option<String>) {
    match s.split_once(sep) {
        Some((a, b)) => (a.to_string(), Some(b.to_string())),
        None => (s.to_string(), None),
    }
}

/// The configuration named by --config or KYSO_CONFIG, else `kyso.toml` in the working folder.
pub fn find(explicit: Option<&Path>) -> Result<Config> {
    let path = config_path(explicit);
    if !path.exists() {
        bail!("no configuration at {} (give --config or KYSO_CONFIG) to resolve provider names", path.display());
    }
    Config::load(&path)
}

/// Where the configuration is looked for: --config, KYSO_CONFIG, else `kyso.toml` here.
pub fn config_path(explicit: Option<&Path>) -> std::path::PathBuf {
    explicit.map(Path::to_path_buf).or_else(|| std::env::var_os("KYSO_CONFIG").map(Into::into)).unwrap_or_else(|| "kyso.toml".into())
}

/// `kyso keys list --config`: each provider, and for CSC services their credentials with the
/// signer, key type and algorithms. Confirm-on-phone providers hold one credential per person,
/// named at signing time.
pub fn load_and_describe(path: &Path) -> Result<()> {
    use std::io::Write;
    let config = Config::load(path)?;
    let mut out = std::io::stdout().lock();
    for (name, p) in &config.provider {
        match p {
            Provider::CscV1 { url, token_env, timeout_secs } => {
                let token = token_env.as_deref().map(|v| secret(name, v)).transpose()?;
                let client = CscClient::new(url, token, Duration::from_secs(timeout_secs.unwrap_or(30)))?;
                for id in client.list_credentials()? {
                    match client.credential(&id) {
                        Ok(c) => {
                            let subject = c
                                .certificates
                                .first()
                                .and_then(|d| kyso_pades::certinfo::parse_certificates(d).ok())
                                .map(|certs| kyso_pades::certinfo::subject_common_name(&certs[0]))
                                .unwrap_or_default();
                            writeln!(
                                out,
                                "csc:{name}/{id}\t{subject}\t{}\tmultisign {}\tSCAL {}\t{}",
                                c.kind.describe(),
                                c.multisign,
                                c.scal,
                                c.algorithms.join(",")
                            )?;
                        }
                        Err(e) => writeln!(out, "csc:{name}/{id}\tunavailable: {e}")?,
                    }
                }
            }
            Provider::CscV2 { url, .. } => writeln!(out, "csc:{name}/CREDENTIAL\tCSC v2 at {url}")?,
            Provider::VnptSmartca { url, .. } => writeln!(out, "csc:{name}/CITIZEN_ID[:SERIAL]\tVNPT SmartCA at {url}")?,
            Provider::ViettelMysign { url, .. } => writeln!(out, "csc:{name}/USER_ID/CREDENTIAL_ID\tViettel MySign at {url}")?,
            Provider::MisaEsign { url, .. } => writeln!(out, "csc:{name}/USER[:CERT_ID]\tMISA eSign at {url}")?,
        }
    }
    for (name, h) in &config.hsm {
        let ctx = kyso_keys_pkcs11::load_module(&h.module)?;
        for o in kyso_keys_pkcs11::list_objects(&ctx, Some(secret(name, &h.pin_env)?))?.into_iter().filter(|o| o.token == h.token) {
            writeln!(out, "hsm:{name}/{}\t{}\tid {}", o.label, o.class, o.id_hex)?;
        }
    }
    Ok(())
}
