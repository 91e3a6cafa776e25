//! The live stream (`GET /api/v1/events/stream`) over real TCP: a write reaches the streams it
//! concerns and no other, a reconnect with `Last-Event-ID` replays what was missed, and with two
//! servers on one PostgreSQL a case taken on one reaches a stream on the other.

mod support;

use std::time::Duration;

use jiesu::client::Client;
use serde_json::{Value, json};
use support::Node;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const DEPT1: &str = "420381D01";
const DEPT2: &str = "420381D02";

/// An open event stream, read frame by frame.
struct Stream {
    lines: tokio::io::Lines<BufReader<TcpStream>>,
}

#[derive(Debug)]
struct Frame {
    id: i64,
    data: Value,
}

impl Stream {
    async fn open(base: &str, token: &str, last_id: Option<i64>) -> Stream {
        let addr = base.trim_start_matches("http://");
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let resume = last_id
            .map(|n| format!("last-event-id: {n}\r\n"))
            .unwrap_or_default();
        let req = format!(
            "GET /api/v1/events/stream HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
             accept: text/event-stream\r\n{resume}\r\n"
        );
        tcp.write_all(req.as_bytes()).await.unwrap();
        let mut lines = BufReader::new(tcp).lines();
        let status = lines.next_line().await.unwrap().unwrap();
        assert!(status.contains(" 200 "), "{status}");
        let mut saw_type = false;
        while let Some(l) = lines.next_line().await.unwrap() {
            if l.to_ascii_lowercase()
                .starts_with("content-type: text/event-stream")
            {
                saw_type = true;
            }
            if l.is_empty() {
                break;
            }
        }
        assert!(saw_type, "not an event stream");
        Stream { lines }
    }

    /// The next `case` frame within `wait`, or None.
    async fn next(&mut self, wait: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + wait;
        let (mut id, mut data, mut event) = (None, None, None);
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.next_line())
                .await
                .ok()?
                .ok()??;
            // Chunked framing: size lines are hex digits only; event lines have a colon.
            if let Some(v) = line.strip_prefix("id: ") {
                id = v.trim().parse().ok();
            } else if let Some(v) = line.strip_prefix("event: ") {
                event = Some(v.trim().to_string());
            } else if let Some(v) = line.strip_prefix("data: ") {
                data = serde_json::from_str(v).ok();
            } else if line.is_empty() && event.as_deref() == Some("case") {
                return Some(Frame {
                    id: id?,
                    data: data.take()?,
                });
            }
        }
    }

    /// Frames until one for `number` arrives (within `wait`); the frames before it too.
    async fn until(&mut self, number: &str, wait: Duration) -> Vec<Frame> {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let f = self
                .next(left)
                .await
                .unwrap_or_else(|| panic!("no event for {number}; saw {seen:?}"));
            let done = f.data["number"] == number;
            seen.push(f);
            if done {
                return seen;
            }
        }
    }
}

fn token(c: &Client) -> String {
    c.token().expect("signed in").to_string()
}

async fn new_case(op: &Client, title: &str) -> Value {
    let r = op
        .post(
            "/api/v1/cases",
            &json!({"kind": "complaint", "category": "urban.street_vending", "title": title,
                    "reporter": {"name": "李女士", "phone": "13912345678"}}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

async fn dispatch(disp: &Client, id: &str, unit: &str) {
    let r = disp
        .post(
            &format!("/api/v1/cases/{id}/commands"),
            &json!({"type": "dispatch", "unit": unit}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

async fn scoped_and_resumable(node: &Node) {
    let op = node.login("operator").await;
    let disp = node.login("dispatcher").await;
    let h2 = node.login("handler_d02").await;
    let mut county = Stream::open(&node.base, &token(&disp), None).await;
    let mut dept2 = Stream::open(&node.base, &token(&h2), None).await;

    let a = new_case(&op, "直播流：派往一号部门").await;
    let a_id = a["id"].as_str().unwrap();
    let a_no = a["number"].as_str().unwrap();
    let got = county.until(a_no, Duration::from_secs(5)).await;
    let received = got.last().unwrap();
    assert_eq!(received.data["type"], "received");
    assert_eq!(received.data["case_id"], a_id);
    dispatch(&disp, a_id, DEPT1).await;
    let got = county.until(a_no, Duration::from_secs(5)).await;
    assert_eq!(got.last().unwrap().data["state"], "dispatched");
    let seen_at = got.last().unwrap().id;

    // Department 2 sees nothing of department 1's case: its first frame is its own case's.
    let b = new_case(&op, "直播流：派往二号部门").await;
    let b_id = b["id"].as_str().unwrap();
    let b_no = b["number"].as_str().unwrap();
    dispatch(&disp, b_id, DEPT2).await;
    let got = dept2.until(b_no, Duration::from_secs(5)).await;
    assert!(
        got.iter().all(|f| f.data["number"] == b_no),
        "department 2 saw another unit's case: {got:?}"
    );

    // A unit summoned beside the holder (吹哨报到) reads the case, so its stream shows it.
    let c = new_case(&op, "直播流：一号部门牵头，二号部门报到").await;
    let c_id = c["id"].as_str().unwrap();
    let c_no = c["number"].as_str().unwrap();
    let r = disp
        .post(
            &format!("/api/v1/cases/{c_id}/commands"),
            &json!({"type": "dispatch", "unit": DEPT1, "co_units": [DEPT2]}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let got = dept2.until(c_no, Duration::from_secs(5)).await;
    assert_eq!(got.last().unwrap().data["state"], "dispatched");

    // A dropped connection resumes where it stopped: the frames after `seen_at` come again.
    drop(county);
    let mut again = Stream::open(&node.base, &token(&disp), Some(seen_at)).await;
    let replay = again.until(b_no, Duration::from_secs(5)).await;
    assert!(replay.iter().all(|f| f.id > seen_at), "{replay:?}");
    assert!(
        replay
            .iter()
            .any(|f| f.data["type"] == "received" && f.data["number"] == b_no)
    );
    assert!(replay.windows(2).all(|w| w[0].id < w[1].id), "in log order");

    // Without a session there is no stream.
    let r = Client::new(node.base.clone())
        .get("/api/v1/events/stream")
        .await
        .unwrap();
    assert_eq!(r.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_streams_are_scoped_and_resume() {
    let node = Node::start(tempfile::tempdir().unwrap().keep(), None, "live", None);
    scoped_and_resumable(&node).await;
    node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_streams_are_scoped_and_resume() {
    let Some(url) = jiesu_store::testing::fresh_pg_database("jiesu_live").await else {
        return;
    };
    let node = Node::start(tempfile::tempdir().unwrap().keep(), Some(url), "live", None);
    scoped_and_resumable(&node).await;
    node.stop();
}

/// Two nodes on one fresh PostgreSQL database (None without a server).
async fn two_nodes(prefix: &str) -> Option<(Node, Node)> {
    support::two_nodes(prefix).await.map(|(a, b, _, _)| (a, b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_taken_on_one_node_reaches_a_stream_on_the_other() {
    let Some((a, b)) = two_nodes("jiesu_live2").await else {
        return;
    };
    let disp_b = b.login("dispatcher").await;
    let mut on_b = Stream::open(&b.base, &token(&disp_b), None).await;
    let op_a = a.login("operator").await;
    let c = new_case(&op_a, "双节点直播流").await;
    let got = on_b
        .until(c["number"].as_str().unwrap(), Duration::from_secs(2))
        .await;
    assert_eq!(got.last().unwrap().data["type"], "received");
    a.stop();
    b.stop();
}

/// A user disabled on one node loses his open stream on the other at once (it would otherwise
/// run on with the grants he had when he opened it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_users_stream_ends_on_every_node() {
    let Some((a, b)) = two_nodes("jiesu_live3").await else {
        return;
    };
    let h = b.login("handler_d02").await;
    let mut stream = Stream::open(&b.base, &token(&h), None).await;
    let admin = a.login("admin").await;
    let users = admin.get("/api/v1/admin/users").await.unwrap().json();
    let id = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "handler_d02")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let t = std::time::Instant::now();
    let r = admin
        .post(
            &format!("/api/v1/admin/users/{id}/disable"),
            &serde_json::json!({}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    // The stream closes: reading reaches its end (or an error) well before the 15 s ping.
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match stream.lines.next_line().await {
                // The chunked body's last chunk: the response is over.
                Ok(Some(l)) if l == "0" => return,
                Ok(Some(_)) => continue,
                _ => return,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the stream stayed open");
    println!("stream ended {:?} after the disable", t.elapsed());
    a.stop();
    b.stop();
}
