//! Stocktake (*kiểm kê*). Opening a session freezes the expected set: the library's copies in
//! the scope (a location, a call-number range, or all), leaving out what is already lost, in
//! repair or withdrawn, and marking those on loan, which are counted apart (Pinakes and Koha's
//! inventory tool do the same). Copies are then scanned in any order, at the desk or as an
//! uploaded list, each once. The result sorts every copy: found, missing, on loan, misplaced
//! (scanned here but belonging elsewhere) and unknown barcodes, with textbooks marked M/C
//! (*mất/còn*: lost or present), which is Part III of the general register.

use crate::error::{LibraryError, Result, Rule, invalid};
use crate::{Library, dates};
use kyso_org::Actor;
use kyso_store::{Binds, Store, new_id};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::HashSet;

/// Which copies a session expects to find.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scope {
    All,
    Location {
        location: String,
    },
    /// Call numbers from `from` to `to`, inclusive, in text order.
    CallNumbers {
        from: String,
        to: String,
    },
}

#[derive(Clone, Debug, Serialize)]
pub struct Stocktake {
    pub id: String,
    pub library_id: String,
    pub scope: Scope,
    pub opened_at: i64,
    pub closed_at: Option<i64>,
    pub expected: i64,
}

/// One copy in a result list.
#[derive(Clone, Debug, Serialize)]
pub struct Line {
    pub barcode: String,
    pub title: String,
    pub kind: String,
    pub location: String,
    pub call_number: String,
    pub price: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub stocktake: Stocktake,
    pub found: Vec<Line>,
    pub missing: Vec<Line>,
    pub on_loan: Vec<Line>,
    pub misplaced: Vec<Line>,
    pub unknown: Vec<String>,
}

impl Outcome {
    /// Textbooks by the register's mark: (present "C", lost "M").
    pub fn textbook_marks(&self) -> (usize, usize) {
        let textbook = |l: &&Line| l.kind == "textbook";
        (self.found.iter().chain(&self.on_loan).filter(textbook).count(), self.missing.iter().filter(textbook).count())
    }
}

/// Opens a session and freezes what it expects.
pub async fn open(store: &Store, actor: &Actor, library: &Library, scope: Scope) -> Result<Stocktake> {
    let mut binds = Binds::default();
    let lib = binds.push(&library.id);
    let mut filter = format!("library_id = {lib} AND state NOT IN ('lost', 'in_repair', 'withdrawn')");
    match &scope {
        Scope::All => {}
        Scope::Location { location } => {
            let l = kyso_org::text::line(location, "location", 100)?;
            filter.push_str(&format!(" AND location = {}", binds.push(&l)));
        }
        Scope::CallNumbers { from, to } => {
            if from.trim().is_empty() || to.trim().is_empty() || from.trim() > to.trim() {
                return Err(invalid("call_numbers", Rule::Required));
            }
            filter.push_str(&format!(" AND call_number >= {} AND call_number <= {}", binds.push(from.trim()), binds.push(to.trim())));
        }
    }
    let mut tx = store.db.write().await?;
    let now = tx.now();
    let id = new_id();
    let sid = binds.push(&id);
    let frozen = binds
        .query(format!(
            "INSERT INTO library_stocktake_expected (stocktake_id, item_id, barcode, on_loan) \
             SELECT {sid}, id, barcode, CASE WHEN state = 'on_loan' THEN 1 ELSE 0 END FROM library_items WHERE {filter}"
        ))
        .execute(&mut *tx)
        .await?
        .rows_affected() as i64;
    let scope_json = serde_json::to_string(&scope).unwrap_or_default();
    sqlx::query("INSERT INTO library_stocktakes (id, library_id, scope, opened_by, opened_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(&library.id)
        .bind(&scope_json)
        .bind(actor.name())
        .bind(now)
        .execute(&mut *tx)
        .await?;
    kyso_org::record(&mut tx, actor, "stocktake_opened", None, Some(&library.id), serde_json::json!({"stocktake": id, "expected": frozen}))
        .await?;
    tx.commit().await?;
    Ok(Stocktake { id, library_id: library.id.clone(), scope, opened_at: now, closed_at: None, expected: frozen })
}

async fn get(store: &Store, library: &Library, id: &str) -> Result<Stocktake> {
    let r = sqlx::query("SELECT id, library_id, scope, opened_at, closed_at FROM library_stocktakes WHERE id = $1 AND library_id = $2")
        .bind(id)
        .bind(&library.id)
        .fetch_optional(&store.db.pool)
        .await?
        .ok_or(LibraryError::NotFound("stocktake"))?;
    let expected: i64 = sqlx::query("SELECT COUNT(*) FROM library_stocktake_expected WHERE stocktake_id = $1")
        .bind(id)
        .fetch_one(&store.db.pool)
        .await?
        .try_get(0)?;
    let scope: String = r.try_get(2)?;
    Ok(Stocktake {
        id: r.try_get(0)?,
        library_id: r.try_get(1)?,
        scope: serde_json::from_str(&scope).unwrap_or(Scope::All),
        opened_at: r.try_get(3)?,
        closed_at: r.try_get(4)?,
        expected,
    })
}

/// Records scanned barcodes (a scan, or an uploaded list: one per line, blanks ignored). A
/// barcode scanned twice counts once. Returns how many were new.
pub async fn scan(store: &Store, actor: &Actor, library: &Library, id: &str, barcodes: &str) -> Result<usize> {
    let s = get(store, library, id).await?;
    if s.closed_at.is_some() {
        return Err(invalid("stocktake", Rule::OneOf { value: "closed".into(), allowed: "an open stocktake".into() }));
    }
    let list: Vec<String> =
        barcodes.lines().map(str::trim).filter(|b| !b.is_empty()).map(crate::items::check_barcode).collect::<Result<_>>()?;
    if list.len() > 200_000 {
        return Err(invalid("barcodes", Rule::Range { min: 1, max: 200_000 }));
    }
    let mut tx = store.db.write().await?;
    let now = tx.now();
    let mut seen = HashSet::new();
    let mut added = 0;
    for b in list.iter().filter(|b| seen.insert(b.as_str())) {
        let exists = sqlx::query("SELECT 1 FROM library_stocktake_scans WHERE stocktake_id = $1 AND barcode = $2")
            .bind(id)
            .bind(b)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            continue;
        }
        sqlx::query("INSERT INTO library_stocktake_scans (stocktake_id, barcode, scanned_at, scanned_by) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(b)
            .bind(now)
            .bind(actor.name())
            .execute(&mut *tx)
            .await?;
        added += 1;
    }
    kyso_org::record(&mut tx, actor, "stocktake_scanned", None, Some(&library.id), serde_json::json!({"stocktake": id, "new": added}))
        .await?;
    tx.commit().await?;
    Ok(added)
}

fn line_of(r: &sqlx::any::AnyRow) -> Result<Line> {
    Ok(Line {
        barcode: r.try_get(0)?,
        title: r.try_get(1)?,
        kind: r.try_get(2)?,
        location: r.try_get(3)?,
        call_number: r.try_get(4)?,
        price: r.try_get(5)?,
    })
}

const LINE: &str =
    "SELECT i.barcode, b.title, i.kind, i.location, i.call_number, i.price FROM library_items i JOIN biblios b ON b.id = i.biblio_id";

/// The session's result, computed from the frozen set and the scans.
pub async fn outcome(store: &Store, library: &Library, id: &str) -> Result<Outcome> {
    let stocktake = get(store, library, id).await?;
    let pool = &store.db.pool;
    let q = |sql: String| sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.to_string());
    let rows = |rows: Vec<sqlx::any::AnyRow>| rows.iter().map(line_of).collect::<Result<Vec<_>>>();
    let found = rows(
        q(format!("{LINE} JOIN library_stocktake_expected e ON e.item_id = i.id WHERE e.stocktake_id = $1 AND e.barcode IN (SELECT barcode FROM library_stocktake_scans WHERE stocktake_id = $1) ORDER BY i.barcode"))
            .fetch_all(pool)
            .await?,
    )?;
    let not_scanned = "e.barcode NOT IN (SELECT barcode FROM library_stocktake_scans WHERE stocktake_id = $1)";
    let on_loan = rows(q(format!("{LINE} JOIN library_stocktake_expected e ON e.item_id = i.id WHERE e.stocktake_id = $1 AND {not_scanned} AND (e.on_loan = 1 OR i.state = 'on_loan') ORDER BY i.barcode")).fetch_all(pool).await?)?;
    let missing = rows(q(format!("{LINE} JOIN library_stocktake_expected e ON e.item_id = i.id WHERE e.stocktake_id = $1 AND {not_scanned} AND e.on_loan = 0 AND i.state <> 'on_loan' ORDER BY i.barcode")).fetch_all(pool).await?)?;
    let misplaced = rows(
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{LINE} JOIN library_stocktake_scans s ON s.barcode = i.barcode WHERE s.stocktake_id = $1 AND i.library_id = $2 \
             AND i.id NOT IN (SELECT item_id FROM library_stocktake_expected WHERE stocktake_id = $1) ORDER BY i.barcode"
        )))
        .bind(id)
        .bind(&library.id)
        .fetch_all(pool)
        .await?,
    )?;
    let unknown = sqlx::query(
        "SELECT s.barcode FROM library_stocktake_scans s WHERE s.stocktake_id = $1 AND s.barcode NOT IN (SELECT barcode FROM library_items WHERE library_id = $2) ORDER BY s.barcode",
    )
    .bind(id)
    .bind(&library.id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| r.try_get(0))
    .collect::<Result<Vec<String>, _>>()?;
    Ok(Outcome { stocktake, found, missing, on_loan, misplaced, unknown })
}

/// Closes the session: no more scans; the result stays as it is.
pub async fn close(store: &Store, actor: &Actor, library: &Library, id: &str) -> Result<Outcome> {
    let result = outcome(store, library, id).await?;
    let mut tx = store.db.write().await?;
    let now = tx.now();
    sqlx::query("UPDATE library_stocktakes SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    kyso_org::record(
        &mut tx,
        actor,
        "stocktake_closed",
        None,
        Some(&library.id),
        serde_json::json!({"stocktake": id, "found": result.found.len(), "missing": result.missing.len(), "on_loan": result.on_loan.len(), "misplaced": result.misplaced.len()}),
    )
    .await?;
    tx.commit().await?;
    Ok(Outcome { stocktake: Stocktake { closed_at: Some(now), ..result.stocktake.clone() }, ..result })
}

/// Part III of the general register (*sổ đăng ký tổng quát, phần III: kiểm kê*) as a PDF: the
/// counts, textbooks by M/C, and the copies proposed for withdrawal (the missing ones), which
/// the principal approves by signing the document through its chain.
pub fn register_part_three(library: &Library, o: &Outcome) -> Result<Vec<u8>> {
    let (present, lost) = o.textbook_marks();
    let value: i64 = o.missing.iter().map(|l| l.price).sum();
    let opened = dates::display(&dates::iso(dates::day_of(o.stocktake.opened_at)));
    let mut lines = vec![
        "SỔ ĐĂNG KÝ TỔNG QUÁT — PHẦN III: KIỂM KÊ".to_string(),
        library.name.clone(),
        String::new(),
        format!("Ngày mở đợt kiểm kê: {opened}"),
        format!("Số bản phải có: {}", o.stocktake.expected),
        format!("Có trên giá: {}", o.found.len()),
        format!("Đang cho mượn: {}", o.on_loan.len()),
        format!("Không tìm thấy (mất): {}", o.missing.len()),
        format!("Để sai vị trí: {}", o.misplaced.len()),
        format!("Mã không có trong thư viện: {}", o.unknown.len()),
        format!("Sách giáo khoa — còn (C): {present}; mất (M): {lost}"),
        format!("Giá trị sách mất: {} đồng", group_thousands(value)),
        String::new(),
        "ĐỀ NGHỊ THANH LÝ (các bản không tìm thấy)".to_string(),
        "STT | Số ĐKCB | Nhan đề | Kho | Giá (đồng)".to_string(),
    ];
    for (i, l) in o.missing.iter().enumerate() {
        let title: String = l.title.chars().take(48).collect();
        lines.push(format!("{} | {} | {} | {} | {}", i + 1, l.barcode, title, l.location, group_thousands(l.price)));
    }
    if !o.misplaced.is_empty() {
        lines.push(String::new());
        lines.push("ĐỂ SAI VỊ TRÍ (cần xếp lại)".to_string());
        for l in &o.misplaced {
            lines.push(format!("{} | {} | {}", l.barcode, l.title.chars().take(48).collect::<String>(), l.location));
        }
    }
    lines.push(String::new());
    lines.push("Cán bộ thư viện                                   Hiệu trưởng duyệt".to_string());
    let pages = kyso_pdf::text_document::paginate(&lines, |page, total| format!("Trang {page}/{total}"));
    kyso_pdf::text_document::text_pdf("Sổ đăng ký tổng quát — Phần III: Kiểm kê", &pages)
        .map_err(|e| LibraryError::Unreadable(e.to_string()))
}

/// 1234567 → "1.234.567", as Vietnamese writes amounts.
fn group_thousands(n: i64) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}
