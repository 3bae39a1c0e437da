//! Sessions, participants and projects for the market tests, built through the engines' own
//! commands.

use domain::{
    Kwh, Participant, ParticipantId, Period, PeriodTemplate, PeriodVolume, Price, Project,
    ProjectCode, Province, Role, SessionId, Technology, TwoPartPrice, YearMonth,
};
use exchange::session::{
    BidOn, Command, DeliveryWindow, Horizon, Mode, Scope, Session, SessionSettings, Stamp,
};

/// A province by code.
pub fn province(code: &str) -> Province {
    Province::parse(code).unwrap()
}

/// A participant of `role` in `province`.
pub fn party(id: u64, role: Role, province_code: &str) -> Participant {
    Participant {
        id: ParticipantId(id),
        name: format!("{role} {id}"),
        role,
        province: province(province_code),
    }
}

/// A month.
pub fn month(text: &str) -> YearMonth {
    YearMonth::parse(text).unwrap()
}

/// Project `n` (filing code ending in `n`) of `owner`, metered by meter `M<n>`.
pub fn project(n: u64, owner: &Participant, technology: Technology, capacity_kw: u64) -> Project {
    Project {
        code: ProjectCode::parse(&format!("330100000000{n:05}")).unwrap(),
        technology,
        capacity_kw,
        province: owner.province.clone(),
        owner: owner.id,
        subsidised: false,
        meters: vec![format!("M{n}")],
    }
}

/// Applies `command` with the next sequence number (and a clock from it); returns the number.
fn run(session: &mut Session, seq: &mut u64, command: Command) -> u64 {
    *seq += 1;
    let stamp = Stamp {
        seq: *seq,
        at_ms: 1_700_000_000_000 + *seq as i64,
    };
    session.apply(command, stamp).unwrap();
    *seq
}

/// One bilateral deal: seller, buyer, kWh in period h01 over the window, energy and
/// environmental price in yuan/MWh.
pub struct Deal<'a> {
    pub seller: &'a Participant,
    pub buyer: &'a Participant,
    pub kwh: i64,
    pub energy: &'a str,
    pub env: &'a str,
}

/// A published bilateral session `id` over `first..=last` whose contracts are `deals`, in
/// order (contract ids 1, 2, …). `scope` is `Intra` of the first seller's province unless
/// `inter` names the provinces.
pub fn bilateral(
    id: u64,
    horizon: Horizon,
    first: &str,
    last: &str,
    inter: Option<&[&str]>,
    deals: &[Deal<'_>],
) -> Session {
    let scope = match inter {
        Some(codes) => Scope::Inter(codes.iter().map(|c| province(c)).collect()),
        None => Scope::Intra(deals[0].seller.province.clone()),
    };
    let settings = SessionSettings {
        scope,
        horizon,
        mode: Mode::Bilateral,
        delivery: DeliveryWindow {
            first_month: month(first),
            last_month: month(last),
        },
        template: PeriodTemplate::Hours,
        energy_price_min: Price(0),
        energy_price_max: Price(100_000),
        env_price_cap: None,
        lot: Kwh(1),
        bid_on: BidOn::Total,
        compensation: Price(5_000),
        corridors: Vec::new(),
    };
    let mut session = Session::new(SessionId(id), settings).unwrap();
    let mut seq = 0;
    let mut apply = |session: &mut Session, command: Command| run(session, &mut seq, command);
    apply(&mut session, Command::Announce);
    apply(&mut session, Command::Open);
    for d in deals {
        let price = |t: &str| Price::parse_yuan_per_mwh(t).unwrap();
        let proposal = apply(
            &mut session,
            Command::Propose {
                by: d.seller.clone(),
                counterparty: d.buyer.clone(),
                volumes: vec![PeriodVolume {
                    period: Period(0),
                    volume: Kwh(d.kwh),
                }],
                price: TwoPartPrice {
                    energy: price(d.energy),
                    environment: price(d.env),
                },
                compensation: price("30.00"),
            },
        );
        apply(
            &mut session,
            Command::Confirm {
                by: d.buyer.id,
                proposal,
            },
        );
    }
    for command in [Command::Close, Command::Clear, Command::Publish] {
        apply(&mut session, command);
    }
    session
}

/// The coupled call auction of the API's inter-provincial walkthrough, delivering in `first`:
/// QH's generator `qh_gen` sells 10 MWh at 200.00 and QH's user `qh_user` buys 3 at 250.00;
/// ZJ's generator `zj_gen` sells 10 at 400.00 and ZJ's user `zj_user` buys 8 at 500.00 (period
/// h01, no environmental price); the corridor QH→ZJ carries 5 MWh with 5% lost, tariff 10.00.
/// QH clears at 225.00, ZJ at 450.00: contracts QH→QH 3 MWh at 225.00, ZJ→ZJ 3.25 at 450.00
/// and QH's seller to ZJ's buyer 5 MWh sent at 225.00, 0.25 lost.
pub fn coupled(
    id: u64,
    first: &str,
    qh_gen: &Participant,
    qh_user: &Participant,
    zj_gen: &Participant,
    zj_user: &Participant,
) -> Session {
    use domain::{Side, TimeInForce};
    use exchange::auction::Method;
    use exchange::session::SessionCorridor;
    let settings = SessionSettings {
        scope: Scope::Inter(vec![province("ZJ"), province("QH")]),
        horizon: Horizon::Month,
        mode: Mode::CallAuction(Method::Coupled),
        delivery: DeliveryWindow {
            first_month: month(first),
            last_month: month(first),
        },
        template: PeriodTemplate::Hours,
        energy_price_min: Price(10_000),
        energy_price_max: Price(60_000),
        env_price_cap: None,
        lot: Kwh(1_000),
        bid_on: BidOn::Total,
        compensation: Price(5_000),
        corridors: vec![SessionCorridor {
            from: province("QH"),
            to: province("ZJ"),
            capacity: Kwh(5_000),
            capacity_by_period: Vec::new(),
            loss: 500,
            tariff: Price(1_000),
        }],
    };
    let mut session = Session::new(SessionId(id), settings).unwrap();
    let mut seq = 0;
    let mut apply = |session: &mut Session, command: Command| {
        run(session, &mut seq, command);
    };
    apply(&mut session, Command::Announce);
    apply(&mut session, Command::Open);
    for (by, side, kwh, fen) in [
        (qh_gen, Side::Sell, 10_000, 20_000),
        (qh_user, Side::Buy, 3_000, 25_000),
        (zj_gen, Side::Sell, 10_000, 40_000),
        (zj_user, Side::Buy, 8_000, 50_000),
    ] {
        apply(
            &mut session,
            Command::SubmitOrder {
                by: by.clone(),
                side,
                period: Period(0),
                volume: Kwh(kwh),
                price: TwoPartPrice {
                    energy: Price(fen),
                    environment: Price(0),
                },
                time_in_force: TimeInForce::Limit,
            },
        );
    }
    for command in [Command::Close, Command::Clear, Command::Publish] {
        apply(&mut session, command);
    }
    session
}
