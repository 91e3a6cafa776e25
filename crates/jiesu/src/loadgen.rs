//! A closed-loop HTTP load generator: `concurrency` workers, each sending its next request as soon
//! as the previous one answers, for a fixed time. Reports throughput and latency percentiles.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hyper::body::Bytes;

use crate::client::Client;

#[derive(Debug, Clone)]
pub struct LoadReport {
    pub label: String,
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// CPU time of the whole process (server, load generator, writer) per answered request:
    /// steadier than the rate when the machine's speed wanders, and it says where a change helps.
    pub cpu_us_per_request: Option<f64>,
}

impl LoadReport {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
    pub fn line(&self) -> String {
        let cpu = self
            .cpu_us_per_request
            .map(|c| format!("  cpu {c:>5.1} µs/req"))
            .unwrap_or_default();
        format!(
            "{:<28} {:>9.0} req/s  ok {:>8}  errors {:>5}  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms{cpu}",
            self.label,
            self.rate(),
            self.requests,
            self.errors,
            self.p50_ms,
            self.p99_ms,
            self.max_ms
        )
    }
}

/// What each worker sends: (method, path, headers, body). Bodies are pre-serialized so the
/// generator spends its time on the wire, not in serde.
pub type MakeRequest =
    Arc<dyn Fn(u64) -> (String, String, Vec<(String, String)>, Option<Bytes>) + Send + Sync>;

pub async fn run(
    label: &str,
    clients: Vec<Client>,
    concurrency: usize,
    duration: Duration,
    make: MakeRequest,
    expect: fn(u16) -> bool,
) -> LoadReport {
    let counter = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let cpu_before = process_cpu_ns();
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let client = clients[w % clients.len().max(1)].clone();
        let counter = counter.clone();
        let errors = errors.clone();
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(4096);
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let (method, path, headers, body) = make(n);
                let h: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(a, b)| (a.as_str(), b.as_str()))
                    .collect();
                let t = Instant::now();
                let r = match body {
                    Some(b) => {
                        let mut h = h;
                        h.push(("content-type", "application/json"));
                        client.send(&method, &path, &h, b).await
                    }
                    None => client.send(&method, &path, &h, Bytes::new()).await,
                };
                let ok = matches!(&r, Ok(r) if expect(r.status));
                if ok {
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
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
    let seconds = start.elapsed().as_secs_f64();
    let cpu_us_per_request = match (cpu_before, process_cpu_ns()) {
        (Some(a), Some(b)) if !all.is_empty() => {
            Some(b.saturating_sub(a) as f64 / 1000.0 / all.len() as f64)
        }
        _ => None,
    };
    all.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| {
        if all.is_empty() {
            0.0
        } else {
            all[((all.len() as f64 - 1.0) * p).round() as usize]
        }
    };
    LoadReport {
        label: label.to_string(),
        requests: all.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        seconds,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        max_ms: all.last().copied().unwrap_or(0.0),
        cpu_us_per_request,
    }
}

/// Nanoseconds on CPU so far, user and system, of the whole process, ended threads included
/// (Linux's /proc/self/stat, in ticks of 1/100 s; `None` elsewhere).
pub fn process_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 10_000_000)
}

/// Nanoseconds on CPU so far of this process's live threads named `name` (Linux; `None` elsewhere).
pub fn thread_cpu_ns(name: &str) -> Option<u64> {
    let mut total = None;
    for t in std::fs::read_dir("/proc/self/task").ok()? {
        let Ok(t) = t else { continue };
        if std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim_end() == name)
            && let Ok(s) = std::fs::read_to_string(t.path().join("schedstat"))
            && let Some(ns) = s
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
        {
            *total.get_or_insert(0) += ns;
        }
    }
    total
}
