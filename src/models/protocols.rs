//! Protocol documents in the database, and the in-memory library of parsed versions.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::protocols;
use crate::error::AppError;
use crate::plan::Protocol;

/// Stores `protocol` if its (id, version) is new. The same (id, version) with a different document
/// is refused: an edited protocol needs a new version, so no existing plan changes silently.
pub fn seed(conn: &mut DbConnection, protocol: &Protocol, document: &str) -> Result<(), String> {
    let stored: Option<String> = protocols::table
        .find((&protocol.id, protocol.version))
        .select(protocols::document)
        .first(conn)
        .optional()
        .map_err(|e| e.to_string())?;
    match stored {
        Some(existing) => {
            let existing = Protocol::parse(&existing)?;
            if existing != *protocol {
                return Err(format!(
                    "protocol {} version {} differs from the stored one: give the edited protocol a new version",
                    protocol.id, protocol.version
                ));
            }
            Ok(())
        }
        None => {
            diesel::insert_into(protocols::table)
                .values((
                    protocols::id.eq(&protocol.id),
                    protocols::version.eq(protocol.version),
                    protocols::title.eq(&protocol.title),
                    protocols::document.eq(document),
                    protocols::created_at.eq(crate::clock::now()),
                ))
                .execute(conn)
                .map_err(|e| e.to_string())?;
            Ok(())
        }
    }
}

/// The protocol new treatments are planned with, and every version plans were made with.
pub struct ProtocolLibrary {
    current: Arc<Protocol>,
    versions: RwLock<HashMap<(String, i32), Arc<Protocol>>>,
}

impl ProtocolLibrary {
    pub fn new(current: Protocol) -> ProtocolLibrary {
        let current = Arc::new(current);
        let key = (current.id.clone(), current.version);
        ProtocolLibrary { versions: RwLock::new(HashMap::from([(key, current.clone())])), current }
    }

    pub fn current(&self) -> Arc<Protocol> {
        self.current.clone()
    }

    /// A stored version, parsed once and then kept in memory.
    pub fn get(&self, conn: &mut DbConnection, id: &str, version: i32) -> Result<Arc<Protocol>, AppError> {
        let key = (id.to_string(), version);
        if let Some(found) = self.versions.read().map_err(AppError::internal)?.get(&key) {
            return Ok(found.clone());
        }
        let document: String = protocols::table.find((id, version)).select(protocols::document).first(conn)?;
        let parsed = Arc::new(Protocol::parse(&document).map_err(AppError::internal)?);
        self.versions.write().map_err(AppError::internal)?.insert(key, parsed.clone());
        Ok(parsed)
    }
}
