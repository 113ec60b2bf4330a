//! Access tokens (JWT, HS256) and the opaque random tokens used for refresh and invitations.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::Role;
use crate::error::AppError;

pub const ISSUER: &str = "aftercare";
pub const AUDIENCE: &str = "aftercare-api";
pub const ACCESS_TYPE: &str = "access";
/// Clock skew tolerated between replicas, in seconds.
const LEEWAY_SECS: u64 = 5;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub typ: String,
    pub role: Role,
    pub clinic: String,
    /// The account's credentials version when the token was issued (`models::users`); tokens from
    /// before it was introduced carry none and count as 0.
    #[serde(default)]
    pub cv: i64,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Derives a refresh token's successor and mailed tokens (see `successor_of`, `mailed_token`).
    successors: ring::hmac::Key,
    pub access_ttl: Duration,
}

impl TokenKeys {
    pub fn new(secret: &[u8], access_ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            successors: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret),
            access_ttl,
        }
    }

    /// The refresh token that spending `presented` issues. It is derived (HMAC under the server's
    /// secret), not drawn at random, so that a refresh retried after its answer was lost can be
    /// given the same successor again without the server ever storing a token: the database keeps
    /// only hashes. Without the secret nobody can compute it.
    pub fn successor_of(&self, presented: &str) -> String {
        self.derive(b"aftercare refresh successor v1\0", presented)
    }

    /// The one-time token (an invitation, a password reset) that an e-mail carries, derived from
    /// the token's `nonce` the same way: the outbox keeps the nonce, the token table its hash, and
    /// only a holder of the secret can turn either into the token when the message is composed.
    pub fn mailed_token(&self, nonce: &str) -> String {
        self.derive(b"aftercare mailed token v1\0", nonce)
    }

    fn derive(&self, label: &[u8], input: &str) -> String {
        let mut context = ring::hmac::Context::with_key(&self.successors);
        context.update(label);
        context.update(input.as_bytes());
        URL_SAFE_NO_PAD.encode(context.sign().as_ref())
    }

    pub fn issue(&self, user: &crate::models::users::User, now: DateTime<Utc>) -> String {
        self.issue_for(&user.id, user.role, &user.clinic_id, user.credentials_version, now)
    }

    pub fn issue_for(
        &self,
        user_id: &str,
        role: Role,
        clinic_id: &str,
        credentials_version: i64,
        now: DateTime<Utc>,
    ) -> String {
        let iat = now.timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user_id.into(),
            exp: iat + self.access_ttl.as_secs() as i64,
            iat,
            nbf: iat,
            typ: ACCESS_TYPE.into(),
            role,
            clinic: clinic_id.into(),
            cv: credentials_version,
        };
        self.sign(&claims)
    }

    /// Signs any claims with this key (tests use it to forge tokens with bad claims).
    pub fn sign(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail")
    }

    /// Checks signature, algorithm, issuer, audience, expiry, not-before, issued-at and type.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, AppError> {
        if has_critical_extensions(token) {
            return Err(AppError::Unauthorized);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| AppError::Unauthorized)?;
        let claims = data.claims;
        let issued_in_future = claims.iat > now.timestamp() + LEEWAY_SECS as i64;
        if claims.typ != ACCESS_TYPE || issued_in_future {
            return Err(AppError::Unauthorized);
        }
        Ok(claims)
    }
}

/// Whether the token's protected header names extensions the recipient must understand (`crit`,
/// RFC 7515 §4.1.11). This server understands none, so such a token must be refused; the JWT
/// library ignores the parameter, hence this look at the header itself. An unreadable header
/// counts as critical too: the library would refuse it anyway.
fn has_critical_extensions(token: &str) -> bool {
    let Some(header) = token.split('.').next() else { return true };
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(header) else { return true };
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(fields)) => fields.contains_key("crit"),
        _ => true,
    }
}

/// 256 random bits, URL-safe: refresh tokens, invitation tokens, ephemeral secrets.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database stores of an opaque token: its SHA-256, never the token itself.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(&[7u8; 32], Duration::from_secs(900))
    }

    #[test]
    fn issued_tokens_verify() {
        let now = Utc::now();
        let token = keys().issue_for("u1", Role::Clinician, "c1", 0, now);
        let claims = keys().verify(&token, now).unwrap();
        assert_eq!((claims.sub.as_str(), claims.role, claims.clinic.as_str()), ("u1", Role::Clinician, "c1"));
        assert_eq!(claims.exp - claims.iat, 900);
    }

    #[test]
    fn bad_tokens_are_refused() {
        let now = Utc::now();
        let good = keys().issue_for("u1", Role::Admin, "c1", 0, now);
        let other_key = TokenKeys::new(&[8u8; 32], Duration::from_secs(900));
        assert!(other_key.verify(&good, now).is_err(), "wrong key");

        let mut claims = keys().verify(&good, now).unwrap();
        claims.typ = "refresh".into();
        assert!(keys().verify(&keys().sign(&claims), now).is_err(), "wrong type");

        let mut claims = keys().verify(&good, now).unwrap();
        claims.exp = now.timestamp() - 60;
        assert!(keys().verify(&keys().sign(&claims), now).is_err(), "expired");

        let mut claims = keys().verify(&good, now).unwrap();
        claims.nbf = now.timestamp() + 3600;
        assert!(keys().verify(&keys().sign(&claims), now).is_err(), "not yet valid");

        let mut claims = keys().verify(&good, now).unwrap();
        claims.aud = "someone-else".into();
        assert!(keys().verify(&keys().sign(&claims), now).is_err(), "wrong audience");

        let unsigned =
            format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#), good.split('.').nth(1).unwrap());
        assert!(keys().verify(&unsigned, now).is_err(), "alg none");

        let (_, rest) = good.split_once('.').unwrap();
        let payload = rest.split('.').next().unwrap();
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT","crit":["exp"]}"#);
        let message = format!("{header}.{payload}");
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &EncodingKey::from_secret(&[7u8; 32]), Algorithm::HS256)
                .unwrap();
        assert!(keys().verify(&format!("{message}.{signature}"), now).is_err(), "crit header");
    }

    #[test]
    fn opaque_tokens_are_random_and_hashed() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
    }
}
