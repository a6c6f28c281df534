//! ISO 2709 (MARC21 "binary") records, read as pymarc reads them: a record is framed by the
//! length in its leader, its fields are found through the directory from the base address,
//! and a damaged record is refused with the reason while the ones after it are still read.
//! Every offset and length comes from the file, so every slice here is checked; nothing in a
//! hostile file can make the reader panic or allocate more than the file's size.

use super::marc8;
use marctk::{Controlfield, Field, Record, Subfield};

const END_OF_FIELD: u8 = 0x1E;
const END_OF_RECORD: u8 = 0x1D;
const SUBFIELD_DELIMITER: u8 = 0x1F;
const LEADER_LEN: usize = 24;
const ENTRY_LEN: usize = 12;

/// The records of an ISO 2709 file in order: each one read, or the reason it could not be.
pub fn records(data: &[u8]) -> Vec<Result<Record, String>> {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        // Files concatenated by hand often carry a newline between records: not a record.
        while pos < data.len() && data[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if pos >= data.len() {
            return out;
        }
        let rest = &data[pos..];
        let Some(length) = rest.get(..5).and_then(digits) else {
            out.push(Err("the record length (leader positions 00-04) is not a number".to_string()));
            pos = resync(data, pos);
            continue;
        };
        if length < LEADER_LEN + 2 {
            out.push(Err(format!("the leader gives a record length of {length} bytes, shorter than a leader and a directory")));
            pos = resync(data, pos);
            continue;
        }
        if rest.len() < length {
            out.push(Err(format!("the record is cut short: its leader says {length} bytes, the file has {} left", rest.len())));
            return out;
        }
        let chunk = &rest[..length];
        pos += length;
        if chunk[length - 1] != END_OF_RECORD {
            out.push(Err(format!("the record does not end where its leader says (no end-of-record mark at byte {length})")));
            continue;
        }
        out.push(decode(chunk));
    }
}

/// After a record whose length cannot be trusted: the byte after the next end-of-record mark.
fn resync(data: &[u8], from: usize) -> usize {
    data[from..].iter().position(|&b| b == END_OF_RECORD).map_or(data.len(), |i| from + i + 1)
}

fn digits(bytes: &[u8]) -> Option<usize> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// One framed record (ending with its end-of-record mark) → a record with UTF-8 text.
pub fn decode(chunk: &[u8]) -> Result<Record, String> {
    let leader = chunk.get(..LEADER_LEN).filter(|l| l.is_ascii()).ok_or("the leader is not 24 ASCII characters")?;
    let utf8 = leader[9] == b'a';
    let base = digits(&leader[12..17]).ok_or("the base address of data (leader positions 12-16) is not a number")?;
    if base <= LEADER_LEN || base >= chunk.len() {
        return Err(format!("the base address of data ({base}) lies outside the record"));
    }
    let directory = &chunk[LEADER_LEN..base - 1];
    if !directory.is_ascii() || !directory.len().is_multiple_of(ENTRY_LEN) {
        return Err("the directory is damaged (not whole 12-character entries)".to_string());
    }
    let mut record = Record::new();
    // The record is kept as UTF-8 whatever it came in: position 09 says so.
    let mut leader_text = String::from_utf8_lossy(leader).into_owned();
    leader_text.replace_range(9..10, "a");
    record.set_leader(leader_text)?;
    let mut count = 0;
    for entry in directory.chunks_exact(ENTRY_LEN) {
        let tag = std::str::from_utf8(&entry[..3]).map_err(|_| "a directory tag is not text")?;
        let (Some(len), Some(offset)) = (digits(&entry[3..7]), digits(&entry[7..12])) else {
            return Err(format!("the directory entry for field {tag} has no valid length or position"));
        };
        // As pymarc (and Python slicing) does: the field is what lies between its start and
        // the byte before its end-of-field mark, clipped to the record.
        let start = (base + offset).min(chunk.len());
        let end = (base + offset + len).saturating_sub(1).clamp(start, chunk.len());
        let data = &chunk[start..end];
        let data = data.strip_suffix(&[END_OF_FIELD]).unwrap_or(data);
        if tag < "010" && tag.bytes().all(|b| b.is_ascii_digit()) {
            let text = text_of(data, utf8).map_err(|e| format!("field {tag}: {e}"))?;
            record.control_fields_mut().push(Controlfield::new(tag, text)?);
        } else {
            record.fields_mut().push(data_field(tag, data, utf8).map_err(|e| format!("field {tag}: {e}"))?);
        }
        count += 1;
    }
    if count == 0 {
        return Err("the record has no fields".to_string());
    }
    Ok(record)
}

fn data_field(tag: &str, data: &[u8], utf8: bool) -> Result<Field, String> {
    let mut field = Field::new(tag)?;
    let mut parts = data.split(|&b| b == SUBFIELD_DELIMITER);
    // Two indicators by the standard; records in the wild have one or none.
    let indicators = parts.next().unwrap_or_default();
    if !indicators.is_ascii() {
        return Err("the indicators are not ASCII".to_string());
    }
    let ind = |i: usize| indicators.get(i).map_or(" ".to_string(), |&b| (b as char).to_string());
    field.set_ind1(ind(0))?;
    field.set_ind2(ind(1))?;
    for part in parts.filter(|p| !p.is_empty()) {
        let code = part[0];
        if !code.is_ascii_graphic() {
            return Err("a subfield has no code".to_string());
        }
        let value = text_of(&part[1..], utf8)?;
        field.subfields_mut().push(Subfield::new((code as char).to_string(), value)?);
    }
    Ok(field)
}

fn text_of(bytes: &[u8], utf8: bool) -> Result<String, String> {
    if utf8 {
        return String::from_utf8(bytes.to_vec()).map_err(|_| "the leader says UTF-8 but the text is not valid UTF-8".to_string());
    }
    marc8::to_unicode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(tag: &str, body: &str) -> Vec<u8> {
        let mut r = Record::new();
        r.set_leader("00000nam a2200000 a 4500").unwrap();
        r.add_data_field(tag).unwrap().add_subfield("a", body).unwrap();
        r.to_binary().unwrap()
    }

    #[test]
    fn a_record_written_by_marctk_reads_back() {
        let bytes = one("245", "Giáo án Ngữ văn lớp 6");
        let got = records(&bytes);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].as_ref().unwrap().get_field_values("245", "a"), ["Giáo án Ngữ văn lớp 6"]);
    }

    #[test]
    fn damage_is_a_reason_for_that_record_and_the_next_record_is_still_read() {
        let good = one("245", "Tắt đèn");
        let mut damaged = one("245", "Số đỏ");
        let last = damaged.len() - 1;
        damaged[last] = b'x';
        let file = [damaged.clone(), good.clone()].concat();
        let got = records(&file);
        assert_eq!(got.len(), 2);
        assert!(got[0].as_ref().unwrap_err().contains("end-of-record"));
        assert!(got[1].is_ok());
        // A lying base address, a non-numeric length, a truncated tail: reasons, never panics.
        let mut bad_base = good.clone();
        bad_base[12..17].copy_from_slice(b"99999");
        assert!(records(&bad_base)[0].as_ref().unwrap_err().contains("base address"));
        assert!(records(b"abcde")[0].is_err());
        assert!(records(&good[..good.len() - 3])[0].as_ref().unwrap_err().contains("cut short"));
        for cut in 0..good.len() {
            let _ = records(&good[..cut]);
            let mut flipped = good.clone();
            flipped[cut] ^= 0xFF;
            let _ = records(&flipped);
        }
    }
}
