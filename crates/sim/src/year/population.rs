//! 市场主体: who takes part in the scenario's province-year.
//!
//! [`Population::generate`] draws, from a seed and the [`YearTargets`]:
//! - **wholesale users** (一级用户, role `user`), a few hundred, each with a green demand of
//!   2–60 GWh a year (weights, scaled so that all green demand adds up to the year's target) and
//!   a green share of its consumption of 25–70 %;
//! - **retailers** (售电公司) and their **retail users** (二级用户, role `retail_user`): each
//!   retail user has a [`RetailContract`] with one retailer — its consumption, the share of it it
//!   wants green (10–80 %) and the agreed environmental price (10–35 yuan/MWh). The retailer buys
//!   the sum of its users' green demand wholesale;
//! - **aggregators** (聚合商) each representing some of the **distributed-PV projects**
//!   (rooftops of 30–600 kW before scaling the total);
//! - **Zhejiang generators**: offshore wind (3 projects each) and central PV (2 each);
//! - **north-western generators** in Qinghai, Gansu, Xinjiang and Ningxia, each with one central
//!   PV and one onshore wind project, the mix by province (Qinghai mostly sun, Gansu mostly wind);
//! - **corridors** from each of those provinces to Zhejiang.
//!
//! # Sizing
//! Demand is the year's traded target. Zhejiang's projects are sized to generate 1.35 × the
//! provincial part of it (45 % distributed PV, 42 % offshore wind, 13 % central PV, the
//! reference's "mainly distributed PV and offshore wind"), so sellers have room to spare; the
//! north-west is sized to generate twice the inter-provincial part (it exports half its output).
//! A corridor is rated at 1.25 × the peak hour of its province's export plan (the plan being
//! the inter-provincial target shared 30/25/20/25 % among QH/GS/XJ/NX), which is the green
//! share of a UHV line that the exchange offers to green trading.
//!
//! # Meters
//! One meter per project (`M` + filing code): certificates are issued per project from its own
//! metered output, and the store keeps each meter's month as one packed row, so ~20,000
//! distributed-PV meters cost ~20,000 rows a month, not 60 M values in rows. Grouping several
//! rooftops behind one meter would shrink the data but make one project's certificates depend on
//! another's output, so the scenario does not. Buyers have one consumption meter each (`L` + id);
//! retail users have none: their retailer's meter measures its retail load, which is why a
//! retailer's profile is the sum of its users' loads. So the count is projects + wholesale users
//! + retailers (about 20,400 at scale 1).

use std::collections::BTreeMap;

use domain::{
    Participant, ParticipantId, Price, Project, ProjectCode, Province, Role, Technology, YearMonth,
    split_by_weight,
};
use serde::{Deserialize, Serialize};

use super::profile::{self, expected_hours_per_kw, expected_month_per_kw};
use super::{YearTargets, names, stream};

/// A buyer on the exchange (a wholesale user or a retailer) and its load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buyer {
    /// The participant.
    pub participant: ParticipantId,
    /// Annual industrial consumption, kWh.
    pub industrial_kwh: i64,
    /// Annual commercial consumption, kWh.
    pub commercial_kwh: i64,
    /// Green power it wants in the reference year, kWh (a retailer: its users' sum).
    pub green_kwh: i64,
    /// Environmental value it is willing to pay, fen/MWh (a retailer: a little below its users'
    /// average agreed price, its margin).
    pub env_price: Price,
    /// Its consumption meter.
    pub meter: String,
}

/// A retail contract (零售合同) between a retail user and its retailer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetailContract {
    /// The retail user.
    pub retail_user: ParticipantId,
    /// Its retailer.
    pub retailer: ParticipantId,
    /// Whether its load is commercial (daytime) rather than industrial.
    pub commercial: bool,
    /// Its annual consumption, kWh.
    pub annual_kwh: i64,
    /// The share of its consumption it buys green, ‰.
    pub green_share_permille: i64,
    /// The agreed environmental price, fen/MWh.
    pub env_price: Price,
}

/// 输电通道: a corridor into Zhejiang, as the scenario's sessions offer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Corridor {
    /// The sending province.
    pub from: Province,
    /// The receiving province (Zhejiang).
    pub to: Province,
    /// Its name.
    pub name: String,
    /// The line's capacity offered to green trading, kW; sessions share it (see
    /// [`super::calendar`]).
    pub rating_kw: i64,
    /// Losses, 1/10000 of energy sent (like `SessionCorridor::loss`).
    pub loss: i64,
    /// Transmission tariff, fen/MWh sent.
    pub tariff: Price,
}

/// Everyone in the scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Population {
    /// The seed everything was drawn from (profiles draw from it too).
    pub seed: u64,
    /// The targets it was sized for.
    pub targets: YearTargets,
    /// Every participant; participant `n` is at index `n - 1`.
    pub participants: Vec<Participant>,
    /// Wholesale users, then retailers.
    pub buyers: Vec<Buyer>,
    /// One per retail user, in participant order.
    pub retail: Vec<RetailContract>,
    /// Every project, in filing-code order of creation.
    pub projects: Vec<Project>,
    /// The corridors into Zhejiang.
    pub corridors: Vec<Corridor>,
}

/// How many of each the population has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Participants of every role.
    pub participants: usize,
    /// Electricity users: wholesale + retail.
    pub users: usize,
    /// Wholesale users.
    pub wholesale_users: usize,
    /// Retail users.
    pub retail_users: usize,
    /// Retailers.
    pub retailers: usize,
    /// Aggregators.
    pub aggregators: usize,
    /// Generators (Zhejiang and north-west).
    pub generators: usize,
    /// Projects of every technology.
    pub projects: usize,
    /// Distributed-PV projects.
    pub distributed_projects: usize,
    /// Meters (projects' and buyers').
    pub meters: usize,
    /// Corridors.
    pub corridors: usize,
}

/// The province codes and their numeric prefix in filing codes (GB/T 2260).
const ZJ: (&str, u32) = ("ZJ", 33);
/// North-western exporters: code, GB/T 2260 prefix, Chinese name, share of the export plan
/// (%), share of PV in its output (%), corridor loss (1/10000) and tariff (fen/MWh).
const WEST: [(&str, u32, &str, i64, i64, i64, i64); 4] = [
    ("QH", 63, "青海", 30, 70, 550, 4_000),
    ("GS", 62, "甘肃", 25, 35, 500, 3_500),
    ("XJ", 65, "新疆", 20, 50, 650, 4_500),
    ("NX", 64, "宁夏", 25, 50, 400, 3_000),
];

/// The share of Zhejiang's generation expected from each technology (%), and Zhejiang's
/// generation over its provincial demand (‰).
const ZJ_MIX: [(Technology, i64); 3] = [
    (Technology::PvDistributed, 45),
    (Technology::WindOffshore, 42),
    (Technology::PvCentral, 13),
];
const ZJ_SUPPLY_PERMILLE: i64 = 1_350;
/// The north-west generates this many times its export plan (‰).
const WEST_SUPPLY_PERMILLE: i64 = 2_000;

fn province(code: &str) -> Province {
    Province::parse(code).expect("static province code")
}

/// Expected kWh per kW over the year `year`.
fn annual_per_kw(technology: Technology, province: &Province, year: u16) -> f64 {
    (1..=12)
        .map(|m| {
            expected_month_per_kw(
                technology,
                province,
                YearMonth::new(year, m).expect("month"),
            )
        })
        .sum()
}

/// Shares `total_kw` among `n` units with random weights in `lo..=hi` (every share ≥ 1 kW).
fn capacities(rng: &mut crate::Rng, total_kw: i64, n: usize, lo: i64, hi: i64) -> Vec<u64> {
    let weights: Vec<i64> = (0..n).map(|_| rng.range(lo, hi)).collect();
    split_by_weight(total_kw.max(n as i64), &weights)
        .into_iter()
        .map(|kw| kw.max(1) as u64)
        .collect()
}

struct Builder {
    participants: Vec<Participant>,
    projects: Vec<Project>,
    next_project: u64,
}

impl Builder {
    fn participant(&mut self, role: Role, name: String, province: &Province) -> ParticipantId {
        let id = ParticipantId(self.participants.len() as u64 + 1);
        self.participants.push(Participant {
            id,
            name,
            role,
            province: province.clone(),
        });
        id
    }

    /// A project with a filing code `PP CC DD YY T SSSSSSSS`: province, city, district,
    /// commissioning year, technology digit and a serial unique in the scenario.
    #[allow(clippy::too_many_arguments)]
    fn project(
        &mut self,
        rng: &mut crate::Rng,
        owner: ParticipantId,
        province: (&str, u32),
        city: u32,
        technology: Technology,
        capacity_kw: u64,
        subsidised: bool,
    ) {
        self.next_project += 1;
        let tech_digit = match technology {
            Technology::WindOnshore => 1,
            Technology::WindOffshore => 2,
            Technology::PvCentral => 3,
            Technology::PvDistributed => 4,
            _ => 9,
        };
        let code = format!(
            "{:02}{:02}{:02}{:02}{}{:08}",
            province.1,
            city,
            rng.range(1, 20),
            rng.range(15, 22),
            tech_digit,
            self.next_project
        );
        let code = ProjectCode::parse(&code).expect("17 digits by construction");
        self.projects.push(Project {
            code,
            technology,
            capacity_kw,
            province: self::province(province.0),
            owner,
            subsidised,
            meters: vec![format!("M{code}")],
        });
    }
}

impl Population {
    /// The population of a province-year: see the module doc for who and how many.
    pub fn generate(seed: u64, targets: &YearTargets) -> Population {
        let mut rng = stream(seed, &[1]);
        let zj = province(ZJ.0);
        let year = targets.reference_year;
        let t = targets;
        let wholesale_n = t.count(t.wholesale_users, 2);
        let retailers_n = t.count(t.retailers, 1);
        let retail_n = t.count(t.users.saturating_sub(t.wholesale_users), 1);
        let aggregators_n = t.count(t.aggregators, 1);
        let distributed_n = t
            .count(t.distributed_projects, aggregators_n)
            .max(aggregators_n);
        let offshore_n = t.count(8, 1);
        let central_n = t.count(5, 1);
        let west_n = t.count(3, 1);

        let mut b = Builder {
            participants: Vec::new(),
            projects: Vec::new(),
            next_project: 0,
        };

        // Users and retailers. Industries 0–8 are industrial, 9–11 commercial; a quarter of
        // users are commercial.
        let mut user_index = 0usize;
        let mut user_name = |rng: &mut crate::Rng| {
            let commercial = rng.chance(25);
            let industry = if commercial {
                rng.range(9, 11)
            } else {
                rng.range(0, 8)
            } as usize;
            user_index += 1;
            (names::user(user_index - 1, industry), commercial)
        };
        let mut wholesale = Vec::with_capacity(wholesale_n);
        for _ in 0..wholesale_n {
            let (name, commercial) = user_name(&mut rng);
            let id = b.participant(Role::User, name, &zj);
            wholesale.push((
                id,
                commercial,
                rng.range(2_000, 60_000),
                rng.range(250, 700),
            ));
        }
        let retailers: Vec<ParticipantId> = (0..retailers_n)
            .map(|i| {
                b.participant(
                    Role::Retailer,
                    names::company("浙江", i, "售电有限公司"),
                    &zj,
                )
            })
            .collect();
        let mut retail_users = Vec::with_capacity(retail_n);
        for _ in 0..retail_n {
            let (name, commercial) = user_name(&mut rng);
            let id = b.participant(Role::RetailUser, name, &zj);
            let retailer = retailers[rng.range(0, retailers_n as i64 - 1) as usize];
            retail_users.push((
                id,
                retailer,
                commercial,
                rng.range(20, 600),
                rng.range(100, 800),
            ));
        }
        // Green demand: the reference year's target shared by weight among wholesale and
        // retail users.
        let weights: Vec<i64> = wholesale
            .iter()
            .map(|w| w.2)
            .chain(retail_users.iter().map(|r| r.3))
            .collect();
        let demand = split_by_weight(t.traded_kwh(year), &weights);
        let (wholesale_green, retail_green) = demand.split_at(wholesale_n);
        let mut buyers = Vec::new();
        for (&(id, commercial, _, share), &green) in wholesale.iter().zip(wholesale_green) {
            let consumption = green * 1_000 / share;
            buyers.push(Buyer {
                participant: id,
                industrial_kwh: if commercial { 0 } else { consumption },
                commercial_kwh: if commercial { consumption } else { 0 },
                green_kwh: green,
                env_price: Price(rng.range(1_000, 3_000)),
                meter: format!("L{:08}", id.0),
            });
        }
        let mut retail = Vec::with_capacity(retail_n);
        for (&(id, retailer, commercial, _, share), &green) in retail_users.iter().zip(retail_green)
        {
            retail.push(RetailContract {
                retail_user: id,
                retailer,
                commercial,
                annual_kwh: green * 1_000 / share,
                green_share_permille: share,
                env_price: Price(rng.range(1_000, 3_500)),
            });
        }
        for &id in &retailers {
            let mine = || retail.iter().filter(move |r| r.retailer == id);
            let green: i64 = mine()
                .map(|r| r.annual_kwh * r.green_share_permille / 1_000)
                .sum();
            let weighted: i128 = mine()
                .map(|r| i128::from(r.annual_kwh) * i128::from(r.env_price.0))
                .sum();
            let annual: i64 = mine().map(|r| r.annual_kwh).sum();
            let average = if annual > 0 {
                (weighted / i128::from(annual)) as i64
            } else {
                2_000
            };
            buyers.push(Buyer {
                participant: id,
                industrial_kwh: mine().filter(|r| !r.commercial).map(|r| r.annual_kwh).sum(),
                commercial_kwh: mine().filter(|r| r.commercial).map(|r| r.annual_kwh).sum(),
                green_kwh: green,
                env_price: Price(average * 9 / 10),
                meter: format!("L{:08}", id.0),
            });
        }

        // Zhejiang's sellers.
        let intra_kwh = t.traded_kwh(year) - t.traded_kwh(year) * t.inter_share_bp / 10_000;
        let zj_supply = intra_kwh as f64 * ZJ_SUPPLY_PERMILLE as f64 / 1_000.0;
        let total_kw = |technology: Technology, share: i64| -> i64 {
            (zj_supply * share as f64 / 100.0 / annual_per_kw(technology, &zj, year)).round() as i64
        };
        let aggregators: Vec<(ParticipantId, u32)> = (0..aggregators_n)
            .map(|i| {
                let city = rng.range(0, 10) as usize;
                let name = names::company(names::ZJ_CITIES[city], i, "光伏聚合服务有限公司");
                (b.participant(Role::Aggregator, name, &zj), city as u32 + 1)
            })
            .collect();
        let rooftops = capacities(
            &mut rng,
            total_kw(Technology::PvDistributed, ZJ_MIX[0].1),
            distributed_n,
            30,
            600,
        );
        for (i, kw) in rooftops.into_iter().enumerate() {
            let (owner, city) = if i < aggregators_n {
                aggregators[i]
            } else {
                *rng.pick(&aggregators)
            };
            let subsidised = rng.chance(10);
            b.project(
                &mut rng,
                owner,
                ZJ,
                city,
                Technology::PvDistributed,
                kw,
                subsidised,
            );
        }
        for (technology, share, n, per, what) in [
            (
                Technology::WindOffshore,
                ZJ_MIX[1].1,
                offshore_n,
                3,
                "海上风电有限公司",
            ),
            (
                Technology::PvCentral,
                ZJ_MIX[2].1,
                central_n,
                2,
                "光伏发电有限公司",
            ),
        ] {
            let kws = capacities(&mut rng, total_kw(technology, share), n * per, 50, 150);
            for g in 0..n {
                // Offshore farms are off Zhoushan, Ningbo, Taizhou and Wenzhou.
                let city = if technology == Technology::WindOffshore {
                    [9, 2, 10, 3][g % 4]
                } else {
                    rng.range(1, 11) as u32
                };
                let name = names::company(names::ZJ_CITIES[city as usize - 1], g, what);
                let owner = b.participant(Role::Generator, name, &zj);
                for kw in &kws[g * per..(g + 1) * per] {
                    let subsidised = rng.chance(30);
                    b.project(&mut rng, owner, ZJ, city, technology, *kw, subsidised);
                }
            }
        }

        // The north-west and its corridors.
        let export_kwh = t.traded_kwh(year) * t.inter_share_bp / 10_000;
        let mut corridors = Vec::new();
        for (code, number, name, plan_pct, pv_pct, loss, tariff) in WEST {
            let here = province(code);
            let supply =
                (export_kwh * plan_pct / 100) as f64 * WEST_SUPPLY_PERMILLE as f64 / 1_000.0;
            let first_project = b.projects.len();
            let pv = capacities(
                &mut rng,
                (supply * pv_pct as f64 / 100.0 / annual_per_kw(Technology::PvCentral, &here, year))
                    .round() as i64,
                west_n,
                50,
                150,
            );
            let wind = capacities(
                &mut rng,
                (supply * (100 - pv_pct) as f64
                    / 100.0
                    / annual_per_kw(Technology::WindOnshore, &here, year))
                .round() as i64,
                west_n,
                50,
                150,
            );
            for g in 0..west_n {
                let owner = b.participant(
                    Role::Generator,
                    names::company(name, g, "新能源有限公司"),
                    &here,
                );
                let city = rng.range(1, 8) as u32;
                b.project(
                    &mut rng,
                    owner,
                    (code, number),
                    city,
                    Technology::PvCentral,
                    pv[g],
                    false,
                );
                b.project(
                    &mut rng,
                    owner,
                    (code, number),
                    city,
                    Technology::WindOnshore,
                    wind[g],
                    false,
                );
            }
            // Rating: 1.25 × the export plan's peak hour (kW averaged over a month's days).
            let export_fraction = 1_000.0 / WEST_SUPPLY_PERMILLE as f64;
            let mut peak_kw: f64 = 0.0;
            for m in 1..=12 {
                let month = YearMonth::new(year, m).expect("month");
                let mut hours = [0.0; 24];
                for p in &b.projects[first_project..] {
                    let per_kw = expected_hours_per_kw(p.technology, &here, month);
                    for (h, v) in hours.iter_mut().zip(per_kw) {
                        *h += v * p.capacity_kw as f64;
                    }
                }
                for h in hours {
                    peak_kw = peak_kw.max(h / f64::from(month.days()) * export_fraction);
                }
            }
            corridors.push(Corridor {
                from: here,
                to: zj.clone(),
                name: format!("{name}—浙江绿电通道"),
                rating_kw: ((peak_kw * 1.25 / 1_000.0).ceil() as i64).max(1) * 1_000,
                loss,
                tariff: Price(tariff),
            });
        }

        Population {
            seed,
            targets: targets.clone(),
            participants: b.participants,
            buyers,
            retail,
            projects: b.projects,
            corridors,
        }
    }

    /// A participant by id.
    ///
    /// # Panics
    /// If the id is not the population's.
    pub fn participant(&self, id: ParticipantId) -> &Participant {
        let p = &self.participants[id.0 as usize - 1];
        debug_assert_eq!(p.id, id);
        p
    }

    /// How many of each there are.
    pub fn counts(&self) -> Counts {
        let role = |r: Role| self.participants.iter().filter(|p| p.role == r).count();
        Counts {
            participants: self.participants.len(),
            users: role(Role::User) + role(Role::RetailUser),
            wholesale_users: role(Role::User),
            retail_users: role(Role::RetailUser),
            retailers: role(Role::Retailer),
            aggregators: role(Role::Aggregator),
            generators: role(Role::Generator),
            projects: self.projects.len(),
            distributed_projects: self
                .projects
                .iter()
                .filter(|p| p.technology == Technology::PvDistributed)
                .count(),
            meters: self.projects.iter().map(|p| p.meters.len()).sum::<usize>() + self.buyers.len(),
            corridors: self.corridors.len(),
        }
    }

    /// The sellers' installed capacity by owner, technology and province (kW), in id order:
    /// what the agents plan their sales from.
    pub fn capacity_by_owner(&self) -> BTreeMap<ParticipantId, Vec<(Technology, Province, u64)>> {
        let mut by: BTreeMap<ParticipantId, BTreeMap<(Technology, Province), u64>> =
            BTreeMap::new();
        for p in &self.projects {
            *by.entry(p.owner)
                .or_default()
                .entry((p.technology, p.province.clone()))
                .or_default() += p.capacity_kw;
        }
        by.into_iter()
            .map(|(owner, m)| {
                (
                    owner,
                    m.into_iter().map(|((t, p), kw)| (t, p, kw)).collect(),
                )
            })
            .collect()
    }

    /// A project's generation in each quarter-hour of `month`, kWh (see [`profile`]).
    pub fn generation(&self, project: &Project, month: YearMonth) -> Vec<i64> {
        let tag: u64 = project.code.as_str().parse().expect("17 digits fit a u64");
        profile::generation(
            self.seed,
            project.technology,
            &project.province,
            project.capacity_kw,
            tag,
            month,
        )
    }

    /// A buyer's consumption (a retailer's: its retail load) in each quarter-hour of `month`,
    /// kWh (see [`profile`]).
    pub fn consumption(&self, buyer: &Buyer, month: YearMonth) -> Vec<i64> {
        profile::consumption(
            self.seed,
            &self.participant(buyer.participant).province,
            buyer.industrial_kwh,
            buyer.commercial_kwh,
            buyer.participant.0 | (1 << 40),
            month,
        )
    }

    /// The expected consumption of a buyer in `month`, kWh (no weather).
    pub fn expected_consumption(&self, buyer: &Buyer, month: YearMonth) -> f64 {
        profile::expected_consumption(buyer.industrial_kwh, buyer.commercial_kwh, month)
    }
}
