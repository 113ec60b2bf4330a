//! Protocol documents in the database, and the in-memory library of parsed versions.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use diesel::prelude::*;

use chrono::NaiveDateTime;

use crate::auth::{Admin, Caller};
use crate::db::DbConnection;
use crate::db::schema::{protocols, treatments};
use crate::domain::Role;
use crate::error::AppError;
use crate::language::Language;
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
            let untranslated = |p: &Protocol| Protocol { translations: Default::default(), ..p.clone() };
            if untranslated(&existing) != untranslated(protocol) {
                return Err(format!(
                    "protocol {} version {} differs from the stored one: give the edited protocol a new version",
                    protocol.id, protocol.version
                ));
            }
            // Translations change no plan: a shipped version stored before its translations (or
            // with older ones) takes the shipped document's.
            if existing.translations != protocol.translations {
                diesel::update(protocols::table.find((&protocol.id, protocol.version)))
                    .set(protocols::document.eq(document))
                    .execute(conn)
                    .map_err(|e| e.to_string())?;
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

    /// The protocol new screenings and treatments of `clinic_id` use: the clinic's newest published
    /// version, else the newest standard one.
    pub fn current_for(&self, conn: &mut DbConnection, clinic_id: &str) -> Result<Arc<Protocol>, AppError> {
        match newest_published(conn, clinic_id)? {
            Some((id, version)) => self.get(conn, &id, version),
            None => Ok(self.current()),
        }
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

impl ProtocolLibrary {
    /// The protocol a treatment is planned with, in `language`, with its variants (their titles in
    /// that language): the version's document translated, then its variants applied (built once
    /// per version, variants and language, then kept). `None` when the version has no translation
    /// to `language` (or is English): the plan answers in English. Reads only versions already
    /// kept, as every plan this process built has kept its version.
    pub fn in_language(
        &self,
        treatment: &TreatmentRecord,
        language: Language,
    ) -> Option<(Arc<Protocol>, Vec<AppliedVariant>)> {
        let version = (treatment.protocol_id.clone(), treatment.protocol_version);
        let base = self.versions.read().ok()?.get(&version).cloned()?;
        if language == Language::En || !base.speaks(language) {
            return None;
        }
        let chosen = base.variants_for(treatment.treated());
        let keys = chosen.iter().map(|v| v.key.as_str()).collect::<Vec<_>>().join(",");
        let key = (version.0, version.1, format!("{keys}@{}", language.as_str()));
        let localized = base.localized(language);
        let applied = localized
            .variants_for(treatment.treated())
            .iter()
            .map(|v| AppliedVariant { key: v.key.clone(), title: v.title.clone() })
            .collect();
        if let Some(found) = self.planned.read().ok()?.get(&key) {
            return Some((found.clone(), applied));
        }
        let planned = Arc::new(localized.for_treatment(treatment.treated()).ok()?);
        self.planned.write().ok()?.insert(key, planned.clone());
        Some((planned, applied))
    }
}

/// Where a stored protocol version stands.
pub const DRAFT: &str = "draft";
pub const PUBLISHED: &str = "published";

/// A stored protocol version without its document.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = protocols)]
pub struct ProtocolRow {
    pub id: String,
    pub version: i32,
    pub title: String,
    /// `None` for the standard protocols shipped with the product.
    pub clinic_id: Option<String>,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub published_at: Option<NaiveDateTime>,
}

/// The protocol id of a clinic's own versions: one line of versions per clinic, never `standard`.
pub fn clinic_protocol_id(clinic_id: &str) -> String {
    format!("clinic-{clinic_id}")
}

/// The (id, version) of the clinic's newest published protocol, if it has any.
pub fn newest_published(conn: &mut DbConnection, clinic_id: &str) -> Result<Option<(String, i32)>, AppError> {
    Ok(protocols::table
        .filter(protocols::clinic_id.eq(clinic_id))
        .filter(protocols::status.eq(PUBLISHED))
        .order(protocols::version.desc())
        .select((protocols::id, protocols::version))
        .first(conn)
        .optional()?)
}

/// Stores `protocol` (already checked, its id the clinic's) as a draft of the admin's clinic, with
/// the next version number of the clinic's line, which it takes; the stored document is the
/// protocol as the server writes it.
pub fn create_draft(conn: &mut DbConnection, admin: &Admin, protocol: &mut Protocol) -> Result<ProtocolRow, AppError> {
    let id = clinic_protocol_id(&admin.clinic_id);
    let last: Option<i32> =
        protocols::table.filter(protocols::id.eq(&id)).select(diesel::dsl::max(protocols::version)).first(conn)?;
    protocol.id = id;
    protocol.version = last.unwrap_or(0) + 1;
    let document = serde_json::to_string_pretty(&*protocol).map_err(AppError::internal)?;
    diesel::insert_into(protocols::table)
        .values((
            protocols::id.eq(&protocol.id),
            protocols::version.eq(protocol.version),
            protocols::title.eq(&protocol.title),
            protocols::document.eq(&document),
            protocols::created_at.eq(crate::clock::now()),
            protocols::clinic_id.eq(&admin.clinic_id),
            protocols::status.eq(DRAFT),
        ))
        .execute(conn)?;
    Ok(protocols::table.find((&protocol.id, protocol.version)).select(ProtocolRow::as_select()).first(conn)?)
}

/// Publishes a draft of the admin's clinic: 404 when it is not the clinic's, 409 when it is
/// already published (a published version never changes, its publication included).
pub fn publish(conn: &mut DbConnection, admin: &Admin, id: &str, version: i32) -> Result<ProtocolRow, AppError> {
    let row = find(conn, admin, id, version)?.ok_or(AppError::NotFound)?;
    if row.clinic_id.is_none() {
        return Err(AppError::Conflict("the standard protocols are published with the product".into()));
    }
    let changed = diesel::update(
        protocols::table
            .find((id, version))
            .filter(protocols::status.eq(DRAFT))
            .filter(protocols::clinic_id.eq(&admin.clinic_id)),
    )
    .set((protocols::status.eq(PUBLISHED), protocols::published_at.eq(crate::clock::now())))
    .execute(conn)?;
    if changed == 0 {
        return Err(AppError::Conflict(format!(
            "protocol {id} version {version} is already published, and a published version never changes: \
             create a new version instead"
        )));
    }
    Ok(protocols::table.find((id, version)).select(ProtocolRow::as_select()).first(conn)?)
}

/// The (id, version) pairs the patient's treatments are planned with.
fn used_by_patient(conn: &mut DbConnection, patient_id: &str) -> Result<Vec<(String, i32)>, AppError> {
    Ok(treatments::table
        .filter(treatments::patient_id.eq(patient_id))
        .select((treatments::protocol_id, treatments::protocol_version))
        .distinct()
        .load(conn)?)
}

/// Whether the caller may read this version: everyone the standard ones; staff their clinic's,
/// drafts included; a patient the published versions of their clinic their treatments use.
fn may_read(conn: &mut DbConnection, caller: &Caller, row: &ProtocolRow) -> Result<bool, AppError> {
    let Some(owner) = &row.clinic_id else { return Ok(true) };
    if *owner != caller.clinic_id {
        return Ok(false);
    }
    if caller.role != Role::Patient {
        return Ok(true);
    }
    Ok(row.status == PUBLISHED && used_by_patient(conn, &caller.user_id)?.contains(&(row.id.clone(), row.version)))
}

/// A version the caller may read, without its document.
pub fn find(conn: &mut DbConnection, caller: &Caller, id: &str, version: i32) -> Result<Option<ProtocolRow>, AppError> {
    let row: Option<ProtocolRow> =
        protocols::table.find((id, version)).select(ProtocolRow::as_select()).first(conn).optional()?;
    match row {
        Some(row) if may_read(conn, caller, &row)? => Ok(Some(row)),
        _ => Ok(None),
    }
}

/// A version the caller may read, and its document.
pub fn find_document(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    version: i32,
) -> Result<Option<(ProtocolRow, String)>, AppError> {
    let Some(row) = find(conn, caller, id, version)? else { return Ok(None) };
    let document = protocols::table.find((id, version)).select(protocols::document).first(conn)?;
    Ok(Some((row, document)))
}

/// Every version the caller may read: the standard ones, then the clinic's, oldest first.
pub fn catalogue(conn: &mut DbConnection, caller: &Caller) -> Result<Vec<ProtocolRow>, AppError> {
    let rows: Vec<ProtocolRow> = protocols::table
        .filter(protocols::clinic_id.is_null().or(protocols::clinic_id.eq(&caller.clinic_id)))
        .order((protocols::clinic_id.is_not_null(), protocols::id, protocols::version))
        .select(ProtocolRow::as_select())
        .load(conn)?;
    if caller.role != Role::Patient {
        return Ok(rows);
    }
    let used = used_by_patient(conn, &caller.user_id)?;
    Ok(rows
        .into_iter()
        .filter(|row| {
            row.clinic_id.is_none() || (row.status == PUBLISHED && used.contains(&(row.id.clone(), row.version)))
        })
        .collect())
}
