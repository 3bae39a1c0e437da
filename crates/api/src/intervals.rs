//! Participants' 15-minute totals of a month (each participant's meters summed), kept between
//! requests. The hourly matching of one buyer needs the generation of every seller it bought
//! from; a retailer's sellers hold thousands of distributed-PV meters, so reading them is most of
//! the request (0.2–0.6 s at Zhejiang's size). Sellers are shared by many buyers, so their totals
//! are kept: valid until the next acknowledged meter upload (`POST /api/v1/meters/{month}`, the
//! only way meter data changes; `statistics::track_changes` counts them). At most [`CAPACITY`]
//! participant-months are kept (24 KB each); the least recently used go first.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use domain::YearMonth;

use crate::AppState;
use crate::error::ApiError;
use crate::routes::certificates::{meter_month, too_large};

/// Participant-months kept (about 100 MB at most).
const CAPACITY: usize = 4096;

/// A participant's quarter-hour totals, or `None` when it has no meter data for the month.
pub type Totals = Option<Arc<Vec<i64>>>;

struct Entry {
    generation: u64,
    totals: Totals,
    used: u64,
}

/// The kept entries by (month, participant id text), and a use counter.
type Entries = (BTreeMap<(YearMonth, String), Entry>, u64);

/// The kept totals and the count of meter uploads.
#[derive(Default)]
pub struct IntervalCache {
    entries: Mutex<Entries>,
    generation: AtomicU64,
}

impl IntervalCache {
    /// Marks every kept total stale (a meter upload was acknowledged).
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn get(&self, month: YearMonth, participant: &str, generation: u64) -> Option<Totals> {
        let mut guard = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let (entries, clock) = &mut *guard;
        *clock += 1;
        let entry = entries.get_mut(&(month, participant.to_owned()))?;
        if entry.generation != generation {
            return None;
        }
        entry.used = *clock;
        Some(entry.totals.clone())
    }

    fn put(&self, month: YearMonth, participant: String, generation: u64, totals: Totals) {
        let mut guard = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let (entries, clock) = &mut *guard;
        *clock += 1;
        if entries.len() >= CAPACITY && !entries.contains_key(&(month, participant.clone())) {
            let oldest = entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        entries.insert(
            (month, participant),
            Entry {
                generation,
                totals,
                used: *clock,
            },
        );
    }
}

impl AppState {
    /// The quarter-hour totals of `month` of each of `participants` (id texts), reading from the
    /// store only those not kept.
    pub async fn participant_totals(
        &self,
        month: YearMonth,
        participants: &[String],
    ) -> Result<BTreeMap<String, Totals>, ApiError> {
        let generation = self.intervals.generation.load(Ordering::Acquire);
        let mut out = BTreeMap::new();
        let mut missing = Vec::new();
        for p in participants {
            match self.intervals.get(month, p, generation) {
                Some(totals) => {
                    out.insert(p.clone(), totals);
                }
                None => missing.push(p.clone()),
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let stored = self
            .store
            .meter_months_of(&month.to_string(), &missing)
            .await?;
        let mut read = market::meters::participant_intervals(
            month,
            stored.iter().map(|(m, _)| meter_month(m)),
        )
        .map_err(too_large)?;
        for p in missing {
            let totals = read.remove(&p).map(Arc::new);
            self.intervals
                .put(month, p.clone(), generation, totals.clone());
            out.insert(p, totals);
        }
        Ok(out)
    }
}

impl AppState {
    /// Reads and keeps the last month with a final settlement — its report and the totals of
    /// every seller of the month — so the first participants to look at their settlement and
    /// hourly matching do not wait for them (`serve` calls it at start, after the statistics).
    pub async fn warm_hourly_matching(&self) -> Result<(), ApiError> {
        let Some(month) = self.store.final_settlement_months().await?.pop() else {
            return Ok(());
        };
        let Ok(month) = YearMonth::parse(&month) else {
            return Ok(());
        };
        // The sellers of the month's settled lines: the parties the report was read with.
        let settled = self.settled_month(month).await?;
        let mut sellers: Vec<String> = settled
            .parties
            .values()
            .map(|(seller, _)| seller.0.to_string())
            .collect();
        sellers.sort_unstable();
        sellers.dedup();
        self.participant_totals(month, &sellers).await.map(drop)
    }
}
