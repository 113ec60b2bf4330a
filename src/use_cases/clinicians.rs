//! A clinic's staff: administrators invite clinicians and other administrators.

use crate::auth::Admin;
use crate::domain::{Role, StaffInvitation};
use crate::error::AppError;
use crate::models::users::{self, NewUser, User};
use crate::models::{invites, sessions};
use crate::pagination::{Page, PageRequest};
use crate::state::SharedState;
use crate::use_cases::invitations;

/// A new staff account, not yet activated, and the token that activates it.
pub struct Invited {
    pub member: User,
    /// Shown only when `INVITE_TOKENS_IN_ANSWERS` allows (v1 compatibility); always e-mailed.
    pub invite_token: Option<String>,
}

/// Creates a clinician's or administrator's account in the caller's clinic, with its invitation.
/// An email the clinic already has is a conflict.
pub async fn invite(state: &SharedState, caller: Admin, invitation: StaffInvitation) -> Result<Invited, AppError> {
    let shared = state.clone();
    state
        .db
        .write(move |conn| {
            let StaffInvitation { name, email, role } = invitation;
            let new = NewUser {
                clinic_id: &caller.clinic_id,
                role,
                email: email.as_str(),
                name: name.as_str(),
                password_hash: None,
            };
            let member = users::insert(conn, new)?;
            let invite_token = invitations::shown(&shared, invitations::invite_by_mail(conn, &shared, &member)?);
            Ok(Invited { member, invite_token })
        })
        .await
}

/// The caller's clinic's administrators and clinicians, oldest first.
pub async fn list_staff(state: &SharedState, caller: Admin, page: PageRequest) -> Result<Page<User>, AppError> {
    state.db.run(move |conn| users::list_staff(conn, &caller, &page)).await
}

/// Deactivates a clinician or administrator of the caller's clinic: the account can no longer log
/// in, its refresh tokens are revoked and its open invitations withdrawn, all in one transaction;
/// its access tokens are refused from the next request on (`authenticate` reads `active` every
/// time), and stay refused after a reactivation (their credentials version has moved on).
/// Deactivating oneself, or the clinic's last active administrator, is a conflict. Deactivating an
/// inactive account changes nothing and answers the same.
pub async fn deactivate(state: &SharedState, caller: Admin, id: String) -> Result<User, AppError> {
    state
        .db
        .write(move |conn| {
            let member = users::find_staff(conn, &caller, &id)?;
            if member.id == caller.user_id {
                return Err(AppError::Conflict("you cannot deactivate your own account".into()));
            }
            users::lock_staff_changes(conn, &caller)?;
            // Counted after the lock: two administrators deactivating each other cannot both pass.
            if member.role == Role::Admin && users::other_active_admins(conn, &caller, &member.id)? == 0 {
                return Err(AppError::Conflict(
                    "this is the clinic's last active administrator; it cannot be deactivated".into(),
                ));
            }
            users::set_active(conn, &member.id, false)?;
            sessions::revoke_all(conn, &member.id)?;
            // Its access tokens must not come back to life if the account is reactivated.
            users::end_access_tokens(conn, &member.id)?;
            invites::withdraw_all(conn, &member.id)?;
            users::find_staff(conn, &caller, &member.id)
        })
        .await
}

/// Reactivates a clinician or administrator of the caller's clinic: the account logs in again with
/// its password (its earlier logins stay revoked). Reactivating an active account changes nothing.
pub async fn reactivate(state: &SharedState, caller: Admin, id: String) -> Result<User, AppError> {
    state
        .db
        .write(move |conn| {
            let member = users::find_staff(conn, &caller, &id)?;
            users::set_active(conn, &member.id, true)?;
            users::find_staff(conn, &caller, &member.id)
        })
        .await
}
