//! `jiesu simulate stations`: plays the demo's stations over real TCP, with realistic values,
//! occasional exceedances, instrument faults and silences. Deterministic for a seed.

use std::time::Duration;

use jiesu_hj212::{CrcMode, Packet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::rng::Rng;
use crate::stations::DemoStation;

#[derive(Debug, Clone)]
pub struct SimOptions {
    pub to: String,
    pub interval: Duration,
    /// Stop after this long (None: run until killed).
    pub duration: Option<Duration>,
    pub seed: u64,
}

/// One upload as a device would send it.
pub fn upload(
    st: &DemoStation,
    at: chrono::DateTime<chrono::FixedOffset>,
    values: &[(&str, f64, &str)],
    qn_seq: u64,
) -> Packet {
    let mut cp = vec![vec![(
        "DataTime".to_string(),
        at.format("%Y%m%d%H%M%S").to_string(),
    )]];
    for (code, v, flag) in values {
        cp.push(vec![
            (format!("{code}-Rtd"), format!("{v:.3}")),
            (format!("{code}-Flag"), flag.to_string()),
        ]);
    }
    Packet {
        qn: Some(format!("{}{:03}", at.format("%Y%m%d%H%M%S"), qn_seq % 1000)),
        st: st.station.st.clone(),
        cn: "2011".into(),
        pw: Some(st.password.clone()),
        mn: st.station.mn.clone(),
        flag: Some(st.flag),
        pnum: None,
        pno: None,
        cp,
    }
}

/// Values for one tick: mostly class Ⅱ or better, with episodes.
fn values(
    st: &DemoStation,
    rng: &mut Rng,
    state: &mut Episode,
) -> Vec<(&'static str, f64, &'static str)> {
    let flag = if state.fault > 0 { "D" } else { "N" };
    let jitter = |rng: &mut Rng, base: f64, spread: f64| base + (rng.float() - 0.5) * 2.0 * spread;
    if st.station.st == "21" {
        let bad = state.exceed > 0;
        let lake = st.station.waterbody == Some(jiesu_monitor::Waterbody::Lake);
        vec![
            ("w01001", jitter(rng, 7.6, 0.3), flag),
            (
                "w01009",
                jitter(rng, if bad { 5.2 } else { 8.1 }, 0.4),
                flag,
            ),
            ("w01010", jitter(rng, 16.0, 2.0), flag),
            ("w01014", jitter(rng, 320.0, 30.0), flag),
            ("w01003", jitter(rng, 6.0, 3.0).max(0.1), flag),
            (
                "w01019",
                jitter(rng, if bad { 5.1 } else { 2.1 }, 0.4),
                flag,
            ),
            (
                "w21003",
                jitter(rng, if bad { 1.15 } else { 0.18 }, 0.06).max(0.01),
                flag,
            ),
            // Reservoir sections meet the stricter lake TP column (Ⅱ: 0.025 mg/L).
            (
                "w21011",
                jitter(
                    rng,
                    if bad {
                        0.16
                    } else if lake {
                        0.015
                    } else {
                        0.04
                    },
                    0.005,
                )
                .max(0.001),
                flag,
            ),
            ("w21001", jitter(rng, 1.1, 0.2), flag),
        ]
    } else {
        let bad = state.exceed > 0;
        vec![
            ("w00000", jitter(rng, 42.0, 8.0).max(0.0), flag),
            ("w01001", jitter(rng, 7.2, 0.3), flag),
            (
                "w01018",
                jitter(rng, if bad { 68.0 } else { 28.0 }, 5.0),
                flag,
            ),
            (
                "w21003",
                jitter(rng, if bad { 6.5 } else { 1.8 }, 0.5),
                flag,
            ),
            ("w21011", jitter(rng, 0.25, 0.05), flag),
        ]
    }
}

#[derive(Default)]
struct Episode {
    exceed: u32,
    fault: u32,
    silent: u32,
}

/// Runs every station on its own connection until `duration` elapses.
pub async fn run(stations: Vec<DemoStation>, opts: SimOptions) -> anyhow::Result<u64> {
    let mut tasks = Vec::new();
    for (i, st) in stations.into_iter().enumerate() {
        let opts = opts.clone();
        tasks.push(tokio::spawn(async move {
            station_loop(st, opts, i as u64).await
        }));
    }
    let mut sent = 0;
    for t in tasks {
        sent += t.await.unwrap_or(0);
    }
    Ok(sent)
}

async fn station_loop(st: DemoStation, opts: SimOptions, i: u64) -> u64 {
    let mut rng = Rng::new(opts.seed ^ (i.wrapping_mul(0x9E37_79B9)));
    let start = tokio::time::Instant::now();
    let mut ep = Episode::default();
    let mut sent = 0u64;
    let mut conn: Option<TcpStream> = None;
    // Stagger the stations across the interval.
    tokio::time::sleep(opts.interval.mul_f64(rng.float())).await;
    let mut tick = tokio::time::interval(opts.interval);
    loop {
        tick.tick().await;
        if opts.duration.is_some_and(|d| start.elapsed() >= d) {
            return sent;
        }
        // Start an episode now and then: a pollution event, an instrument fault, a silence.
        if ep.exceed == 0 && ep.fault == 0 && ep.silent == 0 {
            match rng.below(1000) {
                0..=7 => ep.exceed = 4 + rng.below(8) as u32,
                8..=10 => ep.fault = 3 + rng.below(10) as u32,
                11 => ep.silent = 5 + rng.below(10) as u32,
                _ => {}
            }
        }
        if ep.silent > 0 {
            ep.silent -= 1;
            continue;
        }
        let now = jiesu_domain::calendar::to_beijing(chrono::Utc::now());
        let vals = values(&st, &mut rng, &mut ep);
        ep.exceed = ep.exceed.saturating_sub(1);
        ep.fault = ep.fault.saturating_sub(1);
        let bytes = upload(&st, now, &vals, sent).encode(CrcMode::Standard);
        if conn.is_none() {
            conn = TcpStream::connect(&opts.to).await.ok();
        }
        let Some(c) = conn.as_mut() else { continue };
        if c.write_all(bytes.as_bytes()).await.is_err() {
            conn = None;
            continue;
        }
        sent += 1;
        // Flag 5 and 9 ask for a 9014 acknowledgement: wait for it briefly.
        let mut ack = [0u8; 256];
        if tokio::time::timeout(Duration::from_secs(5), c.read(&mut ack))
            .await
            .map_or(true, |r| matches!(r, Ok(0) | Err(_)))
        {
            conn = None;
        }
    }
}
