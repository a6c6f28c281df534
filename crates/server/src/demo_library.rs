//! The demo's school library (Trường THCS Gia Thụy): loan rules, the Tết break, a catalogue
//! of Vietnamese titles with a few hundred copies (textbooks, literature, reference), readers
//! for classes 6A and 6B with card numbers, the demo's teachers as readers, a student who can
//! log in (`hocsinh`) and a few loans, so the desk is not empty. Everything goes through `kyso-library`, as the librarian's own work would.
//! Compiled only with the `demo` feature.

use crate::AppState;
use kyso_library::marc::Description;
use kyso_library::readers::{LoanRules, NewReader};
use kyso_library::{access, catalogue, circulation, items, readers};
use kyso_org::{Actor, Principal};
use kyso_store::new_id;

type DemoResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// (title, author, publisher, year, DDC, subject, kind, copies)
type Title = (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str, usize);

const TITLES: &[Title] = &[
    ("Ngữ văn 6, tập một", "Bùi Mạnh Hùng", "Giáo dục Việt Nam", "2021", "807", "Ngữ văn", "textbook", 20),
    ("Ngữ văn 6, tập hai", "Bùi Mạnh Hùng", "Giáo dục Việt Nam", "2021", "807", "Ngữ văn", "textbook", 20),
    ("Toán 6, tập một", "Hà Huy Khoái", "Giáo dục Việt Nam", "2021", "510", "Toán học", "textbook", 20),
    ("Toán 6, tập hai", "Hà Huy Khoái", "Giáo dục Việt Nam", "2021", "510", "Toán học", "textbook", 20),
    ("Tiếng Anh 6 Global Success", "Hoàng Văn Vân", "Giáo dục Việt Nam", "2021", "428", "Tiếng Anh", "textbook", 15),
    ("Khoa học tự nhiên 6", "Vũ Văn Hùng", "Giáo dục Việt Nam", "2021", "500", "Khoa học tự nhiên", "textbook", 15),
    ("Lịch sử và Địa lí 6", "Vũ Minh Giang", "Giáo dục Việt Nam", "2021", "959.7", "Lịch sử Việt Nam", "textbook", 15),
    ("Giáo dục công dân 6", "Nguyễn Thị Toan", "Giáo dục Việt Nam", "2021", "370.11", "Giáo dục công dân", "textbook", 10),
    ("Tin học 6", "Nguyễn Chí Công", "Giáo dục Việt Nam", "2021", "004", "Tin học", "textbook", 10),
    ("Truyện Kiều", "Nguyễn Du", "Văn học", "2019", "895.9221", "Thơ Việt Nam", "book", 6),
    ("Tắt đèn", "Ngô Tất Tố", "Văn học", "2018", "895.92233", "Tiểu thuyết Việt Nam", "book", 5),
    ("Số đỏ", "Vũ Trọng Phụng", "Văn học", "2018", "895.92233", "Tiểu thuyết Việt Nam", "book", 4),
    ("Dế Mèn phiêu lưu ký", "Tô Hoài", "Kim Đồng", "2020", "895.92234", "Văn học thiếu nhi", "book", 8),
    ("Đất rừng phương Nam", "Đoàn Giỏi", "Kim Đồng", "2019", "895.92234", "Văn học thiếu nhi", "book", 6),
    ("Lão Hạc", "Nam Cao", "Văn học", "2017", "895.92233", "Truyện ngắn Việt Nam", "book", 5),
    ("Chí Phèo", "Nam Cao", "Văn học", "2017", "895.92233", "Truyện ngắn Việt Nam", "book", 4),
    ("Nhật ký trong tù", "Hồ Chí Minh", "Chính trị quốc gia Sự thật", "2020", "895.9221", "Thơ Việt Nam", "book", 5),
    ("Tuổi thơ dữ dội", "Phùng Quán", "Kim Đồng", "2019", "895.92234", "Văn học thiếu nhi", "book", 5),
    ("Cho tôi xin một vé đi tuổi thơ", "Nguyễn Nhật Ánh", "Trẻ", "2018", "895.92234", "Văn học thiếu nhi", "book", 6),
    ("Tôi thấy hoa vàng trên cỏ xanh", "Nguyễn Nhật Ánh", "Trẻ", "2018", "895.92234", "Văn học thiếu nhi", "book", 6),
    ("Góc sân và khoảng trời", "Trần Đăng Khoa", "Kim Đồng", "2019", "895.9221", "Thơ thiếu nhi", "book", 4),
    ("Hoàng tử bé", "Antoine de Saint-Exupéry", "Hội Nhà văn", "2019", "843", "Văn học Pháp", "book", 5),
    ("Không gia đình", "Hector Malot", "Văn học", "2018", "843", "Văn học Pháp", "book", 4),
    ("Những tấm lòng cao cả", "Edmondo De Amicis", "Văn học", "2018", "853", "Văn học Ý", "book", 4),
    ("Đắc nhân tâm", "Dale Carnegie", "Tổng hợp TP. Hồ Chí Minh", "2020", "158", "Kỹ năng sống", "book", 3),
    ("Từ điển tiếng Việt", "Hoàng Phê", "Đà Nẵng", "2018", "495.9223", "Từ điển", "reference", 3),
    ("Từ điển Anh – Việt", "Viện Ngôn ngữ học", "Từ điển Bách khoa", "2017", "423.95922", "Từ điển", "reference", 3),
    ("Atlat Địa lí Việt Nam", "Lê Huỳnh", "Giáo dục Việt Nam", "2021", "912.597", "Bản đồ", "reference", 5),
    ("Lịch sử Việt Nam bằng tranh: Hùng Vương dựng nước", "Trần Bạch Đằng", "Trẻ", "2017", "959.701", "Lịch sử Việt Nam", "book", 4),
    ("Mười vạn câu hỏi vì sao: Vật lý", "Nhiều tác giả", "Giáo dục Việt Nam", "2016", "530", "Vật lý", "book", 4),
    ("Toán nâng cao và phát triển 6", "Vũ Hữu Bình", "Giáo dục Việt Nam", "2021", "510.76", "Toán học", "book", 6),
    ("Sách giáo viên Ngữ văn 6, tập một", "Bùi Mạnh Hùng", "Giáo dục Việt Nam", "2021", "807.1", "Ngữ văn", "textbook", 4),
    ("Tạp chí Toán học và Tuổi trẻ, số 535", "Hội Toán học Việt Nam", "Giáo dục Việt Nam", "2022", "510.5", "Toán học", "periodical", 3),
    ("Thiên văn học cho học sinh", "Nguyễn Quang Riệu", "Trẻ", "2016", "520", "Thiên văn học", "book", 3),
];

const GIVEN: &[&str] = &["An", "Bình", "Chi", "Dũng", "Đạt", "Giang", "Hà", "Hải", "Hiếu", "Hoa", "Huy", "Khánh", "Lan", "Linh", "Long"];
const FAMILY: &[&str] = &["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"];

async fn actor(state: &AppState, username: &str) -> DemoResult<Actor> {
    let p = kyso_org::people::by_username(&state.store, username).await?.ok_or("a demo person is missing")?;
    Ok(Actor { principal: Principal::User { id: p.id, username: p.username, full_name: p.full_name }, memberships: p.memberships })
}

pub async fn seed(state: &AppState, password_hash: &str) -> DemoResult<()> {
    let store = &state.store;
    // A student who can log in: to see her loans and ask for a book online.
    let mut tx = store.db.write().await?;
    let id = new_id();
    sqlx::query("INSERT INTO users (id, username, full_name, password_hash) VALUES ($1, 'hocsinh', 'Nguyễn Minh An', $2)")
        .bind(&id)
        .bind(password_hash)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO memberships (user_id, org_id, role) VALUES ($1, 'school', 'student')").bind(&id).execute(&mut *tx).await?;
    tx.commit().await?;

    let thuvien = actor(state, "thuvien").await?;
    let lib = access::managed(store, &thuvien, None).await?;
    for (reader_type, max_items, loan_days, max_renewals) in [("student", 3, 14, 1), ("teacher", 10, 30, 2), ("staff", 5, 30, 2)] {
        readers::set_rules(store, &thuvien, &lib, &LoanRules { reader_type: reader_type.into(), max_items, loan_days, max_renewals })
            .await?;
    }
    readers::close_days(store, &thuvien, &lib, "2027-01-01", "2027-01-01", "Tết Dương lịch").await?;
    readers::close_days(store, &thuvien, &lib, "2027-02-01", "2027-02-14", "Nghỉ Tết Nguyên đán").await?;
    // The catalogue as one MARC21 import, the copies as one intake, the readers as one class
    // list: three audit entries, as the librarian's own first day would make.
    let descriptions: Vec<Description> = TITLES
        .iter()
        .map(|(title, author, publisher, year, ddc, subject, _, _)| Description {
            title: title.to_string(),
            responsibility: author.to_string(),
            publisher: publisher.to_string(),
            place: "Hà Nội".into(),
            year: year.to_string(),
            language: "vie".into(),
            classification: ddc.to_string(),
            subjects: vec![subject.to_string()],
            ..Default::default()
        })
        .collect();
    let records = descriptions.iter().map(Description::to_record).collect::<Result<Vec<_>, _>>()?;
    let marcxml = kyso_library::marc::to_marcxml(&records);
    let report = catalogue::import(store, &thuvien, &lib, marcxml.as_bytes(), kyso_library::marc::Format::MarcXml).await?;
    if report.added != TITLES.len() {
        return Err(format!("the demo catalogue imported {} of {} titles", report.added, TITLES.len()).into());
    }
    let intake: Vec<(String, items::NewItem, usize)> = TITLES
        .iter()
        .zip(&report.added_records)
        .enumerate()
        .map(|(i, ((_, _, _, _, ddc, _, kind, copies), added))| {
            let shelf_name = match *kind {
                "textbook" => "Kho sách giáo khoa",
                "reference" => "Phòng đọc",
                _ => "Kho mở",
            };
            let new = items::NewItem {
                kind: kind.to_string(),
                location: shelf_name.into(),
                call_number: ddc.to_string(),
                price: 25_000 + (i as i64 % 7) * 10_000,
                source: format!("Phiếu nhập số {}/2026", 1 + i / 10),
                acquired_on: "2026-08-20".into(),
                ..Default::default()
            };
            (added.biblio_id.clone(), new, *copies)
        })
        .collect();
    let copies = items::add_batch(store, &thuvien, &lib, &intake).await?;
    // The first copy of each title, in catalogue order.
    let mut shelf = Vec::new();
    for (biblio_id, _, _) in &intake {
        shelf.push(copies.iter().find(|c| &c.biblio_id == biblio_id).map(|c| c.barcode.clone()).ok_or("a demo title has no copy")?);
    }
    let mut class_list = vec![NewReader {
        card_number: "HS6A01".into(),
        full_name: "Nguyễn Minh An".into(),
        reader_type: "student".into(),
        class_name: "6A".into(),
        username: Some("hocsinh".into()),
    }];
    for (class, offset) in [("6A", 0), ("6B", 7)] {
        for n in 2..=20 {
            let name = format!(
                "{} {} {}",
                FAMILY[(n + offset) % FAMILY.len()],
                if n % 2 == 0 { "Thị" } else { "Văn" },
                GIVEN[(n * 3 + offset) % GIVEN.len()]
            );
            class_list.push(NewReader {
                card_number: format!("HS{class}{n:02}"),
                full_name: name,
                reader_type: "student".into(),
                class_name: class.into(),
                username: None,
            });
        }
    }
    for (card, name, username) in
        [("GV001", "Nguyễn Thị Hương", "huong"), ("GV002", "Phạm Quốc Bảo", "bao"), ("GV003", "Trần Văn Minh", "minh")]
    {
        class_list.push(NewReader {
            card_number: card.into(),
            full_name: name.into(),
            reader_type: "teacher".into(),
            class_name: String::new(),
            username: Some(username.into()),
        });
    }
    let imported = readers::import(store, &thuvien, &lib, class_list).await?;
    if !imported.refused.is_empty() {
        return Err(format!("demo readers refused: {:?}", imported.refused).into());
    }
    // A few loans: the student has one, a teacher two.
    circulation::check_out(store, &thuvien, &lib, "HS6A01", &shelf[12]).await?;
    circulation::check_out(store, &thuvien, &lib, "GV001", &shelf[9]).await?;
    circulation::check_out(store, &thuvien, &lib, "HS6B05", &shelf[10]).await?;
    tracing::info!(titles = TITLES.len(), copies = copies.len(), "demo: seeded the school library (librarian: thuvien)");
    Ok(())
}
