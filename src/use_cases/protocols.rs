//! Protocols: the catalogue (the standard versions and the clinic's own), one version's document,
//! and a clinic administrator's drafts and their publication.

use std::collections::HashMap;
use std::sync::Arc;

use crate::auth::{Admin, Caller};
use crate::domain::Role;
use crate::error::{AppError, FieldError};
use crate::language::{Language, Requested};
use crate::models::patients;
use crate::models::protocols::{self, ProtocolRow};
use crate::plan::Protocol;
use crate::state::SharedState;

/// A stored version as the caller sees it.
pub struct Listed {
    pub row: ProtocolRow,
    /// Whether new screenings and treatments of the caller's clinic use this version now.
    pub current: bool,
}

/// A version and its document.
pub struct Detailed {
    pub listed: Listed,
    pub document: serde_json::Value,
    /// The language of the document's texts.
    pub language: Language,
}

fn listed(row: ProtocolRow, current: &Protocol) -> Listed {
    let is_current = row.id == current.id && row.version == current.version;
    Listed { row, current: is_current }
}

/// Every version the caller may read, each marked if it is the one the caller's clinic uses now.
pub async fn catalogue(state: &SharedState, caller: Caller) -> Result<Vec<Listed>, AppError> {
    let state = state.clone();
    state
        .clone()
        .db
        .run(move |conn| {
            let current = state.protocols.current_for(conn, &caller.clinic_id)?;
            Ok(protocols::catalogue(conn, &caller)?.into_iter().map(|row| listed(row, &current)).collect())
        })
        .await
}

/// One version and its document, if the caller may read it (404 otherwise), in the language
/// chosen (`crate::language`): in English the document as stored, its `translations` included;
/// in another language it has, the document with its texts in that language and no
/// `translations`.
pub async fn get(
    state: &SharedState,
    caller: Caller,
    id: String,
    version: i32,
    requested: Requested,
) -> Result<Detailed, AppError> {
    let state = state.clone();
    state
        .clone()
        .db
        .read(move |conn| {
            let (row, document) = protocols::find_document(conn, &caller, &id, version)?.ok_or(AppError::NotFound)?;
            let current = state.protocols.current_for(conn, &caller.clinic_id)?;
            let language = requested.or(patients::preferred_language(conn, &caller)?);
            let protocol = state.protocols.get(conn, &id, version)?;
            let (document, language) = match protocol.answers_in(language) {
                Language::En => (serde_json::from_str(&document).map_err(AppError::internal)?, Language::En),
                other => (serde_json::to_value(protocol.localized(other)).map_err(AppError::internal)?, other),
            };
            Ok(Detailed { listed: listed(row, &current), document, language })
        })
        .await
}

/// Translates what a check-in stores in English at read time: its reasons (`code`, `message`).
pub struct Reasons {
    /// The language chosen for the caller.
    pub language: Language,
    /// The protocol versions the check-ins were judged with, by (id, version).
    protocols: HashMap<(String, i32), Arc<Protocol>>,
}

impl Reasons {
    /// A reason's message in the chosen language, from the translation of its rule (`rule.<code>.message`)
    /// in the version the check-in was judged with, and the language it is in: the stored English
    /// message when that version has no translation to the language.
    pub fn message(&self, id: &str, version: i32, code: &str, english: String) -> (String, Language) {
        let translated = self.protocols.get(&(id.to_string(), version)).and_then(|protocol| {
            let translation = protocol.translations.get(self.language.as_str())?;
            translation.get(&format!("rule.{code}.message")).cloned()
        });
        match translated {
            Some(text) => (text, self.language),
            None => (english, Language::En),
        }
    }
}

/// What translates the reasons of check-ins judged with these versions for the caller: the
/// request's language, else a patient caller's preferred language, else English.
pub async fn reasons(
    state: &SharedState,
    caller: Caller,
    versions: Vec<(String, i32)>,
    requested: Requested,
) -> Result<Reasons, AppError> {
    if requested.0 == Some(Language::En) || (requested.0.is_none() && caller.role != Role::Patient) {
        return Ok(Reasons { language: Language::En, protocols: HashMap::new() });
    }
    let state = state.clone();
    state
        .clone()
        .db
        .read(move |conn| {
            let preferred = if requested.0.is_none() { patients::preferred_language(conn, &caller)? } else { None };
            let language = requested.or(preferred);
            let mut protocols = HashMap::new();
            if language != Language::En {
                for (id, version) in versions {
                    let protocol = state.protocols.get(conn, &id, version)?;
                    protocols.insert((id, version), protocol);
                }
            }
            Ok(Reasons { language, protocols })
        })
        .await
}

/// Checks `document` as a protocol of the admin's clinic (the checks every shipped protocol
/// passes, and the clinical floor: every urgent sign of the standard protocol kept; 422 naming what
/// is wrong) and stores it as a draft, the next version of the clinic's
/// line. The document's own `id` and `version`, if any, are replaced by the clinic's.
pub async fn create_draft(
    state: &SharedState,
    caller: Admin,
    mut document: serde_json::Map<String, serde_json::Value>,
) -> Result<Detailed, AppError> {
    if let Some(at) = control_character_at(&serde_json::Value::Object(document.clone()), "document") {
        return Err(AppError::invalid(
            "document",
            format!("{at} holds a control character (texts are one line, printable)"),
        ));
    }
    document.insert("id".into(), protocols::clinic_protocol_id(&caller.clinic_id).into());
    document.insert("version".into(), 1.into());
    let text = serde_json::Value::Object(document).to_string();
    let refused = |message: String| {
        let message = message.trim_start_matches("protocol document: ").to_string();
        AppError::Validation(vec![FieldError { field: "document".into(), message }])
    };
    let mut protocol = Protocol::parse(&text).map_err(refused)?;
    protocol.keeps_urgent_signs_of(&state.protocols.current()).map_err(refused)?;
    let state = state.clone();
    state
        .clone()
        .db
        .write(move |conn| {
            let row = protocols::create_draft(conn, &caller, &mut protocol)?;
            let current = state.protocols.current_for(conn, &caller.clinic_id)?;
            let document = serde_json::to_value(&protocol).map_err(AppError::internal)?;
            Ok(Detailed { listed: listed(row, &current), document, language: Language::En })
        })
        .await
}

/// Publishes a draft of the admin's clinic: from now on new screenings and treatments of the
/// clinic use it, unless a newer version is published. 409 when it is already published.
pub async fn publish(state: &SharedState, caller: Admin, id: String, version: i32) -> Result<Listed, AppError> {
    let state = state.clone();
    state
        .clone()
        .db
        .write(move |conn| {
            let row = protocols::publish(conn, &caller, &id, version)?;
            let current = state.protocols.current_for(conn, &caller.clinic_id)?;
            Ok(listed(row, &current))
        })
        .await
}

/// Where in `value` a string or a key holds a control character (NUL, line breaks, escapes...),
/// as a path: the texts of a protocol are shown to patients as they are, one line each, and NUL
/// cannot be stored in PostgreSQL text.
fn control_character_at(value: &serde_json::Value, at: &str) -> Option<String> {
    let odd = |s: &str| s.chars().any(char::is_control);
    match value {
        serde_json::Value::String(s) => odd(s).then(|| at.to_string()),
        serde_json::Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, item)| control_character_at(item, &format!("{at}[{i}]")))
        }
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            if odd(key) {
                return Some(format!("{at}: a key"));
            }
            control_character_at(item, &format!("{at}.{key}"))
        }),
        _ => None,
    }
}
