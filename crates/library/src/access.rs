//! The library's access rule, one for the REST API, the web pages and the command line: a
//! library is a school (an organisation of the tree); its librarian manages its catalogue,
//! copies, readers and desk, and an administrator of the school or above may act as its
//! librarian; a reader sees their own loans and holds; anyone of the district searches the
//! union catalogue of the district's libraries.

use crate::error::{LibraryError, Result};
use kyso_org::{Actor, OrgTree, Principal, tree::administers};
use kyso_store::Store;

/// A school library, with the district whose union catalogue it belongs to.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Library {
    pub id: String,
    pub name: String,
    pub district_id: String,
}

/// The district a unit belongs to (the unit itself above the district level).
pub fn district_of(tree: &OrgTree, unit: &str) -> String {
    tree.nearest_at_level(unit, "district").map(|o| o.id.clone()).unwrap_or_else(|| unit.to_string())
}

fn library_of(tree: &OrgTree, id: &str) -> Option<Library> {
    let org = tree.get(id)?;
    Some(Library { id: org.id.clone(), name: org.name.clone(), district_id: district_of(tree, id) })
}

/// Whether `actor` may act as the librarian of `library_id`.
pub fn manages(actor: &Actor, tree: &OrgTree, library_id: &str) -> bool {
    actor.has_role_in(library_id, "librarian") || administers(actor, tree, library_id)
}

/// The library `actor` works in as librarian: the one named, or their own when there is one.
/// A refusal is audited under the library asked for.
pub async fn managed(store: &Store, actor: &Actor, library: Option<&str>) -> Result<Library> {
    let tree = OrgTree::load(&store.db.pool).await?;
    let id = match library {
        Some(id) => id.to_string(),
        None => match actor.units_with_role("librarian").next() {
            Some(id) => id.to_string(),
            None => {
                kyso_org::refused(store, actor, "library", None).await?;
                return Err(LibraryError::NotLibrarian);
            }
        },
    };
    match library_of(&tree, &id) {
        Some(lib) if manages(actor, &tree, &id) => Ok(lib),
        found => {
            // Under the library asked for when it exists; a made-up id is not written anywhere.
            let unit = found.map(|lib| lib.id);
            kyso_org::refused(store, actor, "library", unit.as_deref()).await?;
            Err(LibraryError::NotLibrarian)
        }
    }
}

/// The districts whose union catalogue `actor` searches: those of its units (an API client's
/// unit), and every district below a unit it oversees (a Sở officer sees all of them).
pub fn search_districts(actor: &Actor, tree: &OrgTree) -> Vec<String> {
    let units: Vec<&str> = match &actor.principal {
        Principal::Client { org_id, .. } => vec![org_id.as_str()],
        Principal::User { .. } => actor.memberships.iter().map(|(o, _)| o.as_str()).collect(),
    };
    let mut out: Vec<String> = Vec::new();
    for u in units {
        let level = tree.get(u).map(|o| o.level.as_str());
        if matches!(level, Some("department")) {
            out.extend(tree.subtree(u).into_iter().filter(|o| o.level == "district").map(|o| o.id.clone()));
        } else {
            out.push(district_of(tree, u));
        }
    }
    out.sort();
    out.dedup();
    out
}
