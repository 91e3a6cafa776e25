//! jiesu's domain: the org tree, roles, the case lifecycle, the working calendar and deadline
//! policies. Pure and synchronous: no I/O, no async, no SQL, no HTTP. Every function takes the
//! time it needs as an argument instead of reading the clock.

pub mod actor;
pub mod calendar;
pub mod case;
pub mod category;
pub mod deadline;
pub mod geo;
pub mod org;
pub mod provisional;

pub use actor::{Actor, Grant, Role, mask_phone};
pub use calendar::{CalendarError, CalendarYear, OfficeHours, Time, WorkCalendar};
pub use case::{
    Case, CaseDraft, CaseEvent, CaseState, Channel, Command, Context, DomainError, Kind, Urgency,
};
pub use category::{Category, CategoryTree};
pub use deadline::{DeadlinePolicy, Deadlines, Span};
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
