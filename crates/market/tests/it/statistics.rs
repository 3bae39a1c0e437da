//! A hand-worked year of spec §8 statistics: every figure written out.

use std::collections::BTreeMap;

use domain::{Kwh, Role, Technology};
use exchange::session::{Horizon, Session};
use market::{MarketFacts, annual_report, close_month, delivering, settle_certificates};
use registry::Registry;
use serde_json::json;

use crate::fixtures::{Deal, bilateral, coupled, month, party};

#[test]
fn a_hand_worked_year() {
    // Participants: 1 a ZJ generator with an offshore wind project P1 (300 MW) and a
    // distributed PV project P2 (100 MW); 2 a QH generator with central PV P3 (200 MW);
    // 3 and 4 ZJ users; 5 a QH user.
    let g_zj = party(1, Role::Generator, "ZJ");
    let g_qh = party(2, Role::Generator, "QH");
    let u3 = party(3, Role::User, "ZJ");
    let u4 = party(4, Role::User, "ZJ");
    let u5 = party(5, Role::User, "QH");
    let participants = vec![
        g_zj.clone(),
        g_qh.clone(),
        u3.clone(),
        u4.clone(),
        u5.clone(),
    ];
    let projects = vec![
        crate::fixtures::project(1, &g_zj, Technology::WindOffshore, 300_000),
        crate::fixtures::project(2, &g_zj, Technology::PvDistributed, 100_000),
        crate::fixtures::project(3, &g_qh, Technology::PvCentral, 200_000),
    ];
    let deal = |seller, buyer, kwh, energy, env| Deal {
        seller,
        buyer,
        kwh,
        energy,
        env,
    };
    let sessions: Vec<Session> = vec![
        // 2023: 100 MWh, ZJ to ZJ (last year, for growth).
        bilateral(
            10,
            Horizon::Month,
            "2023-05",
            "2023-05",
            None,
            &[deal(&g_zj, &u3, 100_000, "380.00", "15.00")],
        ),
        // A: intra ZJ, March 2024, 400 MWh at 400.00 + 20.00.
        bilateral(
            11,
            Horizon::Month,
            "2024-03",
            "2024-03",
            None,
            &[deal(&g_zj, &u3, 400_000, "400.00", "20.00")],
        ),
        // B, C, D: the coupled walkthrough in June 2024 (QH→QH 3 MWh at 225.00, ZJ→ZJ 3.25 at
        // 450.00, QH→ZJ 5 sent at 225.00 with 0.25 lost over the corridor).
        coupled(12, "2024-06", &g_qh, &u5, &g_zj, &u4),
        // E: inter, a year contract 2024-11..2025-02 (120 days), QH's generator to a ZJ user,
        // 120 MWh at 300.00 + 10.00: 1,000 kWh a day, so 30 + 31 MWh in 2024.
        bilateral(
            13,
            Horizon::Year,
            "2024-11",
            "2025-02",
            Some(&["QH", "ZJ"]),
            &[deal(&g_qh, &u3, 120_000, "300.00", "10.00")],
        ),
    ];

    // March 2024: P1 meters 300,000 kWh, P2 150,000, user 3 consumes 380,500. Issued 300 + 150
    // certificates; A delivers 380,500 kWh: 380 MWh, 500 carried; shortfall 19,500 kWh.
    let mut registry = Registry::new();
    let march = month("2024-03");
    let by_meter: BTreeMap<String, i64> =
        [("M1".to_owned(), 300_000), ("M2".to_owned(), 150_000)].into();
    market::issue_month(&mut registry, &projects, &by_meter, march, 1).unwrap();
    let metered = |p: &str| {
        Kwh(match p {
            "1" => 450_000,
            "3" => 380_500,
            _ => 0,
        })
    };
    let contracts = delivering(&sessions, march);
    let mut report = close_month(march, &contracts, &BTreeMap::new(), metered);
    assert_eq!(report.lines[0].delivered_mwh, "380.500");
    // 证电合一: 380 certificates, P1's 300 first (filing-code order), then 80 of P2.
    let transfers =
        settle_certificates(&mut registry, &report, &contracts, &projects, march, 2).unwrap();
    assert_eq!(
        transfers
            .iter()
            .map(|t| (t.project.clone().unwrap(), t.certificates))
            .collect::<Vec<_>>(),
        vec![
            ("33010000000000001".to_owned(), 300),
            ("33010000000000002".to_owned(), 80)
        ]
    );
    report.is_final = Some(true);
    report.transfers = Some(transfers);
    // User 3 claims 100 of P1's.
    registry
        .claim(
            u3.id,
            projects[0].code,
            march,
            100,
            "杭州某制造企业 2024 年用电",
            3,
        )
        .unwrap();

    let session_refs: Vec<&Session> = sessions.iter().collect();
    let facts = MarketFacts {
        sessions: &session_refs,
        participants: &participants,
        projects: &projects,
        finals: &[market::SettledVolumes::from(&report)],
        registry: &registry,
        retail: &[],
    };
    let report_2024 = serde_json::to_value(annual_report(2024, &facts)).unwrap();
    // Traded in 2024: A 400,000 + B 3,000 + C 3,250 + D 5,000 + E 61,000 = 472,250 kWh; 2023
    // traded 100,000, so +372.25%. Settled: A's 380,500 (no final run in 2023: null growth).
    // Inter-provincial: D 5,000 + E 61,000 = 66,000 → 0.13976 → "0.1398".
    // Energy: (400,000 × 400 + 3,000 × 225 + 3,250 × 450 + 5,000 × 225 + 61,000 × 300) /
    // 472,250 = 384.4627 → 384.46; environment (400,000 × 20 + 61,000 × 10) / 472,250 =
    // 18.2319 → 18.23.
    // Technologies: seller 1's A and C shared 3:1 by capacity between its technologies, in name
    // order (C: 812.5 / 2,437.5, the tied kWh to the first, distributed PV): offshore
    // 300,000 + 2,437, distributed PV 100,000 + 813; seller 2's B, D, E all
    // central PV: 69,000. Sources: ZJ 403,250, QH 69,000.
    // Certificates of 2024: issued 450, transferred 380, claimed 100.
    // QH: sold B + D + E = 69,000, exported D + E = 66,000; bought B 3,000 at 225.00; in S2
    // and S3; seller 2 and buyer 5.
    // ZJ: sold A + C = 403,250; bought A + C + (D − 250) + E = 469,000, imported 4,750 +
    // 61,000 = 65,750 (0.14019 → "0.1402"); traded (sent) 469,250, +369.25% on 2023's
    // 100,000; settled 380,500; energy 18,088,750,000 / 469,250 = 385.482 → 385.48; environment
    // 861,000,000 / 469,250 = 18.348 → 18.35; in S1, S2, S3; parties 1, 3, 4; users 3, 4.
    // Corridor QH→ZJ: 5 MWh sent, 4.75 delivered.
    let no_certificates = json!({"issued": 0, "transferred": 0, "claimed": 0});
    let corridor =
        json!([{"from": "QH", "to": "ZJ", "sent_mwh": "5.000", "delivered_mwh": "4.750"}]);
    assert_eq!(
        report_2024,
        json!({
            "year": 2024,
            "sessions": 3,
            "sessions_by_mode": [
                {"mode": "bilateral", "scope": "inter", "sessions": 1},
                {"mode": "bilateral", "scope": "intra", "sessions": 1},
                {"mode": "call_auction/coupled", "scope": "inter", "sessions": 1}],
            "traded_mwh": "472.250",
            "traded_growth_percent": "372.25",
            "settled_mwh": "380.500",
            "settled_growth_percent": null,
            "inter_provincial_mwh": "66.000",
            "inter_provincial_share": "0.1398",
            "participants": 5,
            "users": 3,
            "average_energy_price": "384.46",
            "average_env_price": "18.23",
            "by_technology": [
                {"technology": "pv_central", "mwh": "69.000"},
                {"technology": "pv_distributed", "mwh": "100.813"},
                {"technology": "wind_offshore", "mwh": "302.437"}],
            "by_source_province": [
                {"province": "QH", "mwh": "69.000"},
                {"province": "ZJ", "mwh": "403.250"}],
            "certificates": {"issued": 450, "transferred": 380, "claimed": 100},
            "provinces": [
                {"province": "QH", "sold_mwh": "69.000", "bought_mwh": "3.000", "imported_mwh": "0.000",
                 "exported_mwh": "66.000", "traded_mwh": "3.000", "traded_growth_percent": null,
                 "settled_mwh": "0.000", "inter_provincial_share": "0.0000", "sessions": 2,
                 "participants": 2, "users": 1, "average_energy_price": "225.00", "average_env_price": "0.00",
                 "by_technology": [{"technology": "pv_central", "mwh": "3.000"}],
                 "by_source_province": [{"province": "QH", "mwh": "3.000"}],
                 "certificates": {"issued": 0, "transferred": 0, "claimed": 0},
                 "top_corridors": corridor},
                {"province": "ZJ", "sold_mwh": "403.250", "bought_mwh": "469.000", "imported_mwh": "65.750",
                 "exported_mwh": "0.000", "traded_mwh": "469.250", "traded_growth_percent": "369.25",
                 "settled_mwh": "380.500", "inter_provincial_share": "0.1402", "sessions": 3,
                 "participants": 3, "users": 2, "average_energy_price": "385.48", "average_env_price": "18.35",
                 "by_technology": [
                     {"technology": "pv_central", "mwh": "66.000"},
                     {"technology": "pv_distributed", "mwh": "100.813"},
                     {"technology": "wind_offshore", "mwh": "302.437"}],
                 "by_source_province": [
                     {"province": "QH", "mwh": "66.000"},
                     {"province": "ZJ", "mwh": "403.250"}],
                 "certificates": {"issued": 450, "transferred": 380, "claimed": 100},
                 "top_corridors": corridor}],
            "top_corridors": corridor,
            // March: A (intra), settled 380.5, its certificates; June: B + C intra, D inter;
            // November and December: E's 30 and 31 MWh, inter.
            "months": (1..=12).map(|m| {
                let (intra, inter, settled, certificates) = match m {
                    3 => ("400.000", "0.000", "380.500", json!({"issued": 450, "transferred": 380, "claimed": 100})),
                    6 => ("6.250", "5.000", "0.000", no_certificates.clone()),
                    11 => ("0.000", "30.000", "0.000", no_certificates.clone()),
                    12 => ("0.000", "31.000", "0.000", no_certificates.clone()),
                    _ => ("0.000", "0.000", "0.000", no_certificates.clone()),
                };
                json!({"month": format!("2024-{m:02}"), "intra_mwh": intra, "inter_mwh": inter,
                    "settled_mwh": settled, "certificates": certificates})
            }).collect::<Vec<_>>(),
            // Energy prices: B and D at 225.00, E at 300.00, A at 400.00, C at 450.00.
            "energy_price_bands": [
                {"from_price": "220.00", "to_price": "240.00", "mwh": "8.000"},
                {"from_price": "300.00", "to_price": "320.00", "mwh": "61.000"},
                {"from_price": "400.00", "to_price": "420.00", "mwh": "400.000"},
                {"from_price": "440.00", "to_price": "460.00", "mwh": "3.250"}]
        })
    );

    // 2025 holds E's January and February (59,000 kWh), down 87.51% on 2024.
    let report_2025 = annual_report(2025, &facts);
    assert_eq!(
        (
            report_2025.traded_mwh.as_str(),
            report_2025.traded_growth_percent.as_deref()
        ),
        ("59.000", Some("-87.51"))
    );
}
