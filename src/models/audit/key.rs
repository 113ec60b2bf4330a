//! The audit key: the secret the chain's HMACs and the checkpoints' MACs are computed with. The
//! database never holds it, so someone who can write the database cannot recompute the chain.
//!
//! Where it comes from, in order: `AUDIT_KEY`; else derived from `JWT_SECRET` under a label of its
//! own (HMAC-SHA256, so the JWT secret cannot be recovered from it nor it from a token); else, in
//! development, a random key kept in `aftercare-audit.key` beside the SQLite database (the working
//! directory for PostgreSQL), created on first start. `audit verify` resolves it the same way but
//! never creates the file.

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::RngCore;
use ring::hmac;

use crate::config::Settings;
use crate::db::Target;
use crate::error::StartupError;

const DERIVATION_LABEL: &[u8] = b"aftercare audit chain key v1";
pub const KEY_FILE: &str = "aftercare-audit.key";

#[derive(Clone)]
pub struct AuditKey {
    key: hmac::Key,
    /// A public fingerprint, written in checkpoints, so a verifier can tell a wrong key from tampering.
    id: String,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl AuditKey {
    pub fn new(secret: &[u8]) -> AuditKey {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let id = hex::encode(&hmac::sign(&key, b"aftercare audit key id").as_ref()[..8]);
        AuditKey { key, id }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// HMAC-SHA256 of `parts`, in hex.
    pub fn mac(&self, parts: &[&[u8]]) -> String {
        let mut context = hmac::Context::with_key(&self.key);
        for part in parts {
            context.update(part);
        }
        hex::encode(context.sign().as_ref())
    }

    /// Whether `mac_hex` is the HMAC of `message` (compared in constant time).
    pub fn verify(&self, message: &[u8], mac_hex: &str) -> bool {
        hex::decode(mac_hex).is_ok_and(|tag| hmac::verify(&self.key, message, &tag).is_ok())
    }

    /// The server's key; in development (no `AUDIT_KEY`, no `JWT_SECRET`) creates the key file.
    pub fn for_server(settings: &Settings) -> Result<AuditKey, StartupError> {
        Self::resolve(settings, true)
    }

    /// The key `audit verify` checks with: the same as the server's, never a new one.
    pub fn for_verify(settings: &Settings) -> Result<AuditKey, StartupError> {
        Self::resolve(settings, false)
    }

    fn resolve(settings: &Settings, create: bool) -> Result<AuditKey, StartupError> {
        if let Some(key) = &settings.audit_key {
            return Ok(AuditKey::new(key));
        }
        if let Some(secret) = &settings.jwt_secret {
            let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), DERIVATION_LABEL);
            return Ok(AuditKey::new(derived.as_ref()));
        }
        let path = beside_database(&settings.database_url, KEY_FILE);
        let secret = key_file(&path, create)
            .map_err(|e| StartupError::Config(format!("audit key file {}: {e}", path.display())))?;
        tracing::warn!(
            path = %path.display(),
            "AUDIT_KEY and JWT_SECRET are not set: the audit chain is keyed by a key file beside the \
             database. Anyone who can read it can rewrite the chain undetected; set AUDIT_KEY in production."
        );
        Ok(AuditKey::new(&secret))
    }
}

/// Reads the development key file, or creates it (owner-only) when `create` and it is missing.
fn key_file(path: &Path, create: bool) -> std::io::Result<Vec<u8>> {
    match std::fs::read_to_string(path) {
        Ok(text) => hex::decode(text.trim()).map_err(|_| std::io::Error::other("not a hex key")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            let mut secret = vec![0_u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut secret);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(path) {
                Ok(mut file) => {
                    file.write_all(hex::encode(&secret).as_bytes())?;
                    file.sync_all()?;
                    Ok(secret)
                }
                // Another process created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => key_file(path, false),
                Err(e) => Err(e),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(std::io::Error::other(
            "missing: set AUDIT_KEY (or JWT_SECRET) as the server has it, or run where the server's key file is",
        )),
        Err(e) => Err(e),
    }
}

/// `name` in the SQLite database's directory, or in the working directory for PostgreSQL.
pub fn beside_database(database_url: &str, name: &str) -> PathBuf {
    match Target::parse(database_url) {
        Target::Sqlite(file) => Path::new(&file).with_file_name(name),
        Target::Postgres(_) => PathBuf::from(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_differ_by_secret_and_from_the_secret_itself() {
        let settings = |secret: &str| {
            let mut s = Settings::from_lookup(|_| None).unwrap();
            s.jwt_secret = Some(secret.as_bytes().to_vec());
            s
        };
        let a = AuditKey::for_verify(&settings("a-secret-a-secret-a-secret-a-secret")).unwrap();
        let b = AuditKey::for_verify(&settings("b-secret-b-secret-b-secret-b-secret")).unwrap();
        assert_ne!(a.id(), b.id());
        assert_ne!(a.id(), AuditKey::new(b"a-secret-a-secret-a-secret-a-secret").id());
        let mut explicit = settings("a-secret-a-secret-a-secret-a-secret");
        explicit.audit_key = Some(b"an audit key of thirty-two bytes!!".to_vec());
        assert_ne!(AuditKey::for_verify(&explicit).unwrap().id(), a.id());
    }

    #[test]
    fn the_development_key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::from_lookup(|_| None).unwrap();
        settings.database_url = format!("sqlite://{}", dir.path().join("x.db").display());
        assert!(AuditKey::for_verify(&settings).is_err(), "verify never makes a key up");
        let created = AuditKey::for_server(&settings).unwrap();
        assert_eq!(AuditKey::for_server(&settings).unwrap().id(), created.id());
        assert_eq!(AuditKey::for_verify(&settings).unwrap().id(), created.id());
        assert!(dir.path().join(KEY_FILE).exists());
    }
}
