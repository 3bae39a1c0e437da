//! 年度统计: the annual report of spec §8, for the whole market and per province.
//!
//! Definitions (one for each figure, used by the API, the CLI and the dashboard alike):
//!
//! - A year's **traded** volume is the contracted energy *delivering* in the year: each contract
//!   of a published session contributes its months' volumes `C_k(M)` (spec §4, 月度分解) for
//!   the months `M` of the year, as sent at the seller's end. A session is **counted** in a
//!   year when it is published and its delivery window has a month in the year.
//! - **Settled** volume is the green energy delivered (`D_k`) in the year's final settlement
//!   runs.
//! - **Growth** is year on year: `(this − last) / last` in percent, 2 decimals, rounded half
//!   away from zero; null when last year had nothing.
//! - **Participants** are the distinct parties to counted contracts; **users** (电力用户) are the
//!   distinct wholesale users (role `user`) among the buyers, and the retail users whose retail
//!   contract covers a month in which their retailer has a contract delivering.
//! - **Inter-provincial** volume is that of contracts between provinces (over a corridor, or
//!   between a seller and a buyer of different provinces); its share is of the traded volume,
//!   4 decimals, half away from zero ("0" with nothing traded).
//! - Volume **by technology** is a contract's volume shared among its seller's technologies pro
//!   rata to the capacity of its projects of each (the §3.3 sharing rule; `unknown` for a seller
//!   without projects); **by source province**, the seller's province.
//! - **Average prices** (energy and environmental) are weighted by volume:
//!   `Σ(volume × price) / Σ volume`, rounded half away from zero to 0.01 yuan/MWh, the one
//!   rounding of spec §1; null with no volume.
//! - **Certificates** issued, transferred (by settlement, bilateral trade or a listing) and
//!   claimed are counted by production month in the year, from the registry's state (each
//!   certificate moves from its first holder at most once, so every move is counted once).
//! - **Top corridors** are those of coupled sessions by energy sent in the year, most first
//!   (ties by name), at most 10.
//! - **Months**: each month's traded volume within and between provinces, settled volume and
//!   certificates (by production month); **price bands**: traded volume by energy price in bands
//!   of 20.00 yuan/MWh (`[from, to)`).
//!
//! Per province, the figures are the province's side of the market: `sold` and `exported` of
//! its sellers (sent), `bought` and `imported` of its buyers (received, after losses);
//! `traded` is what its buyers contracted (sent, so prices weigh what they pay for) and the
//! averages, technologies and sources are of that; `settled` is delivered to its buyers;
//! certificates are of its projects; corridors are those into or out of it.
//!
//! Sums run over any number of sessions and months, so they are `i128`: each term is below
//! 10^17 kWh (a session's bound) or 3·10^24 kWh·fen/MWh.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use domain::{
    Contract, ContractId, Kwh, Participant, ParticipantId, Price, Project, ProjectCode, Province,
    Role, SessionId, TwoPartPrice, YearMonth, div_round_half_away, split_by_weight,
};
use exchange::auction::Method;
use exchange::session::{DeliveryWindow, Mode, Scope, Session, SessionState};
use registry::Registry;
use serde::{Deserialize, Serialize};

use crate::close::{monthly_losses, monthly_volumes, parse_contract_key};
use crate::report::SettledVolumes;
use crate::report::kwh_of;

/// How many corridors the report lists.
pub const TOP_CORRIDORS: usize = 10;

/// The width of the energy price bands of the price distribution: 20.00 yuan/MWh.
pub const PRICE_BAND: Price = Price(2_000);

/// What the statistics are computed from.
#[derive(Debug, Clone, Copy)]
pub struct MarketFacts<'a> {
    /// Every session (only published ones count).
    pub sessions: &'a [&'a Session],
    /// Every participant (for provinces).
    pub participants: &'a [Participant],
    /// Every project (for technologies and the certificates' provinces).
    pub projects: &'a [Project],
    /// What the final settlement reports settled, of every month settled finally (those of
    /// the year and the year before suffice).
    pub finals: &'a [SettledVolumes],
    /// The certificate registry.
    pub registry: &'a Registry,
    /// Retail contracts (retail users count as users in the months their retailer trades).
    pub retail: &'a [domain::RetailContract],
}

/// The annual report (spec §8): the whole market, then each province.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnnualReport {
    /// The year.
    pub year: u16,
    /// Published sessions delivering in the year.
    pub sessions: usize,
    /// Of them, per mode (a call auction with its method, e.g. `call_auction/coupled`) and
    /// scope, sorted by mode then scope.
    pub sessions_by_mode: Vec<SessionCount>,
    /// Contracted MWh delivering in the year (sent at the sellers' end).
    pub traded_mwh: String,
    /// Growth of `traded_mwh` over the year before, percent; null when it had none.
    pub traded_growth_percent: Option<String>,
    /// MWh delivered in the year's final settlements.
    pub settled_mwh: String,
    /// Growth of `settled_mwh` over the year before, percent; null when it had none.
    pub settled_growth_percent: Option<String>,
    /// Of `traded_mwh`, crossing a corridor.
    pub inter_provincial_mwh: String,
    /// `inter_provincial_mwh / traded_mwh`, 4 decimals; "0" with nothing traded.
    pub inter_provincial_share: String,
    /// Distinct parties to counted contracts.
    pub participants: usize,
    /// Distinct buyers of counted contracts.
    pub users: usize,
    /// Volume-weighted average energy price (电能量价格), yuan/MWh; null with nothing traded.
    pub average_energy_price: Option<String>,
    /// Volume-weighted average environmental price (绿色环境价值), yuan/MWh; null likewise.
    pub average_env_price: Option<String>,
    /// Traded MWh by the sellers' projects' technology, sorted by technology.
    pub by_technology: Vec<TechnologyVolume>,
    /// Traded MWh by the sellers' province, sorted by province.
    pub by_source_province: Vec<ProvinceVolume>,
    /// Certificates of the year's production months.
    pub certificates: CertificateCounts,
    /// Per province with any figure, sorted by code.
    pub provinces: Vec<ProvinceStatistics>,
    /// Corridors by energy sent in the year, most first (ties by from, to); at most 10.
    pub top_corridors: Vec<CorridorStatistics>,
    /// The twelve months of the year, January first.
    pub months: Vec<MonthStatistics>,
    /// Traded MWh by energy price, in bands 20.00 yuan/MWh wide; only bands with volume,
    /// lowest first.
    pub energy_price_bands: Vec<PriceBand>,
}

/// One month of the year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonthStatistics {
    /// The month, `YYYY-MM`.
    pub month: String,
    /// Contracted MWh delivering in the month within a province.
    pub intra_mwh: String,
    /// Contracted MWh delivering in the month between provinces.
    pub inter_mwh: String,
    /// MWh delivered in the month's final settlement (zero before it runs).
    pub settled_mwh: String,
    /// Certificates of the month's production.
    pub certificates: CertificateCounts,
}

/// Traded MWh whose energy price lies in `[from_price, to_price)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceBand {
    /// The band's lowest price, yuan/MWh.
    pub from_price: String,
    /// The next band's lowest price, yuan/MWh.
    pub to_price: String,
    /// MWh.
    pub mwh: String,
}

/// One province's figures of the year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProvinceStatistics {
    /// The province code.
    pub province: String,
    /// MWh its sellers contracted (sent).
    pub sold_mwh: String,
    /// MWh its buyers contracted (received, after corridor losses).
    pub bought_mwh: String,
    /// Of `bought_mwh`, from other provinces.
    pub imported_mwh: String,
    /// Of `sold_mwh`, to other provinces.
    pub exported_mwh: String,
    /// MWh its buyers contracted, as sent (what their prices are paid on).
    pub traded_mwh: String,
    /// Growth of `traded_mwh` over the year before, percent; null when it had none.
    pub traded_growth_percent: Option<String>,
    /// MWh delivered to its buyers in the year's final settlements.
    pub settled_mwh: String,
    /// `imported_mwh / bought_mwh`, 4 decimals; "0" with nothing bought.
    pub inter_provincial_share: String,
    /// Counted sessions with a contract of one of its participants.
    pub sessions: usize,
    /// Distinct parties of the province to counted contracts.
    pub participants: usize,
    /// Distinct buyers of the province.
    pub users: usize,
    /// Average energy price of what its buyers contracted; null with none.
    pub average_energy_price: Option<String>,
    /// Average environmental price of what its buyers contracted; null with none.
    pub average_env_price: Option<String>,
    /// What its buyers contracted (sent), by technology.
    pub by_technology: Vec<TechnologyVolume>,
    /// What its buyers contracted (sent), by the sellers' province.
    pub by_source_province: Vec<ProvinceVolume>,
    /// Certificates of its projects.
    pub certificates: CertificateCounts,
    /// Corridors into or out of it, as in the market's list.
    pub top_corridors: Vec<CorridorStatistics>,
}

/// Sessions of one mode and scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionCount {
    /// bilateral, listing, call_auction/uniform, call_auction/high_low,
    /// call_auction/coupled or rolling.
    pub mode: String,
    /// intra or inter.
    pub scope: String,
    /// How many.
    pub sessions: usize,
}

/// MWh of one technology.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TechnologyVolume {
    /// wind_onshore, wind_offshore, pv_central, pv_distributed, hydro, biomass, other, or
    /// unknown (a seller without projects).
    pub technology: String,
    /// MWh.
    pub mwh: String,
}

/// MWh from one province.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProvinceVolume {
    /// The province code.
    pub province: String,
    /// MWh.
    pub mwh: String,
}

/// Certificates (1 MWh each) of a year's production months.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CertificateCounts {
    /// Issued.
    pub issued: u64,
    /// Transferred once (证电合一, bilateral or listed).
    pub transferred: u64,
    /// Claimed (核销).
    pub claimed: u64,
}

/// The energy across one corridor in a year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CorridorStatistics {
    /// Sending province.
    pub from: String,
    /// Receiving province.
    pub to: String,
    /// MWh sent.
    pub sent_mwh: String,
    /// MWh delivered (sent less losses).
    pub delivered_mwh: String,
}

/// A weighted sum of prices: Σ volume and Σ volume × price.
#[derive(Debug, Clone, Copy, Default)]
struct Priced {
    volume: i128,
    energy: i128,
    env: i128,
}

impl Priced {
    fn add(&mut self, volume: i128, price: TwoPartPrice) {
        self.volume += volume;
        self.energy += volume * i128::from(price.energy.0);
        self.env += volume * i128::from(price.environment.0);
    }

    /// The averages, or `None` with no volume. Each lies among the prices averaged, so
    /// within ±3·10^7 fen/MWh.
    fn average(&self) -> Option<TwoPartPrice> {
        let of = |value: i128| {
            let fen = div_round_half_away(value, self.volume);
            Price(i64::try_from(fen).expect("an average lies among the prices averaged"))
        };
        (self.volume > 0).then(|| TwoPartPrice {
            energy: of(self.energy),
            environment: of(self.env),
        })
    }
}

/// The volume-weighted average two-part price of `contracts` — `Σ(volume × price) / Σ volume`
/// for each part, rounded half away from zero to 0.01 yuan/MWh — or `None` with no volume: the
/// one definition of §8's average prices, for reports that average other sets of contracts
/// (the demo's sessions).
pub fn average_price<'a>(
    contracts: impl IntoIterator<Item = &'a Contract>,
) -> Option<TwoPartPrice> {
    let mut priced = Priced::default();
    for c in contracts {
        priced.add(i128::from(c.total_volume().0), c.price);
    }
    priced.average()
}

/// One scope's running totals (the market, or a province).
#[derive(Debug, Default)]
struct Tally {
    sold: i128,
    bought: i128,
    imported: i128,
    exported: i128,
    traded: i128,
    inter: i128,
    settled: i128,
    priced: Priced,
    sessions: BTreeSet<u64>,
    participants: BTreeSet<ParticipantId>,
    users: BTreeSet<ParticipantId>,
    technology: BTreeMap<&'static str, i128>,
    source: BTreeMap<Province, i128>,
    certificates: CertificateCounts,
}

/// Everything counted for a year.
#[derive(Debug, Default)]
struct Year {
    market: Tally,
    provinces: BTreeMap<Province, Tally>,
    modes: BTreeMap<(String, &'static str), usize>,
    corridors: BTreeMap<(Province, Province), (i128, i128)>,
    /// Month of the year (1–12) → intra volume, inter volume, settled, certificates.
    months: BTreeMap<u8, (i128, i128, i128, CertificateCounts)>,
    /// Energy price band (index of [`PRICE_BAND`]-wide bands) → volume.
    bands: BTreeMap<i64, i128>,
}

/// The annual report of `year` (spec §8).
pub fn annual_report(year: u16, facts: &MarketFacts<'_>) -> AnnualReport {
    let this = count(year, facts);
    let last = year.checked_sub(1).map(|y| count(y, facts));
    let growth = |now: i128, before: Option<i128>| before.and_then(|b| percent_change(now, b));
    let last_of = |p: &Province| last.as_ref().and_then(|l| l.provinces.get(p));
    let mut top: Vec<((Province, Province), (i128, i128))> = this.corridors.into_iter().collect();
    top.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(&b.0)));
    top.truncate(TOP_CORRIDORS);
    let corridor_rows = |of: Option<&Province>| -> Vec<CorridorStatistics> {
        top.iter()
            .filter(|((from, to), _)| of.is_none_or(|p| p == from || p == to))
            .map(|((from, to), (sent, delivered))| CorridorStatistics {
                from: from.to_string(),
                to: to.to_string(),
                sent_mwh: mwh(*sent),
                delivered_mwh: mwh(*delivered),
            })
            .collect()
    };
    let m = &this.market;
    let market_average = m.priced.average();
    AnnualReport {
        year,
        sessions: m.sessions.len(),
        sessions_by_mode: this
            .modes
            .iter()
            .map(|((mode, scope), n)| SessionCount {
                mode: mode.clone(),
                scope: (*scope).to_owned(),
                sessions: *n,
            })
            .collect(),
        traded_mwh: mwh(m.traded),
        traded_growth_percent: growth(m.traded, last.as_ref().map(|l| l.market.traded)),
        settled_mwh: mwh(m.settled),
        settled_growth_percent: growth(m.settled, last.as_ref().map(|l| l.market.settled)),
        inter_provincial_mwh: mwh(m.inter),
        inter_provincial_share: share(m.inter, m.traded),
        participants: m.participants.len(),
        users: m.users.len(),
        average_energy_price: market_average.map(|p| p.energy.to_string()),
        average_env_price: market_average.map(|p| p.environment.to_string()),
        by_technology: technologies(&m.technology),
        by_source_province: sources(&m.source),
        certificates: m.certificates.clone(),
        provinces: this
            .provinces
            .iter()
            .map(|(p, t)| (p, t, t.priced.average()))
            .map(|(p, t, average)| ProvinceStatistics {
                province: p.to_string(),
                sold_mwh: mwh(t.sold),
                bought_mwh: mwh(t.bought),
                imported_mwh: mwh(t.imported),
                exported_mwh: mwh(t.exported),
                traded_mwh: mwh(t.traded),
                traded_growth_percent: growth(t.traded, last_of(p).map(|l| l.traded)),
                settled_mwh: mwh(t.settled),
                inter_provincial_share: share(t.imported, t.bought),
                sessions: t.sessions.len(),
                participants: t.participants.len(),
                users: t.users.len(),
                average_energy_price: average.map(|p| p.energy.to_string()),
                average_env_price: average.map(|p| p.environment.to_string()),
                by_technology: technologies(&t.technology),
                by_source_province: sources(&t.source),
                certificates: t.certificates.clone(),
                top_corridors: corridor_rows(Some(p)),
            })
            .collect(),
        top_corridors: corridor_rows(None),
        months: (1..=12)
            .filter_map(|m| YearMonth::new(year, m).ok())
            .map(|m| {
                let (intra, inter, settled, certificates) =
                    this.months.get(&m.month()).cloned().unwrap_or_default();
                MonthStatistics {
                    month: m.to_string(),
                    intra_mwh: mwh(intra),
                    inter_mwh: mwh(inter),
                    settled_mwh: mwh(settled),
                    certificates,
                }
            })
            .collect(),
        energy_price_bands: this
            .bands
            .iter()
            .map(|(band, v)| PriceBand {
                from_price: Price(band * PRICE_BAND.0).to_string(),
                to_price: Price((band + 1) * PRICE_BAND.0).to_string(),
                mwh: mwh(*v),
            })
            .collect(),
    }
}

/// Counts one year.
fn count(year: u16, facts: &MarketFacts<'_>) -> Year {
    // Lookups only (never iterated), so hashing leaves the results in order.
    let province: HashMap<ParticipantId, &Province> = facts
        .participants
        .iter()
        .map(|p| (p.id, &p.province))
        .collect();
    let mut owned: BTreeMap<ParticipantId, Vec<&Project>> = BTreeMap::new();
    for p in facts.projects {
        owned.entry(p.owner).or_default().push(p);
    }
    // Each seller's technologies with their capacity, computed once.
    let technologies: HashMap<ParticipantId, Vec<(&'static str, i64)>> = owned
        .iter()
        .map(|(&owner, projects)| (owner, technology_weights(projects)))
        .collect();
    let role: HashMap<ParticipantId, Role> =
        facts.participants.iter().map(|p| (p.id, p.role)).collect();
    // (buyer, month) of every contract delivering in the year: a retailer's trading months.
    let mut retailer_months: BTreeSet<(ParticipantId, YearMonth)> = BTreeSet::new();
    let mut y = Year::default();
    // (seller, buyer) of each contract, for the settled volumes.
    let mut parties: HashMap<(SessionId, ContractId), (ParticipantId, ParticipantId)> =
        HashMap::new();
    let in_year = |m: YearMonth| m.year() == year;
    for s in facts.sessions {
        let window = s.settings().delivery;
        if s.state() != SessionState::Published
            || !window.first_month.through(window.last_month).any(in_year)
        {
            continue;
        }
        let scope = match s.settings().scope {
            Scope::Intra(_) => "intra",
            Scope::Inter(_) => "inter",
        };
        *y.modes
            .entry((mode_name(&s.settings().mode), scope))
            .or_default() += 1;
        y.market.sessions.insert(s.id().0);
        for period in s.clearing() {
            for f in period.flows.iter().filter(|f| f.sent > Kwh::ZERO) {
                let (months, lost) = part_of_year(window, f.sent, f.sent - f.delivered, year);
                let sent: i128 = months.iter().map(|(_, v)| i128::from(v.0)).sum();
                let entry = y
                    .corridors
                    .entry((f.from.clone(), f.to.clone()))
                    .or_default();
                entry.0 += sent;
                entry.1 += sent - lost;
            }
        }
        for c in s.contracts() {
            parties.insert((c.session, c.id), (c.seller, c.buyer));
            let total = c.total_volume();
            let loss_total = c.corridor.as_ref().map_or(Kwh::ZERO, |k| k.total_loss());
            let (months_of_year, lost) = part_of_year(window, total, loss_total, year);
            let sent: i128 = months_of_year.iter().map(|(_, v)| i128::from(v.0)).sum();
            if sent == 0 {
                continue;
            }
            // Across provinces: over a corridor, or between participants of two provinces.
            let crossing =
                c.corridor.is_some() || province.get(&c.seller) != province.get(&c.buyer);
            let by_technology = technology_shares(technologies.get(&c.seller), sent);
            let from = province.get(&c.seller).copied();
            let to = province.get(&c.buyer).copied();
            // The whole market.
            let m = &mut y.market;
            m.traded += sent;
            if crossing {
                m.inter += sent;
            }
            m.priced.add(sent, c.price);
            for (month, v) in &months_of_year {
                let tally = y.months.entry(month.month()).or_default();
                if crossing {
                    tally.1 += i128::from(v.0);
                } else {
                    tally.0 += i128::from(v.0);
                }
            }
            let band = c.price.energy.0.div_euclid(PRICE_BAND.0);
            *y.bands.entry(band).or_default() += sent;
            m.participants.extend([c.seller, c.buyer]);
            if role.get(&c.buyer) == Some(&Role::User) {
                m.users.insert(c.buyer);
            }
            for (month, _) in &months_of_year {
                retailer_months.insert((c.buyer, *month));
            }
            for (t, v) in &by_technology {
                *m.technology.entry(t).or_default() += v;
            }
            if let Some(p) = from {
                *slot(&mut m.source, p) += sent;
            }
            // The seller's province.
            if let Some(p) = from {
                let t = slot(&mut y.provinces, p);
                t.sold += sent;
                if crossing {
                    t.exported += sent;
                }
                t.sessions.insert(s.id().0);
                t.participants.insert(c.seller);
            }
            // The buyer's province.
            if let Some(p) = to {
                let t = slot(&mut y.provinces, p);
                t.bought += sent - lost;
                t.traded += sent;
                if crossing {
                    t.imported += sent - lost;
                }
                t.priced.add(sent, c.price);
                t.sessions.insert(s.id().0);
                t.participants.insert(c.buyer);
                if role.get(&c.buyer) == Some(&Role::User) {
                    t.users.insert(c.buyer);
                }
                for (tech, v) in &by_technology {
                    *t.technology.entry(tech).or_default() += v;
                }
                if let Some(source) = from {
                    *slot(&mut t.source, source) += sent;
                }
            }
        }
    }
    // Retail users served in the year: a retail contract covering a month their retailer traded.
    for r in facts.retail {
        let served = (1..=12)
            .filter_map(|m| YearMonth::new(year, m).ok())
            .any(|m| r.covers(m) && retailer_months.contains(&(r.retailer, m)));
        if served {
            y.market.users.insert(r.user);
            if let Some(p) = province.get(&r.user) {
                y.provinces
                    .entry((*p).clone())
                    .or_default()
                    .users
                    .insert(r.user);
            }
        }
    }
    for report in facts.finals {
        if !YearMonth::parse(&report.month).is_ok_and(in_year) {
            continue;
        }
        for line in &report.lines {
            // Stored reports are ours; an unreadable figure counts as nothing.
            let delivered = i128::from(kwh_of(&line.delivered_mwh).unwrap_or(0));
            y.market.settled += delivered;
            if let Ok(m) = YearMonth::parse(&report.month) {
                y.months.entry(m.month()).or_default().2 += delivered;
            }
            let buyer = parse_contract_key(&line.contract)
                .and_then(|key| parties.get(&key))
                .map(|(_, b)| b);
            if let Some(p) = buyer.and_then(|b| province.get(b)) {
                y.provinces.entry((*p).clone()).or_default().settled += delivered;
            }
        }
    }
    let project_province: BTreeMap<ProjectCode, &Province> = facts
        .projects
        .iter()
        .map(|p| (p.code, &p.province))
        .collect();
    for pm in facts.registry.lifecycle_counts() {
        if !in_year(pm.month) {
            continue;
        }
        let add = |c: &mut CertificateCounts| {
            c.issued += pm.issued;
            c.transferred += pm.transferred;
            c.claimed += pm.claimed;
        };
        add(&mut y.market.certificates);
        add(&mut y.months.entry(pm.month.month()).or_default().3);
        if let Some(p) = project_province.get(&pm.project) {
            add(&mut y.provinces.entry((*p).clone()).or_default().certificates);
        }
    }
    y
}

/// What of a window's `volume` falls in `year` (spec §4, by days): the year's months with their
/// volumes, and the year's part of `loss`.
fn part_of_year(
    window: DeliveryWindow,
    volume: Kwh,
    loss: Kwh,
    year: u16,
) -> (Vec<(YearMonth, Kwh)>, i128) {
    let losses = monthly_losses(window, volume, loss);
    let mut months = Vec::new();
    let mut lost = 0i128;
    for ((month, v), l) in monthly_volumes(window, volume).into_iter().zip(losses) {
        if month.year() == year {
            months.push((month, v));
            lost += i128::from(l.0);
        }
    }
    (months, lost)
}

/// A seller's technologies with the capacity of its projects of each (projects of no capacity
/// left out), in name order.
fn technology_weights(projects: &[&Project]) -> Vec<(&'static str, i64)> {
    let mut by_name: BTreeMap<&'static str, i64> = BTreeMap::new();
    for p in projects.iter().filter(|p| p.capacity_kw > 0) {
        let kw = i64::try_from(p.capacity_kw).unwrap_or(i64::MAX);
        let sum = by_name.entry(p.technology.as_str()).or_default();
        *sum = sum.saturating_add(kw);
    }
    by_name.into_iter().collect()
}

/// A volume shared among a seller's technologies pro rata to their capacity
/// ([`technology_weights`]); "unknown" when it has none.
fn technology_shares(
    technologies: Option<&Vec<(&'static str, i64)>>,
    volume: i128,
) -> Vec<(&'static str, i128)> {
    let Some(technologies) = technologies.filter(|t| !t.is_empty()) else {
        return vec![("unknown", volume)];
    };
    // A year's volume of one contract is below 96 × 10^9 kWh, so it fits i64.
    let volume_i64 = i64::try_from(volume).expect("a contract's volume fits i64");
    let weights: Vec<i64> = technologies.iter().map(|&(_, kw)| kw).collect();
    technologies
        .iter()
        .zip(split_by_weight(volume_i64, &weights))
        .map(|(&(name, _), v)| (name, i128::from(v)))
        .collect()
}

/// The entry of `key` in `map`, made empty if missing (without cloning a key already there).
fn slot<'m, V: Default>(map: &'m mut BTreeMap<Province, V>, key: &Province) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.clone(), V::default());
    }
    map.get_mut(key).expect("present")
}

/// How the statistics name a session's mode.
fn mode_name(mode: &Mode) -> String {
    match mode {
        Mode::CallAuction(Method::Uniform) => "call_auction/uniform".to_owned(),
        Mode::CallAuction(Method::HighLow) => "call_auction/high_low".to_owned(),
        Mode::CallAuction(Method::Coupled) => "call_auction/coupled".to_owned(),
        Mode::Bilateral => "bilateral".to_owned(),
        Mode::Listing => "listing".to_owned(),
        Mode::Rolling => "rolling".to_owned(),
    }
}

/// kWh written as MWh.
fn mwh(kwh: i128) -> String {
    Kwh::total_mwh(kwh).to_string()
}

/// `part / whole` with 4 decimals, half away from zero; "0" when `whole` is zero.
fn share(part: i128, whole: i128) -> String {
    if whole == 0 {
        return "0".to_owned();
    }
    let units = div_round_half_away(part * 10_000, whole);
    fixed(units, 4)
}

/// `(now − before) / before` in percent with 2 decimals, half away from zero.
fn percent_change(now: i128, before: i128) -> Option<String> {
    (before != 0).then(|| fixed(div_round_half_away((now - before) * 10_000, before), 2))
}

/// `units / 10^decimals` written with its sign and `decimals` decimals.
fn fixed(units: i128, decimals: u32) -> String {
    let scale = 10i128.pow(decimals);
    let sign = if units < 0 { "-" } else { "" };
    let magnitude = units.abs();
    format!(
        "{sign}{}.{:0width$}",
        magnitude / scale,
        magnitude % scale,
        width = decimals as usize
    )
}

fn technologies(map: &BTreeMap<&'static str, i128>) -> Vec<TechnologyVolume> {
    map.iter()
        .map(|(t, v)| TechnologyVolume {
            technology: (*t).to_owned(),
            mwh: mwh(*v),
        })
        .collect()
}

fn sources(map: &BTreeMap<Province, i128>) -> Vec<ProvinceVolume> {
    map.iter()
        .map(|(p, v)| ProvinceVolume {
            province: p.to_string(),
            mwh: mwh(*v),
        })
        .collect()
}
