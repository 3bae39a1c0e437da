//! Values the tests store: participants, settings, commands, orders and contracts, written with
//! the domain and exchange types.

use domain::{
    Contract, ContractId, ContractStatus, Kwh, Order, OrderId, Participant, ParticipantId, Period,
    PeriodTemplate, PeriodVolume, Price, Province, Role, SessionId, Side, TimeInForce, TouTemplate,
    TwoPartPrice,
};
use exchange::auction::Method;
use exchange::session::{
    BidOn, Command, DeliveryWindow, Horizon, Mode, Scope, SessionSettings, YearMonth,
};
use store::{Batch, JournalEntry, NewParticipant, StoredResponse};

/// The caller's clock at sequence `seq`.
pub fn at_ms(seq: u64) -> i64 {
    1_740_000_000_000 + seq as i64 * 1_000
}

pub fn province(code: &str) -> Province {
    Province::parse(code).unwrap()
}

pub fn new_participant(name: &str, role: Role, province_code: &str) -> NewParticipant {
    NewParticipant {
        name: name.to_owned(),
        role,
        province: province(province_code),
    }
}

pub fn party(id: u64, name: &str, role: Role) -> Participant {
    Participant {
        id: ParticipantId(id),
        name: name.to_owned(),
        role,
        province: province("ZJ"),
    }
}

/// A two-part price in fen/MWh.
pub fn price(energy: i64, environment: i64) -> TwoPartPrice {
    TwoPartPrice {
        energy: Price(energy),
        environment: Price(environment),
    }
}

pub fn volumes(list: &[(u16, i64)]) -> Vec<PeriodVolume> {
    list.iter()
        .map(|&(period, kwh)| PeriodVolume {
            period: Period(period),
            volume: Kwh(kwh),
        })
        .collect()
}

/// Zhejiang, March 2025, hourly, rolling, energy in [300.00, 500.00] yuan/MWh, lot 1 MWh.
pub fn rolling_settings() -> SessionSettings {
    SessionSettings {
        scope: Scope::Intra(province("ZJ")),
        horizon: Horizon::Month,
        mode: Mode::Rolling,
        delivery: DeliveryWindow {
            first_month: YearMonth::new(2025, 3).unwrap(),
            last_month: YearMonth::new(2025, 3).unwrap(),
        },
        template: PeriodTemplate::Hours,
        energy_price_min: Price(30_000),
        energy_price_max: Price(50_000),
        env_price_cap: None,
        lot: Kwh(1_000),
        bid_on: BidOn::Total,
        compensation: Price(5_000),
        corridors: Vec::new(),
    }
}

/// Settings using every optional and nested variant: an inter-provincial high-low call auction
/// over a year with time-of-use periods, a capped environmental value and a fixed energy price.
pub fn elaborate_settings() -> SessionSettings {
    SessionSettings {
        scope: Scope::Inter(vec![province("QH"), province("ZJ"), province("GS")]),
        horizon: Horizon::Year,
        mode: Mode::CallAuction(Method::HighLow),
        delivery: DeliveryWindow {
            first_month: YearMonth::new(2026, 1).unwrap(),
            last_month: YearMonth::new(2026, 12).unwrap(),
        },
        template: PeriodTemplate::TimeOfUse(TouTemplate::example_three_band()),
        energy_price_min: Price(-10_050),
        energy_price_max: Price(45_025),
        env_price_cap: Some(Price(3_001)),
        lot: Kwh(500),
        bid_on: BidOn::Environment {
            energy_price: Price(39_120),
        },
        compensation: Price(0),
        corridors: Vec::new(),
    }
}

/// One command of every kind, stamped `first_seq`, `first_seq + 1`, …
pub fn every_kind_of_command(first_seq: u64) -> Vec<JournalEntry> {
    let generator = party(1, "浙能风电", Role::Generator);
    let user = party(2, "杭州数据中心", Role::User);
    let commands = vec![
        Command::Announce,
        Command::Open,
        Command::SubmitOrder {
            by: generator.clone(),
            side: Side::Sell,
            period: Period(8),
            volume: Kwh(10_000),
            price: price(40_000, 2_525),
            time_in_force: TimeInForce::Limit,
        },
        Command::SubmitOrder {
            by: user.clone(),
            side: Side::Buy,
            period: Period(23),
            volume: Kwh(1_000),
            price: price(-1, 0),
            time_in_force: TimeInForce::Ioc,
        },
        Command::CancelOrder {
            by: generator.id,
            order: OrderId(3),
        },
        Command::List {
            by: generator.clone(),
            side: Side::Sell,
            volumes: volumes(&[(0, 5_000), (95, 7_000)]),
            price: price(41_000, 1_000),
        },
        Command::Take {
            by: user.clone(),
            listing: 6,
            volumes: volumes(&[(95, 2_000)]),
        },
        Command::Withdraw {
            by: generator.id,
            listing: 6,
        },
        Command::Propose {
            by: generator.clone(),
            counterparty: user.clone(),
            volumes: volumes(&[(8, 3_000), (9, 3_000)]),
            price: price(39_999, 1),
            compensation: Price(6_000),
        },
        Command::Confirm {
            by: user.id,
            proposal: 9,
        },
        Command::Close,
        Command::Clear,
        Command::Publish,
        Command::Cancel,
    ];
    commands
        .into_iter()
        .zip(first_seq..)
        .map(|(command, seq)| JournalEntry {
            seq,
            at_ms: at_ms(seq),
            command,
        })
        .collect()
}

pub fn order(id: u64, participant: u64, side: Side, period: u16, volume_kwh: i64) -> Order {
    Order {
        id: OrderId(id),
        participant: ParticipantId(participant),
        side,
        period: Period(period),
        volume: Kwh(volume_kwh),
        price: price(40_000 + id as i64, 2_000 - id as i64),
        time_in_force: TimeInForce::Limit,
        submitted_at_ms: at_ms(id),
    }
}

pub fn contract(session: SessionId, id: u64, seller: u64, buyer: u64) -> Contract {
    Contract {
        id: ContractId(id),
        session,
        seller: ParticipantId(seller),
        buyer: ParticipantId(buyer),
        volumes: volumes(&[(8, 1_000 * id as i64), (9, 2_500)]),
        price: price(41_000, 1_500 + id as i64),
        compensation: Price(5_000),
        status: ContractStatus::Effective,
        created_at_ms: at_ms(100 + id),
        // Every even contract crosses a corridor (migration 0004's column round-trips).
        corridor: id.is_multiple_of(2).then(|| domain::ContractCorridor {
            from: domain::Province::parse("QH").unwrap(),
            to: domain::Province::parse("ZJ").unwrap(),
            via: Vec::new(),
            losses: volumes(&[(8, 35 * id as i64)]),
        }),
    }
}

pub fn response(participant: u64, key: &str, status: u16, body: &str) -> StoredResponse {
    StoredResponse {
        participant: ParticipantId(participant),
        key: key.to_owned(),
        status,
        body: body.to_owned(),
        // A distinct hash per key and status, to see it stored and read back.
        request: Some([key.len() as u8 ^ status as u8; 32]),
    }
}

/// A batch of `session` writing nothing yet.
pub fn empty_batch(session: SessionId) -> Batch {
    Batch::new(session)
}
