//! Screening a patient for contraindications before treatment.

use std::collections::BTreeMap;

use actix_web::CustomizeResponder;
use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, Staff};
use crate::clock::format_instant;
use crate::domain::screening::ScreeningAnswerSheet;
use crate::error::AppError;
use crate::language::{self, Requested};
use crate::plan::Protocol;
use crate::plan::protocol::Finding;
use crate::routes::path_id;
use crate::state::AppState;
use crate::use_cases::screenings::{self, Screened};
use crate::validate::Checks;

/// Yes/no answers, by question key. Every question the current protocol asks is required
/// (`listScreeningQuestions` serves them); a missing one is named in the 422.
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
    /// Protocol v2: isotretinoin (oral acne medicine) taken in the last six months.
    #[schema(value_type = bool, required = true)]
    pub isotretinoin: Option<bool>,
    /// Protocol v2: an active skin infection where the treatment would be done.
    #[schema(value_type = bool, required = true)]
    pub skin_infection: Option<bool>,
    /// Protocol v2: recent sunburn where the treatment would be done.
    #[schema(value_type = bool, required = true)]
    pub sunburn: Option<bool>,
    /// Protocol v2: a known allergy to a metal.
    #[schema(value_type = bool, required = true)]
    pub metal_allergy: Option<bool>,
    /// Protocol v2: a history of cold sores.
    #[schema(value_type = bool, required = true)]
    pub cold_sores: Option<bool>,
}

impl ScreeningAnswers {
    fn pairs(self) -> [(&'static str, Option<bool>); 15] {
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
            ("isotretinoin", self.isotretinoin),
            ("skin_infection", self.skin_infection),
            ("sunburn", self.sunburn),
            ("metal_allergy", self.metal_allergy),
            ("cold_sores", self.cold_sores),
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
        "numbing_allergy": true,
        "isotretinoin": false,
        "skin_infection": false,
        "sunburn": false,
        "metal_allergy": false,
        "cold_sores": true
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
                // Which of them are required depends on the current protocol: the use case checks.
                for (question, answer) in given.pairs() {
                    if let Some(yes) = answer {
                        answers.insert(question.to_string(), yes);
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
/// clinic's patient answers 404. Every question the current protocol asks must be answered (protocol
/// v2 asks fifteen; `listScreeningQuestions` serves them): each missing one is named in the 422
/// (`answers.eczema`...), so a client built for the ten questions of v1 learns which to add. The
/// screening is kept on record with the protocol version that judged it; `eligible` is false when
/// any contraindication was found. A treatment needs an eligible screening (see `createTreatment`). Retrying with the same Idempotency-Key is safe: the retry gets the
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

#[derive(Serialize, ToSchema)]
pub struct ScreeningQuestion {
    /// The key of its answer in `answers`.
    #[schema(example = "cold_sores")]
    pub key: String,
    /// The question as staff ask it.
    pub question: String,
    /// What a yes means: `contraindication` (not eligible now) or `caution` (to discuss).
    pub if_yes: ScreeningOutcomeKind,
    /// The code of the finding a yes yields.
    pub code: String,
    /// The finding a yes yields.
    pub message: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScreeningOutcomeKind {
    Contraindication,
    Caution,
}

#[derive(Serialize, ToSchema)]
pub struct ScreeningQuestions {
    /// The protocol whose questions these are: the one new screenings and treatments use.
    pub protocol: crate::routes::treatments::ProtocolRef,
    /// Every question a screening must answer, in the protocol's order.
    pub questions: Vec<ScreeningQuestion>,
}

impl From<&Protocol> for ScreeningQuestions {
    fn from(p: &Protocol) -> ScreeningQuestions {
        let asked = |kind: fn() -> ScreeningOutcomeKind| {
            move |f: &Finding| ScreeningQuestion {
                key: f.answer.clone(),
                question: f.question.clone(),
                if_yes: kind(),
                code: f.code.clone(),
                message: f.message.clone(),
            }
        };
        let mut list: Vec<_> =
            p.screening.contraindications.iter().map(asked(|| ScreeningOutcomeKind::Contraindication)).collect();
        list.extend(p.screening.cautions.iter().map(asked(|| ScreeningOutcomeKind::Caution)));
        ScreeningQuestions {
            protocol: crate::routes::treatments::ProtocolRef { id: p.id.clone(), version: p.version },
            questions: list,
        }
    }
}

/// The questions a screening must answer now, so an app builds its form from data.
///
/// Administrators and clinicians; patients get 403. The questions are the current protocol's (the one
/// `createScreening` judges by and new treatments are planned with), each with its answer key, its
/// wording, and what a yes means (a contraindication or a caution, with the finding's code).
#[utoipa::path(
    params(crate::routes::openapi::AcceptLanguage),
    operation_id = "listScreeningQuestions",
    tag = "patients",
    responses(
        (status = 200, description = "The current protocol's screening questions", body = ScreeningQuestions),
        (status = 403, response = crate::routes::problems::Forbidden),
    )
)]
#[get("/screening-questions")]
pub async fn questions(
    state: web::Data<AppState>,
    caller: Caller,
    requested: Requested,
) -> Result<CustomizeResponder<web::Json<ScreeningQuestions>>, AppError> {
    let caller = Staff::try_from(caller)?;
    let protocol = screenings::questions(&state, caller).await?;
    // Staff read these: the request alone chooses the language.
    let served = protocol.answers_in(requested.or(None));
    let answer = web::Json(ScreeningQuestions::from(&protocol.localized(served)));
    Ok(language::localized(answer, [served]))
}
