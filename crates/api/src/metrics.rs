//! Counters for `/metrics`, in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Process-wide counters. All monotone except where named a gauge.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Commands the engine accepted (and the store committed).
    pub commands_accepted: AtomicU64,
    /// Commands the engine refused.
    pub commands_refused: AtomicU64,
    /// Group commits.
    pub batches: AtomicU64,
    /// Journal entries written by group commits.
    pub batch_entries: AtomicU64,
    /// Time spent committing, in microseconds.
    pub commit_micros: AtomicU64,
    /// Failed commits (the session was rebuilt from the store).
    pub commit_failures: AtomicU64,
    /// Requests answered from a remembered idempotency key.
    pub idempotent_replays: AtomicU64,
    /// HTTP requests served.
    pub http_requests: AtomicU64,
    /// Requests with a missing, malformed or unknown token.
    pub failed_sign_ins: AtomicU64,
    /// Panics caught in a session's sequencer (the session was suspended).
    pub session_panics: AtomicU64,
    /// Published sessions loaded at start from their stored snapshots (not replayed).
    pub sessions_from_snapshots: AtomicU64,
}

impl Metrics {
    /// Adds one to a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    /// The text exposition, with `sessions` as a gauge of sessions per state.
    pub fn render(&self, sessions: &[(&str, usize)]) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        counter(
            "lvdian_commands_accepted_total",
            "Commands accepted and committed.",
            self.commands_accepted.load(Relaxed),
        );
        counter(
            "lvdian_commands_refused_total",
            "Commands refused by the engine.",
            self.commands_refused.load(Relaxed),
        );
        counter(
            "lvdian_group_commits_total",
            "Group commits of session journals.",
            self.batches.load(Relaxed),
        );
        counter(
            "lvdian_journal_entries_total",
            "Journal entries written.",
            self.batch_entries.load(Relaxed),
        );
        counter(
            "lvdian_commit_microseconds_total",
            "Time spent in group commits.",
            self.commit_micros.load(Relaxed),
        );
        counter(
            "lvdian_commit_failures_total",
            "Failed group commits.",
            self.commit_failures.load(Relaxed),
        );
        counter(
            "lvdian_sessions_from_snapshots_total",
            "Published sessions loaded at start from a snapshot instead of a replay.",
            self.sessions_from_snapshots.load(Relaxed),
        );
        counter(
            "lvdian_idempotent_replays_total",
            "Requests answered from an idempotency key.",
            self.idempotent_replays.load(Relaxed),
        );
        counter(
            "lvdian_http_requests_total",
            "HTTP requests served.",
            self.http_requests.load(Relaxed),
        );
        counter(
            "lvdian_failed_sign_ins_total",
            "Requests with a missing, malformed or unknown token.",
            self.failed_sign_ins.load(Relaxed),
        );
        counter(
            "lvdian_session_panics_total",
            "Panics caught in session sequencers (each suspended its session).",
            self.session_panics.load(Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP lvdian_sessions Sessions by state.\n# TYPE lvdian_sessions gauge"
        );
        for (state, n) in sessions {
            let _ = writeln!(out, "lvdian_sessions{{state=\"{state}\"}} {n}");
        }
        out
    }
}
