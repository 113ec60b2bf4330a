//! Recovery protocols: the catalogue, one version's document, and a clinic's own versions (drafted
//! and published by its administrators).

use actix_web::CustomizeResponder;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{Subject, note_subject};
use crate::auth::{Admin, Caller};
use crate::clock::format_instant;
use crate::error::AppError;
use crate::language::{self, Requested};
use crate::models::protocols::{PUBLISHED, ProtocolRow};
use crate::state::AppState;
use crate::use_cases::protocols::{self, Detailed, Listed};

/// Who wrote a protocol.
#[derive(Serialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum ProtocolOwner {
    /// Shipped with the product.
    Standard,
    /// Written by the caller's clinic.
    Clinic,
}

/// Where a version stands: a `draft` is used by nothing; a `published` version never changes.
#[derive(Serialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum ProtocolStatus {
    Draft,
    Published,
}

/// One version of a protocol.
#[derive(Serialize, ToSchema)]
pub struct ProtocolVersion {
    /// `standard`, or `clinic-<clinic id>` for a clinic's own line of versions.
    #[schema(example = "standard")]
    pub id: String,
    #[schema(example = 2)]
    pub version: i32,
    pub title: String,
    pub owner: ProtocolOwner,
    /// The clinic that wrote it; null for the standard versions.
    pub clinic_id: Option<String>,
    pub status: ProtocolStatus,
    pub created_at: String,
    /// When a clinic's version was published; null for drafts and the standard versions.
    pub published_at: Option<String>,
    /// Whether new screenings and treatments of the caller's clinic use this version now.
    pub current: bool,
}

impl From<Listed> for ProtocolVersion {
    fn from(Listed { row, current }: Listed) -> ProtocolVersion {
        let ProtocolRow { id, version, title, clinic_id, status, created_at, published_at } = row;
        ProtocolVersion {
            id,
            version,
            title,
            owner: if clinic_id.is_some() { ProtocolOwner::Clinic } else { ProtocolOwner::Standard },
            clinic_id,
            status: if status == PUBLISHED { ProtocolStatus::Published } else { ProtocolStatus::Draft },
            created_at: format_instant(created_at),
            published_at: published_at.map(format_instant),
            current,
        }
    }
}

/// One version of a protocol and its document.
#[derive(Serialize, ToSchema)]
pub struct ProtocolVersionDocument {
    #[serde(flatten)]
    pub version: ProtocolVersion,
    /// The protocol itself: plan length, phases, reminder rules, screening findings, escalation
    /// rules and procedure variants, as the plan engine reads it. A clinic's new version starts
    /// from one of these.
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    pub document: serde_json::Value,
}

impl From<Detailed> for ProtocolVersionDocument {
    fn from(d: Detailed) -> ProtocolVersionDocument {
        ProtocolVersionDocument { version: d.listed.into(), document: d.document }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProtocolCatalogue {
    /// The standard versions, then the clinic's own, oldest first.
    pub items: Vec<ProtocolVersion>,
}

/// A new version of the caller's clinic's protocol.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"document": {"title": "Northside aftercare", "plan_days": 90, "phases": [], "reminders": [], "screening": {"contraindications": [], "cautions": []}, "assessment": {"rules": []}}}))]
pub struct NewProtocolVersion {
    /// A whole protocol document, in the shape `getProtocolVersion` serves (start from the
    /// standard one and edit it). Its `id` and `version`, if given, are replaced by the clinic's.
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>, required = true)]
    pub document: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The path of one version: an id the server issues (`standard`, `clinic-<uuid>`) and a version
/// number. Anything else cannot name a version: 404.
fn version_path(id: &str, version: &str) -> Result<(String, i32), AppError> {
    let id_ok =
        id == "standard" || id.strip_prefix("clinic-").is_some_and(|clinic| crate::domain::parse_id(clinic).is_ok());
    let version: i32 = version.parse().map_err(|_| AppError::NotFound)?;
    if !id_ok || version < 1 {
        return Err(AppError::NotFound);
    }
    Ok((id.to_string(), version))
}

fn note_protocol(req: &HttpRequest, id: &str, version: i32) {
    note_subject(
        req,
        Subject { patient_id: None, resource_type: Some("protocol"), resource_id: Some(format!("{id}@{version}")) },
    );
}

/// The protocols the caller may read: the standard versions, and the clinic's own.
///
/// Any authenticated caller. Staff see the standard versions and every version of their clinic,
/// drafts included; a patient sees the standard versions and the clinic's published versions one
/// of their treatments is planned with. `current` marks the version new screenings and treatments
/// of the caller's clinic use.
#[utoipa::path(
    operation_id = "listProtocols",
    tag = "protocols",
    responses(
        (status = 200, description = "The catalogue", body = ProtocolCatalogue),
    )
)]
#[get("/protocols")]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<ProtocolCatalogue>, AppError> {
    let found = protocols::catalogue(&state, caller).await?;
    Ok(web::Json(ProtocolCatalogue { items: found.into_iter().map(ProtocolVersion::from).collect() }))
}

/// One protocol version and its whole document.
///
/// Any authenticated caller, for a version they may read (see `listProtocols`): the standard
/// versions, their clinic's own (staff), the ones their treatments use (a patient). Another
/// clinic's version, a draft for a patient, or an unknown one answer 404.
#[utoipa::path(
    operation_id = "getProtocolVersion",
    tag = "protocols",
    params(
        ("id" = String, Path, description = "Protocol id: `standard` or `clinic-<clinic id>`", example = "standard"),
        ("version" = i32, Path, description = "Version number", minimum = 1, example = 2),
        crate::routes::openapi::AcceptLanguage,
    ),
    responses(
        (status = 200, description = "The version and its document", body = ProtocolVersionDocument),
    )
)]
#[get("/protocols/{id}/versions/{version}")]
pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    requested: Requested,
) -> Result<CustomizeResponder<web::Json<ProtocolVersionDocument>>, AppError> {
    let (id, version) = version_path(&path.0, &path.1)?;
    note_protocol(&req, &id, version);
    let found = protocols::get(&state, caller, id, version, requested).await?;
    let served = found.language;
    Ok(language::localized(web::Json(found.into()), [served]))
}

/// Drafts a new version of the caller's clinic's protocol from a whole document.
///
/// Administrators only; clinicians and patients get 403. The document is checked as every shipped
/// protocol is (phases cover the plan from day 1 without gaps or overlaps, every window lies inside
/// the plan, every reminder has a kind, a title and a body, screening questions are ones the API
/// asks, escalation rules name signs a check-in reports, variants are unambiguous): a document that
/// fails answers 422 naming what is wrong in `errors[0].message` (field `document`). The draft gets
/// id `clinic-<clinic id>` and the next version number, and is used by nothing until published
/// (`publishProtocolVersion`). Drafts and published versions are never edited: a change is a new
/// version. Retrying with the same Idempotency-Key is safe: the retry gets the first answer.
#[utoipa::path(
    params(crate::routes::openapi::IdempotencyKey),
    operation_id = "createProtocolVersion",
    tag = "protocols",
    request_body = NewProtocolVersion,
    responses(
        (status = 201, description = "Drafted", body = ProtocolVersionDocument,
            headers(("Location" = String, description = "The path of the created resource"))),
        (status = 403, response = crate::routes::problems::Forbidden),
    )
)]
#[post("/protocols", wrap = "actix_web::middleware::from_fn(crate::idempotency::middleware)")]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewProtocolVersion>,
) -> Result<HttpResponse, AppError> {
    let caller = Admin::try_from(caller)?;
    let document = body.into_inner().document.ok_or_else(|| AppError::invalid("document", "is required"))?;
    let created = protocols::create_draft(&state, caller, document).await?;
    note_protocol(&req, &created.listed.row.id, created.listed.row.version);
    let location = format!("/v1/protocols/{}/versions/{}", created.listed.row.id, created.listed.row.version);
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::LOCATION, location))
        .json(ProtocolVersionDocument::from(created)))
}

/// Publishes a draft of the caller's clinic: new screenings and treatments of the clinic use it.
///
/// Administrators only; clinicians and patients get 403. Another clinic's version or an unknown one
/// answers 404. From now on the clinic's new screenings and treatments use its newest published
/// version; treatments already recorded keep the version they were planned with, and a screening
/// made under another version no longer clears a new treatment (screen again). A version that is
/// already published (the standard ones included) answers 409: a published version never changes.
#[utoipa::path(
    operation_id = "publishProtocolVersion",
    tag = "protocols",
    params(
        ("id" = String, Path, description = "Protocol id: `clinic-<clinic id>`", example = "clinic-0f8e2a4c-5b1d-4e7a-9c3f-2d6b8a1e4f70"),
        ("version" = i32, Path, description = "Version number", minimum = 1, example = 1),
        crate::routes::openapi::IdempotencyKey,
    ),
    responses(
        (status = 200, description = "Published", body = ProtocolVersion),
        (status = 403, response = crate::routes::problems::Forbidden),
        (status = 409, response = crate::routes::problems::Conflict),
    )
)]
#[post(
    "/protocols/{id}/versions/{version}/publish",
    wrap = "actix_web::middleware::from_fn(crate::idempotency::middleware)"
)]
pub async fn publish(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<web::Json<ProtocolVersion>, AppError> {
    let caller = Admin::try_from(caller)?;
    let (id, version) = version_path(&path.0, &path.1)?;
    note_protocol(&req, &id, version);
    let published = protocols::publish(&state, caller, id, version).await?;
    Ok(web::Json(published.into()))
}
