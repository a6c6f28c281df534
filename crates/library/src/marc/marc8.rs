//! MARC-8 text (the character encoding of MARC records made before UTF-8, leader position 09
//! blank) converted to Unicode for the Latin scripts: ASCII plus the ANSEL extended Latin set,
//! which carries every letter and mark Vietnamese needs (Ơ ơ Ư ư Đ đ, the hook above, the dot
//! below). MARC-8 writes a combining mark *before* its base letter; Unicode after, so marks are
//! held until their letter comes and the result is NFC. Records that switch to another MARC-8
//! set (Greek, Cyrillic, Hebrew, Arabic, the East Asian set) are refused with the reason rather
//! than imported with wrong letters: no school library here needs them, and the tables would be
//! larger than this crate.

use unicode_normalization::UnicodeNormalization;

const ESC: u8 = 0x1B;

/// ANSEL's spacing characters (G1, 0xA1–0xC8).
fn spacing(b: u8) -> Option<char> {
    Some(match b {
        0xA1 => 'Ł',
        0xA2 => 'Ø',
        0xA3 => 'Đ',
        0xA4 => 'Þ',
        0xA5 => 'Æ',
        0xA6 => 'Œ',
        0xA7 => '\u{02B9}',
        0xA8 => '·',
        0xA9 => '♭',
        0xAA => '®',
        0xAB => '±',
        0xAC => 'Ơ',
        0xAD => 'Ư',
        0xAE => '\u{02BC}',
        0xB0 => '\u{02BB}',
        0xB1 => 'ł',
        0xB2 => 'ø',
        0xB3 => 'đ',
        0xB4 => 'þ',
        0xB5 => 'æ',
        0xB6 => 'œ',
        0xB7 => '\u{02BA}',
        0xB8 => 'ı',
        0xB9 => '£',
        0xBA => 'ð',
        0xBC => 'ơ',
        0xBD => 'ư',
        0xC0 => '°',
        0xC1 => 'ℓ',
        0xC2 => '℗',
        0xC3 => '©',
        0xC4 => '♯',
        0xC5 => '¿',
        0xC6 => '¡',
        0xC7 => 'ß',
        0xC8 => '€',
        _ => return None,
    })
}

/// ANSEL's combining marks (0xE0–0xFE), written before the letter they sit on.
fn combining(b: u8) -> Option<char> {
    Some(match b {
        0xE0 => '\u{0309}',
        0xE1 => '\u{0300}',
        0xE2 => '\u{0301}',
        0xE3 => '\u{0302}',
        0xE4 => '\u{0303}',
        0xE5 => '\u{0304}',
        0xE6 => '\u{0306}',
        0xE7 => '\u{0307}',
        0xE8 => '\u{0308}',
        0xE9 => '\u{030C}',
        0xEA => '\u{030A}',
        0xEB => '\u{FE20}',
        0xEC => '\u{FE21}',
        0xED => '\u{0315}',
        0xEE => '\u{030B}',
        0xEF => '\u{0310}',
        0xF0 => '\u{0327}',
        0xF1 => '\u{0328}',
        0xF2 => '\u{0323}',
        0xF3 => '\u{0324}',
        0xF4 => '\u{0325}',
        0xF5 => '\u{0333}',
        0xF6 => '\u{0332}',
        0xF7 => '\u{0326}',
        0xF8 => '\u{031C}',
        0xF9 => '\u{032E}',
        0xFA => '\u{FE22}',
        0xFB => '\u{FE23}',
        0xFE => '\u{0313}',
        _ => return None,
    })
}

/// MARC-8 bytes (Latin sets) → NFC text, or why the text cannot be converted.
pub fn to_unicode(bytes: &[u8]) -> Result<String, String> {
    if bytes.is_ascii() && !bytes.contains(&ESC) {
        return Ok(String::from_utf8_lossy(bytes).into_owned());
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    let mut marks: Vec<char> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        i += 1;
        if b == ESC {
            // Back to ASCII or to ANSEL are the only designations we follow.
            let seq = &bytes[i..bytes.len().min(i + 3)];
            let taken = match seq {
                [b'(', b'B', ..] | [b')', b'E', ..] | [b',', b'B', ..] => 2,
                [b's', ..] => 1,
                [b')', b'!', b'E', ..] => 3,
                _ => {
                    let shown: String = seq.iter().map(|&c| if c.is_ascii_graphic() { c as char } else { '?' }).collect();
                    return Err(format!(
                        "the text switches to a MARC-8 character set other than Latin (escape ESC {shown}); convert the file to UTF-8 (MARC-8 Greek, Cyrillic, Hebrew, Arabic and East Asian sets are not converted)"
                    ));
                }
            };
            i += taken;
            continue;
        }
        if let Some(mark) = combining(b) {
            marks.push(mark);
            continue;
        }
        let c = match b {
            0x00..=0x7F => b as char,
            // Non-sort begin/end and the joiners: control codes with no letter.
            0x88 | 0x89 => continue,
            0x8D => '\u{200D}',
            0x8E => '\u{200C}',
            _ => spacing(b).ok_or_else(|| format!("byte 0x{b:02X} is not a character of MARC-8's Latin sets"))?,
        };
        out.push(c);
        out.extend(marks.drain(..));
    }
    if !marks.is_empty() {
        return Err("the text ends with a combining mark that has no letter".to_string());
    }
    Ok(out.nfc().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_letters_and_stacked_marks_convert() {
        // "Nguyễn" in MARC-8: N g u y (circumflex, tilde) e n; "Đặng": Đ (dot below + breve) a n g.
        assert_eq!(to_unicode(b"Nguy\xE3\xE4en").unwrap(), "Nguyễn");
        assert_eq!(to_unicode(b"\xA3\xF2\xE6ang").unwrap(), "Đặng");
        assert_eq!(to_unicode(b"Tr\xBD\xE1\xBCng").unwrap(), "Trường");
        assert_eq!(to_unicode(b"plain ASCII").unwrap(), "plain ASCII");
    }

    #[test]
    fn other_scripts_and_stray_bytes_are_refused_with_the_reason() {
        assert!(to_unicode(b"\x1B(NABC").unwrap_err().contains("other than Latin"));
        assert!(to_unicode(b"abc\xE2").unwrap_err().contains("combining mark"));
        assert!(to_unicode(b"\xAF").unwrap_err().contains("0xAF"));
        assert!(to_unicode(b"\x1B").is_err());
    }
}
