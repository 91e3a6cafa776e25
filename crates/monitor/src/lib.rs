//! Monitoring rules, pure: the GB 3838-2002 surface-water classes (single-factor method, as the
//! 2011 evaluation rules apply it), and station alarms (exceedance, emission, fault, silence).

pub mod alarm;
pub mod gb3838;

pub use alarm::{
    AlarmEvent, AlarmRules, Problem, Reading, Sample, Station, StationSpec, Tracker, ValueUnit,
};
pub use gb3838::{Classification, WaterClass, Waterbody, classify, classify_factor};
