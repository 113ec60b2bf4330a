//! HTTP handlers, one file per resource, and the OpenAPI document built from them.

pub mod audit;
pub mod auth;
pub mod check_ins;
pub mod clinicians;
pub mod me;
pub mod ops;
pub mod patients;
pub mod photos;
pub mod problems;
pub mod reminders;
pub mod screenings;
pub mod treatments;

use actix_web::dev::ResourceDef;
use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{AppExt, scope};

use crate::error::AppError;

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

/// Registers every route of the server. The OpenAPI document is collected from the same calls,
/// so a route cannot exist without being documented.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(ops::health_live).service(ops::health_ready).service(ops::metrics).service(ops::openapi_yaml).service(
        scope::scope("/v1")
            .service(auth::login)
            .service(auth::refresh)
            .service(auth::logout)
            .service(auth::activate)
            .service(me::get_me)
            .service(clinicians::create)
            .service(clinicians::list)
            .service(patients::create)
            .service(patients::list)
            .service(patients::get)
            .service(patients::update)
            .service(screenings::create)
            .service(treatments::create)
            .service(treatments::list)
            .service(treatments::get)
            .service(treatments::get_timeline)
            .service(treatments::list_reminders)
            .service(treatments::calendar)
            .service(reminders::acknowledge)
            .service(reminders::get_today)
            .service(check_ins::create)
            .service(check_ins::list)
            .service(check_ins::get)
            .service(check_ins::review)
            .service(check_ins::review_queue)
            .service(check_ins::get_adherence)
            .service(photos::create)
            .service(photos::list)
            .service(photos::get)
            .service(photos::remove)
            .service(audit::list),
    );
}

/// The OpenAPI document of exactly the routes `configure` registers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) =
        actix_web::App::new().into_utoipa_app().openapi(ApiDoc::openapi()).configure(configure).split_for_parts();
    with_common_errors(api)
}

/// Adds the answers the framework gives on any route of a kind, so no handler has to list them:
/// a JSON body can be malformed (400), too large (413) or not JSON (415); a query string can be
/// malformed (400) or hold invalid values (422); a route behind a bearer token can answer 401.
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
        let has_query = operation
            .get("parameters")
            .and_then(|p| p.as_array())
            .is_some_and(|params| params.iter().any(|p| p["in"] == "query"));
        let public = operation.get("security").is_some_and(|s| s == &serde_json::json!([{}]));
        let mut add = Vec::new();
        if has_body {
            add.extend([("400", "BadRequest"), ("413", "PayloadTooLarge"), ("415", "UnsupportedMediaType")]);
        }
        if has_query {
            add.extend([("400", "BadRequest"), ("422", "Invalid")]);
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

/// The document as served and committed, and the route table used to answer 405 correctly.
pub struct ApiSpec {
    pub yaml: String,
    routes: Vec<(ResourceDef, Vec<String>)>,
}

impl ApiSpec {
    pub fn new(api: &utoipa::openapi::OpenApi) -> ApiSpec {
        let yaml = api.to_yaml().expect("the OpenAPI document serialises");
        let routes = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let value = serde_json::to_value(item).unwrap_or_default();
                let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
                    .iter()
                    .filter(|m| value.get(**m).is_some())
                    .map(|m| m.to_uppercase())
                    .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        ApiSpec { yaml, routes }
    }

    /// The methods the server answers on `path`, if it knows the path at all.
    pub fn methods_for(&self, path: &str) -> Option<Vec<String>> {
        self.routes.iter().find(|(def, _)| def.is_match(path)).map(|(_, methods)| methods.clone())
    }
}

/// Everything no route matched: 405 with `Allow` when the path exists, else 404.
pub async fn fallback(req: HttpRequest, spec: web::Data<ApiSpec>) -> Result<HttpResponse, AppError> {
    match spec.methods_for(req.path()) {
        Some(methods) => Err(AppError::MethodNotAllowed { allow: methods.join(", ") }),
        None => Err(AppError::NotFound),
    }
}

/// Ids in paths are UUIDs; anything else cannot name a resource, so it is simply not found.
pub fn path_id(raw: &str) -> Result<String, AppError> {
    uuid::Uuid::parse_str(raw).map(|id| id.hyphenated().to_string()).map_err(|_| AppError::NotFound)
}
