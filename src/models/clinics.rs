//! Clinics: the tenants. Each is created with its first administrator.

use chrono::NaiveTime;
use diesel::prelude::*;

use crate::db::schema::{clinic_settings, clinics};
use crate::db::{DbConnection, write_transaction};
use crate::domain::Role;
use crate::error::AppError;
use crate::models::users::{self, NewUser, User};

pub struct NewClinic<'a> {
    pub name: &'a str,
    pub admin_name: &'a str,
    pub admin_email: &'a str,
    pub admin_password_hash: &'a str,
}

/// Creates a clinic and its administrator; returns `(clinic_id, admin)`.
pub fn create_with_admin(conn: &mut DbConnection, new: NewClinic<'_>) -> Result<(String, User), AppError> {
    write_transaction(conn, |conn| {
        let clinic_id = super::new_id();
        diesel::insert_into(clinics::table)
            .values((
                clinics::id.eq(&clinic_id),
                clinics::name.eq(new.name),
                clinics::created_at.eq(crate::clock::now()),
            ))
            .execute(conn)?;
        crate::models::check_ins::start_queue_counts(conn, &clinic_id)?;
        let admin = users::insert(
            conn,
            NewUser {
                clinic_id: &clinic_id,
                role: Role::Admin,
                email: new.admin_email,
                name: new.admin_name,
                password_hash: Some(new.admin_password_hash),
            },
        )?;
        Ok((clinic_id, admin))
    })
}

/// The clinic's name, as its messages sign with it.
pub fn name(conn: &mut DbConnection, clinic_id: &str) -> Result<String, AppError> {
    Ok(clinics::table.find(clinic_id).select(clinics::name).first(conn)?)
}

/// Who is told by e-mail of an urgent check-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertSettings {
    pub enabled: bool,
    /// Staff ids; empty: every active clinician of the clinic (its administrators when it has none).
    pub recipients: Vec<String>,
}

impl Default for AlertSettings {
    fn default() -> AlertSettings {
        AlertSettings { enabled: true, recipients: Vec::new() }
    }
}

/// The clinic's alert settings; a clinic that never set them has the defaults.
pub fn alert_settings(conn: &mut DbConnection, clinic_id: &str) -> Result<AlertSettings, AppError> {
    let stored: Option<(bool, String)> = clinic_settings::table
        .find(clinic_id)
        .select((clinic_settings::urgent_alerts_enabled, clinic_settings::urgent_alert_recipients))
        .first(conn)
        .optional()?;
    Ok(match stored {
        Some((enabled, recipients)) => {
            AlertSettings { enabled, recipients: serde_json::from_str(&recipients).map_err(AppError::internal)? }
        }
        None => AlertSettings::default(),
    })
}

/// Replaces the clinic's alert settings. Recipients must be active staff of the clinic (checked
/// here, in the transaction that stores them); the ones that are not are named in the error.
pub fn save_alert_settings(conn: &mut DbConnection, clinic_id: &str, settings: &AlertSettings) -> Result<(), AppError> {
    let staff: Vec<String> = users::active_staff(conn, clinic_id)?.into_iter().map(|u| u.id).collect();
    let mut checks = crate::validate::Checks::new();
    for (i, id) in settings.recipients.iter().enumerate() {
        if !staff.contains(id) {
            checks.fail(&format!("urgent_alerts.recipients[{i}]"), "is not an active staff member of this clinic");
        }
    }
    checks.finish()?;
    let recipients = serde_json::to_string(&settings.recipients).map_err(AppError::internal)?;
    let now = crate::clock::now();
    // Only the alert columns: the clinic's other settings keep their stored values.
    let updated = diesel::update(clinic_settings::table.find(clinic_id))
        .set((
            clinic_settings::urgent_alerts_enabled.eq(settings.enabled),
            clinic_settings::urgent_alert_recipients.eq(&recipients),
            clinic_settings::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(clinic_settings::table)
            .values((
                clinic_settings::clinic_id.eq(clinic_id),
                clinic_settings::urgent_alerts_enabled.eq(settings.enabled),
                clinic_settings::urgent_alert_recipients.eq(&recipients),
                clinic_settings::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The clinic's settings for recording treatments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreatmentSettings {
    /// The local time of day of a treatment recorded without one.
    pub default_time: NaiveTime,
}

impl Default for TreatmentSettings {
    fn default() -> TreatmentSettings {
        TreatmentSettings { default_time: NaiveTime::from_hms_opt(10, 0, 0).expect("a valid time") }
    }
}

/// The clinic's treatment settings; a clinic that never set them has the defaults.
pub fn treatment_settings(conn: &mut DbConnection, clinic_id: &str) -> Result<TreatmentSettings, AppError> {
    let stored: Option<NaiveTime> = clinic_settings::table
        .find(clinic_id)
        .select(clinic_settings::default_treatment_time)
        .first(conn)
        .optional()?;
    Ok(stored.map_or_else(TreatmentSettings::default, |default_time| TreatmentSettings { default_time }))
}

/// Replaces the clinic's treatment settings, keeping its other settings.
pub fn save_treatment_settings(
    conn: &mut DbConnection,
    clinic_id: &str,
    settings: &TreatmentSettings,
) -> Result<(), AppError> {
    let now = crate::clock::now();
    let updated = diesel::update(clinic_settings::table.find(clinic_id))
        .set((clinic_settings::default_treatment_time.eq(settings.default_time), clinic_settings::updated_at.eq(now)))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(clinic_settings::table)
            .values((
                clinic_settings::clinic_id.eq(clinic_id),
                clinic_settings::default_treatment_time.eq(settings.default_time),
                clinic_settings::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Makes sure the clinic has its settings row (with every default) before one part is updated.
fn ensure_settings_row(conn: &mut DbConnection, clinic_id: &str) -> Result<(), AppError> {
    let exists: i64 =
        clinic_settings::table.filter(clinic_settings::clinic_id.eq(clinic_id)).count().get_result(conn)?;
    if exists == 0 {
        let defaults = AlertSettings::default();
        diesel::insert_into(clinic_settings::table)
            .values((
                clinic_settings::clinic_id.eq(clinic_id),
                clinic_settings::urgent_alerts_enabled.eq(defaults.enabled),
                clinic_settings::urgent_alert_recipients
                    .eq(serde_json::to_string(&defaults.recipients).map_err(AppError::internal)?),
                clinic_settings::updated_at.eq(crate::clock::now()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// How long a screening clears a patient for treatment, unless the clinic sets otherwise.
pub const DEFAULT_SCREENING_VALID_DAYS: i32 = 30;

/// The clinic's screening settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScreeningSettings {
    /// Days after a screening during which it clears the patient for a treatment (1-365).
    pub valid_days: i32,
}

impl Default for ScreeningSettings {
    fn default() -> ScreeningSettings {
        ScreeningSettings { valid_days: DEFAULT_SCREENING_VALID_DAYS }
    }
}

/// The clinic's screening settings; a clinic that never set them has the defaults.
pub fn screening_settings(conn: &mut DbConnection, clinic_id: &str) -> Result<ScreeningSettings, AppError> {
    let stored: Option<Option<i32>> =
        clinic_settings::table.find(clinic_id).select(clinic_settings::screening_valid_days).first(conn).optional()?;
    Ok(ScreeningSettings { valid_days: stored.flatten().unwrap_or(DEFAULT_SCREENING_VALID_DAYS) })
}

/// Replaces the clinic's screening settings, leaving its other settings as they are.
pub fn save_screening_settings(
    conn: &mut DbConnection,
    clinic_id: &str,
    settings: &ScreeningSettings,
) -> Result<(), AppError> {
    ensure_settings_row(conn, clinic_id)?;
    diesel::update(clinic_settings::table.find(clinic_id))
        .set((
            clinic_settings::screening_valid_days.eq(Some(settings.valid_days)),
            clinic_settings::updated_at.eq(crate::clock::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The staff an urgent check-in alerts, as the clinic's settings say: none when alerts are off;
/// the chosen ones still active; or by default (and when none of the chosen is active any more)
/// every active clinician, else every active admin.
pub fn urgent_alert_recipients(conn: &mut DbConnection, clinic_id: &str) -> Result<Vec<User>, AppError> {
    let settings = alert_settings(conn, clinic_id)?;
    if !settings.enabled {
        return Ok(Vec::new());
    }
    let staff = users::active_staff(conn, clinic_id)?;
    if !settings.recipients.is_empty() {
        let chosen: Vec<User> = staff.iter().filter(|u| settings.recipients.contains(&u.id)).cloned().collect();
        if !chosen.is_empty() {
            return Ok(chosen);
        }
        // Every chosen recipient has left since: an urgent check-in must still reach someone.
        tracing::warn!(clinic = %clinic_id, "no chosen recipient of urgent alerts is active: alerting the default ones");
    }
    let (clinicians, admins): (Vec<User>, Vec<User>) = staff.into_iter().partition(|u| u.role == Role::Clinician);
    Ok(if clinicians.is_empty() { admins } else { clinicians })
}
