//! `kyso-report`: the report schema lives here. JSON (stable field names, documented in
//! `docs/report-schema.md`) and text for people, Vietnamese by default, showing what Vietnam's
//! rules require a verifier to show: signer, issuer, signing time or timestamp, integrity,
//! validity, and the certificate's validity period.
#![forbid(unsafe_code)]

pub mod etsi;

use kyso_validate::chain::ChainCheck;
use kyso_validate::{Message, Report, SignatureReport};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Vi,
    En,
}

fn text(m: &Message, lang: Lang) -> &str {
    match lang {
        Lang::Vi => &m.vi,
        Lang::En => &m.en,
    }
}

fn signature_json(s: &SignatureReport) -> Value {
    json!({
        "field": s.field,
        "subfilter": s.subfilter,
        "signer": s.signer.as_ref().map(|g| json!({
            "name": g.name,
            "organization": g.organization,
            "issuer": g.issuer,
            "certificate_sha256": g.certificate_sha256,
            "not_before": g.not_before,
            "not_after": g.not_after,
            "chain": g.chain,
        })),
        "signing_time": s.signing_time,
        "timestamp_time": s.timestamp_time,
        "level": s.level,
        "indication": s.indication.as_str(),
        "sub_indication": s.sub_indication,
        "intact": s.intact,
        "trusted": s.trusted,
        "coverage": s.coverage.as_str(),
        "modifications": s.modifications.as_str(),
        "attacks": s.attacks.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        "digest_algorithm": s.digest_algorithm,
        "certification": s.certification,
        "messages": s.messages.iter().map(|m| json!({"vi": m.vi, "en": m.en})).collect::<Vec<_>>(),
    })
}

/// The JSON report (schema version 1).
pub fn to_json(r: &Report) -> String {
    let v = json!({
        "schema": "kyso-validation-report/1",
        "indication": r.overall().as_str(),
        "signatures": r.signatures.iter().map(signature_json).collect::<Vec<_>>(),
        "document": {
            "revisions": r.revisions,
            "certification": r.certification,
            "messages": r.messages.iter().map(|m| json!({"vi": m.vi, "en": m.en})).collect::<Vec<_>>(),
        },
    });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

/// The text report for people.
pub fn to_text(r: &Report, lang: Lang) -> String {
    let vi = lang == Lang::Vi;
    let t = |a: &'static str, b: &'static str| if vi { a } else { b };
    let mut out = String::new();
    let overall = match r.overall().as_str() {
        "TOTAL-PASSED" => t("HỢP LỆ", "VALID"),
        "TOTAL-FAILED" => t("KHÔNG HỢP LỆ", "INVALID"),
        _ => t("CHƯA XÁC ĐỊNH", "INDETERMINATE"),
    };
    out.push_str(&format!(
        "{}: {overall} ({} {}, {} {})\n",
        t("Kết quả", "Result"),
        r.signatures.len(),
        t("chữ ký", "signature(s)"),
        r.revisions,
        t("phiên bản", "revision(s)")
    ));
    for m in &r.messages {
        out.push_str(&format!("  ! {}\n", text(m, lang)));
    }
    for (i, s) in r.signatures.iter().enumerate() {
        out.push_str(&format!("\n{} {} — {} \"{}\"\n", t("Chữ ký", "Signature"), i + 1, t("trường", "field"), s.field));
        if let Some(g) = &s.signer {
            out.push_str(&format!(
                "  {}: {}{}\n",
                t("Người ký", "Signer"),
                g.name,
                g.organization.as_ref().map(|o| format!(" — {o}")).unwrap_or_default()
            ));
            out.push_str(&format!("  {}: {}\n", t("Tổ chức cấp chứng thư", "Issuer"), g.issuer));
            out.push_str(&format!("  {}: {} → {}\n", t("Hiệu lực chứng thư", "Certificate valid"), g.not_before, g.not_after));
        }
        if let Some(m) = &s.signing_time {
            out.push_str(&format!("  {}: {m}\n", t("Thời gian ký (khai báo)", "Signing time (claimed)")));
        }
        if let Some(ts) = &s.timestamp_time {
            out.push_str(&format!("  {}: {ts}\n", t("Dấu thời gian (TSA)", "Timestamp (TSA)")));
        }
        if !s.level.is_empty() {
            out.push_str(&format!("  {}: {}\n", t("Mức chữ ký", "Level"), s.level));
        }
        out.push_str(&format!(
            "  {}: {}\n",
            t("Toàn vẹn", "Integrity"),
            if s.intact { t("nguyên vẹn", "intact") } else { t("KHÔNG nguyên vẹn", "NOT intact") }
        ));
        out.push_str(&format!(
            "  {}: {} / {}\n",
            t("Phạm vi, thay đổi sau ký", "Coverage, later changes"),
            s.coverage.as_str(),
            s.modifications.as_str()
        ));
        if !s.attacks.is_empty() {
            out.push_str(&format!(
                "  {}: {}\n",
                t("Tấn công phát hiện", "Attacks detected"),
                s.attacks.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        out.push_str(&format!(
            "  {}: {}{}\n",
            t("Kết luận", "Indication"),
            s.indication.as_str(),
            s.sub_indication.as_ref().map(|x| format!(" ({x})")).unwrap_or_default()
        ));
        for m in &s.messages {
            out.push_str(&format!("  - {}\n", text(m, lang)));
        }
    }
    out
}

fn chain_json(c: &ChainCheck) -> serde_json::Value {
    json!({
        "ok": c.ok,
        "steps": c.steps.iter().map(|s| json!({
            "position": s.position, "expected": s.expected, "field": s.field, "role": s.role, "signer": s.signer, "ok": s.ok,
        })).collect::<Vec<_>>(),
    })
}

/// [`to_json`] with the result of an expected-chain check under `"expected_chain"`.
pub fn to_json_with_chain(r: &Report, chain: Option<&ChainCheck>) -> String {
    let Some(c) = chain else { return to_json(r) };
    let mut v: serde_json::Value = serde_json::from_str(&to_json(r)).unwrap_or_default();
    v["expected_chain"] = chain_json(c);
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

/// [`to_text`] followed by the approval chain as expected and as found.
pub fn to_text_with_chain(r: &Report, chain: Option<&ChainCheck>, lang: Lang) -> String {
    let mut out = to_text(r, lang);
    let Some(c) = chain else { return out };
    let vi = lang == Lang::Vi;
    out.push_str(if vi { "\nQuy trình phê duyệt: " } else { "\nApproval chain: " });
    out.push_str(match (c.ok, vi) {
        (true, true) => "ĐÚNG như yêu cầu\n",
        (true, false) => "as expected\n",
        (false, true) => "KHÔNG đúng như yêu cầu\n",
        (false, false) => "NOT as expected\n",
    });
    for s in &c.steps {
        out.push_str(&format!(
            "  {}. {} {} ← {} ({}{})\n",
            s.position,
            if s.ok { "✓" } else { "✗" },
            s.expected.as_deref().unwrap_or("-"),
            s.field.as_deref().unwrap_or("-"),
            s.role.unwrap_or("?"),
            s.signer.as_ref().map(|n| format!(", {n}")).unwrap_or_default()
        ));
    }
    for m in c.messages() {
        out.push_str(&format!("  - {}\n", text(&m, lang)));
    }
    out
}

/// Breaks a line at spaces so it fits `width` characters (a long word stays whole).
fn wrap(line: &str, width: usize) -> Vec<String> {
    if line.chars().count() <= width {
        return vec![line.to_string()];
    }
    let indent: String = line.chars().take_while(|c| *c == ' ').collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for word in line.split(' ').filter(|w| !w.is_empty()) {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut cur));
        }
        if cur.is_empty() {
            cur.push_str(if out.is_empty() { &indent } else { "      " });
        } else {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The auditor's PDF: the text report (with the chain check, when given) on A4 pages, headed by
/// what was checked (file name, its SHA-256) and when, with page numbers.
pub fn to_pdf(
    r: &Report,
    chain: Option<&ChainCheck>,
    lang: Lang,
    file_name: &str,
    file_sha256: &str,
    validated_at: &str,
) -> kyso_pdf::Result<Vec<u8>> {
    let vi = lang == Lang::Vi;
    let title = if vi { "BÁO CÁO KIỂM TRA CHỮ KÝ SỐ" } else { "DIGITAL SIGNATURE VALIDATION REPORT" };
    let mut head = vec![
        title.to_string(),
        String::new(),
        format!("{}: {file_name}", if vi { "Tệp" } else { "File" }),
        format!("SHA-256: {file_sha256}"),
        format!("{}: {validated_at}", if vi { "Thời điểm kiểm tra" } else { "Validated at" }),
        format!("{}: Kyso {}", if vi { "Phần mềm kiểm tra" } else { "Validator" }, env!("CARGO_PKG_VERSION")),
        String::new(),
    ];
    for line in to_text_with_chain(r, chain, lang).lines() {
        head.extend(wrap(line, 92));
    }
    let pages = kyso_pdf::text_document::paginate(&head, |page, total| {
        format!("{} {page}/{total} — {file_sha256}", if vi { "Trang" } else { "Page" })
    });
    kyso_pdf::text_document::text_pdf(title, &pages)
}

#[cfg(test)]
mod pdf_tests {
    #[test]
    fn long_lines_wrap_at_spaces() {
        let w = super::wrap("  - the signature timestamp is valid and its TSA is trusted by the national root", 30);
        assert!(w.len() > 1 && w.iter().all(|l| l.chars().count() <= 30), "{w:?}");
        assert!(w[0].starts_with("  - "));
    }
}
