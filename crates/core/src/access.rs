//! Roles, grants and access decisions.
//!
//! Deny by default: an action is allowed only when one of the caller's grants carries a role
//! that permits the action AND the grant's agency subtree contains the target. Citizens own
//! their own objects and nothing else. Every handler asks [`authorize`] before it reads or
//! writes an object; there is no other path to "allowed".

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::agency::AgencyPath;
use crate::error::DomainError;

/// The roles of the platform. Each official's role is granted within an agency subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Citizen,
    CounterOfficer,
    Specialist,
    Leader,
    Clerk,
    AgencyAdmin,
    ProvincialAdmin,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Citizen,
        Role::CounterOfficer,
        Role::Specialist,
        Role::Leader,
        Role::Clerk,
        Role::AgencyAdmin,
        Role::ProvincialAdmin,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Citizen => "citizen",
            Self::CounterOfficer => "counter_officer",
            Self::Specialist => "specialist",
            Self::Leader => "leader",
            Self::Clerk => "clerk",
            Self::AgencyAdmin => "agency_admin",
            Self::ProvincialAdmin => "provincial_admin",
            Self::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| DomainError::invalid(format!("unknown role `{s}`")))
    }

    /// Administrators must enrol a second factor before they can do anything else.
    pub fn requires_totp(self) -> bool {
        matches!(self, Self::AgencyAdmin | Self::ProvincialAdmin)
    }

    /// Roles only a citizen account may hold, and roles only an official may hold.
    pub fn is_for_citizens(self) -> bool {
        matches!(self, Self::Citizen)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a caller wants to do. New systems add their actions here, next to the table that
/// says which roles may perform them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    ViewAgency,
    ManageAgency,
    ViewUsers,
    ManageUsers,
    GrantRole,
    ViewAudit,
    ManageCalendar,
    ViewOwnRecords,
    ManageApiClients,
    /// File a dossier for oneself (citizens, online).
    SubmitDossier,
    /// Take a dossier in at the one-stop counter, or accept one filed online.
    ReceiveDossier,
    /// Read the dossiers of an agency.
    ViewDossier,
    /// Work on a dossier: start processing, ask for supplements or the fee.
    ProcessDossier,
    /// Decide: approve, refuse, suspend.
    DecideDossier,
    /// Read the official documents (văn bản đến/đi) of an agency.
    ViewDocuments,
    /// The clerk's work (văn thư): register incoming documents, release and dispatch
    /// outgoing ones, revoke them.
    RegisterDocuments,
    /// Route an incoming document to its handlers (phân công xử lý).
    AssignDocuments,
    /// Draft outgoing documents and work on the incoming ones assigned to oneself.
    DraftDocuments,
    /// Review, approve and sign outgoing documents.
    ApproveDocuments,
    /// Edit an agency's document settings (issuer and unit abbreviations).
    ManageDocumentSettings,
}

impl Action {
    pub const ALL: [Action; 20] = [
        Action::ViewAgency,
        Action::ManageAgency,
        Action::ViewUsers,
        Action::ManageUsers,
        Action::GrantRole,
        Action::ViewAudit,
        Action::ManageCalendar,
        Action::ViewOwnRecords,
        Action::ManageApiClients,
        Action::SubmitDossier,
        Action::ReceiveDossier,
        Action::ViewDossier,
        Action::ProcessDossier,
        Action::DecideDossier,
        Action::ViewDocuments,
        Action::RegisterDocuments,
        Action::AssignDocuments,
        Action::DraftDocuments,
        Action::ApproveDocuments,
        Action::ManageDocumentSettings,
    ];
}

/// The role → action table. Officials of every role may see their own agency's structure;
/// management is for administrators; the audit trail is for auditors and provincial admins.
pub fn role_allows(role: Role, action: Action) -> bool {
    use Action::*;
    use Role::*;
    match action {
        ViewAgency => !matches!(role, Citizen),
        ManageAgency | ManageCalendar | ManageApiClients => {
            matches!(role, AgencyAdmin | ProvincialAdmin)
        }
        ViewUsers => matches!(role, AgencyAdmin | ProvincialAdmin | Auditor | Leader),
        ManageUsers | GrantRole => matches!(role, AgencyAdmin | ProvincialAdmin),
        ViewAudit => matches!(role, Auditor | ProvincialAdmin),
        ViewOwnRecords | SubmitDossier => matches!(role, Citizen),
        ReceiveDossier => matches!(role, CounterOfficer),
        ViewDossier | ProcessDossier => matches!(role, CounterOfficer | Specialist | Leader),
        DecideDossier => matches!(role, Leader),
        ViewDocuments | DraftDocuments => matches!(role, Clerk | Specialist | Leader),
        RegisterDocuments => matches!(role, Clerk),
        AssignDocuments | ApproveDocuments => matches!(role, Leader),
        ManageDocumentSettings => matches!(role, AgencyAdmin | ProvincialAdmin),
    }
}

/// A role held within an agency subtree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub role: Role,
    pub agency_id: i64,
    pub agency_path: AgencyPath,
}

/// Who is asking, as established by authentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub user_id: i64,
    pub grants: Vec<Grant>,
    /// Scopes of an API token; `None` for interactive sessions (the roles alone decide).
    pub token_scopes: Option<Vec<Action>>,
}

/// The object an action touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target<'a> {
    /// Something owned by an agency (its users, its records, the agency itself).
    Agency(&'a AgencyPath),
    /// Something owned by one citizen or business account.
    OwnedBy(i64),
}

impl Principal {
    pub fn has_role(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }

    fn token_permits(&self, action: Action) -> bool {
        self.token_scopes
            .as_ref()
            .is_none_or(|scopes| scopes.contains(&action))
    }
}

/// The single access decision of the platform.
pub fn authorize(
    principal: &Principal,
    action: Action,
    target: &Target<'_>,
) -> Result<(), DomainError> {
    if !principal.token_permits(action) {
        return Err(DomainError::forbidden());
    }
    let allowed = match target {
        Target::OwnedBy(owner) => {
            *owner == principal.user_id
                && principal.grants.iter().any(|g| role_allows(g.role, action))
        }
        Target::Agency(path) => principal
            .grants
            .iter()
            .any(|g| role_allows(g.role, action) && path.is_within(&g.agency_path)),
    };
    if allowed {
        Ok(())
    } else {
        Err(DomainError::forbidden())
    }
}

/// Whether `granter` may hand `role` to someone within `target`: they must manage users
/// there, and nobody hands out a role above their own (only provincial administrators create
/// provincial administrators).
pub fn may_grant(granter: &Principal, role: Role, target: &AgencyPath) -> Result<(), DomainError> {
    authorize(granter, Action::GrantRole, &Target::Agency(target))?;
    let is_provincial = granter
        .grants
        .iter()
        .any(|g| g.role == Role::ProvincialAdmin && target.is_within(&g.agency_path));
    if role == Role::ProvincialAdmin && !is_provincial {
        return Err(DomainError::forbidden());
    }
    if role.is_for_citizens() {
        return Err(DomainError::invalid(
            "the citizen role belongs to citizen accounts only",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(user_id: i64, grants: &[(Role, &AgencyPath)]) -> Principal {
        Principal {
            user_id,
            grants: grants
                .iter()
                .map(|(role, path)| Grant {
                    role: *role,
                    agency_id: 0,
                    agency_path: (*path).clone(),
                })
                .collect(),
            token_scopes: None,
        }
    }

    #[test]
    fn commune_official_stays_in_their_commune() {
        let province = AgencyPath::root(1);
        let commune_a = province.child(10);
        let commune_b = province.child(11);
        let admin_a = principal(5, &[(Role::AgencyAdmin, &commune_a)]);
        assert!(
            authorize(
                &admin_a,
                Action::ManageUsers,
                &Target::Agency(&commune_a.child(99))
            )
            .is_ok()
        );
        assert!(authorize(&admin_a, Action::ManageUsers, &Target::Agency(&commune_b)).is_err());
        assert!(authorize(&admin_a, Action::ManageUsers, &Target::Agency(&province)).is_err());
    }

    #[test]
    fn deny_by_default_for_every_role_and_action_outside_scope() {
        let inside = AgencyPath::root(1).child(2);
        let outside = AgencyPath::root(1).child(3);
        for role in Role::ALL {
            let p = principal(1, &[(role, &inside)]);
            for action in Action::ALL {
                assert!(
                    authorize(&p, action, &Target::Agency(&outside)).is_err(),
                    "{role} {action:?}"
                );
                assert!(
                    authorize(&p, action, &Target::OwnedBy(2)).is_err(),
                    "{role} {action:?}"
                );
            }
        }
    }

    #[test]
    fn citizen_sees_only_their_own() {
        let root = AgencyPath::root(1);
        let citizen = principal(7, &[(Role::Citizen, &root)]);
        assert!(authorize(&citizen, Action::ViewOwnRecords, &Target::OwnedBy(7)).is_ok());
        assert!(authorize(&citizen, Action::ViewOwnRecords, &Target::OwnedBy(8)).is_err());
        assert!(authorize(&citizen, Action::ViewAgency, &Target::Agency(&root)).is_err());
    }

    #[test]
    fn token_scopes_narrow_roles() {
        let root = AgencyPath::root(1);
        let mut admin = principal(1, &[(Role::ProvincialAdmin, &root)]);
        admin.token_scopes = Some(vec![Action::ViewAgency]);
        assert!(authorize(&admin, Action::ViewAgency, &Target::Agency(&root)).is_ok());
        assert!(authorize(&admin, Action::ManageUsers, &Target::Agency(&root)).is_err());
    }

    #[test]
    fn only_provincial_admins_make_provincial_admins() {
        let root = AgencyPath::root(1);
        let dept = root.child(2);
        let agency_admin = principal(1, &[(Role::AgencyAdmin, &dept)]);
        assert!(may_grant(&agency_admin, Role::Specialist, &dept).is_ok());
        assert!(may_grant(&agency_admin, Role::ProvincialAdmin, &dept).is_err());
        assert!(may_grant(&agency_admin, Role::Citizen, &dept).is_err());
        let provincial = principal(2, &[(Role::ProvincialAdmin, &root)]);
        assert!(may_grant(&provincial, Role::ProvincialAdmin, &dept).is_ok());
    }
}
