//! Does a certificate belong to a person? The subject's common name must be the person's name
//! (NFC, spaces collapsed; case and diacritics exact), and an identity number the subject carries
//! (CCCD/CMND, tax code in `UID` or `serialNumber`) must be the person's recorded one.

use x509_cert::Certificate;

/// Why a certificate does not match a person, in words for the administrator.
pub fn mismatch(cert: &Certificate, full_name: &str, id_number: Option<&str>) -> Option<String> {
    let cn = kyso_org::text::person_name(&kyso_pades::certinfo::subject_common_name(cert));
    let name = kyso_org::text::person_name(full_name);
    if cn != name {
        return Some(format!("the certificate is issued to \"{cn}\", the person is \"{name}\""));
    }
    let numbers = kyso_pades::certinfo::subject_identity_numbers(cert);
    if numbers.is_empty() {
        return None;
    }
    let Some(recorded) = id_number.map(|n| n.replace('-', "")) else {
        return Some(format!(
            "the certificate carries identity number {}, and the person has none recorded: record it first",
            numbers.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join(", ")
        ));
    };
    if numbers.iter().any(|(_, n)| n.replace('-', "") == recorded) {
        None
    } else {
        Some(format!(
            "the certificate carries identity number {}, the person's record says {recorded}",
            numbers.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join(", ")
        ))
    }
}
