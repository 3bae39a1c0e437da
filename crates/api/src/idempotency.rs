//! Exactly-once retries with `Idempotency-Key`.
//!
//! A key is scoped to its participant, the request's method and its path (path parameters
//! included): the same key sent to `POST /api/v1/participants` and to `POST /api/v1/sessions`,
//! or to the orders of two sessions, is two keys with two independent effects. With the key the
//! store remembers the first reply and the SHA-256 of the request it answered (method, path,
//! query and body); a retry of the same request gets that reply again, byte for byte, and a
//! request that differs is refused with 422 naming the key.
//!
//! [`middleware`] does this for every write (POST, PUT, DELETE), before routing: it buffers the
//! body (within the route's limit), takes a lock held by every request with the same scoped key
//! — so concurrent requests with one key run one after the other and all but the first are
//! answered from the store — and hands the scoped key to the route ([`crate::auth::IdempotencyKey`]).
//! A route that writes stores its reply under the key in the transaction of its effect, so a
//! crash can never separate the two: a session's sequencer with the journal entries, the
//! certificate registry with its ledger entries, the store's `*_remembered` methods with their
//! rows; it marks its response [`Remembered`]. The layer remembers any other 2xx reply itself,
//! just after (a draft settlement, which writes nothing).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::ParticipantId;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;
use crate::hub::Reply;

/// How long a key is remembered: a week, far beyond any retry of an unanswered request. A retry
/// after that runs again.
pub const KEY_RETENTION_MS: i64 = 7 * 24 * 3_600_000;

/// Forgets keys older than [`KEY_RETENTION_MS`] now and then every hour, for as long as the
/// server runs.
pub async fn forget_old_keys(store: store::Store) {
    let mut hourly = tokio::time::interval(std::time::Duration::from_secs(3_600));
    loop {
        hourly.tick().await;
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        match store
            .forget_idempotent_before(now_ms - KEY_RETENTION_MS)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                forgotten = n,
                "idempotency keys past their retention forgotten"
            ),
            Err(e) => tracing::warn!(error = %e, "forgetting old idempotency keys failed"),
        }
    }
}

/// The longest key a client may send.
pub const MAX_KEY_LEN: usize = 200;

/// The longest reply body remembered for a key (replies are JSON views; a larger one is
/// answered but not remembered, so a retry runs again — which only a read-like reply could be).
const MAX_REMEMBERED_BODY: usize = 8 << 20;

/// A client's key in its scope, with the fingerprint of the request that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scoped {
    /// The participant whose key it is.
    pub participant: ParticipantId,
    /// The key as the client sent it.
    pub client_key: String,
    /// What the store keys on: `METHOD path` and the client's key.
    pub stored_key: String,
    /// SHA-256 of the method, path, query and body.
    pub request: [u8; 32],
}

impl Scoped {
    /// The 422 for a retry whose request differs from the one the key first answered.
    pub fn reused(&self) -> ApiError {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            format!(
                "field `Idempotency-Key`: key {:?} was first used for a different request to {}; send a new key for a new request",
                self.client_key,
                self.scope()
            ),
        )
    }

    /// The method and path the key is scoped to.
    pub fn scope(&self) -> &str {
        self.stored_key
            .split_once('\n')
            .map_or(&self.stored_key, |(scope, _)| scope)
    }

    /// The reply remembered for this key, checked against this request: `Ok(None)` if the key
    /// is new, `Ok(Some(reply))` for a retry of the same request, 422 for another request.
    pub fn replay(&self, found: Option<store::StoredResponse>) -> Result<Option<Reply>, ApiError> {
        match found {
            None => Ok(None),
            Some(r) if r.request.is_some_and(|h| h != self.request) => Err(self.reused()),
            Some(r) => Ok(Some(Reply {
                status: r.status,
                body: r.body,
            })),
        }
    }

    /// The row that remembers `reply` for this key.
    pub fn remember(&self, reply: &Reply) -> store::StoredResponse {
        store::StoredResponse {
            participant: self.participant,
            key: self.stored_key.clone(),
            status: reply.status,
            body: reply.body.clone(),
            request: Some(self.request),
        }
    }
}

/// Marks a response whose reply the handler already had remembered (by the sequencer, in the
/// transaction of its commands).
#[derive(Debug, Clone, Copy)]
pub struct Remembered;

/// One lock per scoped key in use, so that concurrent requests with one key are serialised.
#[derive(Default)]
pub struct Locks(Mutex<HashMap<[u8; 32], Weak<tokio::sync::Mutex<()>>>>);

impl Locks {
    /// The lock of a key (created on first use, forgotten when nobody holds it).
    fn of(&self, scoped: &Scoped) -> Arc<tokio::sync::Mutex<()>> {
        let id: [u8; 32] = Sha256::new()
            .chain_update(scoped.participant.0.to_be_bytes())
            .chain_update(scoped.stored_key.as_bytes())
            .finalize()
            .into();
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(lock) = map.get(&id).and_then(Weak::upgrade) {
            return lock;
        }
        // Bound the map by the keys in flight: drop entries nobody holds any more.
        if map.len() >= 1024 {
            map.retain(|_, lock| lock.strong_count() > 0);
        }
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        map.insert(id, Arc::downgrade(&lock));
        lock
    }
}

/// Looks up the keys of concurrent requests together: a task takes every lookup waiting (up to
/// [`store::MAX_KEYS_PER_LOOKUP`]) and answers them from one query. Each lookup still runs
/// after its request took its key's lock, so what it finds is what a lookup of its own would.
/// Before, every keyed write paid a round trip of its own to the database — on SQLite a hop to
/// the connection's thread and back — and keyed single orders ran at about half the rate of
/// unkeyed ones (`lvdian loadtest`).
pub struct Lookups {
    queue: tokio::sync::mpsc::Sender<Lookup>,
}

struct Lookup {
    participant: ParticipantId,
    key: String,
    answer: tokio::sync::oneshot::Sender<Result<Option<store::StoredResponse>, String>>,
}

/// Lookups waiting for the task at most; more wait to be queued.
const LOOKUP_QUEUE: usize = 4_096;

impl Lookups {
    /// Starts the lookup task (it ends when the `Lookups` is dropped).
    pub fn start(store: store::Store) -> Lookups {
        let (queue, mut waiting) = tokio::sync::mpsc::channel::<Lookup>(LOOKUP_QUEUE);
        tokio::spawn(async move {
            let mut group = Vec::with_capacity(store::MAX_KEYS_PER_LOOKUP);
            while waiting
                .recv_many(&mut group, store::MAX_KEYS_PER_LOOKUP)
                .await
                > 0
            {
                let keys: Vec<(ParticipantId, String)> = group
                    .iter()
                    .map(|l: &Lookup| (l.participant, l.key.clone()))
                    .collect();
                match store.idempotent_many(&keys).await {
                    Ok(found) => {
                        for (lookup, found) in group.drain(..).zip(found) {
                            let _ = lookup.answer.send(Ok(found));
                        }
                    }
                    Err(e) => {
                        let e = e.to_string();
                        for lookup in group.drain(..) {
                            let _ = lookup.answer.send(Err(e.clone()));
                        }
                    }
                }
            }
        });
        Lookups { queue }
    }

    /// The reply remembered for `key` of `participant`, if any.
    pub async fn find(
        &self,
        participant: ParticipantId,
        key: &str,
    ) -> Result<Option<store::StoredResponse>, ApiError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let lookup = Lookup {
            participant,
            key: key.to_owned(),
            answer,
        };
        let gone =
            || ApiError::unavailable("the idempotency key lookup stopped; retry with the same key");
        self.queue.send(lookup).await.map_err(|_| gone())?;
        match answered.await.map_err(|_| gone())? {
            Ok(found) => Ok(found),
            Err(e) => {
                tracing::error!(error = %e, "store failure");
                Err(ApiError::unavailable(format!("the store failed: {e}")))
            }
        }
    }
}

/// The client's key from the headers: absent, or 1 to [`MAX_KEY_LEN`] visible ASCII characters.
fn client_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|k| {
            !k.is_empty() && k.len() <= MAX_KEY_LEN && k.bytes().all(|b| b.is_ascii_graphic())
        })
        .map(|k| Some(k.to_owned()))
        .ok_or_else(|| {
            ApiError::field(
                "Idempotency-Key",
                format!("must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
            )
        })
}

/// The idempotency layer (see the module docs).
pub async fn middleware(State(app): State<AppState>, request: Request, next: Next) -> Response {
    match run(&app, request, next).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn run(app: &AppState, request: Request, next: Next) -> Result<Response, ApiError> {
    // Reads are safe to repeat and must never be answered from a remembered reply.
    if request.method().is_safe() || !request.headers().contains_key("idempotency-key") {
        return Ok(next.run(request).await);
    }
    // Without a valid token the route answers 401 (and counts the failed sign-in): who is
    // asking comes before what the key looks like.
    let Some(participant) = crate::auth::bearer(request.headers())
        .ok()
        .map(|token| app.authenticate(token))
    else {
        return Ok(next.run(request).await);
    };
    let Some(participant) = participant.await? else {
        return Ok(next.run(request).await);
    };
    let Some(client_key) = client_key(request.headers())? else {
        return Ok(next.run(request).await);
    };

    let (mut parts, body) = request.into_parts();
    let limit = crate::routes::body_limit(parts.uri.path());
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| crate::routes::too_large(parts.uri.path()))?;
    let scope = format!("{} {}", parts.method, parts.uri.path());
    let request_hash: [u8; 32] = Sha256::new()
        .chain_update(scope.as_bytes())
        .chain_update(b"?")
        .chain_update(parts.uri.query().unwrap_or("").as_bytes())
        .chain_update(b"\n")
        .chain_update(&bytes)
        .finalize()
        .into();
    let scoped = Scoped {
        participant: participant.id,
        stored_key: format!("{scope}\n{client_key}"),
        client_key,
        request: request_hash,
    };

    let lock = app.idempotency_locks.of(&scoped);
    let _held = lock.lock().await;
    if let Some(reply) = scoped.replay(
        app.idempotency_lookups
            .find(scoped.participant, &scoped.stored_key)
            .await?,
    )? {
        crate::metrics::Metrics::inc(&app.metrics.idempotent_replays);
        return Ok(crate::routes::respond(reply));
    }
    parts.extensions.insert(scoped.clone());
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if response.extensions().get::<Remembered>().is_some() || !response.status().is_success() {
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_REMEMBERED_BODY).await else {
        return Err(ApiError::unavailable(
            "the reply could not be read back to remember it; retry with the same key",
        ));
    };
    match std::str::from_utf8(&bytes) {
        Ok(text) => {
            let reply = Reply {
                status: parts.status.as_u16(),
                body: text.to_owned(),
            };
            app.store.remember(&scoped.remember(&reply)).await?;
        }
        Err(_) => tracing::warn!(scope = scoped.scope(), "a binary reply is not remembered"),
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}
