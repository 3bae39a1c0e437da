//! Spec §1 bounds through settlement: a whole month of meter intervals at 10^9 kWh, contract
//! months at their bound and prices at ±100,000.00 yuan/MWh settle without overflow, to the fen.

use domain::Kwh;
use settlement::{CONTRACTS_HEADER, Payer, parse_contracts, parse_meters, settle};

use crate::{may, meter_file};

#[test]
fn the_largest_month_settles_with_exact_money() {
    // Every interval of May at the bound: 2,976 × 10^9 kWh for the seller and for one buyer.
    let month_kwh = 2_976 * Kwh::MAX_INTERVAL.0;
    let meters = meter_file(
        may(),
        &[("M-G1", "G1", month_kwh), ("M-U1", "U1", month_kwh)],
    );
    assert!(meters.contains(",1000000000\n"));
    let data = parse_meters(meters.as_bytes(), may()).unwrap();
    assert_eq!(data.participant_total("G1"), Kwh(2_976_000_000_000));
    let rows = "c1,G1,U1,96000000.000,100000.00,100000.00,100000.00,999\n\
                c2,G1,U1,96000000.000,-100000.00,100000.00,100000.00,0\n\
                c3,G1,U2,96000000.000,100000.00,100000.00,100000.00,0\n";
    let contracts = parse_contracts(format!("{CONTRACTS_HEADER}\n{rows}").as_bytes()).unwrap();
    assert!(
        contracts
            .iter()
            .all(|c| c.volume == Kwh::MAX_CONTRACT_MONTH)
    );
    let result = settle(may(), &contracts, |p| data.participant_total(p));
    let lines = &result.lines;
    // c1: all delivered; 96,000,000 MWh + 999 kWh carried in → 96,000,000 MWh and 999 carried.
    assert_eq!(lines[0].delivered, Kwh(96_000_000_000));
    assert_eq!(
        (lines[0].env_mwh, lines[0].carry_out),
        (96_000_000, Kwh(999))
    );
    // 96,000,000 MWh × 100,000.00 yuan/MWh = 9,600,000,000,000.00 yuan.
    assert_eq!(lines[0].env_money.to_string(), "9600000000000.00");
    assert_eq!(lines[0].energy_money.to_string(), "9600000000000.00");
    assert_eq!(lines[1].energy_money.to_string(), "-9600000000000.00");
    assert_eq!(lines[1].env_money.to_string(), "9600000000000.00");
    // c3: U2 has no meter, so nothing is delivered and the buyer pays for the whole shortfall.
    assert_eq!(lines[2].delivered, Kwh::ZERO);
    assert_eq!(lines[2].shortfall, Kwh(96_000_000_000));
    assert_eq!(lines[2].comp_money.to_string(), "9600000000000.00");
    assert_eq!(lines[2].comp_payer, Some(Payer::Buyer));
}

#[test]
fn contract_months_and_meter_intervals_beyond_the_bounds_are_refused() {
    let rows = "c1,G1,U1,96000000.001,1.00,1.00,1.00,0\n\
                c2,G1,U1,1.000,100000.01,1.00,1.00,0\n";
    let errors = parse_contracts(format!("{CONTRACTS_HEADER}\n{rows}").as_bytes()).unwrap_err();
    let text = errors.to_string();
    assert!(
        text.contains("line 2, field `mwh`: `96000000.001` is beyond the bound of 96000000 MWh"),
        "{text}"
    );
    assert!(
        text.contains(
            "line 3, field `energy_price`: `100000.01` is beyond the bound of ±100000.00 yuan/MWh"
        ),
        "{text}"
    );
    let mut meters = meter_file(may(), &[("M1", "U1", 0)]);
    meters = meters.replacen(",0\n", ",1000000001\n", 1);
    let errors = parse_meters(meters.as_bytes(), may()).unwrap_err();
    assert_eq!(
        errors.rows[0].to_string(),
        "line 2, field `kwh`: `1000000001` kWh in 15 minutes is beyond the bound of 1000000000 kWh"
    );
}
