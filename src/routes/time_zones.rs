//! The time zone names the server accepts, for the app's and the integrators' pickers.

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct TimeZoneList {
    /// IANA names, sorted.
    #[schema(example = json!(["Africa/Abidjan", "America/Chicago", "Europe/Lisbon"]))]
    pub items: &'static [&'static str],
}

/// The time zones a patient may have.
///
/// Every IANA time zone name that `timezone` fields accept, sorted. The list changes only with a
/// server release that updates its time zone database, so clients should keep it and revalidate
/// with `If-None-Match`. No login needed.
#[utoipa::path(
    operation_id = "listTimeZones",
    tag = "patients",
    security(()),
    params(crate::routes::openapi::IfNoneMatch),
    responses(
        (status = 200, description = "The time zone names", body = TimeZoneList),
    )
)]
#[get("/time-zones", wrap = "actix_web::middleware::from_fn(crate::http_cache::revalidate)")]
pub async fn list() -> web::Json<TimeZoneList> {
    web::Json(TimeZoneList { items: crate::domain::time_zone_names() })
}
