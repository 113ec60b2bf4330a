//! Authenticating a request: the bearer token, verified, and checked against the account as it is
//! now. A handler that takes a `Caller` argument gets one only this way, and a `Staff`, `Admin` or
//! `Patient` one only this way or by turning a `Caller` into it.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use chrono::Utc;

use crate::auth::caller::bearer_token;
use crate::auth::{Admin, Caller, Patient, Staff};
use crate::error::AppError;
use crate::models::users;
use crate::state::AppState;

/// The caller this request was authenticated as, kept so that a second extraction within the
/// same request (the idempotency layer's, then the handler's) does not check the account again.
/// Only the extractor below sets it.
#[derive(Clone)]
struct Authenticated(Caller);

impl FromRequest for Caller {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(Authenticated(caller)) = req.extensions().get::<Authenticated>().cloned() {
            return Box::pin(async move { Ok(caller) });
        }
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
            // A token outlives changes to its account: a deactivated or deleted user, one whose role
            // or clinic changed, or whose password changed since the token was issued, is refused.
            match account {
                Some((user, plan_inputs_version))
                    if user.role == claims.role
                        && user.clinic_id == claims.clinic
                        && user.credentials_version == claims.cv =>
                {
                    let caller =
                        Caller { user_id: user.id, role: user.role, clinic_id: user.clinic_id, plan_inputs_version };
                    // The audit trail reads who acted from here.
                    request.extensions_mut().insert(caller.clone());
                    request.extensions_mut().insert(Authenticated(caller.clone()));
                    Ok(caller)
                }
                _ => Err(AppError::Unauthorized),
            }
        })
    }
}

/// The role extractors: authenticated as `Caller` is (401 first), then 403 for another role.
///
/// Handlers that also read a query string or a JSON body take a `Caller` and turn it into the role
/// in their first line (`Staff::try_from(caller)?`) instead: an extractor would answer 403 before a
/// malformed query's or body's 400, which clients get first.
macro_rules! role_extractor {
    ($($name:ident),+) => {$(
        impl FromRequest for $name {
            type Error = AppError;
            type Future = Pin<Box<dyn Future<Output = Result<$name, AppError>>>>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                let caller = Caller::from_request(req, payload);
                Box::pin(async move { $name::try_from(caller.await?) })
            }
        }
    )+};
}

role_extractor!(Staff, Admin, Patient);
