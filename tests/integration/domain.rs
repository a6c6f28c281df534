//! The domain crates without an HTTP server (issue 13): the approval flow, the access rule
//! against its SQL form, delegation, a batch, lockouts that end and deadlines that pass, on a
//! fixed clock, on SQLite and PostgreSQL; and a database made by the release before versioned
//! migrations, upgraded in place.

use kyso_tests::domain::{Domain, START, block_on};
use kyso_tests::service::Backend;
use kyso_workflow::documents::ListFilter;
use kyso_workflow::{WorkflowError, approve, documents};

on_both_databases!(domain_chain_without_a_server_on_sqlite, domain_chain_without_a_server_on_postgres => chain_without_a_server);

fn chain_without_a_server(backend: Backend) {
    block_on(async {
        let d = Domain::new(backend).await;
        let [huong, bao, minh, pho, ha, lan] = [
            d.actor("huong").await,
            d.actor("bao").await,
            d.actor("minh").await,
            d.actor("pho").await,
            d.actor("thuha").await,
            d.actor("lan").await,
        ];
        let id = d.submit(&huong, "Giáo án Ngữ văn 6").await;
        assert!(matches!(approve::approve_now(&d.wf, &bao, &id, None).await, Err(WorkflowError::NotYourTurn { .. })));
        assert!(matches!(approve::approve_now(&d.wf, &lan, &id, None).await, Err(WorkflowError::NotFound("document"))));
        let v = approve::approve_now(&d.wf, &huong, &id, None).await.unwrap();
        assert_eq!(v.current_stage, Some(1));
        approve::approve_now(&d.wf, &bao, &id, Some("Đạt yêu cầu")).await.unwrap();
        // The principal is away: the vice principal signs on his behalf, recorded as such.
        kyso_org::delegations::create(&d.store, &minh, "pho", "school", "principal", START + 86_400).await.unwrap();
        let v = approve::approve_now(&d.wf, &pho, &id, None).await.unwrap();
        let step = &v.steps[2];
        assert_eq!(
            (
                v.name_of(step.signed_by.as_deref()).unwrap().username.as_str(),
                v.name_of(step.on_behalf_of.as_deref()).unwrap().username.as_str()
            ),
            ("pho", "minh")
        );
        // Deadlines follow the fixed clock: the district's stage is due 12 days after submission.
        d.clock.advance(13 * 86_400);
        let inbox = kyso_workflow::inbox::inbox(&d.store, &ha).await.unwrap();
        assert!(inbox[0].overdue, "past its deadline");
        let v = approve::approve_now(&d.wf, &ha, &id, None).await.unwrap();
        assert_eq!(v.doc.status, "completed");
        // The signed file is the four signatures' and validates, chain and all.
        let (_, _, file) = documents::open_version(&d.store, &huong, &id, None).await.unwrap();
        let bytes = std::io::Read::bytes(file).collect::<Result<Vec<u8>, _>>().unwrap();
        let anchors = kyso_pades::certinfo::parse_certificates(&std::fs::read(kyso_tests::pki("root.cert.pem")).unwrap()).unwrap();
        let report = kyso_validate::validate(&bytes, &kyso_validate::Context::offline(anchors, START as u64 + 14 * 86_400)).unwrap();
        assert_eq!(report.signatures.len(), 4);
        let chain = kyso_validate::chain::check_chain(&report, &["teacher".into(), "head".into(), "principal".into(), "district".into()]);
        assert!(chain.ok, "{:?}", chain);
    });
}

on_both_databases!(domain_access_rule_and_its_sql_agree_on_sqlite, domain_access_rule_and_its_sql_agree_on_postgres => access_rule_and_its_sql_agree);

/// For every person and document, what the rule says of a loaded document is what the
/// database's list holds: the two forms of the one rule agree.
fn access_rule_and_its_sql_agree(backend: Backend) {
    block_on(async {
        let d = Domain::new(backend).await;
        let (huong, bao, lan, minh) = (d.actor("huong").await, d.actor("bao").await, d.actor("lan").await, d.actor("minh").await);
        let mut ids = Vec::new();
        for n in 0..4 {
            ids.push(d.submit(&huong, &format!("Giáo án {n}")).await);
        }
        approve::approve_now(&d.wf, &huong, &ids[1], None).await.unwrap();
        approve::return_document(&d.wf, &huong, &ids[2], "Thiếu mục tiêu bài học")
            .await
            .unwrap_or_else(|_| panic!("the submitter may return her own"));
        approve::approve_now(&d.wf, &huong, &ids[3], None).await.unwrap();
        approve::approve_now(&d.wf, &bao, &ids[3], None).await.unwrap();
        kyso_org::delegations::create(&d.store, &minh, "pho", "school", "principal", START + 86_400).await.unwrap();
        let tree = kyso_org::OrgTree::load(&d.store.db.pool).await.unwrap();
        for (username, ..) in kyso_tests::domain::PEOPLE {
            let actor = d.actor(username).await;
            let access = documents::access_for(&d.store, &actor, &tree).await.unwrap();
            let listed: std::collections::BTreeSet<String> =
                documents::list(&d.store, &actor, &ListFilter { limit: 100, ..Default::default() })
                    .await
                    .unwrap()
                    .items
                    .into_iter()
                    .map(|v| v.doc.id)
                    .collect();
            for id in &ids {
                let doc = documents::load_document(&d.store, id).await.unwrap().unwrap();
                let steps = documents::load_steps(&d.store, id, doc.current_version).await.unwrap();
                assert_eq!(access.allows(&doc, &steps), listed.contains(id), "{username} and {id}: the rule and its SQL disagree");
            }
        }
        assert!(
            documents::list(&d.store, &lan, &ListFilter { limit: 100, ..Default::default() }).await.unwrap().items.is_empty(),
            "another school sees nothing"
        );
        assert_eq!(
            documents::list(&d.store, &bao, &ListFilter { limit: 100, ..Default::default() }).await.unwrap().total,
            4,
            "the head of group oversees the group"
        );
    });
}

on_both_databases!(domain_batch_and_lockout_on_sqlite, domain_batch_and_lockout_on_postgres => batch_and_lockout);

fn batch_and_lockout(backend: Backend) {
    block_on(async {
        let d = Domain::new(backend).await;
        let (huong, bao) = (d.actor("huong").await, d.actor("bao").await);
        let mut ids = Vec::new();
        for n in 0..3 {
            let id = d.submit(&huong, &format!("Giáo án {n}")).await;
            approve::approve_now(&d.wf, &huong, &id, None).await.unwrap();
            ids.push(id);
        }
        ids.push("no-such-document".into());
        let results = approve::batch_now(&d.wf, &bao, &ids, None).await.unwrap();
        assert_eq!(results.iter().filter(|r| r.outcome.is_ok()).count(), 3);
        assert!(matches!(results.iter().find(|r| r.document_id == "no-such-document").unwrap().outcome, Err(WorkflowError::NotFound(_))));
        // Five wrong passwords lock the account; the lock ends by itself.
        let throttle = kyso_org::auth::Throttle::default();
        let login =
            |pw: &'static str| kyso_org::auth::login(&d.store, &throttle, "bao", pw, "10.0.0.7", kyso_org::auth::SessionKind::Api, 3600);
        for _ in 0..5 {
            assert!(matches!(login("sai").await, Err(kyso_org::OrgError::InvalidCredentials)));
        }
        assert!(matches!(login("Mật khẩu thử 2026").await, Err(kyso_org::OrgError::AccountLocked { .. })));
        d.clock.advance(throttle.lockout_secs + 1);
        assert!(login("Mật khẩu thử 2026").await.is_ok(), "the lockout ended");
        let entries = kyso_store::audit::entries(&d.store.db.pool, 0, 1000).await.unwrap();
        assert!(entries.iter().any(|e| e.action == "account_locked" && e.org_id.as_deref() == Some("group")), "audited under bao's unit");
    });
}

/// A database made by the release before versioned migrations (its schema and rows, a person's
/// key still given as a file path) upgrades in place: rows kept, new columns there, the old key
/// reference no longer used.
#[test]
fn a_database_from_before_migrations_upgrades_in_place() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("kyso.db").display());
        {
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&url).await.unwrap();
            let old = std::fs::read_to_string(kyso_tests::repo_root().join("testdata/db/schema-before-migrations.sql")).unwrap();
            let old: String = old.lines().filter(|l| !l.starts_with("--")).collect::<Vec<_>>().join("\n");
            for statement in old.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                sqlx::query(sqlx::AssertSqlSafe(statement.to_string())).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        let db = kyso_store::Db::connect(&url, std::sync::Arc::new(kyso_clock::FixedClock::new(START))).await.expect("upgrades");
        use sqlx::Row;
        let versions: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations ORDER BY version")
            .fetch_all(&db.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get(0).unwrap())
            .collect();
        assert_eq!(versions, (1..=kyso_store::migrate::MIGRATIONS.len() as i64).collect::<Vec<_>>());
        let row = sqlx::query("SELECT username, disabled_at, id_number, key_spec FROM users WHERE username = 'huong'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(row.try_get::<String, _>(0).unwrap(), "huong");
        assert!(row.try_get::<Option<i64>, _>(1).unwrap().is_none());
        assert!(row.try_get::<Option<String>, _>(3).unwrap().unwrap().contains("teacher-rsa.key.pem"), "the old column is kept, unused");
        let docs: i64 = sqlx::query("SELECT COUNT(*) FROM documents").fetch_one(&db.pool).await.unwrap().try_get(0).unwrap();
        assert_eq!(docs, 1);
        assert!(
            matches!(kyso_store::audit::verify(&db.pool).await.unwrap(), kyso_store::audit::Verdict::Intact { entries: 2, .. }),
            "the audit chain carries over"
        );
        // Reopening applies nothing again.
        drop(db);
        let again = kyso_store::Db::connect(&url, std::sync::Arc::new(kyso_clock::FixedClock::new(START))).await.unwrap();
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM schema_migrations").fetch_one(&again.pool).await.unwrap().try_get(0).unwrap();
        assert_eq!(n, kyso_store::migrate::MIGRATIONS.len() as i64);
    });
}
