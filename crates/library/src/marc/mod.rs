//! MARC21 in and out. Reading: [`iso2709`] and [`marcxml`] give each record of a file or the
//! reason it could not be read; [`Description`] is what the catalogue keeps in columns (title,
//! responsibility, ISBN, subjects…), taken from the fields Koha and the LoC's MARC21 concise
//! format name. Writing uses marctk (ISO 2709 and MARCXML); the record as imported is kept
//! whole, so an export gives back every field, not only the ones we show.

pub mod iso2709;
pub mod marc8;
pub mod marcxml;

use marctk::Record;
use serde::Serialize;

/// The two encodings of MARC21 a library exchanges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Iso2709,
    MarcXml,
}

impl Format {
    /// From a media type (`application/marc`, `application/marcxml+xml`) or a file name.
    pub fn from_media_type(media: &str) -> Option<Format> {
        let media = media.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match media.as_str() {
            "application/marc" => Some(Format::Iso2709),
            "application/marcxml+xml" | "application/xml" | "text/xml" => Some(Format::MarcXml),
            _ => None,
        }
    }

    /// By content: MARCXML starts with `<` (after an optional BOM and whitespace).
    pub fn sniff(bytes: &[u8]) -> Format {
        let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'<') => Format::MarcXml,
            _ => Format::Iso2709,
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Format::Iso2709 => "application/marc",
            Format::MarcXml => "application/marcxml+xml",
        }
    }
}

/// Every record of `bytes`, read or refused with the reason; `Err` when the file as a whole
/// cannot be read (XML that is not well-formed).
pub fn read(bytes: &[u8], format: Format) -> Result<Vec<Result<Record, String>>, String> {
    match format {
        Format::Iso2709 => Ok(iso2709::records(bytes)),
        Format::MarcXml => marcxml::records(bytes),
    }
}

/// What the catalogue shows and searches, taken from a record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Description {
    pub title: String,
    pub responsibility: String,
    pub publisher: String,
    pub place: String,
    pub year: String,
    pub edition: String,
    /// ISBN-13 digits of the first valid 020 $a.
    pub isbn: Option<String>,
    pub language: String,
    pub classification: String,
    pub subjects: Vec<String>,
    pub summary: String,
}

/// ISBD punctuation that closes a MARC subfield (" /", " :", ",") is not part of the value.
fn clean(value: &str) -> String {
    let v = value.trim().trim_end_matches([' ', '/', ':', ';', ',', '=']).trim();
    let v = if v.ends_with('.') && !v.ends_with("..") && v.len() > 3 { &v[..v.len() - 1] } else { v };
    v.trim().to_string()
}

fn first(record: &Record, tags: &[&str], code: &str) -> String {
    tags.iter().find_map(|t| record.get_field_values(t, code).into_iter().map(clean).find(|v| !v.is_empty())).unwrap_or_default()
}

fn joined(record: &Record, tag: &str, codes: &[&str]) -> String {
    let Some(field) = record.get_fields(tag).into_iter().next() else { return String::new() };
    let parts: Vec<String> =
        field.subfields().iter().filter(|s| codes.contains(&s.code())).map(|s| clean(s.content())).filter(|s| !s.is_empty()).collect();
    parts.join(" ")
}

impl Description {
    /// The description of a MARC21 record, or of a UNIMARC one (no 245, a 200: such records
    /// turn up in mixed batches, and older Vietnamese catalogues were kept in UNIMARC).
    pub fn of(record: &Record) -> Description {
        if record.get_fields("245").is_empty() && !record.get_fields("200").is_empty() {
            return Self::of_unimarc(record);
        }
        let fixed = record.get_control_fields("008").first().map(|c| c.content().to_string()).unwrap_or_default();
        let from_fixed = |range: std::ops::Range<usize>| fixed.get(range).map(str::trim).unwrap_or("").to_string();
        let mut year: String = first(record, &["264", "260"], "c").chars().filter(char::is_ascii_digit).take(4).collect();
        if year.len() != 4 {
            year = from_fixed(7..11).chars().filter(char::is_ascii_digit).collect();
        }
        let mut language = first(record, &["041"], "a");
        if language.is_empty() {
            language = from_fixed(35..38);
        }
        let isbn = record.get_field_values("020", "a").into_iter().find_map(|v| crate::isbn::normalise(v).ok());
        let mut subjects = Vec::new();
        for tag in ["650", "600", "610", "611", "630", "651", "653", "655"] {
            for field in record.get_fields(tag) {
                let parts: Vec<String> = field
                    .subfields()
                    .iter()
                    .filter(|s| matches!(s.code(), "a" | "b" | "c" | "d" | "t" | "v" | "x" | "y" | "z"))
                    .map(|s| clean(s.content()))
                    .filter(|s| !s.is_empty())
                    .collect();
                if !parts.is_empty() {
                    subjects.push(parts.join(" -- "));
                }
            }
        }
        let responsibility = match first(record, &["100", "110", "111"], "a") {
            a if a.is_empty() => first(record, &["245"], "c"),
            a => a,
        };
        Description {
            title: joined(record, "245", &["a", "b", "n", "p"]),
            responsibility,
            publisher: first(record, &["264", "260"], "b"),
            place: first(record, &["264", "260"], "a"),
            year,
            edition: first(record, &["250"], "a"),
            isbn,
            language,
            classification: first(record, &["082", "084", "080", "050"], "a"),
            subjects,
            summary: first(record, &["520"], "a"),
        }
    }

    fn of_unimarc(record: &Record) -> Description {
        let isbn = record.get_field_values("010", "a").into_iter().find_map(|v| crate::isbn::normalise(v).ok());
        let subjects = ["606", "600", "601", "607", "610"]
            .iter()
            .flat_map(|t| record.get_fields(t))
            .map(|f| {
                let parts: Vec<String> = f
                    .subfields()
                    .iter()
                    .filter(|s| matches!(s.code(), "a" | "x" | "y" | "z"))
                    .map(|s| clean(s.content()))
                    .filter(|s| !s.is_empty())
                    .collect();
                parts.join(" -- ")
            })
            .filter(|s| !s.is_empty())
            .collect();
        let person = record.get_fields("700").first().map(|f| {
            let parts: Vec<String> = f
                .subfields()
                .iter()
                .filter(|s| matches!(s.code(), "a" | "b"))
                .map(|s| clean(s.content()))
                .filter(|s| !s.is_empty())
                .collect();
            parts.join(", ")
        });
        Description {
            title: joined(record, "200", &["a", "e"]),
            responsibility: person.filter(|p| !p.is_empty()).unwrap_or_else(|| first(record, &["200"], "f")),
            publisher: first(record, &["210"], "c"),
            place: first(record, &["210"], "a"),
            year: first(record, &["210"], "d").chars().filter(char::is_ascii_digit).take(4).collect(),
            edition: first(record, &["205"], "a"),
            isbn,
            language: first(record, &["101"], "a"),
            classification: first(record, &["676", "675", "686"], "a"),
            subjects,
            summary: first(record, &["330"], "a"),
        }
    }

    /// A minimal MARC21 record for a title catalogued by hand.
    pub fn to_record(&self) -> Result<Record, String> {
        let mut r = Record::new();
        r.set_leader("00000nam a2200000 i 4500")?;
        let mut add = |tag: &str, subfields: &[(&str, &str)]| -> Result<(), String> {
            if subfields.iter().all(|(_, v)| v.is_empty()) {
                return Ok(());
            }
            // Built here and pushed (tags come in order): marctk 0.7's `add_data_field` hands
            // back the first field, not the new one, when it appends.
            let mut f = marctk::Field::new(tag)?;
            for (code, value) in subfields.iter().filter(|(_, v)| !v.is_empty()) {
                f.add_subfield(*code, *value)?;
            }
            r.fields_mut().push(f);
            Ok(())
        };
        add("020", &[("a", self.isbn.as_deref().unwrap_or(""))])?;
        add("041", &[("a", &self.language)])?;
        add("084", &[("a", &self.classification)])?;
        add("100", &[("a", &self.responsibility)])?;
        add("245", &[("a", &self.title)])?;
        add("250", &[("a", &self.edition)])?;
        add("264", &[("a", &self.place), ("b", &self.publisher), ("c", &self.year)])?;
        add("520", &[("a", &self.summary)])?;
        for s in &self.subjects {
            add("653", &[("a", s)])?;
        }
        Ok(r)
    }
}

/// Makes a record storable as MARCXML, which cannot carry C0 control characters: a leader
/// with stray control bytes (seen in the wild at positions 20–23, which MARC21 fixes as
/// `4500`) is repaired; a control character inside a field's text refuses the record with
/// the field named, rather than being silently dropped.
pub fn tidy(record: &mut Record) -> Result<(), String> {
    let bad = |c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r');
    if record.leader().chars().any(bad) {
        let mut leader: Vec<char> = record.leader().chars().map(|c| if bad(c) { ' ' } else { c }).collect();
        if leader.len() == 24 {
            leader.splice(20..24, "4500".chars());
        }
        record.set_leader(leader.into_iter().collect::<String>())?;
    }
    for cf in record.control_fields() {
        if cf.content().chars().any(bad) {
            return Err(format!("field {} holds a control character, which MARCXML cannot carry", cf.tag()));
        }
    }
    for f in record.fields() {
        if f.ind1().chars().chain(f.ind2().chars()).any(bad)
            || f.subfields().iter().any(|s| s.content().chars().any(bad) || s.code().chars().any(bad))
        {
            return Err(format!("field {} holds a control character, which MARCXML cannot carry", f.tag()));
        }
    }
    Ok(())
}

/// Records as one ISO 2709 file (UTF-8, leader 09 = `a`).
pub fn to_iso2709(records: &[Record]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for r in records {
        out.extend(r.to_binary()?);
    }
    Ok(out)
}

/// Records as one MARCXML collection.
pub fn to_marcxml(records: &[Record]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<collection xmlns=\"http://www.loc.gov/MARC21/slim\">\n");
    for r in records {
        out.push_str(&record_xml(r));
        out.push('\n');
    }
    out.push_str("</collection>\n");
    out
}

/// One record as a MARCXML `<record>` element (no declaration), as the catalogue stores it.
pub fn record_xml(record: &Record) -> String {
    record.to_xml_string_ops(&marctk::xml::XmlOptions { formatted: false, with_xml_declaration: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_survives_a_round_trip_through_both_encodings() {
        let d = Description {
            title: "Tiếng Việt 1".into(),
            responsibility: "Bùi Mạnh Hùng".into(),
            publisher: "Giáo dục Việt Nam".into(),
            place: "Hà Nội".into(),
            year: "2020".into(),
            isbn: Some("9786041234567".into()),
            language: "vie".into(),
            classification: "372.6".into(),
            subjects: vec!["Tiếng Việt".into(), "Sách giáo khoa".into()],
            ..Default::default()
        };
        let r = d.to_record().unwrap();
        let bin = to_iso2709(std::slice::from_ref(&r)).unwrap();
        let back = iso2709::records(&bin).remove(0).unwrap();
        assert_eq!(Description::of(&back), d);
        let xml = to_marcxml(&[r]);
        let back = marcxml::records(xml.as_bytes()).unwrap().remove(0).unwrap();
        assert_eq!(Description::of(&back), d);
    }

    #[test]
    fn formats_are_told_apart() {
        assert_eq!(Format::sniff(b"  <?xml"), Format::MarcXml);
        assert_eq!(Format::sniff(b"00714cam"), Format::Iso2709);
        assert_eq!(Format::from_media_type("application/marc"), Some(Format::Iso2709));
        assert_eq!(Format::from_media_type("application/marcxml+xml; charset=utf-8"), Some(Format::MarcXml));
    }
}
