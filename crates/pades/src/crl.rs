//! Certificate revocation lists (RFC 5280 §5): is a certificate on its issuer's list? The list
//! must be signed by the issuer and name it; the caller decides what "current" means.

use crate::{Error, Result};
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;

/// What a CRL says about one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CrlStatus {
    /// Not listed. `next_update` (Unix seconds) bounds how long the answer holds.
    NotRevoked { this_update: u64, next_update: Option<u64> },
    /// Listed, with the revocation date (Unix seconds).
    Revoked { since: u64 },
}

fn bad(what: impl Into<String>) -> Error {
    Error::Revocation(what.into())
}

/// Checks the DER CRL `der_crl` (signature, issuer name) and looks `cert` up in it.
pub fn check(der_crl: &[u8], cert: &Certificate, issuer: &Certificate) -> Result<CrlStatus> {
    let crl = CertificateList::from_der(der_crl).map_err(|e| bad(format!("the CRL is malformed: {e}")))?;
    let tbs = &crl.tbs_cert_list;
    if &tbs.issuer != issuer.tbs_certificate().subject() || &tbs.issuer != cert.tbs_certificate().issuer() {
        return Err(bad("the CRL is not the certificate's issuer's"));
    }
    let alg = crate::certinfo::signature_algorithm_of(&crl.signature_algorithm)
        .ok_or_else(|| bad("the CRL uses an unsupported signature algorithm"))?;
    let sig = crl.signature.as_bytes().ok_or_else(|| bad("the CRL signature is not whole bytes"))?;
    let spki = issuer.tbs_certificate().subject_public_key_info().to_der()?;
    kyso_keys::verify_digest(&spki, alg, &alg.digest.digest(&tbs.to_der()?), sig)
        .map_err(|_| bad("the CRL's signature does not verify with its issuer's key"))?;
    let serial = cert.tbs_certificate().serial_number();
    if let Some(entry) = tbs.revoked_certificates.iter().flatten().find(|e| &e.serial_number == serial) {
        return Ok(CrlStatus::Revoked { since: entry.revocation_date.to_unix_duration().as_secs() });
    }
    Ok(CrlStatus::NotRevoked {
        this_update: tbs.this_update.to_unix_duration().as_secs(),
        next_update: tbs.next_update.map(|t| t.to_unix_duration().as_secs()),
    })
}
