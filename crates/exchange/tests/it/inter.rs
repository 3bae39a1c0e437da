//! Inter-provincial (省间) call auctions cleared by the coupling: contracts across a congested
//! corridor record the corridor and the losses, and every province balances exactly.

use std::collections::BTreeMap;

use domain::Period;
use domain::{
    ContractCorridor, Kwh, Participant, PeriodVolume, Role, Side, TimeInForce, TwoPartPrice,
};
use exchange::ExchangeError;
use exchange::auction::Method;
use exchange::session::{
    Command, CorridorFlow, Event, Mode, ProvinceResult, Scope, Session, SessionCorridor,
    SessionSettings, Stamp,
};
use proptest::prelude::*;

use crate::session::{Driver, at_ms, h, mwh, party, price, province, settings, volumes, yuan};

fn corridor(from: &str, to: &str, capacity: &str, loss: i64, tariff: &str) -> SessionCorridor {
    SessionCorridor {
        from: province(from),
        to: province(to),
        capacity: mwh(capacity),
        capacity_by_period: Vec::new(),
        loss,
        tariff: yuan(tariff),
    }
}

/// QH and ZJ coupled over QH→ZJ: 5 MWh per period, 5% loss, tariff 10.00.
fn coupled() -> SessionSettings {
    SessionSettings {
        scope: Scope::Inter(vec![province("ZJ"), province("QH")]),
        mode: Mode::CallAuction(Method::Coupled),
        energy_price_min: yuan("100.00"),
        energy_price_max: yuan("600.00"),
        corridors: vec![corridor("QH", "ZJ", "5", 500, "10.00")],
        ..settings(Mode::CallAuction(Method::Coupled))
    }
}

fn order(by: &Participant, side: Side, volume: &str, energy: &str) -> Command {
    order_in(1, by, side, volume, energy)
}

fn order_in(hour: u16, by: &Participant, side: Side, volume: &str, energy: &str) -> Command {
    Command::SubmitOrder {
        by: by.clone(),
        side,
        period: h(hour),
        volume: mwh(volume),
        price: price(energy, "0.00"),
        time_in_force: TimeInForce::Limit,
    }
}

/// The commands of the scenario, after announce and open.
fn book() -> Vec<Command> {
    let g1 = party(11, Role::Generator, "QH");
    let uq = party(12, Role::User, "QH");
    let g2 = party(21, Role::Generator, "ZJ");
    let uz = party(22, Role::User, "ZJ");
    vec![
        order(&g1, Side::Sell, "10", "200.00"),
        order(&uq, Side::Buy, "3", "250.00"),
        order(&g2, Side::Sell, "10", "400.00"),
        order(&uz, Side::Buy, "8", "500.00"),
        Command::Close,
        Command::Clear,
    ]
}

#[test]
fn congested_corridor_makes_a_cross_province_contract_with_its_losses() {
    let mut d = Driver::open(coupled());
    let mut events = Vec::new();
    for command in book() {
        events.extend(d.ok(command));
    }
    let s = &d.session;
    let period = &s.clearing()[0];
    // QH's cheap energy fills the corridor (5 MWh sent, 4.75 delivered); QH clears at the
    // midpoint of 250 and 200, ZJ at the midpoint of 500 and 400.
    assert_eq!(
        period.flows,
        vec![CorridorFlow {
            from: province("QH"),
            to: province("ZJ"),
            sent: mwh("5"),
            delivered: mwh("4.75"),
            // 4.75 MWh × 450.00 − 5 MWh × 225.00 − 5 MWh × 10.00 tariff = 962.50 yuan.
            congestion_rent: Some(domain::Fen(96_250)),
        }]
    );
    assert_eq!(
        period.provinces,
        vec![
            ProvinceResult {
                province: province("QH"),
                price: Some(yuan("225.00")),
                bought: mwh("3"),
                sold: mwh("8"),
            },
            ProvinceResult {
                province: province("ZJ"),
                price: Some(yuan("450.00")),
                bought: mwh("8"),
                sold: mwh("3.25"),
            },
        ]
    );
    assert_eq!(period.volume, mwh("11"));
    assert_eq!(period.price, None);

    let summary: Vec<_> = s
        .contracts()
        .iter()
        .map(|c| {
            (
                c.id.0,
                c.seller.0,
                c.buyer.0,
                c.volumes.clone(),
                c.price,
                c.corridor.clone(),
            )
        })
        .collect();
    let one = |v: &str| {
        vec![PeriodVolume {
            period: h(1),
            volume: mwh(v),
        }]
    };
    let p = |e: &str| TwoPartPrice {
        energy: yuan(e),
        environment: yuan("0.00"),
    };
    assert_eq!(
        summary,
        vec![
            (1, 11, 12, one("3"), p("225.00"), None),
            (2, 21, 22, one("3.25"), p("450.00"), None),
            (
                3,
                11,
                22,
                one("5"),
                p("225.00"),
                Some(ContractCorridor {
                    from: province("QH"),
                    to: province("ZJ"),
                    via: Vec::new(),
                    losses: one("0.25"),
                })
            ),
        ]
    );
    // Balance, exactly: a province's sellers' contracts are what it sold, its buyers'
    // contracts less losses what it bought.
    let sum = |pred: &dyn Fn(u64, u64) -> bool, net: bool| -> Kwh {
        s.contracts()
            .iter()
            .filter(|c| pred(c.seller.0, c.buyer.0))
            .map(|c| {
                let loss = c.corridor.as_ref().map_or(Kwh::ZERO, |k| k.total_loss());
                c.total_volume() - if net { loss } else { Kwh::ZERO }
            })
            .sum()
    };
    assert_eq!(sum(&|seller, _| seller / 10 == 1, false), mwh("8"));
    assert_eq!(sum(&|seller, _| seller / 10 == 2, false), mwh("3.25"));
    assert_eq!(sum(&|_, buyer| buyer / 10 == 1, true), mwh("3"));
    assert_eq!(sum(&|_, buyer| buyer / 10 == 2, true), mwh("8"));
    assert!(events.contains(&Event::PeriodCleared {
        period: h(1),
        volume: mwh("11"),
        price: None,
    }));

    // Replay: the same commands with the same stamps give the same session, byte for byte.
    let mut again = Session::new(s.id(), coupled()).unwrap();
    let mut seq = 0;
    for command in [Command::Announce, Command::Open].into_iter().chain(book()) {
        seq += 1;
        again
            .apply(
                command,
                Stamp {
                    seq,
                    at_ms: at_ms(seq),
                },
            )
            .unwrap();
    }
    assert_eq!(
        serde_json::to_vec(&again.snapshot()).unwrap(),
        serde_json::to_vec(&s.snapshot()).unwrap()
    );
    // Stored settings and contracts round-trip through JSON.
    let json = serde_json::to_string(s.settings()).unwrap();
    assert_eq!(
        serde_json::from_str::<SessionSettings>(&json).unwrap(),
        *s.settings()
    );
}

#[test]
fn corridors_are_validated() {
    let bad = |s: SessionSettings| match Session::new(domain::SessionId(1), s) {
        Err(ExchangeError::InvalidSettings { field, .. }) => field,
        other => panic!("expected invalid settings, got {other:?}"),
    };
    let mut s = coupled();
    s.corridors = vec![corridor("QH", "SC", "5", 0, "0")];
    assert_eq!(bad(s), "corridors");
    let mut s = coupled();
    s.corridors[0].loss = 10_000;
    assert_eq!(bad(s), "corridors");
    let mut s = coupled();
    s.corridors[0].capacity = Kwh(-1);
    assert_eq!(bad(s), "corridors");
    // Transit through a province is fine, even free.
    let mut s = coupled();
    s.scope = Scope::Inter(vec![province("QH"), province("ZJ"), province("SH")]);
    s.corridors.push(corridor("ZJ", "SH", "5", 0, "0"));
    assert!(Session::new(domain::SessionId(1), s).is_ok());
    // A loop (here both directions of a line) needs a positive tariff on every corridor on it
    // and, when ranking on the total price, no negative energy price.
    let mut s = coupled();
    s.corridors.push(corridor("ZJ", "QH", "5", 0, "0"));
    assert_eq!(bad(s), "corridors");
    let mut s = coupled();
    s.corridors.push(corridor("ZJ", "QH", "5", 0, "0.01"));
    assert!(Session::new(domain::SessionId(1), s.clone()).is_ok());
    s.energy_price_min = yuan("-10.00");
    assert_eq!(bad(s), "energy_price_min");
    // Coupled is inter-provincial; corridors belong to coupled sessions only.
    let mut s = coupled();
    s.scope = Scope::Intra(province("QH"));
    s.corridors.clear();
    assert_eq!(bad(s), "scope");
    let mut s = settings(Mode::CallAuction(Method::Uniform));
    s.corridors = vec![corridor("QH", "ZJ", "5", 0, "0")];
    assert_eq!(bad(s), "corridors");
    // Settings stored before corridors existed still read.
    let mut old = serde_json::to_value(settings(Mode::Rolling)).unwrap();
    assert!(old.get("corridors").is_none());
    old.as_object_mut().unwrap().remove("corridors");
    let back: SessionSettings = serde_json::from_value(old).unwrap();
    assert_eq!(back, settings(Mode::Rolling));
}

/// The contracts of a session as (seller, buyer, volumes, ranking price, corridor).
type ContractSummary = (
    u64,
    u64,
    Vec<PeriodVolume>,
    domain::Price,
    Option<ContractCorridor>,
);

fn contract_summary(s: &Session) -> Vec<ContractSummary> {
    s.contracts()
        .iter()
        .map(|c| {
            (
                c.seller.0,
                c.buyer.0,
                c.volumes.clone(),
                c.price.total(),
                c.corridor.clone(),
            )
        })
        .collect()
}

/// Spec §3.5 (b) and (c) for one period of a coupled session, in exact integer arithmetic.
fn assert_prices_support(s: &Session, hour: u16) {
    let period = &s.clearing()[usize::from(hour - 1)];
    let price_of = |p: &domain::Province| {
        period
            .provinces
            .iter()
            .find(|r| &r.province == p)
            .and_then(|r| r.price)
    };
    for fill in &period.fills {
        let order = s.orders().iter().find(|o| o.id == fill.order).unwrap();
        let limit = order.price.total();
        match order.side {
            Side::Buy => assert!(limit >= fill.price, "{fill:?} above its buy limit"),
            Side::Sell => assert!(limit <= fill.price, "{fill:?} below its sell limit"),
        }
    }
    for (c, flow) in s.settings().corridors.iter().zip(&period.flows) {
        let (Some(from), Some(to)) = (price_of(&c.from), price_of(&c.to)) else {
            continue;
        };
        let lhs = i128::from(to.0) * i128::from(10_000 - c.loss);
        if flow.sent > Kwh::ZERO {
            assert!(
                lhs >= i128::from(from.0 + c.tariff.0 - 1) * 10_000,
                "(c) on {c:?}"
            );
        }
        if flow.sent < c.capacity_in(h(hour)) {
            assert!(
                lhs <= i128::from(from.0 + c.tariff.0 + 1) * 10_000,
                "(c) on {c:?}"
            );
        }
    }
}

#[test]
fn energy_passes_through_a_province_on_a_chain() {
    // QH → GS → ZJ. QH's energy crosses both corridors to ZJ; GS's own seller tops up what
    // GS sends on and serves GS's buyer.
    let mut s = coupled();
    s.scope = Scope::Inter(vec![province("QH"), province("GS"), province("ZJ")]);
    s.corridors = vec![
        corridor("QH", "GS", "10", 500, "10.00"),
        corridor("GS", "ZJ", "10", 1000, "20.00"),
    ];
    let mut d = Driver::open(s);
    let g1 = party(11, Role::Generator, "QH");
    let g2 = party(21, Role::Generator, "GS");
    let u2 = party(22, Role::User, "GS");
    let uz = party(32, Role::User, "ZJ");
    for command in [
        order(&g1, Side::Sell, "10", "200.00"),
        order(&g2, Side::Sell, "4", "300.00"),
        order(&u2, Side::Buy, "2", "350.00"),
        order(&uz, Side::Buy, "12", "500.00"),
        Command::Close,
        Command::Clear,
    ] {
        d.ok(command);
    }
    let s = &d.session;
    let period = &s.clearing()[0];
    // QH's energy at GS costs (200 + 10) / 0.95 ≈ 221.05, below GS's seller; GS's energy at ZJ
    // is worth 500 × 0.9 − 20 = 430, above both. So both corridors run full: 10 MWh sent into
    // GS, 9.5 delivered; GS needs 10 to send on and 2 for its buyer, so its seller sells 2.5;
    // 10 sent into ZJ, 9 delivered.
    let flows: Vec<(Kwh, Kwh)> = period.flows.iter().map(|f| (f.sent, f.delivered)).collect();
    assert_eq!(flows, vec![(mwh("10"), mwh("9.5")), (mwh("10"), mwh("9"))]);
    let volumes: Vec<(String, Kwh, Kwh)> = period
        .provinces
        .iter()
        .map(|r| (r.province.to_string(), r.bought, r.sold))
        .collect();
    assert_eq!(
        volumes,
        vec![
            ("GS".to_owned(), mwh("2"), mwh("2.5")),
            ("QH".to_owned(), mwh("0"), mwh("10")),
            ("ZJ".to_owned(), mwh("9"), mwh("0")),
        ]
    );
    assert_prices_support(s, 1);
    let price_in = |code: &str| {
        let p = province(code);
        period
            .provinces
            .iter()
            .find(|r| r.province == p)
            .unwrap()
            .price
            .unwrap()
    };
    // Tracing: QH's 10 MWh reach GS as 9.5 (0.5 lost) and all go on towards ZJ, with 0.5 of
    // GS's own; ZJ's 9 delivered are shared 9.5 : 0.5, so 8.55 of QH's (1.45 lost in all) and
    // 0.45 of GS's (0.05 lost). GS's other 2 MWh go to its buyer.
    let one = |v: &str| {
        vec![PeriodVolume {
            period: h(1),
            volume: mwh(v),
        }]
    };
    assert_eq!(
        contract_summary(s),
        vec![
            (21, 22, one("2"), price_in("GS"), None),
            (
                11,
                32,
                one("10"),
                price_in("QH"),
                Some(ContractCorridor {
                    from: province("QH"),
                    to: province("ZJ"),
                    via: vec![province("GS")],
                    losses: one("1.45"),
                })
            ),
            (
                21,
                32,
                one("0.5"),
                price_in("GS"),
                Some(ContractCorridor {
                    from: province("GS"),
                    to: province("ZJ"),
                    via: Vec::new(),
                    losses: one("0.05"),
                })
            ),
        ]
    );
}

#[test]
fn a_line_used_in_both_directions_at_different_hours() {
    // ZJ and AH joined both ways, each direction with its own limit: at h01 AH's cheap energy
    // goes to ZJ (3 MWh, the AH→ZJ limit), at h02 ZJ's goes to AH (4 MWh, the ZJ→AH limit).
    let mut s = coupled();
    s.scope = Scope::Inter(vec![province("ZJ"), province("AH")]);
    s.corridors = vec![
        corridor("AH", "ZJ", "3", 0, "10.00"),
        corridor("ZJ", "AH", "4", 0, "10.00"),
    ];
    let mut d = Driver::open(s);
    let ga = party(11, Role::Generator, "AH");
    let ua = party(12, Role::User, "AH");
    let gz = party(21, Role::Generator, "ZJ");
    let uz = party(22, Role::User, "ZJ");
    for command in [
        order_in(1, &ga, Side::Sell, "5", "200.00"),
        order_in(1, &uz, Side::Buy, "5", "500.00"),
        order_in(2, &gz, Side::Sell, "5", "200.00"),
        order_in(2, &ua, Side::Buy, "5", "500.00"),
        Command::Close,
        Command::Clear,
    ] {
        d.ok(command);
    }
    let s = &d.session;
    let flows =
        |hour: usize| -> Vec<Kwh> { s.clearing()[hour].flows.iter().map(|f| f.sent).collect() };
    assert_eq!(flows(0), vec![mwh("3"), mwh("0")]);
    assert_eq!(flows(1), vec![mwh("0"), mwh("4")]);
    assert_prices_support(s, 1);
    assert_prices_support(s, 2);
    type Route = Option<(String, String)>;
    let summary: Vec<(u64, u64, Vec<PeriodVolume>, Route)> = contract_summary(s)
        .into_iter()
        .map(|(seller, buyer, volumes, _, corridor)| {
            let ends = corridor.map(|c| (c.from.to_string(), c.to.to_string()));
            (seller, buyer, volumes, ends)
        })
        .collect();
    let route = |from: &str, to: &str| Some((from.to_owned(), to.to_owned()));
    assert_eq!(
        summary,
        vec![
            (11, 22, volumes(&[(1, "3")]), route("AH", "ZJ")),
            (21, 12, volumes(&[(2, "4")]), route("ZJ", "AH")),
        ]
    );
}

/// A random coupled session over three provinces: any of the six directed corridors (so
/// chains, both directions of a line and rings), positive tariffs, losses up to 20%; one
/// order per participant in one of two hours.
fn random_session() -> impl Strategy<Value = (SessionSettings, Vec<Command>)> {
    const CODES: [&str; 3] = ["AH", "JS", "ZJ"];
    let corridor = (
        0usize..3,
        1usize..3,
        0i64..=12_000,
        0i64..=2_000,
        1i64..=5_000,
    );
    let order = (0usize..3, any::<bool>(), 1u16..=2, 1i64..=8, 100i64..=600);
    (
        proptest::collection::vec(corridor, 0..=6),
        proptest::collection::vec(order, 1..=16),
    )
        .prop_map(|(corridors, orders)| {
            let mut s = coupled();
            s.scope = Scope::Inter(CODES.iter().map(|c| province(c)).collect());
            s.energy_price_min = yuan("0.00");
            s.energy_price_max = yuan("1000.00");
            s.corridors.clear();
            for (from, step, capacity, loss, tariff) in corridors {
                let to = (from + step) % 3;
                let (from, to) = (province(CODES[from]), province(CODES[to]));
                if s.corridors.iter().any(|c| c.from == from && c.to == to) {
                    continue;
                }
                s.corridors.push(SessionCorridor {
                    from,
                    to,
                    capacity: Kwh(capacity),
                    capacity_by_period: Vec::new(),
                    loss,
                    tariff: domain::Price(tariff),
                });
            }
            let commands = orders
                .into_iter()
                .enumerate()
                .map(|(i, (at, sells, hour, volume, limit))| {
                    let role = if sells { Role::Generator } else { Role::User };
                    let by = party(100 + i as u64, role, CODES[at]);
                    let side = if sells { Side::Sell } else { Side::Buy };
                    let price = format!("{limit}.00");
                    order_in(hour, &by, side, &volume.to_string(), &price)
                })
                .chain([Command::Close, Command::Clear])
                .collect();
            (s, commands)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever the network, every seller's contracts carry exactly what it sold and every
    /// buyer's, less losses, exactly what it bought; each contract's path runs from the
    /// seller's province to the buyer's over corridors of the session; prices meet (b), (c).
    #[test]
    fn contracts_trace_every_kwh_over_any_network((settings, commands) in random_session()) {
        let mut d = Driver::open(settings);
        for command in commands {
            d.ok(command);
        }
        let s = &d.session;
        let mut filled: BTreeMap<(u64, Period), Kwh> = BTreeMap::new();
        for period in s.clearing() {
            for fill in &period.fills {
                let order = s.orders().iter().find(|o| o.id == fill.order).unwrap();
                *filled.entry((order.participant.0, period.period)).or_default() += fill.volume;
            }
        }
        let mut traced: BTreeMap<(u64, Period), Kwh> = BTreeMap::new();
        for c in s.contracts() {
            for v in &c.volumes {
                let loss = c.corridor.as_ref().map_or(Kwh::ZERO, |k| {
                    k.losses.iter().filter(|l| l.period == v.period).map(|l| l.volume).sum()
                });
                *traced.entry((c.seller.0, v.period)).or_default() += v.volume;
                *traced.entry((c.buyer.0, v.period)).or_default() += v.volume - loss;
            }
            if let Some(k) = &c.corridor {
                let mut stops = vec![k.from.clone()];
                stops.extend(k.via.iter().cloned());
                stops.push(k.to.clone());
                for hop in stops.windows(2) {
                    prop_assert!(
                        s.settings().corridors.iter().any(|x| x.from == hop[0] && x.to == hop[1]),
                        "no corridor {}→{}", hop[0], hop[1]
                    );
                }
            }
        }
        traced.retain(|_, v| *v != Kwh::ZERO);
        filled.retain(|_, v| *v != Kwh::ZERO);
        prop_assert_eq!(traced, filled);
        assert_prices_support(s, 1);
        assert_prices_support(s, 2);
    }
}
