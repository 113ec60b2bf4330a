//! A clinic's staff: administrators invite clinicians and other administrators.

use crate::auth::Admin;
use crate::domain::StaffInvitation;
use crate::error::AppError;
use crate::models::users::{self, NewUser, User};
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
