//! Accounts: opaque API tokens per participant, stored only as SHA-256 hashes, and the [`Caller`]
//! extractor that every authenticated route takes.
//!
//! A token is `lvd_` followed by 64 hex digits of operating-system randomness (256 bits). Such a
//! token cannot be guessed, so a fast hash is enough to store it (a slow password hash such as
//! argon2 protects low-entropy passwords and would cost milliseconds on every request).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use domain::{Participant, Role};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;
use crate::idempotency::Scoped;

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

    /// The caller as the visibility rules (`market::visibility`) see it.
    pub fn viewer(&self) -> market::Viewer {
        market::Viewer {
            id: self.0.id,
            role: self.0.role,
        }
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
    market::visibility::is_insider(role)
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
        let refusal = match bearer(&parts.headers) {
            Ok(token) => match app.authenticate(token).await? {
                Some(participant) => return Ok(Caller(participant)),
                None => ApiError::unauthorized("unknown token"),
            },
            Err(refusal) => refusal,
        };
        Err(app.failed_sign_in(client(parts, app).await, refusal))
    }
}

/// The bearer token of a request's `Authorization` header, or the 401 that says what is wrong.
pub fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing `Authorization: Bearer <token>` header"))?;
    header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::unauthorized("the Authorization header must be `Bearer <token>`"))
}

/// The client's address, when the server knows it (not for in-process requests). Through the
/// extractor, so that tests can give an address with `MockConnectInfo`.
async fn client(parts: &mut Parts, app: &AppState) -> Option<IpAddr> {
    ConnectInfo::<SocketAddr>::from_request_parts(parts, app)
        .await
        .ok()
        .map(|info| info.0.ip())
}

/// How many failed sign-ins a client address may make at once, and how fast that allowance
/// comes back. Tokens hold 256 random bits, so no rate guesses one; the limit keeps scanners and
/// misconfigured clients from filling the logs and the CPU with futile attempts.
pub const SIGN_IN_BURST: u32 = 30;
/// Failed sign-ins per second a client address regains.
pub const SIGN_IN_PER_SECOND: u32 = 2;

/// Failed sign-ins per client address.
pub struct SignInLimiter(DefaultKeyedRateLimiter<IpAddr>);

impl Default for SignInLimiter {
    fn default() -> SignInLimiter {
        let quota = Quota::per_second(NonZeroU32::new(SIGN_IN_PER_SECOND).expect("non-zero"))
            .allow_burst(NonZeroU32::new(SIGN_IN_BURST).expect("non-zero"));
        SignInLimiter(RateLimiter::keyed(quota))
    }
}

impl SignInLimiter {
    /// Counts a failed sign-in from `client`: the refusal itself while the address is within its
    /// allowance, 429 with the seconds to wait once it is spent.
    pub fn failed(&self, client: Option<IpAddr>, refusal: ApiError) -> ApiError {
        let Some(ip) = client else {
            return refusal;
        };
        // Forget addresses that have been quiet long enough to be back at a full allowance.
        if self.0.len() > 10_000 {
            self.0.retain_recent();
        }
        match self.0.check_key(&ip) {
            Ok(()) => refusal,
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                ApiError::too_many(
                    seconds.max(1),
                    format!(
                        "too many failed sign-ins from {ip}: at most {SIGN_IN_BURST}, then {SIGN_IN_PER_SECOND} a second; retry after {} s",
                        seconds.max(1)
                    ),
                )
            }
        }
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

/// The `Idempotency-Key` of a request, in its scope, as [`crate::idempotency::middleware`]
/// found it (`None` when the request sent none or carried no valid token).
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub Option<Scoped>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<IdempotencyKey, ApiError> {
        Ok(IdempotencyKey(parts.extensions.get::<Scoped>().cloned()))
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
