//! The phased flow with the signature value arriving later (a phone confirmation): the prepared
//! state is stored as bytes, everything else is dropped, and a later step embeds the value.

use kyso_keys::{DigestAlgorithm, SignatureAlgorithm, SigningKey, SoftwareKey};
use kyso_pades::{CertChain, PdfSignOptions, Prepared, SubFilter, certinfo};
use kyso_pdf::{Document, Placement};
use kyso_tests::*;
use std::fs::{File, OpenOptions};
use std::io::BufReader;

fn options(algorithm: SignatureAlgorithm) -> PdfSignOptions {
    PdfSignOptions {
        subfilter: SubFilter::Pades,
        algorithm,
        field: None,
        placement: Placement::Invisible,
        certify: None,
        lock: None,
        name: None,
        reason: Some("Ký từ xa".into()),
        location: None,
        contact_info: None,
        signing_time: kyso_pdf::fields::pdf_date(2026, 11, 29, 14, 3, 5, 420),
        appearance: None,
        reserve_extra: 0,
        identity_note: None,
    }
}

fn chain(stem: &str) -> CertChain {
    let mut certs = certinfo::parse_certificates(&std::fs::read(pki(&format!("{stem}.cert.pem"))).unwrap()).unwrap();
    certs.extend(certinfo::parse_certificates(&std::fs::read(pki("issuing-ca.cert.pem")).unwrap()).unwrap());
    CertChain::new(certs).unwrap()
}

#[test]
fn stored_state_is_finished_later() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("deferred.pdf");
    let key = SoftwareKey::from_pkcs8(&std::fs::read(pki("teacher-rsa.key.pem")).unwrap(), None).unwrap();
    let chain = chain("teacher-rsa");
    let alg = SignatureAlgorithm::choose(key.kind(), DigestAlgorithm::Sha256, true).unwrap();
    let (state, digest) = {
        let mut doc = Document::open(BufReader::new(File::open(corpus().join("inputs/pyhanko-minimal-two-pages.pdf")).unwrap())).unwrap();
        let mut out = File::create(&out_path).unwrap();
        let prepared = kyso_pades::prepare(&mut doc, &mut out, &chain, key.kind(), &options(alg)).unwrap();
        (prepared.to_der().unwrap(), prepared.to_be_signed().to_vec())
    };
    // ... minutes later, elsewhere: only the state bytes and the written file remain.
    let signature = key.sign_digest(alg, &digest).unwrap();
    let prepared = Prepared::from_der(&state).unwrap();
    assert_eq!(prepared.to_be_signed(), digest.as_slice());
    let mut out = OpenOptions::new().write(true).open(&out_path).unwrap();
    prepared.finish(&mut out, &signature).unwrap();
    drop(out);
    let (verdicts, report) = pyhanko(&out_path, true);
    assert_eq!(verdicts.len(), 1, "{report}");
    assert_eq!(verdicts[0].1, "VALID", "{report}");
}

#[test]
fn a_wrong_signature_value_is_caught_before_embedding() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("wrong.pdf");
    let key = SoftwareKey::from_pkcs8(&std::fs::read(pki("principal-p256.key.pem")).unwrap(), None).unwrap();
    let other = SoftwareKey::from_pkcs8(&std::fs::read(pki("head-p256.key.pem")).unwrap(), None).unwrap();
    let chain = chain("principal-p256");
    let alg = SignatureAlgorithm::choose(key.kind(), DigestAlgorithm::Sha256, false).unwrap();
    let mut doc = Document::open(BufReader::new(File::open(corpus().join("inputs/pyhanko-minimal.pdf")).unwrap())).unwrap();
    let mut out = File::create(&out_path).unwrap();
    let prepared = kyso_pades::prepare(&mut doc, &mut out, &chain, key.kind(), &options(alg)).unwrap();
    // A provider answering with another key's signature, or garbage.
    let foreign = other.sign_digest(alg, prepared.to_be_signed()).unwrap();
    let err = prepared.clone().finish(&mut out, &foreign).unwrap_err();
    assert!(err.to_string().contains("does not verify"), "{err}");
    let err = prepared.finish(&mut out, &[0x30, 0x03, 0x02, 0x01, 0x01]).unwrap_err();
    assert!(err.to_string().contains("does not verify"), "{err}");
}
