//! The e-mail outbox. A message is written by the transaction that causes it (so it exists exactly
//! when the change does), then claimed, sent and recorded by a delivery worker (`mail::worker`).
//!
//! A claim is a conditional update of one row (due, pending, and not under another worker's live
//! claim): of two replicas reaching for the same message, the database lets exactly one update
//! it, and the other sees zero rows changed. A claim lasts `CLAIM_LEASE`; a worker that dies while
//! sending leaves the message to be claimed again once the lease has passed.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::auth::Admin;
use crate::clock;
use crate::db::DbConnection;
use crate::db::schema::outbox_messages as outbox;
use crate::domain::DeliveryState;
use crate::error::AppError;
use crate::mail::Letter;
use crate::pagination::{Cursor, Order, Page, PageRequest};

/// Longer than any SMTP conversation can take (lettre's timeout is 20 s per command).
pub const CLAIM_LEASE: Duration = Duration::minutes(5);

/// A message to write to the outbox.
pub struct NewMessage<'a> {
    pub clinic_id: &'a str,
    pub recipient_user_id: &'a str,
    pub recipient: &'a str,
    pub letter: Letter,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct StoredMessage {
    pub id: String,
    pub clinic_id: String,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub payload: String,
    pub state: DeliveryState,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

impl StoredMessage {
    pub fn letter(&self) -> Result<Letter, AppError> {
        serde_json::from_str(&self.payload).map_err(AppError::internal)
    }
}

/// Writes a message, due at once. Run it inside the transaction of the change that causes it.
pub fn enqueue(conn: &mut DbConnection, message: NewMessage<'_>) -> Result<String, AppError> {
    let id = super::new_id();
    let now = clock::now();
    diesel::insert_into(outbox::table)
        .values((
            outbox::id.eq(&id),
            outbox::clinic_id.eq(message.clinic_id),
            outbox::kind.eq(message.letter.kind()),
            outbox::recipient_user_id.eq(message.recipient_user_id),
            outbox::recipient.eq(message.recipient),
            outbox::subject.eq(message.letter.subject()),
            outbox::payload.eq(serde_json::to_string(&message.letter).map_err(AppError::internal)?),
            outbox::next_attempt_at.eq(now),
            outbox::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Ids of messages due for an attempt at `now`: urgent check-in alerts first (a clinician must not
/// wait behind a batch of invitations), then oldest due first.
pub fn due(conn: &mut DbConnection, now: NaiveDateTime, limit: i64) -> Result<Vec<String>, AppError> {
    Ok(outbox::table
        .filter(outbox::state.eq(DeliveryState::Pending))
        .filter(outbox::next_attempt_at.le(now))
        .filter(outbox::claimed_until.is_null().or(outbox::claimed_until.lt(now)))
        .order((outbox::kind.ne(Letter::URGENT_KIND).asc(), outbox::next_attempt_at.asc(), outbox::id.asc()))
        .select(outbox::id)
        .limit(limit)
        .load(conn)?)
}

/// Claims one message for `claim` (a fresh id per attempt) and counts the attempt; `None` when
/// another worker holds it or it is no longer due. Run it in a write transaction of its own.
pub fn claim(
    conn: &mut DbConnection,
    id: &str,
    claim: &str,
    now: NaiveDateTime,
) -> Result<Option<StoredMessage>, AppError> {
    let claimed = diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::state.eq(DeliveryState::Pending))
            .filter(outbox::next_attempt_at.le(now))
            .filter(outbox::claimed_until.is_null().or(outbox::claimed_until.lt(now))),
    )
    .set((
        outbox::claim.eq(claim),
        outbox::claimed_until.eq(now + CLAIM_LEASE),
        outbox::attempts.eq(outbox::attempts + 1),
    ))
    .execute(conn)?;
    if claimed == 0 {
        return Ok(None);
    }
    Ok(Some(outbox::table.find(id).select(StoredMessage::as_select()).first(conn)?))
}

/// Records the outcome of the attempt `claim` made: sent, or failed with `error` and retried at
/// `retry_at` (`None`: given up). An attempt whose claim was taken over changes nothing.
pub fn record(
    conn: &mut DbConnection,
    id: &str,
    claim: &str,
    outcome: Result<(), (String, Option<NaiveDateTime>)>,
) -> Result<(), AppError> {
    let mine = outbox::table.find(id).filter(outbox::claim.eq(claim));
    let now = clock::now();
    match outcome {
        Ok(()) => diesel::update(mine)
            .set((
                outbox::state.eq(DeliveryState::Sent),
                outbox::sent_at.eq(now),
                outbox::claimed_until.eq(None::<NaiveDateTime>),
                outbox::last_error.eq(None::<String>),
            ))
            .execute(conn)?,
        Err((error, retry_at)) => {
            let state = if retry_at.is_some() { DeliveryState::Pending } else { DeliveryState::Failed };
            diesel::update(mine)
                .set((
                    outbox::state.eq(state),
                    outbox::next_attempt_at.eq(retry_at.unwrap_or(now)),
                    outbox::claimed_until.eq(None::<NaiveDateTime>),
                    outbox::last_error.eq(error.chars().take(500).collect::<String>()),
                ))
                .execute(conn)?
        }
    };
    Ok(())
}

/// The caller's clinic's messages, newest first, optionally in one state.
pub fn list(
    conn: &mut DbConnection,
    caller: &Admin,
    state: Option<DeliveryState>,
    page: &PageRequest,
) -> Result<Page<StoredMessage>, AppError> {
    let mut query = outbox::table
        .filter(caller.scope().clinic_rows(outbox::clinic_id))
        .select(StoredMessage::as_select())
        .order((outbox::created_at.desc(), outbox::id.desc()))
        .limit(page.fetch())
        .into_boxed();
    if let Some(state) = state {
        query = query.filter(outbox::state.eq(state));
    }
    if let Some(after) = &page.after {
        query = query.filter(after.rows_after(Order::Descending, outbox::created_at, outbox::id));
    }
    let rows = query.load(conn)?;
    Ok(Page::from_rows(rows, page, |m| Cursor::new(None, m.created_at, &m.id)))
}

/// Erasure: the messages written to an account go with it (their address and name are the
/// account's), whatever their delivery state.
pub fn forget_recipient(conn: &mut DbConnection, user_id: &str) -> Result<usize, AppError> {
    Ok(diesel::delete(outbox::table.filter(outbox::recipient_user_id.eq(user_id))).execute(conn)?)
}
