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

/// The most signatures one path building checks: a CMS stuffed with thousands of certificates
/// that all claim the issuer's name cannot make validation take seconds.
pub const MAX_SIGNATURE_CHECKS: usize = 64;
/// The most certificates of a file considered for paths (a CMS's, a DSS's).
pub const MAX_POOL: usize = 256;
/// The longest path tried (signer, intermediates, anchor).
const MAX_DEPTH: usize = 8;

/// What a search learned on the way, for the message when it finds no path.
#[derive(Default)]
struct Search {
    checks: usize,
    /// A candidate issuer that verified but may not issue certificates.
    not_a_ca: Option<String>,
}

impl Search {
    fn signed_by(&mut self, child: &Certificate, issuer: &Certificate) -> bool {
        self.checks += 1;
        self.checks <= MAX_SIGNATURE_CHECKS && signed_by(child, issuer)
    }
}

/// Depth-first: from the path's last certificate to an anchor, trying every candidate issuer (so
/// one impostor with the right name, or the right key and a broken signature, cannot hide the
/// real path), within the signature-check budget.
fn extend(path: &mut Vec<Certificate>, pool: &[Certificate], anchors: &[Certificate], search: &mut Search) -> bool {
    let current = path.last().expect("path starts with the signer").clone();
    for a in anchors {
        if a == &current {
            return true;
        }
        if a.tbs_certificate().subject() == current.tbs_certificate().issuer() && search.signed_by(&current, a) {
            path.push(a.clone());
            return true;
        }
    }
    if path.len() >= MAX_DEPTH {
        return false;
    }
    for c in pool {
        if search.checks > MAX_SIGNATURE_CHECKS {
            return false;
        }
        if c.tbs_certificate().subject() != current.tbs_certificate().issuer() || path.contains(c) || !search.signed_by(&current, c) {
            continue;
        }
        if !is_ca(c) || !may_sign_certificates(c) {
            search.not_a_ca = Some(subject(c));
            continue;
        }
        path.push(c.clone());
        if extend(path, pool, anchors, search) {
            return true;
        }
        path.pop();
    }
    false
}

/// Builds a path from `signer` to one of `anchors`, using `pool` for intermediates. Returns the
/// subjects from the signer to the anchor. Bounded: at most [`MAX_SIGNATURE_CHECKS`] signatures
/// are verified and [`MAX_POOL`] certificates of the pool considered.
pub fn build(signer: &Certificate, pool: &[Certificate], anchors: &[Certificate], at_unix: u64) -> Result<Vec<String>, PathFailure> {
    let pool = &pool[..pool.len().min(MAX_POOL)];
    if let Ok(Some((_, ku))) = signer.tbs_certificate().get_extension::<KeyUsage>()
        && !(ku.0.contains(KeyUsages::DigitalSignature) || ku.0.contains(KeyUsages::NonRepudiation))
    {
        return Err(PathFailure::Invalid("the signer's certificate does not allow digital signatures (key usage)".into()));
    }
    let mut path = vec![signer.clone()];
    let mut search = Search::default();
    if extend(&mut path, pool, anchors, &mut search) {
        for c in &path {
            if !valid_at(c, at_unix) {
                return Err(PathFailure::Expired(format!("{} is not valid at the validation time", subject(c))));
            }
        }
        return Ok(path.iter().map(subject).collect());
    }
    if search.checks > MAX_SIGNATURE_CHECKS {
        return Err(PathFailure::NoChain(format!(
            "path building for {} gave up after {MAX_SIGNATURE_CHECKS} signature checks (the file carries too many certificates claiming to be issuers)",
            subject(signer)
        )));
    }
    if let Some(ca) = search.not_a_ca {
        return Err(PathFailure::Invalid(format!("{ca} is not a CA allowed to sign certificates")));
    }
    Err(PathFailure::NoChain(format!("no path from {} to a trusted root", subject(signer))))
}
