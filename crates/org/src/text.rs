//! Input hygiene for text people type (titles, names, reasons): normalised to NFC, trimmed,
//! bounded, and refused when it carries control characters or invisible and direction-changing
//! characters (U+202E and friends make a title read differently from what it is).

use crate::error::{InputRule, OrgError, Result};
use unicode_normalization::UnicodeNormalization;

/// Characters that change how text reads without being seen: bidirectional overrides and
/// isolates, zero-width spaces and joiners, the byte-order mark, soft hyphen, word joiner.
fn invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// A single-line text field: NFC, trimmed, 1 to `max` characters, no control or invisible
/// characters. `field` names it in the error.
pub fn line(value: &str, field: &'static str, max: usize) -> Result<String> {
    let v: String = value.nfc().collect::<String>().trim().to_string();
    check(&v, field, max, false)?;
    Ok(v)
}

/// Like [`line`], but line breaks and tabs are allowed (a return reason, a narrative).
pub fn paragraph(value: &str, field: &'static str, max: usize) -> Result<String> {
    let v: String = value.nfc().collect::<String>().trim().to_string();
    check(&v, field, max, true)?;
    Ok(v)
}

/// Like [`line`], but empty is allowed (and gives `None`).
pub fn optional_line(value: Option<&str>, field: &'static str, max: usize) -> Result<Option<String>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => line(v, field, max).map(Some),
    }
}

fn check(v: &str, field: &'static str, max: usize, multiline: bool) -> Result<()> {
    let invalid = |rule| Err(OrgError::Invalid { field, rule });
    if v.is_empty() {
        return invalid(InputRule::Empty);
    }
    if v.chars().count() > max {
        return invalid(InputRule::TooLong(max));
    }
    if v.chars().any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'))) {
        return invalid(InputRule::ControlCharacters);
    }
    if v.chars().any(invisible) {
        return invalid(InputRule::InvisibleCharacters);
    }
    Ok(())
}

/// Folds Vietnamese text for search and matching without diacritics: NFD, combining marks
/// dropped, đ/Đ → d, lower case. `Giáo án Ngữ văn` → `giao an ngu van`; `Đặng` → `dang`.
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| match c {
            'đ' | 'Đ' => 'd',
            other => other,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// A person's name as certificates and records are compared: NFC, spaces collapsed.
pub fn person_name(text: &str) -> String {
    text.nfc().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_cleaned_or_refused() {
        assert_eq!(line("  Giáo án Ngữ văn 6 ", "title", 300).unwrap(), "Giáo án Ngữ văn 6");
        // NFD input comes out NFC.
        let nfd: String = "Hướng".nfd().collect();
        assert_ne!(nfd, "Hướng");
        assert_eq!(line(&nfd, "title", 300).unwrap(), "Hướng".nfc().collect::<String>());
        for bad in ["", "   ", "a\u{0}b", "abc\u{202E}gnp.exe", "zero\u{200B}width", "\u{FEFF}bom"] {
            assert!(line(bad, "title", 300).is_err(), "{bad:?} accepted");
        }
        assert!(matches!(line(&"x".repeat(301), "title", 300), Err(OrgError::Invalid { rule: InputRule::TooLong(300), .. })));
        assert!(paragraph("line one\nline two", "reason", 2000).is_ok());
        assert!(line("line one\nline two", "title", 300).is_err());
    }

    #[test]
    fn folding_drops_marks_and_folds_d() {
        assert_eq!(fold("Giáo án Ngữ văn lớp 6"), "giao an ngu van lop 6");
        assert_eq!(fold("Đặng Thu Thư"), "dang thu thu");
        assert_eq!(fold("HƯƠNG"), "huong");
    }
}
