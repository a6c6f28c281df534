//! The demo's records archive: the school year 2026–2027 opened for Trường THCS Gia Thụy, and a
//! second subject group (Tổ Toán – Tin, its head and two teachers) whose lesson plans stand in
//! several states, so the completion dashboard is not empty on first start. Their documents stay
//! before the principal's stage, so the demo's first chain (Tổ Ngữ văn) is the only one in the
//! principal's and the district's to-do lists. Compiled only with the `demo` feature.

use crate::AppState;
use crate::demo::{ISSUING_CA, KEYS, der_of};
use kyso_org::Actor;
use kyso_records::dashboard::Filter;
use kyso_signers::KeySource;
use kyso_store::new_id;

type DemoResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// (username, full name, role, key stem shared with another demo person)
const MATH: &[(&str, &str, &str, &str)] = &[
    ("hoa", "Lý Thị Hoa", "head_of_group", "head-p256"),
    ("tuan", "Vũ Minh Tuấn", "teacher", "teacher-rsa"),
    ("mai", "Ngô Thị Mai", "teacher", "teacher-rsa"),
];

async fn actor(state: &AppState, username: &str) -> DemoResult<Actor> {
    let p = kyso_org::people::by_username(&state.store, username).await?.ok_or("a demo person is missing")?;
    Ok(Actor {
        principal: kyso_org::Principal::User { id: p.id, username: p.username, full_name: p.full_name },
        memberships: p.memberships,
    })
}

fn upload(state: &AppState, bytes: &[u8]) -> DemoResult<kyso_store::Received> {
    let mut incoming = state.store.blobs.receive(1 << 24)?;
    incoming.write(bytes)?;
    Ok(incoming.finish()?)
}

pub async fn seed(state: &AppState, admin: &Actor, password_hash: &str, samples: bool) -> DemoResult<()> {
    let store = &state.store;
    let minh = actor(state, "minh").await?;
    let semesters = [("2026-09-07".to_string(), "2027-01-16".to_string()), ("2027-01-25".to_string(), "2027-05-29".to_string())];
    let new_year =
        kyso_records::years::NewYear { school: "school", name: "2026-2027", education_level: "secondary", semesters: &semesters };
    let opened = kyso_records::years::open(store, &minh, new_year).await?;
    tracing::info!(obligations = opened.obligations, "demo: opened the school year 2026-2027 with its registers");
    if !samples {
        return Ok(());
    }
    // The samples sign documents: where that cannot happen (say, --require-revocation with no
    // responder) the demo still starts, without them.
    if let Err(e) = samples_seed(state, admin, password_hash, &opened.year.id).await {
        tracing::warn!(error = %e, "demo: the sample lesson plans were not seeded");
    }
    Ok(())
}

async fn samples_seed(state: &AppState, admin: &Actor, password_hash: &str, year_id: &str) -> DemoResult<()> {
    let store = &state.store;
    let math = kyso_org::tree::create_unit(store, admin, "school", "group", "Tổ Toán – Tin").await?;
    let mut tx = store.db.write().await?;
    for (username, full_name, role, _) in MATH {
        let id = new_id();
        sqlx::query("INSERT INTO users (id, username, full_name, password_hash) VALUES ($1, $2, $3, $4)")
            .bind(&id)
            .bind(*username)
            .bind(*full_name)
            .bind(password_hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO memberships (user_id, org_id, role) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(&math.id)
            .bind(*role)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    let ca = kyso_pades::certinfo::parse_certificates(ISSUING_CA.as_bytes())?;
    for (username, _, _, stem) in MATH {
        let (_, key, cert) = KEYS.iter().find(|(s, _, _)| s == stem).ok_or("a demo key is missing")?;
        let mut chain = kyso_pades::certinfo::parse_certificates(cert.as_bytes())?;
        chain.extend(ca.iter().cloned());
        let why = "bản demo: khóa thử nghiệm dùng chung, không có giá trị pháp lý";
        state.workflow.signers.assign(store, admin, username, KeySource::Pkcs8 { der: der_of(key)?, chain }, Some(why)).await?;
    }
    // The new group's people owe their registers of the year too.
    kyso_records::years::refresh(store, &actor(state, "minh").await?, year_id).await?;
    // The two latest weeks that have begun: last week's plans are finished or returned, this
    // week's are on their way. Outside the school year there is nothing to show.
    let now = store.db.now();
    let mut weeks: Vec<_> =
        kyso_records::years::periods(store, year_id).await?.into_iter().filter(|p| p.kind == "week" && p.starts_at <= now).collect();
    let (Some(this_week), Some(last_week)) = (weeks.pop(), weeks.pop()) else { return Ok(()) };
    let pdf = crate::demo::SAMPLE_PDF;
    let (hoa, tuan, mai) = (actor(state, "hoa").await?, actor(state, "tuan").await?, actor(state, "mai").await?);
    let owed = |who: &Actor, week: &str| {
        let f = Filter { register: Some("ke-hoach-bai-day".into()), period: Some(week.to_string()), ..Default::default() };
        let (store, who) = (store.clone(), who.clone());
        async move { kyso_records::dashboard::lines(&store, &who, None, &f, 1, 0).await.map(|l| l.into_iter().next()) }
    };
    let cancel = kyso_workflow::Cancel::default();
    let wf = &state.workflow;
    // Last week: Tuấn's plan was returned by the head; Mai sent nothing (overdue).
    if let Some(o) = owed(&tuan, &last_week.id).await? {
        let id = kyso_records::submit::submit(wf, &tuan, &o.id, None, upload(state, pdf)?, &cancel).await?.doc.id;
        kyso_workflow::approve::approve_now(wf, &tuan, &id, None).await?;
        kyso_workflow::approve::return_document(wf, &hoa, &id, "Cần bổ sung mục tiêu và đánh giá cuối bài").await?;
    }
    // This week: Tuấn has sent and signed his; Mai has uploaded hers but not signed it yet.
    if let Some(o) = owed(&tuan, &this_week.id).await? {
        let id = kyso_records::submit::submit(wf, &tuan, &o.id, None, upload(state, pdf)?, &cancel).await?.doc.id;
        kyso_workflow::approve::approve_now(wf, &tuan, &id, None).await?;
    }
    if let Some(o) = owed(&mai, &this_week.id).await? {
        kyso_records::submit::submit(wf, &mai, &o.id, None, upload(state, pdf)?, &cancel).await?;
    }
    Ok(())
}
