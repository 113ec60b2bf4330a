//! A clinic's staff: administrators invite clinicians and other administrators.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{Subject, note_subject};
use crate::auth::{Admin, Caller};
use crate::clock::format_instant;
use crate::domain::{EmailAddress, PersonName, Role, StaffInvitation, StaffRole, parse_enum};
use crate::error::AppError;
use crate::models::users::User;
use crate::pagination::{Page, PageQuery};
use crate::routes::path_id;
use crate::state::AppState;
use crate::use_cases::clinicians::{self, Invited};
use crate::validate::{Checks, checked};

#[derive(Serialize, ToSchema)]
pub struct StaffMember {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub clinic_id: String,
    /// Whether the invitation has been accepted (a password set).
    pub activated: bool,
    /// Whether the account may log in: false once an administrator deactivated it.
    pub active: bool,
    pub created_at: String,
}

impl From<User> for StaffMember {
    fn from(u: User) -> StaffMember {
        StaffMember {
            activated: u.activated(),
            active: u.active,
            id: u.id,
            name: u.name,
            email: u.email,
            role: u.role,
            clinic_id: u.clinic_id,
            created_at: format_instant(u.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CreatedStaffMember {
    #[serde(flatten)]
    pub member: StaffMember,
    /// Deprecated: the invitation now goes to the new staff member by e-mail, with a link
    /// carrying this token. Shown once; empty when the server is set never to show it
    /// (`INVITE_TOKENS_IN_ANSWERS=false`, the recommended setting), and gone in v2.
    #[schema(deprecated)]
    pub invite_token: String,
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"name": "Dr. Ana Souza", "email": "ana.souza@clinic.example", "role": "clinician"}))]
pub struct InviteStaff {
    #[schema(schema_with = crate::routes::openapi::person_name, required = true)]
    pub name: Option<String>,
    #[schema(value_type = String, required = true, format = Email)]
    pub email: Option<String>,
    #[schema(value_type = StaffRole, required = true)]
    pub role: Option<String>,
}

impl TryFrom<InviteStaff> for StaffInvitation {
    type Error = AppError;

    fn try_from(body: InviteStaff) -> Result<StaffInvitation, AppError> {
        let mut checks = Checks::new();
        let name = checks.required("name", body.name, PersonName::parse);
        let email = checks.required("email", body.email, EmailAddress::parse);
        let role = checks.required("role", body.role, parse_enum::<StaffRole>);
        checks.finish()?;
        Ok(StaffInvitation { name: checked(name)?, email: checked(email)?, role: Role::from(checked(role)?) })
    }
}

/// Invites a clinician or administrator to the caller's clinic.
///
/// Administrators only; clinicians and patients get 403. The answer's `invite_token` is shown once:
/// hand it to the new staff member, who sets a password with it at /v1/auth/activate. An e-mail
/// address that already has an account at this clinic (staff or patient) answers 409. Retrying with
/// the same Idempotency-Key is safe: the retry issues a fresh invitation token (the earlier one
/// stops working), or answers 409 once the invitation has been accepted.
#[utoipa::path(
    params(crate::routes::openapi::IdempotencyKey),
    operation_id = "inviteClinician",
    tag = "staff",
    request_body = InviteStaff,
    responses(
        (status = 201, description = "Invited", body = CreatedStaffMember),
        (status = 403, response = crate::routes::problems::Forbidden),
        (status = 409, response = crate::routes::problems::Conflict),
    )
)]
#[post("/clinicians", wrap = "actix_web::middleware::from_fn(crate::idempotency::middleware)")]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<InviteStaff>,
) -> Result<HttpResponse, AppError> {
    let caller = Admin::try_from(caller)?;
    let invitation = StaffInvitation::try_from(body.into_inner())?;
    let Invited { member, invite_token } = clinicians::invite(&state, caller, invitation).await?;
    note_subject(
        &req,
        Subject { patient_id: None, resource_type: Some("staff"), resource_id: Some(member.id.clone()) },
    );
    let user_id = member.id.clone();
    let mut created = HttpResponse::Created()
        .json(CreatedStaffMember { member: member.into(), invite_token: invite_token.clone().unwrap_or_default() });
    if invite_token.is_some() {
        crate::idempotency::note_invite(&mut created, &user_id);
    }
    Ok(created)
}

/// The caller's clinic's administrators and clinicians, oldest first.
///
/// Administrators only; clinicians and patients get 403. Lists accounts still waiting for
/// activation too (`activated: false`), never patients or other clinics' staff. A `limit` outside
/// 1-100 or a `cursor` this server did not issue answers 422.
#[utoipa::path(
    operation_id = "listClinicians",
    tag = "staff",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of staff", body = Page<StaffMember>),
        (status = 403, response = crate::routes::problems::Forbidden),
    )
)]
#[get("/clinicians")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<StaffMember>>, AppError> {
    let caller = Admin::try_from(caller)?;
    let page = query.into_inner().into_request()?;
    let found = clinicians::list_staff(&state, caller, page).await?;
    Ok(web::Json(found.map(StaffMember::from)))
}

/// Deactivates a clinician or administrator of the caller's clinic. Repeating it answers the same.
///
/// Administrators only; clinicians and patients get 403. Another clinic's staff, a patient's id or
/// an unknown id answer 404. The account can no longer log in; its refresh tokens are revoked and
/// its open invitation spent at once, and its access tokens are refused (401) from its next request.
/// Deactivating yourself, or the clinic's last active administrator, answers 409. Everything the
/// account did stays (reviews, audit events). A repeat answers 200 with the same member, so retrying,
/// with the same Idempotency-Key or none, is safe.
#[utoipa::path(
    operation_id = "deactivateClinician",
    tag = "staff",
    params(("id" = uuid::Uuid, Path, description = "Staff member id"), crate::routes::openapi::IdempotencyKey),
    responses(
        (status = 200, description = "The deactivated staff member", body = StaffMember),
        (status = 403, response = crate::routes::problems::Forbidden),
        (status = 409, response = crate::routes::problems::Conflict),
    )
)]
#[post("/clinicians/{id}/deactivate", wrap = "actix_web::middleware::from_fn(crate::idempotency::middleware)")]
pub async fn deactivate(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Admin,
    id: web::Path<String>,
) -> Result<web::Json<StaffMember>, AppError> {
    let id = path_id(&id)?;
    note_subject(&req, Subject { patient_id: None, resource_type: Some("staff"), resource_id: Some(id.clone()) });
    let member = clinicians::deactivate(&state, caller, id).await?;
    Ok(web::Json(member.into()))
}

/// Reactivates a deactivated clinician or administrator of the caller's clinic.
///
/// Administrators only; clinicians and patients get 403. Another clinic's staff, a patient's id or
/// an unknown id answer 404. The account logs in again with its password; the logins revoked by the
/// deactivation stay revoked. An account deactivated before it accepted its invitation has no
/// password and no open invitation: it needs a new invitation. Reactivating an active account
/// answers 200 with it unchanged, so retrying, with the same Idempotency-Key or none, is safe.
#[utoipa::path(
    operation_id = "reactivateClinician",
    tag = "staff",
    params(("id" = uuid::Uuid, Path, description = "Staff member id"), crate::routes::openapi::IdempotencyKey),
    responses(
        (status = 200, description = "The reactivated staff member", body = StaffMember),
        (status = 403, response = crate::routes::problems::Forbidden),
    )
)]
#[post("/clinicians/{id}/reactivate", wrap = "actix_web::middleware::from_fn(crate::idempotency::middleware)")]
pub async fn reactivate(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Admin,
    id: web::Path<String>,
) -> Result<web::Json<StaffMember>, AppError> {
    let id = path_id(&id)?;
    note_subject(&req, Subject { patient_id: None, resource_type: Some("staff"), resource_id: Some(id.clone()) });
    let member = clinicians::reactivate(&state, caller, id).await?;
    Ok(web::Json(member.into()))
}
