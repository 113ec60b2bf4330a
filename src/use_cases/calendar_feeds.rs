//! Calendar subscriptions: a treatment's reminders as a feed that calendar apps poll with no
//! `Authorization` header, at a URL whose long random secret is the only credential. The patient
//! (own treatments) and the clinic's staff create, rotate and revoke it.

use crate::auth::Caller;
use crate::domain::Role;
use crate::error::AppError;
use crate::models::calendar_subscriptions::{self, Issued, Subscription};
use crate::models::plans::{self, PlanContext};
use crate::state::SharedState;

/// Characters of a feed secret as `random_token` makes them (256 bits, base64url).
const SECRET_CHARS: usize = 43;

/// Creates the treatment's subscription, or rotates it: a new secret, and the old URL answers 404
/// from the moment this commits.
pub async fn subscribe(state: &SharedState, caller: Caller, treatment_id: String) -> Result<Issued, AppError> {
    state.db.write(move |conn| calendar_subscriptions::rotate(conn, &caller, &treatment_id)).await
}

/// The treatment's subscription (never its secret, which is not stored); 404 when it has none.
pub async fn subscription(state: &SharedState, caller: Caller, treatment_id: String) -> Result<Subscription, AppError> {
    state
        .db
        .read(move |conn| calendar_subscriptions::of_treatment(conn, &caller, &treatment_id)?.ok_or(AppError::NotFound))
        .await
}

/// Revokes the treatment's subscription; done already when it has none.
pub async fn revoke(state: &SharedState, caller: Caller, treatment_id: String) -> Result<(), AppError> {
    state.db.write(move |conn| calendar_subscriptions::revoke(conn, &caller, &treatment_id).map(|_| ())).await
}

/// The plan a feed secret gives access to: the treatment of the subscription whose current secret
/// it is, read as its patient would (scoped to that patient). Anything else is 404. In the
/// patient's preferred language (a calendar app's request says nothing about the patient's), and
/// the language of its texts.
pub async fn feed(
    state: &SharedState,
    secret: String,
) -> Result<(std::sync::Arc<PlanContext>, crate::language::Language), AppError> {
    let well_formed =
        secret.len() == SECRET_CHARS && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(AppError::NotFound);
    }
    let shared = state.clone();
    state
        .db
        .read(move |conn| {
            let subscription = calendar_subscriptions::by_secret(conn, &secret)?.ok_or(AppError::NotFound)?;
            let as_patient = Caller {
                user_id: subscription.patient_id.clone(),
                role: Role::Patient,
                clinic_id: subscription.clinic_id.clone(),
                plan_inputs_version: None,
            };
            plans::load(conn, &as_patient, &shared.protocols, &subscription.treatment_id)
        })
        .await
        .map(|plan| {
            let requested = crate::language::Requested(None);
            crate::use_cases::plans::in_language(state, std::sync::Arc::new(plan), requested, true)
        })
}
