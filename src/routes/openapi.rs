//! The OpenAPI document: its header, the answers every route of a kind shares, and the parameter
//! and schema pieces several routes document alike.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Object, ObjectBuilder, Type, schema::SchemaType};
use utoipa::{IntoParams, Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::routes::{configure, problems};

mod conventions;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Aftercare API",
        description = "Recovery tracking after microneedling: patients, recovery plans, daily \
            reminders, check-ins and the clinicians' review queue. Errors are RFC 9457 problem \
            details (`application/problem+json`).",
        version = "1.0.0",
        license(name = "MIT", identifier = "MIT"),
        contact(name = "Aftercare maintainers")
    ),
    servers(
        (url = "http://127.0.0.1:8080", description = "A server started with `cargo run` (BIND_ADDR's default); \
            put your clinic's own address here"),
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(
        schemas(crate::error::Problem, crate::error::FieldError, crate::domain::PatientStatus, crate::domain::PhotoSize),
        responses(
            problems::BadRequest,
            problems::Unauthorized,
            problems::Forbidden,
            problems::NotFound,
            problems::Conflict,
            problems::PayloadTooLarge,
            problems::UnsupportedMediaType,
            problems::Invalid,
            problems::TooManyRequests,
            problems::Unavailable,
        )
    ),
    tags(
        (name = "auth", description = "Log in, refresh, log out, activate an invitation"),
        (name = "me", description = "The caller's own account"),
        (name = "staff", description = "A clinic's administrators and clinicians"),
        (name = "patients", description = "Patient profiles and screening"),
        (name = "treatments", description = "Treatments and their recovery plans"),
        (name = "reminders", description = "Daily aftercare reminders"),
        (name = "calendar", description = "Calendar subscriptions: the reminders as a feed calendar apps poll without a token"),
        (name = "check-ins", description = "Daily check-ins, their assessment and the review queue"),
        (name = "photos", description = "Photo metadata of check-ins"),
        (name = "erasure", description = "A patient's requests to be erased, and the clinic's decisions"),
        (name = "protocols", description = "Recovery protocols: the standard versions and a clinic's own, drafted and published by its administrators"),
        (name = "mail", description = "The e-mail outbox and who is alerted of urgent check-ins"),
        (name = "audit", description = "Who touched which patient's data"),
        (name = "operations", description = "Health, metrics and this document"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from /v1/auth/login"))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document of exactly the routes `configure` registers. It leaves utoipa's types
/// once amended: they cannot hold shared header components or references to them.
pub fn openapi() -> serde_json::Value {
    let (_, api) =
        actix_web::App::new().into_utoipa_app().openapi(ApiDoc::openapi()).configure(configure).split_for_parts();
    let mut doc = serde_json::to_value(&api).expect("the document serialises");
    with_common_errors(&mut doc);
    conventions::apply(&mut doc);
    doc
}

/// Adds the answers the framework gives on any route of a kind, so no handler has to list them:
/// a JSON body can be malformed (400), too large (413), not JSON (415) or hold invalid values
/// (422); a query string can be malformed (400) or hold invalid values (422); a path id that is
/// not a UUID names nothing (404); a route behind a bearer token can answer 401.
fn with_common_errors(doc: &mut serde_json::Value) {
    let reference = |name: &str| serde_json::json!({ "$ref": format!("#/components/responses/{name}") });
    let operations = doc
        .get_mut("paths")
        .and_then(|p| p.as_object_mut())
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
        .filter_map(|operation| operation.as_object_mut());
    for operation in operations {
        let has_body = operation.contains_key("requestBody");
        let has_param_in = |place: &str| {
            operation
                .get("parameters")
                .and_then(|p| p.as_array())
                .is_some_and(|params| params.iter().any(|p| p["in"] == place))
        };
        let (has_query, has_path) = (has_param_in("query"), has_param_in("path"));
        let public = operation.get("security").is_some_and(|s| s == &serde_json::json!([{}]));
        let mut add = Vec::new();
        if has_body {
            add.extend([
                ("400", "BadRequest"),
                ("413", "PayloadTooLarge"),
                ("415", "UnsupportedMediaType"),
                ("422", "Invalid"),
            ]);
        }
        if has_query {
            add.extend([("400", "BadRequest"), ("422", "Invalid")]);
        }
        if has_path {
            add.push(("404", "NotFound"));
        }
        if !public {
            add.push(("401", "Unauthorized"));
        }
        if let Some(responses) = operation.get_mut("responses").and_then(|r| r.as_object_mut()) {
            for (status, name) in add {
                responses.entry(status).or_insert_with(|| reference(name));
            }
        }
    }
}

/// The `Idempotency-Key` header of the routes wrapped in `idempotency::middleware`, for their
/// `params(...)`; the middleware reads the header itself.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKey {
    /// Makes retries safe: 1-255 visible ASCII characters, unique per action (a UUID will do). A
    /// retry with the same key and body gets the first answer again, marked `Idempotency-Replayed: true`;
    /// the same key with another body is a 422.
    #[param(rename = "Idempotency-Key", value_type = String, required = false, min_length = 1, max_length = 255, pattern = "^[!-~]{1,255}$", example = "5f0c6a52-3b0e-4c36-9a51-9b7f1e0c2d11")]
    pub key: Option<String>,
}

/// The `If-None-Match` header of the reads wrapped in `http_cache::revalidate`, for their
/// `params(...)`; `conventions` then adds their 304 answer and `ETag` header.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfNoneMatch {
    /// The `ETag` of an answer the client kept: if the answer is still the same, it gets 304 Not
    /// Modified with no body
    #[param(rename = "If-None-Match", value_type = String, required = false, example = "\"3f1d2c8a9b7e6f5a4d3c2b1a09f8e7d6\"")]
    pub tag: Option<String>,
}

/// The `Accept-Language` request header of the operations whose answers carry protocol texts:
/// declared with `params(...)`; `conventions` then adds `Content-Language` and `Vary` to their
/// answers.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct AcceptLanguage {
    /// The languages the client prefers (RFC 9110 §12.5.4), e.g. `es-ES,es;q=0.9,en;q=0.5`. The
    /// texts are in the first supported one (`en`, `es`; regional variants count, `*`, unsupported
    /// languages and malformed entries are ignored); without one, a patient gets their
    /// `preferred_language`, anyone else English. Errors are always English.
    #[param(rename = "Accept-Language", value_type = String, required = false, example = "es-ES,es;q=0.9,en;q=0.5")]
    pub languages: Option<String>,
}

/// A person's name field as `domain::PersonName::parse` accepts it, for `#[schema(schema_with = ...)]`.
pub fn person_name() -> Object {
    person_name_of_type(Type::String.into())
}

/// [`person_name`] for a field that may be left out or null.
pub fn optional_person_name() -> Object {
    person_name_of_type(SchemaType::from_iter([Type::String, Type::Null]))
}

fn person_name_of_type(schema_type: SchemaType) -> Object {
    // No control or invisible character anywhere, and at least one that is not white space.
    const REFUSED: &str = r"\u0000-\u001f\u007f-\u009f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb";
    ObjectBuilder::new()
        .schema_type(schema_type)
        .min_length(Some(1))
        .max_length(Some(crate::domain::MAX_NAME_CHARS))
        .pattern(Some(format!(r"^[^{REFUSED}]*[^\s{REFUSED}][^{REFUSED}]*$")))
        .build()
}

/// The document as YAML that YAML 1.1 parsers (PyYAML, and the generators built on it) read as
/// written: there a bare `on`, `yes`, `no`, `y`, `n` or `off` is a boolean, `2026-11-30` a date
/// and `10:30` the number 630, so such a key or value is quoted. The emitter already quotes what
/// YAML 1.2 would misread (`true`, `null`, numbers).
pub fn to_yaml(doc: &serde_json::Value) -> String {
    const YAML_1_1_BOOLEANS: &[&str] =
        &["y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"];
    let yaml = serde_norway::to_string(doc).expect("the OpenAPI document serialises");
    let misread = |word: &str| YAML_1_1_BOOLEANS.contains(&word) || yaml_1_1_date_or_sexagesimal(word);
    let quoted = |word: &str| if misread(word) { format!("'{word}'") } else { word.to_string() };
    let mut out = String::with_capacity(yaml.len() + 64);
    // Lines of a block scalar (`|-` and the like) are text, indented deeper than the line that opened it.
    let mut block_scalar_above: Option<usize> = None;
    for line in yaml.lines() {
        let indent = line.len() - line.trim_start().len();
        if block_scalar_above.is_some_and(|opened| indent > opened || line.trim().is_empty()) {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        block_scalar_above = ["|", "|-", "|+", ">", ">-", ">+"]
            .iter()
            .any(|style| line.ends_with(&format!(" {style}")))
            .then_some(indent);
        let (prefix, rest) = line.split_at(indent);
        let (dash, rest) = match rest.strip_prefix("- ") {
            Some(after) => ("- ", after),
            None => ("", rest),
        };
        let fixed = if let Some((key, value)) = rest.split_once(": ").filter(|(k, _)| !k.contains(' ')) {
            format!("{}: {}", quoted(key), quoted(value))
        } else if let Some(key) = rest.strip_suffix(':').filter(|k| !k.contains(' ')) {
            format!("{}:", quoted(key))
        } else if dash == "- " {
            quoted(rest)
        } else {
            rest.to_string()
        };
        out.push_str(prefix);
        out.push_str(dash);
        out.push_str(&fixed);
        out.push('\n');
    }
    out
}

/// `2026-11-30`, `2026-11-30T09:00:00Z` (YAML 1.1 timestamps) or `10:30`, `1:20:30` (base-60
/// integers): words a YAML 1.1 reader does not take as strings.
fn yaml_1_1_date_or_sexagesimal(word: &str) -> bool {
    let bytes = word.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes.get(range).is_some_and(|b| b.iter().all(u8::is_ascii_digit));
    let date =
        digits(0..4) && bytes.get(4) == Some(&b'-') && digits(5..7) && bytes.get(7) == Some(&b'-') && digits(8..10);
    let sexagesimal =
        word.contains(':') && word.split(':').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    date || sexagesimal
}
