//! Routing suggestions end to end, over a demo county with a history of closed cases: where
//! (grid, community), what and who (categories and units with confidence), and open cases
//! nearby saying the same; refusals; admin rules. On SQLite and on PostgreSQL.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use jiesu::client::Client;
use jiesu::demo_places::PlaceKind;
use serde_json::{Value, json};
use support::Node;

const BIN: &str = env!("CARGO_BIN_EXE_jiesu");

/// A road of the demo county with the names of its grid, community and street.
fn a_road() -> (String, String, String, String) {
    let county = jiesu::demo::build_county(7);
    let p = county
        .places
        .iter()
        .find(|p| p.kind == PlaceKind::Road && !p.name.ends_with('巷'))
        .expect("a road");
    let g = &county.grids[p.grid];
    let name = |id: &jiesu_domain::UnitId| {
        county
            .units
            .iter()
            .find(|u| &u.id == id)
            .map(|u| u.name.clone())
            .unwrap()
    };
    (
        p.name.clone(),
        g.id.to_string(),
        name(&g.community),
        name(&g.street),
    )
}

async fn suggest(c: &Client, body: Value) -> Value {
    let r = c.post("/api/v1/routing/suggest", &body).await.unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

/// Waits for the node's first training.
async fn trained(c: &Client) {
    let t = Instant::now();
    while suggest(c, json!({"title": "x"})).await["trained"] != true {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "not trained within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn suggestions(database: Option<String>) -> (Node, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap().keep();
    let node = Node::start_with_history(dir.clone(), database, "r", None, 1500);
    let op = node.login("operator").await;
    trained(&op).await;
    let (road, grid, community, street) = a_road();

    // A street-vending complaint in words no demo case uses, at a road of the county.
    let v = suggest(
        &op,
        json!({"title": format!("{road}有人摆摊卖菜"), "description": "早上七点开始占道经营，车辆过不去",
               "address": format!("丹江口市{street}{community}{road}18号")}),
    )
    .await;
    assert_eq!(v["grid"]["id"], grid.as_str(), "{v}");
    assert_eq!(v["community"]["name"], community.as_str(), "{v}");
    let cats: Vec<&str> = v["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(
        cats.len() <= 3 && cats.contains(&"urban.street_vending"),
        "{v}"
    );
    let units = v["units"].as_array().unwrap();
    assert!(!units.is_empty() && units.len() <= 3, "{v}");
    for u in units.iter().chain(v["categories"].as_array().unwrap()) {
        let c = u["confidence"].as_f64().unwrap();
        assert!(c > 0.0 && c <= 1.0 && u["name"].is_string(), "{u}");
    }
    assert!(v["manual"].is_boolean());
    // Half a point is no point: answered, without a place from it.
    let v = suggest(&op, json!({"title": "x", "lon": 111.5})).await;
    assert!(v["grid"].is_null(), "{v}");
    // Nothing to go on: no place, and no confident unit.
    let v = suggest(&op, json!({"title": "咨询", "description": ""})).await;
    assert!(v["grid"].is_null() && v["community"].is_null(), "{v}");

    // Duplicates: an open case at a point; the same complaint 50 m away is offered it, 1 km away
    // or about something else is not.
    let units = op.get("/api/v1/units?geometry=true").await.unwrap().json();
    let g = units["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == grid.as_str())
        .unwrap()
        .clone();
    let ring = g["geometry"]["coordinates"][0].as_array().unwrap();
    let n = (ring.len() - 1) as f64;
    let (lon, lat) = ring[..ring.len() - 1].iter().fold((0.0, 0.0), |(x, y), p| {
        (
            x + p[0].as_f64().unwrap() / n,
            y + p[1].as_f64().unwrap() / n,
        )
    });
    let first = op
        .post(
            "/api/v1/cases",
            &json!({"kind": "complaint", "category": "urban.manhole", "title": "路口井盖破损松动",
                    "description": "路口井盖破损松动，车辆经过响声很大，行人容易踩空",
                    "location": {"lon": lon, "lat": lat},
                    "reporter": {"name": "赵先生", "phone": "13722223333"}}),
        )
        .await
        .unwrap()
        .json();
    let near = |dlat: f64, title: &str, description: &str| json!({"title": title, "description": description, "lon": lon, "lat": lat + dlat});
    // 0.00045° of latitude is 50 m.
    let v = suggest(
        &op,
        near(0.00045, "井盖破损", "路口的井盖破损松动了，有人踩空"),
    )
    .await;
    let dup = v["duplicates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == first["id"])
        .unwrap_or_else(|| panic!("not offered: {v}"))
        .clone();
    let m = dup["distance_m"].as_f64().unwrap();
    assert!((40.0..=60.0).contains(&m), "{dup}");
    assert!(dup["similarity"].as_f64().unwrap() >= 0.2, "{dup}");
    assert_eq!(dup["number"], first["number"]);
    let far = suggest(
        &op,
        near(0.009, "井盖破损", "路口的井盖破损松动了，有人踩空"),
    )
    .await;
    assert!(
        !far["duplicates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["id"] == first["id"]),
        "1 km away: {far}"
    );
    let other = suggest(&op, near(0.00045, "广场舞音响太吵", "每晚跳舞音响声音很大")).await;
    assert!(
        !other["duplicates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["id"] == first["id"]),
        "another complaint: {other}"
    );

    // Refusals.
    let citizen = node.login("citizen01").await;
    let r = citizen
        .post("/api/v1/routing/suggest", &json!({"title": "x"}))
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (403, json!("role_forbidden"))
    );
    for bad in [
        json!({"title": "长".repeat(101)}),
        json!({"title": "x", "lon": 500.0, "lat": 32.0}),
    ] {
        let r = op.post("/api/v1/routing/suggest", &bad).await.unwrap();
        assert_eq!(r.status, 422, "{bad}: {}", String::from_utf8_lossy(&r.body));
    }
    let r = op
        .post(
            "/api/v1/routing/suggest",
            &json!({"description": "no title"}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 422, "a body without a title");
    (node, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_suggestions_and_rules() {
    let (node, dir) = suggestions(None).await;
    node.stop();
    // An admin's rule puts its category and unit first, from the next training on.
    let rules = dir.join("rules.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nwords = [\"无人机\"]\ncategory = \"urban.noise\"\nunit = \"420381D02\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("bad-rules.toml"),
        "[[rule]]\nwords = [\"x\"]\nunit = \"nowhere\"\n",
    )
    .unwrap();
    let run = |file: &std::path::Path| {
        Command::new(BIN)
            .args([
                "routing",
                "rules",
                file.to_str().unwrap(),
                "--data-dir",
                dir.to_str().unwrap(),
            ])
            .output()
            .unwrap()
    };
    let out = run(&dir.join("bad-rules.toml"));
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("nowhere"));
    let out = run(&rules);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let node = Node::start(dir.clone(), None, "r2", None);
    let op = node.login("operator").await;
    trained(&op).await;
    let v = suggest(
        &op,
        json!({"title": "小区上空无人机夜间盘旋", "description": ""}),
    )
    .await;
    assert_eq!(v["categories"][0]["id"], "urban.noise", "{v}");
    assert_eq!(v["categories"][0]["by_rule"], true);
    assert_eq!(v["units"][0]["id"], "420381D02", "{v}");
    assert_eq!(v["manual"], false);
    node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_suggestions() {
    if let Some(url) = support::fresh_pg_database() {
        let (node, _) = suggestions(Some(url)).await;
        node.stop();
    }
}
