//! Class lists as CSV (RFC 4180: commas, double-quoted fields with doubled quotes, CRLF or LF),
//! the form the sector database and spreadsheets export. The header names the columns, in any
//! order: `card_number`, `full_name`, `reader_type`, `class_name`, `username` (or their
//! Vietnamese names `so_the`, `ho_ten`, `loai`, `lop`, `ten_dang_nhap`). A few dozen lines of our
//! own rather than the `csv` crate for one reader (ARCHITECTURE.md).

use crate::error::{LibraryError, Result};
use crate::readers::NewReader;

/// The records of a CSV text: rows of fields; a quote left open is an error naming the line.
pub fn parse(text: &str) -> Result<Vec<Vec<String>>> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let (mut quoted, mut line) = (false, 1);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                line += 1;
                row.push(std::mem::take(&mut field));
                if row.iter().any(|f| !f.trim().is_empty()) {
                    rows.push(std::mem::take(&mut row));
                }
                row.clear();
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(LibraryError::Unreadable(format!("a quoted field opened before line {line} is never closed")));
    }
    row.push(field);
    if row.iter().any(|f| !f.trim().is_empty()) {
        rows.push(row);
    }
    Ok(rows)
}

/// A class list → readers, by the header's column names.
pub fn readers(text: &str) -> Result<Vec<NewReader>> {
    let mut rows = parse(text)?.into_iter();
    let header: Vec<String> =
        rows.next().ok_or_else(|| LibraryError::Unreadable("the file is empty".into()))?.iter().map(|h| h.trim().to_lowercase()).collect();
    let col = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
    let (Some(card), Some(name)) = (col(&["card_number", "so_the"]), col(&["full_name", "ho_ten"])) else {
        return Err(LibraryError::Unreadable("the header must name the columns card_number (so_the) and full_name (ho_ten)".into()));
    };
    let (kind, class, user) = (col(&["reader_type", "loai"]), col(&["class_name", "lop"]), col(&["username", "ten_dang_nhap"]));
    let get = |r: &[String], i: Option<usize>| i.and_then(|i| r.get(i)).map(|v| v.trim().to_string()).unwrap_or_default();
    Ok(rows
        .map(|r| NewReader {
            card_number: get(&r, Some(card)),
            full_name: get(&r, Some(name)),
            reader_type: match get(&r, kind).as_str() {
                "" | "hoc_sinh" | "học sinh" => "student".into(),
                "giao_vien" | "giáo viên" => "teacher".into(),
                other => other.to_string(),
            },
            class_name: get(&r, class),
            username: Some(get(&r, user)).filter(|u| !u.is_empty()),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_doubled_quotes_and_line_breaks() {
        let rows = parse("a,\"b, c\",\"say \"\"hi\"\"\"\r\n\"two\nlines\",x,\n\n").unwrap();
        assert_eq!(rows, [vec!["a", "b, c", "say \"hi\""], vec!["two\nlines", "x", ""]]);
        assert!(parse("a,\"open").unwrap_err().to_string().contains("never closed"));
    }

    #[test]
    fn a_class_list_by_vietnamese_column_names() {
        let list = readers("\u{FEFF}so_the,ho_ten,lop,loai\nHS7A01,Đặng Văn Lâm,7A,học sinh\nGV09,\"Ngô, Thị Hà\",,giáo viên\n").unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(
            (list[0].card_number.as_str(), list[0].full_name.as_str(), list[0].reader_type.as_str()),
            ("HS7A01", "Đặng Văn Lâm", "student")
        );
        assert_eq!((list[1].full_name.as_str(), list[1].reader_type.as_str()), ("Ngô, Thị Hà", "teacher"));
        assert!(readers("name\nx\n").is_err());
    }
}
