//! `kyso-keys-pkcs11`: keys in HSMs and USB tokens through PKCS#11 (`cryptoki`), behind
//! `kyso_keys::SigningKey`. Keys and certificates are named by RFC 7512 `pkcs11:` URIs.
//!
//! Sessions are pooled so concurrent signatures do not queue on one; a session the token
//! invalidated (removed, closed, re-plugged) is dropped and the operation retried once on a fresh
//! one. The PIN is kept as a secret string and never printed: this type has no `Debug`.
#![forbid(unsafe_code)]

mod uri;

pub use uri::Pkcs11Uri;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, CertificateType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use kyso_keys::{DigestAlgorithm, KeyError, KeyKind, Scheme, SignatureAlgorithm, SigningKey};
use std::sync::{Arc, Mutex};

/// How many times a sign operation is retried on a fresh session after the token dropped one.
const RETRIES: usize = 1;

/// A private key on a PKCS#11 token.
pub struct Pkcs11Key {
    ctx: Arc<Pkcs11>,
    slot: Slot,
    /// Template that finds the private key (class + label and/or id).
    key_template: Vec<Attribute>,
    pin: Option<AuthPin>,
    kind: KeyKind,
    certificate: Option<Vec<u8>>,
    pool: Mutex<Vec<Session>>,
}

/// Opens the module, initialising it once per process.
pub fn load_module(path: &str) -> Result<Arc<Pkcs11>, KeyError> {
    let ctx = Pkcs11::new(path).map_err(|e| KeyError::Backend(format!("cannot load the PKCS#11 module {path}: {e}")))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(Arc::new(ctx)),
        Err(e) => Err(KeyError::Backend(format!("cannot initialise the PKCS#11 module {path}: {e}"))),
    }
}

fn backend(what: &str, e: CkError) -> KeyError {
    match e {
        CkError::Pkcs11(RvError::PinIncorrect, _) => KeyError::WrongPin,
        CkError::Pkcs11(RvError::PinLocked, _) => KeyError::Backend("the token's PIN is locked".into()),
        other => KeyError::Backend(format!("{what}: {other}")),
    }
}

/// True for errors after which a fresh session may succeed.
fn session_lost(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::DeviceRemoved
                | RvError::DeviceError
                | RvError::TokenNotPresent
                | RvError::UserNotLoggedIn
                // The key vanished from this session's view: its login was lost.
                | RvError::KeyHandleInvalid,
            _
        )
    )
}

/// Finds the slot whose token matches the URI (by label or serial; the first token otherwise).
pub fn find_slot(ctx: &Pkcs11, uri: &Pkcs11Uri) -> Result<Slot, KeyError> {
    let slots = ctx.get_slots_with_token().map_err(|e| backend("cannot list PKCS#11 slots", e))?;
    for slot in &slots {
        let info = ctx.get_token_info(*slot).map_err(|e| backend("cannot read token information", e))?;
        if !info.token_initialized() {
            continue;
        }
        let label_ok = uri.token.as_deref().is_none_or(|t| info.label().trim_end() == t);
        let serial_ok = uri.serial.as_deref().is_none_or(|s| info.serial_number().trim_end() == s);
        if label_ok && serial_ok {
            return Ok(*slot);
        }
    }
    Err(KeyError::Backend(match &uri.token {
        Some(t) => format!("no PKCS#11 token labelled \"{t}\""),
        None => "no PKCS#11 token present".into(),
    }))
}

impl Pkcs11Key {
    /// Opens the key the URI names, logging in with its PIN, and reads its certificate (same
    /// label or id) when the token holds one.
    pub fn open(ctx: Arc<Pkcs11>, uri: &Pkcs11Uri, pin: Option<String>) -> Result<Self, KeyError> {
        if uri.object.is_none() && uri.id.is_none() {
            return Err(KeyError::Load("the pkcs11: URI names no key (give object= or id=)".into()));
        }
        let slot = find_slot(&ctx, uri)?;
        let mut select = Vec::new();
        if let Some(label) = &uri.object {
            select.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = &uri.id {
            select.push(Attribute::Id(id.clone()));
        }
        let mut key_template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
        key_template.extend(select.iter().cloned());
        let pin = pin.map(AuthPin::from);
        let session = open_session(&ctx, slot, pin.as_ref())?;
        let key = find_one(&session, &key_template)?;
        let kind = key_kind(&session, key)?;
        let mut cert_template = vec![Attribute::Class(ObjectClass::CERTIFICATE), Attribute::CertificateType(CertificateType::X_509)];
        cert_template.extend(select);
        let certificate = match session.find_objects(&cert_template) {
            Ok(found) => match found.first() {
                Some(c) => session.get_attributes(*c, &[AttributeType::Value]).ok().and_then(|attrs| {
                    attrs.into_iter().find_map(|a| match a {
                        Attribute::Value(v) => Some(v),
                        _ => None,
                    })
                }),
                None => None,
            },
            Err(_) => None,
        };
        Ok(Self { ctx, slot, key_template, pin, kind, certificate, pool: Mutex::new(vec![session]) })
    }

    /// The token's slot, for callers that manage sessions themselves.
    pub fn slot(&self) -> Slot {
        self.slot
    }

    /// The certificate stored beside the key on the token (DER), if any.
    pub fn certificate(&self) -> Option<&[u8]> {
        self.certificate.as_deref()
    }

    fn take_session(&self) -> Result<Session, KeyError> {
        if let Some(s) = self.pool.lock().map_err(|_| KeyError::Backend("session pool poisoned".into()))?.pop() {
            return Ok(s);
        }
        open_session(&self.ctx, self.slot, self.pin.as_ref())
    }

    fn give_back(&self, session: Session) {
        if let Ok(mut pool) = self.pool.lock() {
            pool.push(session);
        }
    }

    fn sign_once(&self, session: &Session, mechanism: &Mechanism, data: &[u8]) -> Result<Vec<u8>, CkError> {
        let key = session
            .find_objects(&self.key_template)?
            .first()
            .copied()
            .ok_or(CkError::Pkcs11(RvError::KeyHandleInvalid, cryptoki::context::Function::FindObjects))?;
        session.sign(mechanism, key, data)
    }

    /// Drops every pooled session (as if the token had been removed); for recovery tests.
    pub fn drop_sessions(&self) {
        if let Ok(mut pool) = self.pool.lock() {
            pool.clear();
        }
    }
}

fn open_session(ctx: &Pkcs11, slot: Slot, pin: Option<&AuthPin>) -> Result<Session, KeyError> {
    let session = ctx.open_ro_session(slot).map_err(|e| backend("cannot open a PKCS#11 session", e))?;
    if let Some(pin) = pin {
        match session.login(UserType::User, Some(pin)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(backend("cannot log in to the token", e)),
        }
    }
    Ok(session)
}

fn find_one(session: &Session, template: &[Attribute]) -> Result<ObjectHandle, KeyError> {
    let found = session.find_objects(template).map_err(|e| backend("cannot search the token", e))?;
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(KeyError::Load("no private key on the token matches the pkcs11: URI (or the PIN is missing)".into())),
        _ => Err(KeyError::Load("several private keys match the pkcs11: URI; add id= or object=".into())),
    }
}

fn key_kind(session: &Session, key: ObjectHandle) -> Result<KeyKind, KeyError> {
    let attrs = session.get_attributes(key, &[AttributeType::KeyType]).map_err(|e| backend("cannot read the key type", e))?;
    let key_type = attrs.iter().find_map(|a| match a {
        Attribute::KeyType(t) => Some(*t),
        _ => None,
    });
    match key_type {
        Some(KeyType::RSA) => {
            let attrs = session.get_attributes(key, &[AttributeType::Modulus]).map_err(|e| backend("cannot read the RSA modulus", e))?;
            let bits = attrs
                .iter()
                .find_map(|a| match a {
                    Attribute::Modulus(m) => Some(m.iter().skip_while(|b| **b == 0).count() * 8),
                    _ => None,
                })
                .ok_or_else(|| KeyError::Backend("the token does not reveal the RSA modulus".into()))?;
            Ok(KeyKind::Rsa { bits })
        }
        Some(KeyType::EC) => {
            let attrs = session.get_attributes(key, &[AttributeType::EcParams]).map_err(|e| backend("cannot read the EC parameters", e))?;
            let params = attrs.iter().find_map(|a| match a {
                Attribute::EcParams(p) => Some(p.clone()),
                _ => None,
            });
            match params.as_deref() {
                Some([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]) => Ok(KeyKind::EcP256),
                Some([0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]) => Ok(KeyKind::EcP384),
                _ => Err(KeyError::UnsupportedAlgorithm("an EC curve other than P-256 or P-384".into())),
            }
        }
        other => Err(KeyError::UnsupportedAlgorithm(format!("PKCS#11 key type {other:?}"))),
    }
}

/// DER `DigestInfo` prefixes (RFC 8017 §9.2 note 1): CKM_RSA_PKCS signs prefix ‖ digest.
fn digest_info_prefix(d: DigestAlgorithm) -> &'static [u8] {
    match d {
        DigestAlgorithm::Sha256 => {
            &[0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20]
        }
        DigestAlgorithm::Sha384 => {
            &[0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30]
        }
        DigestAlgorithm::Sha512 => {
            &[0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40]
        }
    }
}

impl SigningKey for Pkcs11Key {
    fn kind(&self) -> KeyKind {
        self.kind
    }

    fn sign_digest(&self, alg: SignatureAlgorithm, digest: &[u8]) -> Result<Vec<u8>, KeyError> {
        let (hash_mech, mgf) = match alg.digest {
            DigestAlgorithm::Sha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
            DigestAlgorithm::Sha384 => (MechanismType::SHA384, PkcsMgfType::MGF1_SHA384),
            DigestAlgorithm::Sha512 => (MechanismType::SHA512, PkcsMgfType::MGF1_SHA512),
        };
        let (mechanism, data) = match (alg.scheme, self.kind) {
            (Scheme::RsaPkcs1v15, KeyKind::Rsa { .. }) => (Mechanism::RsaPkcs, [digest_info_prefix(alg.digest), digest].concat()),
            (Scheme::RsaPss, KeyKind::Rsa { .. }) => {
                let params = PkcsPssParams { hash_alg: hash_mech, mgf, s_len: (alg.digest.output_len() as u64).into() };
                (Mechanism::RsaPkcsPss(params), digest.to_vec())
            }
            (Scheme::Ecdsa, KeyKind::EcP256 | KeyKind::EcP384) => (Mechanism::Ecdsa, digest.to_vec()),
            (scheme, kind) => return Err(KeyError::UnsupportedAlgorithm(format!("{scheme:?} with a {kind:?} key"))),
        };
        let mut last = None;
        for _ in 0..=RETRIES {
            let session = self.take_session()?;
            match self.sign_once(&session, &mechanism, &data) {
                Ok(sig) => {
                    self.give_back(session);
                    return match alg.scheme {
                        Scheme::Ecdsa => kyso_keys::ecdsa_raw_to_der(&sig),
                        _ => Ok(sig),
                    };
                }
                Err(e) if session_lost(&e) => {
                    // Drop the dead session (and any pooled siblings) and try a fresh one.
                    drop(session);
                    self.drop_sessions();
                    last = Some(e);
                }
                Err(e) => {
                    self.give_back(session);
                    return Err(backend("the token refused to sign", e));
                }
            }
        }
        Err(backend("the token went away while signing", last.expect("a retry happened")))
    }
}

/// One entry of `kyso keys list`.
#[derive(Clone, Debug)]
pub struct TokenObject {
    pub token: String,
    pub label: String,
    pub id_hex: String,
    pub class: &'static str,
}

/// Lists keys and certificates on every token (private keys need the PIN).
pub fn list_objects(ctx: &Pkcs11, pin: Option<String>) -> Result<Vec<TokenObject>, KeyError> {
    let pin = pin.map(AuthPin::from);
    let mut out = Vec::new();
    for slot in ctx.get_slots_with_token().map_err(|e| backend("cannot list PKCS#11 slots", e))? {
        let info = ctx.get_token_info(slot).map_err(|e| backend("cannot read token information", e))?;
        if !info.token_initialized() {
            continue;
        }
        let token = info.label().trim_end().to_string();
        let session = open_session(ctx, slot, pin.as_ref())?;
        for (class, name) in [(ObjectClass::PRIVATE_KEY, "private key"), (ObjectClass::CERTIFICATE, "certificate")] {
            for obj in session.find_objects(&[Attribute::Class(class)]).map_err(|e| backend("cannot search the token", e))? {
                let attrs = session.get_attributes(obj, &[AttributeType::Label, AttributeType::Id]).unwrap_or_default();
                let mut entry = TokenObject { token: token.clone(), label: String::new(), id_hex: String::new(), class: name };
                for a in attrs {
                    match a {
                        Attribute::Label(l) => entry.label = String::from_utf8_lossy(&l).into_owned(),
                        Attribute::Id(id) => entry.id_hex = id.iter().map(|b| format!("{b:02x}")).collect(),
                        _ => {}
                    }
                }
                out.push(entry);
            }
        }
    }
    Ok(out)
}

/// Stores a certificate on the token under the URI's label and id, beside its key, so signers
/// need not carry the certificate file.
pub fn store_certificate(ctx: &Pkcs11, uri: &Pkcs11Uri, pin: Option<String>, der: &[u8], subject_der: &[u8]) -> Result<(), KeyError> {
    let slot = find_slot(ctx, uri)?;
    let session = ctx.open_rw_session(slot).map_err(|e| backend("cannot open a read-write PKCS#11 session", e))?;
    if let Some(pin) = pin.map(AuthPin::from) {
        match session.login(UserType::User, Some(&pin)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(backend("cannot log in to the token", e)),
        }
    }
    let mut template = vec![
        Attribute::Class(ObjectClass::CERTIFICATE),
        Attribute::CertificateType(CertificateType::X_509),
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Value(der.to_vec()),
        Attribute::Subject(subject_der.to_vec()),
    ];
    if let Some(label) = &uri.object {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        template.push(Attribute::Id(id.clone()));
    }
    session.create_object(&template).map_err(|e| backend("cannot store the certificate on the token", e))?;
    Ok(())
}
