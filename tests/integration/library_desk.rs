//! The library's desk without a server (issue 15), on SQLite and PostgreSQL on a fixed clock:
//! loan limits refused with the rule named; 20 concurrent check-outs of one copy (from two
//! "nodes" on PostgreSQL) give exactly one loan; due dates and overdue days skip the library's
//! closed days; the hold queue keeps its order and a held copy goes to its reader only; a
//! reader's history is private; only the school's librarian works its desk.

use kyso_library::circulation::{self, CheckIn};
use kyso_library::marc::Description;
use kyso_library::readers::{LoanRules, NewReader};
use kyso_library::{LibraryError, LoanRule, access, catalogue, items, readers};
use kyso_org::people::NewPerson;
use kyso_tests::domain::{Domain, START, block_on};
use kyso_tests::service::Backend;
use std::sync::Arc;

on_both_databases!(library_desk_on_sqlite, library_desk_on_postgres => desk);

fn rules(reader_type: &str, max_items: i64, loan_days: i64, max_renewals: i64) -> LoanRules {
    LoanRules { reader_type: reader_type.into(), max_items, loan_days, max_renewals }
}

fn desk(backend: Backend) {
    block_on(async {
        let d = Domain::new(backend).await;
        let admin = d.actor("admin").await;
        let thuvien = d.actor("thuvien").await;
        let lib = access::managed(&d.store, &thuvien, None).await.unwrap();
        assert_eq!(lib.id, "school");

        // Only the school's librarian (or an administrator above it) works its desk.
        let memberships = [("other-school".to_string(), "librarian".to_string())];
        let p = NewPerson {
            username: "thuvien2",
            full_name: "Mai Thư Viện",
            password: "Mật khẩu thử 2026",
            id_number: None,
            memberships: &memberships,
        };
        kyso_org::people::create(&d.store, &admin, p).await.unwrap();
        let other_librarian = d.actor("thuvien2").await;
        let huong = d.actor("huong").await;
        for outsider in [&other_librarian, &huong] {
            assert!(matches!(access::managed(&d.store, outsider, Some("school")).await, Err(LibraryError::NotLibrarian)));
        }
        assert!(access::managed(&d.store, &admin, Some("school")).await.is_ok(), "the Sở's administrator may act as librarian");

        readers::set_rules(&d.store, &thuvien, &lib, &rules("student", 2, 14, 1)).await.unwrap();
        readers::set_rules(&d.store, &thuvien, &lib, &rules("teacher", 5, 30, 2)).await.unwrap();
        assert!(matches!(
            readers::set_rules(&d.store, &thuvien, &lib, &rules("student", 0, 14, 1)).await,
            Err(LibraryError::Invalid { .. })
        ));
        // A week of mid-term break: closed days do not count towards a loan.
        assert_eq!(readers::close_days(&d.store, &thuvien, &lib, "2026-12-05", "2026-12-13", "Nghỉ giữa học kỳ").await.unwrap(), 9);

        let title = Description {
            title: "Tắt đèn".into(),
            responsibility: "Ngô Tất Tố".into(),
            isbn: Some("978-604-1-23456-7".into()),
            year: "2020".into(),
            ..Default::default()
        };
        let biblio = catalogue::create(&d.store, &thuvien, &lib, title.clone()).await.unwrap();
        assert_eq!(biblio.description.isbn.as_deref(), Some("9786041234567"));
        assert!(catalogue::create(&d.store, &thuvien, &lib, title).await.is_err(), "the same ISBN twice is refused");
        let copies = items::add(&d.store, &thuvien, &lib, &biblio.id, items::NewItem { kind: "book".into(), ..Default::default() }, 3)
            .await
            .unwrap();
        let barcodes: Vec<&str> = copies.iter().map(|c| c.barcode.as_str()).collect();
        assert_eq!(barcodes, ["000001", "000002", "000003"]);

        // HS01–HS22 for the desk's story; RC01–RC20 only race for one copy (so the winner,
        // whoever it is, holds no other part of the story).
        for i in 1..=20 {
            let r = NewReader {
                card_number: format!("RC{i:02}"),
                full_name: format!("Người đua {i:02}"),
                reader_type: "student".into(),
                class_name: "7A".into(),
                username: None,
            };
            readers::add(&d.store, &thuvien, &lib, r).await.unwrap();
        }
        for i in 1..=22 {
            let r = NewReader {
                card_number: format!("HS{i:02}"),
                full_name: format!("Học sinh {i:02}"),
                reader_type: "student".into(),
                class_name: "6A".into(),
                username: None,
            };
            readers::add(&d.store, &thuvien, &lib, r).await.unwrap();
        }
        let dup =
            NewReader { card_number: "HS01".into(), full_name: "Trùng thẻ".into(), reader_type: "student".into(), ..Default::default() };
        assert!(matches!(readers::add(&d.store, &thuvien, &lib, dup).await, Err(LibraryError::CardTaken(_))));
        let gv = NewReader {
            card_number: "GV01".into(),
            full_name: "Nguyễn Thị Hương".into(),
            reader_type: "teacher".into(),
            username: Some("huong".into()),
            ..Default::default()
        };
        let teacher = readers::add(&d.store, &thuvien, &lib, gv).await.unwrap();

        // The loan limit, named.
        let first = circulation::check_out(&d.store, &thuvien, &lib, "HS01", "000001").await.unwrap();
        // 14 open days from Sunday 29/11: the 9 closed days push it from 13/12 to 22/12.
        assert_eq!(first.due_on, "2026-12-22");
        circulation::check_out(&d.store, &thuvien, &lib, "HS01", "000002").await.unwrap();
        match circulation::check_out(&d.store, &thuvien, &lib, "HS01", "000003").await {
            Err(e @ LibraryError::Refused(LoanRule::MaxItems { limit: 2, .. })) => assert!(e.to_string().contains("2 items"), "{e}"),
            other => panic!("the third loan must be refused by the limit: {other:?}"),
        }
        assert!(matches!(circulation::check_out(&d.store, &thuvien, &lib, "HS02", "000001").await, Err(LibraryError::AlreadyOnLoan(_))));
        assert!(matches!(circulation::check_out(&d.store, &thuvien, &lib, "HS02", "999999").await, Err(LibraryError::NoSuchCopy(_))));
        assert!(matches!(circulation::check_out(&d.store, &thuvien, &lib, "XX99", "000003").await, Err(LibraryError::NoSuchReader(_))));

        // Twenty desks scan the last copy at the same moment: exactly one loan. On PostgreSQL
        // half of them go through a second connection pool (another node, with its own
        // in-process write lock): only the database's unique index stands between them.
        let second_node = match backend {
            Backend::Postgres => {
                let db = kyso_store::Db::connect(&d.url, d.clock.clone() as Arc<dyn kyso_clock::Clock>).await.unwrap();
                let blobs = kyso_store::BlobStore::open(d.dir.path().join("blobs")).unwrap();
                Arc::new(kyso_store::Store { db, blobs, cpu: kyso_store::CpuQueue::new(2, 64) })
            }
            Backend::Sqlite => d.store.clone(),
        };
        let mut tasks = Vec::new();
        for i in 1..=20 {
            let store = if i % 2 == 0 { d.store.clone() } else { second_node.clone() };
            let (actor, lib) = (thuvien.clone(), lib.clone());
            tasks.push(tokio::spawn(async move { circulation::check_out(&store, &actor, &lib, &format!("RC{i:02}"), "000003").await }));
        }
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => won += 1,
                Err(LibraryError::AlreadyOnLoan(_)) => {}
                Err(e) => panic!("a racing check-out failed otherwise: {e}"),
            }
        }
        assert_eq!(won, 1, "one copy, one loan");
        let open: i64 = {
            use sqlx::Row;
            sqlx::query("SELECT COUNT(*) FROM library_loans l JOIN library_items i ON i.id = l.item_id WHERE i.barcode = '000003' AND l.returned_at IS NULL")
                .fetch_one(&d.store.db.pool)
                .await
                .unwrap()
                .get(0)
        };
        assert_eq!(open, 1);

        // Two days after the due date, one of them a holiday: one overdue day.
        readers::close_days(&d.store, &thuvien, &lib, "2026-12-23", "2026-12-23", "Ngày thành lập Quân đội").await.unwrap();
        d.clock.set(START + 25 * 86_400);
        let overdue = circulation::open_loans(&d.store, &lib, true).await.unwrap();
        assert_eq!(overdue.iter().map(|l| l.barcode.as_str()).collect::<Vec<_>>(), ["000001", "000002", "000003"]);
        let back: CheckIn = circulation::check_in(&d.store, &thuvien, &lib, "000001").await.unwrap();
        assert_eq!(back.overdue_days, 1);
        assert_eq!(back.held_for, None);
        assert!(matches!(circulation::check_in(&d.store, &thuvien, &lib, "000001").await, Err(LibraryError::NotOnLoan(_))));
        // A reader with an overdue item borrows nothing more until it is back.
        assert!(matches!(
            circulation::check_out(&d.store, &thuvien, &lib, "HS01", "000001").await,
            Err(LibraryError::Refused(LoanRule::Overdue))
        ));

        // Holds: the copy on the shelf is set aside for the first reader; the others queue.
        let reader = |card: &'static str| {
            let (store, lib) = (d.store.clone(), lib.clone());
            async move { readers::by_card(&store, &lib, card).await.unwrap().id }
        };
        let h5 = circulation::place_hold(&d.store, &thuvien, &lib, &reader("HS05").await, &biblio.id).await.unwrap();
        assert_eq!((h5.state.as_str(), h5.barcode.as_deref()), ("ready", Some("000001")));
        for card in ["HS06", "HS07"] {
            let h = circulation::place_hold(&d.store, &thuvien, &lib, &reader(card).await, &biblio.id).await.unwrap();
            assert_eq!(h.state, "waiting");
        }
        let queue: Vec<String> = circulation::queue(&d.store, &biblio.id).await.unwrap().into_iter().map(|h| h.reader_name).collect();
        assert_eq!(queue, ["Học sinh 05", "Học sinh 06", "Học sinh 07"]);
        let winner = circulation::open_loans(&d.store, &lib, false).await.unwrap().into_iter().find(|l| l.barcode == "000003").unwrap();
        assert!(matches!(circulation::renew(&d.store, &thuvien, &lib, "000003").await, Err(LibraryError::Refused(LoanRule::WaitedFor))));
        assert!(matches!(
            circulation::check_out(&d.store, &thuvien, &lib, "HS06", "000001").await,
            Err(LibraryError::HeldForAnother { .. })
        ));
        circulation::check_out(&d.store, &thuvien, &lib, "HS05", "000001").await.unwrap();
        let returned = circulation::check_in(&d.store, &thuvien, &lib, "000002").await.unwrap();
        assert_eq!(returned.held_for.as_deref(), Some("Học sinh 06"), "the next copy back goes to the next reader in the queue");
        assert_eq!(items::by_barcode(&d.store, &lib, "000002").await.unwrap().state, "reserved");
        let queue: Vec<(String, String)> =
            circulation::queue(&d.store, &biblio.id).await.unwrap().into_iter().map(|h| (h.reader_name, h.state)).collect();
        assert_eq!(queue, [("Học sinh 06".to_string(), "ready".to_string()), ("Học sinh 07".to_string(), "waiting".to_string())]);
        assert!(winner.card_number.starts_with("RC"));

        // Renewals within the teacher's limit.
        let b2 = catalogue::create(
            &d.store,
            &thuvien,
            &lib,
            Description { title: "Số đỏ".into(), responsibility: "Vũ Trọng Phụng".into(), ..Default::default() },
        )
        .await
        .unwrap();
        let c2 =
            items::add(&d.store, &thuvien, &lib, &b2.id, items::NewItem { kind: "book".into(), ..Default::default() }, 1).await.unwrap();
        circulation::check_out(&d.store, &thuvien, &lib, "GV01", &c2[0].barcode).await.unwrap();
        for _ in 0..2 {
            circulation::renew(&d.store, &thuvien, &lib, &c2[0].barcode).await.unwrap();
        }
        assert!(matches!(
            circulation::renew(&d.store, &thuvien, &lib, &c2[0].barcode).await,
            Err(LibraryError::Refused(LoanRule::MaxRenewals { limit: 2 }))
        ));
        // A copy in repair cannot be lent; a copy on loan cannot be marked by hand.
        assert!(items::set_state(&d.store, &thuvien, &lib, &c2[0].barcode, "lost").await.is_err());

        // A loan history is the reader's and the librarian's only.
        assert_eq!(circulation::loans_of_reader(&d.store, &huong, &teacher.id).await.unwrap().len(), 1);
        assert_eq!(circulation::loans_of_reader(&d.store, &thuvien, &teacher.id).await.unwrap().len(), 1);
        let bao = d.actor("bao").await;
        assert!(matches!(circulation::loans_of_reader(&d.store, &bao, &teacher.id).await, Err(LibraryError::NotFound(_))));
        assert!(matches!(circulation::loans_of_reader(&d.store, &other_librarian, &teacher.id).await, Err(LibraryError::NotFound(_))));

        // Every desk action is in the audit trail, and the chain holds.
        let verdict = kyso_store::audit::verify_with_checkpoints(&d.store.db.pool, &[]).await.unwrap();
        assert!(matches!(verdict, kyso_store::audit::Verdict::Intact { .. }), "{verdict:?}");
    });
}
