//! Users, roles and grants: every staff role is granted on an org unit and its subtree.

use serde::{Deserialize, Serialize};

use crate::org::{OrgTree, UnitId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Citizen,
    Operator,
    Dispatcher,
    Handler,
    GridWorker,
    Cadre,
    Leader,
    Inspector,
    Admin,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::Citizen,
        Role::Operator,
        Role::Dispatcher,
        Role::Handler,
        Role::GridWorker,
        Role::Cadre,
        Role::Leader,
        Role::Inspector,
        Role::Admin,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Citizen => "citizen",
            Role::Operator => "operator",
            Role::Dispatcher => "dispatcher",
            Role::Handler => "handler",
            Role::GridWorker => "grid_worker",
            Role::Cadre => "cadre",
            Role::Leader => "leader",
            Role::Inspector => "inspector",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
    pub fn name_zh(self) -> &'static str {
        match self {
            Role::Citizen => "群众",
            Role::Operator => "12345接线员",
            Role::Dispatcher => "派单员",
            Role::Handler => "承办人",
            Role::GridWorker => "网格员",
            Role::Cadre => "包联干部",
            Role::Leader => "分管领导",
            Role::Inspector => "纪委监委",
            Role::Admin => "系统管理员",
        }
    }
    /// Roles that may see a reporter's full phone number (others see it masked).
    pub fn sees_reporter_phone(self) -> bool {
        matches!(
            self,
            Role::Operator | Role::Dispatcher | Role::Handler | Role::GridWorker | Role::Inspector
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Grant {
    pub role: Role,
    pub unit: UnitId,
}

/// Who gives a command: a user and the grants he holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub grants: Vec<Grant>,
}

impl Actor {
    pub fn has_role(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }

    /// The first of `roles` that the actor holds on a unit whose subtree contains `unit`.
    pub fn role_over(&self, tree: &OrgTree, roles: &[Role], unit: &UnitId) -> Option<Role> {
        self.grants
            .iter()
            .filter(|g| roles.contains(&g.role))
            .find(|g| tree.is_within(unit, &g.unit))
            .map(|g| g.role)
    }

    /// True when one of `roles` is granted on a unit covering `unit`.
    pub fn may_act_on(&self, tree: &OrgTree, roles: &[Role], unit: &UnitId) -> bool {
        self.role_over(tree, roles, unit).is_some()
    }

    /// Units on which the actor holds any staff role.
    pub fn staff_units(&self) -> Vec<UnitId> {
        let mut v: Vec<UnitId> = self
            .grants
            .iter()
            .filter(|g| g.role != Role::Citizen)
            .map(|g| g.unit.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    pub fn is_staff(&self) -> bool {
        self.grants.iter().any(|g| g.role != Role::Citizen)
    }

    /// The role that best describes the actor in the trail (first grant).
    pub fn primary_role(&self) -> Role {
        self.grants.first().map(|g| g.role).unwrap_or(Role::Citizen)
    }
}

/// `13812345678` → `138****5678`; short or odd numbers keep only their last two digits.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() >= 11 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}****{tail}")
    } else if chars.len() > 2 {
        let tail: String = chars[chars.len() - 2..].iter().collect();
        format!("{}{tail}", "*".repeat(chars.len() - 2))
    } else {
        "*".repeat(chars.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_phone_numbers() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("0719-5221234"), "071****1234");
        assert_eq!(mask_phone("12345"), "***45");
        assert_eq!(mask_phone(""), "");
    }
}
