//! Screening a patient for contraindications before treatment.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, Staff};
use crate::clock::format_instant;
use crate::domain::screening::ScreeningAnswerSheet;
use crate::error::AppError;
use crate::plan::protocol::Finding;
use crate::routes::path_id;
use crate::state::AppState;
use crate::use_cases::screenings::{self, Screened};
use crate::validate::Checks;

/// Yes/no answers; every one is required.
#[derive(Deserialize, ToSchema)]
pub struct ScreeningAnswers {
    #[schema(value_type = bool, required = true)]
    pub active_acne: Option<bool>,
    #[schema(value_type = bool, required = true)]
    pub eczema: Option<bool>,
    #[schema(value_type = bool, required = true)]
    pub psoriasis: Option<bool>,
    #[schema(value_type = bool, required = true)]
    pub other_inflammatory: Option<bool>,
    #[schema(value_type = bool, required = true)]
    pub bleeding_disorder: Option<bool>,
    #[schema(value_type = bool, required = true)]
    pub blood_thinners: Option<bool>,
    #[schema(value_type = bool, required = true)]
    pub keloids: Option<bool>,
    #[schema(value_type = bool, required = true)]
    pub immunocompromised: Option<bool>,
    #[schema(value_type = bool, required = true)]
    pub pregnant_or_breastfeeding: Option<bool>,
    #[schema(value_type = bool, required = true)]
    pub numbing_allergy: Option<bool>,
}

impl ScreeningAnswers {
    fn pairs(self) -> [(&'static str, Option<bool>); 10] {
        [
            ("active_acne", self.active_acne),
            ("eczema", self.eczema),
            ("psoriasis", self.psoriasis),
            ("other_inflammatory", self.other_inflammatory),
            ("bleeding_disorder", self.bleeding_disorder),
            ("blood_thinners", self.blood_thinners),
            ("keloids", self.keloids),
            ("immunocompromised", self.immunocompromised),
            ("pregnant_or_breastfeeding", self.pregnant_or_breastfeeding),
            ("numbing_allergy", self.numbing_allergy),
        ]
    }
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({
    "answers": {
        "active_acne": false,
        "eczema": false,
        "psoriasis": false,
        "other_inflammatory": false,
        "bleeding_disorder": false,
        "blood_thinners": false,
        "keloids": false,
        "immunocompromised": false,
        "pregnant_or_breastfeeding": false,
        "numbing_allergy": true
    }
}))]
pub struct CreateScreening {
    #[schema(value_type = ScreeningAnswers, required = true)]
    pub answers: Option<ScreeningAnswers>,
}

impl TryFrom<CreateScreening> for ScreeningAnswerSheet {
    type Error = AppError;

    fn try_from(body: CreateScreening) -> Result<ScreeningAnswerSheet, AppError> {
        let mut checks = Checks::new();
        let mut answers = BTreeMap::new();
        match body.answers {
            None => checks.fail("answers", "is required"),
            Some(given) => {
                for (question, answer) in given.pairs() {
                    match answer {
                        Some(yes) => {
                            answers.insert(question.to_string(), yes);
                        }
                        None => checks.fail(&format!("answers.{question}"), "is required (true or false)"),
                    }
                }
            }
        }
        checks.finish()?;
        Ok(ScreeningAnswerSheet { answers })
    }
}

#[derive(Serialize, ToSchema)]
pub struct ScreeningFinding {
    #[schema(example = "eczema")]
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct Screening {
    pub id: String,
    /// False when any contraindication was found.
    pub eligible: bool,
    /// Reasons not to treat now.
    pub contraindications: Vec<ScreeningFinding>,
    /// To discuss with the patient; they do not bar treatment.
    pub cautions: Vec<ScreeningFinding>,
    pub created_at: String,
}

impl From<Finding> for ScreeningFinding {
    fn from(f: Finding) -> ScreeningFinding {
        ScreeningFinding { code: f.code, message: f.message }
    }
}

impl From<Screened> for Screening {
    fn from(s: Screened) -> Screening {
        let findings = |list: Vec<Finding>| list.into_iter().map(ScreeningFinding::from).collect();
        Screening {
            id: s.id,
            eligible: s.eligible,
            contraindications: findings(s.contraindications),
            cautions: findings(s.cautions),
            created_at: format_instant(s.created_at),
        }
    }
}

/// Screens a patient before treatment, by the current protocol's contraindications and cautions.
///
/// Administrators and clinicians, for a patient of their own clinic; patients get 403, and another
/// clinic's patient answers 404. Every one of the ten answers is required: each missing one is named
/// in the 422 (`answers.eczema`...). The screening is kept on record; `eligible` is false when any
/// contraindication was found. Retrying with the same Idempotency-Key is safe: the retry gets the
/// first answer instead of a second screening.
#[utoipa::path(
    operation_id = "createScreening",
    tag = "patients",
    params(("id" = uuid::Uuid, Path, description = "Patient id"), crate::routes::openapi::IdempotencyKey),
    request_body = CreateScreening,
    responses(
        (status = 201, description = "The screening's outcome", body = Screening),
        (status = 403, response = crate::routes::problems::Forbidden),
    )
)]
#[post("/patients/{id}/screenings", wrap = "actix_web::middleware::from_fn(crate::idempotency::middleware)")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<CreateScreening>,
) -> Result<HttpResponse, AppError> {
    let caller = Staff::try_from(caller)?;
    let patient_id = path_id(&id)?;
    let sheet = ScreeningAnswerSheet::try_from(body.into_inner())?;
    let screened = screenings::screen(&state, caller, patient_id, sheet).await?;
    Ok(HttpResponse::Created().json(Screening::from(screened)))
}
