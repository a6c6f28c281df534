//! Kyso's test PKI, made from code so it can be remade and read:
//!
//! ```text
//! Kyso Test Root CA (P-256, self-signed)
//! └─ Kyso Test Issuing CA (P-256)
//!    ├─ teacher-rsa   RSA-2048  "Nguyễn Thị Hương", Trường THCS Gia Thụy (also used for RSA-PSS)
//!    ├─ principal-p256  P-256   "Trần Văn Minh", Trường THCS Gia Thụy
//!    └─ district-p384   P-384   "Lê Thu Hà", Phòng GD&ĐT Gia Lâm
//! ```
//! `kyso-gen-ca DIR` writes every certificate and PKCS#8 key as PEM into DIR.
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
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// One end-entity signer of the test PKI.
pub struct Signer {
    pub file_stem: &'static str,
    pub subject: &'static str,
    pub kind: KeyType,
}

#[derive(Clone, Copy)]
pub enum KeyType {
    Rsa2048,
    P256,
    P384,
}

pub const SIGNERS: &[Signer] = &[
    Signer {
        file_stem: "teacher-rsa",
        subject: "CN=Nguyễn Thị Hương,OU=Tổ Ngữ văn,O=Trường THCS Gia Thụy,L=Hà Nội,C=VN",
        kind: KeyType::Rsa2048,
    },
    Signer {
        file_stem: "principal-p256",
        subject: "CN=Trần Văn Minh,OU=Ban giám hiệu,O=Trường THCS Gia Thụy,L=Hà Nội,C=VN",
        kind: KeyType::P256,
    },
    Signer { file_stem: "district-p384", subject: "CN=Lê Thu Hà,O=Phòng GD&ĐT Gia Lâm,L=Hà Nội,C=VN", kind: KeyType::P384 },
];

struct Profile {
    subject: Name,
    issuer: Name,
    ca: bool,
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
        } else {
            KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation)
        };
        exts.push(usage.to_extension(subject, &exts)?);
        Ok(exts)
    }
}

fn validity() -> Result<Validity, Error> {
    // 2025-01-01 to 2045-01-01: long enough that tests do not expire. UTCTime before 2050 (RFC 5280).
    let mut v = Validity::from_now(Duration::from_secs(1))?;
    v.not_before = Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(1_735_689_600))?);
    v.not_after = Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(2_366_841_600))?);
    Ok(v)
}

fn serial(n: u8) -> Result<SerialNumber, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    bytes[0] = 0x40 | (n & 0x3f);
    Ok(SerialNumber::new(&bytes)?)
}

fn issue(
    issuer_key: &p256::ecdsa::SigningKey,
    issuer: &Name,
    subject: &str,
    spki: SubjectPublicKeyInfoOwned,
    ca: bool,
    n: u8,
) -> Result<Certificate, Error> {
    let subject = Name::from_str(subject)?;
    let profile = Profile { subject, issuer: issuer.clone(), ca };
    let builder = CertificateBuilder::new(profile, serial(n)?, validity()?, spki)?;
    Ok(builder.build::<_, p256::ecdsa::DerSignature>(issuer_key)?)
}

/// Generates the whole test PKI into `dir`.
pub fn generate(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir)?;
    let write = |name: &str, text: String| std::fs::write(dir.join(name), text);

    let root_key = random_p256()?;
    let root_name = Name::from_str("CN=Kyso Test Root CA,O=Kyso Test PKI,C=VN")?;
    let root_spki = SubjectPublicKeyInfoOwned::from_key(root_key.verifying_key())?;
    let root = issue(&root_key, &root_name, "CN=Kyso Test Root CA,O=Kyso Test PKI,C=VN", root_spki, true, 1)?;
    write("root.cert.pem", root.to_pem(LineEnding::LF)?)?;

    let ca_key = random_p256()?;
    let ca_name = Name::from_str("CN=Kyso Test Issuing CA,O=Kyso Test PKI,C=VN")?;
    let ca_spki = SubjectPublicKeyInfoOwned::from_key(ca_key.verifying_key())?;
    let ca = issue(&root_key, &root_name, "CN=Kyso Test Issuing CA,O=Kyso Test PKI,C=VN", ca_spki, true, 2)?;
    write("issuing-ca.cert.pem", ca.to_pem(LineEnding::LF)?)?;
    write("issuing-ca.key.pem", ca_key.to_pkcs8_pem(LineEnding::LF)?.to_string())?;

    for (i, s) in SIGNERS.iter().enumerate() {
        let (key_pem, spki_der) = match s.kind {
            KeyType::Rsa2048 => {
                let k = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048)?;
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
        let cert = issue(&ca_key, &ca_name, s.subject, spki, false, 10 + i as u8)?;
        write(&format!("{}.key.pem", s.file_stem), key_pem)?;
        write(&format!("{}.cert.pem", s.file_stem), cert.to_pem(LineEnding::LF)?)?;
    }
    Ok(())
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
