//! 月结: the month close — which contracts deliver in a month and how much (spec §4, 月度分解),
//! the carries they bring in from their previous final month (spec §5), and the settlement.
//!
//! A contract's volume is energy over its session's whole delivery window. Month `M` gets the
//! share of it that `M`'s days are of the window's days ([`monthly_volumes`]), so the months of a
//! year contract add up to the contract exactly. A cross-province contract's losses are shared
//! the same way ([`monthly_losses`]). Closing months in order chains each contract's sub-MWh
//! carry: the `carry_out` of its last final month is the `carry_in` of the next
//! ([`carries_into`]); a final close of `M` waits for every earlier month of the windows of the
//! contracts delivering in `M` ([`open_earlier_months`]), so no carry is skipped.

use std::collections::{BTreeMap, BTreeSet};

use domain::{Contract, ContractId, Kwh, ParticipantId, SessionId, YearMonth, split_by_weight};
use exchange::session::{DeliveryWindow, Session, SessionState};
use settlement::ContractTerms;

use crate::report::{SettlementLine, SettlementReport};

/// The id a contract settles under: `S<session>-C<contract>`.
pub fn contract_key(session: SessionId, contract: ContractId) -> String {
    format!("S{}-C{}", session.0, contract.0)
}

/// The session and contract a [`contract_key`] names, if `text` is one.
pub fn parse_contract_key(text: &str) -> Option<(SessionId, ContractId)> {
    let (session, contract) = text.strip_prefix('S')?.split_once("-C")?;
    let number = |t: &str| {
        (!t.is_empty() && t.len() <= 20 && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse::<u64>().ok())
            .flatten()
    };
    Some((SessionId(number(session)?), ContractId(number(contract)?)))
}

/// `C_k(M)` for every month `M` of `window` (spec §4): `volume` shared pro rata to the months'
/// days, in whole kWh, the kWh left by rounding going one each by largest remainder, then to
/// the earlier month. The months add up to `volume`.
///
/// # Panics
/// If `volume` is negative or the window is reversed (sessions validate both).
pub fn monthly_volumes(window: DeliveryWindow, volume: Kwh) -> Vec<(YearMonth, Kwh)> {
    let months: Vec<YearMonth> = window.first_month.through(window.last_month).collect();
    assert!(!months.is_empty(), "reversed delivery window {window:?}");
    let days: Vec<i64> = months.iter().map(|m| i64::from(m.days())).collect();
    months
        .into_iter()
        .zip(split_by_weight(volume.0, &days))
        .map(|(m, v)| (m, Kwh(v)))
        .collect()
}

/// A cross-province contract's losses of each month of `window`, shared like its volume, and
/// never above the month's volume.
///
/// Largest-remainder sharing is not monotone (the Alabama paradox), so a month's share of the
/// losses can exceed its share of the volume by one kWh when the two are almost equal; that
/// kWh moves to the earliest month with room, which exists because `loss ≤ volume`.
///
/// # Panics
/// If `loss` exceeds `volume` (an engine invariant).
pub fn monthly_losses(window: DeliveryWindow, volume: Kwh, loss: Kwh) -> Vec<Kwh> {
    assert!(loss <= volume, "loss {loss:?} above volume {volume:?}");
    let volumes = monthly_volumes(window, volume);
    let mut losses: Vec<Kwh> = monthly_volumes(window, loss)
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    for i in 0..losses.len() {
        let excess = losses[i].0 - volumes[i].1.0;
        if excess > 0 {
            losses[i].0 -= excess;
            let mut left = excess;
            for (l, (_, v)) in losses.iter_mut().zip(&volumes) {
                let room = (v.0 - l.0).min(left);
                l.0 += room;
                left -= room;
            }
            debug_assert_eq!(left, 0);
        }
    }
    losses
}

/// A contract delivering in the month being closed, with its terms of that month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthContract {
    /// The session that made it.
    pub session: SessionId,
    /// Its id within the session.
    pub contract: ContractId,
    /// Who sells (and whose certificates move).
    pub seller: ParticipantId,
    /// Who buys.
    pub buyer: ParticipantId,
    /// Its session's delivery window.
    pub window: DeliveryWindow,
    /// Its volume over the whole window, which the window's months share.
    pub window_volume: Kwh,
    /// Its terms for the month: id [`contract_key`], participants by id, `C_k(M)`, prices,
    /// the month's share of its losses; `carry_in` zero (the close adds it).
    pub terms: ContractTerms,
}

/// The contracts of published sessions (of any horizon) delivering in `month`, each with its
/// volume of the month; a contract whose share of the month rounds to nothing is left out.
/// Sorted by contract key.
pub fn delivering<'a>(
    sessions: impl IntoIterator<Item = &'a Session>,
    month: YearMonth,
) -> Vec<MonthContract> {
    let mut out = Vec::new();
    for s in sessions {
        let window = s.settings().delivery;
        if s.state() != SessionState::Published
            || month < window.first_month
            || month > window.last_month
        {
            continue;
        }
        let index = (month.index() - window.first_month.index()) as usize;
        for c in s.contracts() {
            if let Some(terms) = month_terms(c, window, index) {
                out.push(MonthContract {
                    session: s.id(),
                    contract: c.id,
                    seller: c.seller,
                    buyer: c.buyer,
                    window,
                    window_volume: c.total_volume(),
                    terms,
                });
            }
        }
    }
    out.sort_by(|a, b| a.terms.id.cmp(&b.terms.id));
    out
}

/// A contract's terms in the month at `index` of its window, or `None` if it delivers nothing
/// then.
fn month_terms(c: &Contract, window: DeliveryWindow, index: usize) -> Option<ContractTerms> {
    let volume = c.total_volume();
    let (_, volume_of_month) = monthly_volumes(window, volume)[index];
    if volume_of_month == Kwh::ZERO {
        return None;
    }
    let loss = c.corridor.as_ref().map_or(Kwh::ZERO, |k| k.total_loss());
    Some(ContractTerms {
        id: contract_key(c.session, c.id),
        seller: c.seller.0.to_string(),
        buyer: c.buyer.0.to_string(),
        volume: volume_of_month,
        energy_price: c.price.energy,
        env_price: c.price.environment,
        comp_price: c.compensation,
        carry_in: Kwh::ZERO,
        loss: monthly_losses(window, volume, loss)[index],
    })
}

/// The carry-ins of `month`: each contract's `carry_out` of its latest final month before
/// `month` (spec §5), from the final reports of earlier months (in any order). A contract with
/// no earlier final month carries nothing in.
pub fn carries_into<'a>(
    month: YearMonth,
    finals: impl IntoIterator<Item = &'a SettlementReport>,
) -> BTreeMap<String, Kwh> {
    let mut latest: BTreeMap<&str, (YearMonth, Kwh)> = BTreeMap::new();
    for report in finals {
        let Ok(m) = YearMonth::parse(&report.month) else {
            continue;
        };
        if m >= month {
            continue;
        }
        for line in &report.lines {
            let carry = Kwh(line.carry_out_kwh.parse().unwrap_or(0));
            let entry = latest.entry(&line.contract).or_insert((m, carry));
            if m >= entry.0 {
                *entry = (m, carry);
            }
        }
    }
    latest
        .into_iter()
        .map(|(k, (_, carry))| (k.to_owned(), carry))
        .collect()
}

/// The months before `month`, within the windows of `contracts`, in which one of them delivers
/// something and which are not in `finals`: a final close of `month` must wait for them, or a
/// carry would be skipped. Sorted.
pub fn open_earlier_months(
    month: YearMonth,
    contracts: &[MonthContract],
    finals: &BTreeSet<YearMonth>,
) -> Vec<YearMonth> {
    let mut open = BTreeSet::new();
    for c in contracts {
        for (m, v) in monthly_volumes(c.window, c.window_volume) {
            if m < month && v > Kwh::ZERO && !finals.contains(&m) {
                open.insert(m);
            }
        }
    }
    open.into_iter().collect()
}

/// The months whose final reports hold the carry-ins of `month` (see [`carries_into`]): each
/// contract's latest month before `month` in which it delivers something. Only those reports
/// need reading, usually just the month before.
pub fn carry_months(month: YearMonth, contracts: &[MonthContract]) -> BTreeSet<YearMonth> {
    contracts
        .iter()
        .filter_map(|c| {
            monthly_volumes(c.window, c.window_volume)
                .into_iter()
                .filter(|&(m, v)| m < month && v > Kwh::ZERO)
                .map(|(m, _)| m)
                .max()
        })
        .collect()
}

/// Settles `month` (spec §5): `contracts` with their carry-ins against each participant's
/// metered energy (`metered(participant id text)`). A draft report: `final` and `transfers`
/// are set by the caller that records it.
pub fn close_month(
    month: YearMonth,
    contracts: &[MonthContract],
    carries: &BTreeMap<String, Kwh>,
    metered: impl Fn(&str) -> Kwh,
) -> SettlementReport {
    let terms: Vec<ContractTerms> = contracts
        .iter()
        .map(|c| ContractTerms {
            carry_in: carries.get(&c.terms.id).copied().unwrap_or(Kwh::ZERO),
            ..c.terms.clone()
        })
        .collect();
    settle_terms(month, &terms, metered)
}

/// Settles `month` for contracts given with their month's terms and carries (as `lvdian settle`
/// reads them from `contracts.csv`): the report of [`close_month`].
pub fn settle_terms(
    month: YearMonth,
    terms: &[ContractTerms],
    metered: impl Fn(&str) -> Kwh,
) -> SettlementReport {
    let carry_in: BTreeMap<&str, Kwh> = terms.iter().map(|t| (t.id.as_str(), t.carry_in)).collect();
    let result = settlement::settle(month, terms, metered);
    SettlementReport {
        month: month.to_string(),
        is_final: None,
        lines: result
            .lines
            .iter()
            .map(|l| SettlementLine::of(l, carry_in[l.contract.as_str()]))
            .collect(),
        transfers: None,
        retail: Vec::new(),
    }
}

/// Checks a month's report against the contracts delivering in it: every contract has exactly
/// one line, and on each line the month's volume is accounted for exactly — delivered, short or
/// lost on corridors (`C = D + S + losses`, in kWh). Returns what does not add up.
pub fn check_conservation(
    report: &SettlementReport,
    contracts: &[MonthContract],
) -> Result<(), String> {
    let kwh = crate::report::kwh_of;
    let mut lines: BTreeMap<&str, usize> = BTreeMap::new();
    for line in &report.lines {
        *lines.entry(line.contract.as_str()).or_default() += 1;
        let parts = (
            kwh(&line.volume_mwh),
            kwh(&line.delivered_mwh),
            kwh(&line.shortfall_mwh),
            kwh(&line.lost_mwh),
        );
        let (Some(c), Some(d), Some(s), Some(l)) = parts else {
            return Err(format!(
                "{}: {}: a volume does not read",
                report.month, line.contract
            ));
        };
        if c != d + s + l {
            return Err(format!(
                "{}: {}: contracted {c} kWh is not delivered {d} + short {s} + lost {l}",
                report.month, line.contract
            ));
        }
    }
    for c in contracts {
        match lines.remove(c.terms.id.as_str()) {
            Some(1) => {}
            Some(n) => return Err(format!("{}: {} has {n} lines", report.month, c.terms.id)),
            None => return Err(format!("{}: {} has no line", report.month, c.terms.id)),
        }
    }
    match lines.keys().next() {
        Some(extra) => Err(format!(
            "{}: {extra} delivers nothing this month",
            report.month
        )),
        None => Ok(()),
    }
}
