//! A typed API (issue 10, item 4): every response of every operation in the OpenAPI document
//! says what its body is, so that a generated client parses replies into its model classes
//! instead of handing out untyped JSON. A JSON body's schema must be a named schema, a typed
//! array, or an object with typed properties (or typed additional properties), down to every
//! property of every schema it names; an empty schema (`{}`, what utoipa makes of
//! `serde_json::Value`) or a bare `type: object` is refused. Any other media type (HTML, PDF,
//! CSV, plain text) must be a string. Only a 204 may have no body.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use serde_json::Value;

use crate::harness::Harness;
use crate::on_both;

/// Operations whose successful JSON replies may still be untyped, as (method, path): none. An
/// operation listed here whose replies are all typed fails the test, so that it is taken off,
/// and nothing may be added to it.
const UNTYPED: [(&str, &str); 0] = [];

/// The HTTP methods of a path item (its other keys are parameters, summaries and the like).
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// What is wrong with `schema` as the schema of a JSON body, at `at` (a path into the body for
/// the message), each schema it names checked once (`seen`).
fn untyped(doc: &Value, schema: &Value, at: &str, seen: &mut BTreeSet<String>) -> Vec<String> {
    let Some(object) = schema.as_object() else {
        return vec![format!("{at}: `{schema}` is not a schema")];
    };
    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        let Some(name) = reference.strip_prefix("#/components/schemas/") else {
            return vec![format!("{at}: `{reference}` is not a component schema")];
        };
        if !seen.insert(name.to_owned()) {
            return Vec::new();
        }
        let target = &doc["components"]["schemas"][name];
        if target.is_null() {
            return vec![format!("{at}: `{reference}` names no schema")];
        }
        return untyped(doc, target, name, seen);
    }
    let mut problems = Vec::new();
    let mut alternatives = false;
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(items) = object.get(key).and_then(Value::as_array) {
            alternatives = true;
            if items.is_empty() {
                problems.push(format!("{at}: an empty {key}"));
            }
            for (i, item) in items.iter().enumerate() {
                problems.extend(untyped(doc, item, &format!("{at}.{key}[{i}]"), seen));
            }
        }
    }
    let types: Vec<&str> = match object.get("type") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if types.is_empty() && !alternatives && !object.contains_key("enum") {
        problems.push(format!("{at}: no type (`{schema}`)"));
    }
    if types.contains(&"object") {
        let properties = object.get("properties").and_then(Value::as_object);
        for (name, property) in properties.into_iter().flatten() {
            problems.extend(untyped(doc, property, &format!("{at}.{name}"), seen));
        }
        match object.get("additionalProperties") {
            Some(Value::Object(_)) => problems.extend(untyped(
                doc,
                &object["additionalProperties"],
                &format!("{at}{{}}"),
                seen,
            )),
            Some(Value::Bool(true)) => {
                problems.push(format!("{at}: untyped additional properties"));
            }
            _ if properties.is_none_or(|p| p.is_empty()) => {
                problems.push(format!("{at}: an object with no properties"));
            }
            _ => {}
        }
    }
    if types.contains(&"array") {
        match object.get("items") {
            Some(items) => problems.extend(untyped(doc, items, &format!("{at}[]"), seen)),
            None => problems.push(format!("{at}: an array of untyped items")),
        }
    }
    problems
}

/// Whether a non-JSON body's schema is a string (directly or through a named schema).
fn is_string(doc: &Value, schema: &Value) -> bool {
    let schema = match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            &doc["components"]["schemas"][name]
        }
        None => schema,
    };
    schema["type"] == "string"
}

/// What is wrong with the bodies one response documents.
fn response_problems(doc: &Value, response: &Value) -> Vec<String> {
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        return vec!["no body documented".to_owned()];
    };
    let mut problems = Vec::new();
    if content.is_empty() {
        problems.push("no body documented".to_owned());
    }
    for (media_type, media) in content {
        let schema = &media["schema"];
        if media_type == "application/json" || media_type.ends_with("+json") {
            // Each response on its own: a schema named by two responses is checked in both.
            let mut seen = BTreeSet::new();
            for problem in untyped(doc, schema, "body", &mut seen) {
                problems.push(format!("{media_type}: {problem}"));
            }
        } else if !is_string(doc, schema) {
            problems.push(format!("{media_type}: `{schema}` is not a string schema"));
        }
    }
    problems
}

/// Every problem of the document's responses, and of the allow-list, one line each.
fn document_problems(doc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut listed_found = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let listed = UNTYPED.contains(&(method.as_str(), path.as_str()));
            if listed {
                listed_found.insert((method.clone(), path.clone()));
            }
            // Listed operations are excused their successful replies only.
            let mut excused = Vec::new();
            for (status, response) in operation["responses"].as_object().expect("responses") {
                if status == "204" && response.get("content").is_none() {
                    continue;
                }
                for problem in response_problems(doc, response) {
                    let line = format!("{} {path} {status}: {problem}", method.to_uppercase());
                    if listed && status.starts_with('2') {
                        excused.push(line);
                    } else {
                        problems.push(line);
                    }
                }
            }
            if listed && excused.is_empty() {
                problems.push(format!(
                    "{} {path} is typed now: take it off UNTYPED",
                    method.to_uppercase()
                ));
            }
        }
    }
    for (method, path) in UNTYPED {
        if !listed_found.contains(&(method.to_owned(), path.to_owned())) {
            problems.push(format!(
                "UNTYPED lists {} {path}, which the document does not have",
                method.to_uppercase()
            ));
        }
    }
    problems
}

async fn every_response_is_typed(h: Harness) {
    let doc = h.get("/api/v1/openapi.json", None, StatusCode::OK).await;
    let problems = document_problems(&doc);
    assert!(
        problems.is_empty(),
        "untyped responses in the OpenAPI document:\n{}",
        problems.join("\n")
    );
    h.finish().await;
}
on_both!(typed_responses, every_response_is_typed);

/// The check itself refuses what it is for: an empty schema, a bare object, an object whose
/// property is untyped, an array of anything, a non-string HTML body, an undocumented body.
#[test]
fn the_check_refuses_untyped_bodies() {
    let doc = serde_json::json!({
        "components": {"schemas": {
            "Typed": {"type": "object", "properties": {"id": {"type": "integer"}}},
            "Loose": {"type": "object", "properties": {"extra": {}}},
            "Map": {"type": "object", "additionalProperties": {"type": "string"}},
        }},
    });
    let body =
        |schema: Value| serde_json::json!({"content": {"application/json": {"schema": schema}}});
    let html = |schema: Value| serde_json::json!({"content": {"text/html": {"schema": schema}}});
    for typed in [
        body(serde_json::json!({"$ref": "#/components/schemas/Typed"})),
        body(serde_json::json!({"$ref": "#/components/schemas/Map"})),
        body(serde_json::json!({"type": "array", "items": {"$ref": "#/components/schemas/Typed"}})),
        body(
            serde_json::json!({"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Typed"}]}),
        ),
        body(serde_json::json!({"type": "string"})),
        html(serde_json::json!({"type": "string"})),
    ] {
        assert_eq!(
            response_problems(&doc, &typed),
            Vec::<String>::new(),
            "{typed}"
        );
    }
    for untyped in [
        body(serde_json::json!({})),
        body(serde_json::json!({"type": "object"})),
        body(serde_json::json!({"type": "object", "additionalProperties": true})),
        body(serde_json::json!({"$ref": "#/components/schemas/Loose"})),
        body(serde_json::json!({"$ref": "#/components/schemas/Missing"})),
        body(serde_json::json!({"type": "array"})),
        body(serde_json::json!({"type": "array", "items": {}})),
        html(serde_json::json!({})),
        serde_json::json!({"description": "no content"}),
    ] {
        assert!(!response_problems(&doc, &untyped).is_empty(), "{untyped}");
    }
}
