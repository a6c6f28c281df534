//! The domain crates in process, without a server: a store on SQLite in a temporary folder (or a
//! fresh PostgreSQL database), a fixed clock, a small district seeded through the same functions
//! the API calls, and the test PKI's keys in the key store.

use crate::service::{Backend, fresh_database};
use kyso_clock::{Clock, FixedClock};
use kyso_org::{Actor, Principal};
use kyso_store::{BlobStore, CpuQueue, Db, Store};
use kyso_workflow::Workflow;
use std::sync::Arc;

/// 2026-11-29 14:03:05 UTC, a Sunday.
pub const START: i64 = 1_795_960_985;

pub struct Domain {
    pub store: Arc<Store>,
    pub wf: Arc<Workflow>,
    pub clock: Arc<FixedClock>,
    pub url: String,
    pub dir: tempfile::TempDir,
}

/// (username, full name, CCCD, unit, role, test-PKI key stem)
pub type SeedPerson = (&'static str, &'static str, Option<&'static str>, &'static str, &'static str, Option<&'static str>);

pub const PEOPLE: &[SeedPerson] = &[
    ("huong", "Nguyễn Thị Hương", Some("001190012345"), "group", "teacher", Some("teacher-rsa")),
    ("bao", "Phạm Quốc Bảo", Some("001085023456"), "group", "head_of_group", Some("head-p256")),
    ("minh", "Trần Văn Minh", Some("001078034567"), "school", "principal", Some("principal-p256")),
    ("pho", "Đỗ Thị Phương", Some("001182045678"), "school", "vice_principal", Some("vice-principal-p256")),
    ("thuha", "Lê Thu Hà", Some("001180089012"), "district", "district_officer", Some("district-p384")),
    ("thuvien", "Đặng Thu Thư", Some("001191056789"), "school", "librarian", Some("librarian-p256")),
    ("kiemdinh", "Hoàng Kiểm Định", None, "district", "auditor", None),
    ("lan", "Bùi Thị Lan", None, "other-group", "teacher", None),
    ("nam", "Đinh Văn Nam", None, "other-school", "principal", None),
];

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime").block_on(f)
}

impl Domain {
    /// A store with the district seeded: the admin inserted as the first person (there is
    /// nobody to add them), everyone else added by that admin, keys assigned through the key
    /// store. Call inside a runtime.
    pub async fn new(backend: Backend) -> Domain {
        let dir = tempfile::tempdir().unwrap();
        let url = fresh_database(backend, dir.path());
        let clock = Arc::new(FixedClock::new(START));
        let db = Db::connect(&url, clock.clone() as Arc<dyn Clock>).await.expect("database");
        let blobs = BlobStore::open(dir.path().join("blobs")).unwrap();
        let store = Arc::new(Store { db, blobs, cpu: CpuQueue::new(2, 64) });
        let signers = Arc::new(kyso_signers::Registry::new(kyso_keyring::config::Config::default(), Some([9; 32])));
        let gate = Arc::new(kyso_ltv::RevocationGate::new(
            kyso_ltv::LocalCrls::new(vec![std::fs::read(crate::pki("issuing-ca.crl")).unwrap()]),
            true,
            std::time::Duration::from_secs(2),
        ));
        let wf = Workflow::new(store.clone(), signers, gate, false);
        let d = Domain { store, wf, clock, url, dir };
        d.seed().await;
        d
    }

    async fn seed(&self) {
        let pool = &self.store.db.pool;
        for (id, parent, level, name) in [
            ("department", None, "department", "Sở GD&ĐT Hà Nội"),
            ("district", Some("department"), "district", "Phòng GD&ĐT Gia Lâm"),
            ("school", Some("district"), "school", "Trường THCS Gia Thụy"),
            ("group", Some("school"), "group", "Tổ Ngữ văn"),
            ("other-school", Some("district"), "school", "Trường THCS Ngọc Thụy"),
            ("other-group", Some("other-school"), "group", "Tổ Toán"),
        ] {
            sqlx::query("INSERT INTO orgs (id, parent_id, level, name) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(parent)
                .bind(level)
                .bind(name)
                .execute(pool)
                .await
                .unwrap();
        }
        let hash = kyso_org::auth::hash_password("Mật khẩu thử 2026").unwrap();
        sqlx::query("INSERT INTO users (id, username, full_name, password_hash) VALUES ('admin-id', 'admin', 'Quản trị Sở', $1)")
            .bind(&hash)
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO memberships (user_id, org_id, role) VALUES ('admin-id', 'department', 'admin')")
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO templates (id, name, stages) VALUES ('lesson-plan', 'Giáo án', $1)")
            .bind(serde_json::to_string(&kyso_workflow::templates::lesson_plan_template()).unwrap())
            .execute(pool)
            .await
            .unwrap();
        kyso_records::catalogue::seed(&self.store).await.expect("the register catalogue is seeded");
        let admin = self.actor("admin").await;
        for (username, full_name, cccd, org, role, stem) in PEOPLE {
            let memberships = [(org.to_string(), role.to_string())];
            kyso_org::people::create(
                &self.store,
                &admin,
                kyso_org::people::NewPerson {
                    username,
                    full_name,
                    password: "Mật khẩu thử 2026",
                    id_number: *cccd,
                    memberships: &memberships,
                },
            )
            .await
            .expect("a person is added");
            if let Some(stem) = stem {
                let der = der::pem::decode_vec(std::fs::read(crate::pki(&format!("{stem}.key.pem"))).unwrap().as_slice()).unwrap().1;
                let mut chain =
                    kyso_pades::certinfo::parse_certificates(&std::fs::read(crate::pki(&format!("{stem}.cert.pem"))).unwrap()).unwrap();
                chain.extend(kyso_pades::certinfo::parse_certificates(&std::fs::read(crate::pki("issuing-ca.cert.pem")).unwrap()).unwrap());
                self.wf
                    .signers
                    .assign(&self.store, &admin, username, kyso_signers::KeySource::Pkcs8 { der, chain }, None)
                    .await
                    .expect("a key is assigned");
            }
        }
    }

    /// The actor `username` is, read from the database (as a login would give).
    pub async fn actor(&self, username: &str) -> Actor {
        let p = kyso_org::people::by_username(&self.store, username).await.unwrap().expect("a seeded person");
        Actor { principal: Principal::User { id: p.id, username: p.username, full_name: p.full_name }, memberships: p.memberships }
    }

    /// A received upload of `bytes`, as the edge would hand it over.
    pub fn upload(&self, bytes: &[u8]) -> kyso_store::Received {
        let mut incoming = self.store.blobs.receive(1 << 30).unwrap();
        incoming.write(bytes).unwrap();
        incoming.finish().unwrap()
    }

    /// Submits a lesson plan as `who`.
    pub async fn submit(&self, who: &Actor, title: &str) -> String {
        let pdf = std::fs::read(crate::corpus().join("inputs/pyhanko-minimal.pdf")).unwrap();
        let s = kyso_workflow::submit::Submission { title, template: "lesson-plan", org: None, on_behalf_of: None };
        kyso_workflow::submit::submit(&self.wf, who, s, self.upload(&pdf), &Default::default()).await.expect("submitted").doc.id
    }
}
