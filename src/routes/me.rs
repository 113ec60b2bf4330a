//! The caller's own account.

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::domain::Role;
use crate::error::AppError;
use crate::routes::patients::Patient;
use crate::state::AppState;
use crate::use_cases::accounts::{self, OwnAccount};

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: String,
    pub role: Role,
    pub clinic_id: String,
    pub email: String,
    pub name: String,
    /// The patient profile, for a patient.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient: Option<Patient>,
}

/// Who the access token belongs to.
///
/// Any logged-in user: administrator, clinician or patient. A patient's answer also carries
/// `patient`, their own profile; staff answers have no `patient` field. A missing or expired access
/// token, or one of an account since deactivated or changed, answers 401.
#[utoipa::path(
    operation_id = "getMe",
    tag = "me",
    responses(
        (status = 200, description = "The caller", body = Me),
    )
)]
#[get("/me")]
pub async fn get_me(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<Me>, AppError> {
    let OwnAccount { user, patient } = accounts::own_account(&state, caller).await?;
    Ok(web::Json(Me {
        id: user.id,
        role: user.role,
        clinic_id: user.clinic_id,
        email: user.email,
        name: user.name,
        patient: patient.map(Patient::from),
    }))
}
