//! SQLite's group commits: a connection of their own, which leaves checkpoints to a task.
//!
//! **A connection of their own.** SQLite keeps a page cache per connection and drops it when
//! another connection has written since. The pool hands its connections out in turn, so nearly
//! every group commit ran on a connection whose cache the previous commit had made stale. Group
//! commits therefore go through a pool of one connection, whose cache stays warm; other writes
//! and all reads use the main pool (SQLite serialises writers anyway, and `BEGIN IMMEDIATE`
//! with the busy timeout makes them queue). Its statement journal — the undo of a multi-row
//! `INSERT` that fails half-way — is kept in memory (`temp_store=memory`) rather than spilled
//! to a temporary file once it passes 64 KiB, as a group commit's usually does.
//!
//! **Checkpoints beside the commits.** By default SQLite checkpoints — copies the WAL's pages
//! into the database file and fsyncs it — inside whichever commit takes the WAL past 1,000
//! pages. That commit, and every reply waiting for it, then waits for the copy too: under the
//! load test it was the tail of single orders' latency (p99 10.1–10.5 ms with it, 8.3 ms without
//! any checkpoint). So this connection never checkpoints (`wal_autocheckpoint=0`), and a task of
//! the store runs a `PASSIVE` checkpoint every [`INTERVAL`] through the main pool instead. A
//! passive checkpoint waits for no reader or writer and copies nothing when the WAL holds
//! nothing new; durability does not change, as every commit is in the WAL, synced, before it
//! returns. The main pool's connections keep SQLite's default, so a bulk write through them
//! (meter data) still checkpoints as it goes, and closing the store checkpoints what is left.

use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// How often the WAL is checkpointed. The load test's 10,000 orders/s write about 100 MB of WAL
/// in this time, most of it the same pages again, which one checkpoint copies once; checkpoints
/// every 200 ms cost it a tenth of its throughput.
pub(crate) const INTERVAL: Duration = Duration::from_secs(1);

/// The group commits' side of one SQLite store, shared by its clones; dropping the last stops
/// the checkpoints.
#[derive(Debug)]
pub(crate) struct SqliteWriter {
    /// One connection, for group commits.
    pub(crate) commits: SqlitePool,
    checkpoints: JoinHandle<()>,
}

impl SqliteWriter {
    /// Opens the group commits' connection with `options` (those of the main pool) and starts
    /// checkpointing the WAL through `pool`.
    pub(crate) async fn start(
        options: SqliteConnectOptions,
        pool: &SqlitePool,
    ) -> sqlx::Result<SqliteWriter> {
        let commits = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(
                options
                    .pragma("wal_autocheckpoint", "0")
                    .pragma("temp_store", "memory"),
            )
            .await?;
        let pool = pool.clone();
        let checkpoints = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(INTERVAL);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            while !pool.is_closed() {
                ticks.tick().await;
                // A failed checkpoint loses nothing: the pages stay in the WAL, readers find
                // them there, and the next tick (or the close) copies them.
                let _ = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&pool)
                    .await;
            }
        });
        Ok(SqliteWriter {
            commits,
            checkpoints,
        })
    }

    /// Closes the group commits' connection and stops the checkpoints.
    pub(crate) async fn close(&self) {
        self.checkpoints.abort();
        self.commits.close().await;
    }
}

impl Drop for SqliteWriter {
    fn drop(&mut self) {
        self.checkpoints.abort();
    }
}
