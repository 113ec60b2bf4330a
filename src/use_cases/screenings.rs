//! Screening a patient for contraindications before treatment.

use chrono::NaiveDateTime;

use crate::auth::Staff;
use crate::domain::screening::ScreeningAnswerSheet;
use crate::error::{AppError, FieldError};
use crate::models::screenings::{self, ScreeningRecord};
use crate::plan::Protocol;
use crate::plan::protocol::Finding;
use crate::plan::screening::answers_for;
use crate::state::SharedState;

/// A stored screening and what it found.
pub struct Screened {
    pub id: String,
    /// False when any contraindication was found.
    pub eligible: bool,
    pub contraindications: Vec<Finding>,
    pub cautions: Vec<Finding>,
    pub created_at: NaiveDateTime,
}

impl From<ScreeningRecord<'_>> for Screened {
    fn from(record: ScreeningRecord<'_>) -> Screened {
        let owned = |findings: Vec<&Finding>| findings.into_iter().cloned().collect();
        Screened {
            id: record.id,
            eligible: record.outcome.eligible,
            contraindications: owned(record.outcome.contraindications),
            cautions: owned(record.outcome.cautions),
            created_at: record.created_at,
        }
    }
}

/// Screens a patient of the caller's clinic by the clinic's current protocol (the one its new
/// treatments use), and keeps the answers and
/// findings on record. Every question the current protocol asks must be answered (422 naming each
/// one that is not); answers to questions it does not ask are not kept.
pub async fn screen(
    state: &SharedState,
    caller: Staff,
    patient_id: String,
    sheet: ScreeningAnswerSheet,
) -> Result<Screened, AppError> {
    let state = state.clone();
    state
        .clone()
        .db
        .write(move |conn| {
            let protocol = state.protocols.current_for(conn, &caller.clinic_id)?;
            let answers = answers_for(&protocol, &sheet.answers).map_err(|missing| {
                let why = format!("is asked by protocol {} version {} (true or false)", protocol.id, protocol.version);
                AppError::Validation(
                    missing
                        .iter()
                        .map(|q| FieldError { field: format!("answers.{q}"), message: why.clone() })
                        .collect(),
                )
            })?;
            let record = screenings::create(conn, &caller, &patient_id, &protocol, &answers)?;
            Ok(Screened::from(record))
        })
        .await
}

/// The questions a screening must answer now: the clinic's current protocol's (its newest
/// published one, else the newest standard one). Staff only (the caller is the proof).
pub async fn questions(state: &SharedState, caller: Staff) -> Result<std::sync::Arc<Protocol>, AppError> {
    let state = state.clone();
    state.clone().db.read(move |conn| state.protocols.current_for(conn, &caller.clinic_id)).await
}
