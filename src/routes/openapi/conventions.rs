//! What holds across the whole document, written once here rather than on every handler: who
//! must send a token, the headers every answer carries, the answers of idempotent writes and of
//! revalidatable reads, the formats of ids, instants and e-mail addresses, and pages that refer
//! to their item's schema. The handlers' `#[utoipa::path]` attributes say only what is their own.

use serde_json::{Map, Value, json};

/// Fields whose name would give them a format they do not have: a protocol's id is a slug, an
/// audited resource id may be a `sha256:` digest, and login and a password reset request take any
/// string (an unknown address or clinic is a 401, or the same 202, never a 422 that would tell).
const NOT_BY_NAME: &[(&str, &str)] = &[
    ("ProtocolRef", "id"),
    ("ProtocolVersion", "id"),
    ("ProtocolVersionDocument", "id"),
    ("AuditEvent", "resource_id"),
    ("LoginRequest", "email"),
    ("LoginRequest", "clinic_id"),
    ("PasswordResetRequest", "email"),
    ("PasswordResetRequest", "clinic_id"),
];

pub fn apply(doc: &mut Value) {
    add_headers_and_answers(doc);
    refer_page_items(&mut doc["components"]["schemas"]);
    open_answer_maps(&mut doc["components"]["schemas"]);
    for (schema_name, schema) in objects_mut(&mut doc["components"]["schemas"]) {
        add_formats(&schema_name, schema);
    }
    for (_, item) in objects_mut(&mut doc["paths"]) {
        for (_, operation) in objects_mut(item) {
            if let Some(responses) = operation["responses"].as_object_mut() {
                responses.sort_keys();
            }
        }
    }
}

fn objects_mut(value: &mut Value) -> Vec<(String, &mut Value)> {
    value.as_object_mut().into_iter().flat_map(|m| m.iter_mut().map(|(k, v)| (k.clone(), v))).collect()
}

fn header(name: &str) -> Value {
    json!({ "$ref": format!("#/components/headers/{name}") })
}

/// The response headers the server sends, declared once and referred to by name.
fn header_components() -> Value {
    json!({
        "X-Request-Id": {
            "description": "Identifies this request in the server's logs; quote it when reporting a problem",
            "schema": { "type": "string", "format": "uuid" }
        },
        "Idempotency-Replayed": {
            "description": "`true` when this is the stored answer to an earlier request with the same Idempotency-Key",
            "schema": { "type": "string", "enum": ["true"] }
        },
        "ETag": {
            "description": "A strong tag of this answer: send it back in If-None-Match to revalidate",
            "schema": { "type": "string" }
        },
        "Cache-Control": {
            "description": "`private, no-cache` on answers the app may keep and revalidate; `no-store` on every other answer",
            "schema": { "type": "string" }
        },
        "Retry-After": {
            "description": "Seconds to wait before trying again",
            "schema": { "type": "integer", "minimum": 0 }
        },
        "WWW-Authenticate": {
            "description": "`Bearer`: the scheme to authenticate with",
            "schema": { "type": "string" }
        },
        "Content-Language": {
            "description": "The language of the answer's texts: `en` or `es` (`es, en` when some texts have no Spanish translation). Keys, kinds and codes are the same in every language",
            "schema": { "type": "string", "example": "es" }
        },
        "Vary": {
            "description": "`Accept-Language`: the texts follow the request's languages, so a cache keeps one answer per language",
            "schema": { "type": "string" }
        },
        "Location": {
            "description": "The path of the created resource",
            "schema": { "type": "string", "format": "uri-reference" }
        }
    })
}

fn add_headers_and_answers(doc: &mut Value) {
    let components = &mut doc["components"];
    components["headers"] = header_components();
    let components_headers: Vec<String> = components["headers"].as_object().unwrap().keys().cloned().collect();
    for (name, response) in objects_mut(&mut components["responses"]) {
        let headers = response_headers(response);
        headers.insert("X-Request-Id".into(), header("X-Request-Id"));
        match name.as_str() {
            "TooManyRequests" => drop(headers.insert("Retry-After".into(), header("Retry-After"))),
            "Unauthorized" => drop(headers.insert("WWW-Authenticate".into(), header("WWW-Authenticate"))),
            _ => {}
        }
    }
    for (_, item) in objects_mut(&mut doc["paths"]) {
        for (_, operation) in objects_mut(item) {
            declare_security(operation);
            add_operation_answers(operation, &components_headers);
        }
    }
}

/// The answers and headers an operation has by what it takes: an `Idempotency-Key` write can
/// answer 409 and 422 and may be a replay; an `If-None-Match` read can answer 304 with its tag.
fn add_operation_answers(operation: &mut Value, components_headers: &[String]) {
    let idempotent = has_header_parameter(operation, "Idempotency-Key");
    let revalidatable = has_header_parameter(operation, "If-None-Match");
    let localized = has_header_parameter(operation, "Accept-Language");
    let responses = &mut operation["responses"];
    if idempotent {
        // A retry that arrives while the first request is still running (409), and a key
        // used before with another request (422).
        for (status, name) in [("409", "Conflict"), ("422", "Invalid")] {
            if responses.get(status).is_none() {
                responses[status] = problem(name);
            }
        }
    }
    if revalidatable {
        responses["304"] = json!({ "description": "Not Modified: the answer is still the one whose tag was sent" });
    }
    for (status, response) in objects_mut(responses) {
        if response.get("$ref").is_some() {
            continue;
        }
        let headers = response_headers(response);
        // A header a handler declares itself that has a shared definition uses that one.
        for (name, declared) in headers.iter_mut() {
            if components_headers.contains(name) {
                *declared = header(name);
            }
        }
        headers.insert("X-Request-Id".into(), header("X-Request-Id"));
        if idempotent && status.starts_with('2') {
            headers.insert("Idempotency-Replayed".into(), header("Idempotency-Replayed"));
        }
        if localized && (status.starts_with('2') || status == "304") {
            headers.insert("Content-Language".into(), header("Content-Language"));
            headers.insert("Vary".into(), header("Vary"));
        }
        if revalidatable && (status == "200" || status == "304") {
            headers.insert("ETag".into(), header("ETag"));
            headers.insert("Cache-Control".into(), header("Cache-Control"));
        }
    }
}

fn problem(name: &str) -> Value {
    json!({ "$ref": format!("#/components/responses/{name}") })
}

fn response_headers(response: &mut Value) -> &mut Map<String, Value> {
    let headers = response.as_object_mut().expect("a response is an object").entry("headers").or_insert(json!({}));
    headers.as_object_mut().expect("headers are an object")
}

fn has_header_parameter(operation: &Value, name: &str) -> bool {
    operation["parameters"]
        .as_array()
        .is_some_and(|params| params.iter().any(|p| p["in"] == "header" && p["name"] == name))
}

/// Every operation says itself whether it needs a token: some generators read only the
/// operation's own `security`, never the document's default. Public ones say `[]`.
fn declare_security(operation: &mut Value) {
    let public = operation.get("security").is_some_and(|s| s == &json!([{}]));
    operation["security"] = if public { json!([]) } else { json!([{ "bearer": [] }]) };
}

/// Ids are UUIDs, `*_at` and `at` are RFC 3339 instants, `email` is an e-mail address: the
/// formats the server guarantees, given to every field so named (but those in `NOT_BY_NAME`).
fn add_formats(schema_name: &str, schema: &mut Value) {
    let Some(properties) = schema.get_mut("properties") else { return };
    for (field, property) in objects_mut(properties) {
        if NOT_BY_NAME.contains(&(schema_name, field.as_str())) || property.get("format").is_some() {
            continue;
        }
        let is_string = match &property["type"] {
            Value::String(t) => t == "string",
            Value::Array(types) => types.iter().any(|t| t == "string"),
            _ => false,
        };
        let format = match field.as_str() {
            "id" => "uuid",
            f if f.ends_with("_id") => "uuid",
            "at" => "date-time",
            f if f.ends_with("_at") => "date-time",
            "email" => "email",
            _ => continue,
        };
        if is_string {
            property["format"] = json!(format);
        }
    }
}

/// A page (`Page_X`) refers to `X` for its items instead of repeating `X` inline, so generated
/// clients get one class for an item whether it came in a page or alone. Only an inline copy
/// identical to `X` is replaced.
fn refer_page_items(schemas: &mut Value) {
    let Some(all) = schemas.as_object() else { return };
    let replacements: Vec<(String, String)> = all
        .iter()
        .filter_map(|(name, page)| {
            let item = name.strip_prefix("Page_")?;
            (page["properties"]["items"]["items"] == all.get(item)?.clone()).then(|| (name.clone(), item.to_string()))
        })
        .collect();
    for (page, item) in replacements {
        schemas[&page]["properties"]["items"]["items"] = json!({ "$ref": format!("#/components/schemas/{item}") });
    }
}

/// A check-in's answers name the core signs and whatever signs the treatment's protocol adds
/// (protocol data, so not in this document): any other key holds a score or a yes/no.
fn open_answer_maps(schemas: &mut Value) {
    for name in ["Symptoms", "SymptomsBody"] {
        if let Some(schema) = schemas.get_mut(name).and_then(Value::as_object_mut) {
            schema.insert(
                "additionalProperties".into(),
                json!({ "oneOf": [{ "type": "integer", "minimum": 0, "maximum": 10 }, { "type": "boolean" }] }),
            );
        }
    }
}
