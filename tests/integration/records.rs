//! The records archive without a server (issue 14), on SQLite and PostgreSQL on a fixed clock: a
//! school year opened for the demo school creates the expected obligations; three teachers owe
//! this week's lesson plan, one submits and is approved, one is returned, one is late; the
//! dashboard at group, school, Phòng and Sở level shows exactly those statuses, only to those
//! who oversee the unit; the xlsx export read by openpyxl carries the same numbers.

use kyso_org::people::NewPerson;
use kyso_records::dashboard::{self, Filter};
use kyso_records::{RecordsError, export, submit, years};
use kyso_tests::domain::{Domain, block_on};
use kyso_tests::service::Backend;
use kyso_workflow::approve;

fn vn(date: &str, hour: i64) -> i64 {
    kyso_clock::parse_vietnam_date(date).unwrap() + hour * 3600
}

on_both_databases!(records_year_dashboard_and_export_on_sqlite, records_year_dashboard_and_export_on_postgres => year_dashboard_and_export);

fn year_dashboard_and_export(backend: Backend) {
    block_on(async {
        let d = Domain::new(backend).await;
        let admin = d.actor("admin").await;
        for (username, full_name) in [("tuan", "Vũ Minh Tuấn"), ("mai", "Ngô Thị Mai")] {
            let memberships = [("group".to_string(), "teacher".to_string())];
            let p = NewPerson { username, full_name, password: "Mật khẩu thử 2026", id_number: None, memberships: &memberships };
            kyso_org::people::create(&d.store, &admin, p).await.unwrap();
        }
        // Tuấn signs with a test key made for someone else: accepted by an audited override.
        let der = der::pem::decode_vec(std::fs::read(kyso_tests::pki("teacher-rsa.key.pem")).unwrap().as_slice()).unwrap().1;
        let mut chain = kyso_pades::certinfo::parse_certificates(&std::fs::read(kyso_tests::pki("teacher-rsa.cert.pem")).unwrap()).unwrap();
        chain.extend(kyso_pades::certinfo::parse_certificates(&std::fs::read(kyso_tests::pki("issuing-ca.cert.pem")).unwrap()).unwrap());
        d.wf.signers
            .assign(&d.store, &admin, "tuan", kyso_signers::KeySource::Pkcs8 { der, chain }, Some("khóa thử nghiệm của bài kiểm thử"))
            .await
            .expect("a key is assigned with an override");
        let [huong, tuan, mai, bao, minh, thuha, lan] = [
            d.actor("huong").await,
            d.actor("tuan").await,
            d.actor("mai").await,
            d.actor("bao").await,
            d.actor("minh").await,
            d.actor("thuha").await,
            d.actor("lan").await,
        ];
        let semesters = [("2026-09-07".to_string(), "2027-01-16".to_string()), ("2027-01-25".to_string(), "2027-05-29".to_string())];
        let new_year = |name| years::NewYear { school: "school", name, education_level: "secondary", semesters: &semesters };

        // A teacher cannot open the year; the principal can, once.
        assert!(matches!(years::open(&d.store, &huong, new_year("2026-2027")).await, Err(RecordsError::Forbidden(_))));
        let opened = years::open(&d.store, &minh, new_year("2026-2027")).await.unwrap();
        assert!(matches!(years::open(&d.store, &minh, new_year("2026-2027")).await, Err(RecordsError::YearExists(_))));
        // Circular 32's secondary lists for one school, one subject group and three teachers:
        // school: 9 yearly registers + letters in/out for 9 months = 18 (records of students with
        // disabilities are ad hoc: no deadline); group: yearly plan + 9 monthly minutes = 10;
        // each teacher: yearly plan + 37 weekly lesson plans + 2 semester assessment books = 40.
        assert_eq!(opened.periods, 1 + 2 + 9 + 37);
        assert_eq!(opened.obligations, 18 + 10 + 3 * 40);
        assert!(opened.skipped.iter().any(|(code, _)| code == "ho-so-hoc-sinh-khuyet-tat"));
        assert_eq!(years::refresh(&d.store, &minh, &opened.year.id).await.unwrap(), 0, "a refresh adds nothing new");

        // This week: Monday 30/11 to Sunday 06/12; a lesson plan is due by the end of Monday.
        d.clock.set(vn("2026-11-30", 8));
        let week = years::periods(&d.store, &opened.year.id).await.unwrap().into_iter().find(|p| p.label.starts_with("Tuần 13 ")).unwrap();
        assert_eq!(week.label, "Tuần 13 (30/11–06/12)");
        let this_week = Filter {
            year: Some("2026-2027".into()),
            register: Some("ke-hoach-bai-day".into()),
            period: Some(week.id.clone()),
            ..Default::default()
        };
        let mine = |who: &kyso_org::Actor| {
            let f = this_week.clone();
            let store = d.store.clone();
            let who = who.clone();
            async move { dashboard::lines(&store, &who, None, &f, 10, 0).await.unwrap() }
        };
        let huong_plan = mine(&huong).await;
        assert_eq!(huong_plan.len(), 1);
        assert_eq!(huong_plan[0].status, "missing");
        let pdf = std::fs::read(kyso_tests::corpus().join("inputs/pyhanko-minimal.pdf")).unwrap();

        // Someone else's obligation cannot be submitted (it does not exist for them).
        let tuan_plan = mine(&tuan).await;
        let not_theirs = submit::submit(&d.wf, &huong, &tuan_plan[0].id, None, d.upload(&pdf), &Default::default()).await;
        assert!(matches!(not_theirs, Err(RecordsError::NotFound(_))));

        let doc_huong = submit::submit(&d.wf, &huong, &huong_plan[0].id, None, d.upload(&pdf), &Default::default()).await.unwrap().doc.id;
        assert!(matches!(
            submit::submit(&d.wf, &huong, &huong_plan[0].id, None, d.upload(&pdf), &Default::default()).await,
            Err(RecordsError::AlreadySubmitted)
        ));
        assert_eq!(mine(&huong).await[0].status, "draft");
        approve::approve_now(&d.wf, &huong, &doc_huong, None).await.unwrap();
        assert_eq!(mine(&huong).await[0].status, "submitted");
        let doc_tuan = submit::submit(&d.wf, &tuan, &tuan_plan[0].id, Some("Giáo án Toán 6 tuần 13"), d.upload(&pdf), &Default::default())
            .await
            .unwrap()
            .doc
            .id;
        approve::approve_now(&d.wf, &tuan, &doc_tuan, None).await.unwrap();
        // Tuesday: the head approves Hương's and returns Tuấn's; Mai has sent nothing.
        d.clock.set(vn("2026-12-01", 10));
        approve::approve_now(&d.wf, &bao, &doc_huong, None).await.unwrap();
        approve::return_document(&d.wf, &bao, &doc_tuan, "Thiếu mục tiêu bài học").await.unwrap();
        assert_eq!(mine(&huong).await[0].status, "in_approval");
        assert_eq!(mine(&tuan).await[0].status, "returned");
        assert_eq!(mine(&mai).await[0].status, "overdue");

        let expect = |c: &dashboard::Counts| {
            assert_eq!((c.in_approval, c.returned, c.overdue, c.total), (1, 1, 1, 3), "{c:?}");
        };
        // The group, per teacher.
        let g = dashboard::summary(&d.store, &bao, "group", &this_week, false).await.unwrap();
        assert_eq!(g.rows_are, "owner");
        let by_name: Vec<(String, i64, i64, i64)> =
            g.rows.iter().map(|r| (r.label.clone(), r.counts.in_approval, r.counts.returned, r.counts.overdue)).collect();
        assert_eq!(
            by_name,
            [("Ngô Thị Mai".to_string(), 0, 0, 1), ("Nguyễn Thị Hương".to_string(), 1, 0, 0), ("Vũ Minh Tuấn".to_string(), 0, 1, 0)]
        );
        expect(&g.total);
        // The school per unit, the Phòng per school, the Sở per Phòng: the same three.
        for (who, unit, rows_are, row) in [
            (&minh, "school", "unit", "Tổ Ngữ văn"),
            (&thuha, "district", "school", "Trường THCS Gia Thụy"),
            (&admin, "department", "district", "Phòng GD&ĐT Gia Lâm"),
        ] {
            let s = dashboard::summary(&d.store, who, unit, &this_week, false).await.unwrap();
            assert_eq!(s.rows_are, rows_are);
            assert_eq!(s.rows.len(), 1, "{unit}: {:?}", s.rows);
            assert_eq!(s.rows[0].label, row);
            expect(&s.rows[0].counts);
            expect(&s.total);
        }
        // A teacher, and a principal of another school, see no dashboard of this school.
        for who in [&huong, &lan] {
            assert!(matches!(dashboard::summary(&d.store, who, "school", &this_week, false).await, Err(RecordsError::NotFound(_))));
        }
        // The whole year so far, per register: 13 weeks of lesson plans have begun for each teacher.
        let year_so_far = Filter { year: Some("2026-2027".into()), begun_only: true, ..Default::default() };
        let per_register = dashboard::summary(&d.store, &minh, "school", &year_so_far, true).await.unwrap();
        let plans = per_register.rows.iter().find(|r| r.key == "ke-hoach-bai-day").unwrap();
        assert_eq!(plans.counts.total, 3 * 13);
        assert_eq!(plans.counts.overdue, 3 * 12 + 1, "every earlier week is overdue, and Mai's this week");

        // The xlsx export, read by openpyxl: the same numbers.
        let lines = dashboard::lines(&d.store, &minh, Some("school"), &this_week, 1000, 0).await.unwrap();
        assert_eq!(lines.len(), 3);
        let s = dashboard::summary(&d.store, &minh, "school", &this_week, false).await.unwrap();
        let book = export::xlsx(&s, &lines).unwrap();
        let path = d.dir.path().join("dashboard.xlsx");
        std::fs::write(&path, &book).unwrap();
        let read = std::process::Command::new("python3")
            .args([
                "-c",
                "import openpyxl, sys, json\n\
                 wb = openpyxl.load_workbook(sys.argv[1])\n\
                 s = wb['Tổng hợp']; d = wb['Chi tiết']\n\
                 heads = [c.value for c in s[3]]\n\
                 rows = {r[0]: dict(zip(heads[1:], r[1:])) for r in s.iter_rows(min_row=4, values_only=True)}\n\
                 detail = sorted((r[1], r[6]) for r in d.iter_rows(min_row=2, values_only=True))\n\
                 print(json.dumps({'rows': rows, 'detail': detail}, ensure_ascii=False))",
            ])
            .arg(&path)
            .output()
            .expect("python3 runs (the README's test command installs openpyxl)");
        assert!(read.status.success(), "openpyxl: {}", String::from_utf8_lossy(&read.stderr));
        let v: serde_json::Value = serde_json::from_slice(&read.stdout).unwrap();
        let group = &v["rows"]["Tổ Ngữ văn"];
        assert_eq!(
            (group["Đang duyệt"].as_f64(), group["Bị trả lại"].as_f64(), group["Quá hạn"].as_f64(), group["Tổng"].as_f64()),
            (Some(1.0), Some(1.0), Some(1.0), Some(3.0)),
            "{v}"
        );
        assert_eq!(v["rows"]["Tổng cộng"]["Tổng"].as_f64(), Some(3.0));
        assert_eq!(
            v["detail"],
            // Python sorts by code point: "Ngu" before "Ngô".
            serde_json::json!([["Nguyễn Thị Hương", "Đang duyệt"], ["Ngô Thị Mai", "Quá hạn"], ["Vũ Minh Tuấn", "Bị trả lại"]])
        );
        let csv = export::summary_csv(&s);
        assert!(csv.contains("\"Tổ Ngữ văn\",0,1,0,0,1,1,0,3"), "{csv}");

        // Opening the year and the refusals are in the audit trail.
        let actions: Vec<String> =
            kyso_store::audit::entries(&d.store.db.pool, 0, 10_000).await.unwrap().into_iter().map(|e| e.action).collect();
        for a in ["records_catalogue_seeded", "school_year_opened", "record_submitted", "refused"] {
            assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
        }
    });
}

// The same over REST, on `kyso serve --demo` (which opens 2026-2027 for its school): a teacher
// lists what she owes and sends one record, with an idempotency key that replays; the principal
// reads the dashboard as JSON, CSV and xlsx; a teacher and another school see no dashboard.
on_both_databases!(records_over_rest_on_sqlite, records_over_rest_on_postgres => over_rest);

fn over_rest(backend: kyso_tests::service::Backend) {
    use kyso_tests::service::{Body, Server, expect, fresh_database, lesson_plan};
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(backend, dir.path());
    let server = Server::start(&dir.path().join("data"), &db, &[]);
    let api = server.api();
    let (huong, minh, lan) = (api.login("huong"), api.login("minh"), api.login("lan"));
    let mine = api.get("/records/obligations?register=ke-hoach-bai-day", &huong);
    expect(&mine, "GET", "/api/v1/records/obligations", 200);
    let items = mine.json["items"].as_array().unwrap();
    assert!(!items.is_empty(), "the demo's open year owes lesson plans: {}", mine.json);
    let open = items.iter().find(|o| o["document_id"].is_null()).expect("one not sent yet");
    let id = open["id"].as_str().unwrap();
    let path = format!("/records/obligations/{id}/submit");
    let sent = api.call("POST", &path, Some(&huong), Body::Pdf(&lesson_plan()), &[("idempotency-key", "tuan-13")]);
    expect(&sent, "POST", "/api/v1/records/obligations/{id}/submit", 201);
    assert!(sent.json["title"].as_str().unwrap().starts_with("Kế hoạch bài dạy (giáo án) — Nguyễn Thị Hương — Tuần"), "{}", sent.json);
    let again = api.call("POST", &path, Some(&huong), Body::Pdf(&lesson_plan()), &[("idempotency-key", "tuan-13")]);
    assert!(again.replayed && again.json["id"] == sent.json["id"], "the same key replays");
    let twice = api.call("POST", &path, Some(&huong), Body::Pdf(&lesson_plan()), &[]);
    assert_eq!((twice.status, twice.json["error"]["code"].as_str()), (409, Some("already_submitted")));
    let not_hers = api.call("POST", &path, Some(&lan), Body::Pdf(&lesson_plan()), &[]);
    assert_eq!(not_hers.status, 404);

    let d = api.get("/records/dashboard?unit=school", &minh);
    expect(&d, "GET", "/api/v1/records/dashboard", 200);
    assert_eq!(d.json["rows_are"], "unit");
    let draft: i64 = d.json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["counts"]["draft"].as_i64().unwrap() + r["counts"]["overdue"].as_i64().unwrap())
        .sum();
    assert!(draft >= 1, "{}", d.json);
    let csv = api.get("/records/dashboard?unit=school&format=csv", &minh);
    assert_eq!(csv.status, 200);
    assert!(String::from_utf8_lossy(&csv.bytes).contains("Tổ Ngữ văn"));
    let xlsx = api.get("/records/dashboard?unit=school&format=xlsx", &minh);
    assert_eq!(xlsx.status, 200);
    assert!(xlsx.bytes.starts_with(b"PK"), "an xlsx is a zip");
    for who in [&huong, &lan] {
        assert_eq!(api.get("/records/dashboard?unit=school", who).status, 404);
    }
}
