//! What a client proves who it is with: an email and password, a token, an invitation.

pub const MIN_PASSWORD_CHARS: usize = 12;
/// Upper bound so a huge "password" cannot make hashing a denial of service.
pub const MAX_PASSWORD_CHARS: usize = 512;
/// A login as the client sent it: the email trimmed and lowercased (a malformed one simply finds
/// no account), the password as typed.
pub struct LoginAttempt {
    pub email: String,
    pub password: String,
    pub clinic_id: Option<String>,
}

/// A refresh token presented to be spent or revoked.
pub struct PresentedToken(pub String);

/// An invitation token with the password its account is to have.
pub struct Activation {
    pub invite_token: String,
    pub password: String,
}

/// The caller's current password, and the one it is to become.
pub struct PasswordChange {
    pub current: String,
    pub new: String,
}

/// "I forgot my password": the address (trimmed, lowercased) and, for an address with accounts at
/// several clinics, which one.
pub struct ResetRequest {
    pub email: String,
    pub clinic_id: Option<String>,
}

/// A password reset token from the e-mail, with the new password.
pub struct PasswordReset {
    pub token: String,
    pub password: String,
}

/// One line of text from a client (tokens, a login email): no control characters at all.
/// PostgreSQL cannot store NUL, and the others have no business in a single-line value.
pub fn parse_line(raw: String) -> Result<String, String> {
    if raw.is_empty() {
        Err("must not be empty".into())
    } else if raw.chars().any(char::is_control) {
        Err("must not contain control characters".into())
    } else {
        Ok(raw)
    }
}

/// A password as typed: compared as given, never stored or shown, so only NUL is refused (some
/// hashing libraries stop at it).
pub fn parse_secret(raw: String) -> Result<String, String> {
    if raw.is_empty() {
        Err("must not be empty".into())
    } else if raw.contains('\0') {
        Err("must not contain the NUL character".into())
    } else {
        Ok(raw)
    }
}

pub fn parse_new_password(raw: String) -> Result<String, String> {
    let chars = raw.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Err(format!("must be at least {MIN_PASSWORD_CHARS} characters"))
    } else if chars > MAX_PASSWORD_CHARS {
        Err(format!("must be at most {MAX_PASSWORD_CHARS} characters"))
    } else {
        parse_secret(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_secrets_refuse_what_cannot_be_stored() {
        assert!(parse_line("a\nb".into()).is_err());
        assert!(parse_secret("pass\tword".into()).is_ok());
        assert!(parse_secret("pass\0word".into()).is_err());
    }

    #[test]
    fn passwords_have_a_floor_and_a_ceiling() {
        assert!(parse_new_password("short".into()).is_err());
        assert!(parse_new_password("twelve chars".into()).is_ok());
        assert!(parse_new_password("x".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
    }
}
