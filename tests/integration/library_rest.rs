//! The library over REST and the command line, on the demo server (issue 15's interfaces):
//! `POST /library/biblios` with `application/marc` or `application/marcxml+xml` answers the
//! import report, `GET` with those media types exports the catalogue (read back by pymarc),
//! `kyso library export` gives the same; the union-catalogue search; the desk's refusals in
//! Vietnamese and English; only the librarian works the desk.

use kyso_tests::service::{Backend, Body, Server, expect, fresh_database};
use serde_json::json;

fn pymarc_count(path: &std::path::Path) -> usize {
    let script = "import pymarc, sys\np = sys.argv[1]\nrs = pymarc.parse_xml_to_array(p) if p.endswith('.xml') else [r for r in pymarc.MARCReader(open(p, 'rb'), to_unicode=True)]\nprint(len(rs))";
    let out = std::process::Command::new("python3").args(["-c", script, &path.display().to_string()]).output().expect("python3 runs");
    assert!(out.status.success(), "pymarc: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("a count")
}

on_both_databases!(library_over_rest_and_the_command_line_on_sqlite, library_over_rest_and_the_command_line_on_postgres => over_rest);

fn over_rest(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(backend, dir.path());
    let data = dir.path().join("data");
    let server = Server::start(&data, &db, &[]);
    let api = server.api();
    let thuvien = api.login("thuvien");
    let marc = std::fs::read(kyso_tests::corpus().join("marc/chabon.mrc")).unwrap();

    let r = api.call("POST", "/library/biblios", Some(&thuvien), Body::Raw(&marc, "application/marc"), &[]);
    expect(&r, "POST", "/api/v1/library/biblios", 200);
    assert_eq!((r.json["added"].as_u64(), r.json["duplicates"].as_u64()), (Some(2), Some(0)), "{}", r.json);
    let again = api.call("POST", "/library/biblios", Some(&thuvien), Body::Raw(&marc, "application/marc"), &[]);
    assert_eq!((again.json["added"].as_u64(), again.json["duplicates"].as_u64()), (Some(0), Some(2)), "{}", again.json);
    let xml = std::fs::read(kyso_tests::corpus().join("marc/chabon.xml")).unwrap();
    let same = api.call("POST", "/library/biblios", Some(&thuvien), Body::Raw(&xml, "application/marcxml+xml"), &[]);
    assert_eq!(same.json["duplicates"].as_u64(), Some(2), "the same records in MARCXML are duplicates: {}", same.json);
    let bad = std::fs::read(kyso_tests::corpus().join("marc/chabon-missing-subfield-code.xml")).unwrap();
    let refused = api.call("POST", "/library/biblios", Some(&thuvien), Body::Raw(&bad, "application/marcxml+xml"), &[]);
    expect(&refused, "POST", "/api/v1/library/biblios", 200);
    assert_eq!(refused.json["added"].as_u64(), Some(0));
    assert!(refused.json["refused"][0]["reason"].as_str().unwrap().contains("subfield"), "{}", refused.json);
    let junk = api.call("POST", "/library/biblios", Some(&thuvien), Body::Raw(b"<not-marc", "application/marcxml+xml"), &[]);
    expect(&junk, "POST", "/api/v1/library/biblios", 422);
    assert!(junk.json["error"]["message_vi"].as_str().unwrap_or(&junk.json.to_string()).contains("MARC"), "{}", junk.json);
    let wrong_type = api.call("POST", "/library/biblios", Some(&thuvien), Body::Raw(&marc, "text/plain"), &[]);
    assert_eq!(wrong_type.status, 415);

    // The export, read by pymarc: the demo's 34 titles and the 2 imported.
    let export = api.call("GET", "/library/biblios", Some(&thuvien), Body::None, &[("accept", "application/marcxml+xml")]);
    assert_eq!(export.status, 200);
    let exported = dir.path().join("catalogue.xml");
    std::fs::write(&exported, &export.bytes).unwrap();
    assert_eq!(pymarc_count(&exported), 36);
    let iso = api.call("GET", "/library/biblios", Some(&thuvien), Body::None, &[("accept", "application/marc")]);
    let iso_path = dir.path().join("catalogue.mrc");
    std::fs::write(&iso_path, &iso.bytes).unwrap();
    assert_eq!(pymarc_count(&iso_path), 36);
    // The command line gives the same catalogue (on the same database, beside the server).
    let cli_out = dir.path().join("cli.xml");
    let mut args = vec!["library", "export", "-o", cli_out.to_str().unwrap(), "--data-dir", data.to_str().unwrap(), "--as", "thuvien"];
    args.extend(["--database-url", db.as_str()]);
    let out = kyso_tests::kyso(&args);
    assert!(out.status.success(), "kyso library export: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(pymarc_count(&cli_out), 36);
    let teacher_cli =
        kyso_tests::kyso(&["library", "import", "x.mrc", "--data-dir", data.to_str().unwrap(), "--as", "huong", "--database-url", &db]);
    assert!(!teacher_cli.status.success());

    // The union catalogue, diacritic-insensitive, for anyone of the district.
    let lan = api.login("lan");
    let hits = api.get("/library/search?q=de%20men%20phieu", &lan);
    expect(&hits, "GET", "/api/v1/library/search", 200);
    assert_eq!(hits.json["items"][0]["title"], "Dế Mèn phiêu lưu ký");
    assert_eq!(hits.json["items"][0]["holdings"][0]["library_name"], "Trường THCS Gia Thụy");
    assert!(hits.json["items"][0]["holdings"][0]["available"].as_i64().unwrap() >= 1);

    // The desk over REST: a loan, the same copy again refused in both languages.
    let r = api.call("POST", "/library/checkouts", Some(&thuvien), Body::Json(json!({"card": "HS6A02", "barcode": "000003"})), &[]);
    expect(&r, "POST", "/api/v1/library/checkouts", 201);
    assert_eq!(r.json["reader_name"].as_str().map(|s| !s.is_empty()), Some(true));
    let twice = api.call("POST", "/library/checkouts", Some(&thuvien), Body::Json(json!({"card": "HS6A04", "barcode": "000003"})), &[]);
    expect(&twice, "POST", "/api/v1/library/checkouts", 409);
    assert_eq!(twice.code(), "already_on_loan");
    let body = twice.json.to_string();
    assert!(body.contains("000003") && body.contains("đang được mượn"), "{body}");
    let back = api.call("POST", "/library/checkins", Some(&thuvien), Body::Json(json!({"barcode": "000003"})), &[]);
    expect(&back, "POST", "/api/v1/library/checkins", 200);
    assert_eq!(back.json["overdue_days"], 0);
    // A NUL anywhere in the address is refused at the edge (PostgreSQL refuses it in text, so
    // it once ended as a 500 deep in a query), and a search with control characters works.
    for path in ["/library/biblios/a%00b", "/library/search?q=x%00y", "/library/checkouts?library=school%00"] {
        let r = api.get(path, &thuvien);
        assert_eq!(r.status, 400, "{path}: {}", r.json);
    }
    assert_eq!(api.get("/library/search?q=d%E1%BA%BF%01m%C3%A8n", &thuvien).status, 200);
    // A class list as CSV (Vietnamese column names, a BOM, a quoted name): one new reader, a card
    // already registered and an unknown reader type refused by row; the same list again adds nothing.
    let class_list = "\u{FEFF}so_the,ho_ten,lop,loai\r\nHS7A01,\"Đặng, Văn Lâm\",7A,học sinh\r\nHS6A02,Trùng Thẻ,6A,học sinh\r\nHS7A02,Lê Thị Thu,7A,phụ huynh\r\n";
    let r = api.call("POST", "/library/patrons", Some(&thuvien), Body::Raw(class_list.as_bytes(), "text/csv"), &[]);
    expect(&r, "POST", "/api/v1/library/patrons", 200);
    assert_eq!(r.json["added"], 1, "{}", r.json);
    let reasons: Vec<(u64, String)> = r.json["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["row"].as_u64().unwrap(), x["reason"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].0 == 2 && reasons[0].1.contains("HS6A02"), "{reasons:?}");
    assert!(reasons[1].0 == 3 && reasons[1].1.contains("phụ huynh"), "{reasons:?}");
    let again = api.call("POST", "/library/patrons", Some(&thuvien), Body::Raw(class_list.as_bytes(), "text/csv"), &[]);
    assert_eq!(again.json["added"], 0, "{}", again.json);
    // A teacher is not the librarian: the desk refuses her, and the refusal is audited.
    let huong = api.login("huong");
    let refused = api.call("POST", "/library/checkouts", Some(&huong), Body::Json(json!({"card": "HS6A02", "barcode": "000004"})), &[]);
    assert_eq!(refused.status, 403);
    let audit = api.get("/audit?action=refused&actor=user:huong&limit=1000", &api.login("kiemdinh"));
    assert!(
        audit.json["items"].as_array().unwrap().iter().any(|e| e["action"] == "refused" && e["actor"] == "user:huong"),
        "the refusal is audited"
    );
}
