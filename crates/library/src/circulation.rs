//! The desk: check-out, check-in and renewal by a copy's barcode and a reader's card, holds
//! with a queue, overdue lists. A copy is never lent twice: each check-out runs in one write
//! transaction that moves the copy from available (or reserved for this reader) to on loan,
//! and the database's `library_loans_open_item` index refuses a second open loan of a copy
//! even from another node. Every refusal names the rule that refused it.

use crate::error::{LibraryError, LoanRule, Result};
use crate::{Library, dates};
use kyso_org::Actor;
use kyso_store::{Store, WriteTx, new_id};
use serde::Serialize;
use sqlx::Row;

#[derive(Clone, Debug, Serialize)]
pub struct Loan {
    pub id: String,
    pub barcode: String,
    pub biblio_id: String,
    pub title: String,
    pub reader_id: String,
    pub reader_name: String,
    pub card_number: String,
    pub out_at: i64,
    pub due_on: String,
    pub renewals: i64,
    pub returned_at: Option<i64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CheckIn {
    pub loan: Loan,
    /// Open days past the due date (0 when on time).
    pub overdue_days: i64,
    /// The reader the copy is now held for, when a hold was waiting: put it on the hold shelf.
    pub held_for: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Hold {
    pub id: String,
    pub biblio_id: String,
    pub reader_id: String,
    pub reader_name: String,
    pub placed_at: i64,
    /// waiting, ready (a copy is set aside), collected, cancelled.
    pub state: String,
    pub barcode: Option<String>,
}

const LOAN_SELECT: &str = "SELECT l.id, i.barcode, l.biblio_id, b.title, l.reader_id, r.full_name, r.card_number, l.out_at, l.due_on, l.renewals, l.returned_at \
     FROM library_loans l JOIN library_items i ON i.id = l.item_id JOIN biblios b ON b.id = l.biblio_id JOIN library_readers r ON r.id = l.reader_id";

fn loan_of(r: &sqlx::any::AnyRow) -> Result<Loan> {
    Ok(Loan {
        id: r.try_get(0)?,
        barcode: r.try_get(1)?,
        biblio_id: r.try_get(2)?,
        title: r.try_get(3)?,
        reader_id: r.try_get(4)?,
        reader_name: r.try_get(5)?,
        card_number: r.try_get(6)?,
        out_at: r.try_get(7)?,
        due_on: r.try_get(8)?,
        renewals: r.try_get(9)?,
        returned_at: r.try_get(10)?,
    })
}

async fn loan_by_id(tx: &mut WriteTx<'_>, id: &str) -> Result<Loan> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{LOAN_SELECT} WHERE l.id = $1"))).bind(id).fetch_one(&mut **tx).await?;
    loan_of(&row)
}

struct Copy {
    id: String,
    biblio_id: String,
    barcode: String,
    state: String,
}

async fn copy(tx: &mut WriteTx<'_>, library: &Library, barcode: &str) -> Result<Copy> {
    let r = sqlx::query("SELECT id, biblio_id, barcode, state FROM library_items WHERE library_id = $1 AND barcode = $2")
        .bind(&library.id)
        .bind(barcode.trim())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| LibraryError::NoSuchCopy(barcode.trim().to_string()))?;
    Ok(Copy { id: r.try_get(0)?, biblio_id: r.try_get(1)?, barcode: r.try_get(2)?, state: r.try_get(3)? })
}

async fn rules_for(tx: &mut WriteTx<'_>, library: &Library, reader_type: &str) -> Result<crate::readers::LoanRules> {
    let r = sqlx::query("SELECT max_items, loan_days, max_renewals FROM library_loan_rules WHERE library_id = $1 AND reader_type = $2")
        .bind(&library.id)
        .bind(reader_type)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| LibraryError::Refused(LoanRule::NoRule(reader_type.to_string())))?;
    Ok(crate::readers::LoanRules {
        reader_type: reader_type.to_string(),
        max_items: r.try_get(0)?,
        loan_days: r.try_get(1)?,
        max_renewals: r.try_get(2)?,
    })
}

/// Lends the copy `barcode` to the reader with `card`. The reader, their rules and the closed
/// days are read before the write lock (they only ever change by hand); the copy's state, the
/// reader's open loans and the loan itself are decided inside it.
pub async fn check_out(store: &Store, actor: &Actor, library: &Library, card: &str, barcode: &str) -> Result<Loan> {
    let reader = crate::readers::by_card(store, library, card).await?;
    if !reader.active {
        return Err(LibraryError::Refused(LoanRule::InactiveCard));
    }
    let rules = crate::readers::rules(store, &library.id)
        .await?
        .into_iter()
        .find(|r| r.reader_type == reader.reader_type)
        .ok_or_else(|| LibraryError::Refused(LoanRule::NoRule(reader.reader_type.clone())))?;
    let today = dates::day_of(store.now());
    let closed = crate::readers::closed_days(&store.db.pool, &library.id, today).await?;
    let due_on = dates::iso(dates::due_after(today, rules.loan_days, &closed));

    let mut tx = store.db.write().await?;
    let now = tx.now();
    let item = sqlx::query("SELECT i.id, i.biblio_id, i.barcode, i.state, b.title FROM library_items i JOIN biblios b ON b.id = i.biblio_id WHERE i.library_id = $1 AND i.barcode = $2")
        .bind(&library.id)
        .bind(barcode.trim())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| LibraryError::NoSuchCopy(barcode.trim().to_string()))?;
    let (item, title): (Copy, String) =
        (Copy { id: item.try_get(0)?, biblio_id: item.try_get(1)?, barcode: item.try_get(2)?, state: item.try_get(3)? }, item.try_get(4)?);
    match item.state.as_str() {
        "available" => {}
        "reserved" => {
            let held: Option<(String, String)> = sqlx::query(
                "SELECT h.reader_id, r.full_name FROM library_holds h JOIN library_readers r ON r.id = h.reader_id WHERE h.item_id = $1 AND h.state = 'ready'",
            )
            .bind(&item.id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?)))
            .transpose()?;
            if let Some((holder, name)) = held
                && holder != reader.id
            {
                return Err(LibraryError::HeldForAnother { barcode: item.barcode, reader: name });
            }
        }
        "on_loan" => return Err(LibraryError::AlreadyOnLoan(item.barcode)),
        other => return Err(LibraryError::NotLendable { barcode: item.barcode, state: other.to_string() }),
    }
    let open: Vec<String> = sqlx::query("SELECT due_on FROM library_loans WHERE reader_id = $1 AND returned_at IS NULL")
        .bind(&reader.id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    if open.len() as i64 >= rules.max_items {
        return Err(LibraryError::Refused(LoanRule::MaxItems { limit: rules.max_items, reader_type: reader.reader_type }));
    }
    if open.iter().any(|due| due.as_str() < dates::iso(today).as_str()) {
        return Err(LibraryError::Refused(LoanRule::Overdue));
    }
    let loan_id = new_id();
    let inserted = sqlx::query(
        "INSERT INTO library_loans (id, item_id, biblio_id, reader_id, library_id, out_at, due_on, renewals, out_by) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)",
    )
    .bind(&loan_id)
    .bind(&item.id)
    .bind(&item.biblio_id)
    .bind(&reader.id)
    .bind(&library.id)
    .bind(now)
    .bind(&due_on)
    .bind(actor.name())
    .execute(&mut *tx)
    .await;
    if let Err(e) = inserted {
        let e = kyso_store::StoreError::from(e);
        return Err(if e.is_unique_violation() { LibraryError::AlreadyOnLoan(item.barcode) } else { e.into() });
    }
    let moved =
        sqlx::query("UPDATE library_items SET state = 'on_loan', updated_at = $1 WHERE id = $2 AND state IN ('available', 'reserved')")
            .bind(now)
            .bind(&item.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if moved == 0 {
        return Err(LibraryError::AlreadyOnLoan(item.barcode));
    }
    if item.state == "reserved" || has_open_hold(&mut tx, &reader.id, &item.biblio_id).await? {
        // The reader's hold on this title, ready or still waiting, is fulfilled by this loan.
        sqlx::query("UPDATE library_holds SET state = 'collected', item_id = $1, updated_at = $2 WHERE reader_id = $3 AND biblio_id = $4 AND state IN ('waiting', 'ready')")
            .bind(&item.id)
            .bind(now)
            .bind(&reader.id)
            .bind(&item.biblio_id)
            .execute(&mut *tx)
            .await?;
    }
    kyso_org::record(
        &mut tx,
        actor,
        "checkout",
        None,
        Some(&library.id),
        serde_json::json!({"barcode": item.barcode, "card": reader.card_number, "due_on": due_on}),
    )
    .await?;
    tx.commit().await?;
    Ok(Loan {
        id: loan_id,
        barcode: item.barcode,
        biblio_id: item.biblio_id,
        title,
        reader_id: reader.id,
        reader_name: reader.full_name,
        card_number: reader.card_number,
        out_at: now,
        due_on,
        renewals: 0,
        returned_at: None,
    })
}

async fn has_open_hold(tx: &mut WriteTx<'_>, reader_id: &str, biblio_id: &str) -> Result<bool> {
    Ok(sqlx::query("SELECT 1 FROM library_holds WHERE reader_id = $1 AND biblio_id = $2 AND state IN ('waiting', 'ready')")
        .bind(reader_id)
        .bind(biblio_id)
        .fetch_optional(&mut **tx)
        .await?
        .is_some())
}

async fn open_loan_of(tx: &mut WriteTx<'_>, item: &Copy) -> Result<Loan> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{LOAN_SELECT} WHERE l.item_id = $1 AND l.returned_at IS NULL")))
        .bind(&item.id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| LibraryError::NotOnLoan(item.barcode.clone()))?;
    loan_of(&row)
}

/// Takes the copy `barcode` back. When a reader is waiting for the title, the copy is set
/// aside for the first of them (the hold becomes ready) instead of going back on the shelf.
pub async fn check_in(store: &Store, actor: &Actor, library: &Library, barcode: &str) -> Result<CheckIn> {
    let mut tx = store.db.write().await?;
    let now = tx.now();
    let today = dates::day_of(now);
    let item = copy(&mut tx, library, barcode).await?;
    let mut loan = open_loan_of(&mut tx, &item).await?;
    sqlx::query("UPDATE library_loans SET returned_at = $1, returned_by = $2 WHERE id = $3 AND returned_at IS NULL")
        .bind(now)
        .bind(actor.name())
        .bind(&loan.id)
        .execute(&mut *tx)
        .await?;
    let due = dates::parse(&loan.due_on).unwrap_or(today);
    let overdue_days = if today > due {
        let closed = crate::readers::closed_days(&mut *tx, &library.id, due).await?;
        (due + 1..=today).filter(|d| !closed.contains(d)).count() as i64
    } else {
        0
    };
    let next = sqlx::query(
        "SELECT h.id, r.full_name FROM library_holds h JOIN library_readers r ON r.id = h.reader_id WHERE h.biblio_id = $1 AND h.state = 'waiting' ORDER BY h.seq LIMIT 1",
    )
    .bind(&item.biblio_id)
    .fetch_optional(&mut *tx)
    .await?;
    let held_for = match next {
        Some(h) => {
            let (hold_id, name): (String, String) = (h.try_get(0)?, h.try_get(1)?);
            sqlx::query("UPDATE library_holds SET state = 'ready', item_id = $1, updated_at = $2 WHERE id = $3")
                .bind(&item.id)
                .bind(now)
                .bind(&hold_id)
                .execute(&mut *tx)
                .await?;
            Some(name)
        }
        None => None,
    };
    let state = if held_for.is_some() { "reserved" } else { "available" };
    sqlx::query("UPDATE library_items SET state = $1, updated_at = $2 WHERE id = $3")
        .bind(state)
        .bind(now)
        .bind(&item.id)
        .execute(&mut *tx)
        .await?;
    kyso_org::record(
        &mut tx,
        actor,
        "checkin",
        None,
        Some(&library.id),
        serde_json::json!({"barcode": item.barcode, "overdue_days": overdue_days, "held": held_for.is_some()}),
    )
    .await?;
    tx.commit().await?;
    loan.returned_at = Some(now);
    Ok(CheckIn { loan, overdue_days, held_for })
}

/// Renews the loan of `barcode` from today, within the reader type's renewal limit and only
/// when nobody is waiting for the title.
pub async fn renew(store: &Store, actor: &Actor, library: &Library, barcode: &str) -> Result<Loan> {
    let mut tx = store.db.write().await?;
    let now = tx.now();
    let today = dates::day_of(now);
    let item = copy(&mut tx, library, barcode).await?;
    let loan = open_loan_of(&mut tx, &item).await?;
    let reader_type: String =
        sqlx::query("SELECT reader_type FROM library_readers WHERE id = $1").bind(&loan.reader_id).fetch_one(&mut *tx).await?.try_get(0)?;
    let rules = rules_for(&mut tx, library, &reader_type).await?;
    if loan.renewals >= rules.max_renewals {
        return Err(LibraryError::Refused(LoanRule::MaxRenewals { limit: rules.max_renewals }));
    }
    let waiting: i64 = sqlx::query("SELECT COUNT(*) FROM library_holds WHERE biblio_id = $1 AND state = 'waiting'")
        .bind(&item.biblio_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
    if waiting > 0 {
        return Err(LibraryError::Refused(LoanRule::WaitedFor));
    }
    let closed = crate::readers::closed_days(&mut *tx, &library.id, today).await?;
    let due_on = dates::iso(dates::due_after(today, rules.loan_days, &closed).max(dates::parse(&loan.due_on).unwrap_or(today)));
    sqlx::query("UPDATE library_loans SET due_on = $1, renewals = renewals + 1 WHERE id = $2")
        .bind(&due_on)
        .bind(&loan.id)
        .execute(&mut *tx)
        .await?;
    kyso_org::record(&mut tx, actor, "renewal", None, Some(&library.id), serde_json::json!({"barcode": item.barcode, "due_on": due_on}))
        .await?;
    let loan = loan_by_id(&mut tx, &loan.id).await?;
    tx.commit().await?;
    Ok(loan)
}

/// Places a hold for `reader_id` on a title of `library`. A copy on the shelf is set aside at
/// once (the hold is ready to collect: the online loan request); otherwise the reader joins
/// the queue, and the first copy checked in goes to the first reader in it.
pub async fn place_hold(store: &Store, actor: &Actor, library: &Library, reader_id: &str, biblio_id: &str) -> Result<Hold> {
    let mut tx = store.db.write().await?;
    let now = tx.now();
    let owner: Option<String> = sqlx::query("SELECT library_id FROM biblios WHERE id = $1")
        .bind(biblio_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
    if owner.as_deref() != Some(library.id.as_str()) {
        return Err(LibraryError::NotFound("title"));
    }
    let name: String = sqlx::query("SELECT full_name FROM library_readers WHERE id = $1 AND library_id = $2")
        .bind(reader_id)
        .bind(&library.id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(LibraryError::NotFound("reader"))?
        .try_get(0)?;
    let existing = sqlx::query("SELECT id FROM library_holds WHERE reader_id = $1 AND biblio_id = $2 AND state IN ('waiting', 'ready')")
        .bind(reader_id)
        .bind(biblio_id)
        .fetch_optional(&mut *tx)
        .await?;
    if existing.is_some() {
        return Err(LibraryError::Invalid {
            field: "hold",
            rule: crate::Rule::OneOf { value: "a second hold".into(), allowed: "one hold per title".into() },
        });
    }
    let seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 FROM library_holds WHERE biblio_id = $1")
        .bind(biblio_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
    let shelf = sqlx::query("SELECT id, barcode FROM library_items WHERE biblio_id = $1 AND state = 'available' ORDER BY barcode LIMIT 1")
        .bind(biblio_id)
        .fetch_optional(&mut *tx)
        .await?;
    let (state, item_id, barcode) = match shelf {
        Some(r) => ("ready", Some(r.try_get::<String, _>(0)?), Some(r.try_get::<String, _>(1)?)),
        None => ("waiting", None, None),
    };
    if let Some(item) = &item_id {
        sqlx::query("UPDATE library_items SET state = 'reserved', updated_at = $1 WHERE id = $2 AND state = 'available'")
            .bind(now)
            .bind(item)
            .execute(&mut *tx)
            .await?;
    }
    let id = new_id();
    sqlx::query("INSERT INTO library_holds (id, biblio_id, library_id, reader_id, placed_at, seq, state, item_id, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $5)")
        .bind(&id)
        .bind(biblio_id)
        .bind(&library.id)
        .bind(reader_id)
        .bind(now)
        .bind(seq)
        .bind(state)
        .bind(&item_id)
        .execute(&mut *tx)
        .await?;
    kyso_org::record(&mut tx, actor, "hold_placed", None, Some(&library.id), serde_json::json!({"biblio": biblio_id, "state": state}))
        .await?;
    tx.commit().await?;
    Ok(Hold {
        id,
        biblio_id: biblio_id.to_string(),
        reader_id: reader_id.to_string(),
        reader_name: name,
        placed_at: now,
        state: state.into(),
        barcode,
    })
}

/// A reader asks online for a title of their own library (*mượn sách online*): a hold placed
/// in their name, ready at the desk when a copy is on the shelf. Readers only ask their own
/// library; another school's title is reached by an interlibrary request through the librarian.
pub async fn request(store: &Store, actor: &Actor, biblio_id: &str) -> Result<Hold> {
    let user = actor.user_id().ok_or(LibraryError::NotFound("reader"))?;
    let library_id: String = sqlx::query("SELECT library_id FROM biblios WHERE id = $1")
        .bind(biblio_id)
        .fetch_optional(&store.db.pool)
        .await?
        .ok_or(LibraryError::NotFound("title"))?
        .try_get(0)?;
    let reader = crate::readers::of_user(store, user)
        .await?
        .into_iter()
        .find(|r| r.library_id == library_id && r.active)
        .ok_or(LibraryError::NotFound("title"))?;
    let tree = kyso_org::OrgTree::load(&store.db.pool).await?;
    let org = tree.get(&library_id).ok_or(LibraryError::NotFound("title"))?;
    let library = Library { id: org.id.clone(), name: org.name.clone(), district_id: crate::access::district_of(&tree, &library_id) };
    place_hold(store, actor, &library, &reader.id, biblio_id).await
}

/// The holds on a title still open, in queue order (ready first, then waiting by arrival).
pub async fn queue(store: &Store, biblio_id: &str) -> Result<Vec<Hold>> {
    let rows = sqlx::query(
        "SELECT h.id, h.biblio_id, h.reader_id, r.full_name, h.placed_at, h.state, i.barcode FROM library_holds h \
         JOIN library_readers r ON r.id = h.reader_id LEFT JOIN library_items i ON i.id = h.item_id \
         WHERE h.biblio_id = $1 AND h.state IN ('ready', 'waiting') ORDER BY CASE h.state WHEN 'ready' THEN 0 ELSE 1 END, h.seq",
    )
    .bind(biblio_id)
    .fetch_all(&store.db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Hold {
                id: r.try_get(0)?,
                biblio_id: r.try_get(1)?,
                reader_id: r.try_get(2)?,
                reader_name: r.try_get(3)?,
                placed_at: r.try_get(4)?,
                state: r.try_get(5)?,
                barcode: r.try_get(6)?,
            })
        })
        .collect()
}

/// Open loans of the library; only the overdue ones when `overdue_only`, oldest due first.
pub async fn open_loans(store: &Store, library: &Library, overdue_only: bool) -> Result<Vec<Loan>> {
    let today = dates::iso(dates::day_of(store.now()));
    let filter = if overdue_only { " AND l.due_on < $2" } else { " AND $2 = $2" };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{LOAN_SELECT} WHERE l.library_id = $1 AND l.returned_at IS NULL{filter} ORDER BY l.due_on, i.barcode"
    )))
    .bind(&library.id)
    .bind(today)
    .fetch_all(&store.db.pool)
    .await?;
    rows.iter().map(loan_of).collect()
}

/// A reader's loans, open and past, newest first: for the reader themselves and the librarian
/// only (a loan history is private).
pub async fn loans_of_reader(store: &Store, actor: &Actor, reader_id: &str) -> Result<Vec<Loan>> {
    let row = sqlx::query("SELECT library_id, user_id FROM library_readers WHERE id = $1")
        .bind(reader_id)
        .fetch_optional(&store.db.pool)
        .await?
        .ok_or(LibraryError::NotFound("reader"))?;
    let (library_id, user_id): (String, Option<String>) = (row.try_get(0)?, row.try_get(1)?);
    let own = user_id.is_some() && actor.user_id() == user_id.as_deref();
    let tree = kyso_org::OrgTree::load(&store.db.pool).await?;
    if !own && !crate::access::manages(actor, &tree, &library_id) {
        kyso_org::refused(store, actor, "reader_loans", Some(&library_id)).await?;
        return Err(LibraryError::NotFound("reader"));
    }
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{LOAN_SELECT} WHERE l.reader_id = $1 ORDER BY l.out_at DESC LIMIT 500")))
        .bind(reader_id)
        .fetch_all(&store.db.pool)
        .await?;
    rows.iter().map(loan_of).collect()
}
