//! `kyso serve --demo`: a district with two schools, a person for every role, the lesson-plan
//! chain, and software keys from the test PKI imported into the server's key store (its key in
//! the data folder: demo only), so the whole chain can be walked in a browser or with curl in
//! minutes. The test PKI's CRLs answer revocation without a network. Seeds only an empty
//! database; every demo person's password is [`PASSWORD`]. Compiled only with the `demo` feature.

use crate::AppState;
use kyso_org::{Actor, Principal};
use kyso_signers::KeySource;
use kyso_store::new_id;
use serde_json::json;
use sqlx::Row;

pub const PASSWORD: &str = "kyso-demo";

macro_rules! pki {
    ($name:literal) => {
        include_str!(concat!("../../../testdata/pki/", $name))
    };
}

/// The test PKI (public test material, never for real signatures): (stem, key, certificate).
pub(crate) const KEYS: &[(&str, &str, &str)] = &[
    ("teacher-rsa", pki!("teacher-rsa.key.pem"), pki!("teacher-rsa.cert.pem")),
    ("head-p256", pki!("head-p256.key.pem"), pki!("head-p256.cert.pem")),
    ("principal-p256", pki!("principal-p256.key.pem"), pki!("principal-p256.cert.pem")),
    ("vice-principal-p256", pki!("vice-principal-p256.key.pem"), pki!("vice-principal-p256.cert.pem")),
    ("librarian-p256", pki!("librarian-p256.key.pem"), pki!("librarian-p256.cert.pem")),
    ("district-p384", pki!("district-p384.key.pem"), pki!("district-p384.cert.pem")),
];
pub(crate) const ISSUING_CA: &str = pki!("issuing-ca.cert.pem");
pub const ROOT: &str = pki!("root.cert.pem");
/// A one-page PDF made with qpdf (testdata/README.md): the demo's sample lesson plan.
pub(crate) const SAMPLE_PDF: &[u8] = include_bytes!("../../../testdata/pdf/rotated-90.pdf");
/// The CAs' CRLs (valid to 2049): revocation answers where no responder runs.
pub const CRLS: &[&[u8]] = &[include_bytes!("../../../testdata/pki/issuing-ca.crl"), include_bytes!("../../../testdata/pki/root.crl")];

/// (username, full name, CCCD, org, role, test-PKI key stem)
type DemoPerson = (&'static str, &'static str, Option<&'static str>, &'static str, &'static str, Option<&'static str>);

const PEOPLE: &[DemoPerson] = &[
    ("admin", "Quản trị Sở", None, "department", "admin", None),
    ("huong", "Nguyễn Thị Hương", Some("001190012345"), "group", "teacher", Some("teacher-rsa")),
    ("bao", "Phạm Quốc Bảo", Some("001085023456"), "group", "head_of_group", Some("head-p256")),
    ("minh", "Trần Văn Minh", Some("001078034567"), "school", "principal", Some("principal-p256")),
    ("pho", "Đỗ Thị Phương", Some("001182045678"), "school", "vice_principal", Some("vice-principal-p256")),
    ("ha", "Lê Thu Hà", Some("001180089012"), "district", "district_officer", Some("district-p384")),
    ("thuvien", "Đặng Thu Thư", Some("001191056789"), "school", "librarian", Some("librarian-p256")),
    ("kiemdinh", "Hoàng Kiểm Định", None, "district", "auditor", None),
    // Another school of the district, to show that its people see nothing of Gia Thụy's.
    ("lan", "Bùi Thị Lan", None, "other-group", "teacher", None),
];

/// The demo key store's key-encryption key: made once, kept in the data folder (0600). Demo only:
/// in production the key comes from the operator's environment, never from beside the data.
pub fn kek(data_dir: &std::path::Path) -> std::io::Result<[u8; 32]> {
    let path = data_dir.join("demo-keystore.kek");
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Some(k) = kyso_keyring::config::parse_kek(&text)
    {
        return Ok(k);
    }
    let mut k = [0u8; 32];
    getrandom::fill(&mut k).map_err(std::io::Error::other)?;
    let hex: String = k.iter().map(|b| format!("{b:02x}")).collect();
    let mut tmp = tempfile::NamedTempFile::new_in(data_dir)?;
    std::io::Write::write_all(&mut tmp, hex.as_bytes())?;
    tmp.persist(&path).map_err(|e| e.error)?;
    Ok(k)
}

pub(crate) fn der_of(pem: &str) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    let (_, der) = der::pem::decode_vec(pem.as_bytes()).map_err(|e| e.to_string())?;
    Ok(der)
}

pub async fn seed(state: &AppState) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let store = &state.store;
    let existing: i64 = sqlx::query("SELECT COUNT(*) FROM orgs").fetch_one(&store.db.pool).await?.try_get(0)?;
    if existing > 0 {
        tracing::info!("demo: the database already has organisations; nothing seeded");
        return Ok(());
    }
    let orgs = [
        ("department", None, "department", "Sở GD&ĐT Hà Nội"),
        ("district", Some("department"), "district", "Phòng GD&ĐT Gia Lâm"),
        ("school", Some("district"), "school", "Trường THCS Gia Thụy"),
        ("group", Some("school"), "group", "Tổ Ngữ văn"),
        ("other-school", Some("district"), "school", "Trường THCS Ngọc Thụy"),
        ("other-group", Some("other-school"), "group", "Tổ Toán"),
    ];
    let hash = {
        let p = PASSWORD.to_string();
        tokio::task::spawn_blocking(move || kyso_org::auth::hash_password(&p)).await??
    };
    let mut ids = Vec::new();
    let mut tx = store.db.write().await?;
    for (id, parent, level, name) in orgs {
        sqlx::query("INSERT INTO orgs (id, parent_id, level, name) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(parent)
            .bind(level)
            .bind(name)
            .execute(&mut *tx)
            .await?;
    }
    for (username, full_name, cccd, org, role, _) in PEOPLE {
        let id = new_id();
        sqlx::query("INSERT INTO users (id, username, full_name, password_hash, id_number) VALUES ($1, $2, $3, $4, $5)")
            .bind(&id)
            .bind(*username)
            .bind(*full_name)
            .bind(&hash)
            .bind(*cccd)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO memberships (user_id, org_id, role) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(*org)
            .bind(*role)
            .execute(&mut *tx)
            .await?;
        ids.push(id);
    }
    // The records catalogue's seed made the lesson-plan chain already; the demo names it fully.
    sqlx::query("DELETE FROM templates WHERE id = 'lesson-plan'").execute(&mut *tx).await?;
    sqlx::query("INSERT INTO templates (id, name, stages) VALUES ($1, $2, $3)")
        .bind("lesson-plan")
        .bind("Giáo án: giáo viên → tổ trưởng → hiệu trưởng → phòng GD&ĐT")
        .bind(serde_json::to_string(&kyso_workflow::templates::lesson_plan_template())?)
        .execute(&mut *tx)
        .await?;
    kyso_org::append(&mut tx, "system", "demo_seeded", None, None, json!({"people": PEOPLE.len()})).await?;
    tx.commit().await?;
    // Each person's key goes through the same assignment an administrator makes: the
    // certificate is checked against the person and the key proves possession.
    let admin = Actor {
        principal: Principal::User { id: ids[0].clone(), username: "admin".into(), full_name: "Quản trị Sở".into() },
        memberships: vec![("department".into(), "admin".into())],
    };
    let ca = kyso_pades::certinfo::parse_certificates(ISSUING_CA.as_bytes())?;
    for (username, _, _, _, _, stem) in PEOPLE {
        let Some(stem) = stem else { continue };
        let (_, key, cert) = KEYS.iter().find(|(s, _, _)| s == stem).ok_or("a demo key is missing")?;
        let mut chain = kyso_pades::certinfo::parse_certificates(cert.as_bytes())?;
        chain.extend(ca.iter().cloned());
        state.workflow.signers.assign(store, &admin, username, KeySource::Pkcs8 { der: der_of(key)?, chain }, None).await?;
    }
    crate::demo_records::seed(state, &admin, &hash, state.config.demo_samples).await?;
    crate::demo_library::seed(state, &hash).await?;
    tracing::info!(people = PEOPLE.len(), "demo: seeded a district, two schools, people for every role and the lesson-plan chain");
    Ok(())
}
