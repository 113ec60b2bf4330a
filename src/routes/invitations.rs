//! A new invitation by e-mail for an account that lost its first one or let it expire.

use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::{Subject, note_subject};
use crate::auth::{Admin, Caller, Staff};
use crate::clock::format_instant;
use crate::error::AppError;
use crate::routes::path_id;
use crate::state::AppState;
use crate::use_cases::invitations::{self, Reinvited};

#[derive(Serialize, ToSchema)]
pub struct InvitationSent {
    /// The account invited.
    pub user_id: String,
    /// Where the invitation e-mail goes.
    pub sent_to: String,
    /// When the new invitation stops working.
    pub expires_at: String,
}

impl From<Reinvited> for InvitationSent {
    fn from(r: Reinvited) -> InvitationSent {
        InvitationSent { user_id: r.account.id, sent_to: r.account.email, expires_at: format_instant(r.expires_at) }
    }
}

fn accepted(req: &HttpRequest, resource_type: &'static str, patient: bool, sent: Reinvited) -> HttpResponse {
    let id = sent.account.id.clone();
    note_subject(
        req,
        Subject { patient_id: patient.then(|| id.clone()), resource_type: Some(resource_type), resource_id: Some(id) },
    );
    HttpResponse::Accepted().json(InvitationSent::from(sent))
}

/// Sends a patient of the caller's clinic a new invitation by e-mail; the earlier one stops working.
///
/// Administrators and clinicians; patients get 403. For a patient who lost the invitation or let it
/// expire: a new one, valid for the configured time (7 days by default), goes to the patient's
/// address; the token is never in the answer. Another clinic's patient, or an id that is not a
/// patient's, answers 404; an account that has set its password already answers 409 (its owner can
/// reset a forgotten password). Retrying with the same Idempotency-Key sends nothing more.
#[utoipa::path(
    params(("id" = uuid::Uuid, Path, description = "The patient's id"), crate::routes::openapi::IdempotencyKey),
    operation_id = "reinvitePatient",
    tag = "patients",
    responses(
        (status = 202, description = "A new invitation is on its way", body = InvitationSent),
        (status = 403, response = crate::routes::problems::Forbidden),
        (status = 404, response = crate::routes::problems::NotFound),
        (status = 409, response = crate::routes::problems::Conflict),
    )
)]
#[post("/patients/{id}/invitation", wrap = "actix_web::middleware::from_fn(crate::idempotency::middleware)")]
pub async fn reinvite_patient(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Staff,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id)?;
    let sent = invitations::reinvite_patient(&state, caller, id).await?;
    Ok(accepted(&req, "patient", true, sent))
}

/// Sends a staff member of the caller's clinic a new invitation by e-mail; the earlier one stops working.
///
/// Administrators only; clinicians and patients get 403. For a clinician or administrator who lost
/// the invitation or let it expire: a new one goes to their address; the token is never in the
/// answer. Another clinic's staff member, or an id that is not staff, answers 404; an account that
/// has set its password already, or is deactivated, answers 409. Retrying with the same
/// Idempotency-Key sends nothing more.
#[utoipa::path(
    params(("id" = uuid::Uuid, Path, description = "The staff member's id"), crate::routes::openapi::IdempotencyKey),
    operation_id = "reinviteClinician",
    tag = "staff",
    responses(
        (status = 202, description = "A new invitation is on its way", body = InvitationSent),
        (status = 403, response = crate::routes::problems::Forbidden),
        (status = 404, response = crate::routes::problems::NotFound),
        (status = 409, response = crate::routes::problems::Conflict),
    )
)]
#[post("/clinicians/{id}/invitation", wrap = "actix_web::middleware::from_fn(crate::idempotency::middleware)")]
pub async fn reinvite_clinician(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let caller = Admin::try_from(caller)?;
    let id = path_id(&id)?;
    let sent = invitations::reinvite_staff(&state, caller, id).await?;
    Ok(accepted(&req, "staff", false, sent))
}
