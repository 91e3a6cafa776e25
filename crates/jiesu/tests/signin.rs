//! Sign-in that an attacker cannot turn against its users: failures are counted per username and
//! address and per address, unknown usernames answer exactly like real ones, and the first
//! start's admin password file is private. Clients sign in from other loopback addresses
//! (127.0.0.x: Linux routes all of 127/8 to lo) to be told apart by the server.

mod support;

use std::net::{IpAddr, Ipv4Addr};

use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use support::Env;

/// What a client sees of an answer.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    content_type: String,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Signs in from 127.0.0.`host`; returns the answer and its Retry-After header.
async fn sign_in(env: &Env, host: u8, username: &str, password: &str) -> (Answer, Option<u64>) {
    let mut connector = HttpConnector::new();
    connector.set_local_address(Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, host))));
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let body = json!({"username": username, "password": password}).to_string();
    let req = Request::post(format!("{}/api/v1/auth/login", env.base))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let res = client.request(req).await.expect("the server answers");
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type").unwrap_or_default();
    let retry_after = header("retry-after").map(|v| v.parse().expect("Retry-After in seconds"));
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let answer = Answer {
        status,
        content_type,
        body,
    };
    (answer, retry_after)
}

fn assert_code(a: &Answer, status: u16, code: &str) {
    assert_eq!(
        (a.status, a.json()["code"].as_str()),
        (status, Some(code)),
        "{}",
        String::from_utf8_lossy(&a.body)
    );
}

async fn unknown_usernames_answer_like_real_ones_locked_or_not(env: &Env) {
    let (real, unknown) = ("dispatcher2", "dispatcher9");
    let (wrong, _) = sign_in(env, 2, real, "guess").await;
    let (nobody, _) = sign_in(env, 2, unknown, "guess").await;
    assert_code(&wrong, 401, "invalid_credentials");
    assert_eq!(wrong, nobody, "a wrong password and an unknown user");
    for _ in 1..5 {
        assert_eq!(sign_in(env, 2, real, "guess").await.0, wrong);
        assert_eq!(sign_in(env, 2, unknown, "guess").await.0, wrong);
    }
    // Both are locked from this address now, the real one even with its right password, and
    // the locks read the same: a lock does not tell that a username exists.
    let (locked, real_wait) = sign_in(env, 2, real, &env.password(real)).await;
    let (locked_nobody, nobody_wait) = sign_in(env, 2, unknown, "guess").await;
    assert_code(&locked, 429, "too_many_attempts");
    assert_eq!(
        locked, locked_nobody,
        "a locked user and a locked unknown user"
    );
    for wait in [real_wait, nobody_wait] {
        assert!(wait.is_some_and(|s| s > 60 && s <= 15 * 60), "{wait:?}");
    }
}

async fn five_failures_lock_the_pair_not_the_user_elsewhere(env: &Env) {
    let user = "dispatcher_s01";
    for _ in 0..5 {
        assert_code(
            &sign_in(env, 3, user, "guess").await.0,
            401,
            "invalid_credentials",
        );
    }
    let (locked, wait) = sign_in(env, 3, user, &env.password(user)).await;
    assert_code(&locked, 429, "too_many_attempts");
    assert!(wait.is_some());
    // The attacker's failures do not lock the user out from where the user signs in.
    let (ok, _) = sign_in(env, 4, user, &env.password(user)).await;
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(ok.json()["user"]["username"], user);
}

async fn spraying_from_one_address_is_throttled(env: &Env) {
    // Many people sign in from one office address: successes do not count.
    for _ in 0..25 {
        assert_eq!(
            sign_in(env, 5, "leader", &env.password("leader"))
                .await
                .0
                .status,
            200
        );
    }
    // One guess each at many usernames, real and not: twenty failures throttle the address.
    let mut real: Vec<&String> = env
        .users
        .keys()
        .filter(|u| u.starts_with("handler_c"))
        .collect();
    real.sort();
    for n in 0..20 {
        let username = match real.get(n) {
            Some(u) if n % 2 == 0 => u.to_string(),
            _ => format!("spray{n}"),
        };
        let (a, _) = sign_in(env, 5, &username, "123456").await;
        assert_code(&a, 401, "invalid_credentials");
    }
    let (throttled, wait) = sign_in(env, 5, "leader", &env.password("leader")).await;
    assert_code(&throttled, 429, "too_many_attempts");
    assert!(wait.is_some_and(|s| s > 60), "{wait:?}");
    let (ok, _) = sign_in(env, 6, "leader", &env.password("leader")).await;
    assert_eq!(ok.status, 200, "another address is not throttled");
}

on_both_backends!(
    unknown_usernames_answer_like_real_ones_locked_or_not,
    five_failures_lock_the_pair_not_the_user_elsewhere,
    spraying_from_one_address_is_throttled,
);

#[cfg(unix)]
#[tokio::test]
async fn the_first_start_admin_password_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = jiesu::server::open(dir.path(), None).await.unwrap();
    let now = jiesu_domain::calendar::to_beijing(chrono::Utc::now());
    jiesu::server::bootstrap_if_empty(&store, dir.path(), now)
        .await
        .unwrap();
    let path = dir.path().join("admin-password.txt");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("admin\t") && text.len() > 10, "{text}");
}

/// The printed first-start password is the operator's to read off a console: it must be replaced
/// before the admin does anything else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_admin_must_change_the_printed_password() {
    let dir = tempfile::tempdir().unwrap();
    let store = jiesu::server::open(dir.path(), None).await.unwrap();
    let now = jiesu_domain::calendar::to_beijing(chrono::Utc::now());
    jiesu::server::bootstrap_if_empty(&store, dir.path(), now)
        .await
        .unwrap();
    let text = std::fs::read_to_string(dir.path().join("admin-password.txt")).unwrap();
    let printed = text.trim_end().split('\t').nth(1).unwrap().to_string();
    let state = jiesu::server::app_state(store).await.unwrap();
    let (addr, _h) = jiesu::server::spawn(state, "127.0.0.1:0").await.unwrap();
    let c = jiesu::client::Client::new(format!("http://{addr}"));
    let r = c
        .post(
            "/api/v1/auth/login",
            &serde_json::json!({"username": "admin", "password": printed}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["must_change_password"], true);
    let admin = c.with_token(r.json()["token"].as_str().unwrap().to_string());
    let r = admin.get("/api/v1/admin/users").await.unwrap();
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["code"], "password_change_required");
    let r = admin
        .post(
            "/api/v1/auth/password",
            &serde_json::json!({"old_password": printed, "new_password": "县信息中心管理员口令-01"}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 204);
    let r = admin.get("/api/v1/admin/users").await.unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["items"][0]["must_change_password"], false);
    // The root unit is neither closed nor moved, even by the admin of the whole tree.
    let r = admin
        .post(
            "/api/v1/admin/units",
            &serde_json::json!({"id": "s1", "parent": "root", "kind": "street", "name": "一街道"}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let r = admin
        .post("/api/v1/admin/units/root/close", &serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (409, "root_unit".into())
    );
    let r = admin
        .send_json(
            "PATCH",
            "/api/v1/admin/units/root",
            &serde_json::json!({"parent": "s1"}),
        )
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (409, "root_unit".into())
    );
}
