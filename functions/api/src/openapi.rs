//! The API's OpenAPI 3.1 document, served at `GET /openapi.json` and kept in step with the
//! router by a test that calls every documented operation (and nothing undocumented answers).

use axum::Json;
use serde_json::{json, Value};

/// Every (method, path) the router serves, as documented.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/health"),
    ("get", "/openapi.json"),
    ("post", "/chat"),
    ("get", "/rows/{table}/{id}"),
    ("post", "/rows/{table}/{id}/revert"),
    ("post", "/cycles/{id}/apply"),
    ("get", "/policy"),
    ("put", "/policy/{name}"),
    ("get", "/holds"),
    ("post", "/holds/{ref}/release"),
    ("get", "/kill-switch"),
    ("put", "/kill-switch"),
    ("get", "/candidates"),
    ("post", "/candidates/{table}/{id}/{decision}"),
    ("post", "/jobs/{cycle}"),
    ("post", "/jobs/{cycle}/{stage}"),
    ("post", "/slack/commands"),
    ("post", "/slack/interactions"),
];

fn error_response(desc: &str) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn op(summary: &str, security: Value, responses: &[(&str, Value)]) -> Value {
    let mut r = serde_json::Map::new();
    for (code, v) in responses {
        r.insert((*code).to_string(), v.clone());
    }
    json!({"summary": summary, "security": security, "responses": r})
}

fn path_param(name: &str, desc: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": desc, "schema": {"type": "string"}})
}

/// The undo, review-then-apply and policy paths.
fn operator_acts(operator: &Value) -> Vec<(&'static str, Value)> {
    let ok_json = |d: &str| json!({"description": d, "content": {"application/json": {"schema": {"type": "object"}}}});
    let key = json!({"name": "Idempotency-Key", "in": "header", "required": false,
        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
        "description": "same key + same request → the stored response"});
    let (e400, e401, e404) = (
        error_response("malformed request"),
        error_response("missing or wrong credentials"),
        error_response("no such row, cycle or limit"),
    );
    let e409 =
        error_response("refused: not APPLIED / not revertible, another day's cycle, not a dry run");
    let e422 = error_response("a value that is not valid for the limit (the message names it)");
    vec![
        (
            "/rows/{table}/{id}/revert",
            json!({"post": {
            "summary": "Undo an APPLIED move from its stored reversal op: a REVERT row in the same table, made by the executor (kill switch, rate limits), REFUSED when the entity changed since. A repeat answers with the first undo row (`reverted_now: false`).",
            "security": operator,
            "parameters": [path_param("table", "decision_log or ad_decision_log"), path_param("id", "the row's sequence number"), key.clone()],
            "responses": {"200": ok_json("the undo row (`row`), `reverts`, `reverted_now`, `outcome`"),
                          "400": e400, "401": e401, "404": e404.clone(), "409": e409.clone()}}}),
        ),
        (
            "/cycles/{id}/apply",
            json!({"post": {
            "summary": "Apply a COMPLETED dry-run cycle's moves after review, the same store day, each re-checked against the vendor now; rows already past DRY_RUN are left as they are.",
            "security": operator,
            "parameters": [path_param("id", "the cycle id, e.g. brevard:morning:2026-11-24"), key],
            "responses": {"200": ok_json("the report: `applied`, `held`, `refused`, `waiting` (each ref, action, subject, status, outcome) and `untouched`"),
                          "400": e400.clone(), "401": e401.clone(), "404": e404.clone(), "409": e409}}}),
        ),
        (
            "/policy",
            json!({"get": {
            "summary": "Every policy limit: name, unit, stored value and default, and both in human form (`shown`, `default_shown`)",
            "security": operator,
            "responses": {"200": ok_json("`{limits: [...]}`"), "401": e401.clone()}}}),
        ),
        (
            "/policy/{name}",
            json!({"put": {
            "summary": "Change one limit (an operator_log POLICY_SET row records who, from where, old → new)",
            "security": operator,
            "parameters": [path_param("name", "the limit, e.g. discount_percent_bp")],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {
                "type": "object", "required": ["value"], "additionalProperties": false,
                "properties": {"value": {"description": "as a person writes it: \"12.5%\", \"14\", \"on\" (a JSON number or boolean is taken as written)"}}}}}},
            "responses": {"200": ok_json("`limit`, `old`, `row` (null when unchanged)"), "400": e400, "401": e401, "422": e422}}}),
        ),
    ]
}

/// The document.
pub fn document() -> Value {
    let mut doc = document_core();
    let operator = json!([{"operatorBearer": []}]);
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (p, v) in operator_acts(&operator) {
            paths.insert(p.to_string(), v);
        }
    }
    doc
}

fn document_core() -> Value {
    let operator = json!([{"operatorBearer": []}]);
    let worker = json!([{"workerToken": []}]);
    let slack = json!([{"slackSignature": []}]);
    let none = json!([]);
    let ok_json = |d: &str, schema: Value| json!({"description": d, "content": {"application/json": {"schema": schema}}});
    let row = json!({"$ref": "#/components/schemas/Row"});
    let e400 = error_response("malformed request");
    let e401 = error_response("missing or wrong credentials");
    let e404 = error_response("no such row or route");
    let e409 = error_response("the row is not in a state that allows it");
    let e413 = error_response("body larger than 64 KiB");
    let e422 = error_response("well-formed but not acceptable");
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Otto API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Otto answers in rows: every answer cites the audit rows it leans on."},
        "paths": {
            "/health": {"get": op("Liveness", none.clone(), &[("200", ok_json("ok", json!({"type": "object"})))])},
            "/openapi.json": {"get": op("This document", none.clone(), &[("200", ok_json("the document", json!({"type": "object"})))])},
            "/chat": {"post": {
                "summary": "Ask Otto; the answer cites its rows or says \"I don't have a row for that.\"",
                "security": operator,
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["question"], "additionalProperties": false,
                    "properties": {"question": {"type": "string", "maxLength": 2000}}}}}},
                "responses": {"200": ok_json("the answer", json!({"$ref": "#/components/schemas/Answer"})),
                              "400": e400, "401": e401, "413": e413, "422": e422}}},
            "/rows/{table}/{id}": {"get": {
                "summary": "One audit row",
                "security": operator,
                "parameters": [path_param("table", "decision_log, ad_decision_log, cs_thread_evaluations, research_candidates, cycle_runs, stage_runs"),
                               path_param("id", "the row's sequence number")],
                "responses": {"200": ok_json("the row", row.clone()), "400": e400, "401": e401, "404": e404}}},
            "/holds": {"get": op("Held rows, with how to release each", operator.clone(),
                &[("200", ok_json("held rows", json!({"type": "object", "properties": {"holds": {"type": "array", "items": row.clone()}}}))), ("401", e401.clone())])},
            "/holds/{ref}/release": {"post": {
                "summary": "Release a held row; the executor re-checks policy and applies it. Idempotent.",
                "security": operator,
                "parameters": [path_param("ref", "the row ref, `decision_log%2312` or `decision_log:12`")],
                "responses": {"200": ok_json("the row after the release", json!({"type": "object",
                    "properties": {"row": row.clone(), "released_now": {"type": "boolean"}, "outcome": {"type": "string"}}})),
                    "400": e400, "401": e401, "404": e404, "409": e409, "422": e422}}},
            "/kill-switch": {
                "get": op("The kill switch, who flipped it and when", operator.clone(), &[("200", ok_json("state", json!({"$ref": "#/components/schemas/KillSwitch"}))), ("401", e401.clone())]),
                "put": {
                    "summary": "Turn the kill switch on (moves become HELD rows) or off",
                    "security": operator,
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["on"], "additionalProperties": false,
                        "properties": {"on": {"type": "boolean"}, "reason": {"type": "string"}}}}}},
                    "responses": {"200": ok_json("new state", json!({"$ref": "#/components/schemas/KillSwitch"})),
                                  "400": e400, "401": e401, "422": e422}}},
            "/candidates": {"get": op("Research candidates queued for review, best first", operator.clone(),
                &[("200", ok_json("candidates", json!({"type": "object", "properties": {"candidates": {"type": "array", "items": row.clone()}}}))), ("401", e401.clone())])},
            "/candidates/{table}/{id}/{decision}": {"post": {
                "summary": "Approve or reject a research candidate",
                "security": operator,
                "parameters": [path_param("table", "research_candidates"), path_param("id", "sequence number"),
                               path_param("decision", "approve or reject")],
                "requestBody": {"required": false, "content": {"application/json": {"schema": {
                    "type": "object", "additionalProperties": false,
                    "properties": {"by": {"type": "string", "deprecated": true, "description": "ignored: the reviewer recorded is the authenticated operator"}, "reason": {"type": "string"}}}}}},
                "responses": {"200": ok_json("the reviewed row", row.clone()), "400": e400, "401": e401, "404": e404, "409": e409}}},
            "/jobs/{cycle}": {"post": {
                "summary": "Open a cycle (worker endpoint)",
                "security": worker,
                "parameters": [path_param("cycle", "morning, research, discount or cs"),
                               {"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
                                "description": "same key + same body → the stored response; other body → 422"}],
                "requestBody": {"required": false, "content": {"application/json": {"schema": {
                    "type": "object", "additionalProperties": false,
                    "properties": {"date": {"type": "string", "format": "date"}, "apply": {"type": "boolean"}}}}}},
                "responses": {"202": ok_json("accepted", json!({"type": "object", "properties": {"cycle_id": {"type": "string"}}})),
                              "400": e400, "401": e401, "404": e404, "422": e422}}},
            "/jobs/{cycle}/{stage}": {"post": {
                "summary": "Run one stage of a running cycle (worker endpoint)",
                "security": worker,
                "parameters": [path_param("cycle", "cycle kind"), path_param("stage", "stage name"),
                               {"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"}}],
                "responses": {"202": ok_json("accepted", json!({"type": "object"})), "400": e400, "401": e401, "404": e404, "409": e409, "422": e422}}},
            "/slack/commands": {"post": {
                "summary": "Slack slash command `/otto <question>`",
                "security": slack,
                "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}},
                "responses": {"200": ok_json("ephemeral ack", json!({"type": "object"})), "400": e400, "401": e401, "503": error_response("Slack not configured")}}},
            "/slack/interactions": {"post": {
                "summary": "Slack interactivity (Release buttons)",
                "security": json!([{"slackSignature": []}]),
                "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}},
                "responses": {"200": {"description": "acknowledged"}, "400": e400, "401": e401}}}
        },
        "components": {
            "securitySchemes": {
                "operatorBearer": {"type": "http", "scheme": "bearer",
                    "description": "OTTO_OPERATOR_TOKEN under `otto serve`; a JWT checked by the HTTP API's authorizer in AWS"},
                "workerToken": {"type": "apiKey", "in": "header", "name": "X-Worker-Token"},
                "slackSignature": {"type": "apiKey", "in": "header", "name": "X-Slack-Signature",
                    "description": "v0= HMAC-SHA256 of v0:{X-Slack-Request-Timestamp}:{raw body}"}
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object",
                    "required": ["code", "message"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
                "Row": {"type": "object", "required": ["ref", "table", "status", "body"],
                    "properties": {"ref": {"type": "string", "example": "decision_log#84196"}, "table": {"type": "string"},
                                   "status": {"type": "string"}, "cycle_id": {"type": "string"}, "body": {"type": "object"}}},
                "Answer": {"type": "object", "required": ["answer", "citations"], "properties": {
                    "answer": {"type": "string"},
                    "citations": {"type": "array", "items": {"type": "object", "required": ["ref", "url"],
                        "properties": {"ref": {"type": "string"}, "url": {"type": "string"}}}},
                    "intent": {"type": "string"}, "grounded": {"type": "boolean"},
                    "releasable": {"type": "array", "items": {"type": "string"}}}},
                "KillSwitch": {"type": "object", "required": ["on"], "properties": {
                    "on": {"type": "boolean"}, "by": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
                    "reason": {"type": "string"}}}
            }
        }
    })
}

/// `GET /openapi.json`.
pub async fn serve() -> Json<Value> {
    Json(document())
}
