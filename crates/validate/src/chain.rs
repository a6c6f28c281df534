//! Approval chains: the signatures of a document in order, each with the role its field names,
//! checked against the chain a caller expects (`kyso verify --expect-chain teacher,head,...`).

use crate::report::{Indication, Report, msg};

/// Roles and the words that name them in field names (Vietnamese with and without diacritics,
/// and English). Checked in this order: "phó hiệu trưởng" must not be taken for "hiệu trưởng".
const ROLE_WORDS: &[(&str, &[&str])] = &[
    ("vice_principal", &["vice_principal", "vice principal", "pho hieu truong", "phó hiệu trưởng"]),
    ("head", &["head_of_group", "head", "to truong", "tổ trưởng"]),
    ("principal", &["principal", "hieu truong", "hiệu trưởng"]),
    ("district", &["district_officer", "district", "phong gd", "phòng gd"]),
    ("department", &["department", "so gd", "sở gd"]),
    ("teacher", &["teacher", "giao vien", "giáo viên"]),
    ("librarian", &["librarian", "thu vien", "thư viện"]),
];

/// The role a signature field's name announces, if any.
pub fn role_of_field(field: &str) -> Option<&'static str> {
    let f = field.to_lowercase().replace(['_', '-'], " ");
    ROLE_WORDS.iter().find(|(_, words)| words.iter().any(|w| f.contains(&w.replace('_', " ")))).map(|(role, _)| *role)
}

/// What an expected entry stands for: a role word, else a field name or a signer's name.
fn canonical_role(entry: &str) -> Option<&'static str> {
    let e = entry.trim().to_lowercase().replace(['_', '-'], " ");
    ROLE_WORDS.iter().find(|(role, words)| role.replace('_', " ") == e || words.iter().any(|w| w.replace('_', " ") == e)).map(|(r, _)| *r)
}

/// One line of the comparison.
#[derive(Clone, Debug)]
pub struct ChainStep {
    pub position: usize,
    pub expected: Option<String>,
    pub field: Option<String>,
    pub role: Option<&'static str>,
    pub signer: Option<String>,
    pub ok: bool,
}

#[derive(Clone, Debug)]
pub struct ChainCheck {
    pub steps: Vec<ChainStep>,
    pub ok: bool,
}

/// Compares the document's signatures, in signing order, with `expected`: same number, and each
/// entry names the signature's role (from its field), its field, or its signer. Every signature
/// must also have passed validation: a chain of broken signatures is no chain.
pub fn check_chain(report: &Report, expected: &[String]) -> ChainCheck {
    let n = report.signatures.len().max(expected.len());
    let steps: Vec<ChainStep> = (0..n)
        .map(|i| {
            let sig = report.signatures.get(i);
            let exp = expected.get(i);
            let role = sig.and_then(|s| role_of_field(&s.field));
            let signer = sig.and_then(|s| s.signer.as_ref().map(|g| g.name.clone()));
            let ok = match (sig, exp) {
                (Some(s), Some(e)) => {
                    let named = match canonical_role(e) {
                        Some(r) => role == Some(r),
                        None => s.field.eq_ignore_ascii_case(e.trim()) || signer.as_deref() == Some(e.trim()),
                    };
                    named && s.indication == Indication::TotalPassed
                }
                _ => false,
            };
            ChainStep { position: i + 1, expected: exp.cloned(), field: sig.map(|s| s.field.clone()), role, signer, ok }
        })
        .collect();
    let ok = !steps.is_empty() && steps.iter().all(|s| s.ok);
    ChainCheck { steps, ok }
}

impl ChainCheck {
    /// Plain-words findings for the report.
    pub fn messages(&self) -> Vec<crate::report::Message> {
        self.steps
            .iter()
            .filter(|s| !s.ok)
            .map(|s| match (&s.expected, &s.field) {
                (Some(e), Some(f)) => msg(
                    format!("bước {}: cần \"{e}\", nhưng chữ ký ở trường \"{f}\" không khớp hoặc không hợp lệ", s.position),
                    format!("step {}: expected \"{e}\", but the signature in field \"{f}\" does not match or did not pass", s.position),
                ),
                (Some(e), None) => msg(
                    format!("bước {}: thiếu chữ ký \"{e}\"", s.position),
                    format!("step {}: the \"{e}\" signature is missing", s.position),
                ),
                (None, Some(f)) => msg(
                    format!("bước {}: chữ ký thừa ở trường \"{f}\"", s.position),
                    format!("step {}: unexpected extra signature in field \"{f}\"", s.position),
                ),
                (None, None) => msg("", ""),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::SignatureReport;

    fn sig(field: &str, indication: Indication) -> SignatureReport {
        SignatureReport {
            field: field.into(),
            subfilter: String::new(),
            signer: None,
            signing_time: None,
            timestamp_time: None,
            level: String::new(),
            indication,
            sub_indication: None,
            intact: true,
            coverage: crate::report::Coverage::EntireRevision,
            modifications: crate::report::Modifications::None,
            attacks: vec![],
            messages: vec![],
            digest_algorithm: None,
            trusted: true,
            certification: None,
            revision_end: 0,
        }
    }

    fn report(fields: &[(&str, Indication)]) -> Report {
        Report { revisions: 1, certification: None, signatures: fields.iter().map(|(f, i)| sig(f, *i)).collect(), messages: vec![] }
    }

    fn expect(list: &str) -> Vec<String> {
        list.split(',').map(str::to_string).collect()
    }

    #[test]
    fn roles_come_from_field_names_vice_before_principal() {
        assert_eq!(role_of_field("3 Hieu truong"), Some("principal"));
        assert_eq!(role_of_field("Phó hiệu trưởng"), Some("vice_principal"));
        assert_eq!(role_of_field("2 To truong"), Some("head"));
        assert_eq!(role_of_field("Signature1"), None);
    }

    #[test]
    fn the_chain_must_match_in_order_count_and_validity() {
        use Indication::*;
        let good = report(&[
            ("1 Giao vien", TotalPassed),
            ("2 To truong", TotalPassed),
            ("3 Hieu truong", TotalPassed),
            ("4 Phong GD", TotalPassed),
        ]);
        assert!(check_chain(&good, &expect("teacher,head,principal,district")).ok);
        assert!(check_chain(&good, &expect("giáo viên,tổ trưởng,hiệu trưởng,phòng gd")).ok);
        assert!(!check_chain(&good, &expect("teacher,principal,head,district")).ok, "order matters");
        assert!(!check_chain(&good, &expect("teacher,head,principal")).ok, "an extra signature is reported");
        assert!(!check_chain(&good, &expect("teacher,head,principal,district,department")).ok, "a missing one too");
        let broken = report(&[("1 Giao vien", TotalPassed), ("2 To truong", TotalFailed)]);
        let c = check_chain(&broken, &expect("teacher,head"));
        assert!(!c.ok && c.steps[0].ok && !c.steps[1].ok);
        assert_eq!(c.messages().len(), 1);
    }
}
