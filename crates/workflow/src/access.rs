//! The one rule for who may see a document, stated once as data ([`Access`]) and read two ways:
//! evaluated on a loaded document ([`Access::allows`]) and expanded to SQL for lists and counts
//! ([`Access::sql`]). Both walk the same clauses; a test runs both over every person and document
//! of a seeded district and requires them to agree.
//!
//! A document is visible to
//! - its submitter;
//! - whoever holds a step of its current version: the step's assignee, or a holder of the step's
//!   role in the step's unit, or someone that role was delegated to (a delegate gains the stages,
//!   not the role's oversight);
//! - an overseeing role (head of group, principal, district officer, auditor, administrator…) of
//!   the document's unit or a unit above it;
//! - an API client of the document's unit or one above it, with the scope `documents:read`.

use crate::documents::{DocRow, StepRow};
use kyso_org::{Actor, OVERSEEING_ROLES, OrgTree, Principal};
use kyso_store::Binds;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Clause {
    SubmittedBy(String),
    OrgIn(Vec<String>),
    /// A step of the current version assigned to `assignee`, or unassigned and held through one
    /// of `holdings` (unit, role).
    Step {
        assignee: String,
        holdings: Vec<(String, String)>,
    },
}

/// What one actor may see.
#[derive(Clone, Debug)]
pub struct Access {
    clauses: Vec<Clause>,
}

impl Access {
    /// `delegated`: (unit, role, from) of the delegations to the actor in force now.
    pub fn for_actor(actor: &Actor, tree: &OrgTree, delegated: &[(String, String, String)]) -> Access {
        let mut clauses = Vec::new();
        match &actor.principal {
            Principal::User { id, .. } => {
                clauses.push(Clause::SubmittedBy(id.clone()));
                let overseeing = actor.memberships.iter().filter(|(_, r)| OVERSEEING_ROLES.contains(&r.as_str())).map(|(o, _)| o.as_str());
                let overseen: Vec<String> = tree.within_any(overseeing).into_iter().map(str::to_string).collect();
                if !overseen.is_empty() {
                    clauses.push(Clause::OrgIn(overseen));
                }
                let mut holdings = actor.memberships.clone();
                holdings.extend(delegated.iter().map(|(o, r, _)| (o.clone(), r.clone())));
                holdings.sort();
                holdings.dedup();
                clauses.push(Clause::Step { assignee: id.clone(), holdings });
            }
            Principal::Client { org_id, scopes, .. } => {
                if scopes.iter().any(|s| s == "documents:read") {
                    let units: Vec<String> = tree.within_any([org_id.as_str()]).into_iter().map(str::to_string).collect();
                    if !units.is_empty() {
                        clauses.push(Clause::OrgIn(units));
                    }
                }
            }
        }
        Access { clauses }
    }

    /// Whether the document (with the steps of its current version) is visible.
    pub fn allows(&self, doc: &DocRow, steps: &[StepRow]) -> bool {
        self.clauses.iter().any(|c| match c {
            Clause::SubmittedBy(id) => doc.submitter_id == *id,
            Clause::OrgIn(units) => units.contains(&doc.org_id),
            Clause::Step { assignee, holdings } => {
                steps.iter().filter(|s| s.version == doc.current_version).any(|s| match &s.assignee_id {
                    Some(a) => a == assignee,
                    None => holdings.iter().any(|(o, r)| *o == s.org_id && *r == s.role),
                })
            }
        })
    }

    /// The same rule as a condition over `documents d`, with its values bound in `binds`.
    pub fn sql(&self, binds: &mut Binds) -> String {
        let mut any = Vec::new();
        for c in &self.clauses {
            match c {
                Clause::SubmittedBy(id) => any.push(format!("d.submitter_id = {}", binds.push(id))),
                Clause::OrgIn(units) => any.push(format!("d.org_id IN ({})", binds.push_list(units.iter().map(String::as_str)))),
                Clause::Step { assignee, holdings } => {
                    let mut holds = vec![format!("s.assignee_id = {}", binds.push(assignee))];
                    for (org, role) in holdings {
                        holds.push(format!("(s.assignee_id IS NULL AND s.org_id = {} AND s.role = {})", binds.push(org), binds.push(role)));
                    }
                    any.push(format!(
                        "EXISTS (SELECT 1 FROM steps s WHERE s.document_id = d.id AND s.version = d.current_version AND ({}))",
                        holds.join(" OR ")
                    ));
                }
            }
        }
        if any.is_empty() { "1 = 0".into() } else { format!("({})", any.join(" OR ")) }
    }
}
