//! Calendar subscriptions: the feed of a treatment's reminders that a calendar app polls without a
//! token, named by a long random secret. Only the secret's SHA-256 is stored; the secret itself is
//! handed out once, by `rotate` (and by `reissue` to the replay of a lost answer).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::Caller;
use crate::auth::tokens::{random_token, token_hash};
use crate::db::DbConnection;
use crate::db::schema::{calendar_subscriptions as subs, idempotency_keys};
use crate::error::AppError;
use crate::models::treatments;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = subs)]
pub struct Subscription {
    pub treatment_id: String,
    /// Changes at every rotation: it names this secret, not the treatment's subscription.
    pub id: String,
    pub clinic_id: String,
    pub patient_id: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

/// A subscription together with its secret, which exists only in this value and the answer.
pub struct Issued {
    pub subscription: Subscription,
    pub secret: String,
}

/// Replaces the subscription of a treatment by one with a new secret (creating it if there was
/// none); the old secret stops working in the same transaction. Runs in the caller's write
/// transaction.
fn replace(
    conn: &mut DbConnection,
    treatment_id: &str,
    clinic_id: &str,
    patient_id: &str,
    by: &str,
) -> Result<Issued, AppError> {
    diesel::delete(subs::table.find(treatment_id)).execute(conn)?;
    let secret = random_token();
    let subscription = Subscription {
        treatment_id: treatment_id.to_string(),
        id: crate::models::new_id(),
        clinic_id: clinic_id.to_string(),
        patient_id: patient_id.to_string(),
        created_by: by.to_string(),
        created_at: crate::clock::now(),
    };
    diesel::insert_into(subs::table)
        .values((
            subs::treatment_id.eq(&subscription.treatment_id),
            subs::id.eq(&subscription.id),
            subs::token_hash.eq(token_hash(&secret)),
            subs::clinic_id.eq(&subscription.clinic_id),
            subs::patient_id.eq(&subscription.patient_id),
            subs::created_by.eq(&subscription.created_by),
            subs::created_at.eq(subscription.created_at),
        ))
        .execute(conn)?;
    Ok(Issued { subscription, secret })
}

/// Creates or rotates the subscription of a treatment the caller may see (404 otherwise).
pub fn rotate(conn: &mut DbConnection, caller: &Caller, treatment_id: &str) -> Result<Issued, AppError> {
    let treatment = treatments::get(conn, caller, treatment_id)?;
    replace(conn, &treatment.id, &treatment.clinic_id, &treatment.patient_id, &caller.user_id)
}

/// The subscription of a treatment the caller may see, if it has one (404 for a treatment the
/// caller may not see).
pub fn of_treatment(
    conn: &mut DbConnection,
    caller: &Caller,
    treatment_id: &str,
) -> Result<Option<Subscription>, AppError> {
    let treatment = treatments::get(conn, caller, treatment_id)?;
    Ok(subs::table.find(&treatment.id).select(Subscription::as_select()).first(conn).optional()?)
}

/// Revokes the subscription of a treatment the caller may see; whether there was one.
pub fn revoke(conn: &mut DbConnection, caller: &Caller, treatment_id: &str) -> Result<bool, AppError> {
    let treatment = treatments::get(conn, caller, treatment_id)?;
    Ok(diesel::delete(subs::table.find(&treatment.id)).execute(conn)? > 0)
}

/// The subscription a feed secret names, if it is the current secret of one.
pub fn by_secret(conn: &mut DbConnection, secret: &str) -> Result<Option<Subscription>, AppError> {
    Ok(subs::table
        .filter(subs::token_hash.eq(token_hash(secret)))
        .select(Subscription::as_select())
        .first(conn)
        .optional()?)
}

/// For the replay of an answer whose feed URL was lost: rotates the subscription that answer
/// handed out, if it is still the current one (not rotated or revoked since), and moves the
/// stored answer on to the new subscription so that a further replay can do the same. `None`
/// when the subscription has changed since: no replay may then undo that change. Runs in the
/// caller's write transaction.
pub fn reissue(
    conn: &mut DbConnection,
    subscription_id: &str,
    user_id: &str,
    key: &str,
) -> Result<Option<Issued>, AppError> {
    let current: Option<Subscription> =
        subs::table.filter(subs::id.eq(subscription_id)).select(Subscription::as_select()).first(conn).optional()?;
    let Some(current) = current else { return Ok(None) };
    let issued = replace(conn, &current.treatment_id, &current.clinic_id, &current.patient_id, &current.created_by)?;
    diesel::update(idempotency_keys::table.find((user_id, key)))
        .set(idempotency_keys::calendar_subscription_id.eq(&issued.subscription.id))
        .execute(conn)?;
    Ok(Some(issued))
}

/// Erasure: the patient's feeds go before their treatments.
pub fn erase_patient(conn: &mut DbConnection, patient_id: &str) -> Result<usize, AppError> {
    Ok(diesel::delete(subs::table.filter(subs::patient_id.eq(patient_id))).execute(conn)?)
}
