//! Grids and the gazetteer imported from files while a node serves: the node takes them up at
//! once, places located reports by the new grid and address-only reports by the new place, and
//! the list and search filter by them. On SQLite and on PostgreSQL.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use jiesu::client::Client;
use serde_json::{Value, json};
use support::Node;

const BIN: &str = env!("CARGO_BIN_EXE_jiesu");
const COMM1: &str = "420381001001";

fn jiesu(args: &[&str], database: Option<&str>) -> (bool, String) {
    let mut c = Command::new(BIN);
    c.args(args);
    if let Some(db) = database {
        c.args(["--database", db]);
    }
    let out = c.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

async fn until(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let t = Instant::now();
    while !f().await {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{what}: not within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn list_numbers(c: &Client, q: &str) -> Vec<String> {
    let v = c.get(&format!("/api/v1/cases?{q}")).await.unwrap().json();
    assert!(v["items"].is_array(), "{q}: {v}");
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["number"].as_str().unwrap().to_string())
        .collect()
}

async fn imports_reach_a_serving_node(database: Option<String>) {
    let dir = tempfile::tempdir().unwrap().keep();
    let node = Node::start(dir.clone(), database.clone(), "a", None);
    let db = database.as_deref();
    let data_dir = dir.to_str().unwrap();
    let grid = "420381001001T1";
    let geojson = json!({"type": "FeatureCollection", "features": [{
        "type": "Feature",
        "properties": {"id": grid, "name": "测试导入网格", "parent": COMM1},
        "geometry": {"type": "Polygon", "coordinates": [[[110.0, 31.0], [110.01, 31.0], [110.01, 31.01], [110.0, 31.01], [110.0, 31.0]]]}
    }]});
    let file = dir.join("grids.geojson");
    std::fs::write(&file, geojson.to_string()).unwrap();
    // A bad file is refused whole, naming the feature; nothing is written.
    let bad = dir.join("bad.geojson");
    std::fs::write(
        &bad,
        json!({"type": "FeatureCollection", "features": [
            geojson["features"][0].clone(),
            {"type": "Feature", "properties": {"id": "X2", "name": "无上级", "parent": "nowhere"},
             "geometry": geojson["features"][0]["geometry"].clone()}
        ]})
        .to_string(),
    )
    .unwrap();
    let (ok, out) = jiesu(
        &[
            "import",
            "grids",
            bad.to_str().unwrap(),
            "--data-dir",
            data_dir,
        ],
        db,
    );
    assert!(
        !ok && out.contains("feature 2") && out.contains("nowhere"),
        "{out}"
    );
    let (ok, out) = jiesu(
        &[
            "import",
            "grids",
            file.to_str().unwrap(),
            "--data-dir",
            data_dir,
        ],
        db,
    );
    assert!(ok, "{out}");
    assert!(out.contains("imported 1 grids"), "{out}");

    let admin = node.login("admin").await;
    let op = node.login("operator").await;
    let disp = node.login("dispatcher").await;
    until("the node knows the new grid", async || {
        let r = disp
            .get(&format!("/api/v1/cases?grid={grid}"))
            .await
            .unwrap();
        r.status == 200
    })
    .await;
    let located = op
        .post(
            "/api/v1/cases",
            &json!({"kind": "complaint", "category": "urban.street_vending", "title": "新网格内占道经营",
                    "description": "网格内有人占道经营", "location": {"lon": 110.005, "lat": 31.005},
                    "reporter": {"name": "李女士", "phone": "13711112222"}}),
        )
        .await
        .unwrap()
        .json();
    let located_no = located["number"].as_str().unwrap().to_string();
    assert_eq!(
        list_numbers(&disp, &format!("grid={grid}")).await,
        vec![located_no.clone()]
    );

    // The gazetteer: a place in the new grid; an address naming it places a case with no point.
    let places = dir.join("places.json");
    std::fs::write(
        &places,
        json!([
            {"name": "测试导入小区", "kind": "compound", "unit": grid},
            {"name": "均州路街道", "kind": "street", "unit": "420381001"}
        ])
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("bad-places.json"),
        r#"[{"name": "x", "kind": "moon", "unit": "u"}]"#,
    )
    .unwrap();
    let (ok, out) = jiesu(
        &[
            "import",
            "places",
            dir.join("bad-places.json").to_str().unwrap(),
            "--data-dir",
            data_dir,
        ],
        db,
    );
    assert!(
        !ok && out.contains("place 1") && out.contains("moon"),
        "{out}"
    );
    let (ok, out) = jiesu(
        &[
            "import",
            "places",
            places.to_str().unwrap(),
            "--data-dir",
            data_dir,
        ],
        db,
    );
    assert!(ok && out.contains("2 places"), "{out}");
    let mut addressed_no = String::new();
    until("the node reads addresses against the new gazetteer", async || {
        let c: Value = op
            .post(
                "/api/v1/cases",
                &json!({"kind": "complaint", "category": "urban.street_vending", "title": "小区门口垃圾堆放",
                        "description": "垃圾无人清运", "address": "丹江口市均州路街道测试导入花园5栋",
                        "reporter": {"name": "李女士", "phone": "13711113333"}}),
            )
            .await
            .unwrap()
            .json();
        addressed_no = c["number"].as_str().unwrap().to_string();
        list_numbers(&disp, &format!("grid={grid}")).await.contains(&addressed_no)
    })
    .await;
    // Search filters by the place the same way.
    until("search finds it by place", async || {
        let v = disp
            .get(&format!("/api/v1/search?q=%E5%9E%83%E5%9C%BE&grid={grid}"))
            .await
            .unwrap()
            .json();
        v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["number"] == addressed_no.as_str())
    })
    .await;
    // Both changes are in the audit trail.
    let audit = admin.get("/api/v1/audit?limit=50").await.unwrap().json();
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"grids_imported") && actions.contains(&"places_replaced"),
        "{actions:?}"
    );
    node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_imports_reach_a_serving_node() {
    imports_reach_a_serving_node(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_imports_reach_a_serving_node() {
    if let Some(url) = support::fresh_pg_database() {
        imports_reach_a_serving_node(Some(url)).await;
    }
}
