//! Who is calling. A handler gets its `Caller` by asking for one (the extractor is in `authenticate.rs`).

use actix_web::http::header;

use crate::domain::Role;
use crate::error::AppError;
use crate::scope::Scope;

/// The authenticated caller. Every model function that reads patient data takes one and scopes
/// its query by the caller's `Scope`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub role: Role,
    pub clinic_id: String,
    /// The version of the plans' inputs, read in the same statement as the account check; plans
    /// cached at this version may answer this request (`models::plan_cache`). `None`: load afresh.
    pub plan_inputs_version: Option<i64>,
}

impl Caller {
    /// What this caller may see.
    pub fn scope(&self) -> Scope {
        Scope::of(self)
    }
}

/// A caller whose role a handler has checked. Model functions meant for one role take one of
/// these, so a handler cannot reach them without the check. Turned from a `Caller` (403 when the
/// role is another), or asked for directly as an extractor (`authenticate.rs`).
macro_rules! role_caller {
    ($(#[$doc:meta])* $name:ident, $allowed:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name(Caller);

        impl TryFrom<Caller> for $name {
            type Error = AppError;
            fn try_from(caller: Caller) -> Result<$name, AppError> {
                let allowed: fn(Role) -> bool = $allowed;
                if allowed(caller.role) { Ok($name(caller)) } else { Err(AppError::Forbidden) }
            }
        }

        impl std::ops::Deref for $name {
            type Target = Caller;
            fn deref(&self) -> &Caller {
                &self.0
            }
        }
    };
}

role_caller!(
    /// An administrator or a clinician.
    Staff,
    |role| role.is_staff()
);
role_caller!(
    /// An administrator.
    Admin,
    |role| role == Role::Admin
);
role_caller!(
    /// A patient, acting for themselves.
    Patient,
    |role| role == Role::Patient
);

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(headers: &header::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}
