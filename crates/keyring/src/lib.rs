//! Opening key references: the one place that turns what a user or a deployment names (a key
//! file, a PKCS#12 file, an RFC 7512 token URI, an `hsm:` or `csc:` reference from `kyso.toml`)
//! into a [`SigningKey`] and its certificate chain. The CLI and the server share it.
//!
//! Errors are `anyhow` here on purpose: this is configuration at the edge, where the message
//! (which file, which variable) matters more than the type; the crates below keep typed errors.

#![forbid(unsafe_code)]

pub mod config;

use anyhow::{Context, Result, anyhow, bail};
use der::Encode;
use kyso_keys::{SigningKey, SoftwareKey};
use kyso_pades::{CertChain, certinfo};
use std::path::PathBuf;

/// What names a signer's key and certificates.
#[derive(Clone, Debug, Default)]
pub struct KeySpec {
    /// A key file (PKCS#8 or PKCS#12), `pkcs11:...`, `hsm:NAME/OBJECT` or `csc:...`.
    pub key: String,
    pub cert: Option<PathBuf>,
    pub chain: Option<PathBuf>,
    /// The key file's password or the token PIN.
    pub key_password: Option<String>,
    /// `kyso.toml`, for `hsm:` and `csc:PROVIDER/...` references.
    pub config: Option<PathBuf>,
}

/// Opens the key a [`KeySpec`] names and assembles its certificate chain, signer first. The
/// signer's certificate must be valid at `now` (Unix seconds).
pub fn load_key(args: &KeySpec, now: u64) -> Result<(Box<dyn SigningKey>, CertChain)> {
    let mut certs = Vec::new();
    let key_ref = args.key.clone();
    // The public key, when we know it without signing: to pick the signer among certificates.
    let (key, spki): (Box<dyn SigningKey>, Option<Vec<u8>>) = if let Some(csc) = key_ref.strip_prefix("csc:") {
        let (key, der_certs): config::OpenedKey = if csc.contains("://") {
            let key = open_csc(csc, args.key_password.clone())?;
            let certs = key.credential().certificates.clone();
            (Box::new(key), certs)
        } else {
            let (provider, credential) =
                csc.split_once('/').ok_or_else(|| anyhow!("a provider key looks like csc:PROVIDER/CREDENTIAL, not csc:{csc}"))?;
            config::find(args.config.as_deref())?.open(provider, credential, args.key_password.clone())?
        };
        for der in &der_certs {
            certs.extend(certinfo::parse_certificates(der)?);
        }
        (key, None)
    } else if let Some(hsm) = key_ref.strip_prefix("hsm:") {
        let (name, object) = hsm.split_once('/').ok_or_else(|| anyhow!("an HSM key looks like hsm:NAME/OBJECT, not {key_ref}"))?;
        let (uri, pin) = config::find(args.config.as_deref())?.hsm_key(name, object)?;
        let ctx = kyso_keys_pkcs11::load_module(uri.module_path.as_deref().unwrap_or_default())?;
        let key = kyso_keys_pkcs11::Pkcs11Key::open(ctx, &uri, Some(pin))?;
        if let Some(der) = key.certificate() {
            certs.extend(certinfo::parse_certificates(der)?);
        }
        (Box::new(key), None)
    } else if key_ref.starts_with("pkcs11:") {
        let (key, token_cert) = open_pkcs11(&key_ref, args.key_password.clone())?;
        if let Some(der) = token_cert {
            certs.extend(certinfo::parse_certificates(&der)?);
        }
        (Box::new(key), None)
    } else {
        let key_bytes = std::fs::read(&args.key).with_context(|| format!("cannot read the key file {}", args.key))?;
        let key = if looks_like_pkcs12(&key_bytes) {
            let password = args
                .key_password
                .as_deref()
                .ok_or_else(|| anyhow!("{} is a PKCS#12 file: give its password with --key-password or KYSO_KEY_PASSWORD", args.key))?;
            let (key, der_certs) = SoftwareKey::from_pkcs12(&key_bytes, password).with_context(|| format!("key file {}", args.key))?;
            for der in der_certs {
                certs.extend(certinfo::parse_certificates(&der)?);
            }
            key
        } else {
            SoftwareKey::from_pkcs8(&key_bytes, args.key_password.as_deref()).with_context(|| format!("key file {}", args.key))?
        };
        let spki = key.public_key_der()?;
        (Box::new(key), Some(spki))
    };
    if let Some(cert) = &args.cert {
        let cert_bytes = std::fs::read(cert).with_context(|| format!("cannot read the certificate file {}", cert.display()))?;
        // An explicit certificate comes first: it names the signer.
        let mut given = certinfo::parse_certificates(&cert_bytes).with_context(|| format!("certificate file {}", cert.display()))?;
        given.append(&mut certs);
        certs = given;
    }
    if let Some(chain) = &args.chain {
        let bytes = std::fs::read(chain).with_context(|| format!("cannot read the chain file {}", chain.display()))?;
        certs.extend(certinfo::parse_certificates(&bytes).with_context(|| format!("chain file {}", chain.display()))?);
    }
    if certs.is_empty() {
        bail!("no signer certificate: give --cert (the token or key file holds none)");
    }
    // The signer is the certificate whose public key is the key's; the others form the chain.
    // For token keys the first certificate is taken, and the signature check before embedding
    // catches a mismatch.
    let at = match &spki {
        Some(spki) => certs
            .iter()
            .position(|c| c.tbs_certificate().subject_public_key_info().to_der().ok().as_deref() == Some(spki.as_slice()))
            .ok_or_else(|| {
                anyhow!("the private key does not belong to any given certificate (--cert, or the certificates in the PKCS#12 file)")
            })?,
        None => 0,
    };
    let signer = certs.remove(at);
    certs.insert(0, signer);
    certs.dedup();
    let chain = CertChain::new(certs)?;
    certinfo::check_validity_at(chain.signer(), now)?;
    Ok((key, chain))
}

/// A CSC credential: `csc:BASE_URL#CREDENTIAL_ID`, e.g.
/// `csc:https://ca.example/csc/v1#kyso/teacher-rsa`. The bearer token comes from KYSO_CSC_TOKEN,
/// the PIN from --key-password / KYSO_KEY_PASSWORD, an OTP from KYSO_CSC_OTP.
fn open_csc(reference: &str, pin: Option<String>) -> Result<kyso_keys_remote::CscKey> {
    let (base, credential) = reference
        .split_once('#')
        .ok_or_else(|| anyhow!("a CSC key looks like csc:https://host/csc/v1#CREDENTIAL_ID, not csc:{reference}"))?;
    let timeout = std::env::var("KYSO_CSC_TIMEOUT_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(120);
    let client = kyso_keys_remote::CscClient::new(base, std::env::var("KYSO_CSC_TOKEN").ok(), std::time::Duration::from_secs(timeout))?;
    Ok(kyso_keys_remote::CscKey::new(client, credential, pin, std::env::var("KYSO_CSC_OTP").ok())?)
}

/// The PKCS#11 module: the URI's module-path, else KYSO_PKCS11_MODULE, else SoftHSM2's.
pub fn pkcs11_module(uri: &kyso_keys_pkcs11::Pkcs11Uri) -> String {
    uri.module_path.clone().or_else(|| std::env::var("KYSO_PKCS11_MODULE").ok()).unwrap_or_else(|| "/usr/lib/softhsm/libsofthsm2.so".into())
}

/// Opens a token key. The PIN comes from the URI (pin-value or pin-source), else --key-password /
/// KYSO_KEY_PASSWORD, else KYSO_PKCS11_PIN.
fn open_pkcs11(key_ref: &str, password: Option<String>) -> Result<(kyso_keys_pkcs11::Pkcs11Key, Option<Vec<u8>>)> {
    let uri: kyso_keys_pkcs11::Pkcs11Uri = key_ref.parse()?;
    let pin = match (&uri.pin_value, &uri.pin_source) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(file)) => {
            Some(std::fs::read_to_string(file).with_context(|| format!("cannot read the PIN file {file}"))?.trim_end().to_string())
        }
        (None, None) => password.or_else(|| std::env::var("KYSO_PKCS11_PIN").ok()),
    };
    let ctx = kyso_keys_pkcs11::load_module(&pkcs11_module(&uri))?;
    let key = kyso_keys_pkcs11::Pkcs11Key::open(ctx, &uri, pin)?;
    let cert = key.certificate().map(<[u8]>::to_vec);
    Ok((key, cert))
}

/// PKCS#12 is DER (a SEQUENCE starting with INTEGER 3); PKCS#8 is PEM or a SEQUENCE starting
/// with INTEGER 0 (or an encrypted-key SEQUENCE).
fn looks_like_pkcs12(bytes: &[u8]) -> bool {
    use der::{Decode, Tagged};
    #[derive(der::Sequence)]
    struct Head {
        version: u8,
        rest: der::asn1::Any,
        #[asn1(optional = "true")]
        mac: Option<der::asn1::Any>,
    }
    !bytes.starts_with(b"-----") && Head::from_der(bytes).is_ok_and(|h| h.version == 3 && h.rest.tag() == der::Tag::Sequence)
}
