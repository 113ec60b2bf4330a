//! Protocol documents in the database, and the in-memory library of parsed versions.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::protocols;
use crate::error::AppError;
use crate::models::treatments::TreatmentRecord;
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
    /// Versions with variants applied, by (id, version, the applied variants' keys).
    planned: RwLock<HashMap<(String, i32, String), Arc<Protocol>>>,
}

/// A variant that applies to a treatment's plan.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedVariant {
    pub key: String,
    pub title: String,
}

impl ProtocolLibrary {
    pub fn new(current: Protocol) -> ProtocolLibrary {
        let current = Arc::new(current);
        let key = (current.id.clone(), current.version);
        ProtocolLibrary {
            versions: RwLock::new(HashMap::from([(key, current.clone())])),
            current,
            planned: RwLock::default(),
        }
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

    /// The protocol a treatment is planned with: its version, with the variants that select the
    /// treatment applied (built once per combination of variants, then kept), and those variants.
    pub fn for_treatment(
        &self,
        conn: &mut DbConnection,
        treatment: &TreatmentRecord,
    ) -> Result<(Arc<Protocol>, Vec<AppliedVariant>), AppError> {
        let base = self.get(conn, &treatment.protocol_id, treatment.protocol_version)?;
        let chosen = base.variants_for(treatment.treated());
        let applied: Vec<AppliedVariant> =
            chosen.iter().map(|v| AppliedVariant { key: v.key.clone(), title: v.title.clone() }).collect();
        if applied.is_empty() {
            return Ok((base, applied));
        }
        let keys = applied.iter().map(|v| v.key.as_str()).collect::<Vec<_>>().join(",");
        let key = (base.id.clone(), base.version, keys);
        if let Some(found) = self.planned.read().map_err(AppError::internal)?.get(&key) {
            return Ok((found.clone(), applied));
        }
        let planned = Arc::new(base.for_treatment(treatment.treated()).map_err(AppError::internal)?);
        self.planned.write().map_err(AppError::internal)?.insert(key, planned.clone());
        Ok((planned, applied))
    }
}
