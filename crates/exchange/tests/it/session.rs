//! The session state machine (交易场次): lifecycle, validation, rolling and call-auction sessions,
//! and replay determinism. Also the fixtures the listing and bilateral tests share.

use domain::{
    Contract, ContractId, ContractStatus, Kwh, Order, OrderId, Participant, ParticipantId, Period,
    PeriodTemplate, PeriodVolume, Price, Province, Role, SessionId, Side, TimeInForce,
    TwoPartPrice,
};
use exchange::ExchangeError;
use exchange::auction::Method;
use exchange::rolling::Level;
use exchange::session::{
    BidOn, ClearedPeriod, Command, CommandKind, DeliveryWindow, Event, Horizon, Mode, OrderFill,
    Scope, Session, SessionSettings, SessionState, SliceFill, Stamp, Target, TradeRecord,
    YearMonth,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Fixtures

/// MWh written as in a file.
pub(crate) fn mwh(text: &str) -> Kwh {
    Kwh::parse_mwh(text).unwrap()
}

/// yuan/MWh written as in a file.
pub(crate) fn yuan(text: &str) -> Price {
    Price::parse_yuan_per_mwh(text).unwrap()
}

/// A two-part price in yuan/MWh: energy, environment.
pub(crate) fn price(energy: &str, environment: &str) -> TwoPartPrice {
    TwoPartPrice {
        energy: yuan(energy),
        environment: yuan(environment),
    }
}

/// Hour `n` (1–24) of the hourly template: `h(9)` is `h09`, period index 8.
pub(crate) fn h(n: u16) -> Period {
    Period(n - 1)
}

/// Per-period volumes: `(hour, MWh)`.
pub(crate) fn volumes(list: &[(u16, &str)]) -> Vec<PeriodVolume> {
    list.iter()
        .map(|&(hour, v)| PeriodVolume {
            period: h(hour),
            volume: mwh(v),
        })
        .collect()
}

pub(crate) fn province(code: &str) -> Province {
    Province::parse(code).unwrap()
}

pub(crate) fn party(id: u64, role: Role, province_code: &str) -> Participant {
    Participant {
        id: ParticipantId(id),
        name: format!("{role} {id}"),
        role,
        province: province(province_code),
    }
}

/// A generator in Zhejiang.
pub(crate) fn generator(id: u64) -> Participant {
    party(id, Role::Generator, "ZJ")
}

/// A wholesale user in Zhejiang.
pub(crate) fn user(id: u64) -> Participant {
    party(id, Role::User, "ZJ")
}

/// The settings every test starts from: Zhejiang, March 2025, hourly periods, energy price in
/// [300.00, 500.00], no environmental cap, lot 1 MWh, ranking on the total, compensation 50.00.
pub(crate) fn settings(mode: Mode) -> SessionSettings {
    SessionSettings {
        scope: Scope::Intra(province("ZJ")),
        horizon: Horizon::Month,
        mode,
        delivery: DeliveryWindow {
            first_month: YearMonth::new(2025, 3).unwrap(),
            last_month: YearMonth::new(2025, 3).unwrap(),
        },
        template: PeriodTemplate::Hours,
        energy_price_min: yuan("300.00"),
        energy_price_max: yuan("500.00"),
        env_price_cap: None,
        lot: mwh("1"),
        bid_on: BidOn::Total,
        compensation: yuan("50.00"),
        corridors: Vec::new(),
    }
}

/// The caller's clock at sequence `seq`.
pub(crate) fn at_ms(seq: u64) -> i64 {
    1_740_000_000_000 + seq as i64 * 1_000
}

/// A session and the caller's sequence counter: every command gets the next sequence number.
pub(crate) struct Driver {
    pub session: Session,
    pub seq: u64,
}

impl Driver {
    pub(crate) fn new(settings: SessionSettings) -> Driver {
        Driver {
            session: Session::new(SessionId(7), settings).unwrap(),
            seq: 0,
        }
    }

    /// A session already announced and open (sequences 1 and 2).
    pub(crate) fn open(settings: SessionSettings) -> Driver {
        let mut d = Driver::new(settings);
        d.ok(Command::Announce);
        d.ok(Command::Open);
        d
    }

    /// Applies a command with the next sequence number; a refused command does not use it up,
    /// and must leave the session exactly as it was.
    pub(crate) fn run(&mut self, command: Command) -> Result<Vec<Event>, ExchangeError> {
        let before = serde_json::to_vec(&self.session.snapshot()).unwrap();
        let seq = self.seq + 1;
        let result = self.session.apply(
            command,
            Stamp {
                seq,
                at_ms: at_ms(seq),
            },
        );
        match &result {
            Ok(_) => self.seq = seq,
            Err(_) => assert_eq!(
                serde_json::to_vec(&self.session.snapshot()).unwrap(),
                before,
                "a refused command changed the session"
            ),
        }
        result
    }

    pub(crate) fn ok(&mut self, command: Command) -> Vec<Event> {
        self.run(command).unwrap()
    }

    pub(crate) fn err(&mut self, command: Command) -> ExchangeError {
        self.run(command).unwrap_err()
    }
}

/// The contract a session with the default settings makes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn contract(
    id: u64,
    seller: u64,
    buyer: u64,
    vols: &[(u16, &str)],
    price: TwoPartPrice,
    compensation: Price,
    seq: u64,
) -> Contract {
    Contract {
        id: ContractId(id),
        session: SessionId(7),
        seller: ParticipantId(seller),
        buyer: ParticipantId(buyer),
        volumes: volumes(vols),
        price,
        compensation,
        status: ContractStatus::Effective,
        created_at_ms: at_ms(seq),
        corridor: None,
    }
}

fn submit(
    by: Participant,
    side: Side,
    hour: u16,
    volume: &str,
    price: TwoPartPrice,
    time_in_force: TimeInForce,
) -> Command {
    Command::SubmitOrder {
        by,
        side,
        period: h(hour),
        volume: mwh(volume),
        price,
        time_in_force,
    }
}

fn limit(by: Participant, side: Side, hour: u16, volume: &str, price: TwoPartPrice) -> Command {
    submit(by, side, hour, volume, price, TimeInForce::Limit)
}

fn changed(from: SessionState, to: SessionState) -> Event {
    Event::StateChanged { from, to }
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

/// A fresh listing session driven into `state` by the shortest legal path.
fn session_in(state: SessionState) -> Driver {
    use SessionState as S;
    let path: &[Command] = match state {
        S::Draft => &[],
        S::Announced => &[Command::Announce],
        S::Open => &[Command::Announce, Command::Open],
        S::Closed => &[Command::Announce, Command::Open, Command::Close],
        S::Cleared => &[
            Command::Announce,
            Command::Open,
            Command::Close,
            Command::Clear,
        ],
        S::Published => &[
            Command::Announce,
            Command::Open,
            Command::Close,
            Command::Clear,
            Command::Publish,
        ],
        S::Cancelled => &[Command::Cancel],
    };
    let mut d = Driver::new(settings(Mode::Listing));
    for command in path {
        d.ok(command.clone());
    }
    assert_eq!(d.session.state(), state);
    d
}

#[test]
fn every_lifecycle_transition_is_legal_or_refused_by_name() {
    use SessionState::*;
    let actions = [
        (Command::Announce, CommandKind::Announce),
        (Command::Open, CommandKind::Open),
        (Command::Close, CommandKind::Close),
        (Command::Clear, CommandKind::Clear),
        (Command::Publish, CommandKind::Publish),
        (Command::Cancel, CommandKind::Cancel),
    ];
    // Rows: from state; columns: announce, open, close, clear, publish, cancel.
    let table: [(SessionState, [Option<SessionState>; 6]); 7] = [
        (
            Draft,
            [Some(Announced), None, None, None, None, Some(Cancelled)],
        ),
        (
            Announced,
            [None, Some(Open), None, None, None, Some(Cancelled)],
        ),
        (
            Open,
            [None, None, Some(Closed), None, None, Some(Cancelled)],
        ),
        (
            Closed,
            [None, None, None, Some(Cleared), None, Some(Cancelled)],
        ),
        (
            Cleared,
            [None, None, None, None, Some(Published), Some(Cancelled)],
        ),
        (Published, [None, None, None, None, None, None]),
        (Cancelled, [None, None, None, None, None, None]),
    ];
    for (from, row) in table {
        for ((command, kind), expected) in actions.iter().zip(row) {
            let mut d = session_in(from);
            let result = d.run(command.clone());
            match expected {
                Some(to) => {
                    assert_eq!(result, Ok(vec![changed(from, to)]), "{kind} from {from}");
                    assert_eq!(d.session.state(), to);
                }
                None => {
                    assert_eq!(
                        result,
                        Err(ExchangeError::WrongState {
                            action: *kind,
                            state: from
                        }),
                        "{kind} from {from}"
                    );
                    assert_eq!(d.session.state(), from);
                }
            }
        }
    }
}

#[test]
fn wrong_state_errors_read_well() {
    let mut d = session_in(SessionState::Published);
    assert_eq!(
        d.err(Command::Cancel).to_string(),
        "cannot cancel while the session is published"
    );
    let mut d = session_in(SessionState::Announced);
    let e = d.err(Command::List {
        by: generator(1),
        side: Side::Sell,
        volumes: volumes(&[(9, "1")]),
        price: price("380.00", "20.00"),
    });
    assert_eq!(e.to_string(), "cannot list while the session is announced");
}

#[test]
fn sequence_numbers_must_increase() {
    let mut session = Session::new(SessionId(7), settings(Mode::Listing)).unwrap();
    let stamp = |seq| Stamp {
        seq,
        at_ms: at_ms(seq),
    };
    session.apply(Command::Announce, stamp(5)).unwrap();
    for seq in [5, 4] {
        assert_eq!(
            session.apply(Command::Open, stamp(seq)),
            Err(ExchangeError::SequenceNotIncreasing { last: 5, got: seq })
        );
    }
    assert_eq!(session.state(), SessionState::Announced);
    // A refused command does not use its sequence number up.
    assert_eq!(
        session.apply(Command::Announce, stamp(6)),
        Err(ExchangeError::WrongState {
            action: CommandKind::Announce,
            state: SessionState::Announced
        })
    );
    assert_eq!(session.last_seq(), Some(5));
    session.apply(Command::Open, stamp(6)).unwrap();
    assert_eq!(session.last_seq(), Some(6));
}

// ---------------------------------------------------------------------------------------------
// Settings

#[test]
fn nonsense_settings_are_refused() {
    let month = |y, m| YearMonth::new(y, m).unwrap();
    let base = || settings(Mode::Rolling);
    let cases: Vec<(&str, SessionSettings, ExchangeError)> = vec![
        (
            "min above max",
            SessionSettings {
                energy_price_min: yuan("500.01"),
                ..base()
            },
            ExchangeError::InvalidSettings {
                field: "energy_price_min",
                reason: "500.01 is above energy_price_max 500.00".into(),
            },
        ),
        (
            "zero lot",
            SessionSettings {
                lot: Kwh(0),
                ..base()
            },
            ExchangeError::InvalidSettings {
                field: "lot",
                reason: "0 kWh is not positive".into(),
            },
        ),
        (
            "negative lot",
            SessionSettings {
                lot: Kwh(-1000),
                ..base()
            },
            ExchangeError::InvalidSettings {
                field: "lot",
                reason: "-1000 kWh is not positive".into(),
            },
        ),
        (
            "fixed energy price out of bounds",
            SessionSettings {
                bid_on: BidOn::Environment {
                    energy_price: yuan("299.99"),
                },
                ..base()
            },
            ExchangeError::InvalidSettings {
                field: "bid_on.energy_price",
                reason: "299.99 is outside [300.00, 500.00]".into(),
            },
        ),
        (
            "empty inter scope",
            SessionSettings {
                scope: Scope::Inter(vec![]),
                ..base()
            },
            ExchangeError::InvalidSettings {
                field: "scope",
                reason: "an inter-provincial session needs at least two provinces, got 0".into(),
            },
        ),
        (
            "inter scope of one province",
            SessionSettings {
                scope: Scope::Inter(vec![province("QH")]),
                ..base()
            },
            ExchangeError::InvalidSettings {
                field: "scope",
                reason: "an inter-provincial session needs at least two provinces, got 1".into(),
            },
        ),
        (
            "inter scope with a repeat",
            SessionSettings {
                scope: Scope::Inter(vec![province("QH"), province("ZJ"), province("QH")]),
                ..base()
            },
            ExchangeError::InvalidSettings {
                field: "scope",
                reason: "a province is listed twice".into(),
            },
        ),
        (
            "reversed window",
            SessionSettings {
                horizon: Horizon::MultiYear,
                delivery: DeliveryWindow {
                    first_month: month(2026, 1),
                    last_month: month(2025, 12),
                },
                ..base()
            },
            ExchangeError::InvalidSettings {
                field: "delivery",
                reason: "last month 2025-12 is before first month 2026-01".into(),
            },
        ),
        (
            "monthly session over two months",
            SessionSettings {
                delivery: DeliveryWindow {
                    first_month: month(2025, 3),
                    last_month: month(2025, 4),
                },
                ..base()
            },
            ExchangeError::InvalidSettings {
                field: "delivery",
                reason: "a window of 2 months does not fit a Month horizon".into(),
            },
        ),
        (
            "yearly session over 13 months",
            SessionSettings {
                horizon: Horizon::Year,
                delivery: DeliveryWindow {
                    first_month: month(2025, 1),
                    last_month: month(2026, 1),
                },
                ..base()
            },
            ExchangeError::InvalidSettings {
                field: "delivery",
                reason: "a window of 13 months does not fit a Year horizon".into(),
            },
        ),
        (
            "negative environmental cap",
            SessionSettings {
                env_price_cap: Some(yuan("-0.01")),
                ..base()
            },
            ExchangeError::InvalidSettings {
                field: "env_price_cap",
                reason: "-0.01 is negative".into(),
            },
        ),
        (
            "negative compensation",
            SessionSettings {
                compensation: yuan("-1.00"),
                ..base()
            },
            ExchangeError::InvalidSettings {
                field: "compensation",
                reason: "-1.00 is negative".into(),
            },
        ),
    ];
    for (name, settings, expected) in cases {
        assert_eq!(settings.validate(), Err(expected.clone()), "{name}");
        assert_eq!(
            Session::new(SessionId(1), settings).unwrap_err(),
            expected,
            "{name}"
        );
    }

    // And sensible ones pass: a year of 12 months, a multi-year window, a two-province scope.
    for ok in [
        SessionSettings {
            horizon: Horizon::Year,
            delivery: DeliveryWindow {
                first_month: month(2025, 1),
                last_month: month(2025, 12),
            },
            ..base()
        },
        SessionSettings {
            horizon: Horizon::MultiYear,
            delivery: DeliveryWindow {
                first_month: month(2025, 1),
                last_month: month(2027, 12),
            },
            scope: Scope::Inter(vec![province("QH"), province("ZJ")]),
            ..base()
        },
        SessionSettings {
            bid_on: BidOn::Environment {
                energy_price: yuan("300.00"),
            },
            env_price_cap: Some(Price::ZERO),
            ..base()
        },
    ] {
        assert_eq!(ok.validate(), Ok(()));
    }
}

#[test]
fn settings_round_trip_through_json() {
    let s = SessionSettings {
        scope: Scope::Inter(vec![province("QH"), province("ZJ")]),
        bid_on: BidOn::Environment {
            energy_price: yuan("400.00"),
        },
        env_price_cap: Some(yuan("100.00")),
        ..settings(Mode::CallAuction(Method::HighLow))
    };
    let text = serde_json::to_string(&s).unwrap();
    assert_eq!(serde_json::from_str::<SessionSettings>(&text).unwrap(), s);
}

// ---------------------------------------------------------------------------------------------
// Order validation: each error once, with the exact error.

#[test]
fn every_order_check_names_what_and_which_value() {
    let rolling = || Driver::open(settings(Mode::Rolling));
    let ok_price = price("380.00", "20.00");
    let cases: Vec<(&str, Driver, Command, ExchangeError)> = vec![
        (
            "not open",
            session_in_rolling_announced(),
            limit(generator(1), Side::Sell, 9, "1", ok_price),
            ExchangeError::WrongState {
                action: CommandKind::SubmitOrder,
                state: SessionState::Announced,
            },
        ),
        (
            "mode does not take listings",
            rolling(),
            Command::Take {
                by: user(2),
                listing: 1,
                volumes: volumes(&[(9, "1")]),
            },
            ExchangeError::WrongMode {
                action: CommandKind::Take,
                mode: Mode::Rolling,
            },
        ),
        (
            "listing mode does not take orders",
            Driver::open(settings(Mode::Listing)),
            limit(generator(1), Side::Sell, 9, "1", ok_price),
            ExchangeError::WrongMode {
                action: CommandKind::SubmitOrder,
                mode: Mode::Listing,
            },
        ),
        (
            "a generator may not buy",
            rolling(),
            limit(generator(1), Side::Buy, 9, "1", ok_price),
            ExchangeError::RoleMayNotTrade {
                participant: ParticipantId(1),
                role: Role::Generator,
                side: Side::Buy,
            },
        ),
        (
            "a retail user may not buy directly",
            rolling(),
            limit(
                party(4, Role::RetailUser, "ZJ"),
                Side::Buy,
                9,
                "1",
                ok_price,
            ),
            ExchangeError::RoleMayNotTrade {
                participant: ParticipantId(4),
                role: Role::RetailUser,
                side: Side::Buy,
            },
        ),
        (
            "province out of scope",
            rolling(),
            limit(
                party(5, Role::Generator, "QH"),
                Side::Sell,
                9,
                "1",
                ok_price,
            ),
            ExchangeError::ProvinceOutOfScope {
                participant: ParticipantId(5),
                province: province("QH"),
            },
        ),
        (
            "unknown period",
            rolling(),
            limit(generator(1), Side::Sell, 25, "1", ok_price),
            ExchangeError::UnknownPeriod {
                period: Period(24),
                periods: 24,
            },
        ),
        (
            "zero volume",
            rolling(),
            limit(generator(1), Side::Sell, 9, "0", ok_price),
            ExchangeError::VolumeNotPositive {
                period: h(9),
                volume: Kwh(0),
            },
        ),
        (
            "negative volume",
            rolling(),
            Command::SubmitOrder {
                by: generator(1),
                side: Side::Sell,
                period: h(9),
                volume: Kwh(-1000),
                price: ok_price,
                time_in_force: TimeInForce::Limit,
            },
            ExchangeError::VolumeNotPositive {
                period: h(9),
                volume: Kwh(-1000),
            },
        ),
        (
            "volume not a lot multiple",
            rolling(),
            limit(generator(1), Side::Sell, 9, "1.5", ok_price),
            ExchangeError::VolumeNotLotMultiple {
                period: h(9),
                volume: Kwh(1500),
                lot: Kwh(1000),
            },
        ),
        (
            "energy price below the floor",
            rolling(),
            limit(generator(1), Side::Sell, 9, "1", price("299.99", "20.00")),
            ExchangeError::EnergyPriceOutOfBounds {
                price: yuan("299.99"),
                min: yuan("300.00"),
                max: yuan("500.00"),
            },
        ),
        (
            "energy price above the ceiling",
            rolling(),
            limit(user(2), Side::Buy, 9, "1", price("500.01", "0.00")),
            ExchangeError::EnergyPriceOutOfBounds {
                price: yuan("500.01"),
                min: yuan("300.00"),
                max: yuan("500.00"),
            },
        ),
        (
            "negative environmental value",
            rolling(),
            limit(user(2), Side::Buy, 9, "1", price("400.00", "-0.01")),
            ExchangeError::EnvironmentNegative {
                price: yuan("-0.01"),
            },
        ),
        (
            "environmental value above the cap",
            Driver::open(SessionSettings {
                env_price_cap: Some(yuan("50.00")),
                ..settings(Mode::Rolling)
            }),
            limit(user(2), Side::Buy, 9, "1", price("400.00", "50.01")),
            ExchangeError::EnvironmentAboveCap {
                price: yuan("50.01"),
                cap: yuan("50.00"),
            },
        ),
        (
            "energy price differs from the fixed one",
            Driver::open(SessionSettings {
                bid_on: BidOn::Environment {
                    energy_price: yuan("400.00"),
                },
                ..settings(Mode::Rolling)
            }),
            limit(user(2), Side::Buy, 9, "1", price("400.01", "10.00")),
            ExchangeError::EnergyPriceNotFixed {
                price: yuan("400.01"),
                fixed: yuan("400.00"),
            },
        ),
        (
            "unknown order",
            rolling(),
            Command::CancelOrder {
                by: ParticipantId(1),
                order: OrderId(99),
            },
            ExchangeError::Unknown(Target::Order(OrderId(99))),
        ),
    ];
    for (name, mut d, command, expected) in cases {
        assert_eq!(d.err(command), expected, "{name}");
    }
}

fn session_in_rolling_announced() -> Driver {
    let mut d = Driver::new(settings(Mode::Rolling));
    d.ok(Command::Announce);
    d
}

#[test]
fn error_messages_say_what_and_where() {
    let cases = [
        (
            ExchangeError::VolumeNotLotMultiple {
                period: h(9),
                volume: Kwh(1500),
                lot: Kwh(1000),
            },
            "volume 1500 kWh in period index 8 is not a multiple of the lot 1000 kWh",
        ),
        (
            ExchangeError::WrongMode {
                action: CommandKind::Take,
                mode: Mode::CallAuction(Method::Uniform),
            },
            "a call_auction (uniform) session does not accept take",
        ),
        (
            ExchangeError::RoleMayNotTrade {
                participant: ParticipantId(1),
                role: Role::Generator,
                side: Side::Buy,
            },
            "participant P1 is a generator, which may not buy",
        ),
        (
            ExchangeError::EnergyPriceOutOfBounds {
                price: yuan("299.99"),
                min: yuan("300.00"),
                max: yuan("500.00"),
            },
            "energy price 299.99 is outside [300.00, 500.00]",
        ),
        (
            ExchangeError::Unknown(Target::Listing(4)),
            "unknown listing 4",
        ),
        (
            ExchangeError::NotOwner {
                participant: ParticipantId(2),
                target: Target::Order(OrderId(3)),
                owner: ParticipantId(1),
            },
            "participant P2 does not own order O3 (owner P1)",
        ),
    ];
    for (error, text) in cases {
        assert_eq!(error.to_string(), text);
    }
}

// ---------------------------------------------------------------------------------------------
// Rolling matching (滚动撮合)

#[test]
fn rolling_trades_make_contracts_at_the_resting_two_part_price() {
    let mut d = Driver::open(settings(Mode::Rolling));
    let sell_a = price("380.00", "20.00"); // total 400.00
    let sell_b = price("370.00", "40.00"); // total 410.00
    let buy = price("400.00", "15.00"); // total 415.00

    // Seq 3 and 4 rest.
    let events = d.ok(limit(generator(1), Side::Sell, 9, "5", sell_a));
    assert!(matches!(events.as_slice(), [Event::OrderAccepted { .. }]));
    d.ok(limit(generator(2), Side::Sell, 9, "3", sell_b));
    assert_eq!(
        d.session.depth(h(9), Side::Sell, 10),
        vec![
            Level {
                price: yuan("400.00"),
                volume: mwh("5"),
                orders: 1
            },
            Level {
                price: yuan("410.00"),
                volume: mwh("3"),
                orders: 1
            },
        ]
    );

    // Seq 5 buys 6 MWh up to a total of 415.00: 5 from order 3 at its price, 1 from order 4.
    let events = d.ok(limit(user(3), Side::Buy, 9, "6", buy));
    let c1 = contract(1, 1, 3, &[(9, "5")], sell_a, yuan("50.00"), 5);
    let c2 = contract(2, 2, 3, &[(9, "1")], sell_b, yuan("50.00"), 5);
    assert_eq!(
        events,
        vec![
            Event::OrderAccepted {
                order: Order {
                    id: OrderId(5),
                    participant: ParticipantId(3),
                    side: Side::Buy,
                    period: h(9),
                    volume: mwh("6"),
                    price: buy,
                    time_in_force: TimeInForce::Limit,
                    submitted_at_ms: at_ms(5),
                }
            },
            Event::Traded(TradeRecord {
                period: h(9),
                buy_order: OrderId(5),
                sell_order: OrderId(3),
                resting: OrderId(3),
                buyer: ParticipantId(3),
                seller: ParticipantId(1),
                volume: mwh("5"),
                price: sell_a,
            }),
            Event::ContractMade(c1.clone()),
            Event::Traded(TradeRecord {
                period: h(9),
                buy_order: OrderId(5),
                sell_order: OrderId(4),
                resting: OrderId(4),
                buyer: ParticipantId(3),
                seller: ParticipantId(2),
                volume: mwh("1"),
                price: sell_b,
            }),
            Event::ContractMade(c2.clone()),
        ]
    );
    assert_eq!(d.session.contracts(), &[c1, c2]);
    assert_eq!(
        d.session.depth(h(9), Side::Sell, 10),
        vec![Level {
            price: yuan("410.00"),
            volume: mwh("2"),
            orders: 1
        }]
    );
    assert_eq!(d.session.depth(h(9), Side::Buy, 10), vec![]);
    assert_eq!(d.session.live_volume(OrderId(3)), None);
    assert_eq!(d.session.live_volume(OrderId(4)), Some(mwh("2")));

    // Seq 6: an IOC buy that does not reach 410.00 is cancelled whole.
    let events = d.ok(submit(
        user(3),
        Side::Buy,
        9,
        "4",
        price("390.00", "15.00"),
        TimeInForce::Ioc,
    ));
    assert_eq!(
        events[1..],
        [Event::OrderCancelled {
            order: OrderId(6),
            volume: mwh("4")
        }]
    );

    // Seq 7: a limit sell by a seller into the empty buy side rests in another period.
    d.ok(limit(generator(1), Side::Sell, 10, "2", sell_a));

    // Only the owner cancels; a filled order is no longer live.
    assert_eq!(
        d.err(Command::CancelOrder {
            by: ParticipantId(1),
            order: OrderId(4)
        }),
        ExchangeError::NotOwner {
            participant: ParticipantId(1),
            target: Target::Order(OrderId(4)),
            owner: ParticipantId(2),
        }
    );
    assert_eq!(
        d.err(Command::CancelOrder {
            by: ParticipantId(1),
            order: OrderId(3)
        }),
        ExchangeError::OrderNotLive { order: OrderId(3) }
    );
    // Seq 8.
    assert_eq!(
        d.ok(Command::CancelOrder {
            by: ParticipantId(2),
            order: OrderId(4)
        }),
        vec![Event::OrderCancelled {
            order: OrderId(4),
            volume: mwh("2")
        }]
    );

    // Seq 9: close expires what still rests.
    assert_eq!(
        d.ok(Command::Close),
        vec![
            changed(SessionState::Open, SessionState::Closed),
            Event::OrderExpired {
                order: OrderId(7),
                volume: mwh("2")
            },
        ]
    );
    assert_eq!(d.session.depth(h(10), Side::Sell, 10), vec![]);
    // Clearing a rolling session only finalises.
    assert_eq!(
        d.ok(Command::Clear),
        vec![changed(SessionState::Closed, SessionState::Cleared)]
    );
    assert_eq!(d.session.contracts().len(), 2);
    assert_eq!(d.session.clearing(), &[]);
    assert_eq!(d.session.orders().len(), 5);
}

#[test]
fn rolling_on_environment_ranks_on_the_environmental_value() {
    let mut d = Driver::open(SessionSettings {
        bid_on: BidOn::Environment {
            energy_price: yuan("400.00"),
        },
        ..settings(Mode::Rolling)
    });
    d.ok(limit(
        generator(1),
        Side::Sell,
        9,
        "2",
        price("400.00", "20.00"),
    )); // 3
    d.ok(limit(
        generator(2),
        Side::Sell,
        9,
        "2",
        price("400.00", "12.50"),
    )); // 4
    assert_eq!(
        d.session.depth(h(9), Side::Sell, 1),
        vec![Level {
            price: yuan("12.50"),
            volume: mwh("2"),
            orders: 1
        }]
    );
    let events = d.ok(limit(user(3), Side::Buy, 9, "3", price("400.00", "30.00"))); // 5
    let made: Vec<&Contract> = events
        .iter()
        .filter_map(|e| match e {
            Event::ContractMade(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(
        made,
        [
            &contract(
                1,
                2,
                3,
                &[(9, "2")],
                price("400.00", "12.50"),
                yuan("50.00"),
                5
            ),
            &contract(
                2,
                1,
                3,
                &[(9, "1")],
                price("400.00", "20.00"),
                yuan("50.00"),
                5
            ),
        ]
    );
}

#[test]
fn a_participant_may_not_hold_both_sides_of_a_period() {
    // Roles keep sellers and buyers apart, so only a participant presented with two roles under
    // one id could trade with itself; the session refuses the second side.
    let mut d = Driver::open(settings(Mode::Rolling));
    d.ok(limit(
        generator(1),
        Side::Sell,
        9,
        "1",
        price("380.00", "20.00"),
    ));
    assert_eq!(
        d.err(limit(
            party(1, Role::User, "ZJ"),
            Side::Buy,
            9,
            "1",
            price("400.00", "20.00")
        )),
        ExchangeError::SelfTrade {
            participant: ParticipantId(1)
        }
    );
    // Another period is fine.
    d.ok(limit(
        party(1, Role::User, "ZJ"),
        Side::Buy,
        10,
        "1",
        price("400.00", "20.00"),
    ));
}

// ---------------------------------------------------------------------------------------------
// Call auction (集中竞价)

/// The book of the call-auction cases. Totals: the user bids 420.50 (400.50 + 20.00); generator
/// 1 asks 380.00 (350.00 + 30.00), generator 2 asks 410.00 (390.00 + 20.00).
fn auction_book(method: Method) -> Driver {
    let mut d = Driver::open(SessionSettings {
        lot: mwh("0.5"),
        ..settings(Mode::CallAuction(method))
    });
    let bid = price("400.50", "20.00");
    let ask1 = price("350.00", "30.00");
    let ask2 = price("390.00", "20.00");
    d.ok(limit(user(3), Side::Buy, 10, "10", bid)); // 3
    d.ok(limit(generator(1), Side::Sell, 10, "6.5", ask1)); // 4
    d.ok(limit(generator(2), Side::Sell, 10, "2", ask2)); // 5
    d.ok(limit(
        generator(9),
        Side::Sell,
        10,
        "5",
        price("300.00", "0.00"),
    )); // 6, cancelled
    d.ok(limit(generator(2), Side::Sell, 11, "1", ask2)); // 7
    d.ok(limit(user(3), Side::Buy, 11, "3", bid)); // 8
    d.ok(limit(generator(1), Side::Sell, 11, "2", ask1)); // 9
    d.ok(Command::CancelOrder {
        by: ParticipantId(9),
        order: OrderId(6),
    }); // 10
    // Orders are sealed until clearing: no public depth.
    assert_eq!(d.session.depth(h(10), Side::Sell, 10), vec![]);
    assert_eq!(d.session.live_volume(OrderId(6)), None);
    assert_eq!(d.session.live_volume(OrderId(4)), Some(mwh("6.5")));
    d.ok(Command::Close); // 11
    d
}

fn cleared_periods(events: &[Event]) -> Vec<(Period, Kwh, Option<Price>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::PeriodCleared {
                period,
                volume,
                price,
            } => Some((*period, *volume, *price)),
            _ => None,
        })
        .collect()
}

#[test]
fn call_auction_with_one_buy_and_one_sell_trades_at_the_midpoint() {
    // Buys 10 MWh at 420.50, sells 6.5 MWh at 380.00 (totals): Q* = 6.5 MWh,
    // P* = (420.50 + 380.00) / 2 = 400.25. The contract's environmental value is the midpoint of
    // 20.00 and 30.00, 25.00; its energy price is 400.25 - 25.00 = 375.25.
    let mut d = Driver::open(SessionSettings {
        lot: mwh("0.5"),
        ..settings(Mode::CallAuction(Method::Uniform))
    });
    d.ok(limit(
        user(3),
        Side::Buy,
        10,
        "10",
        price("400.50", "20.00"),
    )); // 3
    d.ok(limit(
        generator(1),
        Side::Sell,
        10,
        "6.5",
        price("350.00", "30.00"),
    )); // 4
    d.ok(Command::Close); // 5
    let events = d.ok(Command::Clear); // 6
    assert_eq!(
        events[0],
        changed(SessionState::Closed, SessionState::Cleared)
    );
    let c1 = contract(
        1,
        1,
        3,
        &[(10, "6.5")],
        price("375.25", "25.00"),
        yuan("50.00"),
        6,
    );
    assert_eq!(events.last(), Some(&Event::ContractMade(c1.clone())));
    assert_eq!(d.session.contracts(), &[c1]);
    assert_eq!(
        d.session.clearing()[9],
        ClearedPeriod {
            period: h(10),
            volume: mwh("6.5"),
            price: Some(yuan("400.25")),
            fills: vec![
                OrderFill {
                    order: OrderId(3),
                    volume: mwh("6.5"),
                    price: yuan("400.25")
                },
                OrderFill {
                    order: OrderId(4),
                    volume: mwh("6.5"),
                    price: yuan("400.25")
                },
            ],
            slices: vec![SliceFill {
                buy: OrderId(3),
                sell: OrderId(4),
                volume: mwh("6.5"),
                price: yuan("400.25")
            }],
            provinces: Vec::new(),
            flows: Vec::new(),
        }
    );
}

#[test]
fn uniform_call_auction_aggregates_contracts_across_periods() {
    let mut d = auction_book(Method::Uniform);
    let events = d.ok(Command::Clear); // 12

    // h10: bid 10 @ 420.50 against asks 6.5 @ 380.00 and 2 @ 410.00 (the 5 @ 300.00 was
    // cancelled): Q* = 8.5, P* = (420.50 + 410.00) / 2 = 415.25.
    // h11: bid 3 @ 420.50 against asks 2 @ 380.00 and 1 @ 410.00: Q* = 3, P* = 415.25.
    let periods = cleared_periods(&events);
    assert_eq!(periods.len(), 24);
    assert_eq!(periods[9], (h(10), mwh("8.5"), Some(yuan("415.25"))));
    assert_eq!(periods[10], (h(11), mwh("3"), Some(yuan("415.25"))));
    assert!(
        periods
            .iter()
            .enumerate()
            .all(|(i, p)| p.0 == Period(i as u16))
    );
    assert_eq!(periods[0], (h(1), Kwh(0), None));

    // Generator 1's slices: environment midpoint(20.00, 30.00) = 25.00, energy 415.25 - 25.00.
    // Generator 2's: environment 20.00, energy 395.25. Same prices in both periods: one
    // contract per pair, in order of first appearance (h10's slices, best ask first).
    let c1 = contract(
        1,
        1,
        3,
        &[(10, "6.5"), (11, "2")],
        price("390.25", "25.00"),
        yuan("50.00"),
        12,
    );
    let c2 = contract(
        2,
        2,
        3,
        &[(10, "2"), (11, "1")],
        price("395.25", "20.00"),
        yuan("50.00"),
        12,
    );
    assert_eq!(d.session.contracts(), &[c1.clone(), c2.clone()]);
    assert_eq!(
        events[events.len() - 2..],
        [Event::ContractMade(c1), Event::ContractMade(c2)]
    );
    assert_eq!(
        d.session.clearing()[10],
        ClearedPeriod {
            period: h(11),
            volume: mwh("3"),
            price: Some(yuan("415.25")),
            fills: vec![
                OrderFill {
                    order: OrderId(7),
                    volume: mwh("1"),
                    price: yuan("415.25")
                },
                OrderFill {
                    order: OrderId(8),
                    volume: mwh("3"),
                    price: yuan("415.25")
                },
                OrderFill {
                    order: OrderId(9),
                    volume: mwh("2"),
                    price: yuan("415.25")
                },
            ],
            slices: vec![
                SliceFill {
                    buy: OrderId(8),
                    sell: OrderId(9),
                    volume: mwh("2"),
                    price: yuan("415.25")
                },
                SliceFill {
                    buy: OrderId(8),
                    sell: OrderId(7),
                    volume: mwh("1"),
                    price: yuan("415.25")
                },
            ],
            provinces: Vec::new(),
            flows: Vec::new(),
        }
    );
    assert_eq!(
        d.ok(Command::Publish),
        vec![changed(SessionState::Cleared, SessionState::Published)]
    );
}

#[test]
fn high_low_call_auction_prices_each_slice() {
    let mut d = auction_book(Method::HighLow);
    let events = d.ok(Command::Clear); // 12
    let periods = cleared_periods(&events);
    assert_eq!(periods[9], (h(10), mwh("8.5"), None));
    assert_eq!(periods[10], (h(11), mwh("3"), None));
    // Generator 1's slices trade at midpoint(420.50, 380.00) = 400.25: energy 375.25 + 25.00.
    // Generator 2's at midpoint(420.50, 410.00) = 415.25: energy 395.25 + 20.00.
    assert_eq!(
        d.session.contracts(),
        &[
            contract(
                1,
                1,
                3,
                &[(10, "6.5"), (11, "2")],
                price("375.25", "25.00"),
                yuan("50.00"),
                12
            ),
            contract(
                2,
                2,
                3,
                &[(10, "2"), (11, "1")],
                price("395.25", "20.00"),
                yuan("50.00"),
                12
            ),
        ]
    );
    assert_eq!(
        d.session.clearing()[9].fills,
        vec![
            OrderFill {
                order: OrderId(3),
                volume: mwh("6.5"),
                price: yuan("400.25")
            },
            OrderFill {
                order: OrderId(3),
                volume: mwh("2"),
                price: yuan("415.25")
            },
            OrderFill {
                order: OrderId(4),
                volume: mwh("6.5"),
                price: yuan("400.25")
            },
            OrderFill {
                order: OrderId(5),
                volume: mwh("2"),
                price: yuan("415.25")
            },
        ]
    );
}

#[test]
fn call_auction_on_environment_keeps_the_fixed_energy_price() {
    let mut d = Driver::open(SessionSettings {
        bid_on: BidOn::Environment {
            energy_price: yuan("400.00"),
        },
        ..settings(Mode::CallAuction(Method::Uniform))
    });
    d.ok(limit(user(3), Side::Buy, 1, "5", price("400.00", "30.00"))); // 3
    d.ok(limit(
        generator(1),
        Side::Sell,
        1,
        "5",
        price("400.00", "10.01"),
    )); // 4
    d.ok(Command::Close); // 5
    d.ok(Command::Clear); // 6
    // P* = midpoint(30.00, 10.01) = 20.005, rounded half away from zero to 20.01.
    assert_eq!(d.session.clearing()[0].price, Some(yuan("20.01")));
    assert_eq!(
        d.session.contracts(),
        &[contract(
            1,
            1,
            3,
            &[(1, "5")],
            price("400.00", "20.01"),
            yuan("50.00"),
            6
        )]
    );
}

#[test]
fn call_auction_orders_are_cancelled_only_while_open_and_only_by_the_owner() {
    let mut d = Driver::open(settings(Mode::CallAuction(Method::Uniform)));
    d.ok(limit(user(3), Side::Buy, 1, "5", price("400.00", "30.00"))); // 3
    assert_eq!(
        d.err(Command::CancelOrder {
            by: ParticipantId(4),
            order: OrderId(3)
        }),
        ExchangeError::NotOwner {
            participant: ParticipantId(4),
            target: Target::Order(OrderId(3)),
            owner: ParticipantId(3)
        }
    );
    d.ok(Command::CancelOrder {
        by: ParticipantId(3),
        order: OrderId(3),
    }); // 4
    assert_eq!(
        d.err(Command::CancelOrder {
            by: ParticipantId(3),
            order: OrderId(3)
        }),
        ExchangeError::OrderNotLive { order: OrderId(3) }
    );
    d.ok(limit(user(3), Side::Buy, 1, "5", price("400.00", "30.00"))); // 5
    d.ok(Command::Close); // 6
    assert_eq!(
        d.err(Command::CancelOrder {
            by: ParticipantId(3),
            order: OrderId(5)
        }),
        ExchangeError::WrongState {
            action: CommandKind::CancelOrder,
            state: SessionState::Closed
        }
    );
    // Nothing to sell against: every period clears empty.
    d.ok(Command::Clear);
    assert!(d.session.clearing().iter().all(|p| p.volume == Kwh(0)));
    assert_eq!(d.session.contracts(), &[]);
}

// ---------------------------------------------------------------------------------------------
// Replay determinism

const MODES: [Mode; 5] = [
    Mode::Rolling,
    Mode::CallAuction(Method::Uniform),
    Mode::CallAuction(Method::HighLow),
    Mode::Listing,
    Mode::Bilateral,
];

/// The cast of the random sessions: two generators, a user, a retailer, a user outside the
/// scope and the grid (which may not trade).
fn cast(i: usize) -> Participant {
    match i % 6 {
        0 => generator(1),
        1 => generator(2),
        2 => user(3),
        3 => party(4, Role::Retailer, "ZJ"),
        4 => party(5, Role::User, "AH"),
        _ => party(6, Role::Grid, "ZJ"),
    }
}

/// A random command for a session of `mode`, with parameters drawn from small sets that hit
/// both sides of each check; the commands the mode deals in come most often. Ids in
/// `CancelOrder`, `Take`, `Withdraw` and `Confirm` are drawn as "how many sequence numbers back"
/// and resolved by [`resolve`], so that they often name something that exists.
fn command(mode: Mode) -> impl Strategy<Value = Command> {
    let (orders, listings, proposals) = match mode {
        Mode::Rolling | Mode::CallAuction(_) => (24, 1, 1),
        Mode::Listing => (1, 24, 1),
        Mode::Bilateral => (1, 1, 24),
    };
    // Weights for the rarer commands of a family, never zero.
    let (cancels, withdrawals) = ((orders / 4).max(1), (listings / 8).max(1));
    let (lists, proposes) = ((listings / 2).max(1), (proposals / 2).max(1));
    let who = 0usize..6;
    // Mostly the side the participant's role may trade.
    let side_of = |w: usize, flip: bool| {
        let natural = if cast(w).role.may_sell() {
            Side::Sell
        } else {
            Side::Buy
        };
        if flip { natural.opposite() } else { natural }
    };
    let flip = prop::bool::weighted(0.1);
    let ioc = prop::bool::weighted(0.3);
    let period = prop_oneof![12 => (0u16..3).prop_map(Period), 1 => Just(Period(24))];
    let volume = prop_oneof![
        1 => prop::sample::select(vec![-1000i64, 0, 500]),
        6 => prop::sample::select(vec![1000i64, 2000, 3000]),
    ]
    .prop_map(Kwh);
    let energy = prop_oneof![
        1 => Just("290.00"),
        8 => prop::sample::select(vec!["300.00", "350.00", "400.00"]),
    ];
    let environment = prop_oneof![
        1 => Just("-1.00"),
        8 => prop::sample::select(vec!["0.00", "10.00", "20.00", "35.50"]),
    ];
    let two_part = (energy, environment).prop_map(|(e, v)| price(e, v));
    let back = 1u64..6;
    let vols = prop::collection::vec((period.clone(), volume.clone()), 0..3).prop_map(|list| {
        list.into_iter()
            .map(|(period, volume)| PeriodVolume { period, volume })
            .collect::<Vec<_>>()
    });
    prop_oneof![
        1 => prop::sample::select(vec![
            Command::Announce,
            Command::Open,
            Command::Close,
            Command::Clear,
            Command::Publish,
            Command::Cancel,
        ]),
        orders => (who.clone(), flip, period, volume, two_part.clone(), ioc)
            .prop_map(move |(w, flip, period, volume, price, ioc)| Command::SubmitOrder {
                by: cast(w),
                side: side_of(w, flip),
                period,
                volume,
                price,
                time_in_force: if ioc { TimeInForce::Ioc } else { TimeInForce::Limit },
            }),
        cancels => (who.clone(), back.clone()).prop_map(|(w, back)| Command::CancelOrder {
            by: cast(w).id,
            order: OrderId(back),
        }),
        lists => (who.clone(), flip, vols.clone(), two_part.clone()).prop_map(
            move |(w, flip, volumes, price)| Command::List {
                by: cast(w),
                side: side_of(w, flip),
                volumes,
                price,
            }
        ),
        listings => (who.clone(), back.clone(), vols.clone()).prop_map(|(w, listing, volumes)| {
            Command::Take { by: cast(w), listing, volumes }
        }),
        withdrawals => (who.clone(), back.clone()).prop_map(|(w, listing)| Command::Withdraw {
            by: cast(w).id,
            listing,
        }),
        proposes => (who.clone(), 0usize..6, flip, vols, two_part, -100i64..3000).prop_map(
            |(w, c, flip, volumes, price, comp)| Command::Propose {
                by: cast(w),
                // Mostly someone of the other side.
                counterparty: match (cast(w).role.may_sell(), flip) {
                    (true, false) => cast(2 + c % 3),
                    (false, false) => cast(c % 2),
                    (_, true) => cast(c),
                },
                volumes,
                price,
                compensation: Price(comp),
            }
        ),
        proposals => (who, back).prop_map(|(w, proposal)| Command::Confirm {
            by: cast(w).id,
            proposal,
        }),
    ]
}

/// Turns the "sequence numbers back" of a generated command into an id, given the last
/// sequence number used.
fn resolve(command: &Command, seq: u64) -> Command {
    let id = |back: u64| seq.saturating_sub(back - 1);
    match command.clone() {
        Command::CancelOrder { by, order } => Command::CancelOrder {
            by,
            order: OrderId(id(order.0)),
        },
        Command::Take {
            by,
            listing,
            volumes,
        } => Command::Take {
            by,
            listing: id(listing),
            volumes,
        },
        Command::Withdraw { by, listing } => Command::Withdraw {
            by,
            listing: id(listing),
        },
        Command::Confirm { by, proposal } => Command::Confirm {
            by,
            proposal: id(proposal),
        },
        other => other,
    }
}

/// Applies `commands` to a fresh session; stamps marked stale repeat the last sequence number.
/// Returns the serialised results, final contracts and snapshot, and checks that every refused
/// command left the session exactly as it was.
fn replay(mode: Mode, commands: &[(Command, bool)]) -> Vec<u8> {
    let mut session = Session::new(SessionId(3), settings(mode)).unwrap();
    let mut log: Vec<Result<Vec<Event>, String>> = Vec::new();
    let mut seq = 0;
    let opening = [(Command::Announce, false), (Command::Open, false)];
    let closing = [
        (Command::Close, false),
        (Command::Clear, false),
        (Command::Publish, false),
    ];
    for (command, stale) in opening.iter().chain(commands).chain(&closing) {
        let command = resolve(command, seq);
        let stamp = Stamp {
            seq: if *stale { seq } else { seq + 1 },
            at_ms: at_ms(seq),
        };
        let before = serde_json::to_vec(&session.snapshot()).unwrap();
        let result = session.apply(command.clone(), stamp);
        match &result {
            Ok(_) => seq = stamp.seq,
            Err(_) => assert_eq!(
                serde_json::to_vec(&session.snapshot()).unwrap(),
                before,
                "{command:?} was refused but changed the session"
            ),
        }
        log.push(result.map_err(|e| format!("{e:?}")));
    }
    // Contract ids run from 1 in creation order, every contract is between two parties and
    // every volume is positive. Volumes are lot multiples too, except in a call auction, whose
    // marginal orders share pro rata in whole kWh (spec §3.3).
    for (i, c) in session.contracts().iter().enumerate() {
        assert_eq!(c.id, ContractId(i as u64 + 1));
        assert_ne!(c.seller, c.buyer);
        assert!(c.volumes.iter().all(|v| v.volume.0 > 0));
        if !matches!(mode, Mode::CallAuction(_)) {
            assert!(c.volumes.iter().all(|v| v.volume.0 % 1000 == 0), "{c:?}");
        }
    }
    let mut bytes = serde_json::to_vec(&log).unwrap();
    bytes.extend(serde_json::to_vec(session.contracts()).unwrap());
    bytes.extend(serde_json::to_vec(&session.snapshot()).unwrap());
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn replaying_the_same_commands_gives_byte_identical_results(
        (mode, commands) in prop::sample::select(MODES.to_vec()).prop_flat_map(|mode| {
            (Just(mode), prop::collection::vec((command(mode), prop::bool::weighted(0.05)), 0..80))
        }),
    ) {
        let first = replay(mode, &commands);
        let second = replay(mode, &commands);
        prop_assert_eq!(first, second);
    }
}

#[test]
fn events_serialise_with_a_tag() {
    let e = Event::StateChanged {
        from: SessionState::Draft,
        to: SessionState::Announced,
    };
    assert_eq!(
        serde_json::to_string(&e).unwrap(),
        r#"{"event":"state_changed","from":"draft","to":"announced"}"#
    );
    let c = Command::CancelOrder {
        by: ParticipantId(3),
        order: OrderId(9),
    };
    assert_eq!(
        serde_json::to_string(&c).unwrap(),
        r#"{"command":"cancel_order","by":3,"order":9}"#
    );
}

#[test]
fn participants_read_periods_as_labels_and_volumes_in_mwh() {
    let template = domain::PeriodTemplate::Hours;
    let e = ExchangeError::VolumeNotLotMultiple {
        period: Period(0),
        volume: domain::Kwh(300),
        lot: domain::Kwh(500),
    };
    assert_eq!(
        e.describe(&template),
        "field `mwh`: volume 0.300 MWh in period h01 is not a multiple of the lot 0.500 MWh"
    );
    assert_eq!(e.field(), Some("mwh"));
    assert_eq!(
        e.to_string(),
        "volume 300 kWh in period index 0 is not a multiple of the lot 500 kWh"
    );
    let e = ExchangeError::ExceedsRemaining {
        listing: 3,
        period: Period(18),
        requested: domain::Kwh(7_000),
        remaining: domain::Kwh(3_000),
    };
    assert_eq!(
        e.describe(&template),
        "field `mwh`: listing 3 has 3.000 MWh left in period h19, less than 7.000 MWh"
    );
    // A period outside the template keeps its index.
    let e = ExchangeError::UnknownPeriod {
        period: Period(24),
        periods: 24,
    };
    assert_eq!(
        e.describe(&template),
        "field `period`: period index 24 is not in the session's template of 24 periods"
    );
}

#[test]
fn a_published_session_restores_from_its_snapshot() {
    // A rolling session with trades, published: its snapshot restores to the same session,
    // which refuses what the original refuses.
    let mut d = Driver::open(settings(Mode::Rolling));
    let (g, u) = (generator(1), user(2));
    for (by, side, mwh) in [
        (&g, Side::Sell, "5"),
        (&u, Side::Buy, "3"),
        (&u, Side::Buy, "4"),
    ] {
        d.ok(Command::SubmitOrder {
            by: by.clone(),
            side,
            period: Period(0),
            volume: domain::Kwh::parse_mwh(mwh).unwrap(),
            price: domain::TwoPartPrice {
                energy: yuan("400.00"),
                environment: yuan("20.00"),
            },
            time_in_force: domain::TimeInForce::Limit,
        });
    }
    // Not yet published: no restoring an open session.
    assert!(Session::restore_published(d.session.snapshot()).is_none());
    d.ok(Command::Close);
    d.ok(Command::Clear);
    d.ok(Command::Publish);
    let snapshot = d.session.snapshot();
    assert_eq!(snapshot.contracts.len(), 2);
    let json = serde_json::to_string(&snapshot).unwrap();
    let mut restored = Session::restore_published(serde_json::from_str(&json).unwrap()).unwrap();
    assert_eq!(restored.snapshot(), snapshot);
    let stamp = Stamp {
        seq: 99,
        at_ms: at_ms(99),
    };
    assert_eq!(
        restored.apply(Command::Cancel, stamp),
        d.session.apply(Command::Cancel, stamp)
    );
}
