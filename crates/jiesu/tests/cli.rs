//! The command-line contracts: calendar, HJ 212 parsing, water classes.

use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_jiesu");

fn run(args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn calendar_days_and_add() {
    let (ok, out, _) = run(&["calendar", "days", "2026-09-30", "2026-10-10"], "");
    assert!(ok);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 11);
    assert_eq!(lines[0], "2026-09-30 workday");
    assert!(lines[1].starts_with("2026-10-01 restday"), "{}", lines[1]);
    assert!(lines[1].contains("国庆节"));
    assert!(
        lines[10].starts_with("2026-10-10 workday"),
        "make-up Saturday: {}",
        lines[10]
    );
    let (ok, out, _) = run(
        &[
            "calendar",
            "add",
            "--from",
            "2026-09-30T16:00:00+08:00",
            "--working-days",
            "5",
        ],
        "",
    );
    assert!(ok);
    assert_eq!(out.trim(), "2026-10-13T16:00:00+08:00");
    let (ok, out, _) = run(
        &[
            "calendar",
            "add",
            "--from",
            "2026-09-30T17:00:00+08:00",
            "--working-hours",
            "2",
        ],
        "",
    );
    assert!(ok);
    // Half an hour on 30 September, then 1.5 h after the Golden Week.
    assert_eq!(out.trim(), "2026-10-08T10:00:00+08:00");
    // A year without data is refused, with a reason, not guessed.
    let (ok, _, err) = run(&["calendar", "days", "2027-01-01", "2027-01-02"], "");
    assert!(!ok);
    assert!(err.contains("2027"), "{err}");
}

#[test]
fn hj212_parse_prints_one_json_object_per_line() {
    let text = include_str!("../../hj212/tests/data/hj212_vectors.tsv");
    let packets: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(1).unwrap())
        .collect();
    let input = packets.join("\n") + "\n\n";
    let (ok, out, _) = run(&["hj212", "parse"], &input);
    assert!(ok);
    let results: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        results.len(),
        packets.len(),
        "blank lines are skipped, every packet answered"
    );
    let first = &results[0];
    assert_eq!(first["ok"], true);
    assert_eq!(first["st"], "32");
    assert_eq!(first["cn"], "1062");
    assert_eq!(first["mn"], "010000A8900016F000169DC0");
    assert_eq!(first["flag"], 5);
    assert_eq!(first["cp"]["RtdInterval"], "30");
    assert_eq!(results[1]["ok"], false);
    assert_eq!(results[1]["error"], "crc_mismatch");
    let oks = results.iter().filter(|r| r["ok"] == true).count();
    assert_eq!(oks, 20, "26 vectors, 6 known-bad");
    // Other refusals by name.
    let (_, out, _) = run(
        &["hj212", "parse"],
        "xx0101QN=1\n##0010QN=1;ST=32;CN=1;MN=m;CP=&&&&FFFF\n",
    );
    let errs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(errs[0]["error"], "bad_header");
    assert_eq!(errs[1]["error"], "length_mismatch");
    // Known MODBUS-swapped devices parse when asked to.
    let swapped: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("MODBUS byte-swapped"))
        .map(|l| l.split('\t').nth(1).unwrap())
        .collect();
    let (_, out, _) = run(
        &["hj212", "parse", "--crc", "modbus_swapped"],
        &swapped.join("\n"),
    );
    assert!(out.lines().all(|l| l.contains("\"ok\":true")), "{out}");
}

#[test]
fn water_classify_contract() {
    let (ok, out, _) = run(
        &[
            "water",
            "classify",
            "--waterbody",
            "river",
            "w21003=1.2",
            "w01009=5.5",
        ],
        "",
    );
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v, serde_json::json!({"class": "IV", "worst": ["w21003"]}));
    let (_, out, _) = run(
        &["water", "classify", "--waterbody", "lake", "w21011=0.12"],
        "",
    );
    assert!(out.contains("\"V\""), "{out}");
    let (_, out, _) = run(&["water", "classify", "w01009=1.5", "w21003=0.1"], "");
    assert!(out.contains("劣V") && out.contains("w01009"), "{out}");
    let (ok, _, err) = run(&["water", "classify", "w21003=abc"], "");
    assert!(!ok && err.contains("not a number"), "{err}");
}

#[test]
fn stations_import_checks_units_then_registers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = Command::new(BIN)
        .args(["demo", "--data-dir", d, "--cases", "0", "--no-serve"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let good = dir.path().join("stations.json");
    std::fs::write(&good, r#"[{"mn":"IMP0001","name":"官山河入库口","st":"21","unit":"420381004","password":"p1","waterbody":"river","target":"II"},
        {"mn":"IMP0002","name":"汉江纸业排放口","st":"32","unit":"420381D05","password":"p2","emission_limits":{"w01018":50},"crc_mode":"modbus"}]"#).unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"[{"mn":"IMP9","name":"x","st":"21","unit":"nowhere","password":"p"}]"#,
    )
    .unwrap();
    let (ok, _, err) = run(
        &["stations", "import", bad.to_str().unwrap(), "--data-dir", d],
        "",
    );
    assert!(!ok && err.contains("unknown unit"), "{err}");
    let (ok, out, err) = run(
        &[
            "stations",
            "import",
            good.to_str().unwrap(),
            "--data-dir",
            d,
        ],
        "",
    );
    assert!(ok, "{err}");
    assert!(out.contains("imported 2 stations"));
}
