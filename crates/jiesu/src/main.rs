//! The `jiesu` command: serve, demo, calendar, verify, bench.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::{DateTime, NaiveDate};
use clap::{Parser, Subcommand};
use jiesu::{client::Client, demo, loadgen, server};
use jiesu_domain::{CalendarYear, OfficeHours, WorkCalendar, calendar::to_beijing};
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "jiesu",
    version,
    about = "接诉即办 — cases from every channel, handled against working-day deadlines"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the API from a data directory (SQLite) or a PostgreSQL database.
    Serve {
        #[arg(long, env = "JIESU_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        #[arg(long, env = "JIESU_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// postgres://… (default: SQLite in DATA_DIR/jiesu.db)
        #[arg(long, env = "JIESU_DATABASE")]
        database: Option<String>,
        /// Install this deadline policy (TOML, see `jiesu policy show`) before serving.
        #[arg(long, env = "JIESU_DEADLINE_POLICY")]
        deadline_policy: Option<PathBuf>,
        /// Office hours, e.g. 08:30-12:00,14:00-17:30 (stored; applies to deadlines computed from now on).
        #[arg(long, env = "JIESU_OFFICE_HOURS")]
        office_hours: Option<String>,
        /// HJ 212 TCP listener for monitoring stations ("off" to disable).
        #[arg(long, env = "JIESU_HJ212_LISTEN", default_value = "0.0.0.0:9212")]
        hj212_listen: String,
        /// Delete monitoring readings older than this many days (0 keeps everything).
        #[arg(long, env = "JIESU_READINGS_RETENTION_DAYS", default_value_t = 0)]
        readings_retention_days: u32,
    },
    /// Monitoring stations.
    Stations {
        #[command(subcommand)]
        cmd: StationsCmd,
    },
    /// Play monitoring stations against an HJ 212 server.
    Simulate {
        #[command(subcommand)]
        cmd: SimulateCmd,
    },
    /// Print the deadline policy in force (the built-in default when none is installed).
    Policy {
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        #[arg(long, env = "JIESU_DATABASE")]
        database: Option<String>,
    },
    /// Build the demo county (Danjiangkou) with N cases of history, then serve it.
    Demo {
        #[arg(long, default_value = "demo-data")]
        data_dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        #[arg(long, env = "JIESU_DATABASE")]
        database: Option<String>,
        #[arg(long, default_value_t = 100_000)]
        cases: usize,
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Build only; do not serve.
        #[arg(long)]
        no_serve: bool,
        /// HJ 212 TCP listener ("off" to disable).
        #[arg(long, default_value = "127.0.0.1:9212")]
        hj212_listen: String,
        /// Do not start the station simulator.
        #[arg(long)]
        no_simulator: bool,
    },
    /// The working calendar.
    Calendar {
        #[command(subcommand)]
        cmd: CalendarCmd,
    },
    /// Import grids (GeoJSON) or the gazetteer (JSON) into a data dir or database; running nodes
    /// pick the change up at once.
    Import {
        #[command(subcommand)]
        cmd: ImportCmd,
    },
    /// Routing suggestions: train and measure them on the store's closed cases; install rules.
    Routing {
        #[command(subcommand)]
        cmd: RoutingCmd,
    },
    /// Open311 GeoReport v2 clients: API keys, and the jurisdiction_id the endpoint answers to.
    Open311 {
        #[command(subcommand)]
        cmd: Open311Cmd,
    },
    /// The full-text search index (each node keeps its own in DATA_DIR/search).
    Search {
        #[command(subcommand)]
        cmd: SearchCmd,
    },
    /// Check every hash chain of the event log; exits non-zero naming the first broken case.
    Verify {
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        #[arg(long, env = "JIESU_DATABASE")]
        database: Option<String>,
    },
    /// Copy a SQLite store while it serves (SQLite's online backup: one consistent snapshot).
    /// PostgreSQL: pg_dump or pg_basebackup, see docs/OPERATIONS.md.
    Backup {
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// The backup file to write (replaced only once the new copy is complete).
        #[arg(long)]
        out: PathBuf,
    },
    /// Put a backup in place as DATA_DIR/jiesu.db, then verify it. Stop the server first.
    Restore {
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// A file written by `jiesu backup`.
        #[arg(long)]
        from: PathBuf,
        /// Replace the store already in DATA_DIR.
        #[arg(long)]
        force: bool,
    },
    /// HJ 212 packets.
    Hj212 {
        #[command(subcommand)]
        cmd: Hj212Cmd,
    },
    /// GB 3838-2002 surface-water classes.
    Water {
        #[command(subcommand)]
        cmd: WaterCmd,
    },
    /// Write a report: weekly (周调度, --period 2026-W45), monthly (月分析, 2026-10) or quarterly
    /// (季考核, 2026-Q3), as an .xlsx workbook or as JSON.
    Report {
        /// weekly, monthly or quarterly
        kind: String,
        #[arg(long)]
        period: String,
        /// The file to write (default: JSON on standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// xlsx or json (default: xlsx when --out is given and does not end in .json).
        #[arg(long)]
        format: Option<String>,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        #[arg(long, env = "JIESU_DATABASE")]
        database: Option<String>,
    },
    /// Assessment counters (docs/ASSESSMENT.md).
    Assessment {
        #[command(subcommand)]
        cmd: AssessmentCmd,
    },
    /// Benchmarks (see docs/PERFORMANCE.md). Use a release build.
    Bench {
        #[command(subcommand)]
        cmd: BenchCmd,
    },
}

#[derive(Subcommand)]
enum RoutingCmd {
    /// Train on the store's closed cases and report top-1 / top-3 accuracy on held-out cases: a
    /// fifth of them, and (for the demo's cases) each phrasing of a category held out in turn.
    /// Serving nodes train themselves at start and every six hours.
    Train {
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        #[arg(long, env = "JIESU_DATABASE")]
        database: Option<String>,
    },
    /// Install routing rules (TOML: `[[rule]] words = [..], category = "..", unit = ".."`),
    /// checked against the units and categories; nodes use them from their next training.
    Rules {
        file: PathBuf,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        #[arg(long, env = "JIESU_DATABASE")]
        database: Option<String>,
    },
}

#[derive(Subcommand)]
enum Open311Cmd {
    /// Issue a new API key to a client (created the first time): prints the key, which is
    /// stored only as its hash. Disable the client's account (`open311:NAME`) to refuse its keys.
    Key {
        /// The client's name: 1 to 32 of a-z, 0-9, '-' and '_'.
        #[arg(long)]
        name: String,
        /// How the client shows in trails and user lists.
        #[arg(long)]
        display: Option<String>,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        #[arg(long, env = "JIESU_DATABASE")]
        database: Option<String>,
    },
    /// List the clients and how many keys each holds.
    Clients {
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        #[arg(long, env = "JIESU_DATABASE")]
        database: Option<String>,
    },
    /// Set the jurisdiction_id the endpoint serves (by default the root unit's id), and the
    /// contact line of its discovery document.
    Jurisdiction {
        id: String,
        #[arg(long)]
        contact: Option<String>,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        #[arg(long, env = "JIESU_DATABASE")]
        database: Option<String>,
    },
}

#[derive(Subcommand)]
enum ImportCmd {
    /// Grids from a GeoJSON FeatureCollection: each feature a Polygon or MultiPolygon with
    /// properties `id`, `name` and `parent` (the community or village it belongs to), and
    /// optionally `kind` (`grid`, the default, or `micro_grid`). A grid already there gets the
    /// new name and area.
    Grids {
        file: PathBuf,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        #[arg(long, env = "JIESU_DATABASE")]
        database: Option<String>,
    },
    /// Replace the gazetteer with a JSON array of `{name, kind, unit}` (kind: street, community,
    /// road, alley, compound, landmark, group; unit: the unit answering for the place).
    Places {
        file: PathBuf,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        #[arg(long, env = "JIESU_DATABASE")]
        database: Option<String>,
    },
}

#[derive(Subcommand)]
enum SearchCmd {
    /// Rebuild this node's index from the store (stop the node's server first: a serving node
    /// holds its index open, and rebuilds it by itself when it finds it behind or ahead).
    Reindex {
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        #[arg(long, env = "JIESU_DATABASE")]
        database: Option<String>,
    },
}

#[derive(Subcommand)]
enum CalendarCmd {
    /// One line per date: `YYYY-MM-DD workday|restday [holiday name]`.
    Days {
        from: NaiveDate,
        to: NaiveDate,
        /// Use the years imported into this data dir (default: the built-in 2019–2026 files).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long, env = "JIESU_DATABASE")]
        database: Option<String>,
    },
    /// Add working days or hours to a moment; prints the due moment (RFC 3339).
    Add {
        #[arg(long)]
        from: String,
        #[arg(long, conflicts_with = "working_hours")]
        working_days: Option<u32>,
        #[arg(long)]
        working_hours: Option<u32>,
        /// Office hours, e.g. 08:30-12:00,14:00-17:30
        #[arg(long)]
        office_hours: Option<String>,
        /// Use the years imported into this data dir (default: the built-in 2019–2026 files).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long, env = "JIESU_DATABASE")]
        database: Option<String>,
    },
    /// Import (or replace) one year's schedule from a TOML file into a data dir or database.
    Import {
        file: PathBuf,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        #[arg(long, env = "JIESU_DATABASE")]
        database: Option<String>,
    },
}

#[derive(Subcommand)]
enum StationsCmd {
    /// Register or update stations from a JSON array (the fields of POST /api/v1/stations).
    Import {
        file: PathBuf,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        #[arg(long, env = "JIESU_DATABASE")]
        database: Option<String>,
    },
}

#[derive(Subcommand)]
enum SimulateCmd {
    /// The demo's stations (57 river sections, 41 discharge monitors) streaming real-time data.
    Stations {
        #[arg(long, default_value_t = 98)]
        count: usize,
        #[arg(long, default_value = "127.0.0.1:9212")]
        to: String,
        /// The demo's seed (station passwords derive from it).
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        #[arg(long, default_value_t = 10)]
        interval_secs: u64,
        /// Stop after this many seconds (default: run until killed).
        #[arg(long)]
        duration_secs: Option<u64>,
    },
}

#[derive(Subcommand)]
enum Hj212Cmd {
    /// Read packets on stdin, one per line (a literal `\r\n` may stand for CR LF), and print one
    /// JSON object per line: `{"ok": true, "st": …, "cn": …, "mn": …, "flag": …, "cp": {…}}` or
    /// `{"ok": false, "error": "crc_mismatch" | "length_mismatch" | "bad_header" | …}`.
    Parse {
        /// The check value the device sends: standard, modbus or modbus_swapped.
        #[arg(long, default_value = "standard")]
        crc: String,
    },
}

#[derive(Subcommand)]
enum WaterCmd {
    /// Single-factor class of readings given as CODE=VALUE (HJ 212 codes, GB 3838 units: mg/L).
    Classify {
        #[arg(long, default_value = "river")]
        waterbody: String,
        /// Also print each factor's class.
        #[arg(long)]
        verbose: bool,
        readings: Vec<String>,
    },
}

#[derive(Subcommand)]
enum AssessmentCmd {
    /// Recompute the per-unit, per-day counters from the event log. Writes wait meanwhile.
    Rebuild {
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        #[arg(long, env = "JIESU_DATABASE")]
        database: Option<String>,
    },
}

#[derive(Subcommand)]
enum BenchCmd {
    /// A month's ranking from the incremental counters beside a plain GROUP BY over the `cases`
    /// projection, on synthetic counters and projection rows for CASES cases over one year.
    Assessment {
        #[arg(long, default_value_t = 1_000_000)]
        cases: usize,
        /// Timed queries of each kind, interleaved.
        #[arg(long, default_value_t = 20)]
        rounds: usize,
        /// An empty PostgreSQL database (default: SQLite in a temporary directory).
        #[arg(long)]
        database: Option<String>,
    },
    /// Point → area (R-tree) and address → place (gazetteer) on one core, over the demo county,
    /// beside checking every area and every name in turn.
    Geo {
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
    /// HJ 212 parse + validate + GB 3838 classify on one core.
    Hj212 {
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
    /// TCP ingest from many station connections; checks every acknowledged packet is stored,
    /// then measures the alarm-to-case latency.
    Ingest {
        #[arg(long, default_value_t = 1000)]
        connections: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Uploads each device keeps in flight: 1 = a live device waiting for each 9014; more =
        /// a device sending its backlog after an outage.
        #[arg(long, default_value_t = 1)]
        window: usize,
        /// Load a jiesu already running in another process (its HJ 212 address) instead of one
        /// started in this process, so client and server each have their own descriptor limit.
        /// Needs `--data-dir` of that server (SQLite): stations are registered and samples counted
        /// there.
        #[arg(long, requires = "data_dir")]
        server: Option<String>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long)]
        database: Option<String>,
    },
    /// Intake throughput (POST /api/v1/cases) beside a bare axum JSON echo, same process and run.
    Intake {
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Length of each measurement (echo, then intake).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Echo-then-intake pairs; the ratio is over all of them, so a slow spell of the machine
        /// lands on both sides instead of on one.
        #[arg(long, default_value_t = 1)]
        rounds: u32,
        /// An empty PostgreSQL database (default: SQLite in a temporary directory).
        #[arg(long)]
        database: Option<String>,
    },
    /// The deadline clock over many pending deadlines: memory, idle tick, firing rate.
    Clock {
        #[arg(long, default_value_t = 1_000_000)]
        cases: usize,
        /// An empty PostgreSQL database (default: SQLite in a temporary directory).
        #[arg(long)]
        database: Option<String>,
    },
    /// Routing suggestions against an existing demo data dir: the suggestion itself (place,
    /// categories, units) per text on one thread, then the whole endpoint over HTTP with its
    /// duplicate search, one request at a time.
    Suggest {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        database: Option<String>,
        #[arg(long, default_value_t = 20_000)]
        texts: usize,
    },
    /// Worklist latency against an existing data dir (build it with `demo --cases 1000000 --no-serve`).
    Worklist {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        database: Option<String>,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Another read to measure instead (e.g. `/api/v1/cases?state=dispatched&page=1`).
        #[arg(long, default_value = "/api/v1/worklist?limit=20")]
        path: String,
        /// Only these demo users (comma-separated; default: every handler and dispatcher).
        #[arg(long = "as")]
        users: Option<String>,
    },
}

// Request handling allocates many short-lived strings; with mimalloc intake ran ~30 % faster than
// with glibc malloc on 2 cores (docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn builtin_calendar(hours: OfficeHours) -> anyhow::Result<WorkCalendar> {
    let mut cal = WorkCalendar::new(hours);
    for f in demo::CALENDAR_FILES {
        cal.add_year(CalendarYear::parse_toml(f)?);
    }
    Ok(cal)
}

/// The built-in calendar, or the one stored in a data dir / database when one is named.
async fn calendar_for(
    data_dir: Option<PathBuf>,
    database: Option<String>,
    hours: OfficeHours,
) -> anyhow::Result<WorkCalendar> {
    if data_dir.is_none() && database.is_none() {
        return builtin_calendar(hours);
    }
    let dir = data_dir.unwrap_or_else(|| PathBuf::from("data"));
    let store = server::open(&dir, database.as_deref()).await?;
    Ok(store.load_calendar(hours).await?)
}

fn now() -> jiesu_domain::Time {
    to_beijing(chrono::Utc::now())
}

fn main() -> std::process::ExitCode {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One readable line (with causes), not a backtrace: operators read this.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,jiesu=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Serve {
            data_dir,
            listen,
            database,
            deadline_policy,
            office_hours,
            hj212_listen,
            readings_retention_days,
        } => {
            let store = server::open(&data_dir, database.as_deref()).await?;
            server::bootstrap_if_empty(&store, &data_dir, now()).await?;
            if let Some(path) = deadline_policy {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                jiesu_domain::DeadlinePolicy::from_toml(&text)?;
                store.put_setting("deadline_policy", &text).await?;
                println!("deadline policy installed from {}", path.display());
            }
            if let Some(h) = office_hours {
                OfficeHours::parse(&h)?;
                store.put_setting("office_hours", &h).await?;
            }
            let state = server::app_state(store.clone()).await?;
            if hj212_listen != "off"
                && let Some((ingest, _)) =
                    server::start_ingest(store, &state, &hj212_listen).await?
            {
                ingest.retention_days.store(
                    readings_retention_days,
                    std::sync::atomic::Ordering::Relaxed,
                );
            }
            server::serve_forever(state, &listen, &data_dir).await
        }
        Cmd::Stations {
            cmd:
                StationsCmd::Import {
                    file,
                    data_dir,
                    database,
                },
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let list: Vec<jiesu_monitor::StationSpec> = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a JSON array of stations", file.display()))?;
            let store = server::open(&data_dir, database.as_deref()).await?;
            let juris = store.load_jurisdiction().await?;
            // Check every entry before writing any.
            for (i, spec) in list.iter().enumerate() {
                spec.validate()
                    .map_err(|m| anyhow::anyhow!("station {} ({}): {m}", i + 1, spec.mn))?;
                anyhow::ensure!(
                    juris
                        .org
                        .contains(&jiesu_domain::UnitId::new(spec.unit.clone())),
                    "station {} ({}): unknown unit {}",
                    i + 1,
                    spec.mn,
                    spec.unit
                );
            }
            for spec in &list {
                store
                    .put_station(
                        &jiesu_api::monitoring::station_row(spec)?,
                        now().timestamp_millis(),
                    )
                    .await?;
            }
            println!("imported {} stations from {}", list.len(), file.display());
            Ok(())
        }
        Cmd::Simulate {
            cmd:
                SimulateCmd::Stations {
                    count,
                    to,
                    seed,
                    interval_secs,
                    duration_secs,
                },
        } => {
            let stations: Vec<_> = jiesu::stations::demo_stations(seed, &[], "")
                .into_iter()
                .take(count)
                .collect();
            println!("simulating {} stations against {to}", stations.len());
            let sent = jiesu::simulate::run(
                stations,
                jiesu::simulate::SimOptions {
                    to,
                    interval: Duration::from_secs(interval_secs.max(1)),
                    duration: duration_secs.map(Duration::from_secs),
                    seed,
                },
            )
            .await?;
            println!("sent {sent} packets");
            Ok(())
        }
        Cmd::Demo {
            data_dir,
            listen,
            database,
            cases,
            seed,
            no_serve,
            hj212_listen,
            no_simulator,
        } => {
            let store = server::open(&data_dir, database.as_deref()).await?;
            let users = server::build_demo(&store, &data_dir, cases, seed, now()).await?;
            println!(
                "\ndemo users (also in {}):",
                data_dir.join("demo-users.txt").display()
            );
            println!("{:<24} {:<16} {:<12} unit", "username", "password", "role");
            for u in &users {
                println!(
                    "{:<24} {:<16} {:<12} {}",
                    u.username,
                    u.password,
                    u.role.as_str(),
                    u.unit
                );
            }
            if no_serve {
                return Ok(());
            }
            let state = server::app_state(store.clone()).await?;
            if hj212_listen != "off"
                && let Some(_ingest) = server::start_ingest(store, &state, &hj212_listen).await?
                && !no_simulator
            {
                let stations = jiesu::stations::demo_stations(seed, &[], "");
                let opts = jiesu::simulate::SimOptions {
                    to: hj212_listen.replace("0.0.0.0", "127.0.0.1"),
                    interval: Duration::from_secs(10),
                    duration: None,
                    seed,
                };
                println!(
                    "simulating {} stations (57 river sections, 41 discharge monitors)",
                    stations.len()
                );
                tokio::spawn(jiesu::simulate::run(stations, opts));
            }
            server::serve_forever(state, &listen, &data_dir).await
        }
        Cmd::Calendar { cmd } => calendar(cmd).await,
        Cmd::Search { cmd } => search(cmd).await,
        Cmd::Import { cmd } => import(cmd).await,
        Cmd::Routing { cmd } => routing(cmd).await,
        Cmd::Open311 { cmd } => open311(cmd).await,
        Cmd::Policy { data_dir, database } => {
            let store = server::open(&data_dir, database.as_deref()).await?;
            match store.get_setting("deadline_policy").await? {
                Some(p) => print!("{p}"),
                None => print!("{}", jiesu_domain::deadline::DEFAULT_POLICY_TOML),
            }
            Ok(())
        }
        Cmd::Verify { data_dir, database } => {
            let url = server::database_url(&data_dir, database.as_deref());
            if database.is_none() && !data_dir.join("jiesu.db").exists() {
                bail!("no database in {}", data_dir.display());
            }
            let store = jiesu_store::Store::open(&url).await?;
            let r = store.verify().await?;
            if let Some((case, what)) = r.first_broken {
                eprintln!("BROKEN: case {case}: {what}");
                std::process::exit(1);
            }
            let a = store.verify_audit().await?;
            if let Some((id, what)) = a.first_broken {
                eprintln!("BROKEN: audit log entry {id}: {what}");
                std::process::exit(1);
            }
            println!(
                "ok: {} events in {} cases; every chain verifies; audit log: {} entries chained{}",
                r.events,
                r.cases,
                a.chained,
                if a.before_chain > 0 {
                    format!(" ({} from before the chain began)", a.before_chain)
                } else {
                    String::new()
                }
            );
            Ok(())
        }
        Cmd::Backup { data_dir, out } => {
            let db = data_dir.join("jiesu.db");
            if !db.exists() {
                bail!("no database in {}", data_dir.display());
            }
            let r = tokio::task::spawn_blocking(move || {
                jiesu_store::backup::backup_sqlite(&db, &out).map(|r| (r, out))
            })
            .await??;
            println!(
                "ok: {} cases, {} events, {} bytes in {} ms → {}",
                r.0.cases,
                r.0.events,
                r.0.bytes,
                r.0.millis,
                r.1.display()
            );
            Ok(())
        }
        Cmd::Restore {
            data_dir,
            from,
            force,
        } => {
            let dir = data_dir.clone();
            let r = tokio::task::spawn_blocking(move || {
                jiesu_store::backup::restore_sqlite(&from, &dir, force)
            })
            .await??;
            let store = server::open(&data_dir, None).await?;
            let v = store.verify().await?;
            if let Some((case, what)) = v.first_broken {
                eprintln!("restored, but BROKEN: case {case}: {what}");
                std::process::exit(1);
            }
            let a = store.verify_audit().await?;
            if let Some((id, what)) = a.first_broken {
                eprintln!("restored, but BROKEN: audit log entry {id}: {what}");
                std::process::exit(1);
            }
            println!(
                "ok: restored {} cases, {} events in {} ms; every chain verifies, the audit log's too",
                r.cases, r.events, r.millis
            );
            Ok(())
        }
        Cmd::Assessment {
            cmd: AssessmentCmd::Rebuild { data_dir, database },
        } => {
            if database.is_none() && !data_dir.join("jiesu.db").exists() {
                bail!("no database in {}", data_dir.display());
            }
            let store = server::open(&data_dir, database.as_deref()).await?;
            let started = std::time::Instant::now();
            let r = store.rebuild_assessment().await?;
            println!(
                "rebuilt: {} cases, {} events replayed; {} unit-day rows in {:.1} s",
                r.cases,
                r.events,
                r.rows,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Cmd::Bench { cmd } => bench(cmd).await,
        Cmd::Report {
            kind,
            period,
            out,
            format,
            data_dir,
            database,
        } => report(&kind, &period, out, format, &data_dir, database).await,
        Cmd::Hj212 {
            cmd: Hj212Cmd::Parse { crc },
        } => {
            let mode = jiesu_hj212::CrcMode::parse(&crc).with_context(|| {
                format!("--crc {crc:?}: use standard, modbus or modbus_swapped")
            })?;
            hj212_parse(mode)
        }
        Cmd::Water {
            cmd:
                WaterCmd::Classify {
                    waterbody,
                    verbose,
                    readings,
                },
        } => water_classify(&waterbody, verbose, &readings),
    }
}

async fn report(
    kind: &str,
    period: &str,
    out: Option<PathBuf>,
    format: Option<String>,
    data_dir: &std::path::Path,
    database: Option<String>,
) -> anyhow::Result<()> {
    let kind = jiesu_reports::ReportKind::parse(kind)
        .with_context(|| format!("no report {kind:?}: use weekly, monthly or quarterly"))?;
    let xlsx = match format.as_deref() {
        Some("xlsx") => true,
        Some("json") => false,
        Some(f) => bail!("--format {f:?}: use xlsx or json"),
        None => out
            .as_ref()
            .is_some_and(|p| p.extension().is_none_or(|e| e != "json")),
    };
    anyhow::ensure!(!xlsx || out.is_some(), "a workbook needs --out FILE.xlsx");
    if database.is_none() && !data_dir.join("jiesu.db").exists() {
        bail!("no database in {}", data_dir.display());
    }
    let store = server::open(data_dir, database.as_deref()).await?;
    let juris = store.load_jurisdiction().await?;
    let report = jiesu_reports::build(&store, &juris, kind, period, now()).await?;
    let bytes = if xlsx {
        report.to_xlsx()?
    } else {
        let mut v = serde_json::to_vec_pretty(&report)?;
        v.push(b'\n');
        v
    };
    match out {
        Some(path) => {
            std::fs::write(&path, &bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!(
                "{} {} written to {}",
                kind.name_zh(),
                report.period(),
                path.display()
            );
        }
        None => {
            use std::io::Write as _;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(())
}

/// The audit entry of a change made from the command line on this machine.
fn cli_audit(action: &str, target: &str, detail: String) -> jiesu_store::AuditEntry {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    jiesu_store::AuditEntry {
        at_ms: chrono::Utc::now().timestamp_millis(),
        actor_id: format!("cli:{user}"),
        actor_name: format!("命令行 ({user})"),
        address: "local".into(),
        action: action.into(),
        target: target.into(),
        detail,
    }
}

async fn open311(cmd: Open311Cmd) -> anyhow::Result<()> {
    match cmd {
        Open311Cmd::Key {
            name,
            display,
            data_dir,
            database,
        } => {
            let store = server::open(&data_dir, database.as_deref()).await?;
            let display = display.unwrap_or_else(|| format!("Open311 客户端 {name}"));
            let key = jiesu::open311_keys::issue(&store, &name, &display, |user| {
                cli_audit(
                    "open311_key_issued",
                    &format!("user:{user}"),
                    display.clone(),
                )
            })
            .await?;
            eprintln!("issued an Open311 API key to open311:{name} (shown once; keep it secret):");
            println!("{key}");
            Ok(())
        }
        Open311Cmd::Clients { data_dir, database } => {
            let store = server::open(&data_dir, database.as_deref()).await?;
            println!("{:<28} {:<9} {:>4}  name", "account", "state", "keys");
            for c in store.open311_clients().await? {
                let state = if c.disabled { "disabled" } else { "active" };
                println!(
                    "{:<28} {state:<9} {:>4}  {}",
                    c.username, c.keys, c.display_name
                );
            }
            Ok(())
        }
        Open311Cmd::Jurisdiction {
            id,
            contact,
            data_dir,
            database,
        } => {
            let ok = (1..=100).contains(&id.len())
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
            if !ok {
                bail!(
                    "a jurisdiction_id is 1 to 100 of a-z, A-Z, 0-9, '.', '-' and '_' (e.g. djk.gov.cn)"
                );
            }
            let store = server::open(&data_dir, database.as_deref()).await?;
            let mut settings = vec![(jiesu_api::open311::JURISDICTION_SETTING, id.clone())];
            if let Some(c) = contact {
                settings.push((jiesu_api::open311::CONTACT_SETTING, c));
            }
            for (key, value) in settings {
                store
                    .administer(
                        &jiesu_store::AdminChange::PutSetting {
                            key: key.into(),
                            value: value.clone(),
                        },
                        &cli_audit("open311_settings_changed", &format!("setting:{key}"), value),
                    )
                    .await?;
            }
            println!("ok: the Open311 endpoint serves jurisdiction_id {id}");
            Ok(())
        }
    }
}

async fn routing(cmd: RoutingCmd) -> anyhow::Result<()> {
    use jiesu::routing::{Accuracy, Example, held_out, measure};
    match cmd {
        RoutingCmd::Train { data_dir, database } => {
            let store = server::open(&data_dir, database.as_deref()).await?;
            let juris = store.load_jurisdiction().await?;
            let jieba = jiesu::search_index::dictionary(&juris);
            let t = std::time::Instant::now();
            let all = jiesu::routing::examples(&store, &juris, &jieba).await?;
            let read = t.elapsed().as_secs_f64();
            let t = std::time::Instant::now();
            let (cm, um) = jiesu::routing::train(all.iter());
            println!(
                "{} closed cases read in {read:.1} s; trained in {:.2} s: {} categories{}",
                all.len(),
                t.elapsed().as_secs_f64(),
                cm.labels().len(),
                if um.is_empty() { ", no units" } else { "" }
            );
            let show = |name: &str, a: Accuracy| {
                println!(
                    "  {name:<10} top-1 {:5.1} %  top-3 {:5.1} %  confident {:5.1} % of cases, {:5.1} % of those right  (n = {})",
                    Accuracy::pct(a.top1, a.n),
                    Accuracy::pct(a.top3, a.n),
                    Accuracy::pct(a.confident, a.n),
                    Accuracy::pct(a.confident_right, a.confident),
                    a.n
                );
            };
            let (test, train): (Vec<&Example>, Vec<&Example>) =
                all.iter().partition(|e| held_out(e));
            let (c, u) = measure(&train, &test);
            println!("held out: a fifth of the cases (by id), phrased as others in training");
            show("category", c);
            show("unit", u);
            let stories = all.iter().filter_map(|e| e.story).max();
            if let Some(max) = stories {
                let (mut c, mut u) = (Accuracy::default(), Accuracy::default());
                for k in 0..=max {
                    let (test, train): (Vec<&Example>, Vec<&Example>) =
                        all.iter().partition(|e| e.story == Some(k));
                    let (ck, uk) = measure(&train, &test);
                    c.merge(ck);
                    u.merge(uk);
                }
                println!(
                    "held out: each of the {} phrasings of every category in turn (trained on the others)",
                    max + 1
                );
                show("category", c);
                show("unit", u);
            }
            Ok(())
        }
        RoutingCmd::Rules {
            file,
            data_dir,
            database,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let store = server::open(&data_dir, database.as_deref()).await?;
            let juris = store.load_jurisdiction().await?;
            let rules = jiesu_routing::Rules::parse(
                &text,
                |c| juris.categories.get(c).is_some(),
                |u| juris.org.contains(&jiesu_domain::UnitId::new(u)),
            )?;
            store
                .administer(
                    &jiesu_store::AdminChange::PutSetting {
                        key: "routing_rules".into(),
                        value: text,
                    },
                    &cli_audit(
                        "routing_rules_replaced",
                        "routing_rules",
                        format!("{} rules from {}", rules.len(), file.display()),
                    ),
                )
                .await?;
            println!(
                "{} routing rules installed from {}",
                rules.len(),
                file.display()
            );
            Ok(())
        }
    }
}

async fn import(cmd: ImportCmd) -> anyhow::Result<()> {
    match cmd {
        ImportCmd::Grids {
            file,
            data_dir,
            database,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let store = server::open(&data_dir, database.as_deref()).await?;
            let juris = store.load_jurisdiction().await?;
            let grids = jiesu::geo_import::grids(&text, &juris.org)?;
            let n = grids.len();
            store
                .administer(
                    &jiesu_store::AdminChange::ImportGrids { grids },
                    &cli_audit(
                        "grids_imported",
                        "units",
                        format!("{n} grids from {}", file.display()),
                    ),
                )
                .await?;
            println!("imported {n} grids from {}", file.display());
            Ok(())
        }
        ImportCmd::Places {
            file,
            data_dir,
            database,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let places = jiesu::geo_import::places(&text)?;
            let n = places.len();
            let store = server::open(&data_dir, database.as_deref()).await?;
            store
                .administer(
                    &jiesu_store::AdminChange::ReplacePlaces { places },
                    &cli_audit(
                        "places_replaced",
                        "places",
                        format!("{n} places from {}", file.display()),
                    ),
                )
                .await?;
            println!("the gazetteer now holds {n} places from {}", file.display());
            Ok(())
        }
    }
}

async fn search(cmd: SearchCmd) -> anyhow::Result<()> {
    match cmd {
        SearchCmd::Reindex { data_dir, database } => {
            let store = server::open(&data_dir, database.as_deref()).await?;
            let juris = store.load_jurisdiction().await?;
            let index =
                jiesu::search_index::open(&data_dir, jiesu::search_index::dictionary(&juris))?;
            let started = std::time::Instant::now();
            let n = jiesu::search_index::rebuild(&store, &index, &juris).await?;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "indexed {n} cases in {secs:.1} s ({:.0} cases/s) into {}",
                n as f64 / secs.max(1e-9),
                jiesu::search_index::dir(&data_dir).display()
            );
            Ok(())
        }
    }
}

async fn calendar(cmd: CalendarCmd) -> anyhow::Result<()> {
    match cmd {
        CalendarCmd::Days {
            from,
            to,
            data_dir,
            database,
        } => {
            if to < from {
                bail!("TO is before FROM");
            }
            let cal = calendar_for(data_dir, database, OfficeHours::default()).await?;
            let mut out = String::new();
            for d in from.iter_days().take_while(|d| *d <= to) {
                let work = cal.is_workday(d)?;
                let special = cal.special_day(d)?;
                out.push_str(&format!(
                    "{} {}",
                    d,
                    if work { "workday" } else { "restday" }
                ));
                if let Some(s) = special {
                    out.push_str(&format!(" {}", s.name));
                    if work {
                        out.push_str("调休上班");
                    }
                }
                out.push('\n');
            }
            print!("{out}");
            Ok(())
        }
        CalendarCmd::Add {
            from,
            working_days,
            working_hours,
            office_hours,
            data_dir,
            database,
        } => {
            let hours = match office_hours {
                Some(h) => OfficeHours::parse(&h)?,
                None => OfficeHours::default(),
            };
            let cal = calendar_for(data_dir, database, hours).await?;
            let from = DateTime::parse_from_rfc3339(&from).context("--from must be RFC 3339")?;
            let due = match (working_days, working_hours) {
                (Some(d), None) => cal.add_working_days(from, d)?,
                (None, Some(h)) => cal.add_working_hours(from, h)?,
                _ => bail!("give --working-days or --working-hours"),
            };
            println!("{}", due.to_rfc3339());
            Ok(())
        }
        CalendarCmd::Import {
            file,
            data_dir,
            database,
        } => {
            let body = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let y = CalendarYear::parse_toml(&body)?;
            let store = server::open(&data_dir, database.as_deref()).await?;
            store.put_calendar_year(&body).await?;
            println!(
                "imported {} ({} special days) from {}",
                y.year,
                y.days.len(),
                y.source
            );
            // Deadlines counted on the provisional schedule move now; a running server also
            // reloads the year within a minute (and finds nothing left to move).
            let juris = std::sync::Arc::new(store.load_jurisdiction().await?);
            let now = to_beijing(chrono::Utc::now());
            let moved = store.recalendar(juris, y.year, now).await?;
            println!("{moved} open cases had provisional deadlines recomputed");
            Ok(())
        }
    }
}

async fn bench(cmd: BenchCmd) -> anyhow::Result<()> {
    match cmd {
        BenchCmd::Assessment {
            cases,
            rounds,
            database,
        } => bench_assessment(cases, rounds, database).await,
        BenchCmd::Geo { seconds } => {
            let f = jiesu::bench_geo::run(seconds);
            println!(
                "point → area: {:.0} lookups/s on one core ({} areas, {:.0} % of points inside one); every area in turn: {:.0} lookups/s",
                f.lookups_per_s,
                f.areas,
                f.hit_share * 100.0,
                f.scan_lookups_per_s
            );
            println!(
                "address → place: {:.0} addresses/s on one core ({} places, {:.0} % placed); every name in turn: {:.0} addresses/s",
                f.addresses_per_s,
                f.places,
                f.placed_share * 100.0,
                f.scan_addresses_per_s
            );
            Ok(())
        }
        BenchCmd::Hj212 { seconds } => {
            let (n, secs) = jiesu::bench_monitor::codec(seconds);
            println!(
                "parse + validate + classify: {n} packets in {secs:.2} s = {:.0} packets/s on one core",
                n as f64 / secs
            );
            Ok(())
        }
        BenchCmd::Ingest {
            connections,
            seconds,
            window,
            server: external,
            data_dir,
            database,
        } => {
            let dir = match &data_dir {
                Some(d) => d.clone(),
                None => tempfile_dir()?,
            };
            let store = server::open(&dir, database.as_deref()).await?;
            if external.is_none() {
                server::build_demo(&store, &dir, 0, 1, now()).await?;
            }
            // One registered station per connection.
            let mut stations = Vec::new();
            let base = jiesu::stations::demo_stations(1, &["420381001".to_string()], "420381D05");
            // MNs unique to this run: a data dir loaded before keeps its samples, and a resent
            // data time would replace one of them instead of adding a sample to count.
            let run = now().timestamp() % 1_000_000;
            anyhow::ensure!(connections < 100_000, "at most 99,999 connections");
            for i in 0..connections {
                let mut s = base[i % jiesu::stations::RIVERS].clone();
                s.station.mn = format!("B{run:06}{i:05}");
                s.flag = 5;
                store
                    .put_station(&jiesu::stations::row(&s), now().timestamp_millis())
                    .await?;
                stations.push(s);
            }
            let (ingest, addr) = match &external {
                None => {
                    let state = server::app_state(store.clone()).await?;
                    let (ingest, addr) = server::start_ingest(store.clone(), &state, "127.0.0.1:0")
                        .await?
                        .context("no listener")?;
                    (Some(ingest), addr)
                }
                Some(a) => {
                    let addr: std::net::SocketAddr = a.parse().context("--server: host:port")?;
                    // The server learns new stations when an unknown MN arrives (at most every
                    // 2 s): knock until the first station is answered.
                    let probe = jiesu::bench_monitor::UploadTemplate::new(
                        &stations[0],
                        &[("w01001", 7.5, "N")],
                    )
                    .context("template")?;
                    let mut known = false;
                    for attempt in 0..15 {
                        let mut c = tokio::net::TcpStream::connect(addr).await?;
                        let mut bytes = Vec::new();
                        probe.write(now().timestamp() - 86_400 - attempt, 0, &mut bytes);
                        use tokio::io::{AsyncReadExt, AsyncWriteExt};
                        c.write_all(&bytes).await?;
                        let mut buf = [0u8; 512];
                        if let Ok(Ok(n)) =
                            tokio::time::timeout(Duration::from_secs(1), c.read(&mut buf)).await
                            && n > 0
                        {
                            known = true;
                            break;
                        }
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    anyhow::ensure!(known, "the server at {addr} does not know the stations");
                    (None, addr)
                }
            };
            let before = store.count_all_samples().await?;
            let r = jiesu::bench_monitor::ingest(addr, stations.clone(), seconds, window).await;
            let stored = store.count_all_samples().await? - before;
            println!(
                "TCP ingest, {} of {connections} connections held, window {window}: {} packets acknowledged in {:.1} s = {:.0} packets/s; ack p50 {:.2} ms, p99 {:.2} ms",
                r.connected,
                r.acked,
                r.seconds,
                r.acked as f64 / r.seconds,
                r.p50_ms,
                r.p99_ms
            );
            println!(
                "samples stored: {stored} for {} acknowledged packets (5 factors each): {}",
                r.acked,
                if stored == r.acked as i64 {
                    "every acknowledged packet stored"
                } else {
                    "MISMATCH"
                }
            );
            anyhow::ensure!(
                stored >= r.acked as i64,
                "acknowledged packets missing from the store"
            );
            // Alarm latency: three bad readings, then time until the case exists.
            let st = &stations[0];
            let mut c = tokio::net::TcpStream::connect(addr).await?;
            let mut lat = Vec::new();
            for round in 0u32..5 {
                for k in 0u32..3 {
                    let at = now() + chrono::Duration::seconds(i64::from(round * 10 + k));
                    let vals = [("w21003", 1.4, "N"), ("w01009", 7.5, "N")];
                    let pkt =
                        jiesu::simulate::upload(st, at, &vals, 90_000 + u64::from(round * 10 + k))
                            .encode(jiesu_hj212::CrcMode::Standard);
                    let t = std::time::Instant::now();
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    c.write_all(pkt.as_bytes()).await?;
                    let mut buf = [0u8; 256];
                    let _ = c.read(&mut buf).await?;
                    if k == 2 {
                        while store
                            .open_alarm(&st.station.mn, "water_quality")
                            .await?
                            .is_none()
                        {
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                }
                // Recover, so the next round opens a new alarm and case.
                let at = now() + chrono::Duration::seconds(i64::from(round * 10 + 5));
                let good = jiesu::simulate::upload(
                    st,
                    at,
                    &[("w21003", 0.2, "N"), ("w01009", 7.5, "N")],
                    95_000 + u64::from(round),
                )
                .encode(jiesu_hj212::CrcMode::Standard);
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                c.write_all(good.as_bytes()).await?;
                let mut buf = [0u8; 256];
                let _ = c.read(&mut buf).await?;
            }
            lat.sort_by(|a, b| a.total_cmp(b));
            println!(
                "alarm case opened after the triggering reading: max {:.1} ms over {} alarms (each: intake + dispatch committed)",
                lat.last().copied().unwrap_or(0.0),
                lat.len()
            );
            let _ = ingest;
            Ok(())
        }
        BenchCmd::Intake {
            concurrency,
            seconds,
            rounds,
            database,
        } => {
            let dir = tempfile_dir()?;
            let store = server::open(&dir, database.as_deref()).await?;
            let users = server::build_demo(&store, &dir, 0, 1, now()).await?;
            let backend = format!("{:?}", store.backend());
            let writer = store.clone();
            let state = server::app_state(store).await?;
            // Intake is measured as a server runs it: with the deadline clock on.
            jiesu::clock::start(state.clone(), server::node_name());
            let (addr, _h) = server::spawn(state, "127.0.0.1:0").await?;
            let echo = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let echo_addr = echo.local_addr()?;
            tokio::spawn(async move {
                let _ =
                    jiesu_api::serve(echo, jiesu_api::echo_router(), std::future::pending()).await;
            });
            let body = json!({"kind": "complaint", "category": "urban.street_vending", "title": "丹二巷占道经营严重",
                "description": "市民反映丹二巷早晚有商贩占道经营，行人只能走机动车道。", "address": "丹江口市均州路街道丹二巷",
                "reporter": {"name": "王先生", "phone": "13812345678"}});
            let echo_client = Client::new(format!("http://{echo_addr}"));
            let body = hyper::body::Bytes::from(serde_json::to_vec(&body)?);
            let b2 = body.clone();
            let echo_make: loadgen::MakeRequest =
                Arc::new(move |_| ("POST".into(), "/echo".into(), vec![], Some(b2.clone())));
            let d = Duration::from_secs(seconds);
            println!("warming up…");
            let _ = loadgen::run(
                "warm-up",
                vec![echo_client.clone()],
                concurrency,
                Duration::from_secs(1),
                echo_make.clone(),
                |s| s == 200,
            )
            .await;
            let base = Client::new(format!("http://{addr}"));
            let op = users
                .iter()
                .find(|u| u.username == "operator")
                .context("no operator")?;
            let c = base.login(&op.username, &op.password).await?;
            let run_id = now().timestamp_millis();
            let make: loadgen::MakeRequest = Arc::new(move |n| {
                (
                    "POST".into(),
                    "/api/v1/cases".into(),
                    vec![("idempotency-key".into(), format!("bench-{run_id}-{n}"))],
                    Some(body.clone()),
                )
            });
            let mut totals = [(0u64, 0f64); 2];
            let mut cpu = [0f64; 2];
            for round in 0..rounds.max(1) {
                let e = loadgen::run(
                    "axum JSON echo",
                    vec![echo_client.clone()],
                    concurrency,
                    d,
                    echo_make.clone(),
                    |s| s == 200,
                )
                .await;
                println!("{}", e.line());
                // Each round its own keys: a key seen before would answer without a new case.
                let make = make.clone();
                let offset = u64::from(round) << 40;
                let batches_before = writer.writer_stats().batches.load(Ordering::Relaxed);
                let busy_before = writer.writer_stats().busy_micros.load(Ordering::Relaxed);
                let writer_cpu_before = loadgen::thread_cpu_ns("jiesu-writer");
                let i = loadgen::run(
                    &format!("POST /api/v1/cases ({backend})"),
                    vec![c.clone()],
                    concurrency,
                    d,
                    Arc::new(move |n| make(offset + n)),
                    |s| s == 201,
                )
                .await;
                println!("{}", i.line());
                let batches =
                    writer.writer_stats().batches.load(Ordering::Relaxed) - batches_before;
                let busy = writer.writer_stats().busy_micros.load(Ordering::Relaxed) - busy_before;
                let writer_cpu = match (writer_cpu_before, loadgen::thread_cpu_ns("jiesu-writer")) {
                    (Some(a), Some(b)) => format!(
                        ", on CPU {:.1} µs per case",
                        b.saturating_sub(a) as f64 / 1000.0 / i.requests.max(1) as f64
                    ),
                    _ => String::new(),
                };
                println!(
                    "writer: {batches} commits, {:.1} cases and {:.2} ms per commit, busy {:.0} % of the time{writer_cpu}",
                    i.requests as f64 / batches.max(1) as f64,
                    busy as f64 / 1000.0 / batches.max(1) as f64,
                    busy as f64 / 1e4 / i.seconds.max(1e-9)
                );
                println!(
                    "round {}: intake / echo = {:.1} %",
                    round + 1,
                    100.0 * i.rate() / e.rate().max(1.0)
                );
                totals[0].0 += e.requests;
                totals[0].1 += e.seconds;
                totals[1].0 += i.requests;
                totals[1].1 += i.seconds;
                for (k, r) in [(0, &e), (1, &i)] {
                    cpu[k] += r.cpu_us_per_request.unwrap_or(0.0) * r.requests as f64;
                }
            }
            let (echo_rate, intake_rate) = (
                totals[0].0 as f64 / totals[0].1.max(1e-9),
                totals[1].0 as f64 / totals[1].1.max(1e-9),
            );
            println!(
                "all rounds: echo {echo_rate:.0} req/s, intake {intake_rate:.0} cases/s, intake / echo = {:.1} %",
                100.0 * intake_rate / echo_rate.max(1.0)
            );
            let (echo_cpu, intake_cpu) = (
                cpu[0] / totals[0].0.max(1) as f64,
                cpu[1] / totals[1].0.max(1) as f64,
            );
            if echo_cpu > 0.0 {
                println!(
                    "all rounds: CPU per request (whole process): echo {echo_cpu:.1} µs, intake {intake_cpu:.1} µs, echo / intake = {:.1} %",
                    100.0 * echo_cpu / intake_cpu.max(1e-9)
                );
            }
            Ok(())
        }
        BenchCmd::Clock { cases, database } => {
            let dir = tempfile_dir()?;
            jiesu::bench_clock::run(cases, database, &dir, now()).await?;
            let _ = std::fs::remove_dir_all(&dir);
            Ok(())
        }
        BenchCmd::Suggest {
            data_dir,
            database,
            texts,
        } => {
            let store = server::open(&data_dir, database.as_deref()).await?;
            let juris = store.load_jurisdiction().await?;
            let jieba = jiesu::search_index::dictionary(&juris);
            let t = std::time::Instant::now();
            let router = jiesu::routing::build(&store, &juris, jieba.clone()).await?;
            println!("router trained in {:.1} s", t.elapsed().as_secs_f64());
            // The texts: the store's cases as they were taken (title, description, address).
            let mut inputs = Vec::new();
            let mut after = String::new();
            while inputs.len() < texts {
                let (cases, last) = store.cases_after(&after, 5_000).await?;
                let Some(last) = last else { break };
                after = last;
                inputs.extend(cases.into_iter().map(|c| {
                    (
                        c.draft.title,
                        c.draft.description,
                        c.draft.address,
                        c.draft.location,
                    )
                }));
            }
            inputs.truncate(texts);
            let mut times = Vec::with_capacity(inputs.len());
            for (title, description, address, location) in &inputs {
                let t = std::time::Instant::now();
                let place = juris.org.place_of_report(*location, address.as_deref());
                let street = jiesu::routing::place_feature(&juris.org, place);
                let s = router.suggest(title, description, street.as_deref(), 3);
                times.push(t.elapsed());
                std::hint::black_box(s);
            }
            times.sort();
            let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
            println!(
                "suggestion (place + categories + units), {} texts on one thread: p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
                times.len(),
                pct(0.5).as_secs_f64() * 1e6,
                pct(0.99).as_secs_f64() * 1e6,
                times.last().map_or(0.0, |d| d.as_secs_f64() * 1e6)
            );
            // The endpoint, with the duplicate search, over HTTP.
            let users = std::fs::read_to_string(data_dir.join("demo-users.txt"))
                .context("no demo-users.txt")?;
            let password = users
                .lines()
                .map(|l| l.split('\t').collect::<Vec<_>>())
                .find(|f| f.first() == Some(&"operator"))
                .and_then(|f| f.get(1).map(|s| s.to_string()))
                .context("no operator in demo-users.txt")?;
            let state = server::app_state(store).await?;
            state.set_router(Arc::new(router));
            let (addr, _h) = server::spawn(state, "127.0.0.1:0").await?;
            let op = Client::new(format!("http://{addr}"))
                .login("operator", &password)
                .await?;
            let mut http = Vec::new();
            for (title, description, address, location) in inputs.iter().take(2_000) {
                let body = serde_json::json!({"title": title, "description": description, "address": address,
                    "lon": location.map(|p| p.lon), "lat": location.map(|p| p.lat)});
                let t = std::time::Instant::now();
                let r = op.post("/api/v1/routing/suggest", &body).await?;
                http.push(t.elapsed());
                anyhow::ensure!(r.status == 200, "suggest answered {}", r.status);
            }
            http.sort();
            let hp = |p: f64| http[((http.len() as f64 * p) as usize).min(http.len() - 1)];
            println!(
                "POST /api/v1/routing/suggest with duplicates, {} requests one at a time: p50 {:.2} ms, p99 {:.2} ms",
                http.len(),
                hp(0.5).as_secs_f64() * 1e3,
                hp(0.99).as_secs_f64() * 1e3
            );
            Ok(())
        }
        BenchCmd::Worklist {
            data_dir,
            database,
            concurrency,
            seconds,
            path,
            users: only,
        } => {
            let only: Option<Vec<String>> =
                only.map(|s| s.split(',').map(str::to_string).collect());
            let store = server::open(&data_dir, database.as_deref()).await?;
            let n = store.count_cases().await?;
            let users = std::fs::read_to_string(data_dir.join("demo-users.txt"))
                .context("no demo-users.txt")?;
            let state = server::app_state(store).await?;
            let (addr, _h) = server::spawn(state, "127.0.0.1:0").await?;
            let base = Client::new(format!("http://{addr}"));
            let mut clients = Vec::new();
            for line in users.lines() {
                let f: Vec<&str> = line.split('\t').collect();
                let chosen = match &only {
                    Some(names) => f.len() >= 2 && names.iter().any(|n| n == f[0]),
                    None => f.len() >= 3 && (f[2] == "handler" || f[2] == "dispatcher"),
                };
                if chosen {
                    clients.push(base.login(f[0], f[1]).await?);
                }
            }
            anyhow::ensure!(!clients.is_empty(), "no such demo users");
            println!("{n} cases stored; {} signed-in users", clients.len());
            let label = format!("GET {path}");
            let make: loadgen::MakeRequest =
                Arc::new(move |_| ("GET".into(), path.clone(), vec![], None));
            let r = loadgen::run(
                &label,
                clients,
                concurrency,
                Duration::from_secs(seconds),
                make,
                |s| s == 200,
            )
            .await;
            println!("{}", r.line());
            Ok(())
        }
    }
}

/// `jiesu bench assessment`: see docs/PERFORMANCE.md.
async fn bench_assessment(
    cases: usize,
    rounds: usize,
    database: Option<String>,
) -> anyhow::Result<()> {
    use jiesu_domain::assessment::{AssessmentRules, Period, figures, rank};
    use jiesu_store::assessment::bench;
    let dir = tempfile_dir()?;
    let store = server::open(&dir, database.as_deref()).await?;
    // Beijing's 343 streets and towns, and 60 departments.
    let streets: Vec<String> = (1..=343).map(|i| format!("S{i:03}")).collect();
    let units: Vec<String> = streets
        .iter()
        .cloned()
        .chain((1..=60).map(|i| format!("D{i:02}")))
        .collect();
    let started = std::time::Instant::now();
    let rows = bench::fill(&store, cases, &units, 2026).await?;
    println!(
        "loaded {cases} cases over 2026 for {} units: {rows} unit-day counter rows, {cases} projection rows, in {:.1} s ({:?})",
        units.len(),
        started.elapsed().as_secs_f64(),
        store.backend()
    );
    let month = Period::parse("2026-10")?;
    let rules = AssessmentRules::default();
    let (mut agg, mut plain) = (Vec::new(), Vec::new());
    let mut ranked_units = 0;
    for _ in 0..rounds.max(1) {
        let t = std::time::Instant::now();
        let counters = store.unit_counters(&month).await?;
        let mut ranking: Vec<_> = streets
            .iter()
            .map(|u| {
                let c = counters.get(u).cloned().unwrap_or_default();
                figures(&jiesu_domain::UnitId::new(u), u, &c, &rules)
            })
            .collect();
        rank(&mut ranking, &rules);
        agg.push(t.elapsed());
        ranked_units = ranking.iter().filter(|r| r.rank.is_some()).count();
        let t = std::time::Instant::now();
        let grouped = bench::projection_group_by(&store, &month).await?;
        plain.push(t.elapsed());
        anyhow::ensure!(!grouped.is_empty(), "the GROUP BY found nothing");
    }
    let stats = |v: &mut Vec<Duration>| {
        v.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        (ms(v[v.len() / 2]), ms(v[v.len() - 1]))
    };
    let (a_med, a_max) = stats(&mut agg);
    let (p_med, p_max) = stats(&mut plain);
    println!(
        "2026-10 ranking of 343 streets ({ranked_units} ranked), {} rounds each, interleaved:",
        agg.len()
    );
    println!(
        "  from unit_day_stats (sum + figures + rank): median {a_med:.2} ms, max {a_max:.2} ms"
    );
    println!(
        "  plain GROUP BY over cases (counts only):    median {p_med:.2} ms, max {p_max:.2} ms"
    );
    println!("  ratio: {:.1}×", p_med / a_med.max(1e-9));
    store.close().await;
    if database.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

fn hj212_parse(mode: jiesu_hj212::CrcMode) -> anyhow::Result<()> {
    use std::io::{BufRead, Write};
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in stdin.lock().split(b'\n') {
        let mut line = line?;
        if line.last() == Some(&b'\r') {
            line.pop();
            line.extend_from_slice(b"\r\n");
        }
        if line.is_empty() {
            continue;
        }
        // The four characters \r\n at the end stand for CR LF.
        if line.ends_with(b"\\r\\n") {
            line.truncate(line.len() - 4);
            line.extend_from_slice(b"\r\n");
        }
        let v = match jiesu_hj212::parse(&line, mode) {
            Ok(p) => {
                let mut cp = serde_json::Map::new();
                for (k, v) in p.cp.iter().flatten() {
                    cp.entry(k.clone()).or_insert_with(|| json!(v));
                }
                json!({
                    "ok": true, "qn": p.qn, "st": p.st, "cn": p.cn, "pw": p.pw, "mn": p.mn,
                    "flag": p.flag, "pnum": p.pnum, "pno": p.pno, "version": p.version(),
                    "needs_ack": p.needs_ack(), "cp": cp,
                })
            }
            Err(e) => json!({"ok": false, "error": e.code(), "detail": e.to_string()}),
        };
        writeln!(out, "{v}")?;
    }
    out.flush()?;
    Ok(())
}

fn water_classify(waterbody: &str, verbose: bool, readings: &[String]) -> anyhow::Result<()> {
    let wb = jiesu_monitor::Waterbody::parse(waterbody)
        .with_context(|| format!("--waterbody {waterbody:?}: use river or lake"))?;
    let mut values = Vec::new();
    for r in readings {
        let (code, v) = r
            .split_once('=')
            .with_context(|| format!("{r:?}: expected CODE=VALUE, e.g. w21003=1.2"))?;
        let v: f64 = v
            .trim()
            .parse()
            .with_context(|| format!("{r:?}: {v:?} is not a number"))?;
        anyhow::ensure!(v.is_finite(), "{r:?}: not a finite number");
        values.push((code.trim().to_string(), v));
    }
    let c = jiesu_monitor::classify(values.iter().map(|(c, v)| (c.as_str(), *v)), wb);
    let mut out = json!({"class": c.class.map(|c| c.as_str()), "worst": c.worst});
    if verbose {
        out["grade"] = json!(c.class.map(|c| c.grade_zh()));
        out["factors"] = c
            .factors
            .iter()
            .map(|f| json!({"code": f.code, "value": f.value, "class": f.class.as_str()}))
            .collect();
    }
    println!("{out}");
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let d = std::env::temp_dir().join(format!("jiesu-bench-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
