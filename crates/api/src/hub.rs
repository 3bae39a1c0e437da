//! The hub: one sequencer task per session, which owns the session's engine and its journal.
//!
//! A request becomes a [`Job`] (one or more commands, an optional idempotency key, and a
//! `render` function that turns the outcomes into the HTTP reply). The sequencer takes the first
//! waiting job and every job queued behind it (up to [`MAX_BATCH`] commands), stamps each command
//! with the next sequence number and the clock, applies it to the engine, and then writes the
//! whole group — journal entries, orders, contracts, state, remembered replies — in **one**
//! transaction. Only after that commit does any job of the group get its reply: an order is
//! acknowledged only once it is durable, and throughput does not collapse to one fsync per
//! order. If the commit fails, the engine may hold commands the store does not, so the session
//! is rebuilt from the store and every job of the group is told 503.
//!
//! At start, [`Hub::load`] rebuilds every session by replaying its journal through the same
//! deterministic engine, so a restart in the middle of an open session continues it.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use domain::{ParticipantId, SessionId};
use exchange::ExchangeError;
use exchange::session::{Command, Event, Session, SessionSettings, Stamp};
use store::{Batch, JournalEntry, Store, StoredResponse};
use tokio::sync::{mpsc, oneshot};

use crate::error::ApiError;
use crate::metrics::Metrics;

/// The most commands one group commit holds.
pub const MAX_BATCH: usize = 2_000;

/// How many jobs may wait for a session's sequencer before senders wait too (backpressure).
const QUEUE: usize = 8_192;

/// What the engine said to one command.
pub type Outcome = Result<Vec<Event>, ExchangeError>;

/// An HTTP reply as the sequencer renders it: status and JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// JSON text.
    pub body: String,
}

/// Renders the outcomes of a job's commands (with the session as it stands after them).
pub type Render = Box<dyn FnOnce(&Session, &[Outcome]) -> Reply + Send>;

/// A source of time: the system clock in production, a fixed one in tests.
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
}

struct Job {
    commands: Vec<Command>,
    key: Option<(ParticipantId, String)>,
    render: Render,
    reply: oneshot::Sender<Result<Reply, ApiError>>,
}

/// One session: its engine (read by request handlers, written only by its sequencer) and the
/// queue into its sequencer.
pub struct SessionHandle {
    /// The session's id.
    pub id: SessionId,
    /// Its name.
    pub name: String,
    engine: Arc<RwLock<Session>>,
    queue: mpsc::Sender<Job>,
}

impl SessionHandle {
    /// Reads the engine. Never held across an await.
    pub fn read<R>(&self, f: impl FnOnce(&Session) -> R) -> R {
        f(&self.engine.read().expect("engine lock poisoned"))
    }

    /// Sends commands through the sequencer and waits until they are committed.
    pub async fn submit(
        &self,
        commands: Vec<Command>,
        key: Option<(ParticipantId, String)>,
        render: Render,
    ) -> Result<Reply, ApiError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            commands,
            key,
            render,
            reply,
        };
        self.queue
            .send(job)
            .await
            .map_err(|_| ApiError::unavailable("the session's sequencer has stopped"))?;
        answer.await.map_err(|_| {
            ApiError::unavailable("the session's sequencer stopped before answering")
        })?
    }
}

/// Every session of the market.
pub struct Hub {
    sessions: RwLock<BTreeMap<SessionId, Arc<SessionHandle>>>,
    store: Store,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
}

/// Rebuilds a session by replaying its journal.
async fn rebuild(
    store: &Store,
    id: SessionId,
    settings: &SessionSettings,
) -> Result<Session, ApiError> {
    let mut session = Session::new(id, settings.clone())?;
    for entry in store.journal(id).await? {
        let stamp = Stamp {
            seq: entry.seq,
            at_ms: entry.at_ms,
        };
        session.apply(entry.command, stamp).map_err(|e| {
            ApiError::unavailable(format!(
                "session {id}: journal entry {} no longer applies: {e}",
                entry.seq
            ))
        })?;
    }
    Ok(session)
}

impl Hub {
    /// Loads every session from the store, replaying journals, and starts their sequencers.
    pub async fn load(
        store: Store,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
    ) -> Result<Hub, ApiError> {
        let hub = Hub {
            sessions: RwLock::new(BTreeMap::new()),
            store,
            clock,
            metrics,
        };
        for row in hub.store.sessions().await? {
            let session = rebuild(&hub.store, row.id, &row.settings).await?;
            if session.state() != row.state {
                return Err(ApiError::unavailable(format!(
                    "session {}: the journal replays to state {} but the store says {}",
                    row.id,
                    session.state(),
                    row.state
                )));
            }
            hub.start(row.name, session);
        }
        Ok(hub)
    }

    /// Starts the sequencer of a session and registers it.
    pub fn start(&self, name: String, session: Session) -> Arc<SessionHandle> {
        let id = session.id();
        let settings = session.settings().clone();
        let engine = Arc::new(RwLock::new(session));
        let (queue, jobs) = mpsc::channel(QUEUE);
        let handle = Arc::new(SessionHandle {
            id,
            name,
            engine: Arc::clone(&engine),
            queue,
        });
        let sequencer = Sequencer {
            id,
            settings,
            engine,
            store: self.store.clone(),
            clock: Arc::clone(&self.clock),
            metrics: Arc::clone(&self.metrics),
        };
        tokio::spawn(sequencer.run(jobs));
        self.sessions
            .write()
            .expect("hub lock poisoned")
            .insert(id, Arc::clone(&handle));
        handle
    }

    /// A session, or 404.
    pub fn session(&self, id: SessionId) -> Result<Arc<SessionHandle>, ApiError> {
        self.sessions
            .read()
            .expect("hub lock poisoned")
            .get(&id)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("session {} does not exist", id.0)))
    }

    /// Every session, by id.
    pub fn all(&self) -> Vec<Arc<SessionHandle>> {
        self.sessions
            .read()
            .expect("hub lock poisoned")
            .values()
            .cloned()
            .collect()
    }
}

struct Sequencer {
    id: SessionId,
    settings: SessionSettings,
    engine: Arc<RwLock<Session>>,
    store: Store,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
}

/// A job's fate within a group: answered from a remembered key, or rendered after commit.
enum Pending {
    Remembered(Reply),
    Rendered(Reply),
}

impl Sequencer {
    async fn run(self, mut jobs: mpsc::Receiver<Job>) {
        let mut group: Vec<Job> = Vec::new();
        while let Some(first) = jobs.recv().await {
            let mut commands = first.commands.len();
            group.push(first);
            while commands < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => {
                        commands += job.commands.len();
                        group.push(job);
                    }
                    Err(_) => break,
                }
            }
            self.commit_group(std::mem::take(&mut group)).await;
        }
    }

    async fn commit_group(&self, group: Vec<Job>) {
        // Remembered replies first: a retry of a committed request must not run again.
        let keys: Vec<Option<(ParticipantId, String)>> =
            group.iter().map(|j| j.key.clone()).collect();
        let mut remembered: Vec<Option<Reply>> = Vec::with_capacity(group.len());
        for key in &keys {
            let found = match key {
                Some((participant, key)) => match self.store.idempotent(*participant, key).await {
                    Ok(found) => found.map(|r| Reply {
                        status: r.status,
                        body: r.body,
                    }),
                    Err(e) => {
                        tracing::error!(session = %self.id, error = %e, "idempotency lookup failed");
                        None
                    }
                },
                None => None,
            };
            remembered.push(found);
        }

        let mut batch = Batch {
            session: self.id,
            entries: Vec::new(),
            state: None,
            orders: Vec::new(),
            contracts: Vec::new(),
            responses: Vec::new(),
        };
        let mut fates: Vec<(oneshot::Sender<Result<Reply, ApiError>>, Pending)> =
            Vec::with_capacity(group.len());
        {
            let mut engine = self.engine.write().expect("engine lock poisoned");
            let state_before = engine.state();
            // Keys seen in this group: a duplicate within the group gets the first's reply.
            let mut in_group: BTreeMap<(ParticipantId, String), Reply> = BTreeMap::new();
            for (job, found) in group.into_iter().zip(remembered) {
                if let Some(reply) =
                    found.or_else(|| job.key.as_ref().and_then(|k| in_group.get(k).cloned()))
                {
                    Metrics::inc(&self.metrics.idempotent_replays);
                    fates.push((job.reply, Pending::Remembered(reply)));
                    continue;
                }
                let mut outcomes = Vec::with_capacity(job.commands.len());
                for command in job.commands {
                    let stamp = Stamp {
                        seq: engine.last_seq().unwrap_or(0) + 1,
                        at_ms: self.clock.now_ms(),
                    };
                    let outcome = engine.apply(command.clone(), stamp);
                    match &outcome {
                        Ok(events) => {
                            Metrics::inc(&self.metrics.commands_accepted);
                            batch.entries.push(JournalEntry {
                                seq: stamp.seq,
                                at_ms: stamp.at_ms,
                                command,
                            });
                            for event in events {
                                match event {
                                    Event::OrderAccepted { order } => {
                                        batch.orders.push(order.clone())
                                    }
                                    Event::ContractMade(contract) => {
                                        batch.contracts.push(contract.clone())
                                    }
                                    _ => {}
                                }
                            }
                        }
                        Err(_) => Metrics::inc(&self.metrics.commands_refused),
                    }
                    outcomes.push(outcome);
                }
                let reply = (job.render)(&engine, &outcomes);
                if let Some((participant, key)) = job.key {
                    batch.responses.push(StoredResponse {
                        participant,
                        key: key.clone(),
                        status: reply.status,
                        body: reply.body.clone(),
                    });
                    in_group.insert((participant, key), reply.clone());
                }
                fates.push((job.reply, Pending::Rendered(reply)));
            }
            if engine.state() != state_before {
                batch.state = Some(engine.state());
            }
        }

        let wrote =
            !batch.entries.is_empty() || !batch.responses.is_empty() || batch.state.is_some();
        let committed = if wrote {
            let started = Instant::now();
            let result = self.store.append(&batch).await;
            self.metrics
                .commit_micros
                .fetch_add(started.elapsed().as_micros() as u64, Relaxed);
            Metrics::inc(&self.metrics.batches);
            self.metrics
                .batch_entries
                .fetch_add(batch.entries.len() as u64, Relaxed);
            result
        } else {
            Ok(())
        };

        match committed {
            Ok(()) => {
                for (reply, fate) in fates {
                    let (Pending::Remembered(r) | Pending::Rendered(r)) = fate;
                    let _ = reply.send(Ok(r));
                }
            }
            Err(e) => {
                Metrics::inc(&self.metrics.commit_failures);
                tracing::error!(session = %self.id, error = %e, "group commit failed; rebuilding the session from the store");
                match rebuild(&self.store, self.id, &self.settings).await {
                    Ok(session) => *self.engine.write().expect("engine lock poisoned") = session,
                    Err(rebuild_error) => {
                        tracing::error!(session = %self.id, error = ?rebuild_error, "rebuild failed");
                    }
                }
                for (reply, fate) in fates {
                    let answer = match fate {
                        Pending::Remembered(r) => Ok(r),
                        Pending::Rendered(_) => Err(ApiError::unavailable(format!(
                            "the store failed; the request was not recorded and may be retried: {e}"
                        ))),
                    };
                    let _ = reply.send(answer);
                }
            }
        }
    }
}
