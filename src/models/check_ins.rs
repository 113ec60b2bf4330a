//! Check-ins: the patient's daily report, judged when it arrives, and reviewed by the clinic.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::auth::{Caller, Patient, Staff};
use crate::db::schema::{check_ins, review_queue_counts, users};
use crate::db::{DbConnection, MultiBackend};
use crate::error::{AppError, FieldError};
use crate::models::plans::{self, PlanContext};
use crate::models::treatments;
use crate::pagination::{Cursor, Order, Page, PageRequest};
use crate::plan::Level;
use crate::plan::assessment::{Assessment, Reason, assess};
use crate::plan::local_time::day_number;
use crate::plan::questions::{Answer, Answers};

#[derive(Debug, Clone, PartialEq)]
pub struct CheckInRecord {
    pub id: String,
    pub treatment_id: String,
    pub patient_id: String,
    pub clinic_id: String,
    pub local_date: NaiveDate,
    pub day_number: i64,
    pub phase: Option<String>,
    pub answers: Answers,
    /// Optional questions of that day left unanswered.
    pub unanswered: Vec<String>,
    pub adherence: BTreeMap<String, bool>,
    pub notes: Option<String>,
    pub assessment: Assessment,
    pub protocol_id: String,
    pub protocol_version: i32,
    pub created_at: NaiveDateTime,
    pub reviewed_at: Option<NaiveDateTime>,
    pub reviewed_by: Option<String>,
    pub review_note: Option<String>,
    /// What the server ignored of the check-in as sent (invalid secondary fields).
    pub ignored: Vec<FieldError>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = check_ins)]
struct CheckInRow {
    id: String,
    treatment_id: String,
    patient_id: String,
    clinic_id: String,
    local_date: NaiveDate,
    day_number: i32,
    phase: Option<String>,
    redness: i32,
    swelling: i32,
    pain: i32,
    itching: i32,
    peeling: i32,
    bleeding: bool,
    pus: bool,
    fever: bool,
    hives: bool,
    darkening: bool,
    adherence: String,
    notes: Option<String>,
    level: Level,
    reasons: String,
    protocol_id: String,
    protocol_version: i32,
    created_at: NaiveDateTime,
    reviewed_at: Option<NaiveDateTime>,
    reviewed_by: Option<String>,
    review_note: Option<String>,
    ignored: String,
    answers: Option<String>,
    unanswered: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredReason {
    code: String,
    message: String,
}

/// The review queue's first sort key: most serious first.
pub fn level_rank(level: Level) -> i32 {
    match level {
        Level::Urgent => 0,
        Level::Watch => 1,
        Level::Ok => 2,
    }
}

impl TryFrom<CheckInRow> for CheckInRecord {
    type Error = AppError;
    fn try_from(row: CheckInRow) -> Result<CheckInRecord, AppError> {
        let reasons: Vec<StoredReason> = serde_json::from_str(&row.reasons).map_err(AppError::internal)?;
        Ok(CheckInRecord {
            answers: match &row.answers {
                Some(stored) => serde_json::from_str(stored).map_err(AppError::internal)?,
                None => core_answers(&row),
            },
            unanswered: serde_json::from_str(&row.unanswered).map_err(AppError::internal)?,
            adherence: serde_json::from_str(&row.adherence).map_err(AppError::internal)?,
            assessment: Assessment {
                level: row.level,
                reasons: reasons.into_iter().map(|r| Reason { code: r.code, message: r.message }).collect(),
            },
            id: row.id,
            treatment_id: row.treatment_id,
            patient_id: row.patient_id,
            clinic_id: row.clinic_id,
            local_date: row.local_date,
            day_number: i64::from(row.day_number),
            phase: row.phase,
            notes: row.notes,
            protocol_id: row.protocol_id,
            protocol_version: row.protocol_version,
            created_at: row.created_at,
            reviewed_at: row.reviewed_at,
            reviewed_by: row.reviewed_by,
            review_note: row.review_note,
            ignored: serde_json::from_str(&row.ignored).map_err(AppError::internal)?,
        })
    }
}

/// The answers of a check-in stored before answers were (its core signs' columns).
fn core_answers(row: &CheckInRow) -> Answers {
    let scores = [
        ("redness", row.redness),
        ("swelling", row.swelling),
        ("pain", row.pain),
        ("itching", row.itching),
        ("peeling", row.peeling),
    ];
    let flags = [
        ("bleeding", row.bleeding),
        ("pus", row.pus),
        ("fever", row.fever),
        ("hives", row.hives),
        ("darkening", row.darkening),
    ];
    let scores = scores.into_iter().map(|(sign, score)| (sign.to_string(), Answer::Score(score)));
    scores.chain(flags.into_iter().map(|(sign, yes)| (sign.to_string(), Answer::YesNo(yes)))).collect()
}

/// The check-ins `caller` may see.
fn visible_to(caller: &Caller) -> check_ins::BoxedQuery<'static, MultiBackend> {
    check_ins::table.into_boxed().filter(caller.scope().rows(check_ins::clinic_id, check_ins::patient_id))
}

pub struct NewCheckIn {
    pub local_date: NaiveDate,
    /// Checked against the questions of the plan's protocol (`questions::check_answers`).
    pub answers: Answers,
    pub unanswered: Vec<String>,
    pub adherence: BTreeMap<String, bool>,
    pub notes: Option<String>,
    /// Invalid secondary fields left out of the check-in, kept with it.
    pub ignored: Vec<FieldError>,
}

/// Judges and stores a check-in of the plan in `ctx`, and acknowledges the reminders of that day
/// the patient says they followed. Run inside a write transaction.
pub fn create(
    conn: &mut DbConnection,
    caller: &Patient,
    ctx: &PlanContext,
    new: NewCheckIn,
) -> Result<CheckInRecord, AppError> {
    let day = day_number(ctx.treatment.treated_on, new.local_date);
    let phase = ctx.protocol.phase_on(day).map(|p| p.key.clone());
    let assessment = assess(&ctx.protocol, day, &new.answers);
    let reasons: Vec<StoredReason> =
        assessment.reasons.iter().map(|r| StoredReason { code: r.code.clone(), message: r.message.clone() }).collect();
    let id = super::new_id();
    let score = |sign: &str| match new.answers.get(sign) {
        Some(Answer::Score(score)) => *score,
        _ => 0,
    };
    let yes = |sign: &str| new.answers.get(sign).is_some_and(|a| *a == Answer::YesNo(true));
    diesel::insert_into(check_ins::table)
        .values((
            (
                check_ins::id.eq(&id),
                check_ins::treatment_id.eq(&ctx.treatment.id),
                check_ins::patient_id.eq(&ctx.treatment.patient_id),
                check_ins::clinic_id.eq(&ctx.treatment.clinic_id),
                check_ins::local_date.eq(new.local_date),
                check_ins::day_number.eq(day as i32),
                check_ins::phase.eq(&phase),
            ),
            // The core signs' columns too, for readers of the table that predate `answers`.
            (
                check_ins::redness.eq(score("redness")),
                check_ins::swelling.eq(score("swelling")),
                check_ins::pain.eq(score("pain")),
                check_ins::itching.eq(score("itching")),
                check_ins::peeling.eq(score("peeling")),
                check_ins::bleeding.eq(yes("bleeding")),
                check_ins::pus.eq(yes("pus")),
                check_ins::fever.eq(yes("fever")),
                check_ins::hives.eq(yes("hives")),
                check_ins::darkening.eq(yes("darkening")),
                check_ins::answers.eq(serde_json::to_string(&new.answers).map_err(AppError::internal)?),
                check_ins::unanswered.eq(serde_json::to_string(&new.unanswered).map_err(AppError::internal)?),
            ),
            (
                check_ins::adherence.eq(serde_json::to_string(&new.adherence).map_err(AppError::internal)?),
                check_ins::notes.eq(&new.notes),
                check_ins::level.eq(assessment.level),
                check_ins::level_rank.eq(level_rank(assessment.level)),
                check_ins::reasons.eq(serde_json::to_string(&reasons).map_err(AppError::internal)?),
                check_ins::protocol_id.eq(&ctx.protocol.id),
                check_ins::protocol_version.eq(ctx.protocol.version),
                check_ins::created_at.eq(crate::clock::now()),
                check_ins::ignored.eq(serde_json::to_string(&new.ignored).map_err(AppError::internal)?),
            ),
        ))
        .execute(conn)?;
    count_unreviewed(conn, &ctx.treatment.clinic_id, level_rank(assessment.level), 1)?;
    let followed: Vec<&str> = new.adherence.iter().filter(|(_, done)| **done).map(|(kind, _)| kind.as_str()).collect();
    for reminder in ctx.plan().reminders(new.local_date, new.local_date) {
        if followed.contains(&reminder.kind) {
            plans::acknowledge(conn, &ctx.treatment.id, &reminder)?;
        }
    }
    get(conn, caller, &id)
}

pub fn get(conn: &mut DbConnection, caller: &Caller, id: &str) -> Result<CheckInRecord, AppError> {
    visible_to(caller).filter(check_ins::id.eq(id.to_string())).select(CheckInRow::as_select()).first(conn)?.try_into()
}

/// A treatment's check-ins, newest first. 404 when the treatment is not the caller's to see.
pub fn list_for_treatment(
    conn: &mut DbConnection,
    caller: &Caller,
    treatment_id: &str,
    page: &PageRequest,
) -> Result<Page<CheckInRecord>, AppError> {
    let treatment = treatments::get(conn, caller, treatment_id)?;
    let mut query = visible_to(caller)
        .filter(check_ins::treatment_id.eq(treatment.id))
        .select(CheckInRow::as_select())
        .order((check_ins::created_at.desc(), check_ins::id.desc()))
        .limit(page.fetch());
    if let Some(after) = &page.after {
        query = query.filter(after.rows_after(Order::Descending, check_ins::created_at, check_ins::id));
    }
    let rows = query.load(conn)?.into_iter().map(CheckInRecord::try_from).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(rows, page, |c| Cursor::new(None, c.created_at, &c.id)))
}

/// Whether the treatment has a check-in for `date`.
pub fn exists_on(conn: &mut DbConnection, treatment_id: &str, date: NaiveDate) -> Result<bool, AppError> {
    let found: Option<String> = crate::db::natively!(conn, |c| check_ins::table
        .filter(check_ins::treatment_id.eq(treatment_id))
        .filter(check_ins::local_date.eq(date))
        .select(check_ins::id)
        .first(c)
        .optional())?;
    Ok(found.is_some())
}

pub struct QueueEntry {
    pub check_in: CheckInRecord,
    pub patient_name: String,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct QueueCounts {
    pub urgent: i64,
    pub watch: i64,
    pub ok: i64,
}

/// The clinic's unreviewed check-ins: urgent first, then watch, then ok; oldest first within a
/// level. Served from the partial index `check_ins_review_queue`.
pub fn review_queue(conn: &mut DbConnection, caller: &Staff, page: &PageRequest) -> Result<Page<QueueEntry>, AppError> {
    let mut query = check_ins::table
        .inner_join(users::table)
        .filter(caller.scope().clinic_rows(check_ins::clinic_id))
        .filter(check_ins::reviewed_at.is_null())
        .select((CheckInRow::as_select(), users::name))
        .order((check_ins::level_rank.asc(), check_ins::created_at.asc(), check_ins::id.asc()))
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(after.rows_after_ranked(check_ins::level_rank, check_ins::created_at, check_ins::id));
    }
    let rows: Vec<(CheckInRow, String)> = query.load(conn)?;
    let entries = rows
        .into_iter()
        .map(|(row, patient_name)| Ok(QueueEntry { check_in: row.try_into()?, patient_name }))
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(Page::from_rows(entries, page, |e| {
        Cursor::new(Some(level_rank(e.check_in.assessment.level)), e.check_in.created_at, &e.check_in.id)
    }))
}

/// How many unreviewed check-ins the clinic has at each level (kept in `review_queue_counts`).
pub fn queue_counts(conn: &mut DbConnection, caller: &Staff) -> Result<QueueCounts, AppError> {
    let rows: Vec<(i32, i64)> = review_queue_counts::table
        .filter(caller.scope().clinic_rows(review_queue_counts::clinic_id))
        .select((review_queue_counts::level_rank, review_queue_counts::unreviewed))
        .load(conn)?;
    let mut counts = QueueCounts::default();
    for (rank, count) in rows {
        match rank {
            0 => counts.urgent = count,
            1 => counts.watch = count,
            _ => counts.ok = count,
        }
    }
    Ok(counts)
}

/// A new clinic's counters, all zero.
pub fn start_queue_counts(conn: &mut DbConnection, clinic_id: &str) -> Result<(), AppError> {
    for rank in 0..=2 {
        diesel::insert_into(review_queue_counts::table)
            .values((
                review_queue_counts::clinic_id.eq(clinic_id),
                review_queue_counts::level_rank.eq(rank),
                review_queue_counts::unreviewed.eq(0_i64),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Moves a counter in the same transaction as the check-in that moves it.
fn count_unreviewed(conn: &mut DbConnection, clinic_id: &str, rank: i32, by: i64) -> Result<(), AppError> {
    diesel::update(review_queue_counts::table.find((clinic_id, rank)))
        .set(review_queue_counts::unreviewed.eq(review_queue_counts::unreviewed + by))
        .execute(conn)?;
    Ok(())
}

/// Marks a check-in reviewed by the caller. A check-in is reviewed once: again answers 409.
pub fn review(
    conn: &mut DbConnection,
    caller: &Staff,
    id: &str,
    note: Option<String>,
) -> Result<CheckInRecord, AppError> {
    let current = get(conn, caller, id)?;
    let updated = diesel::update(check_ins::table.find(&current.id).filter(check_ins::reviewed_at.is_null()))
        .set((
            check_ins::reviewed_at.eq(crate::clock::now()),
            check_ins::reviewed_by.eq(&caller.user_id),
            check_ins::review_note.eq(&note),
        ))
        .execute(conn)?;
    if updated == 0 {
        return Err(AppError::Conflict("this check-in has already been reviewed".into()));
    }
    count_unreviewed(conn, &current.clinic_id, level_rank(current.assessment.level), -1)?;
    get(conn, caller, id)
}

/// Erasure: deletes every check-in of the patient, and takes the unreviewed ones off the clinic's
/// queue counters in the same transaction (as reviewing them would). Photos go first (`photos`).
pub fn erase_patient(conn: &mut DbConnection, patient_id: &str) -> Result<usize, AppError> {
    let unreviewed: Vec<(String, i32)> = check_ins::table
        .filter(check_ins::patient_id.eq(patient_id))
        .filter(check_ins::reviewed_at.is_null())
        .select((check_ins::clinic_id, check_ins::level_rank))
        .load(conn)?;
    let mut by_counter: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for key in unreviewed {
        *by_counter.entry(key).or_default() += 1;
    }
    for ((clinic_id, rank), count) in by_counter {
        count_unreviewed(conn, &clinic_id, rank, -count)?;
    }
    Ok(diesel::delete(check_ins::table.filter(check_ins::patient_id.eq(patient_id))).execute(conn)?)
}
