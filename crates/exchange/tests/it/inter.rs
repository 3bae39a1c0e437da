//! Inter-provincial (省间) call auctions cleared by the coupling: contracts across a congested
//! corridor record the corridor and the losses, and every province balances exactly.

use domain::{
    ContractCorridor, Kwh, Participant, PeriodVolume, Role, Side, TimeInForce, TwoPartPrice,
};
use exchange::ExchangeError;
use exchange::auction::Method;
use exchange::session::{
    Command, CorridorFlow, Event, Mode, ProvinceResult, Scope, Session, SessionCorridor,
    SessionSettings, Stamp,
};

use crate::session::{Driver, at_ms, h, mwh, party, price, province, settings, yuan};

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
    Command::SubmitOrder {
        by: by.clone(),
        side,
        period: h(1),
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
    // Transit (a province both receiving and sending) is not supported.
    let mut s = coupled();
    s.scope = Scope::Inter(vec![province("QH"), province("ZJ"), province("SH")]);
    s.corridors.push(corridor("ZJ", "SH", "5", 0, "0"));
    assert_eq!(bad(s), "corridors");
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
