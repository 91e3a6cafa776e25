//! Test environments: a real jiesu server on 127.0.0.1 over the demo county, on SQLite or on the
//! PostgreSQL server named by DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, Ordering};

use std::path::PathBuf;

use jiesu::client::Client;
use jiesu::demo::DemoUser;
use jiesu_store::Store;

pub struct Env {
    pub base: String,
    pub users: HashMap<String, DemoUser>,
    pub backend: &'static str,
    /// The demo's Open311 API key (`DIR/open311.key`).
    pub open311_key: String,
}

impl Env {
    pub fn client(&self) -> Client {
        Client::new(self.base.clone())
    }
    pub async fn login(&self, username: &str) -> Client {
        let u = self
            .users
            .get(username)
            .unwrap_or_else(|| panic!("no demo user {username}"));
        self.client()
            .login(&u.username, &u.password)
            .await
            .expect("login")
    }
    pub fn password(&self, username: &str) -> String {
        self.users[username].password.clone()
    }
}

/// The test clock: 10 June 2026 09:00 Beijing time, one second later at every reading.
fn clock() -> impl Fn() -> jiesu_domain::Time + Send + Sync + 'static {
    static T: AtomicI64 = AtomicI64::new(0);
    let start = chrono::DateTime::parse_from_rfc3339("2026-06-10T09:00:00+08:00")
        .unwrap()
        .timestamp_millis();
    let _ = T.compare_exchange(0, start, Ordering::SeqCst, Ordering::SeqCst);
    || jiesu_domain::calendar::from_unix_ms(T.fetch_add(1000, Ordering::SeqCst)).unwrap()
}

fn start(database: Option<String>, backend: &'static str) -> Env {
    // Server warnings and errors show in the output of a failing test.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .try_init();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let dir = tempfile::tempdir().unwrap().keep();
            let store = jiesu::server::open(&dir, database.as_deref())
                .await
                .expect("open store");
            let now = jiesu_domain::calendar::to_beijing(
                chrono::DateTime::parse_from_rfc3339("2026-06-10T08:00:00+08:00").unwrap(),
            );
            let users = jiesu::server::build_demo(&store, &dir, 0, 7, now)
                .await
                .expect("demo");
            let state = jiesu::server::app_state(store)
                .await
                .unwrap()
                .with_clock(clock());
            jiesu::search_index::start_for(&state, &dir);
            let (addr, _h) = jiesu::server::spawn(state, "127.0.0.1:0").await.unwrap();
            let open311_key = std::fs::read_to_string(dir.join("open311.key"))
                .expect("the demo writes its Open311 key")
                .trim()
                .to_string();
            tx.send(Env {
                base: format!("http://{addr}"),
                users: users.into_iter().map(|u| (u.username.clone(), u)).collect(),
                backend,
                open311_key,
            })
            .unwrap();
            std::future::pending::<()>().await;
        });
    });
    rx.recv().expect("test server started")
}

pub fn sqlite() -> &'static Env {
    static E: OnceLock<Env> = OnceLock::new();
    E.get_or_init(|| start(None, "sqlite"))
}

/// A fresh, empty PostgreSQL database's URL, or None (with a notice) when no server answers;
/// with JIESU_REQUIRE_PG=1 a missing server is a failure.
pub fn fresh_pg_database() -> Option<String> {
    // Called from synchronous test setup: the database is made on a runtime of its own.
    std::thread::spawn(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a test runtime")
            .block_on(jiesu_store::testing::fresh_pg_database("jiesu_test"))
    })
    .join()
    .expect("creating the test database panicked")
}

pub fn postgres() -> Option<&'static Env> {
    static E: OnceLock<Option<Env>> = OnceLock::new();
    E.get_or_init(|| fresh_pg_database().map(|url| start(Some(url), "postgres")))
        .as_ref()
}

/// Runs each scenario once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name(super::support::sqlite()).await }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(env) = super::support::postgres() { super::$name(env).await }
                }
            )*
        }
    };
}

/// A server on its own runtime and thread; dropping it stops everything it ran (HTTP, clock,
/// writer), as a killed process would, minus the operating system's part.
pub struct Node {
    pub base: String,
    pub store: Store,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    passwords: std::collections::HashMap<String, String>,
}

/// Two nodes on one fresh PostgreSQL database, each with its own data dir (`dir/a`, `dir/b`);
/// `None` when no server answers. Also gives the parent dir and the database URL.
pub async fn two_nodes(prefix: &str) -> Option<(Node, Node, PathBuf, String)> {
    let url = jiesu_store::testing::fresh_pg_database(prefix).await?;
    let dir = tempfile::tempdir().unwrap().keep();
    let a = Node::start(dir.join("a"), Some(url.clone()), "a", None);
    let b = Node::start(dir.join("b"), Some(url.clone()), "b", None);
    Some((a, b, dir, url))
}

impl Node {
    /// `policy`: a deadline policy (TOML) installed before serving.
    pub fn start(dir: PathBuf, database: Option<String>, name: &str, policy: Option<&str>) -> Node {
        Node::start_with_history(dir, database, name, policy, 0)
    }

    /// A node whose demo county comes with `cases` cases of history.
    pub fn start_with_history(
        dir: PathBuf,
        database: Option<String>,
        name: &str,
        policy: Option<&str>,
        cases: usize,
    ) -> Node {
        let policy = policy.map(str::to_string);
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let name = name.to_string();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let store = jiesu::server::open(&dir, database.as_deref())
                    .await
                    .unwrap();
                let now = jiesu_domain::calendar::to_beijing(chrono::Utc::now());
                let users = jiesu::server::build_demo(&store, &dir, cases, 7, now)
                    .await
                    .unwrap();
                if let Some(p) = policy {
                    store.put_setting("deadline_policy", &p).await.unwrap();
                }
                let state = jiesu::server::app_state(store.clone()).await.unwrap();
                let (addr, _h) = jiesu::server::spawn(state.clone(), "127.0.0.1:0")
                    .await
                    .unwrap();
                jiesu::admin_watch::start(state.clone());
                jiesu::search_index::start_for(&state, &dir);
                jiesu::clock::start(state, name);
                tx.send((
                    format!("http://{addr}"),
                    store,
                    users
                        .into_iter()
                        .map(|u| (u.username, u.password))
                        .collect(),
                ))
                .unwrap();
                let _ = stop_rx.await;
            });
            // The runtime drops here: every task it ran is cancelled.
        });
        let (base, store, passwords) = rx.recv().expect("node started");
        Node {
            base,
            store,
            stop: Some(stop_tx),
            thread: Some(thread),
            passwords,
        }
    }

    pub async fn login(&self, user: &str) -> Client {
        Client::new(self.base.clone())
            .login(user, &self.passwords[user])
            .await
            .unwrap()
    }

    pub fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}
