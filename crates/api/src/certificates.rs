//! The certificate registry as a service: one [`registry::Registry`] behind a lock, its ledger in
//! the store.
//!
//! Every change runs under the lock: the registry applies it (or refuses it, changing nothing),
//! the new ledger entries are appended to the store, and only then is the caller answered. Two
//! concurrent transfers of the same certificates therefore run one after the other, and the
//! second finds them already transferred. At start the registry is rebuilt from the store: the
//! latest checkpoint of its state, with the entries after it replayed and verified (the whole
//! ledger when there is no checkpoint); if an append fails, it is rebuilt the same way, so memory
//! never holds an entry the store does not. Entries are not kept in memory once stored: what
//! needs old entries (a consumption certificate) reads them from the store. Every
//! [`CHECKPOINT_EVERY`] entries a new checkpoint is written, so a start replays at most about
//! that many. A request's reply is stored under its idempotency key in the same transaction as
//! the entries it made ([`Certificates::change_replying`]).

use axum::http::StatusCode;
use axum::response::Response;
use registry::{ConsumptionLine, Entry, Registry, RegistryError, YearMonth};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use store::{LedgerRow, Store, StoredCheckpoint, StoredResponse};

use tokio::sync::Mutex;

use crate::auth::IdempotencyKey;
use crate::error::ApiError;
use crate::hub::{Clock, Reply};
use crate::routes::respond_stored;

/// How many ledger entries after the last checkpoint make the next one: a start replays at
/// most about this many (a few seconds), and a province-year writes a checkpoint about once a
/// month.
pub const CHECKPOINT_EVERY: u64 = 100_000;

/// The registry and its store.
pub struct Certificates {
    registry: Mutex<Registry>,
    /// The position of the latest stored checkpoint (read and written under the lock).
    checkpointed: AtomicU64,
    /// Entries between checkpoints: [`CHECKPOINT_EVERY`] unless set otherwise.
    checkpoint_every: AtomicU64,
    store: Store,
    clock: Arc<dyn Clock>,
}

/// The status a refused registry command maps to.
pub fn registry_status(e: &RegistryError) -> StatusCode {
    use RegistryError as E;
    match e {
        E::UnknownProjectMonth { .. } | E::UnknownListing(_) => StatusCode::NOT_FOUND,
        E::NotListingOwner { .. } => StatusCode::FORBIDDEN,
        E::Insufficient { .. }
        | E::AlreadyTransferred { .. }
        | E::ListingClosed(_)
        | E::ListingShort { .. }
        | E::MonthNotAfterLast { .. }
        | E::MonthExpired { .. }
        | E::ClockWentBack { .. }
        | E::ExpiryNotAdvancing { .. } => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> ApiError {
        ApiError::new(registry_status(&e), e.code(), e.to_string())
    }
}

impl From<market::CertificateError> for ApiError {
    fn from(e: market::CertificateError) -> ApiError {
        match e {
            market::CertificateError::Registry(e) => e.into(),
            e @ market::CertificateError::MeteredTooLarge { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "metered_total_too_large",
                e.to_string(),
            ),
        }
    }
}

/// The ledger rows of the entries appended after the first `before`.
fn rows_after(registry: &Registry, before: u64) -> Vec<LedgerRow> {
    registry
        .entries_after(before)
        .iter()
        .map(|e| LedgerRow {
            seq: e.seq,
            at_ms: e.at_ms,
            entry: e.to_bytes(),
        })
        .collect()
}

/// The 409 for a month already settled finally.
pub fn already_final(month: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "already_final",
        format!("{month} was settled finally; a final run is never reopened"),
    )
}

fn decode(rows: &[LedgerRow]) -> Result<Vec<Entry>, ApiError> {
    rows.iter()
        .map(|r| Entry::from_bytes(&r.entry))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::unavailable(format!("the certificate ledger is unreadable: {e}")))
}

/// The registry as the store holds it, holding no entries in memory, and the position of the
/// checkpoint it started from: the latest checkpoint with the entries after it replayed and
/// verified, or the whole ledger replayed when there is no checkpoint or it does not fit the
/// ledger (a warning: `lvdian verify` says what is wrong with it).
async fn rebuild(store: &Store) -> Result<(Registry, u64), ApiError> {
    let restored = match store.registry_checkpoint().await? {
        Some(checkpoint) => restore(store, &checkpoint).await?,
        None => None,
    };
    let (start, from) = match restored {
        Some(registry) => {
            let from = registry.last_seq();
            (registry, from)
        }
        None => (Registry::new(), 0),
    };
    let entries = decode(&store.ledger_range(from + 1, u64::MAX).await?)?;
    let (mut registry, _) = registry::resume(start, entries).map_err(|e| {
        ApiError::unavailable(format!("the certificate ledger does not verify: {e}"))
    })?;
    registry.forget_entries();
    Ok((registry, from))
}

/// The registry a stored checkpoint holds, if it restores and its head is the hash of the
/// ledger's entry at its position.
async fn restore(
    store: &Store,
    checkpoint: &StoredCheckpoint,
) -> Result<Option<Registry>, ApiError> {
    let registry = match Registry::restore(&checkpoint.state) {
        Ok(r) if r.last_seq() == checkpoint.seq => r,
        Ok(_) => {
            tracing::warn!(
                seq = checkpoint.seq,
                "the registry checkpoint is filed under another position; replaying the whole ledger"
            );
            return Ok(None);
        }
        Err(e) => {
            tracing::warn!(seq = checkpoint.seq, error = %e, "the registry checkpoint does not restore; replaying the whole ledger");
            return Ok(None);
        }
    };
    if checkpoint.seq == 0 {
        return Ok(Some(registry));
    }
    let at = decode(&store.ledger_range(checkpoint.seq, checkpoint.seq).await?)?;
    if at.first().map(|e| e.hash) != Some(registry.head()) {
        tracing::warn!(
            seq = checkpoint.seq,
            "the registry checkpoint's head is not the ledger's entry; replaying the whole ledger"
        );
        return Ok(None);
    }
    Ok(Some(registry))
}

impl Certificates {
    /// Loads the registry from the store (its checkpoint and the entries after it, verified).
    pub async fn load(store: Store, clock: Arc<dyn Clock>) -> Result<Certificates, ApiError> {
        let (registry, checkpointed) = rebuild(&store).await?;
        Ok(Certificates {
            registry: Mutex::new(registry),
            checkpointed: AtomicU64::new(checkpointed),
            checkpoint_every: AtomicU64::new(CHECKPOINT_EVERY),
            store,
            clock,
        })
    }

    /// Sets the number of entries between checkpoints (at least 1), for tests and tools.
    pub fn set_checkpoint_every(&self, entries: u64) {
        self.checkpoint_every
            .store(entries.max(1), Ordering::Relaxed);
    }

    /// The lines of `buyer`'s consumption certificate for `month`, read from the ledger's
    /// entries of that month's settlement transfers.
    pub async fn consumption_lines(
        &self,
        buyer: domain::ParticipantId,
        month: YearMonth,
    ) -> Result<Vec<ConsumptionLine>, ApiError> {
        let spans = self.read(|r| r.settlement_spans(month).to_vec()).await;
        let mut entries = Vec::new();
        for (first, last) in spans {
            entries.extend(decode(&self.store.ledger_range(first, last).await?)?);
        }
        Ok(registry::consumption_lines(&entries, buyer, month))
    }

    /// Reads the registry.
    pub async fn read<R>(&self, f: impl FnOnce(&Registry) -> R) -> R {
        f(&*self.registry.lock().await)
    }

    /// Changes the registry with `f` and stores the entries it appended before answering. `f`
    /// may apply several commands; those it applied before an error are kept (each is valid on
    /// its own) and stored, and the error is returned. `f` is given the time to stamp its
    /// commands with, read under the lock (a time read before it could be older than an entry
    /// another request appended meanwhile, which the registry refuses).
    pub async fn change<R>(
        &self,
        f: impl FnOnce(&mut Registry, i64) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        self.apply(f, |_| None).await.map(|(r, _)| r)
    }

    /// [`Certificates::change`] for a request: renders the reply from what `f` returned and,
    /// under an idempotency key, stores it in the transaction of the new ledger entries, so that
    /// a crash never leaves a change whose retry would run again. The response is marked
    /// [`crate::idempotency::Remembered`] when it was stored that way (otherwise the idempotency layer remembers it).
    pub async fn change_replying<R>(
        &self,
        key: &IdempotencyKey,
        f: impl FnOnce(&mut Registry, i64) -> Result<R, ApiError>,
        render: impl FnOnce(R) -> Reply,
    ) -> Result<Response, ApiError> {
        let (reply, remembered) = self
            .apply(
                |registry, now| f(registry, now).map(render),
                |reply| key.0.as_ref().map(|k| k.remember(reply)),
            )
            .await?;
        Ok(respond_stored(reply, remembered))
    }

    /// The time to stamp the next commands with, read under the lock: never before the last
    /// entry, should the system clock step back.
    fn stamp(&self, registry: &Registry) -> i64 {
        let last_ms = registry.last_at_ms().unwrap_or(i64::MIN);
        self.clock.now_ms().max(last_ms)
    }

    /// After stored entries: drops them from memory and, when [`CHECKPOINT_EVERY`] entries
    /// were appended since the last checkpoint, stores a new one (derived data: a failure to
    /// write it is logged, and the next start replays more).
    async fn stored(&self, registry: &mut Registry) {
        registry.forget_entries();
        let seq = registry.last_seq();
        let every = self.checkpoint_every.load(Ordering::Relaxed);
        if seq
            < self
                .checkpointed
                .load(Ordering::Relaxed)
                .saturating_add(every)
        {
            return;
        }
        let checkpoint = StoredCheckpoint {
            seq,
            state: registry.checkpoint(),
        };
        match self
            .store
            .put_registry_checkpoint(&checkpoint, self.clock.now_ms())
            .await
        {
            Ok(()) => self.checkpointed.store(seq, Ordering::Relaxed),
            Err(e) => tracing::warn!(seq, error = %e, "the registry checkpoint was not stored"),
        }
    }

    /// Rebuilds the registry from the store after a failed write.
    async fn rebuild_into(&self, registry: &mut Registry) -> Result<(), ApiError> {
        let (rebuilt, checkpointed) = rebuild(&self.store).await?;
        *registry = rebuilt;
        self.checkpointed.store(checkpointed, Ordering::Relaxed);
        Ok(())
    }

    /// A final settlement run's certificate moves (证电合一), all or nothing: `f` applies the
    /// transfers under the lock; `render` makes the run's record (stored as the month's final
    /// result) and its reply from what `f` returned; the record, the new ledger entries and the
    /// reply under the request's idempotency key are written in one transaction. If `f` fails
    /// or the write fails, the registry is rebuilt from the store, so neither memory nor the
    /// store keeps any of it, and the run can be repeated. A month already final is 409
    /// `already_final` (checked under the lock, which every certificate change takes).
    pub async fn settle_final<R>(
        &self,
        key: &IdempotencyKey,
        month: &str,
        f: impl FnOnce(&mut Registry, i64) -> Result<R, ApiError>,
        render: impl FnOnce(R) -> (String, Reply),
    ) -> Result<Response, ApiError> {
        let mut registry = self.registry.lock().await;
        if self.store.final_settlement(month).await?.is_some() {
            return Err(already_final(month));
        }
        let before = registry.last_seq();
        let now = self.stamp(&registry);
        let outcome = f(&mut registry, now);
        let rows = rows_after(&registry, before);
        let written = match outcome {
            Ok(r) => {
                let (record, reply) = render(r);
                let remember = key.0.as_ref().map(|k| k.remember(&reply));
                self.store
                    .record_final_settlement(month, &record, now, &rows, remember.as_ref())
                    .await
                    .map(|()| respond_stored(reply, remember.is_some()))
                    .map_err(|e| match e {
                        store::StoreError::Conflict { what } if what.starts_with("the final") => {
                            already_final(month)
                        }
                        other => ApiError::unavailable(format!(
                            "the final settlement could not be recorded, nothing of it was: {other}"
                        )),
                    })
            }
            Err(e) => Err(e),
        };
        if written.is_err() && !rows.is_empty() {
            tracing::warn!(
                month,
                "final settlement not recorded; rebuilding the registry from the store"
            );
            self.rebuild_into(&mut registry).await?;
        } else if written.is_ok() {
            self.stored(&mut registry).await;
        }
        written
    }

    /// Applies `f` under the lock and appends its new entries, with the response `remember`
    /// makes of its result, in one transaction; says whether a response was stored.
    async fn apply<R>(
        &self,
        f: impl FnOnce(&mut Registry, i64) -> Result<R, ApiError>,
        remember: impl FnOnce(&R) -> Option<StoredResponse>,
    ) -> Result<(R, bool), ApiError> {
        let mut registry = self.registry.lock().await;
        let before = registry.last_seq();
        let now = self.stamp(&registry);
        let outcome = f(&mut registry, now);
        let rows = rows_after(&registry, before);
        let response = match &outcome {
            Ok(r) if !rows.is_empty() => remember(r),
            _ => None,
        };
        if !rows.is_empty()
            && let Err(e) = self.store.append_ledger(&rows, response.as_ref()).await
        {
            tracing::error!(error = %e, "ledger append failed; rebuilding the registry from the store");
            self.rebuild_into(&mut registry).await?;
            return Err(ApiError::unavailable(format!(
                "the certificate ledger could not be written: {e}"
            )));
        }
        if !rows.is_empty() {
            self.stored(&mut registry).await;
        }
        outcome.map(|r| (r, response.is_some()))
    }
}
