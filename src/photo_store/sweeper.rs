//! The sweeper: one per replica, started by `serve`. Every `PHOTO_SWEEP_SECONDS` it removes
//! - staging objects (left by older versions, which staged uploads there) older than
//!   `PHOTO_SWEEP_GRACE_SECONDS`, and for a local store the unfinished uploads (`<key>#<n>` files
//!   the store hides) that a crash left, as old;
//! - objects under `photos/`, `originals/` and `renditions/` that no photo record names: the record was deleted
//!   or erased (their bytes are also deleted right after the commit; this catches a failure or a
//!   crash in between);
//! - objects of a photo that is still pending, older than the grace period: a crash between
//!   writing verified bytes under their key and committing the record leaves them; a retried
//!   upload would have replaced them.
//!
//! A photo's keys are committed in its record before anything is written under them (the
//! renditions' keys by the worker's claim), so an object no record names is never one an upload or
//! the rendition worker is about to commit; the renditions of an abandoned claim are such objects.

use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use object_store::path::Path;

use crate::domain::PhotoState;
use crate::error::AppError;
use crate::models::photos;
use crate::photo_store::{OBJECTS, ORIGINALS, STAGING, renditions};
use crate::state::SharedState;

/// The prefixes of the objects photo records name: every other object under them is an orphan.
const NAMED_BY_RECORDS: [&str; 3] = [OBJECTS, ORIGINALS, renditions::PREFIX];

/// Keys looked up in the database at once.
const BATCH: usize = 200;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Staging objects and unfinished uploads.
    pub staging: usize,
    pub orphans: usize,
}

/// Starts the sweeper on the current actix system; it runs as long as the system does.
pub fn start(state: SharedState) {
    actix_web::rt::spawn(async move {
        loop {
            actix_web::rt::time::sleep(state.settings.photos.sweep_interval).await;
            let shared = state.clone();
            match actix_web::rt::spawn(async move { sweep(&shared).await }).await {
                Ok(Ok(swept)) if swept != Swept::default() => tracing::info!(?swept, "photo store swept"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "the photo sweeper could not finish"),
                Err(panicked) => {
                    tracing::error!(error = %panicked, "the photo sweeper failed unexpectedly; it goes on")
                }
            }
        }
    });
}

/// One sweep (see the module's documentation).
pub async fn sweep(state: &SharedState) -> Result<Swept, AppError> {
    let grace = state.settings.photos.sweep_grace;
    let store = &state.photos;
    let cutoff = chrono::Utc::now() - chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::hours(1));
    let mut swept = Swept::default();
    let unavailable = |e: object_store::Error| AppError::Unavailable(format!("photo store: {e}"));

    let mut staging = store.inner().list(Some(&Path::from(STAGING)));
    while let Some(meta) = staging.next().await {
        let meta = meta.map_err(unavailable)?;
        if meta.last_modified < cutoff {
            store.remove_path(&meta.location).await;
            swept.staging += 1;
        }
    }
    if let Some(root) = store.local_root() {
        for prefix in std::iter::once(STAGING).chain(NAMED_BY_RECORDS) {
            swept.staging += sweep_local_parts(&root.join(prefix), grace);
        }
    }

    for prefix in NAMED_BY_RECORDS {
        let mut listing = store.inner().list(Some(&Path::from(prefix)));
        let mut batch = Vec::new();
        loop {
            let next = listing.next().await;
            if let Some(meta) = next.as_ref() {
                batch.push(meta.as_ref().map_err(|e| AppError::Unavailable(format!("photo store: {e}")))?.clone());
            }
            if batch.len() >= BATCH || (next.is_none() && !batch.is_empty()) {
                let keys: Vec<String> = batch.iter().map(|m| m.location.to_string()).collect();
                let known = state.db.run(move |conn| photos::states_of_keys(conn, &keys)).await?;
                for meta in batch.drain(..) {
                    let key = meta.location.to_string();
                    let remove = match known.get(&key) {
                        None => true,
                        Some(PhotoState::Pending) => meta.last_modified < cutoff,
                        Some(PhotoState::Verified) => false,
                    };
                    if remove {
                        store.remove_path(&meta.location).await;
                        swept.orphans += 1;
                    }
                }
            }
            if next.is_none() {
                break;
            }
        }
    }
    Ok(swept)
}

/// Unfinished uploads in a local store's directory (`<key>#<n>`, which the store does not list)
/// older than `grace`.
fn sweep_local_parts(dir: &std::path::Path, grace: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|modified| now.duration_since(modified).unwrap_or_default() > grace);
        let part = entry.file_name().to_string_lossy().contains('#');
        if old && part && entry.file_type().is_ok_and(|t| t.is_file()) && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}
