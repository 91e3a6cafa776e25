//! The limits in code against GB 3838-2002 Table 1 as transcribed in tests/data/gb3838.tsv (a copy
//! of shared/reference/gb3838.tsv): at every limit the class is that class (limits inclusive),
//! just beyond it the next worse one.

use jiesu_monitor::gb3838::{WaterClass, Waterbody, classify_factor, limit};

fn code_of(note: &str) -> Option<&str> {
    let i = note.find("HJ 212 code ")?;
    let rest = &note[i + 12..];
    Some(&rest[..6])
}

#[test]
fn every_graded_row_of_table_1() {
    let text = include_str!("data/gb3838.tsv");
    let mut checked = 0;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let (item, direction, note) = (f[0], f[2], f[8]);
        if direction != "max" && direction != "min" {
            continue;
        }
        // Table 2 items, TN and fecal coliform do not take part in the class.
        if note.contains("Table 2")
            || item.starts_with("total_nitrogen")
            || item.starts_with("fecal")
        {
            continue;
        }
        let Some(code) = code_of(note) else { continue };
        let key = item.split_whitespace().next().unwrap_or(item);
        let waterbody = if key.ends_with("lake_reservoir") {
            Waterbody::Lake
        } else {
            Waterbody::River
        };
        let limits: Vec<f64> = f[3..8].iter().map(|v| v.parse().unwrap()).collect();
        for (k, lim) in limits.iter().enumerate() {
            let class = WaterClass::ALL[k];
            // A value exactly at the limit is at least that good (shared limits resolve better).
            let got = classify_factor(code, *lim, waterbody).unwrap();
            assert!(
                got <= class,
                "{item} {code} at {lim}: {got:?} should be {class:?} or better"
            );
            assert_eq!(
                limit(code, class, waterbody),
                Some(*lim),
                "{item} {class:?}"
            );
        }
        let worst = limits[4];
        let beyond = if direction == "max" {
            worst * 1.001
        } else {
            worst * 0.999
        };
        assert_eq!(
            classify_factor(code, beyond, waterbody),
            Some(WaterClass::WorseThanV),
            "{item}"
        );
        checked += 1;
    }
    assert_eq!(
        checked, 21,
        "DO, CODMn, COD, BOD5, NH3-N, TP×2, Cu, Zn, F, Se, As, Hg, Cd, Cr6+, Pb, CN, phenol, oil, LAS, sulfide"
    );
}
