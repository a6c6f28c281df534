//! `kyso-ltv`: the network side of long-term validation: an RFC 3161 timestamping client, an
//! OCSP client and AIA caIssuers fetching, over HTTP with bounded timeouts so a hanging service
//! never blocks a signer. The checks on what comes back live in `kyso-pades` (`tsp`, `ocsp`).
#![forbid(unsafe_code)]

mod gate;

pub use gate::{GateRefusal, LocalCrls, OnlineChecker, RevocationGate};

use std::time::Duration;

/// A TSA reached over HTTP(S).
pub struct HttpTsa {
    url: String,
    client: reqwest::blocking::Client,
}

impl HttpTsa {
    pub fn new(url: &str, timeout: Duration) -> Result<Self, String> {
        Ok(Self { url: url.to_string(), client: client(timeout)? })
    }
}

impl kyso_pades::tsp::TimestampSource for HttpTsa {
    fn request(&self, request_der: &[u8]) -> Result<Vec<u8>, String> {
        let resp =
            self.client.post(&self.url).header("Content-Type", "application/timestamp-query").body(request_der.to_vec()).send().map_err(
                |e| {
                    if e.is_timeout() {
                        format!("the TSA at {} did not answer in time", self.url)
                    } else {
                        format!("cannot reach the TSA at {}: {e}", self.url)
                    }
                },
            )?;
        if !resp.status().is_success() {
            return Err(format!("the TSA at {} answered HTTP {}", self.url, resp.status().as_u16()));
        }
        resp.bytes().map(|b| b.to_vec()).map_err(|e| format!("cannot read the TSA's answer: {e}"))
    }
}

fn client(timeout: Duration) -> Result<reqwest::blocking::Client, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {e}"))
}

/// What the revocation check at signing time found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// Good, with the DER OCSP response (to embed for long-term validation).
    Good {
        responder: String,
        response: Vec<u8>,
    },
    Revoked {
        since: String,
    },
    /// The responder does not know the certificate.
    Unknown,
    /// No answer could be had (no responder named, unreachable, malformed): the reason.
    Unavailable(String),
}

/// Asks the OCSP responder named in `cert`'s AIA about it. `issuer` is found in `pool`, or
/// fetched from the AIA caIssuers URL.
pub fn check_ocsp(cert: &x509_cert::Certificate, pool: &[x509_cert::Certificate], timeout: Duration) -> Revocation {
    let Some(url) = kyso_pades::ocsp::responder_url(cert) else {
        return Revocation::Unavailable("the certificate names no OCSP responder".into());
    };
    let issuer = match pool
        .iter()
        .find(|c| c.tbs_certificate().subject() == cert.tbs_certificate().issuer() && kyso_pades::certinfo::issued_by(cert, c))
    {
        Some(i) => i.clone(),
        None => match fetch_issuer(cert, timeout) {
            Ok(i) => i,
            Err(e) => return Revocation::Unavailable(e),
        },
    };
    let http = match client(timeout) {
        Ok(c) => c,
        Err(e) => return Revocation::Unavailable(e),
    };
    let req = match kyso_pades::ocsp::request(cert, &issuer) {
        Ok(r) => r,
        Err(e) => return Revocation::Unavailable(e.to_string()),
    };
    let resp = match http.post(&url).header("Content-Type", "application/ocsp-request").body(req).send() {
        Ok(r) if r.status().is_success() => r.bytes().map(|b| b.to_vec()).map_err(|e| e.to_string()),
        Ok(r) => Err(format!("the OCSP responder at {url} answered HTTP {}", r.status().as_u16())),
        Err(e) if e.is_timeout() => Err(format!("the OCSP responder at {url} did not answer in time")),
        Err(e) => Err(format!("cannot reach the OCSP responder at {url}: {e}")),
    };
    match resp.and_then(|der| kyso_pades::ocsp::check_response(&der, cert, &issuer).map(|s| (s, der)).map_err(|e| e.to_string())) {
        Ok((kyso_pades::ocsp::Status::Good, der)) => Revocation::Good { responder: url, response: der },
        Ok((kyso_pades::ocsp::Status::Revoked(since), _)) => Revocation::Revoked { since },
        Ok((kyso_pades::ocsp::Status::Unknown, _)) => Revocation::Unknown,
        Err(e) => Revocation::Unavailable(e),
    }
}

/// Fetches the issuer named by the certificate's AIA caIssuers URL (DER or PEM).
pub fn fetch_issuer(cert: &x509_cert::Certificate, timeout: Duration) -> Result<x509_cert::Certificate, String> {
    let url = kyso_pades::certinfo::aia_url(cert, const_oid::db::rfc5280::ID_AD_CA_ISSUERS)
        .ok_or("the certificate names no issuer URL (AIA caIssuers)")?;
    let bytes =
        client(timeout)?.get(&url).send().and_then(|r| r.bytes()).map_err(|e| format!("cannot fetch the issuer from {url}: {e}"))?;
    let certs = kyso_pades::certinfo::parse_certificates(&bytes).map_err(|e| format!("{url}: {e}"))?;
    certs.into_iter().next().ok_or_else(|| format!("{url} holds no certificate"))
}

/// Downloads the CRL named first in the certificate's CRL distribution points (DER). The CRL is
/// embedded as found; checking it is the validator's job.
pub fn fetch_crl(cert: &x509_cert::Certificate, timeout: Duration) -> Result<Vec<u8>, String> {
    let url = crl_url(cert).ok_or("the certificate names no CRL URL")?;
    let resp = client(timeout)?.get(&url).send().map_err(|e| format!("cannot fetch the CRL at {url}: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("the CRL at {url} answered HTTP {}", resp.status().as_u16()));
    }
    resp.bytes().map(|b| b.to_vec()).map_err(|e| format!("cannot read the CRL at {url}: {e}"))
}

/// The CRL distribution point URL of `cert` (the first HTTP one).
fn crl_url(cert: &x509_cert::Certificate) -> Option<String> {
    use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
    let (_, dps) = cert.tbs_certificate().get_extension::<x509_cert::ext::pkix::CrlDistributionPoints>().ok().flatten()?;
    dps.0.iter().find_map(|dp| match &dp.distribution_point {
        Some(DistributionPointName::FullName(names)) => names.iter().find_map(|n| match n {
            GeneralName::UniformResourceIdentifier(u) => Some(u.to_string()),
            _ => None,
        }),
        _ => None,
    })
}

fn find_issuer(
    cert: &x509_cert::Certificate,
    pool: &[x509_cert::Certificate],
    timeout: Duration,
) -> Result<x509_cert::Certificate, String> {
    match pool.iter().find(|c| c.tbs_certificate().subject() == cert.tbs_certificate().issuer() && kyso_pades::certinfo::issued_by(cert, c))
    {
        Some(i) => Ok(i.clone()),
        None => fetch_issuer(cert, timeout),
    }
}

/// Looks `cert` up in the CRL its distribution point names (signature and issuer checked).
pub fn check_crl(cert: &x509_cert::Certificate, pool: &[x509_cert::Certificate], timeout: Duration) -> Revocation {
    let issuer = match find_issuer(cert, pool, timeout) {
        Ok(i) => i,
        Err(e) => return Revocation::Unavailable(e),
    };
    let url = crl_url(cert).unwrap_or_default();
    match fetch_crl(cert, timeout).and_then(|der| kyso_pades::crl::check(&der, cert, &issuer).map(|s| (s, der)).map_err(|e| e.to_string()))
    {
        Ok((kyso_pades::crl::CrlStatus::NotRevoked { .. }, der)) => Revocation::Good { responder: format!("CRL {url}"), response: der },
        Ok((kyso_pades::crl::CrlStatus::Revoked { since }, _)) => Revocation::Revoked { since: unix_to_generalized(since) },
        Err(e) => Revocation::Unavailable(e),
    }
}

pub(crate) fn unix_to_generalized(secs: u64) -> String {
    der::DateTime::from_unix_duration(Duration::from_secs(secs))
        .map(|t| format!("{:04}{:02}{:02}{:02}{:02}{:02}Z", t.year(), t.month(), t.day(), t.hour(), t.minutes(), t.seconds()))
        .unwrap_or_default()
}

/// The signing-time check of Vietnam's rules: OCSP first, then the latest CRL when the responder
/// cannot answer. `Unavailable` carries both reasons.
pub fn check_revocation(cert: &x509_cert::Certificate, pool: &[x509_cert::Certificate], timeout: Duration) -> Revocation {
    match check_ocsp(cert, pool, timeout) {
        Revocation::Unavailable(ocsp_why) => match check_crl(cert, pool, timeout) {
            Revocation::Unavailable(crl_why) => Revocation::Unavailable(format!("OCSP: {ocsp_why}; CRL: {crl_why}")),
            other => other,
        },
        Revocation::Unknown => match check_crl(cert, pool, timeout) {
            Revocation::Unavailable(_) => Revocation::Unknown,
            other => other,
        },
        other => other,
    }
}

/// Signing-time revocation answers kept for as long as they hold: a good answer until the
/// evidence's own next update (at most `max_age`), an unreachable service for a minute, so a
/// busy server neither asks the CA for every signature nor hammers a responder that is down.
pub struct RevocationCache {
    entries: std::sync::Mutex<std::collections::HashMap<Vec<u8>, (Revocation, u64)>>,
    /// One fetch at a time per certificate: fifty signatures arriving together ask once.
    fetching: std::sync::Mutex<std::collections::HashMap<Vec<u8>, std::sync::Arc<std::sync::Mutex<()>>>>,
    max_age: u64,
}

impl RevocationCache {
    pub fn new(max_age: Duration) -> Self {
        RevocationCache { entries: Default::default(), fetching: Default::default(), max_age: max_age.as_secs() }
    }

    /// The answer kept for `cert`, if it still holds at `now` (never blocks on the network).
    pub fn cached(&self, cert: &x509_cert::Certificate, now: u64) -> Option<Revocation> {
        use der::Encode;
        let key = cert.to_der().ok()?;
        self.entries.lock().expect("cache lock").get(&key).filter(|(_, until)| *until > now).map(|(answer, _)| answer.clone())
    }

    /// [`check_revocation`], answered from the cache while the last answer still holds at `now`.
    pub fn check(&self, cert: &x509_cert::Certificate, pool: &[x509_cert::Certificate], timeout: Duration, now: u64) -> Revocation {
        use der::Encode;
        if let Some(answer) = self.cached(cert, now) {
            return answer;
        }
        let key = cert.to_der().unwrap_or_default();
        let gate = self.fetching.lock().expect("cache lock").entry(key.clone()).or_default().clone();
        let _one_fetch = gate.lock().unwrap_or_else(|e| e.into_inner());
        // Whoever held the gate before may have fetched the answer meanwhile.
        if let Some(answer) = self.cached(cert, now) {
            return answer;
        }
        let answer = check_revocation(cert, pool, timeout);
        let until = match &answer {
            Revocation::Good { response, .. } => {
                now + evidence_lifetime(response, cert, pool, now).unwrap_or(self.max_age).min(self.max_age)
            }
            Revocation::Revoked { .. } => u64::MAX,
            Revocation::Unknown | Revocation::Unavailable(_) => now + 60,
        };
        self.entries.lock().expect("cache lock").insert(key, (answer.clone(), until));
        answer
    }
}

/// Seconds until the evidence's next update (OCSP nextUpdate or CRL nextUpdate), if it says.
fn evidence_lifetime(der: &[u8], cert: &x509_cert::Certificate, pool: &[x509_cert::Certificate], now: u64) -> Option<u64> {
    let issuer = pool.iter().find(|c| kyso_pades::certinfo::issued_by(cert, c))?;
    if let Ok(kyso_pades::crl::CrlStatus::NotRevoked { next_update: Some(next), .. }) = kyso_pades::crl::check(der, cert, issuer) {
        return next.checked_sub(now);
    }
    kyso_pades::ocsp::next_update(der).and_then(|next| next.checked_sub(now))
}

/// Validation material for the DSS: every certificate, and an OCSP response (when the
/// certificate names a responder) and a CRL (when it names one) for each non-root certificate.
pub fn gather(certs: &[x509_cert::Certificate], timeout: Duration) -> Result<kyso_pdf::ValidationData, String> {
    gather_with(certs, timeout, &LocalCrls::default())
}

/// [`gather`], with the operator's local CRLs where the network gives none.
pub fn gather_with(certs: &[x509_cert::Certificate], timeout: Duration, local: &LocalCrls) -> Result<kyso_pdf::ValidationData, String> {
    use der::Encode;
    let mut cert_ders = Vec::new();
    let (mut ocsps, mut crls) = (Vec::new(), Vec::new());
    for c in certs {
        let der = c.to_der().map_err(|e| e.to_string())?;
        if cert_ders.contains(&der) {
            continue;
        }
        cert_ders.push(der);
        if c.tbs_certificate().subject() == c.tbs_certificate().issuer() {
            continue; // a self-signed root has no revocation data
        }
        match check_ocsp(c, certs, timeout) {
            Revocation::Good { response, .. } => ocsps.push(response),
            Revocation::Revoked { since } => return Err(format!("{} was revoked (since {since})", c.tbs_certificate().subject())),
            Revocation::Unknown | Revocation::Unavailable(_) => {}
        }
        if let Some(crl) = fetch_crl(c, timeout).ok().or_else(|| local.for_certificate(c, certs))
            && !crls.contains(&crl)
        {
            crls.push(crl);
        }
    }
    Ok(kyso_pdf::ValidationData { certs: cert_ders, ocsps, crls })
}
