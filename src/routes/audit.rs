//! The audit trail, for a clinic's administrators.

use actix_web::{get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Admin, Caller};
use crate::clock::format_instant;
use crate::domain::{parse_id, parse_instant};
use crate::error::AppError;
use crate::models::audit::{AuditFilter, StoredEvent};
use crate::pagination::PageQuery;
use crate::state::AppState;
use crate::use_cases::audit;
use crate::validate::{Checks, checked};

#[derive(Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: String,
    /// Position in the chain.
    pub seq: i64,
    pub at: String,
    pub user_id: Option<String>,
    pub role: Option<String>,
    pub clinic_id: Option<String>,
    pub patient_id: Option<String>,
    /// The request (`METHOD /route`), e.g. `GET /v1/patients/{id}`.
    pub action: String,
    #[schema(example = "patient")]
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// `success`, `denied`, `invalid`, `throttled` or `error`.
    pub outcome: String,
    pub status: i32,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
    /// HMAC-SHA256 under the audit key (SHA-256 for entries written before the chain was keyed) over
    /// the previous entry's hash and this entry.
    pub hash: String,
}

impl From<StoredEvent> for AuditEvent {
    fn from(e: StoredEvent) -> AuditEvent {
        AuditEvent {
            id: e.id,
            seq: e.seq,
            at: format_instant(e.at),
            user_id: e.user_id,
            role: e.role,
            clinic_id: e.clinic_id,
            patient_id: e.patient_id,
            action: e.action,
            resource_type: e.resource_type,
            resource_id: e.resource_id,
            outcome: e.outcome,
            status: e.status,
            request_id: e.request_id,
            client_addr: e.client_addr,
            hash: e.hash,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only events about this patient.
    #[param(value_type = Option<uuid::Uuid>)]
    pub patient_id: Option<String>,
    /// Only events about this kind of resource: `screening-override` lists every treatment recorded
    /// without a clearing screening; also `patient`, `treatment`, `check-in`, `photo`, `staff`...
    #[param(value_type = Option<String>, pattern = r"^[a-z-]{1,40}$", example = "screening-override")]
    pub resource_type: Option<String>,
    /// RFC 3339: events at or after this instant.
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<String>,
    /// RFC 3339: events before this instant.
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<String>,
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = r"^[0-9]{1,18}$")]
    pub cursor: Option<String>,
}

/// The clinic's audit trail, newest first, by patient and by time. Nothing can change or remove it.
///
/// Administrators only; clinicians and patients get 403. Lists the `/v1` requests of the caller's
/// clinic's accounts, whatever their outcome (failed logins included), filtered by `patient_id`, by
/// `resource_type` (`screening-override` finds every treatment recorded without a clearing
/// screening) and by the instants `since` (inclusive) and `until` (exclusive); another clinic's
/// patient matches nothing. A `patient_id` that is not a UUID, a malformed `resource_type`, an instant that is not RFC 3339, a `limit` outside
/// 1-100 or a bad `cursor` answers 422.
#[utoipa::path(
    operation_id = "listAuditEvents",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of events", body = AuditPage),
        (status = 403, response = crate::routes::problems::Forbidden),
    )
)]
#[get("/audit-events")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<AuditQuery>,
) -> Result<web::Json<AuditPage>, AppError> {
    let caller = Admin::try_from(caller)?;
    let q = query.into_inner();
    let mut checks = Checks::new();
    let patient_id = checks.optional("patient_id", q.patient_id, |raw| parse_id(&raw));
    let since = checks.optional("since", q.since, parse_instant);
    let until = checks.optional("until", q.until, parse_instant);
    let resource_type = checks.optional("resource_type", q.resource_type, |raw| {
        if (1..=40).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
            Ok(raw)
        } else {
            Err("must be a resource type: lowercase letters and hyphens, at most 40".to_string())
        }
    });
    let before_seq = checks.optional("cursor", q.cursor, |raw| {
        raw.parse::<i64>().map_err(|_| "is not a cursor this server issued".to_string())
    });
    let page = PageQuery { limit: q.limit, cursor: None }.parse(&mut checks);
    checks.finish()?;
    let page = checked(page)?;
    let filter = AuditFilter { patient_id, since, until, resource_type, user_id: None, action: None, before_seq };
    let (events, next) = audit::list(&state, caller, filter, page).await?;
    Ok(web::Json(AuditPage {
        items: events.into_iter().map(AuditEvent::from).collect(),
        next_cursor: next.map(|seq| seq.to_string()),
    }))
}
