//! The month close: 月度分解 (spec §4), carries between months (spec §5), and 证电合一.

use std::collections::{BTreeMap, BTreeSet};

use domain::{Kwh, Participant, Role, Technology, YearMonth};
use exchange::session::{DeliveryWindow, Horizon, Session};
use market::{
    MonthContract, SettlementLine, SettlementReport, carries_into, close_month, delivering,
    monthly_losses, monthly_volumes, open_earlier_months, settle_certificates,
};
use proptest::prelude::*;
use registry::Registry;
use settlement::ContractTerms;

use crate::fixtures::{Deal, bilateral, month, party, project};

fn window(first: &str, last: &str) -> DeliveryWindow {
    DeliveryWindow {
        first_month: month(first),
        last_month: month(last),
    }
}

#[test]
fn the_spec_example_decomposes_by_days() {
    // 100.500 MWh over 2024-01..2024-03 (31 + 29 + 31 days) gives 34,236 + 32,028 + 34,236 kWh.
    let months = monthly_volumes(window("2024-01", "2024-03"), Kwh(100_500));
    assert_eq!(
        months,
        vec![
            (month("2024-01"), Kwh(34_236)),
            (month("2024-02"), Kwh(32_028)),
            (month("2024-03"), Kwh(34_236)),
        ]
    );
    // A single month keeps everything; a leap year's February counts 29 days.
    assert_eq!(
        monthly_volumes(window("2025-03", "2025-03"), Kwh(7)),
        vec![(month("2025-03"), Kwh(7))]
    );
    // 366 kWh over the 366 days of 2024: one a day.
    let year = monthly_volumes(window("2024-01", "2024-12"), Kwh(366));
    let per_month: Vec<i64> = year.iter().map(|(_, v)| v.0).collect();
    assert_eq!(per_month, [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]);
}

proptest! {
    #[test]
    fn months_add_up_and_losses_stay_within_volumes(
        first in 0u32..36,
        span in 1u32..40,
        volume in 0i64..=96_000_000_000,
        loss_per_10k in 0i64..=10_000,
    ) {
        let start = month("2024-01").plus_months(first).unwrap();
        let w = DeliveryWindow { first_month: start, last_month: start.plus_months(span - 1).unwrap() };
        let months = monthly_volumes(w, Kwh(volume));
        prop_assert_eq!(months.len() as u32, span);
        prop_assert_eq!(months.iter().map(|(_, v)| v.0).sum::<i64>(), volume);
        let days: i64 = months.iter().map(|(m, _)| i64::from(m.days())).sum();
        for (m, v) in &months {
            // Each month within one kWh of its exact share.
            let exact = i128::from(volume) * i128::from(m.days());
            prop_assert!((i128::from(v.0) * i128::from(days) - exact).abs() < i128::from(days));
        }
        let loss = Kwh((i128::from(volume) * i128::from(loss_per_10k) / 10_000) as i64);
        let losses = monthly_losses(w, Kwh(volume), loss);
        prop_assert_eq!(losses.iter().map(|l| l.0).sum::<i64>(), loss.0);
        for (l, (_, v)) in losses.iter().zip(&months) {
            prop_assert!(l.0 >= 0 && l <= v);
        }
    }
}

/// The participants of the close tests: generators 1–3 (each one project, meter `M<id>`) and
/// users 4–6, all in Zhejiang.
fn cast() -> (Vec<Participant>, Vec<domain::Project>) {
    let sellers: Vec<Participant> = (1..=3).map(|i| party(i, Role::Generator, "ZJ")).collect();
    let buyers: Vec<Participant> = (4..=6).map(|i| party(i, Role::User, "ZJ")).collect();
    let projects = sellers
        .iter()
        .map(|s| project(s.id.0, s, Technology::WindOffshore, 100_000))
        .collect();
    (sellers.into_iter().chain(buyers).collect(), projects)
}

/// The months the property test closes: 2024-01 .. 2025-06.
fn months() -> Vec<YearMonth> {
    month("2024-01").through(month("2025-06")).collect()
}

/// A session of one deal, of horizon 0 = month, 1 = year, 2 = multi-year.
fn session(id: u64, people: &[Participant], deal: (usize, usize, i64, u8, u32, u32)) -> Session {
    let (seller, buyer, kwh, horizon, start, span) = deal;
    let all = months();
    let first = all[start as usize % all.len()];
    let (horizon, last) = match horizon {
        0 => (Horizon::Month, first),
        1 => (Horizon::Year, first.plus_months(span % 12).unwrap()),
        _ => (
            Horizon::MultiYear,
            first.plus_months(12 + span % 12).unwrap(),
        ),
    };
    bilateral(
        id,
        horizon,
        &first.to_string(),
        &last.to_string(),
        None,
        &[Deal {
            seller: &people[seller],
            buyer: &people[3 + buyer],
            kwh,
            energy: "400.00",
            env: "12.34",
        }],
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Closing months in order (carries taken from the previous final reports, certificates
    /// issued and moved each month) gives the lines of settling each month alone with the
    /// carries passed by hand; certificates are conserved throughout; a month waits for the
    /// earlier months of its contracts.
    #[test]
    fn closing_in_order_is_settling_each_month_with_its_carries(
        deals in proptest::collection::vec(
            (0usize..3, 0usize..3, 1i64..3_000_000, 0u8..3, 0u32..18, 0u32..24), 1..7),
        metered in proptest::collection::vec(proptest::collection::vec(0i64..2_000_000, 6), 18),
    ) {
        let (people, projects) = cast();
        let sessions: Vec<Session> = deals
            .iter()
            .enumerate()
            .map(|(i, d)| session(i as u64 + 1, &people, *d))
            .collect();
        let mut registry = Registry::new();
        let mut finals: Vec<SettlementReport> = Vec::new();
        let mut final_months = BTreeSet::new();
        let mut hand_carries: BTreeMap<String, Kwh> = BTreeMap::new();
        let mut settled: BTreeMap<String, i64> = BTreeMap::new();
        for (i, m) in months().into_iter().enumerate() {
            let meter = |p: &str| Kwh(metered[i][p.parse::<usize>().unwrap() - 1]);
            let contracts: Vec<MonthContract> = delivering(&sessions, m);
            // Earlier months are all final: nothing holds this one back.
            prop_assert!(open_earlier_months(m, &contracts, &final_months).is_empty());
            // Closed in order.
            let carries = carries_into(m, &finals);
            let mut report = close_month(m, &contracts, &carries, meter);
            // Alone, with the carries of the previous lines passed by hand.
            let terms: Vec<ContractTerms> = contracts
                .iter()
                .map(|c| ContractTerms {
                    carry_in: hand_carries.get(&c.terms.id).copied().unwrap_or(Kwh::ZERO),
                    ..c.terms.clone()
                })
                .collect();
            let alone = settlement::settle(m, &terms, meter);
            let alone_lines: Vec<SettlementLine> = alone
                .lines
                .iter()
                .zip(&terms)
                .map(|(l, t)| SettlementLine::of(l, t.carry_in))
                .collect();
            prop_assert_eq!(&report.lines, &alone_lines, "{}", m);
            prop_assert_eq!(market::check_conservation(&report, &contracts), Ok(()));
            for line in &alone.lines {
                hand_carries.insert(line.contract.clone(), line.carry_out);
                *settled.entry(line.contract.clone()).or_default() += line.volume.0;
            }
            // Certificates: issue the month from the sellers' meters, then move Q_env.
            let by_meter: BTreeMap<String, i64> =
                (1..=3).map(|s| (format!("M{s}"), metered[i][s - 1])).collect();
            let at = 1_700_000_000_000 + i as i64;
            market::issue_month(&mut registry, &projects, &by_meter, m, at).unwrap();
            let transfers = settle_certificates(&mut registry, &report, &contracts, &projects, m, at).unwrap();
            registry.check_conservation().unwrap();
            // Every Q_env is moved or reported missing, exactly.
            for line in &report.lines {
                let wanted: u64 = line.env_mwh.parse().unwrap();
                let moved: u64 = transfers.iter().filter(|t| t.contract == line.contract)
                    .map(|t| t.certificates + t.certificates_missing).sum();
                prop_assert_eq!(moved, wanted);
            }
            report.is_final = Some(true);
            report.transfers = Some(transfers);
            finals.push(report);
            final_months.insert(m);
        }
        // Each contract settled exactly its volume over the months closed (its whole window
        // when the window ends by 2025-06).
        for s in &sessions {
            let w = s.settings().delivery;
            for c in s.contracts() {
                let key = market::contract_key(s.id(), c.id);
                let expected: i64 = monthly_volumes(w, c.total_volume())
                    .into_iter()
                    .filter(|(m, _)| *m <= month("2025-06"))
                    .map(|(_, v)| v.0)
                    .sum();
                prop_assert_eq!(settled.get(&key).copied().unwrap_or(0), expected);
            }
        }
    }
}

#[test]
fn a_final_close_waits_for_earlier_months_of_its_contracts() {
    let (people, _) = cast();
    let year = bilateral(
        1,
        Horizon::Year,
        "2024-01",
        "2024-03",
        None,
        &[Deal {
            seller: &people[0],
            buyer: &people[3],
            kwh: 100_500,
            energy: "400.00",
            env: "20.00",
        }],
    );
    let month_only = bilateral(
        2,
        Horizon::Month,
        "2024-03",
        "2024-03",
        None,
        &[Deal {
            seller: &people[1],
            buyer: &people[4],
            kwh: 5_000,
            energy: "400.00",
            env: "20.00",
        }],
    );
    let sessions = [year, month_only];
    let march = delivering(&sessions, month("2024-03"));
    assert_eq!(march.len(), 2);
    let none = BTreeSet::new();
    assert_eq!(
        open_earlier_months(month("2024-03"), &march, &none),
        vec![month("2024-01"), month("2024-02")]
    );
    let january: BTreeSet<YearMonth> = [month("2024-01")].into();
    assert_eq!(
        open_earlier_months(month("2024-03"), &march, &january),
        vec![month("2024-02")]
    );
    // The month-only contract alone waits for nothing.
    assert!(open_earlier_months(month("2024-03"), &march[1..], &none).is_empty());
}

#[test]
fn carries_come_from_the_latest_earlier_final_month() {
    let report = |m: &str, carry: &str| SettlementReport {
        month: m.to_owned(),
        is_final: Some(true),
        lines: vec![SettlementLine {
            contract: "S1-C1".to_owned(),
            env_mwh: "1".to_owned(),
            carry_out_kwh: carry.to_owned(),
            env_yuan: "0.00".to_owned(),
            energy_yuan: "0.00".to_owned(),
            shortfall_mwh: "0.000".to_owned(),
            comp_yuan: "0.00".to_owned(),
            comp_payer: None,
            carry_in_kwh: "0".to_owned(),
            volume_mwh: "1.000".to_owned(),
            delivered_mwh: "1.000".to_owned(),
            sent_mwh: "1.000".to_owned(),
            lost_mwh: "0.000".to_owned(),
        }],
        transfers: Some(Vec::new()),
        retail: Vec::new(),
    };
    // Given out of order: February's carry is the one before March; April's own is ignored.
    let finals = [
        report("2024-02", "640"),
        report("2024-01", "236"),
        report("2024-04", "9"),
    ];
    let carries = carries_into(month("2024-03"), &finals);
    assert_eq!(carries.get("S1-C1"), Some(&Kwh(640)));
    assert!(carries_into(month("2024-01"), &finals).is_empty());
}
