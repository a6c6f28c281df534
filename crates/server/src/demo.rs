//! `kyso serve --demo`: a district with one school and one subject group, a person for every
//! role, the lesson-plan chain, and software keys from the test PKI (written into the data
//! directory), so the whole chain can be walked with curl in minutes. Seeds only an empty
//! database; every demo person's password is [`PASSWORD`].

use crate::AppState;
use crate::api::KeySpecRecord;
use crate::db::new_id;
use serde_json::json;
use sqlx::Row;

pub const PASSWORD: &str = "kyso-demo";

/// The test PKI's keys and certificates (public test material, never for real signatures).
const PKI: &[(&str, &str)] = &[
    ("teacher-rsa.key.pem", include_str!("../../../testdata/pki/teacher-rsa.key.pem")),
    ("teacher-rsa.cert.pem", include_str!("../../../testdata/pki/teacher-rsa.cert.pem")),
    ("head-p256.key.pem", include_str!("../../../testdata/pki/head-p256.key.pem")),
    ("head-p256.cert.pem", include_str!("../../../testdata/pki/head-p256.cert.pem")),
    ("principal-p256.key.pem", include_str!("../../../testdata/pki/principal-p256.key.pem")),
    ("principal-p256.cert.pem", include_str!("../../../testdata/pki/principal-p256.cert.pem")),
    ("principal-rsa3072.key.pem", include_str!("../../../testdata/pki/principal-rsa3072.key.pem")),
    ("principal-rsa3072.cert.pem", include_str!("../../../testdata/pki/principal-rsa3072.cert.pem")),
    ("district-p384.key.pem", include_str!("../../../testdata/pki/district-p384.key.pem")),
    ("district-p384.cert.pem", include_str!("../../../testdata/pki/district-p384.cert.pem")),
    ("issuing-ca.cert.pem", include_str!("../../../testdata/pki/issuing-ca.cert.pem")),
    ("root.cert.pem", include_str!("../../../testdata/pki/root.cert.pem")),
];

/// (username, full name, org key, role, test-PKI key stem)
const PEOPLE: &[(&str, &str, &str, &str, Option<&str>)] = &[
    ("huong", "Nguyễn Thị Hương", "group", "teacher", Some("teacher-rsa")),
    ("bao", "Phạm Quốc Bảo", "group", "head_of_group", Some("head-p256")),
    ("minh", "Trần Văn Minh", "school", "principal", Some("principal-p256")),
    ("pho", "Trần Văn Minh (PHT)", "school", "vice_principal", Some("principal-rsa3072")),
    ("ha", "Lê Thu Hà", "district", "district_officer", Some("district-p384")),
    ("thuvien", "Đặng Thu Thư", "school", "librarian", None),
    ("kiemdinh", "Hoàng Kiểm Định", "district", "auditor", None),
    ("admin", "Quản trị Sở", "department", "admin", None),
    // Another school of the district, to show that its people see nothing of Gia Thụy's.
    ("lan", "Bùi Thị Lan", "other-group", "teacher", None),
];

/// Writes the demo keys to `DATA_DIR/demo-pki` and returns that folder.
pub fn write_demo_pki(data_dir: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
    let dir = data_dir.join("demo-pki");
    std::fs::create_dir_all(&dir)?;
    for (name, text) in PKI {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(dir)
}

pub async fn seed(state: &AppState) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let pool = &state.db.pool;
    let existing: i64 = sqlx::query("SELECT COUNT(*) FROM orgs").fetch_one(pool).await?.try_get(0)?;
    let pki = write_demo_pki(&state.config.data_dir)?;
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
    let mut tx = state.db.write().await?;
    for (id, parent, level, name) in orgs {
        sqlx::query("INSERT INTO orgs (id, parent_id, level, name) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(parent)
            .bind(level)
            .bind(name)
            .execute(&mut *tx)
            .await?;
    }
    let hash = {
        let p = PASSWORD.to_string();
        tokio::task::spawn_blocking(move || crate::auth::hash_password(&p)).await?.map_err(|e| e.to_string())?
    };
    for (username, full_name, org, role, stem) in PEOPLE {
        let id = new_id();
        let key_spec = stem.map(|stem| {
            serde_json::to_string(&KeySpecRecord {
                key: pki.join(format!("{stem}.key.pem")).display().to_string(),
                cert: Some(pki.join(format!("{stem}.cert.pem"))),
                chain: Some(pki.join("issuing-ca.cert.pem")),
                config: None,
                key_password_env: None,
            })
            .expect("a key spec serialises")
        });
        sqlx::query("INSERT INTO users (id, username, full_name, password_hash, key_spec) VALUES ($1, $2, $3, $4, $5)")
            .bind(&id)
            .bind(*username)
            .bind(*full_name)
            .bind(&hash)
            .bind(key_spec)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO memberships (user_id, org_id, role) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(*org)
            .bind(*role)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("INSERT INTO templates (id, name, stages) VALUES ($1, $2, $3)")
        .bind("lesson-plan")
        .bind("Giáo án: giáo viên → tổ trưởng → hiệu trưởng → phòng GD&ĐT")
        .bind(serde_json::to_string(&crate::workflow::lesson_plan_template())?)
        .execute(&mut *tx)
        .await?;
    crate::audit::append(
        &mut tx,
        crate::audit::Record {
            actor: "system",
            action: "demo_seeded",
            document_id: None,
            org_id: None,
            detail: json!({"people": PEOPLE.len()}),
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(people = PEOPLE.len(), "demo: seeded a district, a school, a subject group and the lesson-plan chain");
    Ok(())
}
