//! Offline retries: a POST that carries `Idempotency-Key` is done once per key and caller.
//!
//! Only the routes that say so honour the key: their route macro wraps them in [`middleware`]
//! (`wrap = "actix_web::middleware::from_fn(crate::idempotency::middleware)"`). So the decision is
//! the route that actually matched, however its path was spelt, and the auth routes (login,
//! refresh, logout, activate), which have their own rules for retries, never see a stored answer.
//!
//! The caller is authenticated first, exactly as the handler would (`Caller`: the token, then the
//! account as it is now), for a replay as for a first request: a deactivated account, a changed role
//! or clinic, an expired token get 401, never a stored answer. The key is bound to the caller's id,
//! role and clinic.
//!
//! The first request claims the key (in the database, so every replica sees it), runs, and stores
//! its answer. A retry with the same key and the same request gets that answer again, status and
//! body; the same key with a different request gets 422; a retry while the first is still running
//! waits for its answer up to `IDEMPOTENCY_WAIT_MS`, then gets 409. A 5xx answer is not kept, so the
//! retry runs again.
//!
//! Stored answers hold no secret. A handler whose answer hands out an invitation token says so
//! ([`note_invite`]); the token is taken out before the answer is stored, and a replay issues the
//! account a fresh one (the lost answer's token stops working), or answers 409 once the invitation
//! has been accepted. A calendar subscription's feed URL is kept out the same way ([`note_feed`]):
//! a replay rotates the subscription that answer created, if it is still the current one, and
//! hands out the new URL (the lost one stops working), or answers 409 once the subscription has
//! been rotated or revoked by another request. Any other answer that carries a secret field is not
//! kept at all.

use std::time::{Duration as StdDuration, Instant};

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use chrono::Duration;
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::error::AppError;
use crate::models::idempotency::{self, Answer, Claim};
use crate::models::{calendar_subscriptions, invites};
use crate::state::AppState;

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotency-replayed";
pub const MAX_KEY_CHARS: usize = 255;
/// Keys are kept at least this long.
pub const KEEP_HOURS: i64 = 24;
/// A claim still unanswered after this long belongs to a request whose server died.
const ABANDONED_AFTER_SECS: i64 = 120;
const POLL_EVERY: StdDuration = StdDuration::from_millis(25);
/// The field of an answer that carries an invitation token.
const INVITE_FIELD: &str = "invite_token";
/// The field of an answer that carries a calendar feed URL, secret included.
pub const FEED_URL_FIELD: &str = "feed_url";
/// Fields that carry secrets; an answer with one of them is never stored as it is.
const SECRET_FIELDS: [&str; 4] = [INVITE_FIELD, "access_token", "refresh_token", FEED_URL_FIELD];

/// Put on an answer (its extensions) that hands out `user_id`'s invitation token in `invite_token`.
#[derive(Clone, Debug)]
pub struct InviteIssued {
    pub user_id: String,
}

/// Says that `response` hands out the invitation token of `user_id`.
pub fn note_invite<B>(response: &mut HttpResponse<B>, user_id: &str) {
    response.extensions_mut().insert(InviteIssued { user_id: user_id.to_string() });
}

/// Put on an answer that hands out the feed URL of calendar subscription `subscription_id`.
#[derive(Clone, Debug)]
pub struct FeedIssued {
    pub subscription_id: String,
}

/// Says that `response` hands out, in `feed_url`, the secret of calendar subscription `subscription_id`.
pub fn note_feed<B>(response: &mut HttpResponse<B>, subscription_id: &str) {
    response.extensions_mut().insert(FeedIssued { subscription_id: subscription_id.to_string() });
}

fn reply(req: ServiceRequest, err: AppError) -> ServiceResponse<BoxBody> {
    req.into_response(err.error_response())
}

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(raw_key) = req.headers().get(HEADER).cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let Some(state) = state.filter(|_| req.method() == Method::POST) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    // The same check as the handler's, now: a stored answer is no way around it.
    let caller = match req.extract::<Caller>().await {
        Ok(caller) => caller,
        Err(err) => return Ok(reply(req, err)),
    };
    let key = match raw_key.to_str() {
        Ok(k) if (1..=MAX_KEY_CHARS).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => k.to_string(),
        _ => {
            let err =
                AppError::invalid("Idempotency-Key", format!("must be 1 to {MAX_KEY_CHARS} visible ASCII characters"));
            return Ok(reply(req, err));
        }
    };
    let body = match read_body(&mut req, state.settings.json_body_limit).await {
        Ok(body) => body,
        Err(err) => return Ok(reply(req, err)),
    };
    let fingerprint = fingerprint(&req, &caller, &body);
    req.set_payload(Payload::from(body));

    let user_id = caller.user_id;
    match claim(&state, &user_id, &key, &fingerprint).await {
        Ok(None) => {}
        Ok(Some(answer)) => {
            let replayed = replay(&state, req.request(), &user_id, &key, answer).await;
            return Ok(req.into_response(replayed));
        }
        Err(err) => return Ok(reply(req, err)),
    }
    let res = match next.call(req).await {
        Ok(res) => res,
        Err(err) => {
            release(&state, user_id, key).await;
            return Err(err);
        }
    };
    if res.status().is_server_error() {
        release(&state, user_id, key).await;
        return Ok(res.map_into_boxed_body());
    }
    keep(&state, user_id, key, res).await
}

/// The request body, at most `limit` bytes (the JSON limit); anything larger is a 413.
async fn read_body(req: &mut ServiceRequest, limit: usize) -> Result<Bytes, AppError> {
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(AppError::PayloadTooLarge { limit });
    }
    let payload = req.extract::<web::Payload>().await.map_err(|e| AppError::BadRequest(e.to_string()))?;
    match payload.to_bytes_limited(limit).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(err)) => Err(AppError::BadRequest(format!("could not read the request body: {err}"))),
        Err(_) => Err(AppError::PayloadTooLarge { limit }),
    }
}

/// What makes two requests the same: who asks (id, role, clinic), method, target, body.
fn fingerprint(req: &ServiceRequest, caller: &Caller, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    for part in [caller.user_id.as_str(), caller.role.as_str(), caller.clinic_id.as_str(), req.method().as_str()] {
        hash.update(part);
        hash.update(b" ");
    }
    hash.update(req.uri().to_string());
    hash.update(b"\n");
    hash.update(body);
    hex::encode(hash.finalize())
}

/// Claims the key: `None` when this request is to run, the stored answer when it ran already.
async fn claim(state: &AppState, user_id: &str, key: &str, fingerprint: &str) -> Result<Option<Answer>, AppError> {
    let wait = StdDuration::from_millis(state.settings.idempotency_wait_ms);
    let started = Instant::now();
    loop {
        let (user, k, fp) = (user_id.to_string(), key.to_string(), fingerprint.to_string());
        let claim = state
            .db
            .write(move |conn| {
                let now = crate::clock::now();
                let keep = Duration::hours(KEEP_HOURS);
                let claim =
                    idempotency::claim(conn, &user, &k, &fp, now, keep, Duration::seconds(ABANDONED_AFTER_SECS))?;
                if claim == Claim::Fresh && rand::random::<u8>() == 0 {
                    idempotency::expire(conn, now, keep)?;
                }
                Ok(claim)
            })
            .await?;
        match claim {
            Claim::Fresh => return Ok(None),
            Claim::Replay(answer) => return Ok(Some(answer)),
            Claim::Mismatch => {
                return Err(AppError::invalid("Idempotency-Key", "was already used with a different request"));
            }
            Claim::InProgress if started.elapsed() < wait => actix_web::rt::time::sleep(POLL_EVERY).await,
            Claim::InProgress => {
                return Err(AppError::Conflict(
                    "a request with this Idempotency-Key is still being processed; retry shortly".into(),
                ));
            }
        }
    }
}

/// The stored answer again; an invitation or a calendar feed it handed out is issued afresh.
async fn replay(
    state: &crate::state::SharedState,
    req: &HttpRequest,
    user_id: &str,
    key: &str,
    mut answer: Answer,
) -> HttpResponse {
    if let Some(subscription_id) = answer.calendar_subscription_id.take() {
        let (user_id, key) = (user_id.to_string(), key.to_string());
        let reissued =
            state.db.write(move |conn| calendar_subscriptions::reissue(conn, &subscription_id, &user_id, &key)).await;
        let issued = match reissued {
            Ok(Some(issued)) => issued,
            Ok(None) => {
                return AppError::Conflict(
                    "the calendar subscription this request created has since been rotated or revoked; its feed URL \
                     cannot be handed out again"
                        .into(),
                )
                .error_response();
            }
            Err(err) => return err.error_response(),
        };
        let url = crate::calendar::feed_url(req, &state.settings, &issued.secret);
        let created_at = crate::clock::format_instant(issued.subscription.created_at);
        match with_field(&answer.body, FEED_URL_FIELD, url).and_then(|b| with_field(&b, "created_at", created_at)) {
            Some(body) => answer.body = body,
            None => return AppError::internal("a stored answer is not a JSON object").error_response(),
        }
    }
    if let Some(user_id) = answer.invite_user_id.take() {
        let shared = state.clone();
        let reissued = state.db.write(move |conn| invites::current_invitation(conn, &shared.tokens, &user_id)).await;
        let token = match reissued {
            Ok(Some(token)) => token,
            Ok(None) => {
                return AppError::Conflict(
                    "the account this request created has accepted its invitation; the invitation token cannot \
                     be handed out again"
                        .into(),
                )
                .error_response();
            }
            Err(err) => return err.error_response(),
        };
        match with_field(&answer.body, INVITE_FIELD, token) {
            Some(body) => answer.body = body,
            None => return AppError::internal("a stored answer is not a JSON object").error_response(),
        }
    }
    let mut replayed = HttpResponse::build(StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK));
    if let Some(content_type) = answer.content_type {
        replayed.insert_header((header::CONTENT_TYPE, content_type));
    }
    if let Some(location) = answer.location {
        replayed.insert_header((header::LOCATION, location));
    }
    replayed.insert_header((REPLAYED_HEADER, "true"));
    replayed.body(answer.body)
}

/// Stores the handler's answer, without its secrets, and sends it.
async fn keep(
    state: &AppState,
    user_id: String,
    key: String,
    res: ServiceResponse<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let (req, res) = res.into_parts();
    let (head, answer_body) = res.into_parts();
    let bytes = body::to_bytes(answer_body).await.map_err(|_| AppError::internal("unreadable answer body"))?;
    let invite_user_id = head.extensions().get::<InviteIssued>().map(|i| i.user_id.clone());
    let calendar_subscription_id = head.extensions().get::<FeedIssued>().map(|f| f.subscription_id.clone());
    let reissued = match (&invite_user_id, &calendar_subscription_id) {
        (Some(_), _) => Some(INVITE_FIELD),
        (None, Some(_)) => Some(FEED_URL_FIELD),
        (None, None) => None,
    };
    let header_text =
        |name| head.headers().get(name).and_then(|v: &header::HeaderValue| v.to_str().ok()).map(String::from);
    let (content_type, location) = (header_text(header::CONTENT_TYPE), header_text(header::LOCATION));
    let text = String::from_utf8_lossy(&bytes).into_owned();
    match without_secrets(&text, reissued) {
        Some(body) => {
            let status = head.status().as_u16();
            let answer = Answer { status, content_type, location, body, invite_user_id, calendar_subscription_id };
            let stored = state.db.write(move |conn| idempotency::complete(conn, &user_id, &key, &answer)).await;
            if let Err(err) = stored {
                tracing::error!(error = %err, "could not store an idempotent answer");
            }
        }
        None => {
            tracing::warn!("an answer carrying a secret is not kept for replay");
            release(state, user_id, key).await;
        }
    }
    Ok(ServiceResponse::new(req, head.set_body(bytes).map_into_boxed_body()))
}

/// The answer as it may be stored: without the secret field a replay issues afresh (`reissued`:
/// the invitation token, or the feed URL). `None` when it carries a secret that no replay could
/// give back.
fn without_secrets(text: &str, reissued: Option<&str>) -> Option<String> {
    // An empty value holds no secret (an invitation token the server is set never to show).
    let carries = |fields: &serde_json::Map<String, serde_json::Value>| {
        SECRET_FIELDS.iter().any(|f| fields.get(*f).is_some_and(|v| v.as_str() != Some("")))
    };
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(mut fields)) if carries(&fields) => {
            fields.remove(reissued?);
            (!carries(&fields)).then(|| serde_json::Value::Object(fields).to_string())
        }
        _ if reissued.is_some() => None,
        _ => Some(text.to_string()),
    }
}

/// `body` (a JSON object) with `field` set to `value`.
fn with_field(body: &str, field: &str, value: String) -> Option<String> {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut fields)) => {
            fields.insert(field.to_string(), serde_json::Value::String(value));
            Some(serde_json::Value::Object(fields).to_string())
        }
        _ => None,
    }
}

/// Lets go of a key whose request failed on our side, so a retry runs it again.
async fn release(state: &AppState, user_id: String, key: String) {
    if let Err(err) = state.db.write(move |conn| idempotency::release(conn, &user_id, &key)).await {
        tracing::error!(error = %err, "could not release an idempotency key");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_reach_the_store() {
        let invite = r#"{"id":"u1","invite_token":"secret"}"#;
        let invited = Some(INVITE_FIELD);
        assert_eq!(without_secrets(invite, invited).as_deref(), Some(r#"{"id":"u1"}"#));
        assert_eq!(without_secrets(invite, None), None, "no reissue rule: not kept");
        assert_eq!(without_secrets(invite, Some(FEED_URL_FIELD)), None, "another reissue rule: not kept");
        assert_eq!(without_secrets(r#"{"refresh_token":"s","invite_token":"t"}"#, invited), None);
        assert_eq!(without_secrets(r#"{"id":"u1"}"#, None).as_deref(), Some(r#"{"id":"u1"}"#));
        assert_eq!(without_secrets("not json", None).as_deref(), Some("not json"));
        let feed = r#"{"treatment_id":"t","feed_url":"https://h/v1/calendar-feeds/s.ics"}"#;
        assert_eq!(without_secrets(feed, Some(FEED_URL_FIELD)).as_deref(), Some(r#"{"treatment_id":"t"}"#));
        assert_eq!(without_secrets(feed, None), None);
        assert_eq!(
            with_field(r#"{"id":"u1"}"#, INVITE_FIELD, "new".into()).as_deref(),
            Some(r#"{"id":"u1","invite_token":"new"}"#)
        );
    }
}
