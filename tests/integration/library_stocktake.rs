//! Stocktake (issue 15), on SQLite and PostgreSQL: a library of 1,000 copies in one store room,
//! 30 of them on loan; 930 of them are scanned along with 20 copies that belong to another room
//! (misplaced), one barcode twice and two that are not the library's. The counts are exact, the
//! frozen set ignores copies added after opening, and Part III of the general register shows
//! them in Vietnamese (read back with pdftotext, checked by qpdf).

use kyso_library::marc::Description;
use kyso_library::readers::{LoanRules, NewReader};
use kyso_library::stocktake::{self, Scope};
use kyso_library::{access, catalogue, circulation, items, readers};
use kyso_tests::domain::{Domain, block_on};
use kyso_tests::service::Backend;

on_both_databases!(library_stocktake_counts_exactly_on_sqlite, library_stocktake_counts_exactly_on_postgres => counts_exactly);

fn counts_exactly(backend: Backend) {
    block_on(async {
        let d = Domain::new(backend).await;
        let thuvien = d.actor("thuvien").await;
        let lib = access::managed(&d.store, &thuvien, None).await.unwrap();
        let mut room_a = Vec::new();
        for t in 0..10 {
            let desc = Description {
                title: format!("Sách tham khảo số {t}"),
                responsibility: "Nhiều tác giả".into(),
                year: "2024".into(),
                ..Default::default()
            };
            let b = catalogue::create(&d.store, &thuvien, &lib, desc).await.unwrap();
            let kind = if t == 0 { "textbook" } else { "book" };
            let new = items::NewItem { kind: kind.into(), location: "Kho A".into(), price: 30_000, ..Default::default() };
            room_a.extend(items::add(&d.store, &thuvien, &lib, &b.id, new, 100).await.unwrap().into_iter().map(|i| i.barcode));
        }
        let b = catalogue::create(&d.store, &thuvien, &lib, Description { title: "Từ điển".into(), ..Default::default() }).await.unwrap();
        let room_b: Vec<String> = items::add(
            &d.store,
            &thuvien,
            &lib,
            &b.id,
            items::NewItem { kind: "reference".into(), location: "Kho B".into(), ..Default::default() },
            25,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.barcode)
        .collect();
        assert_eq!(room_a.len(), 1000);
        readers::set_rules(
            &d.store,
            &thuvien,
            &lib,
            &LoanRules { reader_type: "teacher".into(), max_items: 100, loan_days: 30, max_renewals: 0 },
        )
        .await
        .unwrap();
        let r = NewReader {
            card_number: "GV01".into(),
            full_name: "Nguyễn Thị Hương".into(),
            reader_type: "teacher".into(),
            ..Default::default()
        };
        readers::add(&d.store, &thuvien, &lib, r).await.unwrap();
        // 30 on loan: the last 30 of room A (the first 30 textbooks stay on the shelf).
        for barcode in &room_a[970..] {
            circulation::check_out(&d.store, &thuvien, &lib, "GV01", barcode).await.unwrap();
        }
        // One copy of room A was lost before: not expected.
        items::set_state(&d.store, &thuvien, &lib, &room_a[5], "lost").await.unwrap();

        let s = stocktake::open(&d.store, &thuvien, &lib, Scope::Location { location: "Kho A".into() }).await.unwrap();
        assert_eq!(s.expected, 999, "1,000 copies less the one already lost");
        // A copy added after opening is not expected by this session.
        items::add(
            &d.store,
            &thuvien,
            &lib,
            &b.id,
            items::NewItem { kind: "book".into(), location: "Kho A".into(), ..Default::default() },
            1,
        )
        .await
        .unwrap();

        // 930 of room A scanned in two batches (an uploaded list and desk scans), not in order,
        // with one scanned twice; 20 from room B; two barcodes that are not the library's.
        let mut first: Vec<&str> = room_a[..500].iter().filter(|b| *b != &room_a[5]).map(String::as_str).collect();
        first.reverse();
        let added = stocktake::scan(&d.store, &thuvien, &lib, &s.id, &first.join("\n")).await.unwrap();
        assert_eq!(added, 499);
        let mut second: Vec<String> = room_a[500..931].to_vec();
        second.push(room_a[10].clone());
        second.extend(room_b[..20].iter().cloned());
        second.extend(["ZZ-0001".to_string(), "ZZ-0002".to_string()]);
        assert_eq!(stocktake::scan(&d.store, &thuvien, &lib, &s.id, &second.join("\r\n")).await.unwrap(), 431 + 20 + 2);
        assert!(
            stocktake::scan(&d.store, &thuvien, &lib, &s.id, "bad barcode!").await.is_err(),
            "a malformed line is refused, not half-recorded"
        );

        let o = stocktake::close(&d.store, &thuvien, &lib, &s.id).await.unwrap();
        assert_eq!(o.found.len(), 930, "scanned of the expected");
        assert_eq!(o.on_loan.len(), 30);
        assert_eq!(o.misplaced.len(), 20);
        assert!(o.misplaced.iter().all(|l| l.location == "Kho B"));
        assert_eq!(o.missing.len(), 999 - 930 - 30);
        assert_eq!(o.unknown, ["ZZ-0001", "ZZ-0002"]);
        assert_eq!(o.textbook_marks(), (99, 0), "the first title's 100 textbooks less the lost one: all present");
        assert!(stocktake::scan(&d.store, &thuvien, &lib, &s.id, &room_a[999]).await.is_err(), "a closed session takes no scans");

        let pdf = stocktake::register_part_three(&lib, &o).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("phan-3.pdf");
        std::fs::write(&path, &pdf).unwrap();
        kyso_tests::qpdf_ok(&path).expect("qpdf --check accepts the register");
        // Kept to be looked at (pdftoppm), beside the browser walk's screenshots.
        let keep = kyso_tests::repo_root().join("target/registers");
        let _ = std::fs::create_dir_all(&keep);
        let _ = std::fs::write(keep.join(format!("stocktake-part-3-{backend:?}.pdf").to_lowercase()), &pdf);
        let text = kyso_tests::tool("pdftotext", &["-layout", path.to_str().unwrap(), "-"]);
        let text = String::from_utf8_lossy(&text.stdout);
        for needle in [
            "PHẦN III: KIỂM KÊ",
            "Trường THCS Gia Thụy",
            "Số bản phải có: 999",
            "Có trên giá: 930",
            "Đang cho mượn: 30",
            "Không tìm thấy (mất): 39",
            "Để sai vị trí: 20",
            "Giá trị sách mất: 1.170.000 đồng",
        ] {
            assert!(text.contains(needle), "Part III lacks {needle:?}:\n{text}");
        }
    });
}
