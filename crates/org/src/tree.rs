//! The organisation tree: Sở → Phòng → schools → subject groups (levels are data, not code: a
//! commune office where the district tier was removed is just another level).

use crate::actor::{Actor, OVERSEEING_ROLES, Principal};
use crate::error::{OrgError, Refusal, Result};
use kyso_store::{Store, new_id};
use sqlx::{AnyPool, Row};
use std::collections::{HashMap, HashSet};

/// An organisation of the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Org {
    pub id: String,
    pub parent_id: Option<String>,
    pub level: String,
    pub name: String,
}

/// The organisation tree in memory (small: a city has a few thousand units).
pub struct OrgTree {
    pub orgs: Vec<Org>,
    index: HashMap<String, usize>,
    children: HashMap<String, Vec<usize>>,
}

impl OrgTree {
    pub fn new(orgs: Vec<Org>) -> Self {
        let index = orgs.iter().enumerate().map(|(i, o)| (o.id.clone(), i)).collect();
        let mut children: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, o) in orgs.iter().enumerate() {
            if let Some(p) = &o.parent_id {
                children.entry(p.clone()).or_default().push(i);
            }
        }
        OrgTree { orgs, index, children }
    }

    pub async fn load(pool: &AnyPool) -> Result<OrgTree> {
        let rows = sqlx::query("SELECT id, parent_id, level, name FROM orgs ORDER BY name").fetch_all(pool).await?;
        let orgs = rows
            .iter()
            .map(|r| Ok(Org { id: r.try_get(0)?, parent_id: r.try_get(1)?, level: r.try_get(2)?, name: r.try_get(3)? }))
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(OrgTree::new(orgs))
    }

    pub fn get(&self, id: &str) -> Option<&Org> {
        self.index.get(id).map(|&i| &self.orgs[i])
    }

    /// `id` and its ancestors, nearest first (bounded: a cycle in the data cannot loop).
    pub fn ancestors_or_self(&self, id: &str) -> Vec<&Org> {
        let mut out: Vec<&Org> = Vec::new();
        let mut cur = self.get(id);
        while let Some(o) = cur {
            if out.len() > 64 || out.iter().any(|x| x.id == o.id) {
                break;
            }
            out.push(o);
            cur = o.parent_id.as_deref().and_then(|p| self.get(p));
        }
        out
    }

    /// Whether `ancestor` is `id` or above it.
    pub fn is_within(&self, id: &str, ancestor: &str) -> bool {
        self.ancestors_or_self(id).iter().any(|o| o.id == ancestor)
    }

    /// `root` and every unit below it.
    pub fn subtree(&self, root: &str) -> Vec<&Org> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut stack: Vec<usize> = self.index.get(root).copied().into_iter().collect();
        while let Some(i) = stack.pop() {
            if !seen.insert(i) {
                continue;
            }
            out.push(&self.orgs[i]);
            if let Some(kids) = self.children.get(&self.orgs[i].id) {
                stack.extend(kids.iter().copied());
            }
        }
        out
    }

    /// The ids of every unit within any of `roots` (each once).
    pub fn within_any<'a>(&'a self, roots: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for r in roots {
            for o in self.subtree(r) {
                if seen.insert(o.id.as_str()) {
                    out.push(o.id.as_str());
                }
            }
        }
        out
    }

    /// The nearest unit at `level` at or above `id`.
    pub fn nearest_at_level(&self, id: &str, level: &str) -> Option<&Org> {
        self.ancestors_or_self(id).into_iter().find(|o| o.level == level)
    }

    /// A path for people: "Sở GD&ĐT Hà Nội › Phòng GD&ĐT Gia Lâm › Trường THCS Gia Thụy".
    pub fn path(&self, id: &str) -> String {
        let mut names: Vec<&str> = self.ancestors_or_self(id).iter().map(|o| o.name.as_str()).collect();
        names.reverse();
        names.join(" › ")
    }
}

/// Whether `actor` administers `org_id` (as admin there or of a unit above it).
pub fn administers(actor: &Actor, tree: &OrgTree, org_id: &str) -> bool {
    actor.memberships.iter().any(|(o, r)| r == "admin" && tree.is_within(org_id, o))
}

/// Whether `actor` is an administrator of a top unit (the Sở).
pub fn is_top_admin(actor: &Actor, tree: &OrgTree) -> bool {
    actor.memberships.iter().any(|(o, r)| r == "admin" && tree.get(o).is_some_and(|org| org.parent_id.is_none()))
}

/// The units `actor` may see in the tree: its own units with their ancestors (for the path),
/// and everything below a unit where it oversees or administers; an API client sees its unit and
/// what lies below it.
pub fn visible_units(actor: &Actor, tree: &OrgTree) -> Vec<Org> {
    let mut ids: HashSet<&str> = HashSet::new();
    let roots: Vec<&str> = match &actor.principal {
        Principal::Client { org_id, .. } => vec![org_id.as_str()],
        Principal::User { .. } => actor.memberships.iter().map(|(o, _)| o.as_str()).collect(),
    };
    for r in &roots {
        ids.extend(tree.ancestors_or_self(r).iter().map(|o| o.id.as_str()));
    }
    let below: Vec<&str> = match &actor.principal {
        Principal::Client { org_id, .. } => vec![org_id.as_str()],
        Principal::User { .. } => {
            actor.memberships.iter().filter(|(_, r)| OVERSEEING_ROLES.contains(&r.as_str())).map(|(o, _)| o.as_str()).collect()
        }
    };
    ids.extend(tree.within_any(below));
    tree.orgs.iter().filter(|o| ids.contains(o.id.as_str())).cloned().collect()
}

/// A new unit under `parent_id`, by an administrator of the parent (or above).
pub async fn create_unit(store: &Store, actor: &Actor, parent_id: &str, level: &str, name: &str) -> Result<Org> {
    actor.require_user()?;
    let name = crate::text::line(name, "name", 200)?;
    let level = crate::text::line(level, "level", 64)?;
    let tree = OrgTree::load(&store.db.pool).await?;
    if tree.get(parent_id).is_none() {
        return Err(OrgError::NotFound("organisation"));
    }
    if !administers(actor, &tree, parent_id) {
        crate::refused(store, actor, "create_org", Some(parent_id)).await?;
        return Err(OrgError::Forbidden(Refusal::NotAdministrator));
    }
    let org = Org { id: new_id(), parent_id: Some(parent_id.to_string()), level, name };
    let mut tx = store.db.write().await?;
    sqlx::query("INSERT INTO orgs (id, parent_id, level, name) VALUES ($1, $2, $3, $4)")
        .bind(&org.id)
        .bind(&org.parent_id)
        .bind(&org.level)
        .bind(&org.name)
        .execute(&mut *tx)
        .await?;
    crate::record(
        &mut tx,
        actor,
        "org_created",
        None,
        Some(&org.id),
        serde_json::json!({"parent_id": org.parent_id, "level": org.level, "name": org.name}),
    )
    .await?;
    tx.commit().await?;
    Ok(org)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(id: &str, parent: Option<&str>) -> Org {
        Org { id: id.into(), parent_id: parent.map(Into::into), level: "x".into(), name: id.into() }
    }

    #[test]
    fn subtrees_and_ancestors() {
        let t = OrgTree::new(vec![
            org("so", None),
            org("phong", Some("so")),
            org("a", Some("phong")),
            org("b", Some("phong")),
            org("g", Some("a")),
        ]);
        let mut sub: Vec<&str> = t.subtree("phong").iter().map(|o| o.id.as_str()).collect();
        sub.sort();
        assert_eq!(sub, ["a", "b", "g", "phong"]);
        assert!(t.is_within("g", "so") && !t.is_within("b", "a"));
        assert_eq!(t.path("g"), "so › phong › a › g");
        // A cycle in the data is cut.
        let c = OrgTree::new(vec![org("x", Some("y")), org("y", Some("x"))]);
        assert_eq!(c.ancestors_or_self("x").len(), 2);
        assert_eq!(c.subtree("x").len(), 2);
    }
}
