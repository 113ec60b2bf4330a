//! Reading the audit trail. (Appending to it is the background audit writer's, in `crate::audit`.)

use crate::auth::Admin;
use crate::error::AppError;
use crate::models::audit::{self, AuditFilter, StoredEvent};
use crate::pagination::PageRequest;
use crate::state::SharedState;

/// A page of the caller's clinic's audit events, newest first, with the cursor of the next page.
pub async fn list(
    state: &SharedState,
    caller: Admin,
    filter: AuditFilter,
    page: PageRequest,
) -> Result<(Vec<StoredEvent>, Option<i64>), AppError> {
    state.db.run(move |conn| audit::list(conn, &caller, &filter, &page)).await
}
