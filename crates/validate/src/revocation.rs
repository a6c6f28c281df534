//! Was the signer's certificate revoked? The file's own evidence first (the DSS, the CMS's CRLs,
//! Adobe's revocation-info attribute), then, unless validation is offline, the network through
//! the caller's [`OnlineRevocation`]. The validator does no I/O itself.

use crate::report::{Indication, SignatureReport, msg};
use der::Encode;
use kyso_pades::crl::CrlStatus;
use kyso_pades::ocsp::Status;
use x509_cert::Certificate;

/// What the network said about a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OnlineAnswer {
    /// Not revoked, and where that came from (an OCSP responder or a CRL URL).
    Good {
        source: String,
    },
    Revoked {
        since_unix: u64,
    },
    Unavailable(String),
}

/// The caller's way to ask OCSP responders and CRL distribution points (kyso-ltv over HTTP, for
/// the CLI); `None` in the context means offline.
pub trait OnlineRevocation: Send + Sync {
    fn check(&self, cert: &Certificate, pool: &[Certificate]) -> OnlineAnswer;
}

/// Revocation evidence carried by the file.
#[derive(Default)]
pub struct Evidence {
    pub ocsps: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
}

/// adbe-revocationInfoArchival (1.2.840.113583.1.1.8), a signed attribute of PDF signatures.
#[derive(der::Sequence)]
struct RevocationInfoArchival {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    crl: Option<Vec<der::asn1::Any>>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    ocsp: Option<Vec<der::asn1::Any>>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    other: Option<der::asn1::Any>,
}

const ADBE_REVOCATION_INFO: const_oid::ObjectIdentifier = const_oid::ObjectIdentifier::new_unwrap("1.2.840.113583.1.1.8");

/// The CRLs in the SignedData's `crls` and the Adobe attribute's CRLs and OCSP responses.
pub fn from_cms(sd: &cms::signed_data::SignedData, into: &mut Evidence) {
    for choice in sd.crls.iter().flat_map(|c| c.0.iter()) {
        if let cms::revocation::RevocationInfoChoice::Crl(crl) = choice
            && let Ok(der) = crl.to_der()
        {
            into.crls.push(der);
        }
    }
    for si in sd.signer_infos.0.iter() {
        for attr in si.signed_attrs.iter().flat_map(|a| a.iter()).filter(|a| a.oid == ADBE_REVOCATION_INFO) {
            let Some(Ok(archive)) = attr.values.iter().next().map(|v| v.decode_as::<RevocationInfoArchival>()) else { continue };
            let _ = &archive.other;
            into.crls.extend(archive.crl.iter().flatten().filter_map(|c| c.to_der().ok()));
            into.ocsps.extend(archive.ocsp.iter().flatten().filter_map(|o| o.to_der().ok()));
        }
    }
}

enum Finding {
    Good(String),
    Revoked(u64),
}

/// Judges the signer's revocation status and records it in `r` (which has passed so far).
/// `proven_time` is the signature timestamp's time: a revocation after it does not undo a
/// signature proven to exist before.
pub fn judge(
    r: &mut SignatureReport,
    signer: &Certificate,
    pool: &[Certificate],
    evidence: &Evidence,
    online: Option<&dyn OnlineRevocation>,
    proven_time: Option<u64>,
) {
    let issuer = pool.iter().find(|c| kyso_pades::certinfo::issued_by(signer, c));
    let mut finding = None;
    if let Some(issuer) = issuer {
        for der in &evidence.ocsps {
            match kyso_pades::ocsp::check_response(der, signer, issuer) {
                Ok(Status::Revoked(t)) => finding = Some(Finding::Revoked(kyso_pades::ocsp::parse_generalized_time(&t).unwrap_or(0))),
                Ok(Status::Good) if finding.is_none() => finding = Some(Finding::Good("OCSP (trong tệp / embedded)".into())),
                _ => {}
            }
        }
        for der in &evidence.crls {
            match kyso_pades::crl::check(der, signer, issuer) {
                Ok(CrlStatus::Revoked { since }) => finding = Some(Finding::Revoked(since)),
                Ok(CrlStatus::NotRevoked { .. }) if finding.is_none() => finding = Some(Finding::Good("CRL (trong tệp / embedded)".into())),
                _ => {}
            }
        }
    }
    if finding.is_none()
        && let Some(online) = online
    {
        match online.check(signer, pool) {
            OnlineAnswer::Good { source } => finding = Some(Finding::Good(source)),
            OnlineAnswer::Revoked { since_unix } => finding = Some(Finding::Revoked(since_unix)),
            OnlineAnswer::Unavailable(why) => {
                r.indication = Indication::Indeterminate;
                r.sub_indication = Some("TRY_LATER".into());
                r.messages.push(msg(
                    format!("không kiểm tra được tình trạng thu hồi chứng thư: {why}"),
                    format!("the certificate's revocation status cannot be checked now: {why}"),
                ));
                return;
            }
        }
    }
    match finding {
        None => r.messages.push(msg(
            "chưa kiểm tra tình trạng thu hồi chứng thư (kiểm tra ngoại tuyến, tệp không kèm dữ liệu thu hồi)",
            "revocation status not checked (offline validation, and the file carries no revocation data)",
        )),
        Some(Finding::Good(source)) => {
            r.messages.push(msg(format!("chứng thư chưa bị thu hồi ({source})"), format!("the certificate is not revoked ({source})")))
        }
        Some(Finding::Revoked(since)) => {
            let when = der::DateTime::from_unix_duration(std::time::Duration::from_secs(since)).map(|d| d.to_string()).unwrap_or_default();
            if proven_time.is_some_and(|t| t < since) {
                r.messages.push(msg(
                    format!("chứng thư bị thu hồi từ {when}, sau thời điểm ký đã được dấu thời gian chứng minh"),
                    format!("the certificate was revoked on {when}, after the signing time the timestamp proves"),
                ));
            } else {
                r.indication = Indication::TotalFailed;
                r.sub_indication = Some("REVOKED".into());
                r.trusted = false;
                r.messages.push(msg(
                    format!("chứng thư số của người ký đã bị thu hồi từ {when}"),
                    format!("the signer's certificate was revoked on {when}"),
                ));
            }
        }
    }
}
