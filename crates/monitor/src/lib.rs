//! Monitoring rules, pure: the GB 3838-2002 surface-water classes (single-factor method, as the
//! 2011 evaluation rules apply it). Alarm detection will join this crate.

pub mod gb3838;

pub use gb3838::{Classification, WaterClass, Waterbody, classify, classify_factor};
