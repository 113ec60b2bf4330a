//! Calendar subscriptions: a URL that calendar apps poll without a token, and its management.

use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::{Subject, note_subject};
use crate::auth::Caller;
use crate::clock::format_instant;
use crate::error::AppError;
use crate::routes::path_id;
use crate::state::AppState;
use crate::use_cases::calendar_feeds;

/// A calendar subscription as it was just created or rotated: the only answer that shows its URL.
#[derive(Serialize, ToSchema)]
pub struct IssuedCalendarSubscription {
    pub treatment_id: String,
    /// The feed to subscribe to (`webcal://` works too, with the same host and path). It holds
    /// the subscription's secret: shown once, never stored by the server; rotate to replace it.
    #[schema(example = "https://care.example.com/v1/calendar-feeds/mD1r5fPq0vVQ3o2kT9YxQ8bLw4sZaHcN7eGuJ6iRtUy.ics")]
    pub feed_url: String,
    pub created_at: String,
    /// The account that created or last rotated it.
    pub created_by: String,
}

/// A treatment's active calendar subscription; never its URL.
#[derive(Serialize, ToSchema)]
pub struct CalendarSubscription {
    pub treatment_id: String,
    /// When the working URL was issued (created or last rotated).
    pub created_at: String,
    /// The account that issued it.
    pub created_by: String,
}

/// Creates the treatment's calendar subscription, or rotates it, and answers its feed URL once.
///
/// The treatment's patient, or administrators and clinicians of its clinic; anyone else gets 404.
/// Calendar apps poll the returned `feed_url` without an Authorization header: its long random
/// secret is the only credential, so the URL is shown in this answer only. Calling again rotates
/// the secret: the previous URL answers 404 at once. Retrying with the same Idempotency-Key after a
/// lost answer rotates the subscription that request created and answers the new URL (the lost one
/// stops working), or answers 409 if the subscription was rotated or revoked in between.
#[utoipa::path(
    operation_id = "subscribeCalendar",
    tag = "calendar",
    params(("id" = uuid::Uuid, Path, description = "Treatment id"), crate::routes::openapi::IdempotencyKey),
    responses(
        (status = 201, description = "Created or rotated", body = IssuedCalendarSubscription,
            headers(("Location" = String, description = "The path of the subscription"))),
    )
)]
#[post(
    "/treatments/{id}/calendar-subscription",
    wrap = "actix_web::middleware::from_fn(crate::idempotency::middleware)"
)]
pub async fn subscribe(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let treatment_id = path_id(&id)?;
    let issued = calendar_feeds::subscribe(&state, caller, treatment_id).await?;
    let s = &issued.subscription;
    note_subject(
        &req,
        Subject {
            patient_id: Some(s.patient_id.clone()),
            resource_type: Some("treatment"),
            resource_id: Some(s.treatment_id.clone()),
        },
    );
    let mut created = HttpResponse::Created()
        .insert_header((LOCATION, format!("/v1/treatments/{}/calendar-subscription", s.treatment_id)))
        .json(IssuedCalendarSubscription {
            treatment_id: s.treatment_id.clone(),
            feed_url: crate::calendar::feed_url(&req, &state.settings, &issued.secret),
            created_at: format_instant(s.created_at),
            created_by: s.created_by.clone(),
        });
    crate::idempotency::note_feed(&mut created, &s.id);
    Ok(created)
}

/// The treatment's active calendar subscription, without its URL: 404 when it has none.
///
/// The treatment's patient, or administrators and clinicians of its clinic; anyone else gets 404,
/// exactly as for a treatment that does not exist or has no subscription (never subscribed, or
/// revoked). The URL itself cannot be read again (the server keeps only a hash of its secret):
/// rotate with subscribeCalendar to get a new one.
#[utoipa::path(
    operation_id = "getCalendarSubscription",
    tag = "calendar",
    params(("id" = uuid::Uuid, Path, description = "Treatment id")),
    responses(
        (status = 200, description = "The active subscription", body = CalendarSubscription),
    )
)]
#[get("/treatments/{id}/calendar-subscription")]
pub async fn get_subscription(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<CalendarSubscription>, AppError> {
    let treatment_id = path_id(&id)?;
    let found = calendar_feeds::subscription(&state, caller, treatment_id).await?;
    Ok(web::Json(CalendarSubscription {
        treatment_id: found.treatment_id,
        created_at: format_instant(found.created_at),
        created_by: found.created_by,
    }))
}

/// Revokes the treatment's calendar subscription: its feed URL answers 404 from now on.
///
/// The treatment's patient, or administrators and clinicians of its clinic; anyone else gets 404.
/// Revoking a treatment that has no subscription also answers 204, so a retry is harmless. The
/// calendar app keeps the events it already has; a new subscription gets a new URL.
#[utoipa::path(
    operation_id = "revokeCalendarSubscription",
    tag = "calendar",
    params(("id" = uuid::Uuid, Path, description = "Treatment id")),
    responses(
        (status = 204, description = "Revoked"),
    )
)]
#[delete("/treatments/{id}/calendar-subscription")]
pub async fn revoke(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let treatment_id = path_id(&id)?;
    calendar_feeds::revoke(&state, caller, treatment_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A subscribed treatment's reminders as an iCalendar feed (RFC 5545), for calendar apps.
///
/// No Authorization header: the secret in the path, from subscribeCalendar, is the credential.
/// An unknown, rotated or revoked secret answers 404. The feed is the one getCalendar serves:
/// one event per reminder at the patient's local time (TZID and VTIMEZONE of the patient's zone),
/// and one alarm per day naming all of that day's reminders. Revalidate with `If-None-Match`:
/// 304 while the plan is unchanged.
#[utoipa::path(
    operation_id = "getCalendarFeed",
    tag = "calendar",
    security(()),
    params(
        ("secret" = String, Path, description = "The subscription's secret, as in its feed URL"),
        crate::routes::openapi::IfNoneMatch
    ),
    responses(
        (status = 200, description = "The calendar", body = String, content_type = "text/calendar",
            headers(
                ("Content-Disposition" = String, description = "`inline`, naming the file `aftercare.ics`"),
                ("Content-Language" = String, description = "The patient's preferred language, or `en`"),
            )),
    )
)]
#[get("/calendar-feeds/{secret}.ics", wrap = "actix_web::middleware::from_fn(crate::http_cache::revalidate)")]
pub async fn feed(
    req: HttpRequest,
    state: web::Data<AppState>,
    secret: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (plan, language) = calendar_feeds::feed(&state, secret.into_inner()).await?;
    // No caller: the event names the patient and treatment the secret opened, never the secret.
    note_subject(
        &req,
        Subject {
            patient_id: Some(plan.treatment.patient_id.clone()),
            resource_type: Some("treatment"),
            resource_id: Some(plan.treatment.id.clone()),
        },
    );
    let body = crate::calendar::render(&plan);
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header(("Content-Disposition", "inline; filename=\"aftercare.ics\""))
        .insert_header((actix_web::http::header::CONTENT_LANGUAGE, crate::language::content_language([language])))
        .body(body))
}
