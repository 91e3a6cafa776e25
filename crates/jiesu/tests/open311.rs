//! Open311 GeoReport v2 end to end, on SQLite and on PostgreSQL: discovery, services and their
//! definitions, POST with its key and every refusal, the idempotent retry, GET of one request and
//! of lists with their filters, tokens, and that the public reads show only Open311 cases with the
//! reporter hidden. Every answer is read in both formats and the XML is checked to say exactly
//! what the JSON says (the spec's mechanical mapping).

mod support;

use std::process::Command;

use jiesu::client::{Client, Response};
use quick_xml::events::Event;
use serde_json::{Value, json};
use support::Env;

const BIN: &str = env!("CARGO_BIN_EXE_jiesu");

/// A form's fields, in order.
type Form<'a> = Vec<(&'a str, &'a str)>;
const BASE: &str = "/open311/v2";

/// An XML element: name, text, children.
#[derive(Debug)]
struct Elem {
    name: String,
    text: String,
    children: Vec<Elem>,
}

/// Parses a whole document (failing on anything ill-formed) into its root element.
fn parse_xml(body: &[u8]) -> Elem {
    let text = std::str::from_utf8(body).expect("utf-8");
    assert!(
        text.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
        "no declaration: {text}"
    );
    let mut r = quick_xml::Reader::from_str(text);
    let mut stack: Vec<Elem> = vec![Elem {
        name: String::new(),
        text: String::new(),
        children: vec![],
    }];
    loop {
        match r.read_event().expect("well-formed XML") {
            Event::Start(e) => stack.push(Elem {
                name: e.name().0.to_string(),
                text: String::new(),
                children: vec![],
            }),
            Event::Empty(e) => stack.last_mut().unwrap().children.push(Elem {
                name: e.name().0.to_string(),
                text: String::new(),
                children: vec![],
            }),
            Event::Text(t) => stack.last_mut().unwrap().text.push_str(&t.xml10_content()),
            Event::GeneralRef(g) => {
                let c = g.resolve_char_ref().ok().flatten().map(String::from);
                let s = c.unwrap_or_else(|| {
                    match &*g {
                        "lt" => "<",
                        "gt" => ">",
                        "amp" => "&",
                        "quot" => "\"",
                        "apos" => "'",
                        other => panic!("unknown entity {other}"),
                    }
                    .to_string()
                });
                stack.last_mut().unwrap().text.push_str(&s);
            }
            Event::End(_) => {
                let done = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(done);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut top = stack.pop().unwrap();
    assert_eq!(top.children.len(), 1, "one root element");
    top.children.pop().unwrap()
}

/// Whether `x` says what `j` says by the spec's mapping: an array is the element's repeated
/// children, an object its named children, null an empty element.
fn same(x: &Elem, j: &Value, at: &str) {
    match j {
        Value::Array(items) => {
            assert_eq!(x.children.len(), items.len(), "{at}: count");
            for (i, (c, v)) in x.children.iter().zip(items).enumerate() {
                same(c, v, &format!("{at}[{i}]"));
            }
        }
        Value::Object(fields) => {
            assert_eq!(x.children.len(), fields.len(), "{at}: fields");
            for (k, v) in fields {
                let c = x
                    .children
                    .iter()
                    .find(|c| &c.name == k)
                    .unwrap_or_else(|| panic!("{at}: no <{k}>"));
                same(c, v, &format!("{at}.{k}"));
            }
        }
        Value::Null => assert!(x.text.is_empty() && x.children.is_empty(), "{at}: empty"),
        Value::String(s) => assert_eq!(&x.text, s, "{at}"),
        other => assert_eq!(x.text, other.to_string(), "{at}"),
    }
}

/// GETs a resource as JSON and as XML, checks both (status, content type, CORS, the same
/// content) and returns the status and the JSON.
async fn get_both(c: &Client, resource: &str, query: &str) -> (u16, Value) {
    let q = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    let j = c.get(&format!("{BASE}/{resource}.json{q}")).await.unwrap();
    let x = c.get(&format!("{BASE}/{resource}.xml{q}")).await.unwrap();
    assert_eq!(j.status, x.status, "{resource}");
    assert_eq!(j.content_type, "application/json; charset=utf-8");
    assert_eq!(x.content_type, "text/xml; charset=utf-8");
    assert_eq!(j.headers["access-control-allow-origin"], "*");
    let v = j.json();
    let root = parse_xml(&x.body);
    let expect_root = if j.status >= 400 {
        "errors"
    } else {
        match resource.split('/').next().unwrap() {
            "discovery" => "discovery",
            "services" if resource.contains('/') => "service_definition",
            "services" => "services",
            _ => "service_requests",
        }
    };
    assert_eq!(root.name, expect_root, "{resource}");
    same(&root, &v, resource);
    (j.status, v)
}

/// An Open311 error list with this status.
fn assert_error(status: u16, v: &Value, want: u16, words: &str) {
    assert_eq!(status, want, "{v}");
    let e = &v[0];
    assert_eq!(e["code"], want, "{v}");
    let d = e["description"].as_str().unwrap();
    assert!(d.contains(" / "), "Chinese and English: {d}");
    assert!(d.contains(words), "{d} should say {words}");
}

async fn post_form(c: &Client, pairs: &[(&str, &str)], headers: &[(&str, &str)]) -> Response {
    let body: String = form_encode(pairs);
    let mut h = vec![("content-type", "application/x-www-form-urlencoded")];
    h.extend_from_slice(headers);
    c.send("POST", &format!("{BASE}/requests.json"), &h, body)
        .await
        .unwrap()
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A point inside a grid of the demo county, with the grid's street.
fn a_point() -> (f64, f64, String) {
    let county = jiesu::demo::build_county(7);
    let g = &county.grids[5];
    let n = (g.ring.len() - 1) as f64;
    let lon = g.ring[..g.ring.len() - 1].iter().map(|p| p[0]).sum::<f64>() / n;
    let lat = g.ring[..g.ring.len() - 1].iter().map(|p| p[1]).sum::<f64>() / n;
    (lon, lat, g.street.to_string())
}

async fn discovery_and_services(env: &Env) {
    let c = env.client();
    let (s, d) = get_both(&c, "discovery", "").await;
    assert_eq!(s, 200);
    assert_eq!(d["jurisdiction_id"], "djk.gov.cn", "{d}");
    assert_eq!(d["jurisdiction_name"], "丹江口市");
    let ep = &d["endpoints"][0];
    assert_eq!(ep["specification"], "http://wiki.open311.org/GeoReport_v2");
    assert!(ep["url"].as_str().unwrap().ends_with("/open311/v2"), "{ep}");
    assert_eq!(ep["formats"], json!(["text/xml", "application/json"]));
    assert_eq!(d["max_requests"], 1000);
    assert!(d["changeset"].as_str().unwrap().ends_with("+08:00"));

    // Services: the county's leaf categories, grouped by their parent.
    let admin = env.login("admin").await;
    let cats = admin.get("/api/v1/categories").await.unwrap().json();
    let cats = cats["items"].as_array().unwrap();
    let leaves: Vec<&Value> = cats
        .iter()
        .filter(|c| !cats.iter().any(|o| o["parent"] == c["id"]))
        .filter(|c| c["retired"] != true)
        .collect();
    let (s, services) = get_both(&c, "services", "jurisdiction_id=djk.gov.cn").await;
    assert_eq!(s, 200);
    let services = services.as_array().unwrap();
    assert_eq!(services.len(), leaves.len());
    let manhole = services
        .iter()
        .find(|s| s["service_code"] == "urban.manhole")
        .expect("the manhole service");
    assert_eq!(manhole["service_name"], "井盖缺失破损");
    assert_eq!(manhole["type"], "realtime");
    assert_eq!(manhole["metadata"], true);
    let parent = cats.iter().find(|c| c["id"] == "urban").unwrap();
    assert_eq!(manhole["group"], parent["name"]);
    assert!(
        manhole["keywords"]
            .as_str()
            .unwrap()
            .contains("井盖缺失破损")
    );
    assert!(manhole["description"].as_str().unwrap().contains("工作日"));

    // A definition: the attributes a client may send, with their values.
    let (s, def) = get_both(&c, "services/urban.manhole", "").await;
    assert_eq!(s, 200);
    assert_eq!(def["service_code"], "urban.manhole");
    let attrs = def["attributes"].as_array().unwrap();
    let orders: Vec<i64> = attrs.iter().map(|a| a["order"].as_i64().unwrap()).collect();
    assert_eq!(orders, vec![1, 2, 3, 4]);
    let kind = attrs.iter().find(|a| a["code"] == "kind").unwrap();
    assert_eq!(kind["datatype"], "singlevaluelist");
    assert!(
        kind["values"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["key"] == "hazard")
    );
    let info = attrs.iter().find(|a| a["code"] == "deadline").unwrap();
    assert_eq!(info["variable"], false);

    // Refusals in the spec's shape, in both formats.
    let (s, e) = get_both(&c, "services/no.such", "").await;
    assert_error(s, &e, 404, "service_code");
    let (s, e) = get_both(&c, "services/urban", "").await;
    assert_error(s, &e, 404, "service_code");
    let (s, e) = get_both(&c, "services", "jurisdiction_id=sfgov.org").await;
    assert_error(s, &e, 404, "jurisdiction_id");
    // An empty optional parameter is no parameter.
    let (s, _) = get_both(&c, "services", "jurisdiction_id=").await;
    assert_eq!(s, 200);
    let r = c.get(&format!("{BASE}/services.html")).await.unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.json()[0]["code"], 400);
    let (s, e) = get_both(&c, "nothing", "").await;
    assert_error(s, &e, 404, "resource");
    let r = c
        .send("DELETE", &format!("{BASE}/services.json"), &[], "")
        .await
        .unwrap();
    assert_eq!(r.status, 405);
    assert_eq!(r.json()[0]["code"], 405);
}

async fn post_and_follow(env: &Env) {
    let c = env.client();
    let key = env.open311_key.as_str();
    let (lon, lat, street) = a_point();
    let (lon_s, lat_s) = (lon.to_string(), lat.to_string());
    // Unique words, so this run's case is told from other runs' on a shared database.
    let tag = format!("{}{}", env.backend, ulid::Ulid::new());
    let description = format!("小区门口井盖破损，晚上有人差点掉下去。联系电话13912345678 {tag}");
    let good: Vec<(&str, &str)> = vec![
        ("api_key", key),
        ("jurisdiction_id", "djk.gov.cn"),
        ("service_code", "urban.manhole"),
        ("lat", &lat_s),
        ("long", &lon_s),
        ("address_string", "丹江口市均州路街道丹赵路18号"),
        ("description", &description),
        ("first_name", "伟"),
        ("last_name", "张"),
        ("phone", "13912345678"),
        ("email", "zhang@example.com"),
        ("device_id", "dev-1"),
        ("account_id", "acc-77"),
        ("attribute[kind]", "hazard"),
    ];
    let without =
        |k: &str| -> Vec<(&str, &str)> { good.iter().filter(|(n, _)| *n != k).cloned().collect() };
    let with = |k: &'static str, v: &'static str| -> Vec<(&str, &str)> {
        let mut f: Vec<(&str, &str)> = good.iter().filter(|(n, _)| *n != k).cloned().collect();
        f.push((k, v));
        f
    };

    // Every refusal, each with the status the spec gives it.
    let refusals: Vec<(Form, u16, &str)> = vec![
        (without("api_key"), 403, "api_key"),
        (with("api_key", "o311_wrong"), 403, "api_key"),
        (without("service_code"), 400, "service_code"),
        (with("service_code", "no.such"), 404, "service_code"),
        (with("service_code", "urban"), 404, "service_code"),
        (with("jurisdiction_id", "sfgov.org"), 404, "jurisdiction_id"),
        (
            good.iter()
                .filter(|(n, _)| !matches!(*n, "lat" | "long" | "address_string"))
                .cloned()
                .collect(),
            400,
            "location",
        ),
        (without("long"), 400, "lat and long"),
        (with("lat", "91"), 400, "WGS84"),
        (with("long", "NaN"), 400, "WGS84"),
        (with("attribute[kind]", "alarm"), 400, "attribute[kind]"),
        (with("attribute[colour]", "red"), 400, "attribute[colour]"),
        (with("media_url", "ftp://x/y.jpg"), 400, "media_url"),
        (with("phone", "call me"), 400, "phone"),
    ];
    for (form, status, words) in &refusals {
        let r = post_form(&c, form, &[]).await;
        assert_error(r.status, &r.json(), *status, words);
    }
    let long = "长".repeat(4001);
    let r = post_form(
        &c,
        &with("description", Box::leak(long.into_boxed_str())),
        &[],
    )
    .await;
    assert_error(r.status, &r.json(), 400, "4000");
    // A JSON body is not the spec's form.
    let r = c
        .send(
            "POST",
            &format!("{BASE}/requests.json"),
            &[("content-type", "application/json")],
            json!({"api_key": key, "service_code": "urban.manhole"}).to_string(),
        )
        .await
        .unwrap();
    assert_error(r.status, &r.json(), 400, "x-www-form-urlencoded");

    // The report: its number comes back, with what the county will do.
    let r = post_form(&c, &good, &[]).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    let number = v[0]["service_request_id"].as_str().unwrap().to_string();
    assert_eq!(number.len(), 14, "{v}");
    assert!(
        v[0].get("token").is_none(),
        "realtime: no token beside the id"
    );
    assert_eq!(v[0]["account_id"], "acc-77");
    assert!(v[0]["service_notice"].as_str().unwrap().contains(&number));
    // The client lost the answer and posts again: the same case, not a second one.
    let again = post_form(&c, &good, &[]).await.json();
    assert_eq!(again[0]["service_request_id"], number.as_str());
    // The client's own Idempotency-Key works too, and refuses other content under it.
    let idem = format!("k-{tag}");
    let a = post_form(
        &c,
        &with("attribute[title]", "井盖又坏了"),
        &[("idempotency-key", &idem)],
    )
    .await
    .json();
    let second = a[0]["service_request_id"].as_str().unwrap().to_string();
    assert_ne!(second, number);
    let r = post_form(
        &c,
        &with("attribute[title]", "别的"),
        &[("idempotency-key", &idem)],
    )
    .await;
    assert_error(r.status, &r.json(), 400, "Idempotency");

    // In the county's own system: an Open311 case, filed at the street that holds the point,
    // with the reporter as given and the link to nothing fetched.
    let disp = env.login("dispatcher").await;
    let case = disp
        .get(&format!("/api/v1/cases/{number}"))
        .await
        .unwrap()
        .json();
    assert_eq!(case["channel"], "open311", "{case}");
    assert_eq!(case["kind"], "hazard");
    assert_eq!(case["category"], "urban.manhole");
    assert_eq!(case["intake_unit"]["id"], street.as_str(), "{case}");
    let derived: String = description.chars().take(30).collect::<String>() + "…";
    assert_eq!(
        case["title"],
        derived.as_str(),
        "the title is the description's start"
    );
    assert_eq!(case["reporter"]["name_masked"], true);
    let id = case["id"].as_str().unwrap().to_string();
    let title = disp
        .get(&format!("/api/v1/cases/{second}"))
        .await
        .unwrap()
        .json();
    assert_eq!(title["title"], "井盖又坏了");

    // The public reads: the request by number, in both formats, with the reporter hidden.
    let (s, one) = get_both(&c, &format!("requests/{number}"), "").await;
    assert_eq!(s, 200);
    let req = &one[0];
    assert_eq!(req["service_request_id"], number.as_str());
    assert_eq!(req["status"], "open");
    assert_eq!(req["service_code"], "urban.manhole");
    assert_eq!(req["service_name"], "井盖缺失破损");
    let text = req["description"].as_str().unwrap();
    assert!(
        text.contains(&tag) && !text.contains("13912345678"),
        "{text}"
    );
    assert!((req["lat"].as_f64().unwrap() - lat).abs() < 1e-9);
    assert!((req["long"].as_f64().unwrap() - lon).abs() < 1e-9);
    assert!(req["agency_responsible"].is_null());
    assert!(req["expected_datetime"].is_null());
    assert!(
        req["requested_datetime"]
            .as_str()
            .unwrap()
            .ends_with("+08:00")
    );

    // Dispatched: the agency and the expected date show; closed lists apart from open ones.
    let r = disp
        .post(
            &format!("/api/v1/cases/{id}/commands"),
            &json!({"type": "dispatch", "unit": "420381D01"}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let dispatched = r.json();
    let (_, one) = get_both(&c, &format!("requests/{number}"), "").await;
    assert_eq!(
        one[0]["agency_responsible"],
        dispatched["assigned_unit"]["name"]
    );
    assert_eq!(
        one[0]["expected_datetime"],
        dispatched["deadlines"]["resolve_due"]
    );

    // Lists: this run's reports are there by default (the last 90 days), by service, by status.
    let listed = |v: &Value, n: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .any(|r| r["service_request_id"] == n)
    };
    let (s, all) = get_both(&c, "requests", "").await;
    assert_eq!(s, 200);
    assert!(listed(&all, &number) && listed(&all, &second));
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "open" || r["status"] == "closed")
    );
    let (_, v) = get_both(
        &c,
        "requests",
        "service_code=urban.manhole,urban.streetlight&status=open",
    )
    .await;
    assert!(listed(&v, &number));
    let (_, v) = get_both(&c, "requests", "service_code=urban.streetlight").await;
    assert!(!listed(&v, &number));
    let (_, v) = get_both(&c, "requests", "status=closed").await;
    assert!(!listed(&v, &number));
    let (_, v) = get_both(
        &c,
        "requests",
        &format!("service_request_id={number},{second},nope&status=closed"),
    )
    .await;
    assert_eq!(
        v.as_array().unwrap().len(),
        2,
        "ids override the other filters: {v}"
    );
    // Dates: a window around the test clock's day, a window before it, and one too long.
    let (_, v) = get_both(
        &c,
        "requests",
        "start_date=2026-06-01T00:00:00%2B08:00&end_date=2026-06-30",
    )
    .await;
    assert!(listed(&v, &number));
    let (_, v) = get_both(&c, "requests", "start_date=2026-03-01&end_date=2026-05-31").await;
    assert!(!listed(&v, &number));
    let (s, e) = get_both(&c, "requests", "start_date=2026-01-01&end_date=2026-06-30").await;
    assert_error(s, &e, 400, "90");
    let (s, e) = get_both(&c, "requests", "start_date=2026-06-01T00:00:00").await;
    assert_error(s, &e, 400, "W3C");
    let (s, e) = get_both(&c, "requests", "status=pending").await;
    assert_error(s, &e, 400, "status");
    // Pages (the de-facto extension): one at a time, newest first.
    let (_, p1) = get_both(&c, "requests", "page_size=1").await;
    let (_, p2) = get_both(&c, "requests", "page_size=1&page=2").await;
    assert_eq!(p1.as_array().unwrap().len(), 1);
    assert_eq!(p2.as_array().unwrap().len(), 1);
    assert!(p1[0]["requested_datetime"].as_str() >= p2[0]["requested_datetime"].as_str());
    assert_ne!(p1[0]["service_request_id"], p2[0]["service_request_id"]);
    let (s, e) = get_both(&c, "requests", "page_size=1001").await;
    assert_error(s, &e, 400, "page_size");

    // A case that came in by the hotline is not Open311's to show, by list or by number.
    let op = env.login("operator").await;
    let hotline = op
        .post(
            "/api/v1/cases",
            &json!({"kind": "complaint", "category": "urban.manhole", "title": format!("热线 {tag}"),
                    "description": "热线反映井盖破损", "address": "丹江口市均州路街道",
                    "reporter": {"name": "李四", "phone": "13700000000"}}),
        )
        .await
        .unwrap()
        .json();
    let hn = hotline["number"].as_str().unwrap();
    let (s, e) = get_both(&c, &format!("requests/{hn}"), "").await;
    assert_error(s, &e, 404, "service request");
    let (_, v) = get_both(&c, "requests", "").await;
    assert!(!listed(&v, hn));
    // Open311 cases come only through Open311: the JSON API refuses the channel.
    let r = op
        .post(
            "/api/v1/cases",
            &json!({"channel": "open311", "kind": "complaint", "category": "urban.manhole",
                    "title": "冒充", "description": "x"}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 403);

    // Tokens: the case's internal id resolves to its number.
    let (s, t) = get_both(&c, &format!("tokens/{id}"), "").await;
    assert_eq!(s, 200);
    assert_eq!(t[0]["service_request_id"], number.as_str());
    assert_eq!(t[0]["token"], id.as_str());
    let (s, e) = get_both(&c, &format!("tokens/{number}"), "").await;
    assert_error(s, &e, 404, "token");

    // A disabled client's key is refused at once; enabled again, it works.
    let admin = env.login("admin").await;
    let client = "u-open311-demo-app";
    let r = admin
        .post(&format!("/api/v1/admin/users/{client}/disable"), &json!({}))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = post_form(&c, &with("description", "停用后再报"), &[]).await;
    let after = r.json();
    let r2 = admin
        .post(&format!("/api/v1/admin/users/{client}/enable"), &json!({}))
        .await
        .unwrap();
    assert_eq!(r2.status, 200);
    assert_error(r.status, &after, 403, "api_key");
}

/// The county's admin issues keys from the console's API: listed, shown once, working at once.
async fn keys_from_the_console(env: &Env) {
    let admin = env.login("admin").await;
    let r = admin.get("/api/v1/admin/open311/clients").await.unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["jurisdiction_id"], "djk.gov.cn");
    assert_eq!(v["endpoint"], "/open311/v2");
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["username"] == "open311:demo-app" && c["keys"].as_i64() >= Some(1)),
        "{v}"
    );
    let name = format!("gov-{}", env.backend);
    let issue = || async {
        admin
            .post(
                "/api/v1/admin/open311/clients",
                &json!({"name": name, "display_name": "政务服务网"}),
            )
            .await
            .unwrap()
    };
    let r = issue().await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let first = r.json();
    let key = first["key"].as_str().unwrap().to_string();
    assert_eq!(first["client"]["username"], format!("open311:{name}"));
    assert_eq!(first["client"]["keys"], 1);
    // A second key for the same client; both work.
    let second = issue().await.json();
    assert_eq!(second["client"]["keys"], 2);
    let c = env.client();
    for k in [key.as_str(), second["key"].as_str().unwrap()] {
        let r = post_form(
            &c,
            &[
                ("api_key", k),
                ("service_code", "urban.streetlight"),
                ("address_string", "丹江口市均州路街道"),
                ("description", "路灯不亮"),
            ],
            &[],
        )
        .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    // Refusals: a bad name, and anyone but an admin of the county.
    let r = admin
        .post(
            "/api/v1/admin/open311/clients",
            &json!({"name": "Bad Name", "display_name": "x"}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["code"], "validation_failed");
    let op = env.login("operator").await;
    let r = op.get("/api/v1/admin/open311/clients").await.unwrap();
    assert_eq!(r.status, 403);
    let trail = env
        .login("inspector")
        .await
        .get(&format!("/api/v1/audit?target=user:open311:{name}"))
        .await
        .unwrap()
        .json();
    let issued = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "open311_key_issued" && e["actor_name"] == "admin")
        .count();
    assert_eq!(issued, 2, "{trail}");
}

on_both_backends!(
    discovery_and_services,
    post_and_follow,
    keys_from_the_console
);

/// The operator's commands: a new client's key works at once on a serving node, the list shows
/// it, and the jurisdiction_id can be changed (SQLite: the CLI runs beside the node).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_jurisdiction_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap().keep();
    let node = support::Node::start(dir.clone(), None, "o", None);
    let d = dir.to_str().unwrap();
    let out = Command::new(BIN)
        .args([
            "open311",
            "key",
            "--name",
            "wx-app",
            "--display",
            "微信小程序",
            "--data-dir",
            d,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(key.starts_with("o311_") && key.len() == 69, "{key}");
    let refused = Command::new(BIN)
        .args(["open311", "key", "--name", "Bad Name", "--data-dir", d])
        .output()
        .unwrap();
    assert!(!refused.status.success());

    let c = Client::new(node.base.clone());
    let (lon, lat, _) = a_point();
    let (lon_s, lat_s) = (lon.to_string(), lat.to_string());
    let r = post_form(
        &c,
        &[
            ("api_key", &key),
            ("service_code", "urban.streetlight"),
            ("lat", &lat_s),
            ("long", &lon_s),
            ("description", "路灯不亮"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    let out = Command::new(BIN)
        .args(["open311", "clients", "--data-dir", d])
        .output()
        .unwrap();
    let list = String::from_utf8(out.stdout).unwrap();
    assert!(
        list.contains("open311:wx-app") && list.contains("微信小程序"),
        "{list}"
    );
    assert!(list.contains("open311:demo-app"), "{list}");

    let out = Command::new(BIN)
        .args([
            "open311",
            "jurisdiction",
            "danjiangkou.example",
            "--contact",
            "12345",
            "--data-dir",
            d,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, disc) = get_both(&c, "discovery", "").await;
    assert_eq!(disc["jurisdiction_id"], "danjiangkou.example");
    assert_eq!(disc["contact"], "12345");
    let (s, _) = get_both(&c, "services", "jurisdiction_id=djk.gov.cn").await;
    assert_eq!(s, 404);

    // Both the key and the setting are in the audit log.
    let admin = node.login("admin").await;
    let a = admin
        .get("/api/v1/audit?action=open311_key_issued")
        .await
        .unwrap()
        .json();
    let text = a.to_string();
    assert!(
        text.contains("open311:wx-app") && text.contains("open311:demo-app"),
        "{a}"
    );
    node.stop();
}
