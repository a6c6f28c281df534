//! Readers and the rules they borrow by. A reader is a student, teacher or staff member of the
//! school with a card number unique in the library (the barcode or QR code on the student
//! card); most are people of the school (`user_id`), so they can see their own loans online.
//! Loan rules (how many items, for how many days, how many renewals) are data per library and
//! reader type, as are the days the library is closed (holidays, Tết).

use crate::error::{LibraryError, Result, Rule, invalid};
use crate::{Library, dates};
use kyso_org::Actor;
use kyso_store::{Store, new_id};
use serde::{Deserialize, Serialize};
use sqlx::Row;

pub const READER_TYPES: &[&str] = &["student", "teacher", "staff"];

#[derive(Clone, Debug, Serialize)]
pub struct Reader {
    pub id: String,
    pub library_id: String,
    pub user_id: Option<String>,
    pub card_number: String,
    pub full_name: String,
    pub reader_type: String,
    pub class_name: String,
    pub active: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct NewReader {
    pub card_number: String,
    pub full_name: String,
    pub reader_type: String,
    #[serde(default)]
    pub class_name: String,
    /// The person's username, when they have a Kyso login.
    #[serde(default)]
    pub username: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoanRules {
    pub reader_type: String,
    pub max_items: i64,
    pub loan_days: i64,
    pub max_renewals: i64,
}

pub(crate) fn reader_of(r: &sqlx::any::AnyRow) -> Result<Reader> {
    Ok(Reader {
        id: r.try_get("id")?,
        library_id: r.try_get("library_id")?,
        user_id: r.try_get("user_id")?,
        card_number: r.try_get("card_number")?,
        full_name: r.try_get("full_name")?,
        reader_type: r.try_get("reader_type")?,
        class_name: r.try_get("class_name")?,
        active: r.try_get::<i64, _>("active")? != 0,
    })
}

pub(crate) const READER_COLUMNS: &str = "id, library_id, user_id, card_number, full_name, reader_type, class_name, active";

/// Registers a reader with a card.
pub async fn add(store: &Store, actor: &Actor, library: &Library, new: NewReader) -> Result<Reader> {
    let reader = checked(store, library, new).await?;
    let mut tx = store.db.write().await?;
    insert(&mut tx, &reader).await?;
    kyso_org::record(&mut tx, actor, "reader_added", None, Some(&library.id), serde_json::json!({"card": reader.card_number})).await?;
    tx.commit().await?;
    Ok(reader)
}

/// What a reader import did: each row (1-based) added or refused with the reason; a card
/// already registered is refused as such, so running the same list again adds nothing.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ReaderImport {
    pub added: usize,
    pub refused: Vec<(usize, String)>,
}

/// Registers many readers (a class list) in one transaction with one audit entry.
pub async fn import(store: &Store, actor: &Actor, library: &Library, rows: Vec<NewReader>) -> Result<ReaderImport> {
    let mut report = ReaderImport::default();
    let mut ready = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        match checked(store, library, row).await {
            Ok(r) => ready.push((i + 1, r)),
            Err(e) => report.refused.push((i + 1, e.to_string())),
        }
    }
    let mut tx = store.db.write().await?;
    for (row, reader) in ready {
        let taken = sqlx::query("SELECT 1 FROM library_readers WHERE library_id = $1 AND card_number = $2")
            .bind(&library.id)
            .bind(&reader.card_number)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            report.refused.push((row, LibraryError::CardTaken(reader.card_number).to_string()));
            continue;
        }
        insert(&mut tx, &reader).await?;
        report.added += 1;
    }
    report.refused.sort();
    kyso_org::record(
        &mut tx,
        actor,
        "readers_imported",
        None,
        Some(&library.id),
        serde_json::json!({"added": report.added, "refused": report.refused.len()}),
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}

async fn checked(store: &Store, library: &Library, new: NewReader) -> Result<Reader> {
    let card = crate::items::check_barcode(&new.card_number).map_err(|_| invalid("card_number", Rule::CodeFormat))?;
    let full_name = kyso_org::text::line(&new.full_name, "full_name", 200)?;
    if !READER_TYPES.contains(&new.reader_type.as_str()) {
        return Err(invalid("reader_type", Rule::OneOf { value: new.reader_type, allowed: READER_TYPES.join(", ") }));
    }
    let user_id = match new.username.as_deref().filter(|u| !u.trim().is_empty()) {
        Some(u) => Some(kyso_org::people::by_username(store, u.trim()).await?.ok_or(LibraryError::NotFound("person"))?.id),
        None => None,
    };
    Ok(Reader {
        id: new_id(),
        library_id: library.id.clone(),
        user_id,
        card_number: card,
        full_name,
        reader_type: new.reader_type,
        class_name: kyso_org::text::optional_line(Some(&new.class_name), "class_name", 32)?.unwrap_or_default(),
        active: true,
    })
}

async fn insert(tx: &mut kyso_store::WriteTx<'_>, reader: &Reader) -> Result<()> {
    let now = tx.now();
    let inserted = sqlx::query(
        "INSERT INTO library_readers (id, library_id, user_id, card_number, full_name, reader_type, class_name, active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8)",
    )
    .bind(&reader.id)
    .bind(&reader.library_id)
    .bind(&reader.user_id)
    .bind(&reader.card_number)
    .bind(&reader.full_name)
    .bind(&reader.reader_type)
    .bind(&reader.class_name)
    .bind(now)
    .execute(&mut **tx)
    .await;
    if let Err(e) = inserted {
        let e = kyso_store::StoreError::from(e);
        return Err(if e.is_unique_violation() { LibraryError::CardTaken(reader.card_number.clone()) } else { e.into() });
    }
    Ok(())
}

pub async fn by_card(store: &Store, library: &Library, card: &str) -> Result<Reader> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {READER_COLUMNS} FROM library_readers WHERE library_id = $1 AND card_number = $2"
    )))
    .bind(&library.id)
    .bind(card.trim())
    .fetch_optional(&store.db.pool)
    .await?
    .ok_or_else(|| LibraryError::NoSuchReader(card.trim().to_string()))?;
    reader_of(&row)
}

/// The reader records of a person (one per library where they have a card).
pub async fn of_user(store: &Store, user_id: &str) -> Result<Vec<Reader>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {READER_COLUMNS} FROM library_readers WHERE user_id = $1")))
        .bind(user_id)
        .fetch_all(&store.db.pool)
        .await?;
    rows.iter().map(reader_of).collect()
}

pub async fn list(store: &Store, library: &Library) -> Result<Vec<Reader>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {READER_COLUMNS} FROM library_readers WHERE library_id = $1 ORDER BY class_name, full_name"
    )))
    .bind(&library.id)
    .fetch_all(&store.db.pool)
    .await?;
    rows.iter().map(reader_of).collect()
}

/// Sets the loan rules of one reader type in the library.
pub async fn set_rules(store: &Store, actor: &Actor, library: &Library, rules: &LoanRules) -> Result<()> {
    if !READER_TYPES.contains(&rules.reader_type.as_str()) {
        return Err(invalid("reader_type", Rule::OneOf { value: rules.reader_type.clone(), allowed: READER_TYPES.join(", ") }));
    }
    for (field, value, max) in
        [("max_items", rules.max_items, 100), ("loan_days", rules.loan_days, 365), ("max_renewals", rules.max_renewals, 20)]
    {
        let min = if field == "max_renewals" { 0 } else { 1 };
        if !(min..=max).contains(&value) {
            return Err(invalid(field, Rule::Range { min, max }));
        }
    }
    let mut tx = store.db.write().await?;
    sqlx::query("DELETE FROM library_loan_rules WHERE library_id = $1 AND reader_type = $2")
        .bind(&library.id)
        .bind(&rules.reader_type)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO library_loan_rules (library_id, reader_type, max_items, loan_days, max_renewals) VALUES ($1, $2, $3, $4, $5)")
        .bind(&library.id)
        .bind(&rules.reader_type)
        .bind(rules.max_items)
        .bind(rules.loan_days)
        .bind(rules.max_renewals)
        .execute(&mut *tx)
        .await?;
    kyso_org::record(&mut tx, actor, "loan_rules", None, Some(&library.id), serde_json::to_value(rules).unwrap_or_default()).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn rules(store: &Store, library_id: &str) -> Result<Vec<LoanRules>> {
    let rows = sqlx::query(
        "SELECT reader_type, max_items, loan_days, max_renewals FROM library_loan_rules WHERE library_id = $1 ORDER BY reader_type",
    )
    .bind(library_id)
    .fetch_all(&store.db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LoanRules { reader_type: r.try_get(0)?, max_items: r.try_get(1)?, loan_days: r.try_get(2)?, max_renewals: r.try_get(3)? })
        })
        .collect()
}

/// Marks the days from `first` to `last` (`YYYY-MM-DD`, inclusive) closed, with a label.
pub async fn close_days(store: &Store, actor: &Actor, library: &Library, first: &str, last: &str, label: &str) -> Result<usize> {
    let (Some(a), Some(b)) = (dates::parse(first), dates::parse(last)) else { return Err(invalid("date", Rule::DateFormat)) };
    if b < a || b - a > 366 {
        return Err(invalid("date", Rule::Range { min: 0, max: 366 }));
    }
    let label = kyso_org::text::line(label, "label", 100)?;
    let mut tx = store.db.write().await?;
    for day in a..=b {
        sqlx::query("DELETE FROM library_holidays WHERE library_id = $1 AND day = $2")
            .bind(&library.id)
            .bind(dates::iso(day))
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO library_holidays (library_id, day, label) VALUES ($1, $2, $3)")
            .bind(&library.id)
            .bind(dates::iso(day))
            .bind(&label)
            .execute(&mut *tx)
            .await?;
    }
    kyso_org::record(
        &mut tx,
        actor,
        "library_closed",
        None,
        Some(&library.id),
        serde_json::json!({"from": first, "to": last, "label": label}),
    )
    .await?;
    tx.commit().await?;
    Ok((b - a + 1) as usize)
}

/// The library's closed days from `from` on, as day numbers.
pub(crate) async fn closed_days<'e, E>(conn: E, library_id: &str, from: i64) -> Result<std::collections::HashSet<i64>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = sqlx::query("SELECT day FROM library_holidays WHERE library_id = $1 AND day >= $2")
        .bind(library_id)
        .bind(dates::iso(from))
        .fetch_all(conn)
        .await?;
    Ok(rows.iter().filter_map(|r| r.try_get::<String, _>(0).ok()).filter_map(|d| dates::parse(&d)).collect())
}
