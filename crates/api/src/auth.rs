//! Accounts: opaque API tokens per participant, stored only as SHA-256 hashes, and the [`Caller`]
//! extractor that every authenticated route takes.
//!
//! A token is `lvd_` followed by 64 hex digits of operating-system randomness (256 bits). Such a
//! token cannot be guessed, so a fast hash is enough to store it (a slow password hash such as
//! argon2 protects low-entropy passwords and would cost milliseconds on every request).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use domain::{Participant, Role};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;

/// A new random token, as shown once to its holder.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system has a random source");
    let mut token = String::with_capacity(68);
    token.push_str("lvd_");
    for b in bytes {
        token.push_str(&format!("{b:02x}"));
    }
    token
}

/// The SHA-256 of a token: what the store keeps.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The authenticated participant of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub Participant);

impl Caller {
    /// The participant.
    pub fn participant(&self) -> &Participant {
        &self.0
    }

    /// The caller's role.
    pub fn role(&self) -> Role {
        self.0.role
    }

    /// Whether the caller sees everything a read route shows: the operator and the regulator.
    pub fn is_insider(&self) -> bool {
        is_insider(self.0.role)
    }

    /// Refuses with 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role], action: &str) -> Result<(), ApiError> {
        if roles.contains(&self.0.role) {
            Ok(())
        } else {
            let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::forbidden(format!(
                "a {} may not {action} (allowed: {})",
                self.0.role,
                allowed.join(", ")
            )))
        }
    }
}

/// Whether a role sees everything a read route shows (spec §7): the operator runs the market,
/// the regulator reads all.
pub fn is_insider(role: Role) -> bool {
    matches!(role, Role::Operator | Role::Regulator)
}

/// The roles that trade: sellers (generator, aggregator) and buyers (user, retailer).
pub const TRADERS: [Role; 4] = [
    Role::Generator,
    Role::Aggregator,
    Role::User,
    Role::Retailer,
];

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Caller, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::unauthorized("missing `Authorization: Bearer <token>` header")
            })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
            })?;
        app.authenticate(token)
            .await?
            .map(Caller)
            .ok_or_else(|| ApiError::unauthorized("unknown token"))
    }
}

/// An optional caller: public routes show more to some roles.
#[derive(Debug, Clone)]
pub struct MaybeCaller(pub Option<Participant>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<MaybeCaller, ApiError> {
        if parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
        {
            Caller::from_request_parts(parts, app)
                .await
                .map(|c| MaybeCaller(Some(c.0)))
        } else {
            Ok(MaybeCaller(None))
        }
    }
}

/// The `Idempotency-Key` header, if sent (at most 200 visible ASCII characters).
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<IdempotencyKey, ApiError> {
        match parts.headers.get("idempotency-key") {
            None => Ok(IdempotencyKey(None)),
            Some(value) => {
                let key = value
                    .to_str()
                    .ok()
                    .filter(|k| !k.is_empty() && k.len() <= 200)
                    .ok_or_else(|| {
                        ApiError::field(
                            "Idempotency-Key",
                            "must be 1 to 200 visible ASCII characters",
                        )
                    })?;
                Ok(IdempotencyKey(Some(key.to_owned())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_to_32_bytes() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 68);
        assert!(a.starts_with("lvd_"));
        // SHA-256("abc"), the standard test vector.
        assert_eq!(token_hash("abc")[..4], [0xba, 0x78, 0x16, 0xbf]);
    }
}
