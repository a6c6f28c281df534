//! Benchmark of the library at a district's scale (not a test), on PostgreSQL: SCHOOLS school
//! libraries of one Phòng, each with 2,000 titles and 10,000 copies (1 million copies for 100
//! schools) and 500 readers. Times the union-catalogue search for a district officer beside the
//! obvious peer (reading the district's catalogue into the program and matching there), and
//! check-outs and check-ins at 50 desks at once: closed-loop (each desk scans again the moment
//! its answer comes, the worst case) and with half a second between scans (a fast librarian).
//!
//! ```text
//! cargo build --release -p kyso-tests --bins
//! target/release/library-bench [SCHOOLS=100] [sqlite|postgres]
//! ```

use kyso_clock::{Clock, FixedClock};
use kyso_library::{Library, circulation, search};
use kyso_org::{Actor, Principal, text::fold};
use kyso_store::{BlobStore, CpuQueue, Db, Store};
use kyso_tests::service::{Backend, fresh_database};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TITLES: i64 = 2_000;
const COPIES_PER_TITLE: i64 = 5;
const READERS: i64 = 500;
const DESKS: usize = 50;
/// 2026-11-30 09:00 in Vietnam.
const NOW: i64 = 1_796_004_000;

const WORDS: &[&str] = &[
    "Toán",
    "Ngữ văn",
    "Tiếng Việt",
    "Lịch sử",
    "Địa lí",
    "Khoa học",
    "truyện ngắn",
    "thơ",
    "tiểu thuyết",
    "Đặng",
    "Nguyễn",
    "Trần",
    "Hà Nội",
    "tuổi thơ",
    "phiêu lưu",
    "đất nước",
    "mùa xuân",
    "học sinh",
    "thầy cô",
    "quê hương",
];

fn pct(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

async fn seed(store: &Store, schools: i64) {
    let pool = &store.db.pool;
    for (id, parent, level, name) in
        [("department", None, "department", "Sở GD&ĐT"), ("district", Some("department"), "district", "Phòng GD&ĐT")]
    {
        sqlx::query("INSERT INTO orgs (id, parent_id, level, name) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(parent)
            .bind(level)
            .bind(name)
            .execute(pool)
            .await
            .unwrap();
    }
    for s in 0..schools {
        sqlx::query("INSERT INTO orgs (id, parent_id, level, name) VALUES ($1, 'district', 'school', $2)")
            .bind(format!("school-{s}"))
            .bind(format!("Trường THCS số {s}"))
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO library_loan_rules (library_id, reader_type, max_items, loan_days, max_renewals) VALUES ($1, 'student', 50, 14, 1)")
            .bind(format!("school-{s}"))
            .execute(pool)
            .await
            .unwrap();
    }
    // Titles made of the word list (the same titles recur across schools, as textbooks do), their
    // folded search text computed by the one folding function, inserted in batches.
    let mut batch = Vec::new();
    for t in 0..TITLES {
        let title =
            format!("{} {} {} tập {}", WORDS[(t % 20) as usize], WORDS[((t / 20) % 20) as usize], WORDS[((t / 400) % 20) as usize], t);
        let author = format!("{} Văn {}", WORDS[((t * 7) % 20) as usize], t % 97);
        batch.push((title.clone(), author.clone(), fold(&format!("{title} {author}"))));
    }
    let mut tx = pool.begin().await.unwrap();
    for s in 0..schools {
        for (t, (title, author, text)) in batch.iter().enumerate() {
            sqlx::query(
                "INSERT INTO biblios (id, library_id, seq, district_id, title, responsibility, publisher, place, year, edition, isbn, language, classification, subjects, summary, marcxml, dedup_key, search_text, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, 'district', $4, $5, 'Giáo dục Việt Nam', 'Hà Nội', '2024', '', NULL, 'vie', '', '', '', '<record/>', $6, $7, 'bench', 0, 0)",
            )
            .bind(format!("b{s}-{t}"))
            .bind(format!("school-{s}"))
            .bind(t as i64 + 1)
            .bind(title)
            .bind(author)
            .bind(format!("tay:{t}"))
            .bind(text)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
    }
    tx.commit().await.unwrap();
    let copies = TITLES * COPIES_PER_TITLE;
    let per_school = format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) \
         INSERT INTO library_items (id, biblio_id, library_id, barcode, kind, location, call_number, state, price, source, acquired_on, created_at, updated_at) \
         SELECT 'i' || s.id || '-' || i, 'b' || substr(s.id, 8) || '-' || (i / {COPIES_PER_TITLE}), s.id, lpad(CAST(i + 1 AS TEXT), 6, '0'), 'book', 'Kho mở', '', 'available', 30000, '', '2026-08-20', 0, 0 \
         FROM n CROSS JOIN (SELECT id FROM orgs WHERE level = 'school') s",
        last = copies - 1
    );
    sqlx::query(sqlx::AssertSqlSafe(per_school)).execute(pool).await.unwrap();
    let readers = format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) \
         INSERT INTO library_readers (id, library_id, user_id, card_number, full_name, reader_type, class_name, active, created_at) \
         SELECT 'r' || s.id || '-' || i, s.id, NULL, 'HS' || i, 'Học sinh ' || i, 'student', '6A', 1, 0 FROM n CROSS JOIN (SELECT id FROM orgs WHERE level = 'school') s",
        last = READERS - 1
    );
    sqlx::query(sqlx::AssertSqlSafe(readers)).execute(pool).await.unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let schools: i64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(100);
    let backend = if args.get(1).is_some_and(|a| a == "sqlite") { Backend::Sqlite } else { Backend::Postgres };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = fresh_database(backend, dir.path());
        let db = Db::connect(&url, Arc::new(FixedClock::new(NOW)) as Arc<dyn Clock>).await.unwrap();
        let store = Arc::new(Store { db, blobs: BlobStore::open(dir.path().join("blobs")).unwrap(), cpu: CpuQueue::new(2, 64) });
        let started = Instant::now();
        seed(&store, schools).await;
        if backend == Backend::Postgres {
            for t in ["biblios", "library_items", "library_readers"] {
                sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE {t}"))).execute(&store.db.pool).await.unwrap();
            }
        }
        let copies = schools * TITLES * COPIES_PER_TITLE;
        println!(
            "library-bench: {schools} schools, {} titles, {copies} copies ({backend:?}), seeded in {:.1} s",
            schools * TITLES,
            started.elapsed().as_secs_f64()
        );
        let officer = Actor {
            principal: Principal::User { id: "x".into(), username: "x".into(), full_name: "x".into() },
            memberships: vec![("district".into(), "district_officer".into())],
        };
        println!("{:<52} {:>9} {:>9} {:>8}", "union-catalogue search (20 titles)", "p50 ms", "p99 ms", "hits");
        for q in ["dang van 17", "tuoi tho phieu luu", "toan", "tap 1999", "khong co dau nay"] {
            let mut times = Vec::new();
            let mut hits = 0;
            for _ in 0..30 {
                let t = Instant::now();
                let h = search::search(&store, &officer, q, 20).await.unwrap();
                times.push(t.elapsed());
                hits = h.iter().map(|x| x.holdings.len()).sum::<usize>();
            }
            println!("{:<52} {:>9} {:>9} {hits:>8}", format!("Kyso: {q:?}"), ms(pct(times.clone(), 0.5)), ms(pct(times, 0.99)));
        }
        // The peer: the district's catalogue read into the program, matched word by word.
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..3 {
            let t = Instant::now();
            use sqlx::Row;
            let rows =
                sqlx::query("SELECT id, search_text FROM biblios WHERE district_id = 'district'").fetch_all(&store.db.pool).await.unwrap();
            let words: Vec<String> = fold("tuoi tho phieu luu").split_whitespace().map(str::to_string).collect();
            found = rows
                .iter()
                .filter(|r| {
                    let text: String = r.get(1);
                    words.iter().all(|w| text.contains(w.as_str()))
                })
                .count();
            times.push(t.elapsed());
        }
        println!(
            "{:<52} {:>9} {:>9} {found:>8}",
            "peer: read the catalogue, match in Rust",
            ms(pct(times.clone(), 0.5)),
            ms(pct(times, 0.99))
        );

        // 50 desks, each at its own school, lending distinct copies to its readers.
        let librarian = |s: usize| Actor {
            principal: Principal::User { id: format!("l{s}"), username: format!("l{s}"), full_name: "Thủ thư".into() },
            memberships: vec![(format!("school-{s}"), "librarian".into())],
        };
        for (label, think) in
            [("closed loop (no pause between scans)", Duration::ZERO), ("a scan every 0.5 s per desk", Duration::from_millis(500))]
        {
            let per_desk = 40;
            let round = if think.is_zero() { 0 } else { 1 };
            let mut tasks = Vec::new();
            let t0 = Instant::now();
            for desk in 0..DESKS {
                let (store, actor) = (store.clone(), librarian(desk % schools as usize));
                let lib =
                    Library { id: format!("school-{}", desk % schools as usize), name: String::new(), district_id: "district".into() };
                // Desks are not in step: each starts at its own moment within the pause.
                let start = think.mul_f64(desk as f64 / DESKS as f64);
                tasks.push(tokio::spawn(async move {
                    tokio::time::sleep(start).await;
                    let mut out = (Vec::new(), Vec::new());
                    for k in 0..per_desk {
                        let barcode = format!("{:06}", 1 + (desk / schools as usize) * 1000 + round * 200 + k);
                        let card = format!("HS{}", k % READERS as usize);
                        let t = Instant::now();
                        circulation::check_out(&store, &actor, &lib, &card, &barcode).await.unwrap();
                        out.0.push(t.elapsed());
                        tokio::time::sleep(think).await;
                        let t = Instant::now();
                        circulation::check_in(&store, &actor, &lib, &barcode).await.unwrap();
                        out.1.push(t.elapsed());
                        tokio::time::sleep(think).await;
                    }
                    out
                }));
            }
            let (mut outs, mut ins) = (Vec::new(), Vec::new());
            for t in tasks {
                let (o, i) = t.await.unwrap();
                outs.extend(o);
                ins.extend(i);
            }
            let wall = t0.elapsed().as_secs_f64();
            let n = outs.len() + ins.len();
            println!(
                "{DESKS} desks, {label}: check-out p50 {} ms p99 {} ms; check-in p50 {} ms p99 {} ms; {:.0} operations/s",
                ms(pct(outs.clone(), 0.5)),
                ms(pct(outs, 0.99)),
                ms(pct(ins.clone(), 0.5)),
                ms(pct(ins, 0.99)),
                n as f64 / wall
            );
        }
    });
}
