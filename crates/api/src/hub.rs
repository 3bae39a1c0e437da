//! The hub: one sequencer task per session, which owns the session's engine and its journal.
//!
//! A request becomes a `Job` (one or more commands, an optional idempotency key, and a
//! `render` function that turns the outcomes into the HTTP reply). The sequencer takes the first
//! waiting job and every job queued behind it (up to [`MAX_BATCH`] commands), stamps each command
//! with the next sequence number and the clock, applies it to the engine, and then writes the
//! whole group — journal entries, orders, contracts, state, remembered replies — in **one**
//! transaction. Only after that commit does any job of the group get its reply: an order is
//! acknowledged only once it is durable, and throughput does not collapse to one fsync per
//! order. While one group commits, the jobs that arrive meanwhile are applied as the next group,
//! which is written the moment the first commit ends and answered only after its own: the
//! engine's work and the store's overlap, and a single order waits for about one commit rather
//! than one and a half. If a commit fails, the engine may hold commands the store does not, so
//! the session is rebuilt from the store and every job of the group, and of the group applied
//! behind it, is told 503.
//!
//! At start, [`Hub::load`] rebuilds every session by replaying its journal through the same
//! deterministic engine, so a restart in the middle of an open session continues it.
//!
//! A failure in one session never reaches another. A panic while the sequencer applies commands
//! or renders replies is caught: the group is not committed (its jobs get 500), the engine is
//! rebuilt from the store — the state every earlier reply described — and the session is
//! suspended: its reads still answer, its commands get 503 naming the failure, until a restart
//! (which replays only committed commands). A session whose journal no longer replays at start
//! (an error or a panic) is reported, left out and answered with 503; every other session loads.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use domain::SessionId;
use exchange::ExchangeError;
use exchange::session::{Command, Event, Session, SessionSettings, SessionState, Snapshot, Stamp};
use store::{Batch, JournalEntry, Store, StoredSnapshot};
use tokio::sync::{mpsc, oneshot};

use crate::error::ApiError;
use crate::idempotency::Scoped;
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
    key: Option<Scoped>,
    render: Render,
    reply: oneshot::Sender<Result<Reply, ApiError>>,
}

/// Why a session is suspended, shared by its handle and its sequencer.
type Failure = Arc<Mutex<Option<String>>>;

/// Runs `f`, turning a panic into its message.
fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned())
    })
}

/// The 503 of a suspended or unloadable session.
fn suspended(id: SessionId, why: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "session_failed",
        format!(
            "session {} is suspended: {why}; the exchange operator must restart the service after the fault is fixed",
            id.0
        ),
    )
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
    failure: Failure,
}

impl SessionHandle {
    /// Reads the engine. Never held across an await.
    pub fn read<R>(&self, f: impl FnOnce(&Session) -> R) -> R {
        // The sequencer catches panics while it holds the write lock, so the lock is never
        // poisoned; should it be, the engine behind it was rebuilt and is whole.
        f(&self.engine.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Why the session is suspended, if it is.
    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sends commands through the sequencer and waits until they are committed. `render` runs
    /// inside the sequencer, after the commands, with the session as they left it.
    pub async fn submit(
        &self,
        commands: Vec<Command>,
        key: Option<Scoped>,
        render: Render,
    ) -> Result<Reply, ApiError> {
        if let Some(why) = self.failure() {
            return Err(suspended(self.id, &why));
        }
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
    /// Sessions whose journal did not replay at start, and why.
    unloadable: RwLock<BTreeMap<SessionId, String>>,
    store: Store,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
}

/// Rebuilds a session by replaying its journal (a panic in the engine is an error here).
async fn rebuild(
    store: &Store,
    id: SessionId,
    settings: &SessionSettings,
) -> Result<Session, ApiError> {
    let journal = store.journal(id).await?;
    catch(|| {
        let entries = journal.into_iter().map(JournalEntry::stamped);
        Session::replay(id, settings.clone(), entries).map_err(|e| match e.seq {
            Some(_) => ApiError::unavailable(format!("session {id}: {e}")),
            None => ApiError::from(e.error),
        })
    })
    .unwrap_or_else(|panic| {
        Err(ApiError::unavailable(format!(
            "session {id}: replaying its journal panicked: {panic}"
        )))
    })
}

/// Stores a published session's snapshot, so that the next start need not replay its journal.
/// Derived data: a failure is logged, and the next start replays (and tries again).
async fn store_snapshot(store: &Store, snapshot: &Snapshot, at_ms: i64) {
    let Some(last_seq) = snapshot.last_seq else {
        return;
    };
    let stored = serde_json::to_string(snapshot).map(|json| StoredSnapshot { last_seq, json });
    let written = match stored {
        Ok(stored) => store
            .put_session_snapshot(snapshot.id, &stored, at_ms)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = written {
        tracing::warn!(session = %snapshot.id, error = %e, "snapshot not stored; the next start replays the journal");
    }
}

/// A published session from its stored snapshot, if there is one that covers its whole journal
/// and restores; `None` means a replay.
fn restored(
    row: &store::SessionRow,
    snapshots: &BTreeMap<SessionId, StoredSnapshot>,
    last_seqs: &BTreeMap<SessionId, u64>,
) -> Option<Session> {
    let stored = snapshots.get(&row.id)?;
    if row.state != SessionState::Published || last_seqs.get(&row.id) != Some(&stored.last_seq) {
        return None;
    }
    let snapshot: Snapshot = serde_json::from_str(&stored.json).ok()?;
    if snapshot.id != row.id || snapshot.settings != row.settings {
        return None;
    }
    Session::restore_published(snapshot)
}

impl Hub {
    /// Loads every session from the store — a published one from its snapshot when it has one,
    /// the others by replaying their journals — and starts their sequencers.
    pub async fn load(
        store: Store,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
    ) -> Result<Hub, ApiError> {
        let hub = Hub {
            sessions: RwLock::new(BTreeMap::new()),
            unloadable: RwLock::new(BTreeMap::new()),
            store,
            clock,
            metrics,
        };
        let snapshots = hub.store.session_snapshots().await?;
        let last_seqs = hub.store.journal_last_seqs().await?;
        for row in hub.store.sessions().await? {
            if let Some(session) = restored(&row, &snapshots, &last_seqs) {
                Metrics::inc(&hub.metrics.sessions_from_snapshots);
                hub.start(row.name, session);
                continue;
            }
            let loaded = rebuild(&hub.store, row.id, &row.settings)
                .await
                .and_then(|session| {
                    if session.state() == row.state {
                        Ok(session)
                    } else {
                        Err(ApiError::unavailable(format!(
                            "session {}: the journal replays to state {} but the store says {}",
                            row.id,
                            session.state(),
                            row.state
                        )))
                    }
                });
            match loaded {
                Ok(session) => {
                    if session.state() == SessionState::Published {
                        store_snapshot(&hub.store, &session.snapshot(), hub.clock.now_ms()).await;
                    }
                    hub.start(row.name, session);
                }
                Err(e) => {
                    // One broken session must not keep the market closed: report it, leave it
                    // out, and answer its routes with 503 naming the fault.
                    tracing::error!(session = %row.id, error = %e.message, "session not loaded");
                    hub.unloadable
                        .write()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(row.id, e.message);
                }
            }
        }
        Ok(hub)
    }

    /// Starts the sequencer of a session and registers it.
    pub fn start(&self, name: String, session: Session) -> Arc<SessionHandle> {
        let id = session.id();
        let settings = session.settings().clone();
        let engine = Arc::new(RwLock::new(session));
        let (queue, jobs) = mpsc::channel(QUEUE);
        let failure: Failure = Arc::default();
        let handle = Arc::new(SessionHandle {
            id,
            name,
            engine: Arc::clone(&engine),
            queue,
            failure: Arc::clone(&failure),
        });
        let sequencer = Sequencer {
            id,
            settings,
            engine,
            failure,
            store: self.store.clone(),
            clock: Arc::clone(&self.clock),
            metrics: Arc::clone(&self.metrics),
        };
        tokio::spawn(sequencer.run(jobs));
        self.sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, Arc::clone(&handle));
        handle
    }

    /// A session, 503 if it could not be loaded, or 404.
    pub fn session(&self, id: SessionId) -> Result<Arc<SessionHandle>, ApiError> {
        if let Some(why) = self
            .unloadable
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
        {
            return Err(suspended(id, why));
        }
        self.sessions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("session {} does not exist", id.0)))
    }

    /// Every loaded session, by id.
    pub fn all(&self) -> Vec<Arc<SessionHandle>> {
        self.sessions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// Reads every session at once, by id: for rules that span sessions (the month close,
    /// statistics). Each engine is read-locked for the duration of `f`, which must be short;
    /// a sequencer holds only its own lock, so this cannot deadlock with them.
    pub fn read_all<R>(&self, f: impl FnOnce(&[&Session]) -> R) -> R {
        let mut handles = self.all();
        handles.sort_by_key(|h| h.id);
        let guards: Vec<_> = handles
            .iter()
            .map(|h| h.engine.read().unwrap_or_else(PoisonError::into_inner))
            .collect();
        let sessions: Vec<&Session> = guards.iter().map(|g| &**g).collect();
        f(&sessions)
    }

    /// The sessions left out at start, and why.
    pub fn unloadable(&self) -> Vec<(SessionId, String)> {
        self.unloadable
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(id, why)| (*id, why.clone()))
            .collect()
    }
}

struct Sequencer {
    id: SessionId,
    settings: SessionSettings,
    engine: Arc<RwLock<Session>>,
    failure: Failure,
    store: Store,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
}

/// A job's work: its commands, its key and how to render its reply.
type Work = (Vec<Command>, Option<Scoped>, Render);

impl Sequencer {
    /// Applies a group's jobs to the engine, filling `batch` with what to commit; returns each
    /// job's reply, to send once the batch is committed.
    fn apply_group(&self, engine: &mut Session, work: Vec<Work>, batch: &mut Batch) -> Vec<Reply> {
        let state_before = engine.state();
        let mut replies = Vec::with_capacity(work.len());
        for (commands, key, render) in work {
            let mut outcomes = Vec::with_capacity(commands.len());
            for command in commands {
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
                                Event::OrderAccepted { order } => batch.orders.push(order.clone()),
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
            let reply = render(engine, &outcomes);
            if let Some(key) = key {
                batch.responses.push(key.remember(&reply));
            }
            replies.push(reply);
        }
        if engine.state() != state_before {
            batch.state = Some(engine.state());
        }
        replies
    }

    /// After a panic: puts the engine back to what the store holds and suspends the session.
    async fn suspend(&self, panic: &str) {
        Metrics::inc(&self.metrics.session_panics);
        tracing::error!(session = %self.id, panic, "the session's engine panicked; suspending the session");
        let why = format!("its engine failed on a request ({panic})");
        match rebuild(&self.store, self.id, &self.settings).await {
            Ok(session) => {
                *self.engine.write().unwrap_or_else(PoisonError::into_inner) = session;
            }
            Err(e) => {
                tracing::error!(session = %self.id, error = %e.message, "rebuild after a panic failed");
            }
        }
        *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(why);
    }

    /// Takes jobs and commits them in groups, one commit at a time, applying the next group
    /// while the last one commits.
    ///
    /// Two groups at most are in hand: `committing`, whose batch is being written, and `open`,
    /// applied to the engine since and growing with every job that arrives until that write
    /// ends; then `open` is written at once. No reply of `open` is sent before `committing` is
    /// durable (a reply may describe what `committing` did), and if `committing` fails,
    /// `open` is never written: the engine is rebuilt from the store and both groups' jobs are
    /// told 503. A group that changes the session's state takes no more jobs, and while it
    /// commits nothing new is applied, so a publish's snapshot is the published state alone.
    async fn run(self, mut jobs: mpsc::Receiver<Job>) {
        let mut open: Option<Applied> = None;
        let mut committing: Option<Committing> = None;
        let mut closed = false;
        loop {
            if committing.is_none()
                && let Some(applied) = open.take()
            {
                committing = self.commit(applied);
            }
            if closed && committing.is_none() && open.is_none() {
                return;
            }
            let takes_jobs = !closed
                && committing.as_ref().is_none_or(|c| c.state.is_none())
                && open.as_ref().is_none_or(Applied::takes_more);
            tokio::select! {
                biased;
                written = async { (&mut committing.as_mut().expect("guarded").task).await },
                    if committing.is_some() =>
                {
                    let done = committing.take().expect("guarded");
                    if !self.finish(done, written).await {
                        // The engine was rebuilt from the store, which holds nothing of `open`.
                        if let Some(applied) = open.take() {
                            applied.refuse(|| ApiError::unavailable(
                                "the store failed on the request committed just before this one, \
                                 so this one was not recorded and may be retried",
                            ));
                        }
                    }
                }
                job = jobs.recv(), if takes_jobs => {
                    let Some(first) = job else {
                        closed = true;
                        continue;
                    };
                    let mut group = vec![first];
                    let mut commands = group[0].commands.len()
                        + open.as_ref().map_or(0, |o| o.commands);
                    while commands < MAX_BATCH {
                        match jobs.try_recv() {
                            Ok(job) => {
                                commands += job.commands.len();
                                group.push(job);
                            }
                            Err(_) => break,
                        }
                    }
                    if let Err(panic) = self.apply_into(&mut open, group) {
                        // The store must hold what the engine is rebuilt from: let the commit
                        // in flight end first.
                        if let Some(mut done) = committing.take() {
                            let written = (&mut done.task).await;
                            self.finish(done, written).await;
                        }
                        self.suspend(&panic).await;
                        if let Some(applied) = open.take() {
                            applied.refuse(|| ApiError::new(
                                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                                "internal_error",
                                format!("session {} failed while applying this request, which was not recorded: {panic}", self.id.0),
                            ));
                        }
                    }
                }
            }
        }
    }

    /// Applies a group of jobs to the engine, adding them to `open` (made if there is none).
    /// A panic is returned with `open` holding the group's jobs, none of them answered.
    fn apply_into(&self, open: &mut Option<Applied>, group: Vec<Job>) -> Result<(), String> {
        if let Some(why) = self
            .failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            for job in group {
                let _ = job.reply.send(Err(suspended(self.id, &why)));
            }
            return Ok(());
        }
        let applied = open.get_or_insert_with(|| Applied::new(self.id));
        // The reply senders stay out of the engine's reach, so that a panic can still answer
        // every job.
        let mut work = Vec::with_capacity(group.len());
        for job in group {
            applied.commands += job.commands.len();
            applied.senders.push(job.reply);
            work.push((job.commands, job.key, job.render));
        }
        let mut engine = self.engine.write().unwrap_or_else(PoisonError::into_inner);
        let replies = catch(|| self.apply_group(&mut engine, work, &mut applied.batch))?;
        applied.replies.extend(replies);
        Ok(())
    }

    /// Starts writing an applied group; a group with nothing to write is answered at once
    /// (nothing is in flight before it, or it would not be committed yet).
    fn commit(&self, applied: Applied) -> Option<Committing> {
        let Applied {
            batch,
            senders,
            replies,
            ..
        } = applied;
        let wrote =
            !batch.entries.is_empty() || !batch.responses.is_empty() || batch.state.is_some();
        if !wrote {
            for (sender, reply) in senders.into_iter().zip(replies) {
                let _ = sender.send(Ok(reply));
            }
            return None;
        }
        let state = batch.state;
        let store = self.store.clone();
        let metrics = Arc::clone(&self.metrics);
        // A task of its own, so that the write goes on while the sequencer applies the next
        // group (on PostgreSQL the future itself does the talking, and must be polled).
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let result = store.append(&batch).await;
            metrics
                .commit_micros
                .fetch_add(started.elapsed().as_micros() as u64, Relaxed);
            Metrics::inc(&metrics.batches);
            metrics
                .batch_entries
                .fetch_add(batch.entries.len() as u64, Relaxed);
            result
        });
        Some(Committing {
            task,
            state,
            senders,
            replies,
        })
    }

    /// Answers a group whose write has ended; `false` if it failed, when the engine has been
    /// rebuilt from the store.
    async fn finish(
        &self,
        done: Committing,
        written: Result<store::Result<()>, tokio::task::JoinError>,
    ) -> bool {
        let written = match written {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(e) => Err(format!("the commit's task ended without an answer: {e}")),
        };
        match written {
            Ok(()) => {
                // Before the replies, so that a publish acknowledged is a snapshot stored (or
                // its failure logged): the next start loads it without a replay.
                if done.state == Some(SessionState::Published) {
                    let snapshot = self
                        .engine
                        .read()
                        .unwrap_or_else(PoisonError::into_inner)
                        .snapshot();
                    store_snapshot(&self.store, &snapshot, self.clock.now_ms()).await;
                }
                for (sender, reply) in done.senders.into_iter().zip(done.replies) {
                    let _ = sender.send(Ok(reply));
                }
                true
            }
            Err(e) => {
                Metrics::inc(&self.metrics.commit_failures);
                tracing::error!(session = %self.id, error = %e, "group commit failed; rebuilding the session from the store");
                match rebuild(&self.store, self.id, &self.settings).await {
                    Ok(session) => {
                        *self.engine.write().unwrap_or_else(PoisonError::into_inner) = session
                    }
                    Err(rebuild_error) => {
                        tracing::error!(session = %self.id, error = ?rebuild_error, "rebuild failed");
                    }
                }
                for sender in done.senders {
                    let _ = sender.send(Err(ApiError::unavailable(format!(
                        "the store failed; the request was not recorded and may be retried: {e}"
                    ))));
                }
                false
            }
        }
    }
}

/// Jobs applied to the engine and not yet being written: the batch to write, and the replies
/// to send once it is durable.
struct Applied {
    batch: Batch,
    senders: Vec<oneshot::Sender<Result<Reply, ApiError>>>,
    replies: Vec<Reply>,
    commands: usize,
}

impl Applied {
    fn new(session: SessionId) -> Applied {
        Applied {
            batch: Batch::new(session),
            senders: Vec::new(),
            replies: Vec::new(),
            commands: 0,
        }
    }

    /// Whether more jobs may join: not past [`MAX_BATCH`] commands, and no change of state.
    fn takes_more(&self) -> bool {
        self.commands < MAX_BATCH && self.batch.state.is_none()
    }

    /// Answers every job with an error: the group will not be written.
    fn refuse(self, error: impl Fn() -> ApiError) {
        for sender in self.senders {
            let _ = sender.send(Err(error()));
        }
    }
}

/// A group whose batch is being written, by a task of its own.
struct Committing {
    task: tokio::task::JoinHandle<store::Result<()>>,
    state: Option<SessionState>,
    senders: Vec<oneshot::Sender<Result<Reply, ApiError>>>,
    replies: Vec<Reply>,
}
