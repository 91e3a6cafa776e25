//! Opening the store, first-run bootstrap, and serving the API.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context as _;
use jiesu_api::{ApiConfig, AppState};
use jiesu_domain::{Grant, OrgUnit, Role, Time, UnitId, UnitKind};
use jiesu_store::{NewUser, Store};

use crate::demo;

pub fn database_url(data_dir: &Path, database: Option<&str>) -> String {
    match database {
        Some(u) => u.to_string(),
        None => format!("sqlite://{}?mode=rwc", data_dir.join("jiesu.db").display()),
    }
}

pub async fn open(data_dir: &Path, database: Option<&str>) -> anyhow::Result<Store> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
    let url = database_url(data_dir, database);
    let store = Store::open(&url)
        .await
        .with_context(|| format!("cannot open database {}", jiesu_store::redact_url(&url)))?;
    demo::ensure_calendar(&store).await?;
    Ok(store)
}

/// This process's name in leases: host, process id and a random suffix (two processes on one
/// host, or one restarted with the same pid, never share a name).
pub fn node_name() -> String {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "node".into());
    let suffix: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{host}-{}-{suffix}", std::process::id())
}

pub fn random_password() -> anyhow::Result<String> {
    let mut b = [0u8; 9];
    // No fallback: an admin password must never be predictable.
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// A fresh database gets one root unit and an `admin` whose password is printed once and written
/// to `DIR/admin-password.txt`.
pub async fn bootstrap_if_empty(store: &Store, data_dir: &Path, now: Time) -> anyhow::Result<()> {
    if !store.load_units().await?.is_empty() {
        return Ok(());
    }
    store
        .put_units(
            &[OrgUnit {
                id: UnitId::new("root"),
                parent: None,
                kind: UnitKind::County,
                name: "本级".into(),
            }],
            &[],
        )
        .await?;
    let pw = random_password()?;
    let hash = tokio::task::spawn_blocking({
        let pw = pw.clone();
        move || jiesu_api::password::hash(&pw)
    })
    .await??;
    store
        .create_user(
            &NewUser {
                id: "u-admin".into(),
                username: "admin".into(),
                display_name: "系统管理员".into(),
                password_hash: hash,
                phone: None,
                must_change_password: true,
                grants: vec![Grant {
                    role: Role::Admin,
                    unit: UnitId::new("root"),
                }],
            },
            now.timestamp_millis(),
        )
        .await?;
    write_private(
        &data_dir.join("admin-password.txt"),
        format!("admin\t{pw}\n").as_bytes(),
    )?;
    println!(
        "first start: created user admin with password {pw} (also in admin-password.txt); it must be changed at the first sign-in"
    );
    Ok(())
}

/// Writes a file only its owner can read (0600 on Unix), readable by nobody else at any moment:
/// the mode is given when the file is created, not set afterwards. A file already there is
/// replaced rather than opened, so neither its mode nor a symlink planted in its place is used.
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

pub async fn app_state(store: Store) -> anyhow::Result<AppState> {
    let juris = store.load_jurisdiction().await?;
    Ok(AppState::new(store, juris, ApiConfig::default()))
}

/// Binds and serves in the background; returns the bound address.
pub async fn spawn(
    state: AppState,
    listen: &str,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let app = jiesu_api::router_with_console(state, Some(crate::console::router()));
    let h = tokio::spawn(async move {
        if let Err(e) = jiesu_api::serve(listener, app, std::future::pending()).await {
            tracing::error!(error = %e, "server stopped");
        }
    });
    Ok((addr, h))
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Deletes expired sessions now and then every hour. Lookups already refuse them; this keeps the
/// table from growing with every sign-in.
pub fn start_housekeeping(store: Store) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            let now = chrono::Utc::now().timestamp_millis();
            match store.purge_sessions(now).await {
                Ok(n) if n > 0 => tracing::info!(deleted = n, "expired sessions purged"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "expired sessions not purged"),
            }
        }
    });
}

/// Serves until SIGINT/SIGTERM.
pub async fn serve_forever(state: AppState, listen: &str, data_dir: &Path) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    start_housekeeping(state.store.clone());
    crate::calendar_watch::start(state.clone());
    crate::admin_watch::start(state.clone());
    crate::clock::start(state.clone(), node_name());
    crate::search_index::start_for(&state, data_dir);
    println!("jiesu listening on http://{}", listener.local_addr()?);
    if !crate::console::built() {
        println!("web console not built (cd web && npm ci && npm run build): serving the API only");
    }
    let app = jiesu_api::router_with_console(state, Some(crate::console::router()));
    jiesu_api::serve(listener, app, shutdown_signal()).await?;
    Ok(())
}

/// Starts the HJ 212 TCP server on `listen`. A port already taken is a warning, not a failure:
/// the API still serves.
pub async fn start_ingest(
    store: Store,
    state: &AppState,
    listen: &str,
) -> anyhow::Result<Option<(std::sync::Arc<crate::ingest::Ingest>, SocketAddr)>> {
    let ingest = crate::ingest::Ingest::new(store, state.juris()).await?;
    match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => {
            let addr = l.local_addr()?;
            println!("HJ 212 listening on {addr}");
            tokio::spawn(crate::ingest::serve(ingest.clone(), l));
            Ok(Some((ingest, addr)))
        }
        Err(e) => {
            eprintln!("warning: HJ 212 server not started, cannot listen on {listen}: {e}");
            Ok(None)
        }
    }
}

/// Builds the demo county into an empty store (or reuses one already built) and returns its users.
pub async fn build_demo(
    store: &Store,
    data_dir: &Path,
    cases: usize,
    seed: u64,
    now: Time,
) -> anyhow::Result<Vec<demo::DemoUser>> {
    let users_path = data_dir.join("demo-users.txt");
    let county = demo::build_county(seed);
    if !store.load_units().await?.is_empty() {
        println!("data dir already holds a county; serving it as it is");
        if !users_path.exists() {
            std::fs::write(&users_path, demo::users_file(&county.users))?;
        }
        demo_open311_key(store, data_dir).await?;
        return Ok(county.users);
    }
    let t = std::time::Instant::now();
    demo::install(store, &county, now).await?;
    std::fs::write(&users_path, demo::users_file(&county.users))?;
    let towns: Vec<String> = county
        .communities
        .iter()
        .map(|(s, _)| s.to_string())
        .collect();
    let env = county
        .departments
        .get(4)
        .map(|u| u.to_string())
        .unwrap_or_default();
    for st in crate::stations::demo_stations(seed, &towns, &env) {
        store
            .put_station(&crate::stations::row(&st), now.timestamp_millis())
            .await?;
    }
    println!(
        "county 丹江口市: {} units, {} categories, {} users ({:.1}s)",
        county.units.len(),
        county.categories.len(),
        county.users.len(),
        t.elapsed().as_secs_f64()
    );
    let juris = std::sync::Arc::new(store.load_jurisdiction().await?);
    let mut hist = demo::History::new(&juris, &county, cases, seed, now);
    let total = hist.total();
    let mut done = 0;
    let t = std::time::Instant::now();
    while let Some(batch) = hist.next_batch(2000) {
        done += store.import(juris.clone(), batch).await?;
        if total >= 20_000 && done % 20_000 < 2000 {
            println!(
                "  history: {done}/{total} cases ({:.0}/s)",
                done as f64 / t.elapsed().as_secs_f64()
            );
        }
    }
    if total > 0 {
        println!(
            "history: {done} cases over 12 months in {:.1}s",
            t.elapsed().as_secs_f64()
        );
    }
    demo_open311_key(store, data_dir).await?;
    Ok(county.users)
}

/// The demo's Open311 client (a citizens' app) and its key, written to `DIR/open311.key` (0600)
/// and printed; the county answers to `jurisdiction_id` djk.gov.cn. A data dir that already has
/// its key keeps it.
async fn demo_open311_key(store: &Store, data_dir: &Path) -> anyhow::Result<()> {
    let path = data_dir.join("open311.key");
    let key = match std::fs::read_to_string(&path) {
        Ok(k) if !k.trim().is_empty() => k.trim().to_string(),
        _ => {
            let audit = |action: &str, target: &str, detail: &str| jiesu_store::AuditEntry {
                at_ms: chrono::Utc::now().timestamp_millis(),
                actor_id: "system".into(),
                actor_name: "演示数据".into(),
                address: "local".into(),
                action: action.into(),
                target: target.into(),
                detail: detail.into(),
            };
            store
                .administer(
                    &jiesu_store::AdminChange::PutSetting {
                        key: jiesu_api::open311::JURISDICTION_SETTING.into(),
                        value: DEMO_JURISDICTION_ID.into(),
                    },
                    &audit(
                        "open311_settings_changed",
                        "setting:open311_jurisdiction_id",
                        DEMO_JURISDICTION_ID,
                    ),
                )
                .await?;
            let key = crate::open311_keys::issue(
                store,
                demo::OPEN311_CLIENT,
                demo::OPEN311_CLIENT_NAME,
                |user| {
                    audit(
                        "open311_key_issued",
                        &format!("user:{user}"),
                        "the demo's citizens' app",
                    )
                },
            )
            .await?;
            write_private(&path, format!("{key}\n").as_bytes())?;
            key
        }
    };
    println!(
        "Open311 GeoReport v2 at /open311/v2 (jurisdiction_id {DEMO_JURISDICTION_ID}); API key \
         (also in {}): {key}",
        path.display()
    );
    Ok(())
}

/// The demo county's Open311 `jurisdiction_id` (the city's own site, as the spec recommends).
pub const DEMO_JURISDICTION_ID: &str = "djk.gov.cn";
