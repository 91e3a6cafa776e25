//! The demo's monitoring network, modelled on Danjiangkou's "1336" supervision: 57 river
//! sections flowing into the reservoir (target class Ⅱ) and 41 enterprise discharge monitors.
//! Shared by `jiesu demo` (which registers them) and `jiesu simulate` (which plays them).

use std::collections::BTreeMap;

use jiesu_monitor::{Station, ValueUnit, WaterClass, Waterbody};
use jiesu_store::StationRow;

pub const RIVERS: usize = 57;
pub const DISCHARGES: usize = 41;

const RIVER_NAMES: &[&str] = &[
    "浪河",
    "官山河",
    "剑河",
    "神定河",
    "泗河",
    "犟河",
    "天河",
    "堵河",
    "老灌河",
    "淇河",
    "滔河",
    "曾河",
    "丹江",
    "汉江",
    "将军河",
    "东河",
    "西河",
    "马蹬河",
    "鲍河",
    "竹溪河",
];
const SECTIONS: &[&str] = &[
    "入库口",
    "河口",
    "上游",
    "中游",
    "交接",
    "孙家湾",
    "浪河口",
    "大桥",
];
const FIRMS: &[&str] = &[
    "水都水务",
    "汉江纸业",
    "丹江生物",
    "均州食品",
    "武当酒业",
    "沧浪制药",
    "江口水产",
    "太和建材",
    "龙山化工",
    "习家店柑橘加工",
    "三官殿物流园",
    "大坝污水处理厂",
];

/// A station as the demo registers it (the simulator needs the password to sign its packets).
#[derive(Debug, Clone)]
pub struct DemoStation {
    pub station: Station,
    pub password: String,
    pub lon: f64,
    pub lat: f64,
    /// Flag sent by the device: 5 (HJ 212-2017, ack wanted) or 9 (2025-style version bits).
    pub flag: u8,
}

fn password(mn: &str, seed: u64) -> String {
    // FNV-1a of the MN and seed: stable, so the simulator can sign without a shared file.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in mn.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:06}", h % 1_000_000)
}

/// The 98 demo stations; `towns` are the street/town codes that answer for river sections.
pub fn demo_stations(seed: u64, towns: &[String], env_dept: &str) -> Vec<DemoStation> {
    let mut out = Vec::new();
    for i in 0..RIVERS {
        let mn = format!("42038121{:06}", i + 1);
        let name = format!(
            "{}{}断面",
            RIVER_NAMES[i % RIVER_NAMES.len()],
            SECTIONS[(i / RIVER_NAMES.len()) % SECTIONS.len()]
        );
        let reservoir = i % 10 == 9;
        let mut units = BTreeMap::new();
        units.insert("w01001".into(), ValueUnit::Other);
        units.insert("w01010".into(), ValueUnit::Other);
        units.insert("w01014".into(), ValueUnit::Other);
        units.insert("w01003".into(), ValueUnit::Other);
        out.push(DemoStation {
            password: password(&mn, seed),
            station: Station {
                mn,
                name,
                st: "21".into(),
                waterbody: Some(if reservoir {
                    Waterbody::Lake
                } else {
                    Waterbody::River
                }),
                target: Some(WaterClass::II),
                unit: towns
                    .get(i % towns.len().max(1))
                    .cloned()
                    .unwrap_or_else(|| env_dept.to_string()),
                interval_secs: 300,
                units,
                emission_limits: BTreeMap::new(),
            },
            lon: 111.0 + (i % 12) as f64 * 0.06,
            lat: 32.4 + (i / 12) as f64 * 0.08,
            flag: if i % 4 == 3 { 9 } else { 5 },
        });
    }
    for i in 0..DISCHARGES {
        let mn = format!("42038132{:06}", i + 1);
        let name = format!("{}排放口{}", FIRMS[i % FIRMS.len()], i / FIRMS.len() + 1);
        let mut limits = BTreeMap::new();
        // GB 18918-2002 class 1A (the reservoir's catchment applies the strictest discharge class).
        limits.insert("w01018".to_string(), 50.0);
        limits.insert("w21003".to_string(), 5.0);
        limits.insert("w21011".to_string(), 0.5);
        let mut units = BTreeMap::new();
        units.insert("w00000".into(), ValueUnit::Other);
        units.insert("w01001".into(), ValueUnit::Other);
        out.push(DemoStation {
            password: password(&mn, seed),
            station: Station {
                mn,
                name,
                st: "32".into(),
                waterbody: None,
                target: None,
                unit: env_dept.to_string(),
                interval_secs: 300,
                units,
                emission_limits: limits,
            },
            lon: 111.3 + (i % 8) as f64 * 0.05,
            lat: 32.5 + (i / 8) as f64 * 0.04,
            flag: 5,
        });
    }
    out
}

pub fn row(d: &DemoStation) -> StationRow {
    StationRow {
        mn: d.station.mn.clone(),
        name: d.station.name.clone(),
        st: d.station.st.clone(),
        password: d.password.clone(),
        crc_mode: "standard".into(),
        unit_id: d.station.unit.clone(),
        lon: Some(d.lon),
        lat: Some(d.lat),
        config: serde_json::to_string(&d.station).unwrap_or_default(),
        last_seen_ms: None,
        last_class: None,
    }
}
