//! jiesu's domain: the org tree, roles, the case lifecycle, the working calendar and deadline
//! policies. Pure and synchronous: no I/O, no async, no SQL, no HTTP. Every function takes the
//! time it needs as an argument instead of reading the clock.

/// A closed set of names: snake_case in JSON, a Chinese name for display, `ALL` and `parse`.
macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $s:literal / $zh:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $s),+ } }
            pub fn name_zh(self) -> &'static str { match self { $($name::$variant => $zh),+ } }
            pub fn parse(s: &str) -> Option<Self> { match s { $($s => Some($name::$variant),)+ _ => None } }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

/// A `u32` as JSON writes it: `17` and `17.0` are the same number to JSON (and to JSON Schema,
/// which calls both integers); serde's own `u32` takes only the first.
pub fn whole_u32<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    use serde::Deserialize;
    let n = f64::deserialize(d)?;
    if n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n) {
        Ok(n as u32)
    } else {
        Err(serde::de::Error::custom(format!(
            "{n} is not a whole number from 0 to 4294967295"
        )))
    }
}

pub mod actor;
pub mod assessment;
pub mod calendar;
pub mod case;
pub mod category;
pub mod deadline;
pub mod geo;
pub mod org;
pub mod provisional;
pub mod supervision;

pub use actor::{Actor, Grant, Role, mask_phone};
pub use calendar::{CalendarError, CalendarYear, OfficeHours, Time, WorkCalendar};
pub use case::{
    Case, CaseDraft, CaseEvent, CaseState, Channel, Command, Context, DomainError, Kind, Urgency,
};
pub use category::{Category, CategoryTree};
pub use deadline::{DeadlinePolicy, Deadlines, Span};
pub use jiesu_geo::PlaceKind;
pub use org::{OrgTree, OrgUnit, UnitId, UnitKind};

/// The standing data of one jurisdiction that commands are checked against.
#[derive(Debug, Clone, Default)]
pub struct Jurisdiction {
    pub org: OrgTree,
    pub calendar: WorkCalendar,
    pub policy: DeadlinePolicy,
    pub categories: CategoryTree,
}

impl Jurisdiction {
    pub fn ctx(&self) -> Context<'_> {
        Context {
            org: &self.org,
            calendar: &self.calendar,
            policy: &self.policy,
            categories: &self.categories,
        }
    }
}
