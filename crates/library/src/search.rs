//! The union catalogue (*liên thông thư viện*): one search over the libraries of the caller's
//! district (all districts for the Sở), diacritic-insensitive through the same folding as the
//! records search (`kyso_org::text::fold`: `dang` finds "Đặng"), with each title's holdings per
//! school and how many copies are on the shelf. The same title catalogued by several schools
//! (same ISBN, or same folded title, author and year) is one hit with several holdings.

use crate::catalogue::BIBLIO_COLUMNS;
use crate::error::Result;
use crate::marc::Description;
use kyso_org::{Actor, OrgTree, text::fold};
use kyso_store::{Binds, Store};
use serde::Serialize;
use sqlx::Row;
use std::collections::HashMap;

#[derive(Clone, Debug, Serialize)]
pub struct Holding {
    pub library_id: String,
    pub library_name: String,
    pub biblio_id: String,
    pub copies: i64,
    pub available: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Hit {
    #[serde(flatten)]
    pub description: Description,
    pub holdings: Vec<Holding>,
}

/// The folded words of a query, at most eight; control characters (a NUL, which PostgreSQL
/// refuses in text) separate words like spaces.
pub(crate) fn words(query: &str) -> Vec<String> {
    let cleaned: String = query.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    fold(&cleaned).split_whitespace().take(8).map(str::to_string).collect()
}

/// `%` and `_` in a searched word are literal.
pub(crate) fn like_escape(word: &str) -> String {
    word.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Titles whose folded text holds every word of `query`, at most `limit` of them.
pub async fn search(store: &Store, actor: &Actor, query: &str, limit: usize) -> Result<Vec<Hit>> {
    let words = words(query);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let tree = OrgTree::load(&store.db.pool).await?;
    let districts = crate::access::search_districts(actor, &tree);
    if districts.is_empty() {
        return Ok(Vec::new());
    }
    // First the titles: up to `limit` distinct ones among the first matching rows. No ORDER BY:
    // a common word matches tens of thousands of rows in a district, and sorting them all to
    // show twenty costs more than the search (library-bench); the hits are ordered below.
    let mut binds = Binds::default();
    let list = binds.push_list(districts.iter().map(String::as_str));
    let mut sql = format!("SELECT dedup_key FROM biblios WHERE district_id IN ({list})");
    for w in &words {
        let p = binds.push(&format!("%{}%", like_escape(w)));
        sql.push_str(&format!(" AND search_text LIKE {p} ESCAPE '\\'"));
    }
    let cap = binds.push_int((limit.clamp(1, 100) * 20) as i64);
    sql.push_str(&format!(" LIMIT {cap}"));
    let mut keys: Vec<String> = Vec::new();
    for r in binds.query(sql).fetch_all(&store.db.pool).await? {
        let k: String = r.try_get(0)?;
        if !keys.contains(&k) && keys.len() < limit {
            keys.push(k);
        }
    }
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    // Then every school's record of those titles, for the holdings.
    let mut binds = Binds::default();
    let list = binds.push_list(districts.iter().map(String::as_str));
    let key_list = binds.push_list(keys.iter().map(String::as_str));
    let sql = format!("SELECT {BIBLIO_COLUMNS}, dedup_key FROM biblios WHERE district_id IN ({list}) AND dedup_key IN ({key_list})");
    let rows = binds.query(sql).fetch_all(&store.db.pool).await?;
    let mut order: Vec<String> = Vec::new();
    let mut hits: HashMap<String, Hit> = HashMap::new();
    let mut biblio_ids = Vec::new();
    for r in &rows {
        let key: String = r.try_get("dedup_key")?;
        let biblio = crate::catalogue::biblio_of(r)?;
        if !hits.contains_key(&key) {
            order.push(key.clone());
            hits.insert(key.clone(), Hit { description: biblio.description.clone(), holdings: Vec::new() });
        }
        let name = tree.get(&biblio.library_id).map(|o| o.name.clone()).unwrap_or_default();
        biblio_ids.push(biblio.id.clone());
        if let Some(hit) = hits.get_mut(&key) {
            hit.holdings.push(Holding { library_id: biblio.library_id, library_name: name, biblio_id: biblio.id, copies: 0, available: 0 });
        }
    }
    if !biblio_ids.is_empty() {
        let mut binds = Binds::default();
        let list = binds.push_list(biblio_ids.iter().map(String::as_str));
        let counts = binds
            .query(format!(
                "SELECT biblio_id, COUNT(*), SUM(CASE WHEN state = 'available' THEN 1 ELSE 0 END) FROM library_items \
                 WHERE biblio_id IN ({list}) AND state <> 'withdrawn' GROUP BY biblio_id"
            ))
            .fetch_all(&store.db.pool)
            .await?;
        let counts: HashMap<String, (i64, i64)> = counts
            .iter()
            .map(|r| Ok((r.try_get::<String, _>(0)?, (r.try_get::<i64, _>(1)?, r.try_get::<Option<i64>, _>(2)?.unwrap_or(0)))))
            .collect::<Result<_, sqlx::Error>>()?;
        for hit in hits.values_mut() {
            for h in &mut hit.holdings {
                (h.copies, h.available) = counts.get(&h.biblio_id).copied().unwrap_or((0, 0));
            }
            hit.holdings.sort_by(|a, b| b.available.cmp(&a.available).then(a.library_name.cmp(&b.library_name)));
        }
    }
    let mut out: Vec<Hit> = order.into_iter().filter_map(|k| hits.remove(&k)).collect();
    out.sort_by(|a, b| fold(&a.description.title).cmp(&fold(&b.description.title)).then(a.description.title.cmp(&b.description.title)));
    Ok(out)
}
