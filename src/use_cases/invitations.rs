//! Invitations: how a new account gets its first password, by e-mail; and a new invitation for an
//! account that lost or let expire its first one.

use chrono::NaiveDateTime;

use crate::auth::{Admin, Staff};
use crate::domain::Role;
use crate::error::AppError;
use crate::mail::Letter;
use crate::models::clinics;
use crate::models::invites::{self, Issued, Purpose};
use crate::models::outbox::{self, NewMessage};
use crate::models::users::{self, User};
use crate::state::{AppState, SharedState};

/// Issues an invitation for `account` (withdrawing any earlier one) and writes the e-mail that
/// carries its link. Run it inside the write transaction that creates or re-invites the account.
pub(crate) fn invite_by_mail(
    conn: &mut crate::db::DbConnection,
    state: &AppState,
    account: &User,
) -> Result<Issued, AppError> {
    let issued = invites::issue(conn, &state.tokens, &account.id, Purpose::Invitation, state.settings.invite_ttl)?;
    let letter = Letter::Invitation {
        name: account.name.clone(),
        clinic: clinics::name(conn, &account.clinic_id)?,
        nonce: issued.nonce.clone(),
        language: crate::models::patients::preferred_language_of(conn, &account.id)?,
    };
    outbox::enqueue(
        conn,
        NewMessage { clinic_id: &account.clinic_id, recipient_user_id: &account.id, recipient: &account.email, letter },
    )?;
    Ok(issued)
}

/// The token to put in the answer of the request that invited: v1 answers carried it (deprecated);
/// with `INVITE_TOKENS_IN_ANSWERS=false` only the e-mail does, and nobody else ever sees it.
pub(crate) fn shown(state: &AppState, issued: Issued) -> Option<String> {
    state.settings.invite_tokens_in_answers.then_some(issued.token)
}

/// A new invitation on its way.
pub struct Reinvited {
    pub account: User,
    pub expires_at: NaiveDateTime,
}

/// A new invitation for a patient of the caller's clinic who has not activated the account; the
/// earlier one stops working. Staff only.
pub async fn reinvite_patient(state: &SharedState, caller: Staff, patient_id: String) -> Result<Reinvited, AppError> {
    reinvite(state, caller.clinic_id.clone(), &[Role::Patient], patient_id).await
}

/// The same for a staff member; administrators only.
pub async fn reinvite_staff(state: &SharedState, caller: Admin, staff_id: String) -> Result<Reinvited, AppError> {
    reinvite(state, caller.clinic_id.clone(), &[Role::Admin, Role::Clinician], staff_id).await
}

async fn reinvite(
    state: &SharedState,
    clinic_id: String,
    roles: &'static [Role],
    user_id: String,
) -> Result<Reinvited, AppError> {
    let shared = state.clone();
    state
        .db
        .write(move |conn| {
            let account = users::find_in_clinic(conn, &clinic_id, roles, &user_id)?.ok_or(AppError::NotFound)?;
            if account.activated() {
                return Err(AppError::Conflict(
                    "this account has set its password already; its owner can reset a forgotten one at \
                     /v1/auth/password-reset"
                        .into(),
                ));
            }
            if !account.active {
                return Err(AppError::Conflict("this account is deactivated; reactivate it first".into()));
            }
            let issued = invite_by_mail(conn, &shared, &account)?;
            Ok(Reinvited { account, expires_at: issued.expires_at })
        })
        .await
}
