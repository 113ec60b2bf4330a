//! What every request handler shares.

use crate::audit::AuditLog;
use crate::auth::password::Passwords;
use crate::auth::tokens::TokenKeys;
use crate::config::Settings;
use crate::db::Database;
use crate::models::plan_cache::PlanCache;
use crate::models::protocols::ProtocolLibrary;

pub struct AppState {
    pub db: Database,
    pub tokens: TokenKeys,
    pub passwords: Passwords,
    /// The protocol new plans use, and every version existing plans were made with.
    pub protocols: ProtocolLibrary,
    /// Plans built for earlier requests, while their inputs stay as they were.
    pub plans: PlanCache,
    pub settings: Settings,
    pub audit: AuditLog,
    /// Where photos' bytes live.
    pub photos: crate::photo_store::PhotoStore,
}

/// The state as handlers and use cases hold it: shared, cheap to clone into database work.
pub type SharedState = actix_web::web::Data<AppState>;
