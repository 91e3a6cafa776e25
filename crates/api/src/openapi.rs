//! The OpenAPI 3.1 document, built from `ROUTES` (the same table that builds the router) and the
//! jurisdiction in force: what a field names (a unit, a category) is stated as the set of values
//! that exist now, so the document says exactly what the handlers accept. The test suite holds it
//! to that with a schema-driven fuzzer (schemathesis; `scripts/api-fuzz.sh`).

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use jiesu_domain::{CaseState, Channel, Jurisdiction, Kind, Role, UnitKind};
use serde_json::{Map, Value, json};

use crate::admin::ID_PATTERN;
use crate::{AppState, ROUTES, Schema};

/// Characters a text field refuses (`char::is_control`, except tab and line breaks).
const TEXT: &str = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$";
/// The same, and not blank (something besides whitespace).
const NON_BLANK: &str = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$";
/// A single-line name: no control character at all, not blank.
const NAME: &str = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$";
const PHONE: &str = r"^[0-9+-]{3,20}$";

/// Free text of at most `max` characters (may be empty).
fn text(max: usize) -> Value {
    json!({"type": "string", "maxLength": max, "pattern": TEXT})
}

/// Text that must say something: at most `max` characters, not blank.
fn required_text(max: usize) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": NON_BLANK})
}

fn name(max: usize) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": NAME})
}

fn strings(v: impl IntoIterator<Item = String>) -> Value {
    json!({"type": "string", "enum": v.into_iter().collect::<Vec<_>>()})
}

/// An optional field that also takes `null` (as absent).
fn nullable(v: Value) -> Value {
    json!({"anyOf": [v, {"type": "null"}]})
}

fn component(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// Schemas that depend on the jurisdiction (units, categories) or on the domain's closed sets.
fn vocabulary(j: &Jurisdiction) -> Map<String, Value> {
    let mut units: Vec<String> = j.org.units().map(|u| u.id.to_string()).collect();
    units.sort();
    let open: Vec<String> = units
        .iter()
        .filter(|u| !j.org.is_closed(&jiesu_domain::UnitId::new(u.as_str())))
        .cloned()
        .collect();
    let categories: Vec<String> = j.categories.all().map(|c| c.id.clone()).collect();
    let current: Vec<String> = categories
        .iter()
        .filter(|c| !j.categories.is_retired(c))
        .cloned()
        .collect();
    let states: Vec<&str> = CaseState::ALL.iter().map(|s| s.as_str()).collect();
    // Comma-separated states; blanks between commas are skipped, as the handler does.
    let one = format!(r"\s*({})?\s*", states.join("|"));
    let mut m = Map::new();
    m.insert("UnitId".into(), strings(units));
    m.insert("OpenUnitId".into(), strings(open));
    m.insert("CategoryId".into(), strings(categories));
    m.insert("CurrentCategoryId".into(), strings(current));
    m.insert(
        "CaseStateList".into(),
        json!({"type": "string", "pattern": format!("^{one}(,{one})*$")}),
    );
    m.insert(
        "Channel".into(),
        strings(Channel::ALL.iter().map(|c| c.as_str().to_string())),
    );
    m.insert(
        "Kind".into(),
        strings(Kind::ALL.iter().map(|c| c.as_str().to_string())),
    );
    m.insert(
        "Role".into(),
        strings(Role::ALL.iter().map(|c| c.as_str().to_string())),
    );
    m.insert(
        "UnitKind".into(),
        strings(UnitKind::ALL.iter().map(|c| c.as_str().to_string())),
    );
    m
}

pub fn schemas(j: &Jurisdiction) -> Value {
    let problem = json!({
        "type": "object",
        "required": ["type", "code", "title", "title_en", "status", "detail"],
        "properties": {
            "type": {"type": "string"}, "code": {"type": "string", "description": "stable, snake_case"},
            "title": {"type": "string", "description": "zh-CN"}, "title_en": {"type": "string"},
            "status": {"type": "integer"}, "detail": {"type": "string"}, "field": {"type": "string"}
        }
    });
    let s = |v: &[&str]| json!({"type": "string", "enum": v});
    let obj = |props: Value, required: &[&str]| json!({"type": "object", "additionalProperties": false, "required": required, "properties": props});
    let cmd = |name: &str, props: Value, required: &[&str]| {
        let mut p = props.as_object().cloned().unwrap_or_default();
        // Optional fields are `Option`s (null is absent), but for the list of co-units.
        for (k, v) in p.iter_mut() {
            if !required.contains(&k.as_str()) && k != "co_units" {
                *v = nullable(v.take());
            }
        }
        p.insert("type".into(), json!({"const": name}));
        let mut req = vec!["type".to_string()];
        req.extend(required.iter().map(|r| r.to_string()));
        json!({"type": "object", "additionalProperties": false, "required": req, "properties": p})
    };
    let note = || text(2000);
    let must = || required_text(2000);
    let opt_note = json!({"note": note()});
    let unit = || component("OpenUnitId");
    let id = |max: usize| json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": ID_PATTERN});
    let grant = obj(
        json!({"role": component("Role"), "unit": component("UnitId")}),
        &["role", "unit"],
    );
    let mut all = json!({
        "Problem": problem,
        "StationRequest": obj(json!({
                "mn": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$"},
                "name": {"type": "string", "pattern": r"^[\s\S]*\S[\s\S]*$"},
                "st": {"type": "string", "minLength": 1, "description": "HJ 212 system code: 21 surface water, 32 discharge, 22 air"},
                "unit": component("UnitId"),
                "password": {"type": "string", "pattern": r"^[\x21-\x7E]{1,32}$"},
                "crc_mode": nullable(s(&["standard", "modbus", "modbus_swapped"])),
                "waterbody": nullable(s(&["river", "lake"])), "target": nullable(s(&["I", "II", "III", "IV", "V"])),
                "interval_secs": {"type": "integer", "minimum": 0, "maximum": u32::MAX, "description": "kept within 10..86400"},
                "lon": nullable(json!({"type": "number"})), "lat": nullable(json!({"type": "number"})),
                "units": {"type": "object", "additionalProperties": s(&["mg_l", "ug_l", "other"])},
                "emission_limits": {"type": "object", "additionalProperties": {"type": "number"}}
            }), &["mn", "name", "st", "unit", "password"]),
        "AttachmentUpload": {"type": "object", "additionalProperties": false, "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary", "description": "JPEG, PNG or PDF (by content), at most 10 MiB; anything else is 415"}}},
        "TrackRequest": obj(json!({
            "number": {"type": "string", "description": "case number (14 digits)"},
            "phone": {"type": "string", "description": "the phone the reporter gave"}}), &["number", "phone"]),
        "LoginRequest": obj(json!({"username": {"type": "string"}, "password": {"type": "string"}}), &["username", "password"]),
        "PasswordChange": obj(json!({"old_password": {"type": "string"},
                           "new_password": {"type": "string", "minLength": 10, "maxLength": 128,
                                            "description": "not containing the username, not among the commonest passwords"}}),
                           &["old_password", "new_password"]),
        "SuggestRequest": obj(json!({
                "title": {"type": "string", "maxLength": 100}, "description": nullable(json!({"type": "string", "maxLength": 5000})),
                "address": nullable(json!({"type": "string", "maxLength": 200})),
                "lon": nullable(json!({"type": "number", "minimum": -180, "maximum": 180, "description": "with lat; one alone is ignored"})),
                "lat": nullable(json!({"type": "number", "minimum": -90, "maximum": 90, "description": "with lon; one alone is ignored"}))
            }), &["title"]),
        "IntakeRequest": obj(json!({
                "channel": nullable(component("Channel")), "kind": component("Kind"),
                "category": nullable(component("CurrentCategoryId")),
                "urgency": nullable(s(&["normal", "urgent", "critical"])),
                "title": required_text(100), "description": nullable(text(5000)),
                "address": nullable(text(200)),
                "location": nullable(json!({"type": "object", "required": ["lon", "lat"], "properties": {
                    "lon": {"type": "number", "minimum": -180, "maximum": 180},
                    "lat": {"type": "number", "minimum": -90, "maximum": 90}}})),
                "reporter": nullable(obj(json!({
                    "name": nullable(text(50)), "phone": nullable(json!({"type": "string", "pattern": PHONE})),
                    "anonymous": {"type": "boolean"}}), &[]))
            }), &["kind", "title"]),
        "Command": {"oneOf": [
            cmd("answer_directly", json!({"answer": must()}), &["answer"]),
            cmd("dispatch", json!({"unit": unit(), "co_units": {"type": "array", "uniqueItems": true, "items": unit()}, "note": note()}), &["unit"]),
            cmd("redispatch", json!({"unit": unit(), "note": note()}), &["unit"]),
            cmd("accept", opt_note.clone(), &[]),
            cmd("return", json!({"reason": must()}), &["reason"]),
            cmd("contact", opt_note.clone(), &[]),
            cmd("reply", json!({"outcome": s(&["resolved", "explained", "unresolvable"]), "text": must(), "reason": note()}), &["outcome", "text"]),
            cmd("review", json!({"decision": s(&["approve", "reject"]), "comment": note()}), &["decision"]),
            cmd("callback", json!({"resolved": {"type": "boolean"}, "satisfaction": s(&["satisfied", "basically_satisfied", "unsatisfied", "unreachable"]), "note": note(),
                "unit_at_fault": {"type": "boolean", "description": "unsatisfied because of the unit (default true): reopened once (重办), the second rating closes"}}), &["resolved", "satisfaction"]),
            cmd("close", opt_note.clone(), &[]),
            cmd("reopen", json!({"reason": must()}), &["reason"]),
            cmd("request_extension", json!({"working_days": {"type": "integer", "minimum": 1, "maximum": 30}, "reason": must()}), &["working_days", "reason"]),
            cmd("approve_extension", json!({"comment": note()}), &[]),
            cmd("deny_extension", json!({"reason": must()}), &["reason"]),
            cmd("suspend", json!({"reason": must()}), &["reason"]),
            cmd("resume", opt_note.clone(), &[]),
            cmd("merge", json!({"into": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": NON_BLANK, "description": "id or number of the master case"}}), &["into"]),
            cmd("annotate", json!({"text": must()}), &["text"]),
            cmd("whistle", json!({"units": {"type": "array", "minItems": 1, "maxItems": 20, "uniqueItems": true, "items": unit(), "description": "units summoned (吹哨); each must report in"},
                "lead": unit(), "note": note()}), &["units", "lead"]),
            cmd("report_in", opt_note.clone(), &[]),
            cmd("record_part", json!({"text": must()}), &["text"]),
            cmd("supervise", json!({"level": s(&["general", "key", "listed"]), "note": must(),
                "due": {"type": "string", "format": "date-time", "description": "the supervision's own due moment, in the future"}}), &["level", "note"]),
            cmd("remind", json!({"note": must()}), &["note"]),
            cmd("appeal", json!({"card": {"type": "string", "description": "card id on this case (Y1, R1, …)"}, "reason": must()}), &["card", "reason"]),
            cmd("decide_appeal", json!({"card": {"type": "string"}, "decision": s(&["uphold", "revoke"]), "reason": must()}), &["card", "decision", "reason"]),
        ]},
        "NewUserRequest": obj(json!({
            "username": {"type": "string", "minLength": 3, "maxLength": 32, "pattern": ID_PATTERN},
            "display_name": name(50),
            "password": {"type": "string", "minLength": 10, "maxLength": 128,
                         "description": "handed to the user, who must change it at first sign-in; not containing the username, not among the commonest"},
            "phone": {"type": "string", "pattern": PHONE},
            "grants": {"type": "array", "minItems": 1, "maxItems": 20, "items": grant.clone()}}),
            &["username", "display_name", "password", "grants"]),
        "PasswordReset": obj(json!({"new_password": {"type": "string", "minLength": 10, "maxLength": 128,
            "description": "not containing the username, not among the commonest"}}), &["new_password"]),
        "GrantRequest": grant,
        "NewUnitRequest": obj(json!({"id": id(64), "parent": component("UnitId"), "kind": component("UnitKind"), "name": name(50)}),
            &["id", "parent", "kind", "name"]),
        "UnitChange": {"type": "object", "additionalProperties": false, "minProperties": 1,
            "properties": {"name": name(50), "parent": component("UnitId")}},
        "NewCategoryRequest": obj(json!({"id": id(64), "parent": component("CategoryId"), "name": name(50), "name_en": name(100),
            "default_kind": component("Kind"), "default_unit": component("UnitId")}), &["id", "name", "name_en"]),
        "CategoryChange": {"type": "object", "additionalProperties": false, "minProperties": 1,
            "properties": {"name": name(50), "name_en": name(100), "default_kind": component("Kind"), "default_unit": component("UnitId")}},
        "Open311ClientRequest": obj(json!({"name": {"type": "string", "pattern": crate::open311::clients::NAME_PATTERN},
            "display_name": name(50)}), &["name", "display_name"]),
        "TomlBody": obj(json!({"toml": {"type": "string", "maxLength": crate::admin::MAX_TOML_CHARS}}), &["toml"]),
    });
    if let Some(m) = all.as_object_mut() {
        m.extend(vocabulary(j));
    }
    all
}

fn param_schema(s: Schema) -> Value {
    match s {
        Schema::Text => json!({"type": "string"}),
        Schema::Int(min, max) => json!({"type": "integer", "minimum": min, "maximum": max}),
        Schema::Bool => json!({"type": "boolean"}),
        Schema::Date => json!({"type": "string", "format": "date"}),
        Schema::DateTime => json!({"type": "string", "format": "date-time"}),
        Schema::Enum(v) => json!({"type": "string", "enum": v}),
        Schema::Pattern(p) => json!({"type": "string", "pattern": p}),
        Schema::Component(c) => component(c),
    }
}

/// A path parameter's meaning and schema, by route.
fn path_param(path: &str, name: &str) -> (&'static str, Value) {
    let any = json!({"type": "string"});
    match name {
        "mn" => ("station number (MN)", any),
        "role" => ("the grant's role", component("Role")),
        "unit" => ("the grant's unit", component("UnitId")),
        "id" if path.starts_with("/api/v1/admin/users") => ("user id", any),
        "id" if path.starts_with("/api/v1/admin/units") => ("unit id", component("UnitId")),
        "id" if path.starts_with("/api/v1/admin/categories") => {
            ("category id", component("CategoryId"))
        }
        "id" if path.starts_with("/api/v1/attachments") => ("attachment id", any),
        _ => ("case id or number", any),
    }
}

/// Each report kind takes its own form of period, so the document names the three paths.
const REPORTS: &[(&str, &str, &str)] = &[
    (
        "weekly",
        "周调度 weekly dispatch: an ISO week",
        r"^[0-9]{4}-W(0[1-9]|[1-4][0-9]|5[0-2])$",
    ),
    (
        "monthly",
        "月分析 monthly analysis: a month",
        r"^[0-9]{4}-(0[1-9]|1[0-2])$",
    ),
    (
        "quarterly",
        "季考核 quarterly assessment: a quarter",
        r"^[0-9]{4}-Q[1-4]$",
    ),
];

fn operation(d: &crate::RouteDoc, path: &str) -> Value {
    let mut op = json!({
        "summary": d.summary,
        "description": d.summary_zh,
        "tags": [d.tag],
        "operationId": format!("{}_{}", d.method, path.trim_start_matches('/').replace(['/', '{', '}', '.', '-'], "_")),
        "responses": {
            d.ok.to_string(): {"description": "OK"},
            "default": {"description": "error", "content": {"application/problem+json": {"schema": component("Problem")}}}
        }
    });
    let mut params: Vec<Value> = d
        .query
        .iter()
        .map(|p| {
            json!({"name": p.name, "in": "query", "required": p.required, "description": p.desc,
                   "schema": param_schema(p.schema)})
        })
        .collect();
    for seg in path.split('/') {
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let (desc, schema) = path_param(path, name);
            params.push(json!({"name": name, "in": "path", "required": true, "description": desc, "schema": schema}));
        }
    }
    if path == "/api/v1/cases" && d.method == "post" {
        params.push(json!({"name": "Idempotency-Key", "in": "header", "required": false,
            "description": "a retry with the same key and body answers 200 with the case the first attempt made",
            "schema": {"type": "string", "pattern": r"^[\x21-\x7E]{1,128}$"}}));
        op["responses"]["200"] = json!({"description": "a retry of an earlier request with this Idempotency-Key: the case it made",
            "content": {"application/json": {"schema": {"type": "object"}}}});
    }
    if let Some(r) = REPORTS.iter().find(|r| path.ends_with(r.0)) {
        op["description"] = json!(format!("{} — {}", d.summary_zh, r.1));
        for p in &mut params {
            if p["name"] == "period" {
                p["schema"] = json!({"type": "string", "pattern": r.2});
            }
        }
        op["responses"]["200"]["content"] = json!({
            "application/json": {"schema": {"type": "object"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}}
        });
    }
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
    if let Some(b) = d.body {
        let media = if b == "AttachmentUpload" {
            "multipart/form-data"
        } else {
            "application/json"
        };
        op["requestBody"] = json!({"required": true, "content": {media: {"schema": component(b)}}});
    }
    if d.auth {
        op["security"] = json!([{"bearer": []}]);
    }
    op
}

pub fn document(j: &Jurisdiction) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for d in ROUTES {
        let concrete: Vec<String> = if d.path == "/api/v1/reports/{kind}" {
            REPORTS
                .iter()
                .map(|r| format!("/api/v1/reports/{}", r.0))
                .collect()
        } else {
            vec![d.path.to_string()]
        };
        for path in concrete {
            let entry = paths.entry(path.clone()).or_insert_with(|| json!({}));
            entry[d.method] = operation(d, &path);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "jiesu 接诉即办 API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Cases, dispatch, handling, supervision and administration. Errors are application/problem+json. Units and categories are stated as the values that exist when the document is read."},
        "paths": paths,
        "components": {
            "schemas": schemas(j),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
        }
    })
}

pub async fn serve(State(state): State<AppState>) -> impl IntoResponse {
    Json(document(&state.juris()))
}
