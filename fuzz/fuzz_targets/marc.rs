//! The library's MARC21 readers, fed whatever a librarian uploads: ISO 2709 (with MARC-8 text),
//! MARCXML, and what the catalogue makes of a record that reads (its description, its tidying,
//! both writers and the readers again on their output). Nothing may panic; a record that reads
//! must survive being written and read back.
#![no_main]
use kyso_library::marc::{self, Description, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = marc::marc8::to_unicode(data);
    let _ = kyso_library::isbn::normalise(&String::from_utf8_lossy(data));
    for format in [Format::Iso2709, Format::MarcXml] {
        let Ok(records) = marc::read(data, format) else { continue };
        for mut record in records.into_iter().flatten() {
            let _ = Description::of(&record);
            if marc::tidy(&mut record).is_err() {
                continue;
            }
            let xml = marc::to_marcxml(std::slice::from_ref(&record));
            let back = marc::marcxml::records(xml.as_bytes()).expect("our own MARCXML is well-formed");
            assert_eq!(back.len(), 1, "one record written, one read back");
            if let Ok(bin) = marc::to_iso2709(std::slice::from_ref(&record)) {
                let again = marc::iso2709::records(&bin);
                assert_eq!(again.len(), 1);
            }
        }
    }
});
