//! Final settlement reports, read once and kept: a final run is never reopened (spec §5), so a
//! month's report and the parties of its lines never change once recorded. Reading one costs
//! decompressing and parsing the month's record and finding every delivering contract's parties
//! (about 0.1–0.2 s at Zhejiang's size); a participant's settlement page then only filters.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use domain::{ParticipantId, YearMonth};

use crate::AppState;
use crate::error::ApiError;

/// How many months are kept (the ones participants look at are the last few).
const KEPT_MONTHS: usize = 4;

/// A month's final settlement with the parties of its lines.
#[derive(Debug)]
pub struct SettledMonth {
    /// The report as recorded.
    pub report: market::SettlementReport,
    /// Each line's contract (`S<session>-C<contract>`) → (seller, buyer).
    pub parties: BTreeMap<String, (ParticipantId, ParticipantId)>,
}

/// The months read last, newest at the back.
#[derive(Default)]
pub struct SettledCache(Mutex<VecDeque<(YearMonth, Arc<SettledMonth>)>>);

impl SettledCache {
    fn get(&self, month: YearMonth) -> Option<Arc<SettledMonth>> {
        let kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        kept.iter()
            .find(|(m, _)| *m == month)
            .map(|(_, s)| Arc::clone(s))
    }

    fn keep(&self, month: YearMonth, settled: Arc<SettledMonth>) {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        kept.retain(|(m, _)| *m != month);
        kept.push_back((month, settled));
        while kept.len() > KEPT_MONTHS {
            kept.pop_front();
        }
    }
}

impl AppState {
    /// The final settlement of `month` with its lines' parties, or 404 when it has none.
    pub async fn settled_month(&self, month: YearMonth) -> Result<Arc<SettledMonth>, ApiError> {
        if let Some(hit) = self.settled.get(month) {
            return Ok(hit);
        }
        let key = month.to_string();
        let stored = self
            .store
            .final_settlement(&key)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("{month} has no final settlement")))?;
        let report = crate::routes::certificates::read_report(&key, &stored)?;
        let lines: BTreeSet<&str> = report.lines.iter().map(|l| l.contract.as_str()).collect();
        let parties = self
            .hub
            .read_all(|sessions| market::delivering(sessions.iter().copied(), month))
            .into_iter()
            .filter(|c| lines.contains(c.terms.id.as_str()))
            .map(|c| (c.terms.id, (c.seller, c.buyer)))
            .collect();
        let settled = Arc::new(SettledMonth { report, parties });
        self.settled.keep(month, Arc::clone(&settled));
        Ok(settled)
    }
}
