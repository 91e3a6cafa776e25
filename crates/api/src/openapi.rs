//! The OpenAPI 3.1 document, built from `ROUTES` (the same table that builds the router).

use axum::Json;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

use crate::ROUTES;

pub fn schemas() -> Value {
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
    let channel = s(&[
        "hotline",
        "web",
        "mobile",
        "open311",
        "grid_patrol",
        "enterprise",
        "project",
        "monitor",
        "whistleblower",
        "supervision",
    ]);
    let kind = s(&[
        "complaint",
        "request",
        "inquiry",
        "suggestion",
        "report",
        "praise",
        "hazard",
        "enterprise_demand",
        "project_issue",
        "alarm",
    ]);
    let cmd = |name: &str, props: Value, required: &[&str]| {
        let mut p = props.as_object().cloned().unwrap_or_default();
        p.insert("type".into(), json!({"const": name}));
        let mut req = vec!["type".to_string()];
        req.extend(required.iter().map(|r| r.to_string()));
        json!({"type": "object", "additionalProperties": false, "required": req, "properties": p})
    };
    let text = json!({"type": "string", "maxLength": 2000});
    let opt_note = json!({"note": text});
    json!({
        "Problem": problem,
        "StationRequest": {"type": "object", "required": ["mn", "name", "st", "unit", "password", "interval_secs"],
            "properties": {
                "mn": {"type": "string"}, "name": {"type": "string"}, "st": {"type": "string", "description": "HJ 212 system code: 21 surface water, 32 discharge, 22 air"},
                "unit": {"type": "string", "description": "responsible unit id"}, "password": {"type": "string"},
                "crc_mode": s(&["standard", "modbus", "modbus_swapped"]),
                "waterbody": s(&["river", "lake"]), "target": s(&["I", "II", "III", "IV", "V"]),
                "interval_secs": {"type": "integer"}, "lon": {"type": "number"}, "lat": {"type": "number"},
                "units": {"type": "object", "additionalProperties": s(&["mg_l", "ug_l", "other"])},
                "emission_limits": {"type": "object", "additionalProperties": {"type": "number"}}
            }},
        "AttachmentUpload": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary", "description": "JPEG, PNG or PDF (by content), at most 10 MiB"}}},
        "TrackRequest": {"type": "object", "additionalProperties": false, "required": ["number", "phone"], "properties": {
            "number": {"type": "string", "description": "case number (14 digits)"},
            "phone": {"type": "string", "maxLength": 20, "description": "the phone the reporter gave"}}},
        "LoginRequest": {"type": "object", "additionalProperties": false, "required": ["username", "password"],
            "properties": {"username": {"type": "string"}, "password": {"type": "string"}}},
        "PasswordChange": {"type": "object", "additionalProperties": false, "required": ["old_password", "new_password"],
            "properties": {"old_password": {"type": "string"},
                           "new_password": {"type": "string", "minLength": 10, "maxLength": 128}}},
        "IntakeRequest": {"type": "object", "additionalProperties": false, "required": ["kind", "title"],
            "properties": {
                "channel": channel, "kind": kind, "category": {"type": "string"},
                "urgency": s(&["normal", "urgent", "critical"]),
                "title": {"type": "string", "maxLength": 100}, "description": {"type": "string", "maxLength": 5000},
                "address": {"type": "string", "maxLength": 200},
                "location": {"type": "object", "required": ["lon", "lat"], "properties": {"lon": {"type": "number"}, "lat": {"type": "number"}}},
                "reporter": {"type": "object", "additionalProperties": false, "properties": {
                    "name": {"type": "string", "maxLength": 50}, "phone": {"type": "string", "maxLength": 20}, "anonymous": {"type": "boolean"}}}
            }},
        "Command": {"oneOf": [
            cmd("answer_directly", json!({"answer": text}), &["answer"]),
            cmd("dispatch", json!({"unit": {"type": "string"}, "co_units": {"type": "array", "items": {"type": "string"}}, "note": text}), &["unit"]),
            cmd("redispatch", json!({"unit": {"type": "string"}, "note": text}), &["unit"]),
            cmd("accept", opt_note.clone(), &[]),
            cmd("return", json!({"reason": text}), &["reason"]),
            cmd("contact", opt_note.clone(), &[]),
            cmd("reply", json!({"outcome": s(&["resolved", "explained", "unresolvable"]), "text": text, "reason": text}), &["outcome", "text"]),
            cmd("review", json!({"decision": s(&["approve", "reject"]), "comment": text}), &["decision"]),
            cmd("callback", json!({"resolved": {"type": "boolean"}, "satisfaction": s(&["satisfied", "basically_satisfied", "unsatisfied", "unreachable"]), "note": text,
                "unit_at_fault": {"type": "boolean", "description": "unsatisfied because of the unit (default true): reopened once (重办), the second rating closes"}}), &["resolved", "satisfaction"]),
            cmd("close", opt_note.clone(), &[]),
            cmd("reopen", json!({"reason": text}), &["reason"]),
            cmd("request_extension", json!({"working_days": {"type": "integer", "minimum": 1, "maximum": 30}, "reason": text}), &["working_days", "reason"]),
            cmd("approve_extension", json!({"comment": text}), &[]),
            cmd("deny_extension", json!({"reason": text}), &["reason"]),
            cmd("suspend", json!({"reason": text}), &["reason"]),
            cmd("resume", opt_note.clone(), &[]),
            cmd("merge", json!({"into": {"type": "string", "description": "id or number of the master case"}}), &["into"]),
            cmd("annotate", json!({"text": text}), &["text"]),
            cmd("whistle", json!({"units": {"type": "array", "minItems": 1, "maxItems": 20, "items": {"type": "string"}, "description": "units summoned (吹哨); each must report in"},
                "lead": {"type": "string", "description": "the unit whose reply completes the case: the whistling unit or a summoned one"}, "note": text}), &["units", "lead"]),
            cmd("report_in", opt_note.clone(), &[]),
            cmd("record_part", json!({"text": text}), &["text"]),
            cmd("supervise", json!({"level": s(&["general", "key", "listed"]), "note": text,
                "due": {"type": "string", "format": "date-time", "description": "the supervision's own due moment, in the future"}}), &["level", "note"]),
            cmd("remind", json!({"note": text}), &["note"]),
            cmd("appeal", json!({"card": {"type": "string", "description": "card id on this case (Y1, R1, …)"}, "reason": text}), &["card", "reason"]),
            cmd("decide_appeal", json!({"card": {"type": "string"}, "decision": s(&["uphold", "revoke"]), "reason": text}), &["card", "decision", "reason"]),
        ]}
    })
}

pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for d in ROUTES {
        let mut op = json!({
            "summary": d.summary,
            "description": d.summary_zh,
            "tags": [d.tag],
            "operationId": format!("{}_{}", d.method, d.path.trim_start_matches('/').replace(['/', '{', '}', '.', '-'], "_")),
            "responses": {
                d.ok.to_string(): {"description": "OK"},
                "default": {"description": "error", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            }
        });
        let mut params: Vec<Value> = d
            .query
            .iter()
            .map(|(n, desc)| json!({"name": n, "in": "query", "required": false, "description": desc, "schema": {"type": "string"}}))
            .collect();
        if d.path.contains("{mn}") {
            params.push(json!({"name": "mn", "in": "path", "required": true, "description": "station number (MN)", "schema": {"type": "string"}}));
        }
        if d.path.contains("{kind}") {
            params.push(json!({"name": "kind", "in": "path", "required": true, "description": "weekly (周调度), monthly (月分析) or quarterly (季考核)", "schema": {"type": "string", "enum": ["weekly", "monthly", "quarterly"]}}));
            op["responses"]["200"]["content"] = json!({
                "application/json": {"schema": {"type": "object"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}}
            });
        }
        if d.path.contains("{id}") {
            params.push(json!({"name": "id", "in": "path", "required": true, "description": "case id or number", "schema": {"type": "string"}}));
        }
        if d.path == "/api/v1/cases" && d.method == "post" {
            params.push(json!({"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string", "maxLength": 128}}));
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
            op["requestBody"] = json!({"required": true, "content": {media: {"schema": {"$ref": format!("#/components/schemas/{b}")}}}});
        }
        if d.auth {
            op["security"] = json!([{"bearer": []}]);
        }
        let entry = paths.entry(d.path.to_string()).or_insert_with(|| json!({}));
        entry[d.method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "jiesu 接诉即办 API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Cases, dispatch, handling and supervision. Errors are application/problem+json."},
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
        }
    })
}

pub async fn serve() -> impl IntoResponse {
    Json(document())
}
