//! E-mail: what the service writes to people (`Letter`), and how a message leaves (`Mailer`: SMTP
//! through lettre, or a folder when no SMTP server is configured). Messages are not sent by the
//! request that causes them: the request writes them to the outbox (`models::outbox`) in its own
//! transaction, and each replica's delivery worker (`worker`) sends what is due.

pub mod worker;

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::{Message, SmtpTransport, Transport};
use serde::{Deserialize, Serialize};

use crate::auth::tokens::TokenKeys;
use crate::config::MailSettings;
use crate::error::StartupError;
use crate::language::Language;

/// Every kind of message, with what its text is composed from. Stored as the outbox row's payload;
/// a token is never part of it, only the nonce it is derived from under the server's secret.
/// No letter carries health details: an alert is a link to the check-in, behind a login.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Letter {
    Invitation {
        name: String,
        clinic: String,
        nonce: String,
        /// The patient's preferred language; absent (English) for staff and in letters written
        /// before languages were.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<Language>,
    },
    PasswordReset {
        name: String,
        nonce: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<Language>,
    },
    PasswordChanged {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<Language>,
    },
    UrgentCheckIn {
        check_in_id: String,
    },
}

impl Letter {
    /// The kind of the letters delivered before any other.
    pub const URGENT_KIND: &'static str = "urgent_check_in";

    pub fn kind(&self) -> &'static str {
        match self {
            Letter::Invitation { .. } => "invitation",
            Letter::PasswordReset { .. } => "password_reset",
            Letter::PasswordChanged { .. } => "password_changed",
            Letter::UrgentCheckIn { .. } => Letter::URGENT_KIND,
        }
    }

    /// The language the letter is written in.
    pub fn language(&self) -> Language {
        match self {
            Letter::Invitation { language, .. }
            | Letter::PasswordReset { language, .. }
            | Letter::PasswordChanged { language, .. } => language.unwrap_or(Language::En),
            Letter::UrgentCheckIn { .. } => Language::En,
        }
    }

    pub fn subject(&self) -> String {
        if self.language() == Language::Es {
            match self {
                Letter::Invitation { clinic, .. } => return format!("{clinic} le invita a Aftercare"),
                Letter::PasswordReset { .. } => return "Elija una nueva contraseña de Aftercare".into(),
                Letter::PasswordChanged { .. } => return "Se ha cambiado su contraseña de Aftercare".into(),
                Letter::UrgentCheckIn { .. } => {}
            }
        }
        match self {
            Letter::Invitation { clinic, .. } => format!("{clinic} invites you to Aftercare"),
            Letter::PasswordReset { .. } => "Choose a new Aftercare password".into(),
            Letter::PasswordChanged { .. } => "Your Aftercare password was changed".into(),
            Letter::UrgentCheckIn { .. } => "A check-in needs urgent review".into(),
        }
    }

    /// The plain-text body, with its links under `base_url`.
    pub fn body(&self, keys: &TokenKeys, base_url: &str) -> String {
        if self.language() == Language::Es {
            match self {
                Letter::Invitation { name, clinic, nonce, .. } => {
                    return format!(
                        "Hola, {name}:\n\n{clinic} le ha creado una cuenta de Aftercare para seguir su recuperación \
                         y recordarle sus cuidados.\n\nElija su contraseña aquí (el enlace sirve una sola vez):\n\n  \
                         {base_url}/activate#invite_token={token}\n\nSi no esperaba este mensaje, ignórelo.\n",
                        token = keys.mailed_token(nonce),
                    );
                }
                Letter::PasswordReset { name, nonce, .. } => {
                    return format!(
                        "Hola, {name}:\n\nAlguien ha pedido restablecer la contraseña de su cuenta de Aftercare. Si \
                         ha sido usted, elija una nueva aquí (el enlace sirve una sola vez y caduca pronto):\n\n  \
                         {base_url}/reset-password#token={token}\n\nSi no ha sido usted, ignore este mensaje: su \
                         contraseña no cambia.\n",
                        token = keys.mailed_token(nonce),
                    );
                }
                Letter::PasswordChanged { name, .. } => {
                    return format!(
                        "Hola, {name}:\n\nAcaba de cambiarse la contraseña de su cuenta de Aftercare y se ha cerrado \
                         la sesión en los demás dispositivos. Si no ha sido usted, pida enseguida un \
                         restablecimiento de contraseña y avise a su clínica.\n"
                    );
                }
                Letter::UrgentCheckIn { .. } => {}
            }
        }
        match self {
            Letter::Invitation { name, clinic, nonce, .. } => format!(
                "Hello {name},\n\n{clinic} has set up an Aftercare account for you, to follow your recovery and \
                 remind you of your aftercare.\n\nChoose your password here (the link works once):\n\n  \
                 {base_url}/activate#invite_token={token}\n\nIf you were not expecting this, ignore this message.\n",
                token = keys.mailed_token(nonce),
            ),
            Letter::PasswordReset { name, nonce, .. } => format!(
                "Hello {name},\n\nSomeone asked to reset the password of your Aftercare account. If it was you, \
                 choose a new password here (the link works once and expires soon):\n\n  \
                 {base_url}/reset-password#token={token}\n\nIf it was not you, ignore this message: your \
                 password stays as it is.\n",
                token = keys.mailed_token(nonce),
            ),
            Letter::PasswordChanged { name, .. } => format!(
                "Hello {name},\n\nThe password of your Aftercare account has just been changed, and every other \
                 device signed out. If you did not do this, ask for a password reset at once and tell your \
                 clinic.\n"
            ),
            Letter::UrgentCheckIn { check_in_id } => format!(
                "A patient's check-in shows signs that need urgent review.\n\nOpen it (sign-in required):\n\n  \
                 {base_url}/console/check-ins/{check_in_id}\n\nThis message holds no health details by design.\n"
            ),
        }
    }
}

/// Why a message could not be handed over. A permanent failure is not retried.
#[derive(Debug)]
pub struct Failure {
    pub permanent: bool,
    pub reason: String,
}

/// Where messages go.
pub enum Mailer {
    Smtp(Box<SmtpTransport>),
    /// No SMTP server configured (the default, for development): each message is written to this
    /// folder as an `.eml` file.
    Folder(PathBuf),
}

const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

impl Mailer {
    pub fn from_settings(settings: &MailSettings) -> Result<Mailer, StartupError> {
        match &settings.smtp_url {
            Some(url) => {
                let transport = SmtpTransport::from_url(url)
                    .map_err(|e| StartupError::Config(format!("SMTP_URL is not a usable SMTP URL: {e}")))?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build();
                Ok(Mailer::Smtp(Box::new(transport)))
            }
            None => Ok(Mailer::Folder(settings.folder.clone())),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp(_) => "SMTP (SMTP_URL)".into(),
            Mailer::Folder(folder) => format!("the folder {} (no SMTP_URL set)", folder.display()),
        }
    }

    /// Hands one message over. Blocking: call it on the blocking pool.
    pub fn send(&self, message: &Message, file_name: &str) -> Result<(), Failure> {
        match self {
            Mailer::Smtp(transport) => transport
                .send(message)
                .map(|_| ())
                .map_err(|e| Failure { permanent: e.is_permanent(), reason: format!("SMTP: {e}") }),
            Mailer::Folder(folder) => {
                let written = std::fs::create_dir_all(folder).and_then(|()| {
                    // Written aside and renamed, so a reader never sees half a message.
                    let path = folder.join(format!("{file_name}.eml"));
                    let partial = folder.join(format!(".{file_name}.partial"));
                    write_private(&partial, &message.formatted())?;
                    std::fs::rename(&partial, &path)?;
                    Ok(path)
                });
                match written {
                    Ok(path) => {
                        tracing::info!(path = %path.display(), "e-mail written to the mail folder (no SMTP_URL set)");
                        Ok(())
                    }
                    Err(e) => Err(Failure { permanent: false, reason: format!("mail folder: {e}") }),
                }
            }
        }
    }
}

/// Writes a file only its owner may read: it holds a single-use link.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// The message itself: plain text, with a `Message-ID` fixed by the outbox row, so that a message a
/// crash made the worker hand over twice is recognisably the same message to mail software.
pub fn build(from: &str, to: &str, subject: &str, body: String, outbox_id: &str) -> Result<Message, Failure> {
    let permanent = |what: &str, e: &dyn std::fmt::Display| Failure { permanent: true, reason: format!("{what}: {e}") };
    Message::builder()
        .from(from.parse().map_err(|e| permanent("MAIL_FROM is not an address", &e))?)
        .to(to.parse().map_err(|e| permanent("the recipient is not an address", &e))?)
        .subject(subject)
        .message_id(Some(format!("<{outbox_id}@aftercare>")))
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| permanent("the message cannot be built", &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_round_trip_through_their_payload_and_name_their_kind() {
        let letter = Letter::UrgentCheckIn { check_in_id: "c1".into() };
        let payload = serde_json::to_string(&letter).unwrap();
        assert!(payload.contains(r#""kind":"urgent_check_in""#));
        assert_eq!(serde_json::from_str::<Letter>(&payload).unwrap(), letter);
    }

    #[test]
    fn letters_to_a_spanish_speaker_are_in_spanish_and_old_payloads_in_english() {
        let es = Some(Language::Es);
        let reset = Letter::PasswordReset { name: "Ana".into(), nonce: "n1".into(), language: es };
        assert_eq!(reset.subject(), "Elija una nueva contraseña de Aftercare");
        let changed = Letter::PasswordChanged { name: "Ana".into(), language: es };
        assert_eq!(changed.subject(), "Se ha cambiado su contraseña de Aftercare");
        let payload = serde_json::to_string(&changed).unwrap();
        assert_eq!(serde_json::from_str::<Letter>(&payload).unwrap(), changed);
        let old: Letter = serde_json::from_str(r#"{"kind":"password_reset","name":"Ana","nonce":"n1"}"#).unwrap();
        assert_eq!(old.language(), Language::En);
        assert!(!serde_json::to_string(&old).unwrap().contains("language"), "English letters keep their payload");
    }

    #[test]
    fn mailed_links_carry_the_derived_token_and_payloads_never_do() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef", Duration::from_secs(60));
        let letter = Letter::PasswordReset { name: "Ana".into(), nonce: "n1".into(), language: None };
        let token = keys.mailed_token("n1");
        assert!(letter.body(&keys, "https://care.example").contains(&format!("#token={token}")));
        assert!(!serde_json::to_string(&letter).unwrap().contains(&token));
    }
}
