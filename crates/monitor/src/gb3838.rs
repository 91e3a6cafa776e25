//! GB 3838-2002 Table 1 limits and single-factor classification.
//!
//! Values are in the standard's units (mg/L; pH dimensionless): convert µg/L HJ 212 codes before
//! calling. Water temperature (a rule on man-made change), total nitrogen (evaluated separately,
//! for lakes), fecal coliform and the Table 2 drinking-water items do not take part in the class,
//! as in the national evaluation rules (环办〔2011〕22号).

use serde::{Deserialize, Serialize};

/// Serialized as `"I"` … `"V"`, `"劣V"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WaterClass {
    I,
    II,
    III,
    IV,
    V,
    /// 劣Ⅴ: beyond the class Ⅴ limit.
    WorseThanV,
}

impl WaterClass {
    pub const ALL: [WaterClass; 6] = [
        WaterClass::I,
        WaterClass::II,
        WaterClass::III,
        WaterClass::IV,
        WaterClass::V,
        WaterClass::WorseThanV,
    ];
    /// `I` … `V`, `劣V`.
    pub fn as_str(self) -> &'static str {
        match self {
            WaterClass::I => "I",
            WaterClass::II => "II",
            WaterClass::III => "III",
            WaterClass::IV => "IV",
            WaterClass::V => "V",
            WaterClass::WorseThanV => "劣V",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "I" | "1" | "Ⅰ" => WaterClass::I,
            "II" | "2" | "Ⅱ" => WaterClass::II,
            "III" | "3" | "Ⅲ" => WaterClass::III,
            "IV" | "4" | "Ⅳ" => WaterClass::IV,
            "V" | "5" | "Ⅴ" => WaterClass::V,
            "劣V" | "劣Ⅴ" | "worse_than_v" => WaterClass::WorseThanV,
            _ => return None,
        })
    }
    /// The qualitative grade of the evaluation rules.
    pub fn grade_zh(self) -> &'static str {
        match self {
            WaterClass::I | WaterClass::II => "优",
            WaterClass::III => "良好",
            WaterClass::IV => "轻度污染",
            WaterClass::V => "中度污染",
            WaterClass::WorseThanV => "重度污染",
        }
    }
}

impl Serialize for WaterClass {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for WaterClass {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        WaterClass::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown water class {s:?}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Waterbody {
    River,
    /// Lake or reservoir (湖、库): total phosphorus has its own, stricter column.
    Lake,
}

impl Waterbody {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "river" => Some(Waterbody::River),
            "lake" | "reservoir" | "lake_reservoir" => Some(Waterbody::Lake),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    /// `value ≤ limit[k]` for class k (the best class met wins).
    Max([f64; 5]),
    /// `value ≥ limit[k]` (dissolved oxygen).
    Min([f64; 5]),
    /// Inside the range: no constraint (class Ⅰ); outside: 劣Ⅴ (pH 6–9).
    Range(f64, f64),
}

/// The HJ 212 factor codes that take part in the class, with their Table 1 rule. Codes are
/// matched as numbers (`w21003` → 21003): this runs for every factor of every packet.
fn rule(code: &str, waterbody: Waterbody) -> Option<Rule> {
    use Rule::*;
    let digits = code.strip_prefix('w').filter(|d| d.len() == 5)?;
    let n = digits.bytes().try_fold(0u32, |n, c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })?;
    Some(match n {
        1001 => Range(6.0, 9.0),
        1009 => Min([7.5, 6.0, 5.0, 3.0, 2.0]),
        1019 => Max([2.0, 4.0, 6.0, 10.0, 15.0]),
        1018 => Max([15.0, 15.0, 20.0, 30.0, 40.0]),
        1017 => Max([3.0, 3.0, 4.0, 6.0, 10.0]),
        21003 => Max([0.15, 0.5, 1.0, 1.5, 2.0]),
        21011 => match waterbody {
            Waterbody::River => Max([0.02, 0.1, 0.2, 0.3, 0.4]),
            Waterbody::Lake => Max([0.01, 0.025, 0.05, 0.1, 0.2]),
        },
        20122 | 20138 => Max([0.01, 1.0, 1.0, 1.0, 1.0]),
        20123 | 20139 => Max([0.05, 1.0, 1.0, 2.0, 2.0]),
        21017 => Max([1.0, 1.0, 1.0, 1.5, 1.5]),
        20128 | 20140 => Max([0.01, 0.01, 0.01, 0.02, 0.02]),
        20119 | 20141 => Max([0.05, 0.05, 0.05, 0.1, 0.1]),
        20111 | 20142 => Max([0.00005, 0.00005, 0.0001, 0.001, 0.001]),
        20115 | 20143 => Max([0.001, 0.005, 0.005, 0.005, 0.01]),
        20117 => Max([0.01, 0.05, 0.05, 0.05, 0.1]),
        20120 | 20144 => Max([0.01, 0.01, 0.05, 0.05, 0.1]),
        21016 => Max([0.005, 0.05, 0.2, 0.2, 0.2]),
        23002 => Max([0.002, 0.002, 0.005, 0.01, 0.1]),
        22001 => Max([0.05, 0.05, 0.05, 0.5, 1.0]),
        19002 => Max([0.2, 0.2, 0.2, 0.3, 0.3]),
        21019 => Max([0.05, 0.1, 0.2, 0.5, 1.0]),
        _ => return None,
    })
}

/// Whether a factor code takes part in the class at all.
pub fn participates(code: &str) -> bool {
    rule(code, Waterbody::River).is_some()
}

/// The class of one factor's value, or `None` when the factor does not take part (or the value
/// is not a finite number).
pub fn classify_factor(code: &str, value: f64, waterbody: Waterbody) -> Option<WaterClass> {
    if !value.is_finite() {
        return None;
    }
    let classes = &WaterClass::ALL[..5];
    Some(match rule(code, waterbody)? {
        Rule::Max(l) => classes
            .iter()
            .zip(l)
            .find(|(_, lim)| value <= *lim)
            .map_or(WaterClass::WorseThanV, |(c, _)| *c),
        Rule::Min(l) => classes
            .iter()
            .zip(l)
            .find(|(_, lim)| value >= *lim)
            .map_or(WaterClass::WorseThanV, |(c, _)| *c),
        Rule::Range(lo, hi) => {
            if (lo..=hi).contains(&value) {
                WaterClass::I
            } else {
                WaterClass::WorseThanV
            }
        }
    })
}

/// The limit a factor must meet for `class` (for exceedance multiples); `None` for pH or
/// non-participating codes.
pub fn limit(code: &str, class: WaterClass, waterbody: Waterbody) -> Option<f64> {
    let i = WaterClass::ALL
        .iter()
        .position(|c| *c == class)
        .filter(|i| *i < 5)?;
    match rule(code, waterbody)? {
        Rule::Max(l) | Rule::Min(l) => Some(l[i]),
        Rule::Range(..) => None,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FactorClass {
    pub code: String,
    pub value: f64,
    pub class: WaterClass,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    /// The worst class among participating factors; `None` when none took part.
    pub class: Option<WaterClass>,
    /// The factors at that class (the ones that decide it).
    pub worst: Vec<String>,
    pub factors: Vec<FactorClass>,
}

impl Classification {
    /// Whether the station meets its target class (达标).
    pub fn meets(&self, target: WaterClass) -> Option<bool> {
        self.class.map(|c| c <= target)
    }
    /// Factors worse than the target class (超标项目).
    pub fn exceeding(&self, target: WaterClass) -> Vec<&FactorClass> {
        self.factors.iter().filter(|f| f.class > target).collect()
    }
}

/// Single-factor classification: each factor's class, and the station's class as the worst.
pub fn classify<'a>(
    readings: impl IntoIterator<Item = (&'a str, f64)>,
    waterbody: Waterbody,
) -> Classification {
    let mut factors: Vec<FactorClass> = readings
        .into_iter()
        .filter_map(|(code, value)| {
            classify_factor(code, value, waterbody).map(|class| FactorClass {
                code: code.to_string(),
                value,
                class,
            })
        })
        .collect();
    factors.sort_by(|a, b| a.code.cmp(&b.code));
    let class = factors.iter().map(|f| f.class).max();
    let mut worst: Vec<String> = factors
        .iter()
        .filter(|f| Some(f.class) == class)
        .map(|f| f.code.clone())
        .collect();
    worst.dedup();
    Classification {
        class,
        worst,
        factors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use WaterClass::*;

    fn c(code: &str, v: f64) -> Option<WaterClass> {
        classify_factor(code, v, Waterbody::River)
    }

    #[test]
    fn edge_cases_from_the_reference() {
        assert_eq!(
            c("w01018", 15.0),
            Some(I),
            "COD 15 is I: I and II share the limit"
        );
        assert_eq!(c("w01018", 15.01), Some(III));
        assert_eq!(c("w01009", 7.5), Some(I));
        assert_eq!(c("w01009", 1.99), Some(WorseThanV));
        assert_eq!(c("w01001", 9.0), Some(I));
        assert_eq!(c("w01001", 9.01), Some(WorseThanV));
        assert_eq!(c("w01001", 5.99), Some(WorseThanV));
        assert_eq!(c("w20111", 0.00005), Some(I));
        assert_eq!(
            c("w02003", 100.0),
            None,
            "fecal coliform is not in the class"
        );
        assert_eq!(
            c("w01010", 25.0),
            None,
            "water temperature is not in the class"
        );
        assert_eq!(
            c("w21001", 3.0),
            None,
            "total nitrogen is evaluated separately"
        );
        assert_eq!(c("w01014", 300.0), None, "conductivity has no limit");
        assert_eq!(c("w21003", f64::NAN), None);
    }

    #[test]
    fn worked_example_river_and_lake() {
        let r = [
            ("w01001", 7.6),
            ("w01009", 6.8),
            ("w01019", 4.5),
            ("w21003", 0.42),
            ("w21011", 0.12),
            ("w01018", 12.0),
        ];
        let river = classify(r, Waterbody::River);
        assert_eq!(river.class, Some(III));
        assert_eq!(river.worst, vec!["w01019", "w21011"]);
        assert_eq!(river.meets(II), Some(false));
        let ex: Vec<&str> = river
            .exceeding(II)
            .iter()
            .map(|f| f.code.as_str())
            .collect();
        assert_eq!(ex, vec!["w01019", "w21011"]);
        assert_eq!(III.grade_zh(), "良好");
        let lake = classify(r, Waterbody::Lake);
        assert_eq!(lake.class, Some(V), "TP 0.12 is class V in a lake");
        assert_eq!(lake.worst, vec!["w21011"]);
        assert_eq!(limit("w21011", II, Waterbody::Lake), Some(0.025));
    }

    #[test]
    fn the_contracts_example() {
        let r = classify([("w21003", 1.2), ("w01009", 5.5)], Waterbody::River);
        assert_eq!(r.class, Some(IV));
        assert_eq!(r.worst, vec!["w21003"]);
    }

    #[test]
    fn nothing_participating_has_no_class() {
        let r = classify([("w01010", 20.0)], Waterbody::River);
        assert_eq!(r.class, None);
        assert!(r.worst.is_empty());
    }
}
