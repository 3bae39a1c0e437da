//! 交易日历: the sessions of a year, when they run and how they are set.
//!
//! [`Calendar::for_year`] lays out, for the delivery year `Y` (with the default 95 sessions):
//!
//! | when | sessions | mode | scope | horizon, window | count |
//! |---|---|---|---|---|---|
//! | December of `Y−1` | annual inter-provincial | coupled call auction | inter | year, Jan–Dec | 1 |
//! | December of `Y−1` | annual bilateral | bilateral | intra | year, Jan–Dec | 1 |
//! | December of `Y−1` | annual auction | call auction (uniform) | intra | year, Jan–Dec | 1 |
//! | month `M−1`, for each `M` | monthly inter-provincial | coupled call auction | inter | month `M` | 12 |
//! | month `M−1` | monthly bilateral | bilateral | intra | month `M` | 12 |
//! | month `M−1` | monthly auction | call auction (high_low) | intra | month `M` | 12 |
//! | month `M−1` | monthly listing | listing | intra | month `M` | 12 |
//! | month `M`, March–October | intra-month inter-provincial | coupled call auction | inter | intra-month `M` | 8 |
//! | month `M`, days 8, 15, 22 | rolling matching (上/中/下旬) | rolling | intra | intra-month `M` | 36 |
//!
//! That is 95: 3 annual, 48 monthly, 44 intra-month; 21 inter-provincial and 74 provincial; by
//! mode 21 coupled and 13 other call auctions, 13 bilateral, 12 listing, 36 rolling. A
//! different [`YearTargets::sessions`] changes only the intra-month part: the rolling sessions
//! of a month are `(sessions − 51 − 8) / 12` (the first months get the remainder), at least one.
//!
//! Inter-provincial sessions run before the provincial sessions of the same horizon (省间优先),
//! so the imports are known when Zhejiang trades within the province. Every session uses 24
//! hourly periods, energy prices within the Zhejiang benchmark ±20 % (332.24–498.36
//! yuan/MWh), no cap on the environmental value, lots of 1 MWh, ranking on the total price and
//! a compensation price of 50 yuan/MWh. A coupled session's corridors offer a share of each
//! line's rating over the window (capacity per hourly period = rating × days × share): 45 % to
//! the annual session, 40 % to the monthly one and 15 % to the intra-month one, so the sessions
//! delivering in a month never offer more than the line.

use std::fmt;

use domain::{Kwh, PeriodTemplate, Price, Province, YearMonth};
use exchange::auction::Method;
use exchange::session::{
    BidOn, DeliveryWindow, Horizon, Mode, Scope, SessionCorridor, SessionSettings,
};
use serde::{Deserialize, Serialize};

use super::{Population, YearTargets};
use crate::BENCHMARK;

/// A civil date in Asia/Shanghai.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SimDate {
    /// The year.
    pub year: u16,
    /// The month, 1–12.
    pub month: u8,
    /// The day of the month.
    pub day: u8,
}

impl SimDate {
    /// The month the date is in.
    pub fn year_month(self) -> YearMonth {
        YearMonth::new(self.year, self.month).expect("a valid date")
    }

    /// Milliseconds since the Unix epoch at `hour`:00 local time (UTC+8) of this date: the
    /// clock a driver stamps the session's commands with.
    pub fn at_ms(self, hour: u8) -> i64 {
        let days = super::profile::days_from_civil(i64::from(self.year), self.month, self.day);
        (days * 24 + i64::from(hour) - 8) * 3_600_000
    }
}

impl fmt::Display for SimDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// What a session of the calendar is for; the agents bid by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// 年度省间: the annual coupled auction.
    AnnualInter,
    /// 年度双边: annual bilateral negotiation.
    AnnualBilateral,
    /// 年度集中竞价: the annual provincial call auction.
    AnnualAuction,
    /// 月度省间: a monthly coupled auction.
    MonthlyInter,
    /// 月度双边: monthly bilateral negotiation.
    MonthlyBilateral,
    /// 月度集中竞价: a monthly provincial call auction.
    MonthlyAuction,
    /// 月度挂牌: monthly listing.
    MonthlyListing,
    /// 月内省间: an intra-month coupled auction.
    IntraMonthInter,
    /// 月内滚动撮合: rolling matching, `round` of `rounds` in the month (0-based).
    Rolling {
        /// Which of the month's rolling sessions.
        round: u8,
        /// How many the month has.
        rounds: u8,
    },
}

impl SessionKind {
    /// Whether the session is inter-provincial.
    pub fn is_inter(self) -> bool {
        matches!(
            self,
            SessionKind::AnnualInter | SessionKind::MonthlyInter | SessionKind::IntraMonthInter
        )
    }
}

/// One session of the calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedSession {
    /// Its position in the calendar (0-based), the order to run the sessions in.
    pub index: usize,
    /// Its name, as announced.
    pub name: String,
    /// The day it runs (announced, opened, closed, cleared and published that day).
    pub date: SimDate,
    /// What it is for.
    pub kind: SessionKind,
    /// Its settings.
    pub settings: SessionSettings,
}

/// The sessions of a delivery year, in the order they run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calendar {
    /// The delivery year.
    pub year: u16,
    /// Sessions by date (then by the order above within a day).
    pub sessions: Vec<PlannedSession>,
}

/// Months with an intra-month inter-provincial session: the north-west's sunny and windy
/// season.
const INTRA_MONTH_INTER: std::ops::RangeInclusive<u8> = 3..=10;

/// Shares of a corridor's rating offered to each horizon, ‰.
const ANNUAL_SHARE: i64 = 450;
const MONTHLY_SHARE: i64 = 400;
const INTRA_MONTH_SHARE: i64 = 150;

impl Calendar {
    /// The calendar of delivery year `year` (see the module doc).
    pub fn for_year(year: u16, population: &Population, targets: &YearTargets) -> Calendar {
        let zj = Province::parse("ZJ").expect("static code");
        let month = |m: u8| YearMonth::new(year, m).expect("valid month");
        let mut planned: Vec<(SimDate, u8, String, SessionKind, SessionSettings)> = Vec::new();
        let whole_year = DeliveryWindow {
            first_month: month(1),
            last_month: month(12),
        };
        let before = |m: u8, day: u8| {
            let ym = month(m).minus_months(1).expect("month");
            SimDate {
                year: ym.year(),
                month: ym.month(),
                day,
            }
        };
        let intra = |horizon, mode, window| {
            settings(Scope::Intra(zj.clone()), horizon, mode, window, Vec::new())
        };
        let inter = |horizon, window: DeliveryWindow, share: i64| {
            let mut provinces: Vec<Province> = population
                .corridors
                .iter()
                .map(|c| c.from.clone())
                .collect();
            provinces.push(zj.clone());
            let days: i64 = window
                .first_month
                .through(window.last_month)
                .map(|m| i64::from(m.days()))
                .sum();
            let corridors = population
                .corridors
                .iter()
                .map(|c| SessionCorridor {
                    from: c.from.clone(),
                    to: c.to.clone(),
                    // kW × days of 1 h per period × share, whole MWh.
                    capacity: Kwh(
                        (c.rating_kw * days * share / 1_000 / 1_000 * 1_000).min(Kwh::MAX_VOLUME.0)
                    ),
                    capacity_by_period: Vec::new(),
                    loss: c.loss,
                    tariff: c.tariff,
                })
                .collect();
            settings(
                Scope::Inter(provinces),
                horizon,
                Mode::CallAuction(Method::Coupled),
                window,
                corridors,
            )
        };

        let dec = before(1, 8);
        planned.push((
            dec,
            0,
            format!("{year}年度省间绿电交易（西北—浙江）"),
            SessionKind::AnnualInter,
            inter(Horizon::Year, whole_year, ANNUAL_SHARE),
        ));
        planned.push((
            SimDate { day: 12, ..dec },
            0,
            format!("{year}年度省内绿电双边协商交易"),
            SessionKind::AnnualBilateral,
            intra(Horizon::Year, Mode::Bilateral, whole_year),
        ));
        planned.push((
            SimDate { day: 18, ..dec },
            0,
            format!("{year}年度省内绿电集中竞价交易"),
            SessionKind::AnnualAuction,
            intra(
                Horizon::Year,
                Mode::CallAuction(Method::Uniform),
                whole_year,
            ),
        ));

        let rolling_total = targets
            .sessions
            .saturating_sub(51 + INTRA_MONTH_INTER.count());
        for m in 1..=12u8 {
            let window = DeliveryWindow {
                first_month: month(m),
                last_month: month(m),
            };
            let label = format!("{year}年{m}月");
            planned.push((
                before(m, 15),
                1,
                format!("{label}省间绿电月度交易"),
                SessionKind::MonthlyInter,
                inter(Horizon::Month, window, MONTHLY_SHARE),
            ));
            planned.push((
                before(m, 18),
                1,
                format!("{label}省内绿电月度双边协商交易"),
                SessionKind::MonthlyBilateral,
                intra(Horizon::Month, Mode::Bilateral, window),
            ));
            planned.push((
                before(m, 21),
                1,
                format!("{label}省内绿电月度集中竞价交易"),
                SessionKind::MonthlyAuction,
                intra(Horizon::Month, Mode::CallAuction(Method::HighLow), window),
            ));
            planned.push((
                before(m, 24),
                1,
                format!("{label}省内绿电月度挂牌交易"),
                SessionKind::MonthlyListing,
                intra(Horizon::Month, Mode::Listing, window),
            ));
            let on = |day| SimDate {
                year,
                month: m,
                day,
            };
            if INTRA_MONTH_INTER.contains(&m) {
                planned.push((
                    on(5),
                    2,
                    format!("{label}省间绿电月内交易"),
                    SessionKind::IntraMonthInter,
                    inter(Horizon::IntraMonth, window, INTRA_MONTH_SHARE),
                ));
            }
            let rounds =
                (rolling_total / 12 + usize::from(usize::from(m) <= rolling_total % 12)).max(1);
            let rounds = u8::try_from(rounds.min(20)).expect("at most 20");
            for round in 0..rounds {
                // Spread over the month: days 8, 15, 22 for three rounds.
                let day = 8 + round * (21 / rounds.max(1)).min(7);
                planned.push((
                    on(day.min(28)),
                    2,
                    format!("{label}省内绿电月内滚动撮合交易（第{}场）", round + 1),
                    SessionKind::Rolling { round, rounds },
                    intra(Horizon::IntraMonth, Mode::Rolling, window),
                ));
            }
        }
        // Stable sort: by date; on one date, in the order pushed.
        planned.sort_by_key(|(date, _, _, _, _)| *date);
        let sessions = planned
            .into_iter()
            .enumerate()
            .map(|(index, (date, _, name, kind, settings))| PlannedSession {
                index,
                name,
                date,
                kind,
                settings,
            })
            .collect();
        Calendar { year, sessions }
    }

    /// How many sessions of each (mode, inter?) there are, sorted: for reports and tests.
    pub fn counts(&self) -> Vec<(String, bool, usize)> {
        let mut counts: std::collections::BTreeMap<(String, bool), usize> = Default::default();
        for s in &self.sessions {
            *counts
                .entry((s.settings.mode.to_string(), s.kind.is_inter()))
                .or_default() += 1;
        }
        counts.into_iter().map(|((m, i), n)| (m, i, n)).collect()
    }
}

/// The settings every session of the scenario shares, for one scope, horizon, mode and window.
fn settings(
    scope: Scope,
    horizon: Horizon,
    mode: Mode,
    delivery: DeliveryWindow,
    corridors: Vec<SessionCorridor>,
) -> SessionSettings {
    SessionSettings {
        scope,
        horizon,
        mode,
        delivery,
        template: PeriodTemplate::Hours,
        energy_price_min: Price(BENCHMARK.0 * 8 / 10),
        energy_price_max: Price(BENCHMARK.0 * 12 / 10),
        env_price_cap: None,
        lot: Kwh(1_000),
        bid_on: BidOn::Total,
        compensation: Price(5_000),
        corridors,
    }
}
