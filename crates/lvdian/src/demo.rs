//! `lvdian demo`: one month of a Zhejiang-style green power market, in all four trading modes.
//!
//! The scenario comes from `sim` (seeded, so the same seed prints the same report apart from the
//! timings); this module only drives sessions and prints what they did.

use std::time::{Duration, Instant};

use domain::{Contract, Fen, Kwh, SessionId, TwoPartPrice};
use exchange::ExchangeError;
use exchange::auction::Method;
use exchange::session::{Command, Event, Mode, Session, Stamp};
use sim::{Market, Rng};

/// How big the demo is.
pub struct DemoSize {
    /// The scenario's seed.
    pub seed: u64,
    /// Sellers (generators and aggregators).
    pub sellers: usize,
    /// Buyers (users and retailers).
    pub buyers: usize,
    /// Rolling-matching commands.
    pub rolling_orders: usize,
}

/// Drives one session: stamps every command with the next sequence number and a clock that
/// advances one millisecond per command from a fixed start, so runs are reproducible.
struct Driver {
    session: Session,
    seq: u64,
    refused: Vec<ExchangeError>,
    events: usize,
    elapsed: Duration,
}

/// 2024-03-01T00:00:00+08:00, the demo's notional start.
const START_MS: i64 = 1_709_222_400_000;

impl Driver {
    fn new(id: u64, mode: Mode) -> Driver {
        let settings = sim::monthly_settings(mode, 2024, 3);
        Driver {
            session: Session::new(SessionId(id), settings).expect("demo settings are valid"),
            seq: 0,
            refused: Vec::new(),
            events: 0,
            elapsed: Duration::ZERO,
        }
    }

    fn next_seq(&self) -> u64 {
        self.seq + 1
    }

    fn run(&mut self, commands: impl IntoIterator<Item = Command>) -> Vec<Event> {
        let started = Instant::now();
        let mut events = Vec::new();
        for command in commands {
            self.seq += 1;
            let stamp = Stamp {
                seq: self.seq,
                at_ms: START_MS + self.seq as i64,
            };
            match self.session.apply(command, stamp) {
                Ok(e) => events.extend(e),
                Err(e) => self.refused.push(e),
            }
        }
        self.elapsed += started.elapsed();
        self.events += events.len();
        events
    }

    fn lifecycle(&mut self, commands: &[Command]) {
        self.run(commands.iter().cloned());
        assert!(
            self.refused.is_empty(),
            "lifecycle refused: {:?}",
            self.refused
        );
    }
}

/// Sums of a set of contracts, and their average prices (`market`'s one definition).
struct Totals {
    contracts: usize,
    energy: Kwh,
    energy_money: Fen,
    env_money: Fen,
    average: Option<TwoPartPrice>,
}

fn totals(contracts: &[Contract]) -> Totals {
    let mut t = Totals {
        contracts: contracts.len(),
        energy: Kwh::ZERO,
        energy_money: Fen::ZERO,
        env_money: Fen::ZERO,
        average: market::average_price(contracts),
    };
    for c in contracts {
        let volume = c.total_volume();
        t.energy += volume;
        t.energy_money += Fen::of(volume, c.price.energy);
        t.env_money += Fen::of(volume, c.price.environment);
    }
    t
}

fn wan_kwh(energy: Kwh) -> String {
    // 1 万千瓦时 = 10,000 kWh; shown with 1 decimal, truncated toward zero.
    format!("{}.{}", energy.0 / 10_000, (energy.0 % 10_000) / 1_000)
}

fn print_totals(t: &Totals) {
    println!(
        "   contracts {} · {} MWh ({} 万千瓦时) · energy {} yuan (avg {}) · environment {} yuan (avg {}) yuan/MWh",
        t.contracts,
        t.energy.mwh(),
        wan_kwh(t.energy),
        t.energy_money,
        t.average.map_or("-".into(), |p| p.energy.to_string()),
        t.env_money,
        t.average.map_or("-".into(), |p| p.environment.to_string()),
    );
}

fn print_refused(driver: &Driver) {
    if driver.refused.is_empty() {
        return;
    }
    // Count refusals by kind, in first-seen order, with the first message as an example.
    let mut kinds: Vec<(&str, usize, String)> = Vec::new();
    for e in &driver.refused {
        match kinds.iter_mut().find(|(code, _, _)| *code == e.code()) {
            Some((_, n, _)) => *n += 1,
            None => kinds.push((e.code(), 1, e.describe(&driver.session.settings().template))),
        }
    }
    for (code, n, example) in kinds {
        println!("   refused {n}× {code} (e.g. {example})");
    }
}

/// Runs the demo and prints its report.
pub fn run(size: &DemoSize) {
    let market = Market::zhejiang(size.sellers, size.buyers);
    let mut rng = Rng::new(size.seed);
    let wind = market
        .sellers
        .iter()
        .filter(|s| s.source == sim::Source::OffshoreWind)
        .count();
    println!(
        "lvdian demo — one month (2024-03) of a Zhejiang-style green power market, seed {}",
        size.seed
    );
    println!(
        "market: {} sellers ({} offshore wind, {} distributed-PV aggregators), {} buyers",
        market.sellers.len(),
        wind,
        market.sellers.len() - wind,
        market.buyers.len()
    );
    let open = [Command::Announce, Command::Open];
    let finish = [Command::Close, Command::Clear, Command::Publish];

    // 1. Call auction.
    let mut auction = Driver::new(1, Mode::CallAuction(Method::Uniform));
    auction.lifecycle(&open);
    let orders = sim::auction_commands(&market, &mut rng);
    let order_count = orders.len();
    auction.run(orders);
    let cleared = auction.run(finish.iter().cloned());
    println!();
    println!(
        "1. 集中竞价 centralised bidding: sealed call auction, uniform price, 24 hourly periods"
    );
    println!("   {order_count} orders; Q* and P* per hour:");
    let mut line = String::new();
    for event in &cleared {
        if let Event::PeriodCleared {
            period,
            volume,
            price,
        } = event
        {
            let label = auction.session.settings().template.label(*period);
            let price = price.map_or("-".into(), |p| p.to_string());
            line.push_str(&format!(
                "   {label} {:>10} MWh @ {price:>6}",
                volume.mwh().to_string()
            ));
            if period.0 % 3 == 2 {
                println!("{line}");
                line.clear();
            }
        }
    }
    print_totals(&totals(auction.session.contracts()));
    print_refused(&auction);

    // 2. Rolling matching.
    let mut rolling = Driver::new(2, Mode::Rolling);
    rolling.lifecycle(&open);
    let commands =
        sim::rolling_commands(&market, &mut rng, size.rolling_orders, rolling.next_seq());
    rolling.run(commands);
    println!();
    println!(
        "2. 滚动撮合 rolling matching: {} commands (limit, IOC, cancel), price-time priority",
        size.rolling_orders
    );
    let noon = domain::Period(11);
    let depth = |side| rolling.session.depth(noon, side, 3);
    let show = |levels: Vec<exchange::rolling::Level>| {
        levels
            .iter()
            .map(|l| format!("{} MWh @ {}", l.volume.mwh(), l.price))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "   h12 depth before close — bids: {}",
        show(depth(domain::Side::Buy))
    );
    println!(
        "   h12 depth before close — asks: {}",
        show(depth(domain::Side::Sell))
    );
    rolling.run(finish.iter().cloned());
    print_totals(&totals(rolling.session.contracts()));
    print_refused(&rolling);

    // 3. Listing.
    let mut listing = Driver::new(3, Mode::Listing);
    listing.lifecycle(&open);
    let commands = sim::listing_commands(&market, &mut rng, 40, 200, 8, listing.next_seq());
    listing.run(commands);
    listing.run(finish.iter().cloned());
    println!();
    println!(
        "3. 挂牌/摘牌 listing: one offshore wind generator lists 40 MWh per hour; 200 takes, first come first served"
    );
    print_totals(&totals(listing.session.contracts()));
    print_refused(&listing);

    // 4. Bilateral.
    let mut bilateral = Driver::new(4, Mode::Bilateral);
    bilateral.lifecycle(&open);
    let (proposals, confirmations) =
        sim::bilateral_commands(&market, &mut rng, 20, bilateral.next_seq());
    bilateral.run(proposals);
    bilateral.run(confirmations);
    bilateral.run(finish.iter().cloned());
    println!();
    println!("4. 双边协商 bilateral negotiation: 20 proposals; unconfirmed ones lapse at close");
    print_totals(&totals(bilateral.session.contracts()));
    print_refused(&bilateral);

    println!();
    let all: Vec<Contract> = [&auction, &rolling, &listing, &bilateral]
        .iter()
        .flat_map(|d| d.session.contracts().iter().cloned())
        .collect();
    println!("all modes:");
    print_totals(&totals(&all));
    println!();
    for (name, d) in [
        ("call auction", &auction),
        ("rolling", &rolling),
        ("listing", &listing),
        ("bilateral", &bilateral),
    ] {
        let commands = d.seq;
        let rate = commands as f64 / d.elapsed.as_secs_f64().max(1e-9);
        println!(
            "timing: {name:<12} {commands:>9} commands, {:>8} events in {:>9.3} ms ({:.2} M commands/s)",
            d.events,
            d.elapsed.as_secs_f64() * 1e3,
            rate / 1e6
        );
    }
}
