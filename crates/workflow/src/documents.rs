//! Documents, their versions and the steps of their chains, read for people: one document
//! ([`get`]), a page of them ([`list`]), a version's bytes ([`open_version`]). Every read goes
//! through the access rule; a document the actor may not see is "not found", like one that does
//! not exist.

use crate::access::Access;
use crate::error::{Result, WorkflowError};
use kyso_org::{Actor, OrgTree};
use kyso_store::{Binds, Store};
use sqlx::Row;
use std::collections::HashMap;

#[derive(Clone, Debug)]
pub struct DocRow {
    pub id: String,
    pub org_id: String,
    pub submitter_id: String,
    pub template_id: String,
    pub title: String,
    pub status: String,
    pub current_version: i64,
    pub return_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The documents table's columns in [`doc_from_row`]'s order (a macro, so queries stay literals).
macro_rules! doc_columns {
    () => {
        "id, org_id, submitter_id, template_id, title, status, current_version, return_reason, created_at, updated_at"
    };
}
pub(crate) use doc_columns;

pub(crate) fn doc_from_row(r: &sqlx::any::AnyRow) -> Result<DocRow, sqlx::Error> {
    Ok(DocRow {
        id: r.try_get(0)?,
        org_id: r.try_get(1)?,
        submitter_id: r.try_get(2)?,
        template_id: r.try_get(3)?,
        title: r.try_get(4)?,
        status: r.try_get(5)?,
        current_version: r.try_get(6)?,
        return_reason: r.try_get(7)?,
        created_at: r.try_get(8)?,
        updated_at: r.try_get(9)?,
    })
}

#[derive(Clone, Debug)]
pub struct StepRow {
    pub version: i64,
    pub stage: i64,
    pub stage_name: String,
    pub field: String,
    pub org_id: String,
    pub role: String,
    pub assignee_id: Option<String>,
    pub allow_repeat: bool,
    pub deadline: i64,
    pub signed_by: Option<String>,
    pub on_behalf_of: Option<String>,
    pub signed_at: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct VersionRow {
    pub version: i64,
    pub original_sha256: String,
    pub current_sha256: String,
    pub created_at: i64,
}

/// A person named on a document: user name and full name.
#[derive(Clone, Debug, Default)]
pub struct Named {
    pub username: String,
    pub full_name: String,
}

/// A document as people see it.
#[derive(Clone, Debug)]
pub struct DocumentView {
    pub doc: DocRow,
    pub steps: Vec<StepRow>,
    pub versions: Vec<VersionRow>,
    /// The people the document names (submitter, assignees, signers), by user id.
    pub people: HashMap<String, Named>,
    /// The stage being signed now, while in progress.
    pub current_stage: Option<i64>,
}

impl DocumentView {
    pub fn name_of(&self, user_id: Option<&str>) -> Option<&Named> {
        user_id.and_then(|id| self.people.get(id))
    }
}

pub async fn load_steps(store: &Store, doc: &str, version: i64) -> Result<Vec<StepRow>> {
    let rows = sqlx::query(
        "SELECT version, stage, stage_name, field, org_id, role, assignee_id, allow_repeat, deadline, signed_by, on_behalf_of, signed_at FROM steps WHERE document_id = $1 AND version = $2 ORDER BY stage, field",
    )
    .bind(doc)
    .bind(version)
    .fetch_all(&store.db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            Ok(StepRow {
                version: r.try_get(0)?,
                stage: r.try_get(1)?,
                stage_name: r.try_get(2)?,
                field: r.try_get(3)?,
                org_id: r.try_get(4)?,
                role: r.try_get(5)?,
                assignee_id: r.try_get(6)?,
                allow_repeat: r.try_get::<i64, _>(7)? != 0,
                deadline: r.try_get(8)?,
                signed_by: r.try_get(9)?,
                on_behalf_of: r.try_get(10)?,
                signed_at: r.try_get(11)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?)
}

pub async fn load_document(store: &Store, id: &str) -> Result<Option<DocRow>> {
    Ok(sqlx::query(concat!("SELECT ", doc_columns!(), " FROM documents WHERE id = $1"))
        .bind(id)
        .fetch_optional(&store.db.pool)
        .await?
        .as_ref()
        .map(doc_from_row)
        .transpose()?)
}

/// The lowest stage with an unsigned step: the one being signed now.
pub fn current_stage(steps: &[StepRow]) -> Option<i64> {
    steps.iter().filter(|s| s.signed_by.is_none()).map(|s| s.stage).min()
}

/// The actor's access rule (with the delegations they hold now).
pub async fn access_for(store: &Store, actor: &Actor, tree: &OrgTree) -> Result<Access> {
    let delegated = match actor.user_id() {
        Some(me) => kyso_org::delegations::active_for(store, me).await?,
        None => Vec::new(),
    };
    Ok(Access::for_actor(actor, tree, &delegated))
}

/// Loads a document the actor may see; otherwise "not found", revealing nothing.
pub async fn visible(store: &Store, actor: &Actor, id: &str) -> Result<(DocRow, Vec<StepRow>)> {
    let doc = load_document(store, id).await?.ok_or(WorkflowError::NotFound("document"))?;
    let steps = load_steps(store, &doc.id, doc.current_version).await?;
    let tree = OrgTree::load(&store.db.pool).await?;
    if !access_for(store, actor, &tree).await?.allows(&doc, &steps) {
        return Err(WorkflowError::NotFound("document"));
    }
    Ok((doc, steps))
}

async fn people(store: &Store, ids: &[&str]) -> Result<HashMap<String, Named>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut binds = Binds::default();
    let listed = binds.push_list(ids.iter().copied());
    let rows = binds.query(format!("SELECT id, username, full_name FROM users WHERE id IN ({listed})")).fetch_all(&store.db.pool).await?;
    Ok(rows
        .iter()
        .map(|r| Ok((r.try_get(0)?, Named { username: r.try_get(1)?, full_name: r.try_get(2)? })))
        .collect::<Result<_, sqlx::Error>>()?)
}

/// The view of a loaded document: its versions and the people it names.
pub async fn view(store: &Store, doc: DocRow, steps: Vec<StepRow>) -> Result<DocumentView> {
    let named: Vec<&str> = std::iter::once(doc.submitter_id.as_str())
        .chain(steps.iter().flat_map(|s| [&s.assignee_id, &s.signed_by, &s.on_behalf_of]).filter_map(|i| i.as_deref()))
        .collect();
    let people = people(store, &named).await?;
    let versions =
        sqlx::query("SELECT version, original_sha256, current_sha256, created_at FROM versions WHERE document_id = $1 ORDER BY version")
            .bind(&doc.id)
            .fetch_all(&store.db.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(VersionRow {
                    version: r.try_get(0)?,
                    original_sha256: r.try_get(1)?,
                    current_sha256: r.try_get(2)?,
                    created_at: r.try_get(3)?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let current_stage = if doc.status == "in_progress" { current_stage(&steps) } else { None };
    Ok(DocumentView { doc, steps, versions, people, current_stage })
}

/// One document, as the actor may see it.
pub async fn get(store: &Store, actor: &Actor, id: &str) -> Result<DocumentView> {
    actor.require_scope("documents:read")?;
    let (doc, steps) = visible(store, actor, id).await?;
    view(store, doc, steps).await
}

/// A page of documents.
pub struct Page {
    pub items: Vec<DocumentView>,
    pub total: i64,
    /// The offset of the next page, if there is one.
    pub next: Option<i64>,
}

/// Which documents to list.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// `in_progress`, `returned` or `completed`.
    pub status: Option<String>,
    /// Only those the actor submitted.
    pub mine: bool,
    pub limit: i64,
    pub offset: i64,
}

/// The documents the actor may see, newest first, found, paged and counted by the database
/// (the access rule expanded to SQL); the rule has the last word on each row too (fails closed).
pub async fn list(store: &Store, actor: &Actor, f: &ListFilter) -> Result<Page> {
    actor.require_scope("documents:read")?;
    let tree = OrgTree::load(&store.db.pool).await?;
    let access = access_for(store, actor, &tree).await?;
    let mut binds = Binds::default();
    let mut condition = access.sql(&mut binds);
    if let Some(status) = f.status.as_deref() {
        condition = format!("{condition} AND d.status = {}", binds.push(status));
    }
    if f.mine {
        condition = format!("{condition} AND d.submitter_id = {}", binds.push(actor.user_id().unwrap_or("")));
    }
    let total: i64 =
        binds.query(format!("SELECT COUNT(*) FROM documents d WHERE {condition}")).fetch_one(&store.db.pool).await?.try_get(0)?;
    let (limit, offset) = (f.limit.clamp(1, 100), f.offset.max(0));
    let columns = doc_columns!().split(", ").map(|c| format!("d.{c}")).collect::<Vec<_>>().join(", ");
    let page_sql =
        format!("SELECT {columns} FROM documents d WHERE {condition} ORDER BY d.created_at DESC, d.id LIMIT {limit} OFFSET {offset}");
    let rows = binds.query(page_sql).fetch_all(&store.db.pool).await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        let doc = doc_from_row(r)?;
        let steps = load_steps(store, &doc.id, doc.current_version).await?;
        if access.allows(&doc, &steps) {
            items.push(view(store, doc, steps).await?);
        } else {
            tracing::error!(document = %doc.id, "the list's SQL condition and the access rule disagree; document left out");
        }
    }
    let next = (offset + limit < total).then_some(offset + limit);
    Ok(Page { items, total, next })
}

/// A version's stored bytes (the signed file as it now stands), for download. Audited.
pub async fn open_version(store: &Store, actor: &Actor, id: &str, version: Option<i64>) -> Result<(DocRow, String, std::fs::File)> {
    actor.require_scope("documents:read")?;
    let (doc, _) = visible(store, actor, id).await?;
    let version = version.unwrap_or(doc.current_version);
    let sha: String = sqlx::query("SELECT current_sha256 FROM versions WHERE document_id = $1 AND version = $2")
        .bind(&doc.id)
        .bind(version)
        .fetch_optional(&store.db.pool)
        .await?
        .ok_or(WorkflowError::NotFound("version"))?
        .try_get(0)?;
    let (blobs, name) = (store.blobs.clone(), sha.clone());
    let file = tokio::task::spawn_blocking(move || blobs.open_blob(&name))
        .await
        .map_err(|e| WorkflowError::internal("reading a stored document", e))??;
    let mut tx = store.db.write().await?;
    kyso_org::record(&mut tx, actor, "download", Some(&doc.id), Some(&doc.org_id), serde_json::json!({"version": version, "sha256": sha}))
        .await?;
    tx.commit().await?;
    Ok((doc, sha, file))
}
