//! Offline retries: a POST that carries `Idempotency-Key` is done once per key and caller.
//!
//! The first request claims the key (in the database, so every replica sees it), runs, and stores
//! its answer. A retry with the same key and the same request gets that answer again, status and
//! body byte for byte; the same key with a different request gets 422; a retry while the first is
//! still running waits for its answer up to `IDEMPOTENCY_WAIT_MS`, then gets 409. A 5xx answer is
//! not kept, so the retry runs again. Requests without a valid access token pass through untouched
//! (they are answered 401, or are not per-caller: login, refresh, activate).

use std::time::{Duration as StdDuration, Instant};

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, web};
use chrono::{Duration, Utc};
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::models::idempotency::{self, Claim};
use crate::state::AppState;

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotency-replayed";
pub const MAX_KEY_CHARS: usize = 255;
/// Keys are kept at least this long.
pub const KEEP_HOURS: i64 = 24;
/// A claim still unanswered after this long belongs to a request whose server died.
const ABANDONED_AFTER_SECS: i64 = 120;
const POLL_EVERY: StdDuration = StdDuration::from_millis(25);

fn reply(err: AppError) -> HttpResponse {
    err.error_response()
}

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(raw_key) = req.headers().get(HEADER).cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    if req.method() != Method::POST {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let user_id = crate::auth::caller::bearer_token(req.headers())
        .and_then(|token| state.tokens.verify(token, Utc::now()).ok())
        .map(|claims| claims.sub);
    // Without a valid access token the handler answers 401; the key does not matter then.
    let Some(user_id) = user_id else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let key = match raw_key.to_str() {
        Ok(k) if (1..=MAX_KEY_CHARS).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => k.to_string(),
        _ => {
            let err =
                AppError::invalid("Idempotency-Key", format!("must be 1 to {MAX_KEY_CHARS} visible ASCII characters"));
            return Ok(req.into_response(reply(err)));
        }
    };

    let body = match req.extract::<web::Bytes>().await {
        Ok(body) => body,
        Err(err) => return Ok(req.into_response(err.error_response())),
    };
    let fingerprint = {
        let mut hash = Sha256::new();
        hash.update(req.method().as_str());
        hash.update(b" ");
        hash.update(req.uri().to_string());
        hash.update(b"\n");
        hash.update(&body);
        hex::encode(hash.finalize())
    };
    req.set_payload(Payload::from(body));

    let wait = StdDuration::from_millis(state.settings.idempotency_wait_ms);
    let started = Instant::now();
    loop {
        let (user, k, fp) = (user_id.clone(), key.clone(), fingerprint.clone());
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
            .await;
        match claim {
            Err(err) => return Ok(req.into_response(reply(err))),
            Ok(Claim::Fresh) => break,
            Ok(Claim::Replay { status, content_type, body }) => {
                let mut answer = HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::OK));
                if let Some(content_type) = content_type {
                    answer.insert_header((header::CONTENT_TYPE, content_type));
                }
                answer.insert_header((REPLAYED_HEADER, "true"));
                return Ok(req.into_response(answer.body(body)));
            }
            Ok(Claim::Mismatch) => {
                let err = AppError::invalid("Idempotency-Key", "was already used with a different request");
                return Ok(req.into_response(reply(err)));
            }
            Ok(Claim::InProgress) if started.elapsed() < wait => actix_web::rt::time::sleep(POLL_EVERY).await,
            Ok(Claim::InProgress) => {
                let err = AppError::Conflict(
                    "a request with this Idempotency-Key is still being processed; retry shortly".into(),
                );
                return Ok(req.into_response(reply(err)));
            }
        }
    }

    let release = |state: web::Data<AppState>, user: String, k: String| async move {
        if let Err(err) = state.db.write(move |conn| idempotency::release(conn, &user, &k)).await {
            tracing::error!(error = %err, "could not release an idempotency key");
        }
    };
    let res = match next.call(req).await {
        Ok(res) => res,
        Err(err) => {
            release(state, user_id, key).await;
            return Err(err);
        }
    };
    if res.status().is_server_error() {
        release(state, user_id, key).await;
        return Ok(res.map_into_boxed_body());
    }
    let (req, res) = res.into_parts();
    let (head, answer_body) = res.into_parts();
    let bytes = body::to_bytes(answer_body).await.map_err(|_| AppError::internal("unreadable answer body"))?;
    let status = head.status().as_u16();
    let content_type = head.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(String::from);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let stored = state
        .db
        .write(move |conn| idempotency::complete(conn, &user_id, &key, status, content_type.as_deref(), &text))
        .await;
    if let Err(err) = stored {
        tracing::error!(error = %err, "could not store an idempotent answer");
    }
    Ok(ServiceResponse::new(req, head.set_body(bytes).map_into_boxed_body()))
}
