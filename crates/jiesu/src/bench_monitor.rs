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
    /// Devices whose connection was accepted (and held for the run).
    pub connected: u64,
    pub acked: u64,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// One device's upload, encoded once; each packet rewrites its DataTime, QN and check value in
/// place, so the load generator spends its time on the sockets, not on formatting.
pub struct UploadTemplate {
    bytes: Vec<u8>,
    /// Offsets of the 14 digits after `QN=` and after `DataTime=`, and of the 3-digit QN serial.
    qn: usize,
    data_time: usize,
}

impl UploadTemplate {
    pub fn new(st: &DemoStation, values: &[(&str, f64, &str)]) -> Option<UploadTemplate> {
        let at = jiesu_domain::calendar::to_beijing(chrono::Utc::now());
        let bytes = crate::simulate::upload(st, at, values, 0)
            .encode(CrcMode::Standard)
            .into_bytes();
        let find = |needle: &[u8]| {
            bytes
                .windows(needle.len())
                .position(|w| w == needle)
                .map(|i| i + needle.len())
        };
        Some(UploadTemplate {
            qn: find(b"QN=")?,
            data_time: find(b"DataTime=")?,
            bytes,
        })
    }

    /// The packet for data time `at` (unix seconds), appended to `out`.
    pub fn write(&self, at_s: i64, serial: u64, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&self.bytes);
        let p = &mut out[start..];
        if let Some(t) = jiesu_domain::calendar::from_unix_ms(at_s * 1000) {
            use chrono::{Datelike, Timelike};
            let mut digits = [0u8; 14];
            let mut put = |at: usize, width: usize, mut v: u32| {
                for i in (0..width).rev() {
                    digits[at + i] = b'0' + (v % 10) as u8;
                    v /= 10;
                }
            };
            put(0, 4, t.year() as u32);
            put(4, 2, t.month());
            put(6, 2, t.day());
            put(8, 2, t.hour());
            put(10, 2, t.minute());
            put(12, 2, t.second());
            p[self.qn..self.qn + 14].copy_from_slice(&digits);
            p[self.data_time..self.data_time + 14].copy_from_slice(&digits);
        }
        let n = serial % 1000;
        for (i, d) in [n / 100, n / 10 % 10, n % 10].into_iter().enumerate() {
            p[self.qn + 14 + i] = b'0' + d as u8;
        }
        // `##` + 4 length digits, the data segment, 4 hex digits, CR LF.
        let end = p.len() - 6;
        let crc = jiesu_hj212::crc::hj212(&p[6..end]);
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        for i in 0..4 {
            p[end + i] = HEX[usize::from((crc >> (12 - 4 * i)) & 0xF)];
        }
    }
}

/// `stations.len()` devices, one connection each, each keeping up to `window` uploads in flight:
/// 1 is a live device (send, wait for the 9014, send the next); more is a device sending its
/// backlog after an outage (补发), whose uploads the server stores and acknowledges per read.
/// Every upload carries a new data time, so each is a new sample to store.
pub async fn ingest(
    addr: std::net::SocketAddr,
    stations: Vec<DemoStation>,
    seconds: u64,
    window: usize,
) -> IngestReport {
    let acked = Arc::new(AtomicU64::new(0));
    let connected = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let window = window.max(1);
    let base = chrono::Utc::now().timestamp();
    let mut tasks = Vec::new();
    for (i, st) in stations.into_iter().enumerate() {
        let acked = acked.clone();
        let connected = connected.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let vals = [
                ("w01001", 7.5, "N"),
                ("w01009", 8.0, "N"),
                ("w21003", 0.2, "N"),
                ("w21011", 0.04, "N"),
                ("w01019", 2.0, "N"),
            ];
            let Some(template) = UploadTemplate::new(&st, &vals) else {
                return lat;
            };
            let Ok(mut c) = TcpStream::connect(addr).await else {
                return lat;
            };
            connected.fetch_add(1, Ordering::Relaxed);
            let _ = c.set_nodelay(true);
            let mut buf = vec![0u8; 64 * 1024];
            let mut out = Vec::with_capacity(window * 512);
            let mut sent_at: std::collections::VecDeque<Instant> = Default::default();
            let mut seq = 0u64;
            loop {
                let now = Instant::now();
                if now < deadline {
                    out.clear();
                    while sent_at.len() < window {
                        // One sample a second going back from now: distinct per device and packet.
                        template.write(base - seq as i64 - 1, seq + i as u64, &mut out);
                        seq += 1;
                        sent_at.push_back(now);
                    }
                    if !out.is_empty() && c.write_all(&out).await.is_err() {
                        break;
                    }
                } else if sent_at.is_empty() {
                    break;
                }
                match tokio::time::timeout(Duration::from_secs(30), c.read(&mut buf)).await {
                    Ok(Ok(n)) if n > 0 => {
                        // Each 9014 ends with CR LF; one read may hold several or part of one.
                        let ends = buf[..n].iter().filter(|&&b| b == b'\n').count();
                        for _ in 0..ends {
                            if let Some(t) = sent_at.pop_front() {
                                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                                acked.fetch_add(1, Ordering::Relaxed);
                            }
                        }
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
        connected: connected.load(Ordering::Relaxed),
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
    fn a_template_packet_is_a_valid_upload_with_the_new_time() {
        let st = &crate::stations::demo_stations(1, &[], "")[0];
        let t = UploadTemplate::new(st, &[("w21003", 0.2, "N")]).unwrap();
        let mut out = Vec::new();
        let at = 1_790_000_000; // 2026-09-21T22:13:20Z
        t.write(at, 1234, &mut out);
        t.write(at - 1, 1235, &mut out);
        let mut d = jiesu_hj212::Decoder::new();
        d.push(&out);
        let mut times = Vec::new();
        while let Some(jiesu_hj212::Frame::Packet(bytes)) = d.next_frame() {
            let p = jiesu_hj212::parse(&bytes, CrcMode::Standard).expect("valid packet");
            let (_, sample) = crate::ingest::sample_of(&p).unwrap();
            times.push(sample.at_ms);
            assert!(
                p.qn.unwrap()
                    .ends_with(if times.len() == 1 { "234" } else { "235" })
            );
        }
        assert_eq!(times, vec![at * 1000, (at - 1) * 1000]);
    }

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
