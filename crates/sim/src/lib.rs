//! lvdian's scenario generator: seeded, deterministic markets and order flows.
//!
//! [`Rng`] is a small SplitMix64 generator (the same seed gives the same stream on every
//! machine); [`Market::zhejiang`] makes a provincial market of offshore wind generators,
//! distributed-PV aggregators, wholesale users and retailers; the `*_commands` functions turn a
//! market into the commands of one session in each trading mode. Nothing here reads a clock or
//! the disk: the demo, tests and benchmarks replay the same scenario from the same seed.
//!
//! [`year`] is the province-year of Zhejiang green power (issue 11): a population of users,
//! retailers, aggregators, generators and corridors, 15-minute profiles, the year's session
//! calendar and agents that bid from their positions.

pub mod year;

use domain::{
    Kwh, Participant, ParticipantId, Period, PeriodTemplate, PeriodVolume, Price, Province, Role,
    Side, TimeInForce, TwoPartPrice,
};
use exchange::auction::Method;
use exchange::session::{
    BidOn, Command, DeliveryWindow, Horizon, Mode, Scope, SessionSettings, YearMonth,
};

/// SplitMix64: a tiny, fast, well-mixed deterministic generator.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi` (inclusive). The tiny modulo bias is irrelevant for scenarios.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        assert!(lo <= hi, "empty range {lo}..={hi}");
        let span = (hi - lo) as u64 + 1;
        lo + (self.next_u64() % span) as i64
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as i64 - 1) as usize]
    }
}

/// What a seller generates with, which shapes when it can sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// 海上风电: sells around the clock.
    OffshoreWind,
    /// 分布式光伏 through an aggregator: sells in daylight hours only (07:00–18:00).
    DistributedPv,
}

/// A seller of the scenario.
#[derive(Debug, Clone)]
pub struct Seller {
    /// The participant.
    pub participant: Participant,
    /// What it sells.
    pub source: Source,
}

/// A provincial market: who sells and who buys.
#[derive(Debug, Clone)]
pub struct Market {
    /// Generators and aggregators.
    pub sellers: Vec<Seller>,
    /// Wholesale users and retailers.
    pub buyers: Vec<Participant>,
}

/// Zhejiang's coal benchmark price, 415.30 yuan/MWh, which green energy prices float around.
pub const BENCHMARK: Price = Price(41_530);

impl Market {
    /// A Zhejiang-like market: `sellers` sellers (two in five offshore wind generators, the rest
    /// distributed-PV aggregators) and `buyers` buyers (one in fifteen a retailer).
    pub fn zhejiang(sellers: usize, buyers: usize) -> Market {
        let province = Province::parse("ZJ").expect("valid code");
        let mut next_id = 0u64;
        let mut participant = |role: Role, name: String| {
            next_id += 1;
            Participant {
                id: ParticipantId(next_id),
                name,
                role,
                province: province.clone(),
            }
        };
        let sellers = (0..sellers)
            .map(|i| {
                if i % 5 < 2 {
                    Seller {
                        participant: participant(Role::Generator, format!("海上风电{:03}", i + 1)),
                        source: Source::OffshoreWind,
                    }
                } else {
                    Seller {
                        participant: participant(
                            Role::Aggregator,
                            format!("光伏聚合商{:03}", i + 1),
                        ),
                        source: Source::DistributedPv,
                    }
                }
            })
            .collect();
        let buyers = (0..buyers)
            .map(|i| {
                if i % 15 == 14 {
                    participant(Role::Retailer, format!("售电公司{:03}", i + 1))
                } else {
                    participant(Role::User, format!("用户{:04}", i + 1))
                }
            })
            .collect();
        Market { sellers, buyers }
    }
}

/// Settings of a monthly Zhejiang session in `mode` over 24 hourly periods: energy price within
/// the benchmark ±20%, no environmental cap, lots of 1 MWh, ranking on the total price.
pub fn monthly_settings(mode: Mode, year: u16, month: u8) -> SessionSettings {
    let month = YearMonth::new(year, month).expect("valid month");
    SessionSettings {
        scope: Scope::Intra(Province::parse("ZJ").expect("valid code")),
        horizon: Horizon::Month,
        mode,
        delivery: DeliveryWindow {
            first_month: month,
            last_month: month,
        },
        template: PeriodTemplate::Hours,
        energy_price_min: Price(BENCHMARK.0 * 8 / 10),
        energy_price_max: Price(BENCHMARK.0 * 12 / 10),
        env_price_cap: None,
        lot: Kwh(1_000),
        bid_on: BidOn::Total,
        compensation: Price(5_000),
        corridors: Vec::new(),
    }
}

/// A two-part price near the benchmark: energy within ±`spread` fen of `energy_mid`, plus an
/// environmental value of 5.00–40.00 yuan/MWh.
fn two_part(rng: &mut Rng, energy_mid: i64, spread: i64) -> TwoPartPrice {
    let low = BENCHMARK.0 * 8 / 10;
    let high = BENCHMARK.0 * 12 / 10;
    TwoPartPrice {
        energy: Price((energy_mid + rng.range(-spread, spread)).clamp(low, high)),
        environment: Price(rng.range(500, 4_000)),
    }
}

fn submit(
    by: &Participant,
    side: Side,
    hour: u16,
    mwh: i64,
    price: TwoPartPrice,
    tif: TimeInForce,
) -> Command {
    Command::SubmitOrder {
        by: by.clone(),
        side,
        period: Period(hour),
        volume: Kwh(mwh * 1_000),
        price,
        time_in_force: tif,
    }
}

/// The orders of a sealed call auction (集中竞价): every seller offers in each hour it can
/// generate, every buyer bids in most hours. Sellers ask a little below the benchmark, buyers
/// bid a little above, so that most hours cross with a real margin.
pub fn auction_commands(market: &Market, rng: &mut Rng) -> Vec<Command> {
    let mut commands = Vec::new();
    for hour in 0..24u16 {
        for seller in &market.sellers {
            let daylight = (7..18).contains(&hour);
            if seller.source == Source::DistributedPv && !daylight {
                continue;
            }
            let mwh = match seller.source {
                Source::OffshoreWind => rng.range(200, 900),
                Source::DistributedPv => rng.range(50, 400),
            };
            let price = two_part(rng, BENCHMARK.0 - 1_500, 3_000);
            commands.push(submit(
                &seller.participant,
                Side::Sell,
                hour,
                mwh,
                price,
                TimeInForce::Limit,
            ));
        }
        for buyer in &market.buyers {
            if rng.chance(80) {
                let price = two_part(rng, BENCHMARK.0 + 500, 3_000);
                commands.push(submit(
                    buyer,
                    Side::Buy,
                    hour,
                    rng.range(5, 60),
                    price,
                    TimeInForce::Limit,
                ));
            }
        }
    }
    commands
}

/// A continuous stream of `orders` rolling-matching commands (滚动撮合): limit and IOC orders of
/// random participants around a slowly wandering mid price, with some cancels of earlier orders.
/// Order ids are the command's position plus `first_seq`, as the driver will stamp them.
pub fn rolling_commands(
    market: &Market,
    rng: &mut Rng,
    orders: usize,
    first_seq: u64,
) -> Vec<Command> {
    let mut commands = Vec::with_capacity(orders);
    let mut mid = BENCHMARK.0;
    // (seq, owner) of submitted orders that may still rest.
    let mut submitted: Vec<(u64, ParticipantId)> = Vec::new();
    for i in 0..orders {
        let seq = first_seq + i as u64;
        if i % 100 == 0 {
            mid = (mid + rng.range(-200, 200)).clamp(BENCHMARK.0 * 9 / 10, BENCHMARK.0 * 11 / 10);
        }
        if rng.chance(12) && !submitted.is_empty() {
            let at = rng.range(
                submitted.len().saturating_sub(500) as i64,
                submitted.len() as i64 - 1,
            );
            let (order, by) = submitted.swap_remove(at as usize);
            commands.push(Command::CancelOrder {
                by,
                order: domain::OrderId(order),
            });
            continue;
        }
        let hour = rng.range(0, 23) as u16;
        let tif = if rng.chance(25) {
            TimeInForce::Ioc
        } else {
            TimeInForce::Limit
        };
        let (by, side) = if rng.chance(50) {
            (&rng.pick(&market.sellers).participant, Side::Sell)
        } else {
            (rng.pick(&market.buyers), Side::Buy)
        };
        // Environmental value fixed around 20.00 so that totals cross on energy.
        let edge = if side == Side::Buy { -400 } else { 400 };
        let price = TwoPartPrice {
            energy: Price(
                (mid + edge + rng.range(-1_000, 1_000))
                    .clamp(BENCHMARK.0 * 8 / 10, BENCHMARK.0 * 12 / 10),
            ),
            environment: Price(2_000),
        };
        commands.push(submit(by, side, hour, rng.range(1, 20), price, tif));
        if tif == TimeInForce::Limit {
            submitted.push((seq, by.id));
        }
    }
    commands
}

/// A listing (挂牌) by an offshore wind generator of `mwh` MWh in every hour, and takes (摘牌)
/// by buyers of 1–`max_take` MWh per hour in a few hours each, first come first served, until
/// `takers` buyers have tried. The listing's id will be `listing_seq`.
pub fn listing_commands(
    market: &Market,
    rng: &mut Rng,
    mwh: i64,
    takers: usize,
    max_take: i64,
    listing_seq: u64,
) -> Vec<Command> {
    let lister = &market
        .sellers
        .iter()
        .find(|s| s.source == Source::OffshoreWind)
        .expect("the market has a wind generator")
        .participant;
    let volumes = (0..24)
        .map(|h| PeriodVolume {
            period: Period(h),
            volume: Kwh(mwh * 1_000),
        })
        .collect();
    let price = TwoPartPrice {
        energy: BENCHMARK,
        environment: Price(2_500),
    };
    let mut commands = vec![Command::List {
        by: lister.clone(),
        side: Side::Sell,
        volumes,
        price,
    }];
    for _ in 0..takers {
        let by = rng.pick(&market.buyers).clone();
        let first = rng.range(0, 20) as u16;
        let volumes = (first..first + 4)
            .map(|h| PeriodVolume {
                period: Period(h),
                volume: Kwh(rng.range(1, max_take) * 1_000),
            })
            .collect();
        commands.push(Command::Take {
            by,
            listing: listing_seq,
            volumes,
        });
    }
    commands
}

/// Bilateral proposals (双边协商): each of the first `pairs` sellers proposes a flat 24-hour
/// contract to a buyer; the commands return the proposals and, separately, the confirmations
/// the counterparties send (proposal ids are `first_seq` onwards, one per proposal).
pub fn bilateral_commands(
    market: &Market,
    rng: &mut Rng,
    pairs: usize,
    first_seq: u64,
) -> (Vec<Command>, Vec<Command>) {
    let mut proposals = Vec::new();
    let mut confirmations = Vec::new();
    for (i, seller) in market.sellers.iter().take(pairs).enumerate() {
        let buyer = rng.pick(&market.buyers).clone();
        let mwh = rng.range(1, 10);
        let volumes = (0..24)
            .map(|h| PeriodVolume {
                period: Period(h),
                volume: Kwh(mwh * 1_000),
            })
            .collect();
        proposals.push(Command::Propose {
            by: seller.participant.clone(),
            counterparty: buyer.clone(),
            volumes,
            price: two_part(rng, BENCHMARK.0, 2_000),
            compensation: Price(5_000),
        });
        // Most counterparties confirm; the rest let the proposal lapse at close.
        if rng.chance(80) {
            confirmations.push(Command::Confirm {
                by: buyer.id,
                proposal: first_seq + i as u64,
            });
        }
    }
    (proposals, confirmations)
}

/// The mode of a uniform-price monthly call auction.
pub const UNIFORM_AUCTION: Mode = Mode::CallAuction(Method::Uniform);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_stream() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let first: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        assert_eq!(first, (0..5).map(|_| b.next_u64()).collect::<Vec<_>>());
        // SplitMix64's published first output for seed 0.
        assert_eq!(Rng::new(0).next_u64(), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn the_market_has_the_asked_shape() {
        let market = Market::zhejiang(10, 30);
        assert_eq!(market.sellers.len(), 10);
        assert_eq!(
            market
                .sellers
                .iter()
                .filter(|s| s.source == Source::OffshoreWind)
                .count(),
            4
        );
        assert_eq!(
            market
                .buyers
                .iter()
                .filter(|b| b.role == Role::Retailer)
                .count(),
            2
        );
        assert_eq!(market.buyers[0].id, ParticipantId(11));
    }
}
