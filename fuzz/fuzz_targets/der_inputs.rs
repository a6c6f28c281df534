//! The DER parsers fed by outside parties: OCSP responses and CRLs (from responders and from
//! files), timestamp responses (from TSAs), key files (PKCS#8, PKCS#12) and certificates.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let certs = kyso_pades::certinfo::parse_certificates(include_bytes!("../../testdata/pki/issuing-ca.cert.pem")).unwrap_or_default();
    if let Some(issuer) = certs.first() {
        let _ = kyso_pades::ocsp::check_response(data, issuer, issuer);
        let _ = kyso_pades::crl::check(data, issuer, issuer);
        let _ = kyso_pades::ocsp::next_update(data);
    }
    let _ = kyso_pades::certinfo::parse_certificates(data);
    let _ = kyso_keys::SoftwareKey::from_pkcs8(data, None);
    let _ = kyso_keys::SoftwareKey::from_pkcs12(data, "password");
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = kyso_pades::ocsp::parse_generalized_time(text);
    }
});
