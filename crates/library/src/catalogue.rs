//! The catalogue of one library: bibliographic records imported from MARC21 files or entered
//! by hand, each kept whole (its MARCXML) with the columns people see and search. An import is
//! one transaction: every record of the file is added, found to be a duplicate, or refused with
//! the reason, and a killed process leaves the catalogue as it was; no record is added twice,
//! whether it repeats within the file or was imported before.

use crate::error::{LibraryError, Result, Rule, invalid};
use crate::marc::{self, Description, Format};
use crate::{Library, access};
use kyso_org::{Actor, text::fold};
use kyso_store::{Store, new_id};
use serde::Serialize;
use sqlx::Row;
use std::collections::HashMap;

/// A bibliographic record as the catalogue shows it.
#[derive(Clone, Debug, Serialize)]
pub struct Biblio {
    pub id: String,
    pub library_id: String,
    #[serde(flatten)]
    pub description: Description,
}

/// What an import did, record by record (1-based positions in the file).
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImportReport {
    pub added: usize,
    pub duplicates: usize,
    pub refused: Vec<Refusal>,
    pub duplicate_of: Vec<Duplicate>,
    /// The records added, in file order, with their new catalogue ids.
    pub added_records: Vec<Added>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Added {
    pub record: usize,
    pub biblio_id: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Refusal {
    pub record: usize,
    pub reason: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Duplicate {
    pub record: usize,
    /// The record already in the catalogue, or `None` for a repeat earlier in the same file.
    pub biblio_id: Option<String>,
    /// "isbn" or "title, author and year".
    pub by: &'static str,
}

/// How two records are taken to be the same title: the ISBN when there is one, else the
/// folded title, responsibility and year (Koha's matching rules do the same two passes).
fn dedup_key(d: &Description) -> (String, &'static str) {
    match &d.isbn {
        Some(isbn) => (format!("isbn:{isbn}"), "isbn"),
        None => (format!("tay:{}|{}|{}", fold(&d.title), fold(&d.responsibility), d.year), "title, author and year"),
    }
}

/// What the search matches: title, responsibility, publisher, subjects, classification, ISBN.
pub(crate) fn search_text(d: &Description) -> String {
    let subjects = d.subjects.join(" ");
    let fields: [&str; 6] = [&d.title, &d.responsibility, &d.publisher, &subjects, &d.classification, d.isbn.as_deref().unwrap_or("")];
    fold(&fields.join(" "))
}

/// What a record is when its leader says it is not a bibliographic record: holdings,
/// authority, classification and community records share the format but not the catalogue.
fn not_bibliographic(leader: &str) -> Option<&'static str> {
    match leader.as_bytes().get(6) {
        Some(b'u' | b'v' | b'x' | b'y') => Some("holdings"),
        Some(b'z') => Some("authority"),
        Some(b'w') => Some("classification"),
        Some(b'q') => Some("community information"),
        _ => None,
    }
}

/// Imports a MARC21 file into `library`. The whole file is read first; then every good,
/// new record is added in one transaction with one audit entry.
pub async fn import(store: &Store, actor: &Actor, library: &Library, bytes: &[u8], format: Format) -> Result<ImportReport> {
    let records = marc::read(bytes, format).map_err(LibraryError::Unreadable)?;
    if records.is_empty() {
        return Err(LibraryError::Unreadable("the file holds no MARC record".to_string()));
    }
    let mut report = ImportReport::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut fresh: Vec<(usize, String, &'static str, Description, String)> = Vec::new();
    for (i, r) in records.into_iter().enumerate() {
        let position = i + 1;
        let record = match r.and_then(|mut record| marc::tidy(&mut record).map(|()| record)) {
            Ok(record) => record,
            Err(reason) => {
                report.refused.push(Refusal { record: position, reason });
                continue;
            }
        };
        if let Some(kind) = not_bibliographic(record.leader()) {
            report.refused.push(Refusal {
                record: position,
                reason: format!(
                    "a MARC21 {kind} record (leader position 06), not a bibliographic record: import it where {kind} records are kept"
                ),
            });
            continue;
        }
        let d = Description::of(&record);
        if d.title.is_empty() {
            report.refused.push(Refusal { record: position, reason: "the record has no title (245 $a)".to_string() });
            continue;
        }
        let (key, by) = dedup_key(&d);
        if seen.contains_key(&key) {
            report.duplicates += 1;
            report.duplicate_of.push(Duplicate { record: position, biblio_id: None, by });
            continue;
        }
        seen.insert(key.clone(), position);
        fresh.push((position, key, by, d, marc::record_xml(&record)));
    }
    let mut tx = store.db.write().await?;
    let now = tx.now();
    let mut seq = next_seq(&mut tx, &library.id).await?;
    for (position, key, by, d, xml) in fresh {
        let existing: Option<String> = sqlx::query("SELECT id FROM biblios WHERE library_id = $1 AND dedup_key = $2")
            .bind(&library.id)
            .bind(&key)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        if let Some(id) = existing {
            report.duplicates += 1;
            report.duplicate_of.push(Duplicate { record: seen[&key], biblio_id: Some(id), by });
            continue;
        }
        let id = new_id();
        insert(&mut tx, actor, library, NewRow { id: &id, seq, d: &d, xml: &xml, key: &key }, now).await?;
        seq += 1;
        report.added += 1;
        report.added_records.push(Added { record: position, biblio_id: id });
    }
    kyso_org::record(
        &mut tx,
        actor,
        "library_import",
        None,
        Some(&library.id),
        serde_json::json!({"added": report.added, "duplicates": report.duplicates, "refused": report.refused.len()}),
    )
    .await?;
    tx.commit().await?;
    report.duplicate_of.sort_by_key(|d| d.record);
    Ok(report)
}

/// One catalogue row to write.
struct NewRow<'a> {
    id: &'a str,
    seq: i64,
    d: &'a Description,
    xml: &'a str,
    key: &'a str,
}

async fn next_seq(tx: &mut kyso_store::WriteTx<'_>, library_id: &str) -> Result<i64> {
    Ok(sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 FROM biblios WHERE library_id = $1")
        .bind(library_id)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?)
}

async fn insert(tx: &mut kyso_store::WriteTx<'_>, actor: &Actor, library: &Library, row: NewRow<'_>, now: i64) -> Result<()> {
    let NewRow { id, seq, d, xml, key } = row;
    sqlx::query(
        "INSERT INTO biblios (id, library_id, seq, district_id, title, responsibility, publisher, place, year, edition, isbn, language, classification, subjects, summary, marcxml, dedup_key, search_text, created_by, created_at, updated_at) \
         VALUES ($1, $2, $20, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19)",
    )
    .bind(id)
    .bind(&library.id)
    .bind(&library.district_id)
    .bind(&d.title)
    .bind(&d.responsibility)
    .bind(&d.publisher)
    .bind(&d.place)
    .bind(&d.year)
    .bind(&d.edition)
    .bind(&d.isbn)
    .bind(&d.language)
    .bind(&d.classification)
    .bind(d.subjects.join("\n"))
    .bind(&d.summary)
    .bind(xml)
    .bind(key)
    .bind(search_text(d))
    .bind(actor.name())
    .bind(now)
    .bind(seq)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A title catalogued by hand (the librarian's form). Refused when the ISBN is wrong or the
/// title is already in the catalogue (the existing record is named).
pub async fn create(store: &Store, actor: &Actor, library: &Library, mut d: Description) -> Result<Biblio> {
    d.title = kyso_org::text::line(&d.title, "title", 500)?;
    // Every field is text people read, printed in registers and exported as MARCXML: no control
    // or invisible characters, bounded lengths.
    let short = |v: &str, field: &'static str| kyso_org::text::optional_line(Some(v), field, 300).map(Option::unwrap_or_default);
    d.responsibility = short(&d.responsibility, "responsibility")?;
    d.publisher = short(&d.publisher, "publisher")?;
    d.place = short(&d.place, "place")?;
    d.edition = short(&d.edition, "edition")?;
    d.language = short(&d.language, "language")?;
    d.classification = short(&d.classification, "classification")?;
    d.subjects =
        d.subjects.iter().map(|s| short(s, "subjects")).filter(|s| !matches!(s, Ok(v) if v.is_empty())).collect::<Result<_, _>>()?;
    d.summary = if d.summary.trim().is_empty() { String::new() } else { kyso_org::text::paragraph(&d.summary, "summary", 4000)? };
    if let Some(isbn) = d.isbn.as_deref().filter(|s| !s.trim().is_empty()) {
        d.isbn = Some(crate::isbn::normalise(isbn)?);
    } else {
        d.isbn = None;
    }
    let year_ok = d.year.is_empty() || (d.year.len() == 4 && d.year.bytes().all(|b| b.is_ascii_digit()));
    if !year_ok {
        return Err(invalid("year", Rule::Range { min: 1000, max: 9999 }));
    }
    let record = d.to_record().map_err(LibraryError::Unreadable)?;
    let (key, _) = dedup_key(&d);
    let mut tx = store.db.write().await?;
    let now = tx.now();
    let taken = sqlx::query("SELECT id FROM biblios WHERE library_id = $1 AND dedup_key = $2")
        .bind(&library.id)
        .bind(&key)
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some() {
        return Err(invalid("isbn", Rule::Isbn(format!("{} (already in the catalogue)", d.isbn.as_deref().unwrap_or(&d.title)))));
    }
    let id = new_id();
    let seq = next_seq(&mut tx, &library.id).await?;
    insert(&mut tx, actor, library, NewRow { id: &id, seq, d: &d, xml: &marc::record_xml(&record), key: &key }, now).await?;
    kyso_org::record(&mut tx, actor, "biblio_created", None, Some(&library.id), serde_json::json!({"biblio": id, "title": d.title}))
        .await?;
    tx.commit().await?;
    Ok(Biblio { id, library_id: library.id.clone(), description: d })
}

pub(crate) fn biblio_of(r: &sqlx::any::AnyRow) -> Result<Biblio> {
    let subjects: String = r.try_get("subjects")?;
    Ok(Biblio {
        id: r.try_get("id")?,
        library_id: r.try_get("library_id")?,
        description: Description {
            title: r.try_get("title")?,
            responsibility: r.try_get("responsibility")?,
            publisher: r.try_get("publisher")?,
            place: r.try_get("place")?,
            year: r.try_get("year")?,
            edition: r.try_get("edition")?,
            isbn: r.try_get("isbn")?,
            language: r.try_get("language")?,
            classification: r.try_get("classification")?,
            subjects: subjects.lines().map(str::to_string).filter(|s| !s.is_empty()).collect(),
            summary: r.try_get("summary")?,
        },
    })
}

pub(crate) const BIBLIO_COLUMNS: &str =
    "id, library_id, title, responsibility, publisher, place, year, edition, isbn, language, classification, subjects, summary";

/// One record of a library of the caller's district (the union catalogue is open to them).
pub async fn get(store: &Store, actor: &Actor, id: &str) -> Result<Biblio> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {BIBLIO_COLUMNS}, district_id FROM biblios WHERE id = $1")))
        .bind(id)
        .fetch_optional(&store.db.pool)
        .await?
        .ok_or(LibraryError::NotFound("title"))?;
    let tree = kyso_org::OrgTree::load(&store.db.pool).await?;
    let district: String = row.try_get("district_id")?;
    if !access::search_districts(actor, &tree).contains(&district) {
        return Err(LibraryError::NotFound("title"));
    }
    biblio_of(&row)
}

/// A page of the library's catalogue, newest first; `query` filters by folded words.
pub async fn list(store: &Store, library: &Library, query: &str, limit: i64, offset: i64) -> Result<Vec<Biblio>> {
    let mut binds = kyso_store::Binds::default();
    let lib = binds.push(&library.id);
    let mut sql = format!("SELECT {BIBLIO_COLUMNS} FROM biblios WHERE library_id = {lib}");
    for word in crate::search::words(query) {
        let p = binds.push(&format!("%{}%", crate::search::like_escape(&word)));
        sql.push_str(&format!(" AND search_text LIKE {p} ESCAPE '\\'"));
    }
    let lim = binds.push_int(limit.clamp(1, 500));
    let off = binds.push_int(offset.max(0));
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT {lim} OFFSET {off}"));
    binds.query(sql).fetch_all(&store.db.pool).await?.iter().map(biblio_of).collect()
}

/// The library's catalogue as one MARC21 file: every record as it was imported or entered.
pub async fn export(store: &Store, library: &Library, format: Format) -> Result<Vec<u8>> {
    let rows =
        sqlx::query("SELECT marcxml FROM biblios WHERE library_id = $1 ORDER BY seq").bind(&library.id).fetch_all(&store.db.pool).await?;
    let mut records = Vec::with_capacity(rows.len());
    for r in &rows {
        let xml: String = r.try_get(0)?;
        let parsed = marc::marcxml::records(xml.as_bytes()).map_err(LibraryError::Unreadable)?;
        for p in parsed {
            records.push(p.map_err(LibraryError::Unreadable)?);
        }
    }
    Ok(match format {
        Format::Iso2709 => marc::to_iso2709(&records).map_err(LibraryError::Unreadable)?,
        Format::MarcXml => marc::to_marcxml(&records).into_bytes(),
    })
}
