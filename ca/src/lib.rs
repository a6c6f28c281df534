//! Kyso's test PKI, made from code so it can be remade and read. The declarative part is
//! [`SIGNERS`]: one row per end entity. Dates are fixed so tests never rot.
//!
//! ```text
//! Kyso Test National Root CA (P-256, self-signed)          2025-01-01 .. 2049-12-31
//! └─ Kyso Test Public CA (P-256), like a licensed Vietnamese CA    .. 2049-12-31
//!    (people, seal and OCSP responder: 2025-01-01 .. 2045-01-01)
//!    ├─ teacher-rsa        RSA-2048  Nguyễn Thị Hương, teacher (also used for RSA-PSS)
//!    ├─ head-p256          P-256     Phạm Quốc Bảo, head of subject group
//!    ├─ principal-p256     P-256     Trần Văn Minh, principal
//!    ├─ principal-rsa3072  RSA-3072  Trần Văn Minh, principal (RSA-3072 variant)
//!    ├─ vice-principal-p256 P-256    Đỗ Thị Phương, vice principal
//!    ├─ librarian-p256     P-256     Đặng Thu Thư, librarian
//!    ├─ homeroom-6a-p256   P-256     Ngô Thị Lan Anh, homeroom teacher of class 6A
//!    ├─ homeroom-6b-p256   P-256     Vũ Minh Khôi, homeroom teacher of class 6B
//!    ├─ district-p384      P-384     Lê Thu Hà, district officer
//!    ├─ seal-rsa           RSA-2048  Trường THCS Gia Thụy, the school's organisation seal
//!    ├─ tsa                P-256     timestamping (EKU id-kp-timeStamping, critical), .. 2049-12-31
//!    ├─ ocsp               P-256     OCSP responder (EKU id-kp-OCSPSigning)
//!    ├─ revoked-teacher    P-256     a signer the revocation services report as revoked
//!    └─ expired-teacher    P-256     valid only 2020-01-01 .. 2021-01-01
//! ```
//! People's subjects carry their citizen ID as `UID=CCCD:…`, as Vietnamese certificates do, so
//! the service's identity check (certificate ↔ person) is tested on real subjects.
//!
//! `cargo run -p kyso-testca --bin kyso-gen-ca testdata/pki` writes every certificate and
//! PKCS#8 key as PEM, and a CRL for each CA (`root.crl`, `issuing-ca.crl`: the revoked signer
//! listed, valid to 2049) for the demo and for offline tests.
#![forbid(unsafe_code)]

use der::EncodePem;
use der::asn1::UtcTime;
use pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use x509_cert::Certificate;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

pub const ROOT_DN: &str = "CN=Kyso Test National Root CA,O=Kyso Test PKI,C=VN";
pub const ISSUING_DN: &str = "CN=Kyso Test Public CA,O=Kyso Test PKI,C=VN";

/// One end entity of the test PKI.
pub struct Signer {
    pub file_stem: &'static str,
    pub subject: &'static str,
    pub kind: KeyType,
    pub usage: Usage,
    /// (not before, not after) in seconds since the Unix epoch.
    pub validity: (u64, u64),
}

#[derive(Clone, Copy)]
pub enum KeyType {
    Rsa2048,
    Rsa3072,
    P256,
    P384,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// digitalSignature + nonRepudiation: a person or a seal signing documents.
    DocumentSigning,
    /// id-kp-timeStamping, critical (RFC 3161 §2.3).
    TimeStamping,
    /// id-kp-OCSPSigning (RFC 6960 §4.2.2.2).
    OcspSigning,
}

/// 2025-01-01 .. 2045-01-01.
const LONG: (u64, u64) = (1_735_689_600, 2_366_841_600);
/// 2025-01-01 .. 2049-12-31 23:59:59 (the last UTCTime): the CAs and the TSA outlive every
/// signer by five years, so validation after the signers' certificates expired can be tested
/// (POE from timestamps) without the test PKI rotting.
const ARCHIVE: (u64, u64) = (1_735_689_600, 2_524_607_999);
/// 2020-01-01 .. 2021-01-01.
const EXPIRED: (u64, u64) = (1_577_836_800, 1_609_459_200);

const fn person(file_stem: &'static str, subject: &'static str, kind: KeyType) -> Signer {
    Signer { file_stem, subject, kind, usage: Usage::DocumentSigning, validity: LONG }
}

pub const SIGNERS: &[Signer] = &[
    person("teacher-rsa", "CN=Nguyễn Thị Hương,UID=CCCD:001190012345,OU=Tổ Ngữ văn,O=Trường THCS Gia Thụy,L=Hà Nội,C=VN", KeyType::Rsa2048),
    person("head-p256", "CN=Phạm Quốc Bảo,UID=CCCD:001085023456,OU=Tổ Ngữ văn,O=Trường THCS Gia Thụy,L=Hà Nội,C=VN", KeyType::P256),
    person("principal-p256", "CN=Trần Văn Minh,UID=CCCD:001078034567,OU=Ban giám hiệu,O=Trường THCS Gia Thụy,L=Hà Nội,C=VN", KeyType::P256),
    person(
        "principal-rsa3072",
        "CN=Trần Văn Minh,UID=CCCD:001078034567,OU=Ban giám hiệu,O=Trường THCS Gia Thụy,L=Hà Nội,C=VN",
        KeyType::Rsa3072,
    ),
    person(
        "vice-principal-p256",
        "CN=Đỗ Thị Phương,UID=CCCD:001182045678,OU=Ban giám hiệu,O=Trường THCS Gia Thụy,L=Hà Nội,C=VN",
        KeyType::P256,
    ),
    person("librarian-p256", "CN=Đặng Thu Thư,UID=CCCD:001191056789,OU=Thư viện,O=Trường THCS Gia Thụy,L=Hà Nội,C=VN", KeyType::P256),
    person("homeroom-6a-p256", "CN=Ngô Thị Lan Anh,UID=CCCD:001188067890,OU=Lớp 6A,O=Trường THCS Gia Thụy,L=Hà Nội,C=VN", KeyType::P256),
    person("homeroom-6b-p256", "CN=Vũ Minh Khôi,UID=CCCD:001087078901,OU=Lớp 6B,O=Trường THCS Gia Thụy,L=Hà Nội,C=VN", KeyType::P256),
    person("district-p384", "CN=Lê Thu Hà,UID=CCCD:001180089012,O=Phòng GD&ĐT Gia Lâm,L=Hà Nội,C=VN", KeyType::P384),
    person("seal-rsa", "CN=Trường THCS Gia Thụy,O=Trường THCS Gia Thụy,L=Hà Nội,C=VN", KeyType::Rsa2048),
    Signer {
        file_stem: "tsa",
        subject: "CN=Kyso Test TSA,O=Kyso Test PKI,C=VN",
        kind: KeyType::P256,
        usage: Usage::TimeStamping,
        validity: ARCHIVE,
    },
    Signer {
        file_stem: "ocsp",
        subject: "CN=Kyso Test OCSP Responder,O=Kyso Test PKI,C=VN",
        kind: KeyType::P256,
        usage: Usage::OcspSigning,
        validity: LONG,
    },
    person("revoked-teacher", "CN=Đỗ Văn Thu Hồi,OU=Tổ Toán,O=Trường THCS Gia Thụy,L=Hà Nội,C=VN", KeyType::P256),
    Signer {
        validity: EXPIRED,
        ..person("expired-teacher", "CN=Vũ Thị Hết Hạn,OU=Tổ Toán,O=Trường THCS Gia Thụy,L=Hà Nội,C=VN", KeyType::P256)
    },
];

struct Profile {
    subject: Name,
    issuer: Name,
    ca: bool,
    usage: Usage,
    /// The issuing CA's label in certomancer's service URLs (`issuing-ca` or `root`).
    issuer_label: &'static str,
}

/// Where `certomancer animate --port 9009` serves the PKI's revocation data; the tests start it
/// there. Certificates point at it so clients find OCSP, CRLs and issuers as they would in life.
pub const SERVICES: &str = "http://127.0.0.1:9009";

fn uri(s: String) -> Result<x509_cert::ext::pkix::name::GeneralName, der::Error> {
    Ok(x509_cert::ext::pkix::name::GeneralName::UniformResourceIdentifier(der::asn1::Ia5String::new(&s)?))
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &x509_cert::TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let subject = tbs.subject();
        let mut exts = Vec::new();
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        let aki = AuthorityKeyIdentifier::try_from(issuer_spk)?;
        exts.push(ski.to_extension(subject, &exts)?);
        exts.push(aki.to_extension(subject, &exts)?);
        let bc = BasicConstraints { ca: self.ca, path_len_constraint: None };
        exts.push((true, &bc).to_extension(subject, &exts)?);
        let usage = if self.ca {
            KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)
        } else if self.usage == Usage::DocumentSigning {
            KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation)
        } else {
            KeyUsage(KeyUsages::DigitalSignature.into())
        };
        exts.push(usage.to_extension(subject, &exts)?);
        // Revocation pointers for everything but the self-signed root.
        if self.subject != self.issuer {
            use x509_cert::ext::pkix::crl::dp::DistributionPoint;
            use x509_cert::ext::pkix::name::DistributionPointName;
            let crl = format!("{SERVICES}/kyso/crls/{}/latest.crl", self.issuer_label);
            let dp = x509_cert::ext::pkix::CrlDistributionPoints(vec![DistributionPoint {
                distribution_point: Some(DistributionPointName::FullName(vec![uri(crl)?])),
                reasons: None,
                crl_issuer: None,
            }]);
            exts.push(dp.to_extension(subject, &exts)?);
            let mut access = vec![x509_cert::ext::pkix::AccessDescription {
                access_method: const_oid::db::rfc5280::ID_AD_CA_ISSUERS,
                access_location: uri(format!("{SERVICES}/kyso/certs/{}/ca.crt", self.issuer_label))?,
            }];
            if self.issuer_label == "issuing-ca" && self.usage != Usage::OcspSigning {
                access.push(x509_cert::ext::pkix::AccessDescription {
                    access_method: const_oid::db::rfc5280::ID_AD_OCSP,
                    access_location: uri(format!("{SERVICES}/kyso/ocsp/issuing-ca"))?,
                });
            }
            exts.push(x509_cert::ext::pkix::AuthorityInfoAccessSyntax(access).to_extension(subject, &exts)?);
        }
        match self.usage {
            Usage::TimeStamping => {
                let eku = ExtendedKeyUsage(vec![const_oid::db::rfc5280::ID_KP_TIME_STAMPING]);
                exts.push((true, &eku).to_extension(subject, &exts)?);
            }
            Usage::OcspSigning => {
                let eku = ExtendedKeyUsage(vec![const_oid::db::rfc5280::ID_KP_OCSP_SIGNING]);
                exts.push(eku.to_extension(subject, &exts)?);
            }
            Usage::DocumentSigning => {}
        }
        Ok(exts)
    }
}

fn validity((from, to): (u64, u64)) -> Result<Validity, Error> {
    // UTCTime for dates before 2050 (RFC 5280 §4.1.2.5).
    let mut v = Validity::from_now(Duration::from_secs(1))?;
    v.not_before = Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(from))?);
    v.not_after = Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(to))?);
    Ok(v)
}

fn serial(n: u8) -> Result<SerialNumber, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    bytes[0] = 0x40 | (n & 0x3f);
    Ok(SerialNumber::new(&bytes)?)
}

struct Issue<'a> {
    subject: &'a str,
    ca: bool,
    usage: Usage,
    validity: (u64, u64),
}

fn issue(
    issuer_key: &p256::ecdsa::SigningKey,
    issuer: &Name,
    spki: SubjectPublicKeyInfoOwned,
    what: Issue,
    n: u8,
) -> Result<Certificate, Error> {
    let subject = Name::from_str(what.subject)?;
    let issuer_label = if issuer.to_string() == Name::from_str(ROOT_DN)?.to_string() { "root" } else { "issuing-ca" };
    let profile = Profile { subject, issuer: issuer.clone(), ca: what.ca, usage: what.usage, issuer_label };
    let builder = CertificateBuilder::new(profile, serial(n)?, validity(what.validity)?, spki)?;
    Ok(builder.build::<_, p256::ecdsa::DerSignature>(issuer_key)?)
}

/// Generates the whole test PKI into `dir`.
pub fn generate(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir)?;
    let write = |name: &str, text: String| std::fs::write(dir.join(name), text);

    let root_key = random_p256()?;
    let root_name = Name::from_str(ROOT_DN)?;
    let root_spki = SubjectPublicKeyInfoOwned::from_key(root_key.verifying_key())?;
    let root =
        issue(&root_key, &root_name, root_spki, Issue { subject: ROOT_DN, ca: true, usage: Usage::DocumentSigning, validity: ARCHIVE }, 1)?;
    write("root.cert.pem", root.to_pem(LineEnding::LF)?)?;
    write("root.key.pem", root_key.to_pkcs8_pem(LineEnding::LF)?.to_string())?;

    let ca_key = random_p256()?;
    let ca_name = Name::from_str(ISSUING_DN)?;
    let ca_spki = SubjectPublicKeyInfoOwned::from_key(ca_key.verifying_key())?;
    let ca = issue(
        &root_key,
        &root_name,
        ca_spki,
        Issue { subject: ISSUING_DN, ca: true, usage: Usage::DocumentSigning, validity: ARCHIVE },
        2,
    )?;
    write("issuing-ca.cert.pem", ca.to_pem(LineEnding::LF)?)?;
    write("issuing-ca.key.pem", ca_key.to_pkcs8_pem(LineEnding::LF)?.to_string())?;

    let mut revoked = Vec::new();
    for (i, s) in SIGNERS.iter().enumerate() {
        let (key_pem, spki_der) = match s.kind {
            KeyType::Rsa2048 | KeyType::Rsa3072 => {
                let bits = if matches!(s.kind, KeyType::Rsa2048) { 2048 } else { 3072 };
                let k = rsa::PrivateKey::new(&mut getrandom::SysRng, bits)?;
                (k.to_pkcs8_pem(LineEnding::LF)?.to_string(), k.to_public_key().to_public_key_der()?)
            }
            KeyType::P256 => {
                let k = random_p256()?;
                (k.to_pkcs8_pem(LineEnding::LF)?.to_string(), k.verifying_key().to_public_key_der()?)
            }
            KeyType::P384 => {
                let k = random_p384()?;
                (k.to_pkcs8_pem(LineEnding::LF)?.to_string(), k.verifying_key().to_public_key_der()?)
            }
        };
        let spki = SubjectPublicKeyInfoOwned::try_from(spki_der.as_bytes())?;
        let cert =
            issue(&ca_key, &ca_name, spki, Issue { subject: s.subject, ca: false, usage: s.usage, validity: s.validity }, 10 + i as u8)?;
        write(&format!("{}.key.pem", s.file_stem), key_pem)?;
        write(&format!("{}.cert.pem", s.file_stem), cert.to_pem(LineEnding::LF)?)?;
        if s.file_stem == "revoked-teacher" {
            revoked.push(cert.tbs_certificate().serial_number().clone());
        }
    }
    std::fs::write(dir.join("root.crl"), crl(&root_key, &root_name, &[])?)?;
    std::fs::write(dir.join("issuing-ca.crl"), crl(&ca_key, &ca_name, &revoked)?)?;
    write("certomancer.yml", certomancer_config()?)?;
    Ok(())
}

/// When the revoked signer was revoked (as certomancer.yml says too): 2025-06-01.
const REVOKED_SINCE: u64 = 1_748_736_000;

/// A DER CRL by `issuer` listing `revoked`, from 2025-01-01 to 2049-12-31 (CRL number 1).
fn crl(key: &p256::ecdsa::SigningKey, issuer: &Name, revoked: &[SerialNumber]) -> Result<Vec<u8>, Error> {
    use der::Encode;
    use signature::Signer as _;
    use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
    let algorithm = spki::AlgorithmIdentifierOwned { oid: const_oid::db::rfc5912::ECDSA_WITH_SHA_256, parameters: None };
    let at = |secs: u64| -> Result<Time, Error> { Ok(Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(secs))?)) };
    let crl_number = Extension {
        extn_id: const_oid::db::rfc5280::ID_CE_CRL_NUMBER,
        critical: false,
        extn_value: der::asn1::OctetString::new(der::asn1::Uint::new(&[1])?.to_der()?)?,
    };
    let tbs = TbsCertList {
        version: x509_cert::Version::V2,
        signature: algorithm.clone(),
        issuer: issuer.clone(),
        this_update: at(ARCHIVE.0)?,
        next_update: Some(at(ARCHIVE.1)?),
        revoked_certificates: (!revoked.is_empty()).then(|| {
            revoked
                .iter()
                .map(|s| RevokedCert {
                    serial_number: s.clone(),
                    revocation_date: at(REVOKED_SINCE).expect("a fixed date"),
                    crl_entry_extensions: None,
                })
                .collect()
        }),
        crl_extensions: Some(vec![crl_number]),
    };
    let signature: p256::ecdsa::DerSignature = key.try_sign(&tbs.to_der()?)?;
    let list = CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: algorithm,
        signature: der::asn1::BitString::from_bytes(signature.as_bytes())?,
    };
    Ok(list.to_der()?)
}

/// A Certomancer configuration over the same keys and certificates, so certomancer's services
/// and certomancer-csc-dummy serve exactly this PKI (credential IDs `kyso/<file stem>`).
pub fn certomancer_config() -> Result<String, Error> {
    let iso = |secs: u64| -> Result<String, Error> {
        let t = der::DateTime::from_unix_duration(Duration::from_secs(secs))?;
        Ok(format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+0000", t.year(), t.month(), t.day(), t.hour(), t.minutes(), t.seconds()))
    };
    let mut y = String::from("# Generated by kyso-gen-ca (ca/src/lib.rs) with the certificates beside it; do not edit.\n");
    y.push_str("external-url-prefix: \"http://localhost:9000\"\nkeysets:\n  kyso:\n    path-prefix: .\n    keys:\n");
    let stems: Vec<&str> = ["root", "issuing-ca"].into_iter().chain(SIGNERS.iter().map(|s| s.file_stem)).collect();
    for stem in &stems {
        y.push_str(&format!("      {stem}:\n        path: {stem}.key.pem\n"));
    }
    y.push_str("pki-architectures:\n  kyso:\n    keyset: kyso\n    entities:\n");
    // Entity names are the certificates' subjects, in DER order (C first), so the CRLs and OCSP
    // responses certomancer makes name exactly the issuers in the committed certificates.
    let subjects: Vec<(&str, &str)> =
        [("root", ROOT_DN), ("issuing-ca", ISSUING_DN)].into_iter().chain(SIGNERS.iter().map(|s| (s.file_stem, s.subject))).collect();
    for (stem, dn) in subjects {
        y.push_str(&format!("      {stem}:\n"));
        for rdn in dn.split(',').rev() {
            let (k, v) = rdn.split_once('=').ok_or("bad subject")?;
            let key = match k {
                "C" => "country-name",
                "L" => "locality-name",
                "O" => "organization-name",
                "OU" => "organizational-unit-name",
                "CN" => "common-name",
                "UID" => "user-id",
                other => return Err(format!("subject attribute {other} has no certomancer name").into()),
            };
            y.push_str(&format!("        {key}: \"{v}\"\n"));
        }
    }
    y.push_str("    certs:\n");
    let (from, to) = (iso(ARCHIVE.0)?, iso(ARCHIVE.1)?);
    let cert = |y: &mut String, stem: &str, issuer: &str, validity: (String, String)| {
        y.push_str(&format!(
            "      {stem}:\n        certificate-file: {stem}.cert.pem\n        subject: {stem}\n        issuer: {issuer}\n        validity:\n          valid-from: \"{}\"\n          valid-to: \"{}\"\n",
            validity.0, validity.1
        ));
    };
    cert(&mut y, "root", "root", (from.clone(), to.clone()));
    cert(&mut y, "issuing-ca", "root", (from, to));
    for s in SIGNERS {
        cert(&mut y, s.file_stem, "issuing-ca", (iso(s.validity.0)?, iso(s.validity.1)?));
        if s.file_stem == "revoked-teacher" {
            y.push_str("        revocation:\n          revoked-since: \"2025-06-01T00:00:00+0000\"\n          reason: key_compromise\n");
        }
    }
    // Services served by `certomancer animate`: TSA, OCSP for the issuing CA, CRLs for both CAs.
    y.push_str(concat!(
        "    services:\n",
        "      time-stamping:\n        tsa:\n          signing-key: tsa\n          signing-cert: tsa\n",
        "      ocsp:\n        issuing-ca:\n          for-issuer: issuing-ca\n          responder-cert: ocsp\n          signing-key: ocsp\n",
        "      crl-repo:\n        root:\n          for-issuer: root\n          signing-key: root\n          simulated-update-schedule: \"P9000D\"\n",
        "        issuing-ca:\n          for-issuer: issuing-ca\n          signing-key: issuing-ca\n          simulated-update-schedule: \"P9000D\"\n",
        "      cert-repo:\n        root:\n          for-issuer: root\n          publish-issued-certs: yes\n",
        "        issuing-ca:\n          for-issuer: issuing-ca\n          publish-issued-certs: yes\n",
    ));
    Ok(y)
}

fn random_p256() -> Result<p256::ecdsa::SigningKey, Error> {
    loop {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b)?;
        // Out-of-range scalars are rare; draw again.
        if let Ok(k) = p256::ecdsa::SigningKey::from_slice(&b) {
            return Ok(k);
        }
    }
}

fn random_p384() -> Result<p384::ecdsa::SigningKey, Error> {
    loop {
        let mut b = [0u8; 48];
        getrandom::fill(&mut b)?;
        if let Ok(k) = p384::ecdsa::SigningKey::from_slice(&b) {
            return Ok(k);
        }
    }
}

#[cfg(test)]
mod tests {
    /// The generator makes a PKI whose chains verify (checked by reading back each certificate's
    /// issuer and signature algorithm; `tests/` checks the committed PKI with openssl).
    #[test]
    fn generates_a_complete_pki() {
        use der::DecodePem;
        let dir = std::env::temp_dir().join(format!("kyso-testca-{}", std::process::id()));
        super::generate(&dir).unwrap();
        let root = x509_cert::Certificate::from_pem(std::fs::read(dir.join("root.cert.pem")).unwrap()).unwrap();
        let ca = x509_cert::Certificate::from_pem(std::fs::read(dir.join("issuing-ca.cert.pem")).unwrap()).unwrap();
        assert_eq!(ca.tbs_certificate().issuer(), root.tbs_certificate().subject());
        for s in super::SIGNERS {
            let cert = x509_cert::Certificate::from_pem(std::fs::read(dir.join(format!("{}.cert.pem", s.file_stem))).unwrap()).unwrap();
            assert_eq!(cert.tbs_certificate().issuer(), ca.tbs_certificate().subject());
            assert!(dir.join(format!("{}.key.pem", s.file_stem)).exists());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
