//! Monitoring benchmarks: codec + classification throughput on one core, TCP ingest from many
//! connections (every acknowledged packet must be stored), and alarm latency.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiesu_hj212::{CrcMode, Packet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::stations::DemoStation;

fn surface_packet(i: usize) -> Packet {
    let st = &crate::stations::demo_stations(1, &[], "")[i % crate::stations::RIVERS];
    let at = jiesu_domain::calendar::to_beijing(chrono::Utc::now());
    let nh3 = [0.12, 0.45, 1.2, 0.3][i % 4];
    crate::simulate::upload(
        st,
        at,
        &[
            ("w01001", 7.6, "N"),
            ("w01009", 7.9, "N"),
            ("w01010", 16.2, "N"),
            ("w01014", 318.0, "N"),
            ("w01003", 5.2, "N"),
            ("w01019", 2.3, "N"),
            ("w21003", nh3, "N"),
            ("w21011", 0.05, "N"),
            ("w21001", 1.1, "N"),
        ],
        i as u64,
    )
}

/// The station class of one packet: valid data time, each factor's real-time value judged only
/// when its flag is normal, the worst class wins. The ingest's path without its allocations.
pub fn class_of(p: &jiesu_hj212::PacketRef<'_>) -> Option<jiesu_monitor::WaterClass> {
    crate::ingest::data_time_ms(p.cp_value("DataTime")?)?;
    let mut class = None;
    let mut start = 0;
    for &end in &p.item_ends {
        let item = &p.pairs[start..end];
        start = end;
        let mut value = None;
        let mut normal = true;
        let mut code = "";
        for (k, v) in item {
            if let Some((c, field)) = k.split_once('-') {
                code = c;
                match field {
                    "Rtd" => value = v.parse::<f64>().ok(),
                    "Flag" => normal = matches!(*v, "N" | "S"),
                    _ => {}
                }
            }
        }
        if let (Some(v), true) = (value, normal)
            && let Some(c) =
                jiesu_monitor::classify_factor(code, v, jiesu_monitor::Waterbody::River)
        {
            class = class.max(Some(c));
        }
    }
    class
}

/// Parse + validate (framing, length, CRC, fields, CP) + classify, single thread.
pub fn codec(seconds: u64) -> (u64, f64) {
    let packets: Vec<Vec<u8>> = (0..64)
        .map(|i| surface_packet(i).encode(CrcMode::Standard).into_bytes())
        .collect();
    let start = Instant::now();
    let mut n = 0u64;
    let mut classes = 0u64;
    while start.elapsed() < Duration::from_secs(seconds) {
        for p in &packets {
            let Ok(pkt) = jiesu_hj212::parse_ref(p, CrcMode::Standard) else {
                continue;
            };
            if class_of(&pkt).is_some() {
                classes += 1;
            }
            n += 1;
        }
    }
    assert_eq!(classes, n, "every packet was classified");
    (n, start.elapsed().as_secs_f64())
}

pub struct IngestReport {
    pub acked: u64,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// `connections` devices, each sending its next packet as soon as the 9014 arrives.
pub async fn ingest(
    addr: std::net::SocketAddr,
    stations: Vec<DemoStation>,
    seconds: u64,
) -> IngestReport {
    let acked = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (i, st) in stations.into_iter().enumerate() {
        let acked = acked.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let Ok(mut c) = TcpStream::connect(addr).await else {
                return lat;
            };
            let _ = c.set_nodelay(true);
            let mut buf = vec![0u8; 512];
            let mut seq = 0u64;
            let base = jiesu_domain::calendar::to_beijing(chrono::Utc::now());
            while Instant::now() < deadline {
                // Distinct data times per packet: each is a new set of readings to store.
                let at =
                    base - chrono::Duration::seconds((seq * 1000 + i as u64) as i64 % 86_400_000);
                let vals = [
                    ("w01001", 7.5, "N"),
                    ("w01009", 8.0, "N"),
                    ("w21003", 0.2, "N"),
                    ("w21011", 0.04, "N"),
                    ("w01019", 2.0, "N"),
                ];
                let bytes = crate::simulate::upload(&st, at, &vals, seq).encode(CrcMode::Standard);
                seq += 1;
                let t = Instant::now();
                if c.write_all(bytes.as_bytes()).await.is_err() {
                    break;
                }
                match tokio::time::timeout(Duration::from_secs(30), c.read(&mut buf)).await {
                    Ok(Ok(n)) if n > 0 => {
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => break,
                }
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        if let Ok(v) = t.await {
            all.extend(v);
        }
    }
    all.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| {
        if all.is_empty() {
            0.0
        } else {
            all[((all.len() - 1) as f64 * p) as usize]
        }
    };
    IngestReport {
        acked: acked.load(Ordering::Relaxed),
        seconds: start.elapsed().as_secs_f64(),
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_class_agrees_with_the_full_classification() {
        for i in 0..64 {
            let bytes = surface_packet(i).encode(CrcMode::Standard).into_bytes();
            let fast = class_of(&jiesu_hj212::parse_ref(&bytes, CrcMode::Standard).unwrap());
            let p = jiesu_hj212::parse(&bytes, CrcMode::Standard).unwrap();
            let (_, sample) = crate::ingest::sample_of(&p).unwrap();
            let vals = sample
                .readings
                .iter()
                .filter(|r| r.is_valid())
                .filter_map(|r| r.value.map(|v| (r.factor.as_str(), v)));
            let full = jiesu_monitor::classify(vals, jiesu_monitor::Waterbody::River).class;
            assert_eq!(fast, full, "packet {i}");
            assert!(fast.is_some());
        }
    }
}
