//! Certificate path building and checking (RFC 5280 §6, the parts a signature validator needs):
//! from the signer up through the certificates at hand to a configured trust anchor, each
//! signature verified, validity at the validation time, CA basic constraints and key usage.

use crate::cms_check::scheme_for;
use der::Encode;
use kyso_keys::DigestAlgorithm;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};

#[derive(Debug)]
pub enum PathFailure {
    /// No path to any trust anchor.
    NoChain(String),
    /// A certificate on the path is outside its validity period at the validation time.
    Expired(String),
    /// A certificate on the path breaks RFC 5280 (signature, CA flag, key usage).
    Invalid(String),
}

fn subject(c: &Certificate) -> String {
    c.tbs_certificate().subject().to_string()
}

/// Verifies `child`'s signature with `issuer`'s public key.
fn signed_by(child: &Certificate, issuer: &Certificate) -> bool {
    let Ok(tbs) = child.tbs_certificate().to_der() else { return false };
    let Ok(spki) = issuer.tbs_certificate().subject_public_key_info().to_der() else { return false };
    let alg = child.signature_algorithm();
    let Ok(sig_alg) = scheme_for(alg.oid, &alg.parameters, DigestAlgorithm::Sha256) else { return false };
    let digest = sig_alg.digest.digest(&tbs);
    let Some(sig) = child.signature().as_bytes() else { return false };
    kyso_keys::verify_digest(&spki, sig_alg, &digest, sig).is_ok()
}

fn is_ca(c: &Certificate) -> bool {
    matches!(c.tbs_certificate().get_extension::<BasicConstraints>(), Ok(Some((_, bc))) if bc.ca)
}

fn may_sign_certificates(c: &Certificate) -> bool {
    match c.tbs_certificate().get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) => ku.0.contains(KeyUsages::KeyCertSign),
        Ok(None) => true,
        Err(_) => false,
    }
}

fn valid_at(c: &Certificate, unix: u64) -> bool {
    let v = c.tbs_certificate().validity();
    v.not_before.to_unix_duration().as_secs() <= unix && unix <= v.not_after.to_unix_duration().as_secs()
}

/// Builds a path from `signer` to one of `anchors`, using `pool` for intermediates. Returns the
/// subjects from the signer to the anchor.
pub fn build(signer: &Certificate, pool: &[Certificate], anchors: &[Certificate], at_unix: u64) -> Result<Vec<String>, PathFailure> {
    if let Ok(Some((_, ku))) = signer.tbs_certificate().get_extension::<KeyUsage>()
        && !(ku.0.contains(KeyUsages::DigitalSignature) || ku.0.contains(KeyUsages::NonRepudiation))
    {
        return Err(PathFailure::Invalid("the signer's certificate does not allow digital signatures (key usage)".into()));
    }
    let mut path = vec![signer.clone()];
    for _ in 0..8 {
        let current = path.last().expect("path starts with the signer").clone();
        // A trust anchor issued (or is) the current certificate.
        if let Some(anchor) = anchors
            .iter()
            .find(|a| *a == &current || (a.tbs_certificate().subject() == current.tbs_certificate().issuer() && signed_by(&current, a)))
        {
            if anchor != &current {
                path.push(anchor.clone());
            }
            for c in &path {
                if !valid_at(c, at_unix) {
                    return Err(PathFailure::Expired(format!("{} is not valid at the validation time", subject(c))));
                }
            }
            return Ok(path.iter().map(subject).collect());
        }
        let issuer = pool
            .iter()
            .find(|c| c.tbs_certificate().subject() == current.tbs_certificate().issuer() && !path.contains(c) && signed_by(&current, c))
            .cloned();
        match issuer {
            Some(i) => {
                if !is_ca(&i) || !may_sign_certificates(&i) {
                    return Err(PathFailure::Invalid(format!("{} is not a CA allowed to sign certificates", subject(&i))));
                }
                path.push(i);
            }
            None => break,
        }
    }
    Err(PathFailure::NoChain(format!("no path from {} to a trusted root", subject(signer))))
}
