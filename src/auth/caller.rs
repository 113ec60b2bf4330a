//! Who is calling: the bearer token, verified, and checked against the account as it is now.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use chrono::Utc;

use crate::domain::Role;
use crate::error::AppError;
use crate::models::users;
use crate::state::AppState;

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

impl FromRequest for Caller {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let request = req.clone();
        let claims = match (&state, bearer_token(req.headers())) {
            (Some(state), Some(token)) => state.tokens.verify(token, Utc::now()),
            (None, _) => Err(AppError::internal("application state is missing")),
            (_, None) => Err(AppError::Unauthorized),
        };
        Box::pin(async move {
            let claims = claims?;
            let state = state.ok_or_else(|| AppError::internal("application state is missing"))?;
            let user_id = claims.sub.clone();
            let account = state.db.read(move |conn| users::find_active_with_plan_inputs(conn, &user_id)).await?;
            // A token outlives changes to its account: a deactivated or deleted user, or one whose
            // role or clinic changed, is refused.
            match account {
                Some((user, plan_inputs_version)) if user.role == claims.role && user.clinic_id == claims.clinic => {
                    let caller =
                        Caller { user_id: user.id, role: user.role, clinic_id: user.clinic_id, plan_inputs_version };
                    // The audit trail reads who acted from here.
                    request.extensions_mut().insert(caller.clone());
                    Ok(caller)
                }
                _ => Err(AppError::Unauthorized),
            }
        })
    }
}
