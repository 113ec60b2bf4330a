//! What administrators see of e-mail: the clinic's outbox with each message's delivery state, and
//! the clinic's urgent-alert settings.

use crate::auth::Admin;
use crate::domain::DeliveryState;
use crate::error::AppError;
use crate::models::clinics::{self, AlertSettings};
use crate::models::outbox::{self, StoredMessage};
use crate::pagination::{Page, PageRequest};
use crate::state::SharedState;

/// The caller's clinic's messages, newest first, optionally in one delivery state.
pub async fn outbox(
    state: &SharedState,
    caller: Admin,
    delivery: Option<DeliveryState>,
    page: PageRequest,
) -> Result<Page<StoredMessage>, AppError> {
    state.db.run(move |conn| outbox::list(conn, &caller, delivery, &page)).await
}

pub async fn alert_settings(state: &SharedState, caller: Admin) -> Result<AlertSettings, AppError> {
    state.db.read(move |conn| clinics::alert_settings(conn, &caller.clinic_id)).await
}

/// Replaces the clinic's alert settings; recipients must be its active staff.
pub async fn set_alert_settings(
    state: &SharedState,
    caller: Admin,
    settings: AlertSettings,
) -> Result<AlertSettings, AppError> {
    state
        .db
        .write(move |conn| {
            clinics::save_alert_settings(conn, &caller.clinic_id, &settings)?;
            Ok(settings)
        })
        .await
}
