//! MARCXML (the Library of Congress's MARC21 slim schema) read into records, strictly: a
//! subfield without a code, a field without a tag or a leader of the wrong length refuses that
//! record with the reason (marctk's own reader drops such a subfield silently, and a library
//! import must not lose text); a file that is not well-formed XML is refused as a whole, since
//! nothing after the damage can be trusted to belong where it seems. Namespaces and prefixes
//! (`marc:record`) are accepted; entity expansion is bounded by xml-rs's limits.

use marctk::{Controlfield, Field, Record, Subfield};
use xml::reader::{ParserConfig2, XmlEvent};

/// Where the text being read goes.
enum Into {
    Nothing,
    Leader,
    Control,
    Subfield,
}

/// The records of a MARCXML document (a `collection` or a single `record`), each read or
/// refused with the reason; `Err` when the document itself is not well-formed.
pub fn records(xml: &[u8]) -> Result<Vec<Result<Record, String>>, String> {
    let config: ParserConfig2 =
        xml::ParserConfig::new().trim_whitespace(false).cdata_to_characters(true).coalesce_characters(true).ignore_comments(true).into();
    let config = config.max_entity_expansion_length(1 << 16).max_entity_expansion_depth(4);
    let mut reader = config.create_reader(xml);
    let mut out = Vec::new();
    let mut current: Option<Record> = None;
    let mut problem: Option<String> = None;
    let mut into = Into::Nothing;
    let mut text = String::new();
    loop {
        let event = reader.next().map_err(|e| format!("the XML is not well-formed: {e}"))?;
        match event {
            XmlEvent::StartElement { name, attributes, .. } => {
                let attr = |n: &str| attributes.iter().find(|a| a.name.local_name == n).map(|a| a.value.clone());
                text.clear();
                match name.local_name.as_str() {
                    "record" => {
                        current = Some(Record::new());
                        problem = None;
                    }
                    _ if problem.is_some() => {}
                    "leader" => into = Into::Leader,
                    "controlfield" => {
                        let r = current.as_mut().ok_or("a controlfield outside a record")?;
                        match attr("tag").map(|t| Controlfield::new(t, "")) {
                            Some(Ok(cf)) => {
                                r.control_fields_mut().push(cf);
                                into = Into::Control;
                            }
                            Some(Err(e)) => problem = Some(format!("a controlfield's tag: {e}")),
                            None => problem = Some("a controlfield has no tag".to_string()),
                        }
                    }
                    "datafield" => {
                        let r = current.as_mut().ok_or("a datafield outside a record")?;
                        let field = attr("tag").ok_or_else(|| "a datafield has no tag".to_string()).and_then(|t| {
                            let mut f = Field::new(t)?;
                            f.set_ind1(attr("ind1").unwrap_or_else(|| " ".into()))?;
                            f.set_ind2(attr("ind2").unwrap_or_else(|| " ".into()))?;
                            Ok(f)
                        });
                        match field {
                            Ok(f) => r.fields_mut().push(f),
                            Err(e) => problem = Some(format!("a datafield: {e}")),
                        }
                    }
                    "subfield" => {
                        let field = current.as_mut().and_then(|r| r.fields_mut().last_mut()).ok_or("a subfield outside a datafield")?;
                        match attr("code").filter(|c| !c.trim().is_empty()).map(|c| Subfield::new(c, "")) {
                            Some(Ok(sf)) => {
                                field.subfields_mut().push(sf);
                                into = Into::Subfield;
                            }
                            _ => {
                                let tag = field.tag().to_string();
                                problem = Some(format!("field {tag} has a subfield without a one-character code"));
                            }
                        }
                    }
                    _ => {}
                }
            }
            XmlEvent::Characters(t) | XmlEvent::Whitespace(t) if !matches!(into, Into::Nothing) => text.push_str(&t),
            XmlEvent::EndElement { name } => {
                let Some(r) = current.as_mut() else { continue };
                match std::mem::replace(&mut into, Into::Nothing) {
                    Into::Leader => {
                        if let Err(e) = r.set_leader(text.as_str()) {
                            problem.get_or_insert(format!("the leader: {e}"));
                        }
                    }
                    Into::Control => {
                        if let Some(cf) = r.control_fields_mut().last_mut() {
                            cf.set_content(text.as_str());
                        }
                    }
                    Into::Subfield => {
                        if let Some(sf) = r.fields_mut().last_mut().and_then(|f| f.subfields_mut().last_mut()) {
                            sf.set_content(text.as_str());
                        }
                    }
                    Into::Nothing => {}
                }
                text.clear();
                if name.local_name == "record"
                    && let Some(mut record) = current.take()
                {
                    out.push(match problem.take() {
                        Some(p) => Err(p),
                        None if record.fields().is_empty() && record.control_fields().is_empty() => {
                            Err("the record has no fields".to_string())
                        }
                        None => {
                            set_utf8(&mut record);
                            Ok(record)
                        }
                    });
                }
            }
            XmlEvent::EndDocument => return Ok(out),
            _ => {}
        }
    }
}

/// Leader position 09 = `a`: the text is UTF-8 (MARCXML always is).
fn set_utf8(record: &mut Record) {
    let mut leader = record.leader().to_string();
    if leader.len() == 24 && leader.is_char_boundary(9) && leader.is_char_boundary(10) {
        leader.replace_range(9..10, "a");
        let _ = record.set_leader(leader);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_collection_with_prefixes_reads_and_a_codeless_subfield_refuses_its_record() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<marc:collection xmlns:marc="http://www.loc.gov/MARC21/slim">
 <marc:record><marc:leader>00000nam a2200000 a 4500</marc:leader>
  <marc:controlfield tag="001">vn-1</marc:controlfield>
  <marc:datafield tag="245" ind1="1" ind2="0"><marc:subfield code="a">Dế Mèn &amp; phiêu lưu ký</marc:subfield></marc:datafield>
 </marc:record>
 <marc:record><marc:datafield tag="245" ind1="1" ind2="0"><marc:subfield>Mất mã</marc:subfield></marc:datafield></marc:record>
</marc:collection>"#;
        let got = records(xml.as_bytes()).unwrap();
        assert_eq!(got.len(), 2);
        let first = got[0].as_ref().unwrap();
        assert_eq!(first.get_field_values("245", "a"), ["Dế Mèn & phiêu lưu ký"]);
        assert_eq!(first.get_control_fields("001")[0].content(), "vn-1");
        assert!(got[1].as_ref().unwrap_err().contains("without a one-character code"));
    }

    #[test]
    fn malformed_xml_is_refused_as_a_whole() {
        assert!(records(b"<collection><record><datafield tag=\"245\">").is_err());
        assert!(records(b"not xml at all").is_err());
    }
}
