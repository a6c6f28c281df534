//! The ETSI TS 119 102-2 (v1.2.1) validation report: one `SignatureValidationReport` per
//! signature with its identifier, validation time, signing time, signer, the validation process
//! (the PAdES level) and the status as ETSI URNs. Written by hand: a dozen element kinds, no XML
//! library needed; every text and attribute goes through [`escape`].

use kyso_validate::{Indication, Report, SignatureReport};
use std::fmt::Write;

const NS: &str = "http://uri.etsi.org/19102/v1.2.1#";
const DS: &str = "http://www.w3.org/2000/09/xmldsig#";

/// XML text and attribute escaping (`&`, `<`, `>`, `"`, `'`), and control characters XML 1.0
/// cannot carry dropped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

fn main_indication(i: Indication) -> &'static str {
    match i {
        Indication::TotalPassed => "urn:etsi:019102:mainindication:total-passed",
        Indication::TotalFailed => "urn:etsi:019102:mainindication:total-failed",
        Indication::Indeterminate => "urn:etsi:019102:mainindication:indeterminate",
    }
}

/// `20261129103005Z` or `D:20261129173005+07'00'` → `2026-11-29T10:30:05Z`, when it parses.
fn xml_time(text: &str) -> Option<String> {
    let t = text.trim_start_matches("D:");
    let d: Vec<u32> = [(0, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14)]
        .iter()
        .map(|&(a, b)| t.get(a..b).and_then(|x| x.parse().ok()))
        .collect::<Option<_>>()?;
    let rest = &t[14..];
    let rest = rest.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let offset_minutes: i64 = match rest.chars().next() {
        None | Some('Z') => 0,
        Some(sign @ ('+' | '-')) => {
            let digits: String = rest[1..].chars().filter(char::is_ascii_digit).collect();
            let h: i64 = digits.get(0..2)?.parse().ok()?;
            let m: i64 = digits.get(2..4).and_then(|x| x.parse().ok()).unwrap_or(0);
            if sign == '+' { h * 60 + m } else { -(h * 60 + m) }
        }
        _ => return None,
    };
    let local = der::DateTime::new(d[0] as u16, d[1] as u8, d[2] as u8, d[3] as u8, d[4] as u8, d[5] as u8).ok()?;
    let utc = local.unix_duration().as_secs() as i64 - offset_minutes * 60;
    let u = der::DateTime::from_unix_duration(std::time::Duration::from_secs(utc.max(0) as u64)).ok()?;
    Some(format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", u.year(), u.month(), u.day(), u.hour(), u.minutes(), u.seconds()))
}

fn process_id(level: &str) -> &'static str {
    match level {
        "PAdES-B-LTA" | "DOCUMENT-TIMESTAMP" => "urn:etsi:019102:validationprocess:LTA",
        "PAdES-B-LT" | "PAdES-B-T" => "urn:etsi:019102:validationprocess:LTVM",
        _ => "urn:etsi:019102:validationprocess:Basic",
    }
}

fn signature_report(out: &mut String, i: usize, s: &SignatureReport, validation_time: &str) {
    let _ = writeln!(out, "  <SignatureValidationReport>");
    let _ = writeln!(out, "    <SignatureIdentifier id=\"S-{}\">", i + 1);
    let _ = writeln!(out, "      <HashOnly>false</HashOnly>\n      <DocHashOnly>false</DocHashOnly>");
    let _ = writeln!(out, "      <DAIdentifier>{}</DAIdentifier>", escape(&s.field));
    let _ = writeln!(out, "    </SignatureIdentifier>");
    let _ = writeln!(out, "    <ValidationTimeInfo>\n      <ValidationTime>{validation_time}</ValidationTime>");
    if let Some(poe) = s.timestamp_time.as_deref().and_then(xml_time) {
        let _ = writeln!(
            out,
            "      <BestSignatureTime>\n        <POETime>{poe}</POETime>\n        <TypeOfProof>validation</TypeOfProof>\n      </BestSignatureTime>"
        );
    }
    let _ = writeln!(out, "    </ValidationTimeInfo>");
    if let Some(t) = s.signing_time.as_deref().and_then(xml_time) {
        let _ = writeln!(
            out,
            "    <SignatureAttributes>\n      <SigningTime Signed=\"true\">\n        <Time>{t}</Time>\n      </SigningTime>\n    </SignatureAttributes>"
        );
    }
    if let Some(g) = &s.signer {
        let _ = writeln!(
            out,
            "    <SignerInformation>\n      <SignerCertificate VOReference=\"C-{}\"/>\n      <Signer>{}</Signer>\n    </SignerInformation>",
            i + 1,
            escape(&g.name)
        );
    }
    let _ = writeln!(
        out,
        "    <SignatureValidationProcess>\n      <SignatureValidationProcessID>{}</SignatureValidationProcessID>\n    </SignatureValidationProcess>",
        process_id(&s.level)
    );
    let _ = writeln!(out, "    <SignatureValidationStatus>\n      <MainIndication>{}</MainIndication>", main_indication(s.indication));
    if let Some(sub) = &s.sub_indication {
        let _ = writeln!(out, "      <SubIndication>urn:etsi:019102:subindication:{}</SubIndication>", escape(sub));
    }
    for m in &s.messages {
        let _ = writeln!(
            out,
            "      <AssociatedValidationReportData>\n        <AdditionalValidationReportData>\n          <ReportData>\n            <Type>urn:kyso:message</Type>\n            <Value>{}</Value>\n          </ReportData>\n        </AdditionalValidationReportData>\n      </AssociatedValidationReportData>",
            escape(&m.en)
        );
    }
    let _ = writeln!(out, "    </SignatureValidationStatus>");
    let _ = writeln!(out, "  </SignatureValidationReport>");
}

/// The report as ETSI TS 119 102-2 XML. `validation_time` is ISO 8601 UTC (`2026-11-29T10:30:05Z`).
pub fn to_etsi_xml(r: &Report, validation_time: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let _ = writeln!(out, "<ValidationReport xmlns=\"{NS}\" xmlns:ds=\"{DS}\">");
    for (i, s) in r.signatures.iter().enumerate() {
        signature_report(&mut out, i, s, validation_time);
    }
    let certs: Vec<(usize, &kyso_validate::Signer)> =
        r.signatures.iter().enumerate().filter_map(|(i, s)| s.signer.as_ref().map(|g| (i, g))).collect();
    if !certs.is_empty() {
        let _ = writeln!(out, "  <SignatureValidationObjects>");
        for (i, g) in certs {
            let _ = writeln!(
                out,
                "    <ValidationObject id=\"C-{}\">\n      <ObjectType>urn:etsi:019102:validationObject:certificate</ObjectType>\n      <ValidationObjectRepresentation>\n        <DigestAlgAndValue>\n          <ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\n          <ds:DigestValue>{}</ds:DigestValue>\n        </DigestAlgAndValue>\n      </ValidationObjectRepresentation>\n    </ValidationObject>",
                i + 1,
                hex_to_base64(&g.certificate_sha256)
            );
        }
        let _ = writeln!(out, "  </SignatureValidationObjects>");
    }
    let _ = writeln!(
        out,
        "  <SignatureValidator>\n    <DigitalId>\n      <ds:X509SubjectName>Kyso {}</ds:X509SubjectName>\n    </DigitalId>\n  </SignatureValidator>",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(out, "</ValidationReport>");
    out
}

fn hex_to_base64(hex: &str) -> String {
    use base64::Engine;
    let bytes: Vec<u8> = (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_times() {
        assert_eq!(escape("a<b>&\"c'\u{1}"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(xml_time("D:20261130005149+07'00'").as_deref(), Some("2026-11-29T17:51:49Z"));
        assert_eq!(xml_time("20261129175149.123Z").as_deref(), Some("2026-11-29T17:51:49Z"));
        assert_eq!(xml_time("garbage"), None);
        assert_eq!(hex_to_base64("00ff10"), "AP8Q");
        assert_eq!(hex_to_base64("00ff"), "AP8=");
    }
}
