//! Physical copies. Each copy has an accession number (*số đăng ký cá biệt*) that is also its
//! barcode, unique in its library; a kind (book, textbook, reference, periodical: the
//! registers differ by kind), a location, a call number, a price and how it came in; and a
//! state: available, on loan, reserved (held for a reader), in repair, lost, withdrawn.
//! Circulation moves copies between available, on loan and reserved; the librarian sets the
//! others.

use crate::error::{LibraryError, Result, Rule, invalid};
use crate::{Library, dates};
use kyso_org::Actor;
use kyso_store::{Store, new_id};
use serde::Serialize;
use sqlx::Row;

pub const KINDS: &[&str] = &["book", "textbook", "reference", "periodical"];
pub const STATES: &[&str] = &["available", "on_loan", "reserved", "in_repair", "lost", "withdrawn"];
/// The states a librarian may set by hand (the others belong to circulation).
pub const MANUAL_STATES: &[&str] = &["available", "in_repair", "lost", "withdrawn"];

#[derive(Clone, Debug, Serialize)]
pub struct Item {
    pub id: String,
    pub biblio_id: String,
    pub library_id: String,
    pub barcode: String,
    pub kind: String,
    pub location: String,
    pub call_number: String,
    pub state: String,
    pub price: i64,
    pub source: String,
    pub acquired_on: String,
}

/// A copy to add; `barcode` empty means "the next accession number".
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct NewItem {
    #[serde(default)]
    pub barcode: String,
    #[serde(default = "default_kind")]
    pub kind: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub call_number: String,
    #[serde(default)]
    pub price: i64,
    /// The delivery document it came with (Part I of the general register).
    #[serde(default)]
    pub source: String,
    /// `YYYY-MM-DD`; today when empty.
    #[serde(default)]
    pub acquired_on: String,
}

fn default_kind() -> String {
    "book".into()
}

/// An accession number: 1–32 characters of letters, digits, `-`, `.` or `/`.
pub fn check_barcode(text: &str) -> Result<String> {
    let t = text.trim();
    if t.is_empty() || t.len() > 32 || !t.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '/')) {
        return Err(invalid("barcode", Rule::CodeFormat));
    }
    Ok(t.to_string())
}

pub(crate) fn item_of(r: &sqlx::any::AnyRow) -> Result<Item> {
    Ok(Item {
        id: r.try_get("id")?,
        biblio_id: r.try_get("biblio_id")?,
        library_id: r.try_get("library_id")?,
        barcode: r.try_get("barcode")?,
        kind: r.try_get("kind")?,
        location: r.try_get("location")?,
        call_number: r.try_get("call_number")?,
        state: r.try_get("state")?,
        price: r.try_get("price")?,
        source: r.try_get("source")?,
        acquired_on: r.try_get("acquired_on")?,
    })
}

pub(crate) const ITEM_COLUMNS: &str = "id, biblio_id, library_id, barcode, kind, location, call_number, state, price, source, acquired_on";

/// Adds `count` copies of `biblio_id` (with consecutive accession numbers when none is given).
pub async fn add(store: &Store, actor: &Actor, library: &Library, biblio_id: &str, new: NewItem, count: usize) -> Result<Vec<Item>> {
    add_batch(store, actor, library, &[(biblio_id.to_string(), new, count)]).await
}

/// A checked request for copies of one title.
struct Checked {
    barcode: Option<String>,
    location: String,
    call_number: String,
    source: String,
    acquired_on: String,
}

fn check(store: &Store, new: &NewItem, count: usize) -> Result<Checked> {
    if !KINDS.contains(&new.kind.as_str()) {
        return Err(invalid("kind", Rule::OneOf { value: new.kind.clone(), allowed: KINDS.join(", ") }));
    }
    if !(1..=1000).contains(&count) {
        return Err(invalid("count", Rule::Range { min: 1, max: 1000 }));
    }
    if !(0..=1_000_000_000).contains(&new.price) {
        return Err(invalid("price", Rule::Range { min: 0, max: 1_000_000_000 }));
    }
    let barcode = if new.barcode.trim().is_empty() { None } else { Some(check_barcode(&new.barcode)?) };
    if barcode.is_some() && count != 1 {
        return Err(invalid("count", Rule::Range { min: 1, max: 1 }));
    }
    let acquired_on = if new.acquired_on.trim().is_empty() {
        dates::iso(dates::day_of(store.now()))
    } else {
        dates::iso(dates::parse(&new.acquired_on).ok_or(invalid("acquired_on", Rule::DateFormat))?)
    };
    let text = |v: &str, field: &'static str| kyso_org::text::optional_line(Some(v), field, 100).map(Option::unwrap_or_default);
    Ok(Checked {
        barcode,
        location: text(&new.location, "location")?,
        call_number: text(&new.call_number, "call_number")?,
        source: text(&new.source, "source")?,
        acquired_on,
    })
}

/// Adds copies of several titles in one transaction with one audit entry (an intake by one
/// delivery document): every request is checked first, and nothing is added unless all are.
pub async fn add_batch(store: &Store, actor: &Actor, library: &Library, requests: &[(String, NewItem, usize)]) -> Result<Vec<Item>> {
    let checked: Vec<Checked> = requests.iter().map(|(_, new, count)| check(store, new, *count)).collect::<Result<_>>()?;
    let mut tx = store.db.write().await?;
    let now = tx.now();
    let mut next = next_accession(&mut tx, &library.id).await?;
    let mut out = Vec::new();
    for ((biblio_id, new, count), c) in requests.iter().zip(checked) {
        let owner: Option<String> = sqlx::query("SELECT library_id FROM biblios WHERE id = $1")
            .bind(biblio_id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        if owner.as_deref() != Some(library.id.as_str()) {
            return Err(LibraryError::NotFound("title"));
        }
        for _ in 0..*count {
            let barcode = match &c.barcode {
                Some(b) => b.clone(),
                None => {
                    next += 1;
                    format!("{next:06}")
                }
            };
            let item = Item {
                id: new_id(),
                biblio_id: biblio_id.to_string(),
                library_id: library.id.clone(),
                barcode,
                kind: new.kind.clone(),
                location: c.location.clone(),
                call_number: c.call_number.clone(),
                state: "available".into(),
                price: new.price,
                source: c.source.clone(),
                acquired_on: c.acquired_on.clone(),
            };
            let inserted = sqlx::query(
                "INSERT INTO library_items (id, biblio_id, library_id, barcode, kind, location, call_number, state, price, source, acquired_on, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
            )
            .bind(&item.id)
            .bind(&item.biblio_id)
            .bind(&item.library_id)
            .bind(&item.barcode)
            .bind(&item.kind)
            .bind(&item.location)
            .bind(&item.call_number)
            .bind(&item.state)
            .bind(item.price)
            .bind(&item.source)
            .bind(&item.acquired_on)
            .bind(now)
            .execute(&mut *tx)
            .await;
            if let Err(e) = inserted {
                let e = kyso_store::StoreError::from(e);
                return Err(if e.is_unique_violation() { LibraryError::BarcodeTaken(item.barcode) } else { e.into() });
            }
            out.push(item);
        }
    }
    let (first, last) = (out.first().map(|i| i.barcode.clone()), out.last().map(|i| i.barcode.clone()));
    kyso_org::record(
        &mut tx,
        actor,
        "items_added",
        None,
        Some(&library.id),
        serde_json::json!({"titles": requests.len(), "copies": out.len(), "first": first, "last": last}),
    )
    .await?;
    tx.commit().await?;
    Ok(out)
}

/// The highest purely numeric accession number of the library.
async fn next_accession(tx: &mut kyso_store::WriteTx<'_>, library_id: &str) -> Result<i64> {
    let rows =
        sqlx::query("SELECT barcode FROM library_items WHERE library_id = $1 AND length(barcode) = 6 ORDER BY barcode DESC LIMIT 50")
            .bind(library_id)
            .fetch_all(&mut **tx)
            .await?;
    Ok(rows.iter().filter_map(|r| r.try_get::<String, _>(0).ok()).filter_map(|b| b.parse::<i64>().ok()).max().unwrap_or(0))
}

/// The copy with `barcode` in `library`.
pub async fn by_barcode(store: &Store, library: &Library, barcode: &str) -> Result<Item> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ITEM_COLUMNS} FROM library_items WHERE library_id = $1 AND barcode = $2")))
        .bind(&library.id)
        .bind(barcode.trim())
        .fetch_optional(&store.db.pool)
        .await?
        .ok_or_else(|| LibraryError::NoSuchCopy(barcode.trim().to_string()))?;
    item_of(&row)
}

/// The copies of a title, by accession number.
pub async fn of_biblio(store: &Store, biblio_id: &str) -> Result<Vec<Item>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ITEM_COLUMNS} FROM library_items WHERE biblio_id = $1 ORDER BY barcode")))
        .bind(biblio_id)
        .fetch_all(&store.db.pool)
        .await?;
    rows.iter().map(item_of).collect()
}

/// The librarian marks a copy in repair, lost, withdrawn or back on the shelf. A copy on loan
/// or held is changed by circulation only (check it in first).
pub async fn set_state(store: &Store, actor: &Actor, library: &Library, barcode: &str, state: &str) -> Result<Item> {
    if !MANUAL_STATES.contains(&state) {
        return Err(invalid("state", Rule::OneOf { value: state.to_string(), allowed: MANUAL_STATES.join(", ") }));
    }
    let item = by_barcode(store, library, barcode).await?;
    let mut tx = store.db.write().await?;
    let changed =
        sqlx::query("UPDATE library_items SET state = $1, updated_at = $2 WHERE id = $3 AND state NOT IN ('on_loan', 'reserved')")
            .bind(state)
            .bind(tx.now())
            .bind(&item.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if changed == 0 {
        return Err(LibraryError::NotLendable { barcode: item.barcode, state: item.state });
    }
    kyso_org::record(
        &mut tx,
        actor,
        "item_state",
        None,
        Some(&library.id),
        serde_json::json!({"barcode": item.barcode, "from": item.state, "to": state}),
    )
    .await?;
    tx.commit().await?;
    Ok(Item { state: state.to_string(), ..item })
}
