//! Spec §1 bounds: the engine refuses volumes and prices beyond them even when a command does
//! not come through a parser, and the largest allowed values go through every mode without an
//! overflow, with exact results.

use domain::{Kwh, Participant, PeriodVolume, Price, Role, Side, TimeInForce, TwoPartPrice};
use exchange::ExchangeError;
use exchange::auction::Method;
use exchange::session::{
    Command, Event, Mode, Scope, SessionCorridor, SessionSettings, SessionState, Stamp,
};

use crate::session::{Driver, at_ms, generator, h, party, province, settings, user, yuan};

const MAX: Kwh = Kwh::MAX_VOLUME;

/// Settings whose own bounds are the spec's: energy in ±100,000.00, environment up to 100,000.00.
fn widest(mode: Mode) -> SessionSettings {
    SessionSettings {
        energy_price_min: -Price::MAX_ABS,
        energy_price_max: Price::MAX_ABS,
        compensation: Price::MAX_ABS,
        ..settings(mode)
    }
}

/// The highest buy: 100,000.00 + 100,000.00 yuan/MWh.
fn top() -> TwoPartPrice {
    TwoPartPrice {
        energy: Price::MAX_ABS,
        environment: Price::MAX_ABS,
    }
}

/// The lowest sell: −100,000.00 + 0.
fn bottom() -> TwoPartPrice {
    TwoPartPrice {
        energy: -Price::MAX_ABS,
        environment: Price::ZERO,
    }
}

fn order(by: &Participant, side: Side, hour: u16, volume: Kwh, price: TwoPartPrice) -> Command {
    Command::SubmitOrder {
        by: by.clone(),
        side,
        period: h(hour),
        volume,
        price,
        time_in_force: TimeInForce::Limit,
    }
}

fn every_hour(volume: Kwh) -> Vec<PeriodVolume> {
    (1..=24)
        .map(|hour| PeriodVolume {
            period: h(hour),
            volume,
        })
        .collect()
}

#[test]
fn the_engine_refuses_volumes_and_prices_beyond_the_bounds() {
    let mut d = Driver::open(widest(Mode::Rolling));
    let err = d.err(order(
        &generator(1),
        Side::Sell,
        1,
        Kwh(MAX.0 + 1000),
        bottom(),
    ));
    assert_eq!(err.code(), "volume_above_bound");
    assert_eq!(
        err.describe(&d.session.settings().template),
        "field `mwh`: volume 1000001.000 MWh in period h01 is beyond the bound of 1000000 MWh"
    );
    // The order, 9,000,000,000,000,000 MWh, written straight into a command.
    let err = d.err(order(&user(2), Side::Buy, 1, Kwh(i64::MAX - 807), top()));
    assert_eq!(err.code(), "volume_above_bound");
    let beyond = TwoPartPrice {
        energy: Price(-Price::MAX_ABS.0 - 1),
        environment: Price::ZERO,
    };
    let err = d.err(order(&generator(1), Side::Sell, 1, MAX, beyond));
    assert_eq!(
        err,
        ExchangeError::PriceBeyondBound {
            field: "energy price",
            price: Price(-10_000_001)
        }
    );
    assert_eq!(
        err.to_string(),
        "energy price -100000.01 is beyond the bound of ±100000.00 yuan/MWh"
    );
    let beyond = TwoPartPrice {
        energy: Price::ZERO,
        environment: Price(Price::MAX_ABS.0 + 1),
    };
    let err = d.err(order(&user(2), Side::Buy, 1, MAX, beyond));
    assert_eq!(err.code(), "price_beyond_bound");

    let mut d = Driver::open(widest(Mode::Listing));
    let err = d.err(Command::List {
        by: generator(1),
        side: Side::Sell,
        volumes: every_hour(Kwh(MAX.0 + 1000)),
        price: bottom(),
    });
    assert_eq!(err.code(), "volume_above_bound");

    let mut d = Driver::open(widest(Mode::Bilateral));
    let err = d.err(Command::Propose {
        by: generator(1),
        counterparty: user(2),
        volumes: every_hour(MAX),
        price: top(),
        compensation: Price(Price::MAX_ABS.0 + 1),
    });
    assert_eq!(
        err.to_string(),
        "compensation price 100000.01 is beyond the bound of ±100000.00 yuan/MWh"
    );

    // Settings: a lot, a price bound and a corridor capacity beyond the bounds.
    let lot = SessionSettings {
        lot: Kwh(MAX.0 + 1),
        ..widest(Mode::Listing)
    };
    assert_eq!(
        lot.validate().unwrap_err().to_string(),
        "invalid session settings: lot: 1000000.001 MWh is beyond the bound of 1000000 MWh"
    );
    let price = SessionSettings {
        energy_price_max: Price(Price::MAX_ABS.0 + 1),
        ..widest(Mode::Listing)
    };
    assert_eq!(
        price.validate().unwrap_err().to_string(),
        "invalid session settings: energy_price_max: 100000.01 is beyond the bound of ±100000.00 yuan/MWh"
    );
    let mut corridor = coupled();
    corridor.corridors[0].capacity = Kwh(MAX.0 + 1);
    assert_eq!(
        corridor.validate().unwrap_err().to_string(),
        "invalid session settings: corridors: corridor 0: capacity 1000000.001 MWh is beyond the bound of 1000000 MWh"
    );
}

/// Cleared contracts of a call auction, by id: (seller, buyer, volume in h01).
fn contracts_of(events: &[Event]) -> Vec<(u64, u64, Kwh)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ContractMade(c) => {
                assert_eq!(c.volumes.len(), 1);
                Some((c.seller.0, c.buyer.0, c.volumes[0].volume))
            }
            _ => None,
        })
        .collect()
}

/// Applies an accepted command without the driver's before/after snapshot, which would make
/// thousands of orders quadratic.
fn bulk(d: &mut Driver, command: Command) {
    d.seq += 1;
    let stamp = Stamp {
        seq: d.seq,
        at_ms: at_ms(d.seq),
    };
    d.session.apply(command, stamp).unwrap();
}

#[test]
fn the_largest_orders_clear_in_a_call_auction_exactly() {
    for method in [Method::Uniform, Method::HighLow] {
        let mut d = Driver::open(widest(Mode::CallAuction(method)));
        // 10,000 sells and 10,000 buys of 1,000,000 MWh in h01: Q* is 10^13 kWh; the first
        // seller and buyer send three each, so their pair trades 3 × the bound.
        for _ in 0..3 {
            d.ok(order(&generator(1), Side::Sell, 1, MAX, bottom()));
            d.ok(order(&user(100_001), Side::Buy, 1, MAX, top()));
        }
        for i in 0..9_997 {
            bulk(
                &mut d,
                order(&generator(2 + i), Side::Sell, 1, MAX, bottom()),
            );
            bulk(&mut d, order(&user(100_002 + i), Side::Buy, 1, MAX, top()));
        }
        d.ok(Command::Close);
        let events = d.ok(Command::Clear);
        let cleared = &d.session.clearing()[0];
        assert_eq!(cleared.volume, Kwh(10_000_000_000_000));
        assert_eq!(cleared.volume.mwh().to_string(), "10000000000.000");
        // Midpoint of 200,000.00 and −100,000.00.
        let p_star = (method == Method::Uniform).then_some(Price(5_000_000));
        assert_eq!(cleared.price, p_star);
        assert!(cleared.slices.iter().all(|s| s.price == Price(5_000_000)));
        assert_eq!(cleared.slices.len(), 10_000);
        let contracts = contracts_of(&events);
        // The pair (1, 100001) gets three contracts of the bound each, then one per other pair.
        assert_eq!(contracts.len(), 10_000);
        assert_eq!(contracts[..3], [(1, 100_001, MAX); 3]);
        assert_eq!(contracts[3], (2, 100_002, MAX));
        assert_eq!(contracts[9_999], (9_998, 109_998, MAX));
        let total: i128 = contracts.iter().map(|c| i128::from(c.2.0)).sum();
        assert_eq!(total, 10_000_000_000_000);
        // Every contract's price: environment the midpoint of 100,000.00 and 0, energy the rest.
        let Event::ContractMade(first) = events
            .iter()
            .find(|e| matches!(e, Event::ContractMade(_)))
            .unwrap()
        else {
            unreachable!()
        };
        assert_eq!(
            first.price,
            TwoPartPrice {
                energy: Price::ZERO,
                environment: Price(5_000_000)
            }
        );
    }
}

#[test]
fn rolling_depth_of_the_largest_orders_does_not_wrap() {
    let mut d = Driver::open(widest(Mode::Rolling));
    // 1,000 sells of the bound at one price: a level of 10^12 kWh.
    for i in 0..1_000 {
        bulk(
            &mut d,
            order(&generator(1 + i), Side::Sell, 1, MAX, bottom()),
        );
    }
    let depth = d.session.depth(h(1), Side::Sell, 10);
    assert_eq!(depth.len(), 1);
    assert_eq!(depth[0].volume, Kwh(1_000_000_000_000));
    assert_eq!(depth[0].volume.mwh().to_string(), "1000000000.000");
    assert_eq!(depth[0].orders, 1_000);
    assert_eq!(depth[0].price, Price(-10_000_000));
    // A buy of the bound at the top trades with the earliest sell, at its price.
    let events = d.ok(order(&user(5_000), Side::Buy, 1, MAX, top()));
    let traded: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Traded(t) => Some((t.seller.0, t.volume, t.price)),
            _ => None,
        })
        .collect();
    assert_eq!(traded, [(1, MAX, bottom())]);
    let depth = d.session.depth(h(1), Side::Sell, 10);
    assert_eq!(depth[0].volume, Kwh(999_000_000_000));
    assert_eq!(depth[0].orders, 999);
    assert!(d.session.depth(h(1), Side::Buy, 10).is_empty());
}

#[test]
fn the_largest_listing_is_taken_whole() {
    let mut d = Driver::open(widest(Mode::Listing));
    d.ok(Command::List {
        by: generator(1),
        side: Side::Sell,
        volumes: every_hour(MAX),
        price: top(),
    });
    let events = d.ok(Command::Take {
        by: user(2),
        listing: 3,
        volumes: every_hour(MAX),
    });
    let Event::ContractMade(contract) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(contract.total_volume(), Kwh(24_000_000_000));
    assert_eq!(contract.price, top());
    assert!(contract.volumes.iter().all(|v| v.volume == MAX));
    assert_eq!(d.session.listings()[0].remaining_in(h(24)), Kwh::ZERO);
}

#[test]
fn the_largest_proposal_is_confirmed_whole() {
    let mut d = Driver::open(widest(Mode::Bilateral));
    d.ok(Command::Propose {
        by: generator(1),
        counterparty: user(2),
        volumes: every_hour(MAX),
        price: top(),
        compensation: Price::MAX_ABS,
    });
    let events = d.ok(Command::Confirm {
        by: user(2).id,
        proposal: 3,
    });
    let Event::ContractMade(contract) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(contract.total_volume(), Kwh(24_000_000_000));
    assert_eq!(contract.compensation, Price::MAX_ABS);
    assert_eq!(contract.price, top());
}

/// QH → ZJ at the bound: 1,000,000 MWh per period, loss 3.5%, tariff 100.00 yuan/MWh.
fn coupled() -> SessionSettings {
    SessionSettings {
        scope: Scope::Inter(vec![province("ZJ"), province("QH")]),
        corridors: vec![SessionCorridor {
            from: province("QH"),
            to: province("ZJ"),
            capacity: MAX,
            capacity_by_period: Vec::new(),
            loss: 350,
            tariff: yuan("100.00"),
        }],
        ..widest(Mode::CallAuction(Method::Coupled))
    }
}

#[test]
fn the_largest_orders_clear_across_a_corridor_at_its_bound() {
    let mut d = Driver::open(coupled());
    let qh = |id| party(id, Role::Generator, "QH");
    let zj = |id| party(id, Role::User, "ZJ");
    for id in 1..=3 {
        d.ok(order(&qh(id), Side::Sell, 1, MAX, bottom()));
        d.ok(order(&zj(10 + id), Side::Buy, 1, MAX, top()));
    }
    // ZJ's own sellers, dearer than QH's but still crossing.
    d.ok(order(
        &party(21, Role::Generator, "ZJ"),
        Side::Sell,
        1,
        MAX,
        TwoPartPrice {
            energy: Price::ZERO,
            environment: Price::ZERO,
        },
    ));
    d.ok(Command::Close);
    let events = d.ok(Command::Clear);
    assert_eq!(d.session.state(), SessionState::Cleared);
    let cleared = &d.session.clearing()[0];
    // The corridor is full: 10^9 kWh sent, 3.5% lost.
    let flow = &cleared.flows[0];
    assert_eq!((flow.sent, flow.delivered), (MAX, Kwh(965_000_000)));
    let rent = flow.congestion_rent.expect("both ends have a price");
    let zj_result = &cleared.provinces[1];
    let qh_result = &cleared.provinces[0];
    assert_eq!(qh_result.province, province("QH"));
    assert_eq!(qh_result.sold, MAX);
    assert_eq!(zj_result.sold, MAX);
    assert_eq!(zj_result.bought, Kwh(1_965_000_000));
    assert_eq!(cleared.volume, Kwh(1_965_000_000));
    // The rent: ZJ's value of what arrives, less QH's of what is sent and the tariff.
    let (p_qh, p_zj) = (qh_result.price.unwrap(), zj_result.price.unwrap());
    assert_eq!(
        rent,
        domain::Fen::of(Kwh(965_000_000), p_zj)
            - domain::Fen::of(MAX, p_qh)
            - domain::Fen::of(MAX, yuan("100.00"))
    );
    let contracts: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::ContractMade(c) => Some(c),
            _ => None,
        })
        .collect();
    let sent: Kwh = contracts.iter().map(|c| c.total_volume()).sum();
    let lost: Kwh = contracts
        .iter()
        .filter_map(|c| c.corridor.as_ref())
        .map(|k| k.total_loss())
        .sum();
    assert_eq!((sent, lost), (Kwh(2_000_000_000), Kwh(35_000_000)));
    assert!(
        contracts
            .iter()
            .all(|c| c.volumes.iter().all(|v| v.volume <= MAX))
    );
}
