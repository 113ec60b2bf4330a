//! What administrators see of e-mail, and the clinic's settings: the outbox with each message's
//! delivery state; urgent alerts, the default time of treatment, the screening gate's period.

use crate::auth::Admin;
use crate::domain::DeliveryState;
use crate::error::AppError;
use crate::models::clinics::{self, AlertSettings, ScreeningSettings, TreatmentSettings};
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

/// A clinic's settings, each part as stored or its default.
pub struct Settings {
    pub alerts: AlertSettings,
    pub treatments: TreatmentSettings,
    pub screening: ScreeningSettings,
}

fn read_settings(conn: &mut crate::db::DbConnection, clinic_id: &str) -> Result<Settings, AppError> {
    Ok(Settings {
        alerts: clinics::alert_settings(conn, clinic_id)?,
        treatments: clinics::treatment_settings(conn, clinic_id)?,
        screening: clinics::screening_settings(conn, clinic_id)?,
    })
}

pub async fn settings(state: &SharedState, caller: Admin) -> Result<Settings, AppError> {
    state.db.read(move |conn| read_settings(conn, &caller.clinic_id)).await
}

/// Replaces the clinic's alert settings (recipients must be its active staff) and, when given, its
/// treatment and screening settings; a part not given keeps its stored value.
pub async fn set_settings(
    state: &SharedState,
    caller: Admin,
    alerts: AlertSettings,
    treatments: Option<TreatmentSettings>,
    screening: Option<ScreeningSettings>,
) -> Result<Settings, AppError> {
    state
        .db
        .write(move |conn| {
            clinics::save_alert_settings(conn, &caller.clinic_id, &alerts)?;
            if let Some(treatments) = &treatments {
                clinics::save_treatment_settings(conn, &caller.clinic_id, treatments)?;
            }
            if let Some(screening) = screening {
                clinics::save_screening_settings(conn, &caller.clinic_id, &screening)?;
            }
            read_settings(conn, &caller.clinic_id)
        })
        .await
}
