//! ISBNs as a catalogue keeps them: checked (length and check digit, by the `isbn` crate) and
//! normalised to ISBN-13 digits, so `604-1-02345-6`, `6041023456` and `978-604-1-02345-?`
//! written differently find the same record. MARC's 020 $a often carries a qualifier after
//! the number ("9786041023456 (pbk.)"): only the leading number is read.

use crate::error::{Result, Rule, invalid};
use std::str::FromStr;

/// The ISBN-13 digits of `text`, or why it is not an ISBN.
pub fn normalise(text: &str) -> Result<String> {
    let number: String = text
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | 'x' | 'X'))
        .filter(|c| !matches!(c, '-' | ' '))
        .collect();
    let parsed = isbn::Isbn::from_str(&number).map_err(|_| invalid("isbn", Rule::Isbn(text.trim().to_string())))?;
    let isbn13 = match parsed {
        isbn::Isbn::_10(ten) => isbn::Isbn13::from(ten),
        isbn::Isbn::_13(thirteen) => thirteen,
    };
    Ok(isbn13.to_string().chars().filter(char::is_ascii_digit).collect())
}

/// The ISBN as people read it, hyphenated by the registration ranges where the range is known
/// (Vietnam's 978-604 and 978-632 are), else the bare digits.
pub fn display(digits: &str) -> String {
    isbn::Isbn13::from_str(digits).ok().and_then(|i| i.hyphenate().ok()).map(|h| h.to_string()).unwrap_or_else(|| digits.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_and_thirteen_digit_forms_normalise_to_the_same_digits() {
        assert_eq!(normalise("0-306-40615-2").unwrap(), "9780306406157");
        assert_eq!(normalise("978-0-306-40615-7").unwrap(), "9780306406157");
        assert_eq!(normalise("0306406152 (pbk.)").unwrap(), "9780306406157");
    }

    #[test]
    fn a_wrong_check_digit_is_refused_with_the_value() {
        let e = normalise("978-0-306-40615-8").unwrap_err().to_string();
        assert!(e.contains("978-0-306-40615-8"), "{e}");
        assert!(normalise("").is_err());
        assert!(normalise("abc").is_err());
    }

    #[test]
    fn vietnamese_isbns_are_hyphenated_by_their_range() {
        let digits = normalise("9786041234567").unwrap();
        assert!(display(&digits).starts_with("978-604-"), "{}", display(&digits));
        assert_eq!(display(&digits).chars().filter(char::is_ascii_digit).collect::<String>(), digits);
    }
}
