//! Screening a patient for contraindications before treatment.

use chrono::NaiveDateTime;

use crate::auth::Staff;
use crate::domain::screening::ScreeningAnswerSheet;
use crate::error::AppError;
use crate::models::screenings::{self, ScreeningRecord};
use crate::plan::protocol::Finding;
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

/// Screens a patient of the caller's clinic by the current protocol, and keeps the answers and
/// findings on record.
pub async fn screen(
    state: &SharedState,
    caller: Staff,
    patient_id: String,
    sheet: ScreeningAnswerSheet,
) -> Result<Screened, AppError> {
    let protocol = state.protocols.current();
    state
        .db
        .write(move |conn| {
            let record = screenings::create(conn, &caller, &patient_id, &protocol, &sheet.answers)?;
            Ok(Screened::from(record))
        })
        .await
}
