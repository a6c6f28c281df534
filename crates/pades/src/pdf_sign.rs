//! The phased PAdES flow. Each phase consumes the one before, so nothing can touch the document
//! between hashing and embedding:
//!
//! 1. [`prepare`]: field, widget, signature dictionary with an exactly sized `/Contents` hole;
//!    the output is written once while its signed bytes are hashed.
//! 2. [`Prepared::to_be_signed`]: the digest a key backend signs. This may take minutes (a phone
//!    confirmation); [`Prepared`] is plain data and can be kept meanwhile.
//! 3. [`Prepared::finish`]: the signature value is checked against the certificate, the CMS is
//!    assembled and written into the hole.

use crate::cms_build::{self, CertChain};
use crate::{Error, Result};
use cms::signed_data::SignedAttributes;
use der::Decode;
use kyso_keys::{KeyKind, Scheme, SignatureAlgorithm, SigningKey};
use kyso_pdf::{AppearanceSpec, Dict, DocMdp, Document, FieldLock, Object, Placement, PreparedSignature, SignatureRequest, Update};
use std::io::{Read, Seek, Write};

/// The `/SubFilter` of the signature dictionary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubFilter {
    /// `ETSI.CAdES.detached`: PAdES baseline (ETSI EN 319 142-1).
    Pades,
    /// `adbe.pkcs7.detached`: the legacy form older readers know.
    Pkcs7Detached,
}

impl SubFilter {
    fn name(self) -> &'static [u8] {
        match self {
            SubFilter::Pades => b"ETSI.CAdES.detached",
            SubFilter::Pkcs7Detached => b"adbe.pkcs7.detached",
        }
    }
}

/// What the signer asks for. The time is given by the caller (the core reads no clock).
#[derive(Clone, Debug)]
pub struct PdfSignOptions {
    pub subfilter: SubFilter,
    pub algorithm: SignatureAlgorithm,
    pub field: Option<String>,
    pub placement: Placement,
    pub certify: Option<DocMdp>,
    pub lock: Option<FieldLock>,
    pub name: Option<String>,
    pub reason: Option<String>,
    pub location: Option<String>,
    pub contact_info: Option<String>,
    /// The claimed signing time as a PDF date string object (see `kyso_pdf::fields::pdf_date`).
    pub signing_time: Object,
    pub appearance: Option<AppearanceSpec>,
    /// Extra DER bytes to reserve in `/Contents` (a timestamp token added later, for example).
    pub reserve_extra: usize,
    /// A note the signing service adds to the (signed) signature dictionary as
    /// `/KysoIdentityNote`: an administrator accepted this certificate for a person whose record
    /// it does not match, and why. Validators show it.
    pub identity_note: Option<String>,
}

/// The signing time `unix` in Vietnam time, as a PDF date (for `/M`) and as people read it (for
/// the visible stamp).
pub fn vietnam_signing_time(unix: i64) -> (Object, String) {
    let t = kyso_clock::CivilTime::vietnam(unix);
    let date =
        kyso_pdf::fields::pdf_date(t.year, t.month, t.day, t.hour, t.minute, t.second, (kyso_clock::VIETNAM_OFFSET_SECS / 60) as i32);
    (date, t.display())
}

/// What one approval stage's signature says beside the key.
#[derive(Clone, Debug)]
pub struct Approval {
    pub field: String,
    /// The chain's first signature certifies the document (DocMDP P=2: form filling and further
    /// signatures stay allowed).
    pub certify: bool,
    pub signer_name: String,
    pub reason: Option<String>,
    pub identity_note: Option<String>,
}

/// The options of an approval signature: PAdES, into the stage's (pre-made, locked) field, with a
/// visible stamp naming the signer, the time and the reason. `signing_time` is the PDF date and
/// `time_display` the same time as people read it (the core reads no clock).
pub fn approval_options(
    approval: &Approval,
    chain: &CertChain,
    algorithm: SignatureAlgorithm,
    signing_time: Object,
    time_display: &str,
) -> PdfSignOptions {
    PdfSignOptions {
        subfilter: SubFilter::Pades,
        algorithm,
        field: Some(approval.field.clone()),
        placement: Placement::Invisible,
        certify: approval.certify.then_some(DocMdp::FormFilling),
        lock: None,
        name: Some(approval.signer_name.clone()),
        reason: approval.reason.clone(),
        location: None,
        contact_info: None,
        signing_time,
        appearance: Some(AppearanceSpec {
            lines: crate::certinfo::appearance_lines(&approval.signer_name, chain.signer(), time_display, approval.reason.as_deref()),
            image: None,
        }),
        reserve_extra: 0,
        identity_note: approval.identity_note.clone(),
    }
}

/// A signature whose document part is written and whose value is still to come.
#[derive(Clone, Debug)]
pub struct Prepared {
    hole: PreparedSignature,
    chain: CertChain,
    algorithm: SignatureAlgorithm,
    signed_attributes: SignedAttributes,
    to_be_signed: Vec<u8>,
}

/// Phase 1: writes `doc` plus the signature update to `out`, hashing what the signature covers.
pub fn prepare<R: Read + Seek, W: Write>(
    doc: &mut Document<R>,
    out: &mut W,
    chain: &CertChain,
    key_kind: KeyKind,
    opts: &PdfSignOptions,
) -> Result<Prepared> {
    let alg = opts.algorithm;
    crate::certinfo::check_key_matches(chain.signer(), key_kind)?;
    let capacity = cms_build::assembled_len(chain, alg, key_kind.max_signature_len())? + opts.reserve_extra;
    let mut entries = Dict::new()
        .with(b"Filter", Object::name(b"Adobe.PPKLite"))
        .with(b"SubFilter", Object::name(opts.subfilter.name()))
        .with(b"M", opts.signing_time.clone());
    for (key, value) in
        [(&b"Name"[..], &opts.name), (b"Reason", &opts.reason), (b"Location", &opts.location), (b"ContactInfo", &opts.contact_info)]
    {
        if let Some(v) = value {
            entries.set(key, Object::text(v));
        }
    }
    if let Some(note) = &opts.identity_note {
        entries.set(b"KysoIdentityNote", Object::text(note));
    }
    let request = SignatureRequest {
        field: opts.field.clone(),
        placement: opts.placement.clone(),
        entries,
        capacity,
        certify: opts.certify,
        lock: opts.lock.clone(),
        appearance: opts.appearance.clone(),
    };
    let mut update = Update::new(doc)?;
    doc.add_signature(&mut update, &request)?;
    let mut hasher = alg.digest.hasher();
    let hole = update.write(doc, out, &mut |chunk| hasher.update(chunk))?.expect("a signature update always has a hole");
    let message_digest = hasher.finalize();
    let signed_attributes = cms_build::signed_attributes(&message_digest, chain, None)?;
    let to_be_signed = cms_build::signed_attributes_digest(&signed_attributes, alg.digest)?;
    Ok(Prepared { hole, chain: chain.clone(), algorithm: alg, signed_attributes, to_be_signed })
}

/// The storable form of [`Prepared`] (DER), so a signature value that arrives minutes later, in
/// another process, can still be embedded:
///
/// ```text
/// PreparedState ::= SEQUENCE {
///     version       INTEGER (1),
///     byteRange     SEQUENCE OF INTEGER,   -- exactly four
///     capacity      INTEGER,
///     scheme        INTEGER,               -- 0 PKCS#1 v1.5, 1 PSS, 2 ECDSA
///     digest        OBJECT IDENTIFIER,
///     certificates  SEQUENCE OF Certificate,
///     signedAttrs   ANY,                   -- the DER SET OF Attribute
///     toBeSigned    OCTET STRING }
/// ```
#[derive(der::Sequence)]
struct PreparedState {
    version: u8,
    byte_range: Vec<u64>,
    capacity: u64,
    scheme: u8,
    digest: const_oid::ObjectIdentifier,
    certificates: Vec<x509_cert::Certificate>,
    signed_attrs: der::asn1::Any,
    to_be_signed: der::asn1::OctetString,
}

impl Prepared {
    /// Serialises the prepared state (no secrets in it: certificates and digests only).
    pub fn to_der(&self) -> Result<Vec<u8>> {
        use der::Encode;
        let state = PreparedState {
            version: 1,
            byte_range: self.hole.byte_range.to_vec(),
            capacity: self.hole.capacity as u64,
            scheme: match self.algorithm.scheme {
                Scheme::RsaPkcs1v15 => 0,
                Scheme::RsaPss => 1,
                Scheme::Ecdsa => 2,
            },
            digest: self.algorithm.digest.oid(),
            certificates: self.chain.0.clone(),
            signed_attrs: der::asn1::Any::encode_from(&self.signed_attributes)?,
            to_be_signed: der::asn1::OctetString::new(self.to_be_signed.clone())?,
        };
        Ok(state.to_der()?)
    }

    /// Reads back what [`Prepared::to_der`] wrote.
    pub fn from_der(bytes: &[u8]) -> Result<Self> {
        use der::Decode;
        let s = PreparedState::from_der(bytes)?;
        let bad = |what: &str| Error::Certificate(format!("the stored signing state is damaged: {what}"));
        if s.version != 1 {
            return Err(bad("unknown version"));
        }
        let byte_range: [u64; 4] = s.byte_range.try_into().map_err(|_| bad("byte range"))?;
        let scheme = match s.scheme {
            0 => Scheme::RsaPkcs1v15,
            1 => Scheme::RsaPss,
            2 => Scheme::Ecdsa,
            _ => return Err(bad("scheme")),
        };
        let digest = kyso_keys::DigestAlgorithm::from_oid(&s.digest).ok_or_else(|| bad("digest algorithm"))?;
        let signed_attributes = s.signed_attrs.decode_as::<SignedAttributes>()?;
        let to_be_signed = s.to_be_signed.as_bytes().to_vec();
        if cms_build::signed_attributes_digest(&signed_attributes, digest)? != to_be_signed {
            return Err(bad("digest does not match the signed attributes"));
        }
        Ok(Prepared {
            hole: PreparedSignature { byte_range, capacity: s.capacity as usize },
            chain: CertChain::new(s.certificates)?,
            algorithm: SignatureAlgorithm { scheme, digest },
            signed_attributes,
            to_be_signed,
        })
    }

    /// Phase 2: the digest the key must sign (of the DER signed attributes).
    pub fn to_be_signed(&self) -> &[u8] {
        &self.to_be_signed
    }

    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    pub fn byte_range(&self) -> [u64; 4] {
        self.hole.byte_range
    }

    /// Phase 3 for PAdES B-T: as [`Prepared::finish`], with an RFC 3161 timestamp over the
    /// signature value added as the unsigned attribute signature-time-stamp (checked before it is
    /// embedded: status, nonce, imprint, TSA signature and key usage). Needs `reserve_extra`.
    pub fn finish_timestamped<W: Write + Seek>(self, out: &mut W, signature: &[u8], tsa: &dyn crate::tsp::TimestampSource) -> Result<()> {
        kyso_keys::verify_digest(&self.chain.signer_spki_der()?, self.algorithm, &self.to_be_signed, signature)?;
        let digest = self.algorithm.digest;
        let (token, _) = crate::tsp::fetch(tsa, digest, &digest.digest(signature))?;
        let attr = x509_cert::attr::Attribute {
            oid: const_oid::db::rfc3161::ID_AA_TIME_STAMP_TOKEN,
            values: der::asn1::SetOfVec::try_from(vec![der::asn1::Any::from_der(&token)?])?,
        };
        let unsigned = der::asn1::SetOfVec::try_from(vec![attr])?;
        let der = cms_build::assemble(&self.chain, self.algorithm, self.signed_attributes, signature, Some(unsigned))?;
        self.hole.embed(out, &der).map_err(Error::from)
    }

    /// Phase 3: checks `signature` against the signer's certificate and embeds the CMS.
    pub fn finish<W: Write + Seek>(self, out: &mut W, signature: &[u8]) -> Result<()> {
        kyso_keys::verify_digest(&self.chain.signer_spki_der()?, self.algorithm, &self.to_be_signed, signature)?;
        let der = cms_build::assemble(&self.chain, self.algorithm, self.signed_attributes, signature, None)?;
        self.hole.embed(out, &der).map_err(Error::from)
    }
}

/// All three phases with a key at hand.
pub fn sign_pdf<R: Read + Seek, W: Write + Seek>(
    doc: &mut Document<R>,
    out: &mut W,
    chain: &CertChain,
    key: &dyn SigningKey,
    opts: &PdfSignOptions,
) -> Result<()> {
    let prepared = prepare(doc, out, chain, key.kind(), opts)?;
    let signature = key.sign_digest(prepared.algorithm, prepared.to_be_signed())?;
    prepared.finish(out, &signature)
}

/// A detached CAdES signature over any bytes (records that are not PDFs), streamed from `data`.
pub fn sign_detached<R: Read>(mut data: R, chain: &CertChain, key: &dyn SigningKey, algorithm: SignatureAlgorithm) -> Result<Vec<u8>> {
    let mut hasher = algorithm.digest.hasher();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = data.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let attrs = cms_build::signed_attributes(&hasher.finalize(), chain, None)?;
    let tbs = cms_build::signed_attributes_digest(&attrs, algorithm.digest)?;
    let signature = key.sign_digest(algorithm, &tbs)?;
    kyso_keys::verify_digest(&chain.signer_spki_der()?, algorithm, &tbs, &signature)?;
    cms_build::assemble(chain, algorithm, attrs, &signature, None)
}

/// Room for a document timestamp token: a TSA's SignedData with its certificate chain fits in a
/// few kilobytes; 16 KiB leaves space for long chains.
pub const DOCUMENT_TIMESTAMP_CAPACITY: usize = 16 * 1024;

/// PAdES B-LTA: appends a document timestamp (`/Type /DocTimeStamp`, SubFilter `ETSI.RFC3161`) in
/// a new invisible field, over every byte of the file as it stands (DSS included). The token is
/// checked before it is embedded (status, nonce, the imprint is this revision's digest, TSA
/// signature and key usage). Returns the token's time as the TSA wrote it.
pub fn add_document_timestamp<R: Read + Seek, W: Write + Seek>(
    doc: &mut Document<R>,
    out: &mut W,
    tsa: &dyn crate::tsp::TimestampSource,
    digest: kyso_keys::DigestAlgorithm,
) -> Result<String> {
    let request = SignatureRequest {
        field: None,
        placement: Placement::Invisible,
        entries: Dict::new()
            .with(b"Type", Object::name(b"DocTimeStamp"))
            .with(b"Filter", Object::name(b"Adobe.PPKLite"))
            .with(b"SubFilter", Object::name(b"ETSI.RFC3161")),
        capacity: DOCUMENT_TIMESTAMP_CAPACITY,
        certify: None,
        lock: None,
        appearance: None,
    };
    let mut update = Update::new(doc)?;
    doc.add_signature(&mut update, &request)?;
    let mut hasher = digest.hasher();
    let mut buffered = std::io::BufWriter::with_capacity(1 << 20, &mut *out);
    let hole = update.write(doc, &mut buffered, &mut |chunk| hasher.update(chunk))?.expect("a timestamp update always has a hole");
    buffered.flush()?;
    drop(buffered);
    let (token, verified) = crate::tsp::fetch(tsa, digest, &hasher.finalize())?;
    if token.len() > DOCUMENT_TIMESTAMP_CAPACITY {
        return Err(Error::Timestamp(format!(
            "the TSA's token ({} bytes) does not fit the reserved {DOCUMENT_TIMESTAMP_CAPACITY}",
            token.len()
        )));
    }
    hole.embed(out, &token)?;
    Ok(verified.info.gen_time().0)
}
