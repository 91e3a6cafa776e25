//! Monitoring end to end over real TCP: a river station crosses its target → exactly one alarm
//! case for its unit, readings as evidence, recovery recorded on it; a wrong password is refused
//! and logged with nothing stored; a bad CRC or a missing DataTime stores nothing and keeps the
//! connection; a backlog in one write is stored and answered in order.

use std::time::Duration;

use jiesu::client::Client;
use jiesu_hj212::{CrcMode, Packet};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MN: &str = "TEST21000001";
const UNIT: &str = "420381001";

fn upload(seq: u32, nh3: f64, pw: &str) -> Packet {
    let at = format!("20261123{:02}{:02}00", 8 + seq / 60, seq % 60);
    Packet {
        qn: Some(format!("{at}{seq:03}")),
        st: "21".into(),
        cn: "2011".into(),
        pw: Some(pw.into()),
        mn: MN.into(),
        flag: Some(5),
        pnum: None,
        pno: None,
        cp: vec![
            vec![("DataTime".into(), at)],
            vec![
                ("w21003-Rtd".into(), format!("{nh3}")),
                ("w21003-Flag".into(), "N".into()),
            ],
            vec![
                ("w01009-Rtd".into(), "7.9".into()),
                ("w01009-Flag".into(), "N".into()),
            ],
            vec![
                ("w01001-Rtd".into(), "7.6".into()),
                ("w01001-Flag".into(), "N".into()),
            ],
        ],
    }
}

/// Sends one packet and returns the answer, if one comes within `wait`.
async fn exchange(conn: &mut TcpStream, bytes: &[u8], wait: Duration) -> Option<Packet> {
    conn.write_all(bytes).await.unwrap();
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(wait, conn.read(&mut buf))
        .await
        .ok()?
        .ok()?;
    assert!(n > 0, "connection closed");
    Some(jiesu_hj212::parse(&buf[..n], CrcMode::Standard).expect("a valid answer"))
}

mod support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_river_station_crossing_its_target_opens_exactly_one_case() {
    crossing_the_target(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_river_station_crossing_its_target_opens_exactly_one_case() {
    if let Some(url) = support::fresh_pg_database() {
        crossing_the_target(Some(url)).await;
    }
}

async fn crossing_the_target(database: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let store = jiesu::server::open(dir.path(), database.as_deref())
        .await
        .unwrap();
    let now = jiesu_domain::calendar::to_beijing(chrono::Utc::now());
    let users = jiesu::server::build_demo(&store, dir.path(), 0, 11, now)
        .await
        .unwrap();
    let state = jiesu::server::app_state(store.clone()).await.unwrap();
    let (http, _h) = jiesu::server::spawn(state.clone(), "127.0.0.1:0")
        .await
        .unwrap();
    let (ingest, tcp) = jiesu::server::start_ingest(store.clone(), &state, "127.0.0.1:0")
        .await
        .unwrap()
        .unwrap();
    let pw = |name: &str| {
        users
            .iter()
            .find(|u| u.username == name)
            .unwrap()
            .password
            .clone()
    };
    let base = Client::new(format!("http://{http}"));
    let admin = base.login("admin", &pw("admin")).await.unwrap();
    let r = admin
        .post(
            "/api/v1/stations",
            &json!({"mn": MN, "name": "浪河口测试断面", "st": "21", "unit": UNIT,
            "waterbody": "river", "target": "II", "password": "pw1234", "interval_secs": 300}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let op = base.login("operator", &pw("operator")).await.unwrap();
    assert_eq!(
        op.post(
            "/api/v1/stations",
            &json!({"mn": "X", "name": "x", "st": "21", "unit": UNIT, "password": "p"})
        )
        .await
        .unwrap()
        .status,
        403
    );

    let mut conn = TcpStream::connect(tcp).await.unwrap();
    let ack_wait = Duration::from_secs(10);
    // Wrong password: refused, logged, nothing stored, no acknowledgement.
    let bad_pw = upload(0, 0.2, "guess").encode(CrcMode::Standard);
    assert!(
        exchange(&mut conn, bad_pw.as_bytes(), Duration::from_millis(800))
            .await
            .is_none()
    );
    assert_eq!(store.count_readings(MN).await.unwrap(), 0);
    let refusals = store.ingest_refusals(MN).await.unwrap();
    assert_eq!(refusals[0].0, "bad_password");
    // A bad CRC: nothing stored, and the connection still works afterwards.
    let mut corrupt = upload(1, 0.2, "pw1234")
        .encode(CrcMode::Standard)
        .into_bytes();
    let n = corrupt.len();
    corrupt[n - 4] = if corrupt[n - 4] == b'0' { b'1' } else { b'0' };
    assert!(
        exchange(&mut conn, &corrupt, Duration::from_millis(800))
            .await
            .is_none()
    );
    assert_eq!(store.count_readings(MN).await.unwrap(), 0);
    // An upload without a usable DataTime: refused with its reason, nothing stored, no ack.
    let mut no_time = upload(1, 0.2, "pw1234");
    no_time.cp[0][0].1 = "2026-11-23".into();
    assert!(
        exchange(
            &mut conn,
            no_time.encode(CrcMode::Standard).as_bytes(),
            Duration::from_millis(800)
        )
        .await
        .is_none()
    );
    assert_eq!(store.count_readings(MN).await.unwrap(), 0);
    assert_eq!(
        store.ingest_refusals(MN).await.unwrap().last().unwrap().0,
        "bad_data_time"
    );
    // Good data is acknowledged with 9014 after it is stored.
    let ack = exchange(
        &mut conn,
        upload(2, 0.2, "pw1234")
            .encode(CrcMode::Standard)
            .as_bytes(),
        ack_wait,
    )
    .await
    .unwrap();
    assert_eq!((ack.cn.as_str(), ack.st.as_str()), ("9014", "91"));
    assert_eq!(ack.qn, upload(2, 0.2, "pw1234").qn);
    assert_eq!(store.count_readings(MN).await.unwrap(), 3);
    // Three readings worse than class Ⅱ (NH3-N 1.2 is class Ⅳ) open one case; more add evidence.
    for seq in 3..=8 {
        exchange(
            &mut conn,
            upload(seq, 1.2, "pw1234")
                .encode(CrcMode::Standard)
                .as_bytes(),
            ack_wait,
        )
        .await
        .unwrap();
    }
    // Monitoring is read by staff in the station's scope (the admin only registers stations).
    let disp = base.login("dispatcher", &pw("dispatcher")).await.unwrap();
    let alarms = disp.get("/api/v1/alarms").await.unwrap().json();
    let alarms = alarms["items"].as_array().unwrap().clone();
    let mine: Vec<_> = alarms.iter().filter(|a| a["mn"] == MN).collect();
    assert_eq!(mine.len(), 1, "exactly one alarm: {alarms:?}");
    assert_eq!(mine[0]["problem"], "water_quality");
    let case_id = mine[0]["case_id"].as_str().unwrap().to_string();
    // Alarms are scoped by the station's unit: the street's handler sees this one, a grid
    // worker of another street none of the street's.
    let of = |v: serde_json::Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["mn"] == MN)
            .count()
    };
    let hs = base.login("handler_s01", &pw("handler_s01")).await.unwrap();
    assert_eq!(of(hs.get("/api/v1/alarms").await.unwrap().json()), 1);
    let grid2 = base
        .login("grid_42038100200101", &pw("grid_42038100200101"))
        .await
        .unwrap();
    assert_eq!(of(grid2.get("/api/v1/alarms").await.unwrap().json()), 0);
    let case = disp
        .get(&format!("/api/v1/cases/{case_id}"))
        .await
        .unwrap()
        .json();
    assert_eq!(case["kind"], "alarm");
    assert_eq!(case["channel"], "monitor");
    assert_eq!(case["state"], "dispatched");
    assert_eq!(
        case["assigned_unit"]["id"], UNIT,
        "routed to the station's unit"
    );
    assert!(
        case["description"].as_str().unwrap().contains("w21003"),
        "{}",
        case["description"]
    );
    // Recovery is recorded on the same case, and the alarm closes.
    exchange(
        &mut conn,
        upload(9, 0.3, "pw1234")
            .encode(CrcMode::Standard)
            .as_bytes(),
        ack_wait,
    )
    .await
    .unwrap();
    let t = disp
        .get(&format!("/api/v1/cases/{case_id}/timeline"))
        .await
        .unwrap()
        .json();
    let notes: Vec<String> = t["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "annotated")
        .map(|e| e["data"]["text"].as_str().unwrap().to_string())
        .collect();
    let evidence = notes.iter().filter(|n| n.starts_with("监测证据")).count();
    assert_eq!(evidence, 3, "readings 6, 7 and 8 are evidence: {notes:?}");
    assert!(notes.last().unwrap().starts_with("监测恢复"), "{notes:?}");
    let open = disp.get("/api/v1/alarms?open=true").await.unwrap().json();
    assert!(
        open["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["mn"] != MN)
    );
    // A new exceedance later is a new alarm and a new case.
    for seq in 10..=12 {
        exchange(
            &mut conn,
            upload(seq, 1.6, "pw1234")
                .encode(CrcMode::Standard)
                .as_bytes(),
            ack_wait,
        )
        .await
        .unwrap();
    }
    let all = disp.get("/api/v1/alarms").await.unwrap().json();
    assert_eq!(
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["mn"] == MN)
            .count(),
        2
    );
    // The console's views (station status is flushed every few seconds; force it).
    ingest.flush_status().await;
    let st = disp.get("/api/v1/stations").await.unwrap().json();
    let me = st["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["mn"] == MN)
        .unwrap()
        .clone();
    assert_eq!(me["target_class"], "II");
    assert_eq!(me["latest_class"], "V", "NH3-N 1.6 is class Ⅴ");
    assert_eq!(me["status"], "online");
    assert_eq!(me["open_alarms"], json!(["water_quality"]));
    assert!(me.get("password").is_none());
    let r = disp.get(&format!("/api/v1/stations/{MN}/readings?factor=w21003&from=2026-11-23T00:00:00%2B08:00&to=2026-11-24T00:00:00%2B08:00")).await.unwrap().json();
    let vals: Vec<f64> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_f64().unwrap())
        .collect();
    assert_eq!(vals.len(), 11);
    assert_eq!(vals[0], 0.2);
    assert_eq!(
        disp.get("/api/v1/stations/NOPE/readings")
            .await
            .unwrap()
            .status,
        404
    );
    // Hourly classes from hourly means: 08:00–09:00 held readings 0.2 … 1.6 mg/L NH3-N.
    let c = disp.get(&format!("/api/v1/stations/{MN}/classes?period=hour&from=2026-11-23T00:00:00%2B08:00&to=2026-11-24T00:00:00%2B08:00")).await.unwrap().json();
    let items = c["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{c}");
    assert_eq!(items[0]["start"], "2026-11-23T08:00:00+08:00");
    let mean = items[0]["means"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["factor"] == "w21003")
        .unwrap()["mean"]
        .as_f64()
        .unwrap();
    let expected = (0.2 + 1.2 * 6.0 + 0.3 + 1.6 * 3.0) / 11.0;
    assert!((mean - expected).abs() < 1e-9, "{mean} vs {expected}");
    assert_eq!(items[0]["class"], "IV");
    assert_eq!(items[0]["meets_target"], false);
    // Retention deletes readings, never the trail: the log still verifies.
    assert!(store.purge_readings(i64::MAX).await.unwrap() >= 11);
    assert_eq!(store.count_readings(MN).await.unwrap(), 0);
    let report = store.verify().await.unwrap();
    assert_eq!(report.first_broken, None);
    assert!(report.cases >= 2);

    // A backlog (补发) in one write, with a time request in the middle: every upload stored,
    // every answer in the order of the requests.
    let mut backlog = Vec::new();
    let mut expected = Vec::new();
    for seq in 100..120u32 {
        if seq == 110 {
            let mut req = upload(seq, 0.2, "pw1234");
            req.cn = "1013".into();
            req.cp = vec![];
            req.qn = Some("20261123100000999".into());
            backlog.extend_from_slice(req.encode(CrcMode::Standard).as_bytes());
            expected.push(("9013".to_string(), "20261123100000999".to_string()));
        }
        let p = upload(seq, 0.2, "pw1234");
        expected.push(("9014".to_string(), p.qn.clone().unwrap()));
        backlog.extend_from_slice(p.encode(CrcMode::Standard).as_bytes());
    }
    conn.write_all(&backlog).await.unwrap();
    let mut decoder = jiesu_hj212::Decoder::new();
    let mut answers = Vec::new();
    let mut buf = vec![0u8; 4096];
    while answers.len() < expected.len() {
        let n = tokio::time::timeout(ack_wait, conn.read(&mut buf))
            .await
            .expect("answers within the wait")
            .unwrap();
        assert!(n > 0, "connection closed");
        decoder.push(&buf[..n]);
        while let Some(jiesu_hj212::Frame::Packet(bytes)) = decoder.next_frame() {
            let a = jiesu_hj212::parse(&bytes, CrcMode::Standard).unwrap();
            answers.push((a.cn, a.qn.unwrap_or_default()));
        }
    }
    assert_eq!(answers, expected);
    assert_eq!(store.count_readings(MN).await.unwrap(), 20 * 3);
}
