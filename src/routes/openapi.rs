//! The OpenAPI document: its header, the answers every route of a kind shares, and the parameter
//! and schema pieces several routes document alike.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Object, ObjectBuilder, Type, schema::SchemaType};
use utoipa::{IntoParams, Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::routes::{configure, problems};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Aftercare API",
        description = "Recovery tracking after microneedling: patients, recovery plans, daily \
            reminders, check-ins and the clinicians' review queue. Errors are RFC 9457 problem \
            details (`application/problem+json`).",
        version = "1.0.0",
        license(name = "MIT")
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(
        schemas(crate::error::Problem, crate::error::FieldError),
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
        (name = "check-ins", description = "Daily check-ins, their assessment and the review queue"),
        (name = "photos", description = "Photo metadata of check-ins"),
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

/// The OpenAPI document of exactly the routes `configure` registers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) =
        actix_web::App::new().into_utoipa_app().openapi(ApiDoc::openapi()).configure(configure).split_for_parts();
    with_common_errors(api)
}

/// Adds the answers the framework gives on any route of a kind, so no handler has to list them:
/// a JSON body can be malformed (400), too large (413), not JSON (415) or hold invalid values
/// (422); a query string can be malformed (400) or hold invalid values (422); a path id that is
/// not a UUID names nothing (404); a route behind a bearer token can answer 401.
fn with_common_errors(api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut doc = serde_json::to_value(&api).expect("the document serialises");
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
    serde_json::from_value(doc).expect("the amended document is still a document")
}

/// The `Idempotency-Key` header of the routes wrapped in `idempotency::middleware`, for their
/// `params(...)`; the middleware reads the header itself.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKey {
    /// Makes retries safe: 1-255 visible ASCII characters; a retry with the same key gets the first answer
    #[param(rename = "Idempotency-Key", pattern = "^[!-~]{1,255}$")]
    pub key: Option<String>,
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
