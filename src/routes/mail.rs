//! E-mail for administrators: the outbox and its delivery states, and who gets urgent alerts.

use actix_web::{get, put, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Admin, Caller};
use crate::clock::format_instant;
use crate::domain::DeliveryState;
use crate::domain::{format_time_of_day, parse_enum, parse_id, parse_time_of_day};
use crate::error::AppError;
use crate::models::clinics::{AlertSettings, ScreeningSettings, TreatmentSettings};
use crate::models::outbox::StoredMessage;
use crate::pagination::{Page, PageQuery};
use crate::state::AppState;
use crate::use_cases::mail;
use crate::validate::{Checks, checked};

#[derive(Serialize, ToSchema)]
pub struct OutboxMessage {
    pub id: String,
    /// `invitation`, `password_reset`, `password_changed` or `urgent_check_in`; more may come.
    #[schema(example = "invitation")]
    pub kind: String,
    #[schema(format = Email)]
    pub recipient: String,
    pub subject: String,
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: i32,
    /// Why the last attempt failed, while the message is pending again or has failed.
    pub last_error: Option<String>,
    pub created_at: String,
    /// When the next attempt is due (pending messages).
    pub next_attempt_at: Option<String>,
    pub sent_at: Option<String>,
}

impl From<StoredMessage> for OutboxMessage {
    fn from(m: StoredMessage) -> OutboxMessage {
        let state = m.state;
        OutboxMessage {
            id: m.id,
            kind: m.kind,
            recipient: m.recipient,
            subject: m.subject,
            state,
            attempts: m.attempts,
            last_error: m.last_error,
            created_at: format_instant(m.created_at),
            next_attempt_at: (state == DeliveryState::Pending).then(|| format_instant(m.next_attempt_at)),
            sent_at: m.sent_at.map(format_instant),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// Only messages in this delivery state.
    #[param(value_type = Option<DeliveryState>)]
    pub state: Option<String>,
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The clinic's e-mail outbox, newest first: every message and its delivery state.
///
/// Administrators only; clinicians and patients get 403. Lists the messages the service has written
/// for the caller's clinic (invitations, password resets and notices, urgent check-in alerts), each
/// `pending` (waiting for its first or next attempt, with the last error if one failed), `sent`, or
/// `failed` (refused for good, or out of attempts). Bodies are not shown: they carry single-use
/// links. A `state` that is not one of these, a `limit` outside 1-100 or a bad `cursor` answers 422.
#[utoipa::path(
    operation_id = "listOutboxMessages",
    tag = "mail",
    params(OutboxQuery),
    responses(
        (status = 200, description = "A page of messages", body = Page<OutboxMessage>),
        (status = 403, response = crate::routes::problems::Forbidden),
    )
)]
#[get("/outbox")]
pub async fn list_outbox(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<OutboxQuery>,
) -> Result<web::Json<Page<OutboxMessage>>, AppError> {
    let caller = Admin::try_from(caller)?;
    let q = query.into_inner();
    let mut checks = Checks::new();
    let delivery = checks.optional("state", q.state, parse_enum::<DeliveryState>);
    let page = PageQuery { limit: q.limit, cursor: q.cursor }.parse(&mut checks);
    checks.finish()?;
    let found = mail::outbox(&state, caller, delivery, checked(page)?).await?;
    Ok(web::Json(found.map(OutboxMessage::from)))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct UrgentAlerts {
    /// Whether an urgent check-in sends an e-mail alert (a link, no health details).
    pub enabled: bool,
    /// Staff ids to alert. Empty: every active clinician of the clinic (its administrators when it
    /// has no clinician).
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub recipients: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TreatmentDefaults {
    /// The local time of day (`HH:MM`, in the patient's zone) of a treatment recorded without
    /// `treatment_time`; "10:00" until the clinic sets it.
    #[schema(example = "10:00", pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub default_time: String,
}

#[derive(Serialize, ToSchema)]
pub struct ClinicSettings {
    pub urgent_alerts: UrgentAlerts,
    pub treatments: TreatmentDefaults,
    pub screening: ScreeningGate,
}

/// The screening gate: a treatment needs an eligible screening made at most this long before it.
#[derive(Serialize, ToSchema)]
pub struct ScreeningGate {
    /// Days a screening clears the patient for treatment (1-365; default 30).
    #[schema(minimum = 1, maximum = 365, example = 30)]
    pub valid_days: i32,
}

#[derive(Deserialize)]
pub struct ScreeningGateInput {
    // JSON Schema's integers include `30.0`: taken as whole numbers, as everywhere else.
    #[serde(default, deserialize_with = "crate::validate::integer")]
    pub valid_days: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"urgent_alerts": {"enabled": true, "recipients": []}, "treatments": {"default_time": "10:00"}}))]
pub struct UpdateClinicSettings {
    #[schema(value_type = UrgentAlerts, required = true)]
    pub urgent_alerts: Option<UrgentAlertsInput>,
    /// Optional: when absent, the stored treatment settings stay.
    #[schema(value_type = Option<TreatmentDefaultsInput>)]
    pub treatments: Option<TreatmentDefaultsInput>,
    /// Optional: when absent, the stored screening settings stay.
    #[schema(value_type = Option<ScreeningGate>)]
    pub screening: Option<ScreeningGateInput>,
}

#[derive(Deserialize, ToSchema)]
pub struct TreatmentDefaultsInput {
    /// `HH:MM`, 00:00 to 23:59: the local time of day of a treatment recorded without one.
    #[schema(value_type = String, required = true, example = "10:00", pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub default_time: Option<String>,
}

#[derive(Deserialize)]
pub struct UrgentAlertsInput {
    pub enabled: Option<bool>,
    pub recipients: Option<Vec<String>>,
}

impl From<mail::Settings> for ClinicSettings {
    fn from(s: mail::Settings) -> ClinicSettings {
        ClinicSettings {
            urgent_alerts: UrgentAlerts { enabled: s.alerts.enabled, recipients: s.alerts.recipients },
            treatments: TreatmentDefaults { default_time: format_time_of_day(s.treatments.default_time) },
            screening: ScreeningGate { valid_days: s.screening.valid_days },
        }
    }
}

/// The settings a PUT names: the alerts, and the treatment and screening settings when given.
/// (The console's settings form is read into the same.)
pub struct SettingsUpdate {
    pub alerts: AlertSettings,
    pub treatments: Option<TreatmentSettings>,
    pub screening: Option<ScreeningSettings>,
}

impl TryFrom<UpdateClinicSettings> for SettingsUpdate {
    type Error = AppError;

    fn try_from(body: UpdateClinicSettings) -> Result<SettingsUpdate, AppError> {
        let mut checks = Checks::new();
        let alerts = body.urgent_alerts.unwrap_or(UrgentAlertsInput { enabled: None, recipients: None });
        let enabled = checks.required("urgent_alerts.enabled", alerts.enabled, Ok::<bool, String>);
        let mut recipients = Vec::new();
        match alerts.recipients {
            None => checks.fail("urgent_alerts.recipients", "is required"),
            Some(raw) => {
                for (i, raw) in raw.into_iter().enumerate() {
                    match parse_id(&raw) {
                        Ok(id) if !recipients.contains(&id) => recipients.push(id),
                        Ok(_) => checks.fail(&format!("urgent_alerts.recipients[{i}]"), "is named twice"),
                        Err(e) => checks.fail(&format!("urgent_alerts.recipients[{i}]"), e),
                    }
                }
            }
        }
        let treatments = body.treatments.map(|given| {
            checks
                .required("treatments.default_time", given.default_time, parse_time_of_day)
                .map(|default_time| TreatmentSettings { default_time })
        });
        let screening = body.screening.map(|given| {
            checks
                .required("screening.valid_days", given.valid_days, |days| match i32::try_from(days) {
                    Ok(days @ 1..=365) => Ok(days),
                    _ => Err("must be a whole number of days from 1 to 365".to_string()),
                })
                .map(|valid_days| ScreeningSettings { valid_days })
        });
        checks.finish()?;
        let alerts = AlertSettings { enabled: checked(enabled)?, recipients };
        Ok(SettingsUpdate {
            alerts,
            treatments: treatments.map(checked).transpose()?,
            screening: screening.map(checked).transpose()?,
        })
    }
}

/// The clinic's settings: who is alerted by e-mail of an urgent check-in, and the default time of treatment.
///
/// Administrators only; clinicians and patients get 403. A clinic that never changed them has urgent
/// alerts on, sent to every active clinician, and treatments recorded without a time at 10:00.
#[utoipa::path(
    operation_id = "getClinicSettings",
    tag = "mail",
    responses(
        (status = 200, description = "The settings", body = ClinicSettings),
        (status = 403, response = crate::routes::problems::Forbidden),
    )
)]
#[get("/clinic/settings")]
pub async fn get_settings(state: web::Data<AppState>, caller: Admin) -> Result<web::Json<ClinicSettings>, AppError> {
    Ok(web::Json(mail::settings(&state, caller).await?.into()))
}

/// Replaces the clinic's settings: turn urgent alerts on or off and choose who receives them.
///
/// Administrators only; clinicians and patients get 403. `recipients` are ids of the clinic's active,
/// activated staff; an empty list alerts every active clinician. An id that is not one answers 422
/// naming its position; so does a missing field. Alerts carry a link to the check-in and no health
/// details. `treatments.default_time` (`HH:MM`) is the time of day of treatments recorded without
/// one; without `treatments` the stored value stays, and a time that is not `HH:MM` answers 422.
/// Sending the same settings again changes nothing.
#[utoipa::path(
    operation_id = "updateClinicSettings",
    tag = "mail",
    request_body = UpdateClinicSettings,
    responses(
        (status = 200, description = "The settings now", body = ClinicSettings),
        (status = 403, response = crate::routes::problems::Forbidden),
    )
)]
#[put("/clinic/settings")]
pub async fn update_settings(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<UpdateClinicSettings>,
) -> Result<web::Json<ClinicSettings>, AppError> {
    let caller = Admin::try_from(caller)?;
    let update = SettingsUpdate::try_from(body.into_inner())?;
    let settings = mail::set_settings(&state, caller, update.alerts, update.treatments, update.screening).await?;
    Ok(web::Json(settings.into()))
}
