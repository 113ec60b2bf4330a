//! What every request handler shares.

use crate::auth::password::Passwords;
use crate::auth::tokens::TokenKeys;
use crate::config::Settings;
use crate::db::Database;

pub struct AppState {
    pub db: Database,
    pub tokens: TokenKeys,
    pub passwords: Passwords,
    pub settings: Settings,
}
