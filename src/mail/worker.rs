//! The delivery worker: one per replica, started by `serve`. It looks for due messages every
//! `MAIL_POLL_MS`, claims each (`models::outbox::claim`: one replica wins a message), composes it,
//! hands it to the mailer, and records the outcome. A failure is retried after a wait that doubles
//! with each attempt (`MAIL_RETRY_SECONDS`, 30 s by default, then 1 min, 2 min… at most an hour) until `MAIL_MAX_ATTEMPTS`; a permanent
//! refusal from the mail server is not retried.

use std::sync::Arc;

use chrono::NaiveDateTime;

use crate::config::MailSettings;
use crate::error::AppError;
use crate::mail::{self, Failure, Mailer};
use crate::models::outbox::{self, StoredMessage};
use crate::models::reset_requests;
use crate::state::SharedState;
use crate::use_cases::passwords;

/// Messages claimed per look at the outbox.
const BATCH: i64 = 20;
const LONGEST_WAIT: chrono::Duration = chrono::Duration::hours(1);

/// Starts the worker on the current actix system; it runs as long as the system does.
pub fn start(state: SharedState) -> Result<(), crate::error::StartupError> {
    let mailer = Arc::new(Mailer::from_settings(&state.settings.mail)?);
    tracing::info!(via = %mailer.describe(), "e-mail delivery worker started");
    if let Mailer::Folder(folder) = mailer.as_ref() {
        tracing::warn!(
            folder = %folder.display(),
            "SMTP_URL is not set: e-mail is written to files, links with single-use tokens included; set SMTP_URL in production"
        );
    }
    actix_web::rt::spawn(async move {
        let poll = state.settings.mail.poll_interval;
        loop {
            // Each look runs as a task of its own, so that a bug that panics in one cannot end
            // the delivery of every later message on this replica.
            let (state, mailer) = (state.clone(), mailer.clone());
            match actix_web::rt::spawn(async move { deliver_due(&state, &mailer).await }).await {
                // A full batch: more may be waiting.
                Ok(Ok(handled)) if handled as i64 >= BATCH => continue,
                Ok(Ok(_)) => {}
                Ok(Err(err)) => tracing::warn!(error = %err, "e-mail delivery could not reach the outbox"),
                Err(panicked) => tracing::error!(error = %panicked, "e-mail delivery failed unexpectedly; it goes on"),
            }
            actix_web::rt::time::sleep(poll).await;
        }
    });
    Ok(())
}

/// Password reset requests waiting: each is taken (by one replica) and answered in one transaction,
/// which writes its e-mail to the outbox when the address has an account. Returns how many waited.
async fn answer_reset_requests(state: &SharedState) -> Result<usize, AppError> {
    let waiting = state.db.run(|conn| reset_requests::waiting(conn, BATCH)).await?;
    for id in &waiting {
        let (id, shared) = (id.clone(), state.clone());
        state
            .db
            .write(move |conn| match reset_requests::take(conn, &id)? {
                Some(request) => passwords::answer_reset_request(conn, &shared, request),
                None => Ok(()),
            })
            .await?;
    }
    Ok(waiting.len())
}

/// One look at the outbox (after answering waiting reset requests, whose e-mails it then holds):
/// every due message this replica manages to claim is sent and recorded. Returns how much work
/// there was.
pub async fn deliver_due(state: &SharedState, mailer: &Arc<Mailer>) -> Result<usize, AppError> {
    let requests = answer_reset_requests(state).await?;
    let now = crate::clock::now();
    let due = state.db.run(move |conn| outbox::due(conn, now, BATCH)).await?;
    for id in &due {
        let claim = crate::models::new_id();
        let (id, attempt) = (id.clone(), claim.clone());
        let claimed = state.db.write(move |conn| outbox::claim(conn, &id, &attempt, crate::clock::now())).await?;
        let Some(message) = claimed else { continue };
        let outcome = send(state, mailer, message.clone()).await;
        let recorded = match outcome {
            Ok(()) => {
                tracing::info!(message = %message.id, kind = %message.kind, "e-mail sent");
                Ok(())
            }
            Err(failure) => {
                let retry_at = retry_at(&message, &failure, &state.settings.mail);
                tracing::warn!(
                    message = %message.id, kind = %message.kind, attempts = message.attempts,
                    error = %failure.reason, retry_at = ?retry_at, "e-mail not sent"
                );
                Err((failure.reason, retry_at))
            }
        };
        let id = message.id.clone();
        state.db.write(move |conn| outbox::record(conn, &id, &claim, recorded)).await?;
    }
    Ok(requests.max(due.len()))
}

async fn send(state: &SharedState, mailer: &Arc<Mailer>, message: StoredMessage) -> Result<(), Failure> {
    let letter =
        message.letter().map_err(|e| Failure { permanent: true, reason: format!("unreadable message: {e}") })?;
    let body = letter.body(&state.tokens, &state.settings.mail.public_base_url);
    let email = mail::build(&state.settings.mail.from, &message.recipient, &message.subject, body, &message.id)?;
    let file_name = format!("{}-{}", message.created_at.format("%Y%m%dT%H%M%S"), message.id);
    let mailer = mailer.clone();
    actix_web::web::block(move || mailer.send(&email, &file_name))
        .await
        .map_err(|e| Failure { permanent: false, reason: format!("the sending thread failed: {e}") })?
}

/// When to try again after `failure`, or `None` to give up.
fn retry_at(message: &StoredMessage, failure: &Failure, settings: &MailSettings) -> Option<NaiveDateTime> {
    if failure.permanent || message.attempts >= settings.max_attempts {
        return None;
    }
    let first = chrono::Duration::from_std(settings.first_retry).unwrap_or(LONGEST_WAIT);
    let doublings = (message.attempts - 1).clamp(0, 16) as u32;
    let wait = (first * 2i32.pow(doublings)).min(LONGEST_WAIT);
    Some(crate::clock::now() + wait)
}
