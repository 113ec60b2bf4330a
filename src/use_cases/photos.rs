//! Photo metadata: attaching it to a check-in, finding it, deleting it.

use crate::auth::{Caller, Patient};
use crate::error::AppError;
use crate::models::photos::{self, NewPhoto, PhotoFilter, PhotoRecord};
use crate::models::{check_ins, patients};
use crate::pagination::{Page, PageRequest};
use crate::state::SharedState;
use crate::use_cases::check_ins::refuse_if_discharged;

/// Attaches a photo to one of the calling patient's own check-ins.
pub async fn attach(
    state: &SharedState,
    caller: Patient,
    check_in_id: String,
    new: NewPhoto,
) -> Result<PhotoRecord, AppError> {
    state
        .db
        .write(move |conn| {
            // The check-in first: another patient's is 404 whatever the caller's own state.
            check_ins::get(conn, &caller, &check_in_id)?;
            refuse_if_discharged(&patients::get(conn, &caller, &caller.user_id)?)?;
            photos::create(conn, &caller, &check_in_id, new)
        })
        .await
}

/// A treatment's photos in capture order, of one body site and view when the filter says so.
pub async fn list_for_treatment(
    state: &SharedState,
    caller: Caller,
    treatment_id: String,
    filter: PhotoFilter,
    page: PageRequest,
) -> Result<Page<PhotoRecord>, AppError> {
    state.db.run(move |conn| photos::list_for_treatment(conn, &caller, &treatment_id, &filter, &page)).await
}

pub async fn get(state: &SharedState, caller: Caller, id: String) -> Result<PhotoRecord, AppError> {
    state.db.run(move |conn| photos::get(conn, &caller, &id)).await
}

/// Deletes a photo's metadata: the patient's own, or any of the clinic's for its staff.
pub async fn remove(state: &SharedState, caller: Caller, id: String) -> Result<(), AppError> {
    state.db.write(move |conn| photos::delete(conn, &caller, &id)).await
}
