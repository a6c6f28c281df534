//! The library's MARC21 import and export judged by pymarc (issue 15): every record of the
//! shared corpus that pymarc reads is imported with the same fields (or refused per record
//! with a plain reason where its MARC-8 text is in a script Kyso does not convert); damaged
//! records are refused with a reason and nothing is imported twice; Kyso's ISO 2709 and
//! MARCXML exports read back by pymarc give the same fields as the originals.

use kyso_library::catalogue::{self, ImportReport};
use kyso_library::marc::Format;
use kyso_tests::domain::{Domain, block_on};
use kyso_tests::service::Backend;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// pymarc's reading of each file: {path: [fields | null] | {"error": …}}.
fn pymarc(files: &[PathBuf]) -> HashMap<String, Value> {
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(kyso_tests::repo_root().join("tests/library/marc_fields.py"));
    cmd.args(files);
    let out = cmd.output().expect("python3 runs (the README's test command installs pymarc)");
    assert!(out.status.success(), "pymarc: {}", String::from_utf8_lossy(&out.stderr));
    let v: HashMap<String, Value> = serde_json::from_slice(&out.stdout).expect("JSON from the judge");
    v
}

/// Control fields, then data fields, each in their order: the order Kyso writes them.
fn canonical(fields: &Value) -> Vec<Value> {
    let list = fields.as_array().expect("a record is a list of fields");
    let (control, data): (Vec<&Value>, Vec<&Value>) = list.iter().partition(|f| f.as_array().is_some_and(|a| a.len() == 2));
    control.into_iter().chain(data).cloned().collect()
}

fn corpus_files() -> Vec<PathBuf> {
    let dir = kyso_tests::corpus().join("marc");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the corpus has a marc folder")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mrc" || e == "xml"))
        .collect();
    files.sort();
    files
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn library_marc_corpus_imports_what_pymarc_reads_and_exports_it_back() {
    block_on(async {
        let d = Domain::new(Backend::Sqlite).await;
        let librarian = d.actor("thuvien").await;
        let library = kyso_library::access::managed(&d.store, &librarian, None).await.expect("thuvien is the school's librarian");
        let files = corpus_files();
        let judged = pymarc(&files);
        // Which catalogue record holds the fields pymarc read at (file, position).
        let mut expected_by_biblio: HashMap<String, (String, Vec<Value>)> = HashMap::new();
        let (mut imported, mut refused_marc8, mut pymarc_good) = (0, 0, 0);
        for file in &files {
            let bytes = std::fs::read(file).unwrap();
            let verdict = &judged[&file.display().to_string()];
            let report: ImportReport = match catalogue::import(&d.store, &librarian, &library, &bytes, Format::sniff(&bytes)).await {
                Ok(r) => r,
                Err(e) => {
                    // Only a file pymarc refuses too (or reads nothing from) may be refused whole.
                    let good = verdict.as_array().map_or(0, |rs| rs.iter().filter(|r| !r.is_null()).count());
                    assert_eq!(good, 0, "{}: refused whole ({e}) though pymarc reads {good} records", name(file));
                    continue;
                }
            };
            let refused: HashMap<usize, &str> = report.refused.iter().map(|r| (r.record, r.reason.as_str())).collect();
            let added: HashMap<usize, &str> = report.added_records.iter().map(|a| (a.record, a.biblio_id.as_str())).collect();
            let duplicate: HashMap<usize, Option<&str>> = report.duplicate_of.iter().map(|x| (x.record, x.biblio_id.as_deref())).collect();
            for r in &report.refused {
                assert!(
                    !r.reason.is_empty() && !r.reason.contains("panick"),
                    "{}: record {} refused without a plain reason",
                    name(file),
                    r.record
                );
            }
            let Some(records) = verdict.as_array() else {
                // pymarc refuses the file (chabon-missing-subfield-code.xml): Kyso refuses the
                // damaged record and imports nothing from it.
                assert_eq!(report.added, 0, "{}: pymarc refuses this file; Kyso added {}", name(file), report.added);
                assert!(!report.refused.is_empty());
                continue;
            };
            for (i, fields) in records.iter().enumerate() {
                let position = i + 1;
                if fields.is_null() {
                    assert!(!added.contains_key(&position), "{}: record {position} is unreadable to pymarc but was imported", name(file));
                    continue;
                }
                pymarc_good += 1;
                if let Some(reason) = refused.get(&position) {
                    // Refused with the reason: MARC-8 text in a script Kyso does not convert, or
                    // a holdings record in a bibliographic file.
                    assert!(
                        reason.contains("MARC-8") || reason.contains("not a bibliographic record"),
                        "{}: record {position}, which pymarc reads, was refused: {reason}",
                        name(file)
                    );
                    refused_marc8 += 1;
                } else if let Some(id) = added.get(&position) {
                    imported += 1;
                    expected_by_biblio.insert(id.to_string(), (format!("{} #{position}", name(file)), canonical(fields)));
                } else {
                    assert!(
                        duplicate.contains_key(&position),
                        "{}: record {position} was neither added, refused nor a duplicate",
                        name(file)
                    );
                }
            }
        }
        // The many-errors batch repeats the fixed one (same ISBNs): its good records are duplicates.
        eprintln!(
            "MARC corpus: pymarc reads {pymarc_good}; Kyso added {imported}, refused {refused_marc8} with a reason, the rest were duplicates"
        );
        assert!(imported >= 380, "the corpus's distinct records are imported ({imported} of {pymarc_good})");
        assert!(refused_marc8 <= 8, "only non-Latin MARC-8 and non-bibliographic records are refused ({refused_marc8})");

        // Every imported record has its title in the catalogue's columns.
        let list = catalogue::list(&d.store, &library, "", 500, 0).await.unwrap();
        assert!(list.iter().all(|b| !b.description.title.is_empty()));
        let chabon = catalogue::list(&d.store, &library, "kavalier clay", 10, 0).await.unwrap();
        assert_eq!(chabon.len(), 1, "chabon.mrc and chabon.xml hold the same record: imported once");
        assert_eq!(chabon[0].description.isbn.as_deref(), Some("9780679450047"));
        assert_eq!(chabon[0].description.responsibility, "Chabon, Michael");
        assert!(
            chabon[0].description.subjects.iter().any(|s| s.starts_with("Comic books, strips, etc")),
            "{:?}",
            chabon[0].description.subjects
        );

        // Nothing is imported twice: the biggest file again adds nothing.
        let again = std::fs::read(kyso_tests::corpus().join("marc/pride-and-prejudice-fixed.mrc")).unwrap();
        let second = catalogue::import(&d.store, &librarian, &library, &again, Format::Iso2709).await.unwrap();
        assert_eq!(second.added, 0);
        assert!(second.duplicates > 0);

        // The exports, read by pymarc, give the same fields, record for record (export order is
        // the catalogue's order of entry).
        let order: Vec<String> = {
            use sqlx::Row;
            sqlx::query("SELECT id FROM biblios WHERE library_id = $1 ORDER BY seq")
                .bind(&library.id)
                .fetch_all(&d.store.db.pool)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<String, _>(0))
                .collect()
        };
        let out = tempfile::tempdir().unwrap();
        let (iso, xml) = (out.path().join("export.mrc"), out.path().join("export.xml"));
        std::fs::write(&iso, catalogue::export(&d.store, &library, Format::Iso2709).await.unwrap()).unwrap();
        std::fs::write(&xml, catalogue::export(&d.store, &library, Format::MarcXml).await.unwrap()).unwrap();
        let back = pymarc(&[iso.clone(), xml.clone()]);
        for path in [&iso, &xml] {
            let records = back[&path.display().to_string()].as_array().expect("pymarc reads Kyso's export").clone();
            assert_eq!(records.len(), order.len(), "{}: one record per catalogue entry", name(path));
            for (id, fields) in order.iter().zip(&records) {
                assert!(!fields.is_null(), "{}: pymarc cannot read an exported record", name(path));
                if let Some((origin, expected)) = expected_by_biblio.get(id) {
                    assert_eq!(&canonical(fields), expected, "{}: the export of {origin} differs from the original", name(path));
                }
            }
        }
    });
}

#[test]
fn library_marc8_latin_records_convert_to_the_same_text_as_their_utf8_edition() {
    block_on(async {
        let d = Domain::new(Backend::Sqlite).await;
        let librarian = d.actor("thuvien").await;
        let library = kyso_library::access::managed(&d.store, &librarian, None).await.unwrap();
        let dir = kyso_tests::corpus().join("marc");
        let marc8 = std::fs::read(dir.join("brkrtest.mrc")).unwrap();
        let utf8 = std::fs::read(dir.join("brkrtest_UTF8.mrc")).unwrap();
        let first = catalogue::import(&d.store, &librarian, &library, &marc8, Format::Iso2709).await.unwrap();
        assert!(first.refused.is_empty(), "{:?}", first.refused);
        let second = catalogue::import(&d.store, &librarian, &library, &utf8, Format::Iso2709).await.unwrap();
        assert_eq!(second.added, 0, "the UTF-8 edition is the same 8 records: {second:?}");

        // A Vietnamese record survives import and both exports, read back by pymarc.
        let vietnamese = r#"<collection xmlns="http://www.loc.gov/MARC21/slim"><record><leader>00000nam a2200000 i 4500</leader>
<datafield tag="020" ind1=" " ind2=" "><subfield code="a">9786041234567</subfield></datafield>
<datafield tag="100" ind1="1" ind2=" "><subfield code="a">Tô Hoài</subfield></datafield>
<datafield tag="245" ind1="1" ind2="0"><subfield code="a">Dế Mèn phiêu lưu ký</subfield></datafield>
<datafield tag="650" ind1=" " ind2="7"><subfield code="a">Văn học thiếu nhi</subfield></datafield></record></collection>"#;
        let r = catalogue::import(&d.store, &librarian, &library, vietnamese.as_bytes(), Format::MarcXml).await.unwrap();
        assert_eq!(r.added, 1);
        let out = tempfile::tempdir().unwrap();
        let iso = out.path().join("vn.mrc");
        std::fs::write(&iso, catalogue::export(&d.store, &library, Format::Iso2709).await.unwrap()).unwrap();
        let back = pymarc(std::slice::from_ref(&iso));
        let text = back[&iso.display().to_string()].to_string();
        assert!(text.contains("Dế Mèn phiêu lưu ký") && text.contains("Tô Hoài") && text.contains("Văn học thiếu nhi"), "{text}");
        let found = kyso_library::search::search(&d.store, &librarian, "de men phieu luu", 10).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].holdings[0].library_name, "Trường THCS Gia Thụy");
    });
}
