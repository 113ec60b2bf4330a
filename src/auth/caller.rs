//! Who is calling. A handler gets its `Caller` by asking for one (the extractor is in `authenticate.rs`).

use actix_web::http::header;

use crate::domain::Role;
use crate::error::AppError;

/// The authenticated caller. Every model function that reads patient data takes one and scopes
/// its query by it: clinic for staff, the patient's own id for patients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub role: Role,
    pub clinic_id: String,
    /// The version of the plans' inputs, read in the same statement as the account check; plans
    /// cached at this version may answer this request (`models::plan_cache`). `None`: load afresh.
    pub plan_inputs_version: Option<i64>,
}

impl Caller {
    pub fn require_staff(&self) -> Result<(), AppError> {
        if self.role.is_staff() { Ok(()) } else { Err(AppError::Forbidden) }
    }

    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.role == Role::Admin { Ok(()) } else { Err(AppError::Forbidden) }
    }

    pub fn require_patient(&self) -> Result<(), AppError> {
        if self.role == Role::Patient { Ok(()) } else { Err(AppError::Forbidden) }
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(headers: &header::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}
