//! Who a person is to the clinic: a name to show and an email address to reach them at.
//! Their constructors are the only way to make them, so a value of either type is valid.

use std::fmt;

use super::{MAX_EMAIL_CHARS, MAX_NAME_CHARS, Role};

/// A person's name as shown to staff: trimmed, visible, at most `MAX_NAME_CHARS` characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    /// The document says the same with a pattern on every name field.
    pub fn parse(raw: String) -> Result<PersonName, String> {
        if raw.chars().count() > MAX_NAME_CHARS {
            Err(format!("must be at most {MAX_NAME_CHARS} characters"))
        } else if raw.chars().any(char::is_control) {
            Err("must not contain control characters".into())
        } else if raw.chars().any(is_invisible) {
            Err(INVISIBLE_REFUSED.into())
        } else if raw.chars().all(char::is_whitespace) {
            Err("must not be empty".into())
        } else {
            Ok(PersonName(raw.trim().to_string()))
        }
    }
}

/// An email address, trimmed and lowercased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// A deliberately plain check: one `@`, something before it, a dotted domain after it. The
    /// real proof that an address works is the invitation reaching its owner.
    pub fn parse(raw: String) -> Result<EmailAddress, String> {
        let email = raw.trim().to_lowercase();
        let shape_ok = match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
        if email.chars().count() > MAX_EMAIL_CHARS {
            Err(format!("must be at most {MAX_EMAIL_CHARS} characters"))
        } else if !shape_ok || email.chars().any(|c| c.is_whitespace() || c.is_control() || is_invisible(c)) {
            Err("must be an email address such as name@example.com".into())
        } else {
            Ok(EmailAddress(email))
        }
    }
}

/// A clinician or administrator to invite to the caller's clinic.
pub struct StaffInvitation {
    pub name: PersonName,
    pub email: EmailAddress,
    pub role: Role,
}

macro_rules! text_value {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_value!(PersonName);
text_value!(EmailAddress);

const INVISIBLE_REFUSED: &str =
    "must not contain invisible formatting characters (such as direction overrides or zero-width spaces)";

/// Characters that change how text reads without being seen: Unicode's format characters
/// (category Cf: direction marks, embeddings, overrides and isolates, zero-width spaces and
/// joiners, the byte order mark, tags...), the line and paragraph separators, and the Hangul
/// fillers that render as nothing. Names and emails refuse them, so what a clinician sees is what
/// is stored.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{890}'..='\u{891}'
            | '\u{8e2}'
            | '\u{115f}'..='\u{1160}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{3164}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0001}'
            | '\u{e0020}'..='\u{e007f}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised() {
        assert_eq!(EmailAddress::parse(" Ana@Clinic.Example ".into()).unwrap().as_str(), "ana@clinic.example");
        for bad in ["ana", "@clinic.example", "ana@clinic", "a b@c.d", "a@b@c.d", "a@.c"] {
            assert!(EmailAddress::parse(bad.into()).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_refuse_what_cannot_be_seen() {
        assert_eq!(PersonName::parse("  Zoë O'Brien  ".into()).unwrap().as_str(), "Zoë O'Brien");
        assert!(PersonName::parse("李小龙".into()).is_ok());
        for bad in ["Eve\u{202e}lin", "\u{200b}Ann", "Ann\u{feff}", "A\u{2066}B\u{2069}", "Bob\u{e0041}", "x\0y"] {
            assert!(PersonName::parse(bad.into()).is_err(), "{bad:?}");
            assert!(EmailAddress::parse(format!("{bad}@mail.test")).is_err(), "{bad:?}");
        }
    }
}
