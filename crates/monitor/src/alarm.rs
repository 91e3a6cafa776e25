//! Stations and their alarms: from readings to "open one case for this problem", "add evidence",
//! "recovered". Pure: the tracker's state is per station, fed samples and clock ticks.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::gb3838::{WaterClass, Waterbody, classify};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ValueUnit {
    #[default]
    MgL,
    /// µg/L: HJ 212's default for Hg, Cd, Cr6+, As, Pb, Se; divided by 1000 before judging.
    UgL,
    /// Anything else (pH, °C, µS/cm, NTU, L/s…): taken as it is.
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Station {
    /// 数采仪编号.
    pub mn: String,
    pub name: String,
    /// HJ 212 system code: 21 surface water, 32 discharge, 22 air, …
    pub st: String,
    pub waterbody: Option<Waterbody>,
    pub target: Option<WaterClass>,
    /// The unit that answers for this station's cases.
    pub unit: String,
    /// Data interval the device is configured for (seconds).
    pub interval_secs: u32,
    /// Per factor: its unit in the packets.
    #[serde(default)]
    pub units: BTreeMap<String, ValueUnit>,
    /// Discharge monitors: factor → limit in mg/L.
    #[serde(default)]
    pub emission_limits: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// Worse than the target class for N consecutive samples.
    WaterQuality,
    /// A discharge value above its emission limit.
    EmissionExceeded,
    /// Fault, maintenance, stop or communication flags beyond the grace time.
    InstrumentFault,
    /// No data for longer than 3 × the expected interval.
    Silence,
}

impl Problem {
    pub fn as_str(self) -> &'static str {
        match self {
            Problem::WaterQuality => "water_quality",
            Problem::EmissionExceeded => "emission_exceeded",
            Problem::InstrumentFault => "instrument_fault",
            Problem::Silence => "silence",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [
            Problem::WaterQuality,
            Problem::EmissionExceeded,
            Problem::InstrumentFault,
            Problem::Silence,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
    pub fn name_zh(self) -> &'static str {
        match self {
            Problem::WaterQuality => "水质超标",
            Problem::EmissionExceeded => "排放超标",
            Problem::InstrumentFault => "设备异常",
            Problem::Silence => "数据中断",
        }
    }
}

/// One factor's value in one sample, as the packet gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub factor: String,
    pub value: Option<f64>,
    /// HJ 212 data flag: N normal, F stopped, M maintenance, S manual, D fault, C calibration,
    /// T over range, B communication.
    pub flag: Option<String>,
}

impl Reading {
    /// Flags under which a value may be judged (normal or manually set).
    pub fn is_valid(&self) -> bool {
        self.value.is_some_and(f64::is_finite)
            && matches!(self.flag.as_deref(), None | Some("N") | Some("S"))
    }
    pub fn is_fault(&self) -> bool {
        matches!(self.flag.as_deref(), Some("F" | "M" | "D" | "C" | "B"))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Unix milliseconds of the data time.
    pub at_ms: i64,
    pub readings: Vec<Reading>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AlarmRules {
    pub consecutive: u32,
    pub fault_grace_ms: i64,
    pub silence_intervals: u32,
}

impl Default for AlarmRules {
    fn default() -> Self {
        Self {
            consecutive: 3,
            fault_grace_ms: 60 * 60 * 1000,
            silence_intervals: 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AlarmEvent {
    /// Open one case for this station and problem.
    Open { problem: Problem, summary: String },
    /// A further bad sample on an open problem.
    Evidence { problem: Problem, summary: String },
    /// The problem is over: record it on the same case.
    Recovered { problem: Problem, summary: String },
}

/// What one sample says about water quality, in mg/L.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judgement {
    pub class: Option<WaterClass>,
    pub worst: Vec<String>,
}

/// Per-station alarm state. Rebuilt after a restart from the open alarms in the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tracker {
    pub open: BTreeSet<Problem>,
    pub bad_streak: u32,
    pub fault_since_ms: Option<i64>,
    pub last_seen_ms: Option<i64>,
}

pub fn factor_name(code: &str) -> &'static str {
    match code {
        "w01001" => "pH",
        "w01009" => "溶解氧",
        "w01010" => "水温",
        "w01014" => "电导率",
        "w01003" => "浊度",
        "w01019" => "高锰酸盐指数",
        "w01018" => "化学需氧量",
        "w01017" => "五日生化需氧量",
        "w21003" => "氨氮",
        "w21011" => "总磷",
        "w21001" => "总氮",
        "w00000" => "污水流量",
        _ => "",
    }
}

fn mg_l(station: &Station, r: &Reading) -> Option<f64> {
    let v = r.value?;
    Some(
        match station.units.get(&r.factor).copied().unwrap_or_default() {
            ValueUnit::UgL => v / 1000.0,
            ValueUnit::MgL | ValueUnit::Other => v,
        },
    )
}

/// The class of one sample's valid readings at a surface-water station.
pub fn judge(station: &Station, sample: &Sample) -> Judgement {
    let wb = station.waterbody.unwrap_or(Waterbody::River);
    let vals: Vec<(&str, f64)> = sample
        .readings
        .iter()
        .filter(|r| r.is_valid())
        .filter_map(|r| mg_l(station, r).map(|v| (r.factor.as_str(), v)))
        .collect();
    let c = classify(vals, wb);
    Judgement {
        class: c.class,
        worst: c.worst,
    }
}

fn describe(station: &Station, sample: &Sample, codes: &[String]) -> String {
    let parts: Vec<String> = sample
        .readings
        .iter()
        .filter(|r| codes.contains(&r.factor))
        .map(|r| {
            let name = factor_name(&r.factor);
            let v = r.value.map_or("—".to_string(), |v| format!("{v}"));
            format!("{name}({}) {v}", r.factor)
        })
        .collect();
    let _ = station;
    parts.join("，")
}

impl Tracker {
    /// Feeds one sample; returns what to do about it.
    /// Silence is judged on arrival (`received_ms`), not on the device's clock.
    pub fn observe(
        &mut self,
        station: &Station,
        sample: &Sample,
        received_ms: i64,
        rules: &AlarmRules,
    ) -> Vec<AlarmEvent> {
        let judgement = (station.st == "21").then(|| judge(station, sample));
        self.observe_judged(station, sample, judgement.as_ref(), received_ms, rules)
    }

    /// [`Tracker::observe`] for a caller that has already judged the sample (the ingest needs
    /// the class for the station's status too, and judges once). `judgement` must be
    /// `judge(station, sample)` for a surface-water station, and may be `None` otherwise.
    pub fn observe_judged(
        &mut self,
        station: &Station,
        sample: &Sample,
        judgement: Option<&Judgement>,
        received_ms: i64,
        rules: &AlarmRules,
    ) -> Vec<AlarmEvent> {
        let mut out = Vec::new();
        self.last_seen_ms = Some(
            self.last_seen_ms
                .map_or(received_ms, |t| t.max(received_ms)),
        );
        if self.open.remove(&Problem::Silence) {
            out.push(AlarmEvent::Recovered {
                problem: Problem::Silence,
                summary: "数据恢复上传".into(),
            });
        }
        // Instrument flags.
        let faulty: Vec<String> = sample
            .readings
            .iter()
            .filter(|r| r.is_fault())
            .map(|r| format!("{}={}", r.factor, r.flag.as_deref().unwrap_or("")))
            .collect();
        if faulty.is_empty() {
            self.fault_since_ms = None;
            if self.open.remove(&Problem::InstrumentFault) {
                out.push(AlarmEvent::Recovered {
                    problem: Problem::InstrumentFault,
                    summary: "设备标记恢复正常".into(),
                });
            }
        } else {
            let since = *self.fault_since_ms.get_or_insert(sample.at_ms);
            if sample.at_ms - since >= rules.fault_grace_ms
                && self.open.insert(Problem::InstrumentFault)
            {
                out.push(AlarmEvent::Open {
                    problem: Problem::InstrumentFault,
                    summary: format!(
                        "设备异常标记持续超过{}分钟：{}",
                        rules.fault_grace_ms / 60_000,
                        faulty.join("，")
                    ),
                });
            }
        }
        // Water quality against the target class, judged only on samples whose instruments all
        // report normally: a partial sample would say "recovered" because the bad factor is
        // in maintenance.
        if let (Some(target), true, true, Some(j)) = (
            station.target,
            station.st == "21",
            faulty.is_empty(),
            judgement,
        ) {
            match j.class {
                Some(c) if c > target => {
                    self.bad_streak += 1;
                    let text = format!(
                        "水质{}类，劣于{}类目标：{}",
                        c.as_str(),
                        target.as_str(),
                        describe(station, sample, &j.worst)
                    );
                    if self.open.contains(&Problem::WaterQuality) {
                        out.push(AlarmEvent::Evidence {
                            problem: Problem::WaterQuality,
                            summary: text,
                        });
                    } else if self.bad_streak >= rules.consecutive {
                        self.open.insert(Problem::WaterQuality);
                        out.push(AlarmEvent::Open {
                            problem: Problem::WaterQuality,
                            summary: format!("连续{}次{text}", self.bad_streak),
                        });
                    }
                }
                Some(c) => {
                    self.bad_streak = 0;
                    if self.open.remove(&Problem::WaterQuality) {
                        out.push(AlarmEvent::Recovered {
                            problem: Problem::WaterQuality,
                            summary: format!(
                                "水质恢复为{}类，达到{}类目标",
                                c.as_str(),
                                target.as_str()
                            ),
                        });
                    }
                }
                None => {}
            }
        }
        // Emission limits at discharge monitors.
        if !station.emission_limits.is_empty() {
            let over: Vec<String> = sample
                .readings
                .iter()
                .filter(|r| r.is_valid())
                .filter_map(|r| {
                    let lim = station.emission_limits.get(&r.factor)?;
                    let v = mg_l(station, r)?;
                    (v > *lim).then(|| {
                        format!("{}({}) {v} > 限值{lim}", factor_name(&r.factor), r.factor)
                    })
                })
                .collect();
            if !over.is_empty() {
                let text = format!("排放超标：{}", over.join("，"));
                if self.open.insert(Problem::EmissionExceeded) {
                    out.push(AlarmEvent::Open {
                        problem: Problem::EmissionExceeded,
                        summary: text,
                    });
                } else {
                    out.push(AlarmEvent::Evidence {
                        problem: Problem::EmissionExceeded,
                        summary: text,
                    });
                }
            } else if sample
                .readings
                .iter()
                .any(|r| r.is_valid() && station.emission_limits.contains_key(&r.factor))
                && self.open.remove(&Problem::EmissionExceeded)
            {
                out.push(AlarmEvent::Recovered {
                    problem: Problem::EmissionExceeded,
                    summary: "排放恢复达标".into(),
                });
            }
        }
        out
    }

    /// Clock tick: opens a silence alarm once the station has been quiet too long.
    pub fn tick(&mut self, station: &Station, now_ms: i64, rules: &AlarmRules) -> Vec<AlarmEvent> {
        let Some(last) = self.last_seen_ms else {
            return vec![];
        };
        let limit =
            i64::from(station.interval_secs.max(1)) * 1000 * i64::from(rules.silence_intervals);
        if now_ms - last > limit && self.open.insert(Problem::Silence) {
            return vec![AlarmEvent::Open {
                problem: Problem::Silence,
                summary: format!(
                    "超过{}分钟未收到数据（应每{}秒上传）",
                    (now_ms - last) / 60_000,
                    station.interval_secs
                ),
            }];
        }
        vec![]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn river() -> Station {
        Station {
            mn: "42038121000001".into(),
            name: "浪河口".into(),
            st: "21".into(),
            waterbody: Some(Waterbody::River),
            target: Some(WaterClass::II),
            unit: "420381D05".into(),
            interval_secs: 300,
            units: BTreeMap::new(),
            emission_limits: BTreeMap::new(),
        }
    }

    fn sample(at: i64, nh3: f64, flag: &str) -> Sample {
        Sample {
            at_ms: at,
            readings: vec![
                Reading {
                    factor: "w21003".into(),
                    value: Some(nh3),
                    flag: Some(flag.into()),
                },
                Reading {
                    factor: "w01009".into(),
                    value: Some(8.0),
                    flag: Some("N".into()),
                },
            ],
        }
    }

    #[test]
    fn three_bad_samples_open_one_alarm_then_evidence_then_recovery() {
        let (s, rules) = (river(), AlarmRules::default());
        let mut t = Tracker::default();
        assert!(t.observe(&s, &sample(0, 1.2, "N"), 0, &rules).is_empty());
        assert!(t.observe(&s, &sample(1, 1.2, "N"), 1, &rules).is_empty());
        let ev = t.observe(&s, &sample(2, 1.2, "N"), 2, &rules);
        assert!(
            matches!(&ev[..], [AlarmEvent::Open { problem: Problem::WaterQuality, summary }] if summary.contains("IV"))
        );
        let ev = t.observe(&s, &sample(3, 1.6, "N"), 3, &rules);
        assert!(matches!(&ev[..], [AlarmEvent::Evidence { .. }]));
        let ev = t.observe(&s, &sample(4, 0.3, "N"), 4, &rules);
        assert!(matches!(
            &ev[..],
            [AlarmEvent::Recovered {
                problem: Problem::WaterQuality,
                ..
            }]
        ));
        assert!(t.open.is_empty());
    }

    #[test]
    fn a_good_sample_resets_the_streak_and_flagged_values_are_not_judged() {
        let (s, rules) = (river(), AlarmRules::default());
        let mut t = Tracker::default();
        t.observe(&s, &sample(0, 1.2, "N"), 0, &rules);
        t.observe(&s, &sample(1, 1.2, "N"), 1, &rules);
        t.observe(&s, &sample(2, 0.2, "N"), 2, &rules);
        assert!(t.observe(&s, &sample(3, 1.2, "N"), 3, &rules).is_empty());
        // A maintenance value is not a water-quality judgement.
        assert!(t.observe(&s, &sample(4, 9.9, "M"), 4, &rules).is_empty());
        assert_eq!(t.bad_streak, 1);
    }

    #[test]
    fn faults_open_after_the_grace_time_and_silence_after_three_intervals() {
        let (s, rules) = (river(), AlarmRules::default());
        let mut t = Tracker::default();
        assert!(t.observe(&s, &sample(0, 0.2, "D"), 0, &rules).is_empty());
        let ev = t.observe(
            &s,
            &sample(rules.fault_grace_ms, 0.2, "D"),
            rules.fault_grace_ms,
            &rules,
        );
        assert!(matches!(
            &ev[..],
            [AlarmEvent::Open {
                problem: Problem::InstrumentFault,
                ..
            }]
        ));
        let ev = t.observe(
            &s,
            &sample(rules.fault_grace_ms + 1, 0.2, "N"),
            rules.fault_grace_ms + 1,
            &rules,
        );
        assert!(matches!(
            &ev[..],
            [AlarmEvent::Recovered {
                problem: Problem::InstrumentFault,
                ..
            }]
        ));
        let last = rules.fault_grace_ms + 1;
        assert!(
            t.tick(&s, last + 900_000, &rules).is_empty(),
            "exactly 3 intervals is not yet silence"
        );
        let ev = t.tick(&s, last + 900_001, &rules);
        assert!(matches!(
            &ev[..],
            [AlarmEvent::Open {
                problem: Problem::Silence,
                ..
            }]
        ));
        assert!(
            t.tick(&s, last + 2_000_000, &rules).is_empty(),
            "one alarm, not one per tick"
        );
        let ev = t.observe(
            &s,
            &sample(last + 2_000_001, 0.2, "N"),
            last + 2_000_001,
            &rules,
        );
        assert!(matches!(
            &ev[..],
            [AlarmEvent::Recovered {
                problem: Problem::Silence,
                ..
            }]
        ));
    }

    #[test]
    fn emission_limits_with_unit_conversion() {
        let mut s = river();
        s.st = "32".into();
        s.target = None;
        s.emission_limits.insert("w20120".into(), 0.1);
        s.units.insert("w20120".into(), ValueUnit::UgL);
        let mut t = Tracker::default();
        let pb = |v: f64| Sample {
            at_ms: 0,
            readings: vec![Reading {
                factor: "w20120".into(),
                value: Some(v),
                flag: Some("N".into()),
            }],
        };
        assert!(
            t.observe(&s, &pb(90.0), 0, &AlarmRules::default())
                .is_empty(),
            "90 µg/L is 0.09 mg/L"
        );
        let ev = t.observe(&s, &pb(150.0), 0, &AlarmRules::default());
        assert!(matches!(
            &ev[..],
            [AlarmEvent::Open {
                problem: Problem::EmissionExceeded,
                ..
            }]
        ));
        let ev = t.observe(&s, &pb(50.0), 0, &AlarmRules::default());
        assert!(matches!(&ev[..], [AlarmEvent::Recovered { .. }]));
    }
}

/// A station as it is registered (API body, import file): the station plus how its device signs in.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationSpec {
    pub mn: String,
    pub name: String,
    pub st: String,
    pub unit: String,
    pub password: String,
    #[serde(default)]
    pub waterbody: Option<Waterbody>,
    #[serde(default)]
    pub target: Option<WaterClass>,
    #[serde(
        default = "default_interval",
        deserialize_with = "jiesu_domain::whole_u32"
    )]
    pub interval_secs: u32,
    #[serde(default)]
    pub units: BTreeMap<String, ValueUnit>,
    #[serde(default)]
    pub emission_limits: BTreeMap<String, f64>,
    /// standard (default), modbus or modbus_swapped.
    #[serde(default)]
    pub crc_mode: Option<String>,
    #[serde(default)]
    pub lon: Option<f64>,
    #[serde(default)]
    pub lat: Option<f64>,
}

fn default_interval() -> u32 {
    300
}

impl StationSpec {
    /// Field checks that need no other data (the unit's existence is the caller's to check).
    pub fn validate(&self) -> Result<(), String> {
        let ok_mn = !self.mn.is_empty()
            && self.mn.len() <= 32
            && self
                .mn
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok_mn {
            return Err("mn: 1-32 letters, digits, '_' or '-'".into());
        }
        // It travels in the packet header (PW=…): printable ASCII only.
        if self.password.is_empty()
            || self.password.len() > 32
            || !self.password.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err("password: 1-32 printable ASCII characters".into());
        }
        if self.name.trim().is_empty() || self.st.is_empty() {
            return Err("name and st are required".into());
        }
        if !matches!(self.crc_mode(), "standard" | "modbus" | "modbus_swapped") {
            return Err("crc_mode: standard, modbus or modbus_swapped".into());
        }
        Ok(())
    }
    pub fn crc_mode(&self) -> &str {
        self.crc_mode.as_deref().unwrap_or("standard")
    }
    pub fn station(&self) -> Station {
        Station {
            mn: self.mn.clone(),
            name: self.name.clone(),
            st: self.st.clone(),
            waterbody: self.waterbody,
            target: self.target,
            unit: self.unit.clone(),
            interval_secs: self.interval_secs.clamp(10, 86_400),
            units: self.units.clone(),
            emission_limits: self.emission_limits.clone(),
        }
    }
}
