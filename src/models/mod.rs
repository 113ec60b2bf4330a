//! Table rows and their queries, one file per aggregate. Functions that read patient data take the
//! `Caller` and scope the query by it themselves, so no handler can forget to.

pub mod audit;
pub mod calendar_subscriptions;
pub mod check_ins;
pub mod clinics;
pub mod erasure;
pub mod idempotency;
pub mod invites;
pub mod login_throttle;
pub mod outbox;
pub mod patients;
pub mod photo_renditions;
pub mod photos;
pub mod plan_cache;
pub mod plans;
pub mod protocols;
pub mod reset_requests;
pub mod screenings;
pub mod sessions;
pub mod treatments;
pub mod users;

/// A new, time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
