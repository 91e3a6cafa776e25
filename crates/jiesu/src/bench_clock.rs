//! `jiesu bench clock`: the deadline clock over many pending deadlines — what it costs in memory
//! and per tick, and how fast it fires. Cases are imported (received and dispatched through the
//! domain, so their deadlines and `next_fire` are real), spread over the last hour.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Duration as Span;
use jiesu_domain::case::{CaseDraft, Channel, Kind, Reporter, Urgency};
use jiesu_domain::{Case, Command, Time, UnitId};
use jiesu_store::{ActorRef, ImportedCase};

use crate::{demo, server};

/// Resident memory of this process, in MiB (Linux).
pub fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

pub async fn run(
    cases: usize,
    database: Option<String>,
    dir: &std::path::Path,
    now: Time,
) -> anyhow::Result<()> {
    let store = server::open(dir, database.as_deref()).await?;
    let users = server::build_demo(&store, dir, 0, 1, now).await?;
    let juris = Arc::new(store.load_jurisdiction().await?);
    let by = |name: &str| {
        users
            .iter()
            .find(|u| u.username == name)
            .map(demo::actor_of)
            .ok_or_else(|| anyhow::anyhow!("no demo user {name}"))
    };
    let (operator, dispatcher) = (by("operator")?, by("dispatcher")?);
    let dept = UnitId::new("420381D01");
    let t = Instant::now();
    let mut imported = 0;
    let mut seq = 0i64;
    while imported < cases {
        let n = (cases - imported).min(5000);
        let mut batch = Vec::with_capacity(n);
        for i in 0..n {
            seq += 1;
            // Dispatched over the last hour: next firing moments spread out.
            let at = now - Span::milliseconds(((imported + i) as i64 * 3_600_000) / cases as i64);
            let draft = CaseDraft {
                channel: Channel::Hotline,
                kind: Kind::Complaint,
                category: Some("urban.street_vending".into()),
                urgency: Urgency::Normal,
                title: "丹二巷占道经营".into(),
                description: String::new(),
                address: None,
                location: None,
                reporter: Reporter::default(),
            };
            let number = jiesu_domain::case::case_number(&jiesu_domain::case::number_day(at), seq);
            let received = Case::intake(number, draft, &operator, &juris.ctx())?;
            let mut case = Case::from_received("x".into(), &received, at)
                .ok_or_else(|| anyhow::anyhow!("no case"))?;
            let dispatch = Command::Dispatch {
                unit: dept.clone(),
                co_units: vec![],
                note: None,
            };
            let evs = case.apply(&dispatch, &dispatcher, at, &juris.ctx())?;
            for e in &evs {
                case.evolve(e, at);
            }
            let mut events = vec![(received, at, ActorRef::of(&operator))];
            events.extend(evs.into_iter().map(|e| (e, at, ActorRef::of(&dispatcher))));
            batch.push(ImportedCase {
                id: ulid::Ulid::new().to_string(),
                events,
            });
        }
        imported += store.import(juris.clone(), batch).await?;
    }
    println!(
        "imported {imported} dispatched cases in {:.1} s; {} pending in the clock's index",
        t.elapsed().as_secs_f64(),
        store.pending_fires().await?
    );
    let rss_before = rss_mib();
    // One tick with nothing due: the index query the clock makes every 200 ms.
    let mut q = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let due = store
            .due_cases(now.timestamp_millis() - 3_600_000 * 48, 500)
            .await?;
        q.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(due.is_empty());
    }
    let state = server::app_state(store.clone()).await?;
    crate::clock::start(state, server::node_name());
    let mut rss_peak = rss_before;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss_peak = rss_peak.max(rss_mib());
    }
    println!(
        "idle tick (indexed range over next_fire, nothing due): median {:.3} ms over 50",
        median(q)
    );
    println!(
        "resident memory: {rss_before:.0} MiB before the clock, {rss_peak:.0} MiB peak over 10 s with it running ({:+.0} MiB)",
        rss_peak - rss_before
    );
    // Fire 2,000 cases' due warnings directly, timed.
    let ids = store.due_cases(i64::MAX, 2000).await?;
    let mut latest = now;
    for id in &ids {
        if let Some(c) = store.get_case(id).await?
            && let Some(t) = jiesu_domain::supervision::next_fire(&c, &juris.ctx())
        {
            latest = latest.max(t);
        }
    }
    let t = Instant::now();
    let mut events = 0;
    for id in &ids {
        events += crate::clock::fire(&store, &juris, id, latest).await?;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "fired {} cases ({events} events) in {secs:.2} s = {:.0} cases/s, one at a time",
        ids.len(),
        ids.len() as f64 / secs
    );
    Ok(())
}
