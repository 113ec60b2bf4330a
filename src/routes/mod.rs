//! HTTP handlers, one file per resource, and the OpenAPI document built from them.

pub mod audit;
pub mod auth;
pub mod calendar_feeds;
pub mod check_ins;
pub mod clinicians;
pub mod data_rights;
pub mod invitations;
pub mod mail;
pub mod me;
pub mod openapi;
pub mod ops;
pub mod patients;
pub mod photos;
pub mod problems;
pub mod protocols;
pub mod reminders;
pub mod screenings;
pub mod time_zones;
pub mod treatments;

use actix_web::dev::ResourceDef;
use actix_web::{HttpRequest, HttpResponse, web};
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::AppError;

pub use openapi::openapi;

/// Registers every route of the server. The OpenAPI document is collected from the same calls,
/// so a route cannot exist without being documented.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(ops::health_live).service(ops::health_ready).service(ops::metrics).service(ops::openapi_yaml).service(
        scope::scope("/v1")
            .service(auth::login)
            .service(auth::refresh)
            .service(auth::logout)
            .service(auth::activate)
            .service(auth::change_password)
            .service(auth::request_password_reset)
            .service(auth::reset_password)
            .service(me::get_me)
            .service(data_rights::export)
            .service(data_rights::request_erasure)
            .service(data_rights::list)
            .service(data_rights::get)
            .service(data_rights::decide)
            .service(time_zones::list)
            .service(clinicians::create)
            .service(clinicians::list)
            .service(clinicians::deactivate)
            .service(clinicians::reactivate)
            .service(patients::create)
            .service(patients::list)
            .service(patients::get)
            .service(patients::update)
            .service(patients::discharge)
            .service(screenings::create)
            .service(screenings::questions)
            .service(protocols::list)
            .service(protocols::get)
            .service(protocols::create)
            .service(protocols::publish)
            .service(treatments::create)
            .service(treatments::list)
            .service(treatments::get)
            .service(treatments::get_timeline)
            .service(treatments::list_reminders)
            .service(treatments::list_notifications)
            .service(treatments::calendar)
            .service(treatments::replan)
            .service(calendar_feeds::subscribe)
            .service(calendar_feeds::get_subscription)
            .service(calendar_feeds::revoke)
            .service(calendar_feeds::feed)
            .service(reminders::acknowledge)
            .service(reminders::get_today)
            .service(check_ins::questions)
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
            .service(photos::upload_content)
            .service(photos::download_content)
            .service(photos::compare)
            .service(invitations::reinvite_patient)
            .service(invitations::reinvite_clinician)
            .service(mail::list_outbox)
            .service(mail::get_settings)
            .service(mail::update_settings)
            .service(audit::list),
    );
}

/// The document as served and committed, and the route table used to answer 405 correctly.
pub struct ApiSpec {
    pub yaml: String,
    routes: Vec<(ResourceDef, Vec<String>)>,
}

impl ApiSpec {
    pub fn new(api: &serde_json::Value) -> ApiSpec {
        let yaml = openapi::to_yaml(api);
        let routes = api["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(path, item)| {
                let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
                    .iter()
                    .filter(|m| item.get(**m).is_some())
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
    crate::domain::parse_id(raw).map_err(|_| AppError::NotFound)
}
