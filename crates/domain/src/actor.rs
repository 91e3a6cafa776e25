//! Users, roles and grants: every staff role is granted on an org unit and its subtree.

use serde::{Deserialize, Serialize};

use crate::case::Case;
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
        PHONE_READERS.contains(&self)
    }
}

/// The roles that read cases, and monitoring stations, in their units' subtrees. The one role set
/// behind `Case::visible_to`, case lists, the worklist and monitoring scope. Admins manage users
/// and stations; they do not read cases.
pub const CASE_READERS: &[Role] = &[
    Role::Operator,
    Role::Dispatcher,
    Role::Handler,
    Role::GridWorker,
    Role::Cadre,
    Role::Leader,
    Role::Inspector,
];

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

    /// Units on which the actor holds a case-reading role ([`CASE_READERS`]): the roots of the
    /// subtrees his lists, worklist and monitoring cover.
    pub fn reader_units(&self) -> Vec<UnitId> {
        let mut v: Vec<UnitId> = self
            .grants
            .iter()
            .filter(|g| CASE_READERS.contains(&g.role))
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

/// How much of one item of personal data a viewer is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reveal {
    Full,
    /// [`mask_name`] / [`mask_phone`].
    Masked,
    /// Not shown at all (an anonymous reporter: "匿名").
    Hidden,
}

/// What one viewer may see of one case's personal data, and of its working record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disclosure {
    /// The reporter's name, wherever it appears (case, trail, free text).
    pub name: Reveal,
    /// The reporter's phone number, wherever it appears.
    pub phone: Reveal,
    /// Staff in scope see the working record (notes, reasons, reviews, staff names and ids);
    /// the reporting citizen sees the case's progress only.
    pub internal: bool,
}

/// The one rule for personal data on a case; every output of case data applies it.
///
/// - The reporter sees his own data in full, whatever the case says.
/// - Nobody else who cannot read the case ([`Case::visible_to`]) sees anything.
/// - An anonymous reporter's identity: only an inspector (纪委监委) in scope, in full; everyone
///   else sees "匿名" and no number.
/// - Otherwise: the roles that call reporters back ([`Role::sees_reporter_phone`]) in scope see
///   name and number in full; the other readers (leaders, cadres) see both masked.
pub fn disclosure(case: &Case, actor: &Actor, org: &OrgTree) -> Disclosure {
    let reporter = &case.draft.reporter;
    let staff = case.held_within(actor, org, CASE_READERS);
    let reveal = if reporter.user_id.as_deref() == Some(actor.user_id.as_str()) {
        Reveal::Full
    } else if !staff {
        Reveal::Hidden
    } else if reporter.anonymous {
        if case.held_within(actor, org, &[Role::Inspector]) {
            Reveal::Full
        } else {
            Reveal::Hidden
        }
    } else if case.held_within(actor, org, PHONE_READERS) {
        Reveal::Full
    } else {
        Reveal::Masked
    };
    Disclosure {
        name: reveal,
        phone: reveal,
        internal: staff,
    }
}

/// The roles that call reporters back: see [`Role::sees_reporter_phone`].
const PHONE_READERS: &[Role] = &[
    Role::Operator,
    Role::Dispatcher,
    Role::Handler,
    Role::GridWorker,
    Role::Inspector,
];

/// `张三` → `张*`, `欧阳娜娜` → `欧***`: the first character and a star for each other one; a
/// one-character name is all star.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match (chars.next(), chars.clone().count()) {
        (None, _) => String::new(),
        (Some(_), 0) => "*".into(),
        (Some(first), rest) => {
            let mut s = String::with_capacity(first.len_utf8() + rest);
            s.push(first);
            s.extend(std::iter::repeat_n('*', rest));
            s
        }
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
    use crate::case::{CaseDraft, CaseEvent, Channel, Kind, Reporter, Urgency};
    use crate::org::{OrgUnit, UnitKind};

    fn org() -> OrgTree {
        let u = |id: &str, p: Option<&str>, kind| OrgUnit {
            id: UnitId::new(id),
            parent: p.map(UnitId::new),
            kind,
            name: id.into(),
        };
        OrgTree::new(vec![
            u("county", None, UnitKind::County),
            u("deptA", Some("county"), UnitKind::Department),
            u("deptB", Some("county"), UnitKind::Department),
        ])
        .unwrap()
    }

    fn who(id: &str, role: Role, unit: &str) -> Actor {
        Actor {
            user_id: id.into(),
            username: id.into(),
            display_name: id.into(),
            grants: vec![Grant {
                role,
                unit: UnitId::new(unit),
            }],
        }
    }

    /// A case filed at the county and handled by deptA, reported by the citizen `cit`.
    fn case(anonymous: bool) -> Case {
        let draft = CaseDraft {
            channel: Channel::Web,
            kind: Kind::Report,
            category: None,
            urgency: Urgency::Normal,
            title: "举报违规收费".into(),
            description: String::new(),
            address: None,
            location: None,
            reporter: Reporter {
                name: Some("张三".into()),
                phone: Some("13912345678".into()),
                anonymous,
                user_id: Some("cit".into()),
            },
        };
        let ev = CaseEvent::Received {
            number: "20260610000001".into(),
            intake_unit: UnitId::new("county"),
            draft,
        };
        let at = crate::calendar::from_unix_ms(1_781_000_000_000).unwrap();
        let mut c = Case::from_received("c1".into(), &ev, at).unwrap();
        c.assigned_unit = Some(UnitId::new("deptA"));
        c.involved_units.push(UnitId::new("deptA"));
        c
    }

    #[test]
    fn disclosure_per_role() {
        use Reveal::*;
        let org = org();
        let seen = |c: &Case, a: &Actor| {
            let d = disclosure(c, a, &org);
            assert_eq!(d.name, d.phone);
            (d.name, d.internal)
        };
        let plain = case(false);
        let anon = case(true);
        for (actor, open, anonymous) in [
            (
                who("op", Role::Operator, "county"),
                (Full, true),
                (Hidden, true),
            ),
            (
                who("h", Role::Handler, "deptA"),
                (Full, true),
                (Hidden, true),
            ),
            (
                who("g", Role::GridWorker, "deptA"),
                (Full, true),
                (Hidden, true),
            ),
            (
                who("l", Role::Leader, "county"),
                (Masked, true),
                (Hidden, true),
            ),
            (
                who("k", Role::Cadre, "deptA"),
                (Masked, true),
                (Hidden, true),
            ),
            (
                who("i", Role::Inspector, "county"),
                (Full, true),
                (Full, true),
            ),
            // Out of scope: another department's inspector and handler, an admin.
            (
                who("i2", Role::Inspector, "deptB"),
                (Hidden, false),
                (Hidden, false),
            ),
            (
                who("h2", Role::Handler, "deptB"),
                (Hidden, false),
                (Hidden, false),
            ),
            (
                who("adm", Role::Admin, "county"),
                (Hidden, false),
                (Hidden, false),
            ),
            // The reporter sees his own data; he is not staff on it.
            (
                who("cit", Role::Citizen, "county"),
                (Full, false),
                (Full, false),
            ),
            (
                who("other", Role::Citizen, "county"),
                (Hidden, false),
                (Hidden, false),
            ),
        ] {
            assert_eq!(seen(&plain, &actor), open, "{}", actor.user_id);
            assert_eq!(
                seen(&anon, &actor),
                anonymous,
                "{} (anonymous)",
                actor.user_id
            );
        }
    }

    #[test]
    fn reader_units_leave_out_admin_and_citizen_grants() {
        let mut a = who("x", Role::Admin, "county");
        a.grants.push(Grant {
            role: Role::Citizen,
            unit: UnitId::new("county"),
        });
        assert!(a.reader_units().is_empty());
        a.grants.push(Grant {
            role: Role::Handler,
            unit: UnitId::new("deptA"),
        });
        assert_eq!(a.reader_units(), vec![UnitId::new("deptA")]);
    }

    #[test]
    fn masks_phone_numbers() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("0719-5221234"), "071****1234");
        assert_eq!(mask_phone("12345"), "***45");
        assert_eq!(mask_phone(""), "");
    }

    #[test]
    fn masks_names() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name("王"), "*");
        assert_eq!(mask_name(""), "");
    }
}
