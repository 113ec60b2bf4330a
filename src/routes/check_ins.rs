//! Daily check-ins, their assessment, the clinicians' review queue, and adherence.

use std::collections::BTreeMap;

use actix_web::CustomizeResponder;
use actix_web::http::header::{CONTENT_LANGUAGE, LOCATION, VARY};
use actix_web::{HttpResponse, get, post, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::{Caller, Patient, Staff};
use crate::clock::format_instant;
use crate::domain::check_in::{CheckInReport, Review};
use crate::domain::{parse_date, parse_notes};
use crate::error::{AppError, FieldError};
use crate::language::{self, Language, Requested};
use crate::models::check_ins::{CheckInRecord, QueueCounts, QueueEntry};
use crate::pagination::{Page, PageQuery};
use crate::plan::Level;
use crate::plan::local_time::day_number;
use crate::plan::questions::{Answers, Sign, SignKind};
use crate::routes::path_id;
use crate::routes::treatments::ProtocolRef;
use crate::state::AppState;
use crate::use_cases::protocols::Reasons;
use crate::use_cases::{check_ins, plans, protocols};
use crate::validate::Checks;

/// The answers to a check-in's questions, by sign, in the document only: the ten core signs
/// every protocol asks, and any sign the treatment's protocol adds (`additionalProperties`, an
/// integer score or a boolean; `GET /v1/treatments/{id}/check-in-questions` serves them).
macro_rules! symptoms_schema {
    ($(#[doc = $doc:literal])* $name:ident) => {
        $(#[doc = $doc])*
        #[derive(ToSchema)]
        #[allow(dead_code)]
        pub struct $name {
            #[schema(minimum = 0, maximum = 10)]
            pub redness: i64,
            #[schema(minimum = 0, maximum = 10)]
            pub swelling: i64,
            #[schema(minimum = 0, maximum = 10)]
            pub pain: i64,
            #[schema(minimum = 0, maximum = 10)]
            pub itching: i64,
            #[schema(minimum = 0, maximum = 10)]
            pub peeling: i64,
            pub bleeding: bool,
            pub pus: bool,
            pub fever: bool,
            pub hives: bool,
            pub darkening: bool,
        }
    };
}

symptoms_schema! {
    /// The answers to the questions of the check-in's day (`GET /v1/treatments/{id}/check-in-questions`):
    /// a score from 0 (none) to 10 (worst) or true/false, by sign. The ten core signs are required;
    /// the protocol's other questions are optional (unanswered: counted as no, and named in the
    /// check-in's `unanswered`). A key that is no question of the protocol is ignored.
    SymptomsBody
}

symptoms_schema! {
    /// The answers as the patient gave them, by sign: the ten core signs always, other signs of the
    /// check-in's protocol when answered.
    Symptoms
}

/// A check-in as the app should send it. Only the symptoms can make the server refuse one; any
/// other field that is invalid is left out and named in the answer's `ignored`.
#[derive(ToSchema)]
#[schema(example = json!({
    "symptoms": {
        "redness": 4,
        "swelling": 2,
        "pain": 1,
        "itching": 2,
        "peeling": 0,
        "bleeding": false,
        "pus": false,
        "fever": false,
        "hives": false,
        "darkening": false
    },
    "adherence": {"sunscreen": true},
    "notes": "Skin feels tight and warm, like a mild sunburn."
}))]
#[allow(dead_code)]
pub struct CreateCheckIn {
    /// `YYYY-MM-DD`; default today in the patient's zone. Not before the treatment, not after
    /// tomorrow; otherwise ignored (named in `ignored`) and today is used.
    #[schema(value_type = Option<NaiveDate>)]
    pub local_date: Option<String>,
    #[schema(value_type = SymptomsBody, required = true)]
    pub symptoms: Option<Value>,
    /// For reminder kinds of that day: true when followed. True answers acknowledge the reminder.
    /// An answer that is not a boolean, or names no reminder of that day, is ignored.
    #[schema(value_type = Option<BTreeMap<String, bool>>)]
    pub adherence: Option<BTreeMap<String, bool>>,
    /// At most 2,000 characters, no control characters but tab and line breaks; otherwise ignored.
    #[schema(value_type = Option<String>, max_length = 2000, pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$")]
    pub notes: Option<String>,
}

/// Reads a check-in body field by field. The symptoms are what the clinic must see, so only they
/// can refuse the check-in: missing (422), not an object (400), or, checked against the treatment's
/// questions once its protocol is loaded, an answer of the wrong JSON type (400), out of range or a
/// required one missing (422). Every other field is secondary: each is read on its own from its raw JSON value, and one
/// that is invalid (wrong type, bad value, unknown field) is left out and named in `ignored`, never
/// a reason to lose the report. When the symptoms are refused, the 422 names the invalid secondary
/// fields too, so the app can correct everything at once.
pub fn parse_check_in(mut body: serde_json::Map<String, Value>) -> Result<CheckInReport, AppError> {
    let mut ignored = Vec::new();
    let local_date = match body.remove("local_date") {
        None | Some(Value::Null) => None,
        Some(Value::String(raw)) => match parse_date(raw) {
            Ok(date) => Some(date),
            Err(message) => {
                ignored.push(ignore("local_date", format!("{message}; today was used")));
                None
            }
        },
        Some(_) => {
            ignored.push(ignore("local_date", "must be a calendar date as YYYY-MM-DD; today was used"));
            None
        }
    };
    let symptoms = match body.remove("symptoms") {
        Some(Value::Object(answers)) => Ok(answers),
        None | Some(Value::Null) => Err(ignore("symptoms", "is required")),
        Some(_) => {
            return Err(AppError::BadRequest("malformed JSON: symptoms must be an object of answers by sign".into()));
        }
    };
    let mut adherence = BTreeMap::new();
    match body.remove("adherence") {
        None | Some(Value::Null) => {}
        Some(Value::Object(answers)) => {
            for (kind, answer) in answers {
                match answer {
                    Value::Bool(done) => {
                        adherence.insert(kind, done);
                    }
                    _ => ignored
                        .push(ignore(&format!("adherence.{}", check_ins::shown_key(&kind)), "must be true or false")),
                }
            }
        }
        Some(_) => ignored.push(ignore("adherence", "must be an object of reminder kinds to true or false")),
    }
    let notes = match body.remove("notes") {
        None | Some(Value::Null) => None,
        Some(Value::String(raw)) => match parse_notes(raw) {
            Ok(notes) => Some(notes),
            Err(message) => {
                ignored.push(ignore("notes", format!("{message}; the notes were left out")));
                None
            }
        },
        Some(_) => {
            ignored.push(ignore("notes", "must be text; the notes were left out"));
            None
        }
    };
    for field in body.keys() {
        ignored.push(ignore(&check_ins::shown_key(field), "is not a field of a check-in"));
    }
    let symptoms = match symptoms {
        Ok(answers) => answers,
        Err(refused) => return Err(check_ins::refused(vec![refused], ignored)),
    };
    Ok(CheckInReport { local_date, symptoms, adherence, notes, ignored })
}

fn ignore(field: &str, message: impl Into<String>) -> FieldError {
    FieldError { field: field.to_string(), message: message.into() }
}

#[derive(Serialize, ToSchema)]
pub struct ReasonView {
    #[schema(example = "bleeding_after_day_1")]
    pub code: String,
    /// What it means and what to do, for the patient.
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct AssessmentView {
    pub level: Level,
    /// One per sign that raised the level, most serious first.
    pub reasons: Vec<ReasonView>,
}

#[derive(Serialize, ToSchema)]
pub struct CheckIn {
    pub id: String,
    pub treatment_id: String,
    pub patient_id: String,
    pub local_date: NaiveDate,
    pub day_number: i64,
    #[schema(example = "days_3_7")]
    pub phase: Option<String>,
    #[schema(value_type = Symptoms)]
    pub symptoms: Answers,
    /// The optional questions of that day the patient did not answer (counted as no or 0 when
    /// judged), so the clinic knows what it was not told.
    pub unanswered: Vec<String>,
    pub adherence: BTreeMap<String, bool>,
    pub notes: Option<String>,
    pub assessment: AssessmentView,
    /// The protocol version the check-in was judged with.
    pub protocol: ProtocolRef,
    pub created_at: String,
    pub reviewed_at: Option<String>,
    pub reviewed_by: Option<String>,
    pub review_note: Option<String>,
    /// What the server left out of the check-in as the patient sent it: secondary fields that were
    /// invalid (wrong type, bad value, not a reminder of that day, unknown), each with why. Empty
    /// when nothing was. The symptoms are never left out.
    pub ignored: Vec<FieldError>,
}

impl CheckIn {
    /// Its reasons' messages in the language `reasons` chose; adds the languages used to `served`.
    fn translated(mut self, reasons: &Reasons, served: &mut Vec<Language>) -> CheckIn {
        let ProtocolRef { id, version } = &self.protocol;
        for reason in &mut self.assessment.reasons {
            let (message, language) = reasons.message(id, *version, &reason.code, std::mem::take(&mut reason.message));
            reason.message = message;
            served.push(language);
        }
        if self.assessment.reasons.is_empty() {
            served.push(reasons.language);
        }
        self
    }
}

/// The protocol versions of these check-ins, each once.
fn versions<'a>(check_ins: impl IntoIterator<Item = &'a CheckInRecord>) -> Vec<(String, i32)> {
    let mut all: Vec<(String, i32)> =
        check_ins.into_iter().map(|c| (c.protocol_id.clone(), c.protocol_version)).collect();
    all.sort();
    all.dedup();
    all
}

impl From<CheckInRecord> for CheckIn {
    fn from(c: CheckInRecord) -> CheckIn {
        CheckIn {
            id: c.id,
            treatment_id: c.treatment_id,
            patient_id: c.patient_id,
            local_date: c.local_date,
            day_number: c.day_number,
            phase: c.phase,
            symptoms: c.answers,
            unanswered: c.unanswered,
            adherence: c.adherence,
            notes: c.notes,
            assessment: AssessmentView {
                level: c.assessment.level,
                reasons: c
                    .assessment
                    .reasons
                    .into_iter()
                    .map(|r| ReasonView { code: r.code, message: r.message })
                    .collect(),
            },
            protocol: ProtocolRef { id: c.protocol_id, version: c.protocol_version },
            created_at: format_instant(c.created_at),
            reviewed_at: c.reviewed_at.map(format_instant),
            reviewed_by: c.reviewed_by,
            review_note: c.review_note,
            ignored: c.ignored,
        }
    }
}

/// The patient reports how the skin is doing; the answer carries the assessment for that day.
///
/// The patient only, for one of their own treatments; staff get 403, another patient's treatment
/// 404. Only the symptoms can refuse a check-in (422 when one is missing or out of range): they are
/// what the clinic must see. Every other field is secondary and, when invalid, is left out and
/// named in `ignored` while the check-in is stored: a `local_date` (default: today in the patient's
/// time zone) before `treated_on`, after tomorrow or malformed (today is used instead), an
/// `adherence` answer that is not a boolean or names no reminder kind of that day, `notes` that are
/// too long or hold control characters, a field of the wrong JSON type, an unknown field. True
/// adherence answers acknowledge those reminders. Every check-in is stored, several a day included, and enters
/// the clinic's review queue. A discharged patient's check-in answers 409 until a new treatment
/// re-admits them. Retrying with the same Idempotency-Key is safe: the retry gets the first
/// answer instead of a second check-in.
#[utoipa::path(
    operation_id = "createCheckIn",
    tag = "check-ins",
    params(
        ("id" = uuid::Uuid, Path, description = "Treatment id"),
        crate::routes::openapi::IdempotencyKey,
        crate::routes::openapi::AcceptLanguage,
    ),
    request_body = CreateCheckIn,
    responses(
        (status = 201, description = "Stored and assessed", body = CheckIn,
            headers(("Location" = String, description = "The path of the created resource"))),
        (status = 403, response = crate::routes::problems::Forbidden),
        (status = 409, response = crate::routes::problems::Conflict),
    )
)]
#[post("/treatments/{id}/check-ins", wrap = "actix_web::middleware::from_fn(crate::idempotency::middleware)")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<serde_json::Map<String, Value>>,
    requested: Requested,
) -> Result<HttpResponse, AppError> {
    let asker = caller.clone();
    let caller = Patient::try_from(caller)?;
    let treatment_id = path_id(&id)?;
    let report = parse_check_in(body.into_inner())?;
    let created = check_ins::report(&state, caller, treatment_id, report).await?;
    let reasons = protocols::reasons(&state, asker, versions([&created]), requested).await?;
    let mut served = Vec::new();
    let check_in = CheckIn::from(created).translated(&reasons, &mut served);
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/v1/check-ins/{}", check_in.id)))
        .insert_header((CONTENT_LANGUAGE, language::content_language(served)))
        .insert_header((VARY, "Accept-Language"))
        .json(check_in))
}

/// A treatment's check-ins, newest first.
///
/// Administrators and clinicians of the treatment's clinic, or its patient; anyone else gets 404.
/// Pages hold at most `limit` check-ins (1-100, default 50): follow `next_cursor` until it is null.
/// A `limit` out of range or a `cursor` this server did not issue answers 422.
#[utoipa::path(
    operation_id = "listCheckIns",
    tag = "check-ins",
    params(("id" = uuid::Uuid, Path, description = "Treatment id"), PageQuery, crate::routes::openapi::AcceptLanguage),
    responses(
        (status = 200, description = "A page of check-ins", body = Page<CheckIn>),
    )
)]
#[get("/treatments/{id}/check-ins")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
    requested: Requested,
) -> Result<CustomizeResponder<web::Json<Page<CheckIn>>>, AppError> {
    let treatment_id = path_id(&id)?;
    let page = query.into_inner().into_request()?;
    let found = check_ins::list_for_treatment(&state, caller.clone(), treatment_id, page).await?;
    let reasons = protocols::reasons(&state, caller, versions(&found.items), requested).await?;
    let mut served = Vec::new();
    let page = found.map(|c| CheckIn::from(c).translated(&reasons, &mut served));
    Ok(language::localized(web::Json(page), served))
}

/// One check-in.
///
/// Administrators and clinicians of its clinic, or its patient; anyone else gets 404, exactly as
/// for an id that does not exist. The answer carries an `ETag`: send it back in `If-None-Match` to
/// get 304 with no body until the check-in changes (a review changes it).
#[utoipa::path(
    operation_id = "getCheckIn",
    tag = "check-ins",
    params(("id" = uuid::Uuid, Path, description = "Check-in id"), crate::routes::openapi::IfNoneMatch, crate::routes::openapi::AcceptLanguage),
    responses(
        (status = 200, description = "The check-in", body = CheckIn),
    )
)]
#[get("/check-ins/{id}", wrap = "actix_web::middleware::from_fn(crate::http_cache::revalidate)")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    requested: Requested,
) -> Result<CustomizeResponder<web::Json<CheckIn>>, AppError> {
    let id = path_id(&id)?;
    let found = check_ins::get(&state, caller.clone(), id).await?;
    let reasons = protocols::reasons(&state, caller, versions([&found]), requested).await?;
    let mut served = Vec::new();
    let check_in = CheckIn::from(found).translated(&reasons, &mut served);
    Ok(language::localized(web::Json(check_in), served))
}

/// One question of a check-in.
#[derive(Serialize, ToSchema)]
pub struct CheckInQuestion {
    /// The key to answer under in the check-in's `symptoms` (the same in every language).
    #[schema(example = "cold_sore_blisters")]
    pub sign: String,
    pub kind: SignKind,
    /// The question as the patient reads it.
    pub question: String,
    /// Required answers must be given (else 422); optional ones left out count as no (or 0).
    pub required: bool,
    /// For scores: the least and the greatest answer (0 and 10); absent for yes/no questions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum: Option<i32>,
}

/// The form of a check-in: what a check-in of one treatment on one day asks.
#[derive(Serialize, ToSchema)]
pub struct CheckInQuestions {
    pub treatment_id: String,
    pub local_date: NaiveDate,
    pub day_number: i64,
    /// The protocol version the questions (and the check-in's judgement) come from.
    pub protocol: ProtocolRef,
    /// In the order the app should ask them.
    pub questions: Vec<CheckInQuestion>,
}

impl From<&Sign> for CheckInQuestion {
    fn from(sign: &Sign) -> CheckInQuestion {
        let score = sign.kind == SignKind::Score;
        CheckInQuestion {
            sign: sign.key.clone(),
            kind: sign.kind,
            question: sign.question.clone(),
            required: sign.required,
            minimum: score.then_some(0),
            maximum: score.then_some(10),
        }
    }
}

/// The questions a check-in of this treatment asks on a day, so the app builds its form from data.
///
/// The treatment's patient, and administrators and clinicians of its clinic; anyone else gets 404.
/// `on` is a local date of the patient's time zone, today there by default; 422 when it is not a
/// date or is before the treatment. The questions come from the protocol version the treatment is
/// planned with (a clinic may add signs to its own protocol): each sign's key, kind (a score from 0
/// to 10 or yes/no), wording, and whether it is required. Send the answers as the check-in's
/// `symptoms`. Revalidate with `If-None-Match`: 304 while the answer is unchanged.
#[utoipa::path(
    operation_id = "listCheckInQuestions",
    tag = "check-ins",
    params(
        ("id" = uuid::Uuid, Path, description = "Treatment id"),
        crate::routes::treatments::TimelineQuery,
        crate::routes::openapi::IfNoneMatch,
        crate::routes::openapi::AcceptLanguage,
    ),
    responses(
        (status = 200, description = "The questions of that day", body = CheckInQuestions),
    )
)]
#[get("/treatments/{id}/check-in-questions", wrap = "actix_web::middleware::from_fn(crate::http_cache::revalidate)")]
pub async fn questions(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<crate::routes::treatments::TimelineQuery>,
    requested: Requested,
) -> Result<CustomizeResponder<web::Json<CheckInQuestions>>, AppError> {
    let on = query.into_inner().on()?;
    let treatment_id = path_id(&id)?;
    let found = plans::timeline(&state, caller, treatment_id, on, requested).await?;
    let treatment = &found.plan.treatment;
    if found.on < treatment.treated_on {
        return Err(AppError::Validation(vec![ignore("on", "must not be before the treatment date")]));
    }
    let day_number = day_number(treatment.treated_on, found.on);
    let protocol = &found.plan.protocol;
    let questions = CheckInQuestions {
        treatment_id: treatment.id.clone(),
        local_date: found.on,
        day_number,
        protocol: ProtocolRef { id: protocol.id.clone(), version: protocol.version },
        questions: protocol.questions_on(day_number).map(CheckInQuestion::from).collect(),
    };
    Ok(language::localized(web::Json(questions), [found.language]))
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"note": "Redness as expected for day 2. Keep up the cool compress; send a photo tomorrow."}))]
pub struct ReviewBody {
    #[schema(value_type = Option<String>, max_length = 2000, pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$")]
    pub note: Option<String>,
}

impl TryFrom<ReviewBody> for Review {
    type Error = AppError;

    fn try_from(body: ReviewBody) -> Result<Review, AppError> {
        let mut checks = Checks::new();
        let note = checks.optional("note", body.note, parse_notes);
        checks.finish()?;
        Ok(Review { note })
    }
}

/// Marks a check-in reviewed, with an optional note. A check-in is reviewed once.
///
/// Administrators and clinicians of the check-in's clinic; patients get 403, and another clinic's
/// check-in answers 404. A check-in already reviewed, by anyone, answers 409. The reviewed check-in
/// leaves the review queue. Retrying with the same Idempotency-Key is safe: the retry gets the first
/// answer (the 200), not a 409.
#[utoipa::path(
    operation_id = "reviewCheckIn",
    tag = "check-ins",
    params(("id" = uuid::Uuid, Path, description = "Check-in id"), crate::routes::openapi::IdempotencyKey),
    request_body = ReviewBody,
    responses(
        (status = 200, description = "Reviewed", body = CheckIn),
        (status = 403, response = crate::routes::problems::Forbidden),
        (status = 409, response = crate::routes::problems::Conflict),
    )
)]
#[post("/check-ins/{id}/review", wrap = "actix_web::middleware::from_fn(crate::idempotency::middleware)")]
pub async fn review(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<ReviewBody>,
) -> Result<web::Json<CheckIn>, AppError> {
    let caller = Staff::try_from(caller)?;
    let id = path_id(&id)?;
    let review = Review::try_from(body.into_inner())?;
    let reviewed = check_ins::review(&state, caller, id, review).await?;
    Ok(web::Json(reviewed.into()))
}

#[derive(Serialize, ToSchema)]
pub struct QueueItem {
    #[serde(flatten)]
    pub check_in: CheckIn,
    pub patient_name: String,
}

#[derive(Serialize, ToSchema)]
pub struct QueueCountsView {
    pub urgent: i64,
    pub watch: i64,
    pub ok: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ReviewQueue {
    pub items: Vec<QueueItem>,
    pub next_cursor: Option<String>,
    /// All unreviewed check-ins of the clinic by level, so an urgent one arriving while you page is never missed.
    pub counts: QueueCountsView,
}

impl From<QueueCounts> for QueueCountsView {
    fn from(c: QueueCounts) -> Self {
        QueueCountsView { urgent: c.urgent, watch: c.watch, ok: c.ok }
    }
}

/// The clinic's unreviewed check-ins: urgent first, then watch, then ok; oldest first within a level.
///
/// Administrators and clinicians, who see their own clinic's queue only; patients get 403. Each
/// item is a check-in with its patient's name; `counts` gives the whole queue by level, so a page
/// never hides how many urgent check-ins wait. A `limit` outside 1-100 or a `cursor` this server did
/// not issue answers 422.
#[utoipa::path(
    operation_id = "getReviewQueue",
    tag = "check-ins",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the queue", body = ReviewQueue),
        (status = 403, response = crate::routes::problems::Forbidden),
    )
)]
#[get("/review-queue")]
pub async fn review_queue(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ReviewQueue>, AppError> {
    let caller = Staff::try_from(caller)?;
    let page = query.into_inner().into_request()?;
    let (found, counts) = check_ins::review_queue(&state, caller, page).await?;
    let page = found.map(|QueueEntry { check_in, patient_name }| QueueItem { check_in: check_in.into(), patient_name });
    Ok(web::Json(ReviewQueue { items: page.items, next_cursor: page.next_cursor, counts: counts.into() }))
}

#[derive(Serialize, ToSchema)]
pub struct KindAdherence {
    #[schema(example = "sunscreen")]
    pub kind: String,
    /// Reminders of this kind due so far.
    pub due: i64,
    pub acknowledged: i64,
    /// `acknowledged / due`, or null when nothing is due yet.
    pub share: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct Adherence {
    pub treatment_id: String,
    /// Counted through this local date (today in the patient's zone).
    pub through: NaiveDate,
    pub due: i64,
    pub acknowledged: i64,
    pub share: Option<f64>,
    pub by_kind: Vec<KindAdherence>,
}

/// How well the patient follows the plan: the share of reminders due so far that were acknowledged.
///
/// Administrators and clinicians of the treatment's clinic, or its patient; anyone else gets 404.
/// Counts the reminders from `treated_on` through today in the patient's time zone (`through`),
/// in all and by kind; `share` is null while nothing is due yet.
#[utoipa::path(
    operation_id = "getAdherence",
    tag = "check-ins",
    params(("id" = uuid::Uuid, Path, description = "Treatment id")),
    responses(
        (status = 200, description = "Adherence so far", body = Adherence),
    )
)]
#[get("/treatments/{id}/adherence")]
pub async fn get_adherence(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<Adherence>, AppError> {
    let treatment_id = path_id(&id)?;
    let found = check_ins::adherence(&state, caller, treatment_id).await?;
    Ok(web::Json(Adherence {
        treatment_id: found.treatment_id,
        through: found.through,
        due: found.total.due,
        acknowledged: found.total.acknowledged,
        share: found.total.share(),
        by_kind: found
            .by_kind
            .into_iter()
            .map(|(kind, tally)| KindAdherence {
                share: tally.share(),
                kind,
                due: tally.due,
                acknowledged: tally.acknowledged,
            })
            .collect(),
    }))
}
