//! Revocation where policy decides: the signing-time gate Vietnam's rules ask for (OCSP, else the
//! latest CRL; revoked → refused; unanswerable → warn, or refuse when required), CRL files the
//! operator provides for networks that cannot reach the CA (a school's offline LAN, the demo),
//! and the adapter through which the validator asks the network.

use crate::{Revocation, RevocationCache, check_revocation};
use std::time::Duration;
use x509_cert::Certificate;

/// CRLs the operator downloaded and gave the server (`--crl FILE`): used when neither the OCSP
/// responder nor the CRL distribution point answers, and only while fresh.
#[derive(Clone, Default)]
pub struct LocalCrls(Vec<Vec<u8>>);

impl LocalCrls {
    pub fn new(ders: Vec<Vec<u8>>) -> Self {
        LocalCrls(ders)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The DER CRLs, for a DSS.
    pub fn ders(&self) -> &[Vec<u8>] {
        &self.0
    }

    /// Looks `cert` up in a local CRL by its issuer (found in `pool`) that is current at `now`.
    pub fn check(&self, cert: &Certificate, pool: &[Certificate], now: u64) -> Option<Revocation> {
        let issuer = pool.iter().find(|c| kyso_pades::certinfo::issued_by(cert, c))?;
        for der in &self.0 {
            match kyso_pades::crl::check(der, cert, issuer) {
                Ok(kyso_pades::crl::CrlStatus::NotRevoked { this_update, next_update })
                    if this_update <= now && next_update.is_none_or(|n| n > now) =>
                {
                    return Some(Revocation::Good { responder: "local CRL".into(), response: der.clone() });
                }
                Ok(kyso_pades::crl::CrlStatus::Revoked { since }) => {
                    return Some(Revocation::Revoked { since: crate::unix_to_generalized(since) });
                }
                _ => {}
            }
        }
        None
    }

    /// The local CRL issued by `cert`'s issuer, if there is one: checked against the issuer when
    /// `pool` holds it, else matched by the issuer's name (the validator checks its signature).
    pub fn for_certificate(&self, cert: &Certificate, pool: &[Certificate]) -> Option<Vec<u8>> {
        use der::Decode;
        match pool.iter().find(|c| kyso_pades::certinfo::issued_by(cert, c)) {
            Some(issuer) => self.0.iter().find(|der| kyso_pades::crl::check(der, cert, issuer).is_ok()).cloned(),
            None => self
                .0
                .iter()
                .find(|der| {
                    <x509_cert::crl::CertificateList>::from_der(der)
                        .is_ok_and(|l| &l.tbs_cert_list.issuer == cert.tbs_certificate().issuer())
                })
                .cloned(),
        }
    }
}

/// Why the gate refused a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateRefusal {
    #[error("the certificate was revoked (since {since}); signing refused")]
    Revoked { since: String },
    #[error("the certificate's revocation status cannot be checked now: {0}")]
    Unavailable(String),
}

/// The signing-time revocation check, with answers kept while they hold.
pub struct RevocationGate {
    cache: RevocationCache,
    local: LocalCrls,
    /// Refuse when no answer can be had (otherwise sign with a warning).
    require: bool,
    timeout: Duration,
}

impl RevocationGate {
    pub fn new(local: LocalCrls, require: bool, timeout: Duration) -> Self {
        RevocationGate { cache: RevocationCache::new(Duration::from_secs(3600)), local, require, timeout }
    }

    pub fn local_crls(&self) -> &LocalCrls {
        &self.local
    }

    /// The kept answer for `chain`'s signer, without touching the network.
    pub fn cached(&self, chain: &[Certificate], now: u64) -> Option<Result<String, GateRefusal>> {
        let answer = self.cache.cached(chain.first()?, now)?;
        Some(self.judge(answer, chain, now))
    }

    /// Checks `chain`'s signer (chain\[0\]): what was found, for the audit entry, or the refusal.
    /// Blocks on the network when no answer is kept.
    pub fn check(&self, chain: &[Certificate], now: u64) -> Result<String, GateRefusal> {
        let Some(signer) = chain.first() else { return Err(GateRefusal::Unavailable("no certificate".into())) };
        let answer = self.cache.check(signer, chain, self.timeout, now);
        self.judge(answer, chain, now)
    }

    fn judge(&self, answer: Revocation, chain: &[Certificate], now: u64) -> Result<String, GateRefusal> {
        let answer = match answer {
            Revocation::Unavailable(why) => match self.local.check(&chain[0], chain, now) {
                Some(local) => local,
                None => Revocation::Unavailable(why),
            },
            other => other,
        };
        match answer {
            Revocation::Good { responder, .. } => Ok(format!("good ({responder})")),
            Revocation::Revoked { since } => Err(GateRefusal::Revoked { since }),
            other => {
                let why = match other {
                    Revocation::Unavailable(why) => why,
                    _ => "the OCSP responder does not know the certificate".into(),
                };
                if self.require {
                    return Err(GateRefusal::Unavailable(why));
                }
                tracing::warn!(reason = %why, "signing without a revocation answer");
                Ok(format!("not checked: {why}"))
            }
        }
    }
}

/// The validator's way to the network: OCSP, then the CRL distribution point, then the
/// operator's local CRLs.
pub struct OnlineChecker {
    pub timeout: Duration,
    pub local: LocalCrls,
    /// The validation time, for judging local CRLs.
    pub now: u64,
}

impl kyso_validate::OnlineRevocation for OnlineChecker {
    fn check(&self, cert: &Certificate, pool: &[Certificate]) -> kyso_validate::OnlineAnswer {
        let answer = match check_revocation(cert, pool, self.timeout) {
            Revocation::Unavailable(why) => self.local.check(cert, pool, self.now).unwrap_or(Revocation::Unavailable(why)),
            other => other,
        };
        match answer {
            Revocation::Good { responder, .. } => kyso_validate::OnlineAnswer::Good { source: responder },
            Revocation::Revoked { since } => {
                kyso_validate::OnlineAnswer::Revoked { since_unix: kyso_pades::ocsp::parse_generalized_time(&since).unwrap_or(0) }
            }
            Revocation::Unknown => kyso_validate::OnlineAnswer::Unavailable("the OCSP responder does not know the certificate".into()),
            Revocation::Unavailable(why) => kyso_validate::OnlineAnswer::Unavailable(why),
        }
    }
}
