//! Hourly matching (24/7 score) on a hand-computed month.

use domain::Kwh;
use settlement::{YearMonth, hourly_match, parse_contracts, parse_meters};

/// February 2023 (28 days). G1 generates 10 kWh per quarter-hour from 08:00 to 16:00 (40 kWh an
/// hour, 8,960 kWh in the month); G2 5 kWh every quarter-hour (20 kWh an hour, 13,440 kWh);
/// U1 consumes 6 kWh per quarter-hour (24 kWh an hour, 16,128 kWh); U2 1 kWh per quarter-hour.
fn meters() -> Vec<u8> {
    let mut csv = String::from("meter,participant,start,kwh\n");
    for (meter, participant) in [("MG1", "G1"), ("MG2", "G2"), ("MU1", "U1"), ("MU2", "U2")] {
        for day in 1..=28 {
            for quarter in 0..96 {
                let hour = quarter / 4;
                let kwh = match participant {
                    "G1" if (8..16).contains(&hour) => 10,
                    "G1" => 0,
                    "G2" => 5,
                    "U1" => 6,
                    _ => 1,
                };
                csv.push_str(&format!(
                    "{meter},{participant},2023-02-{day:02}T{hour:02}:{:02},{kwh}\n",
                    quarter % 4 * 15
                ));
            }
        }
    }
    csv.into_bytes()
}

#[test]
fn a_buyer_is_matched_hour_by_hour() {
    let month = YearMonth::parse("2023-02").unwrap();
    let data = parse_meters(&meters(), month).unwrap();
    let contracts = parse_contracts(
        b"contract,seller,buyer,mwh,energy_price,env_price,comp_price,carry_kwh\n\
          c1,G1,U1,6.000,400.00,20.00,50.00,0\n\
          c2,G1,U2,3.000,400.00,20.00,50.00,0\n\
          c3,G2,U1,10.000,400.00,20.00,50.00,0\n",
    )
    .unwrap();
    let m = hourly_match("U1", &contracts, &data).unwrap();
    // G1 sold 9,000 kWh but made 8,960: U1's share is 6,000 / 9,000 of each hour, floor(40 × 2/3)
    // = 26 kWh in generating hours. G2 made 13,440 and sold 10,000: U1's share is
    // 10,000 / 13,440, floor(20 × 0.744) = 14 kWh every hour. So U1 gets 40 kWh in the 8
    // generating hours and 14 kWh in the other 16, against 24 kWh consumed every hour:
    // matched per day 8 × 24 + 16 × 14 = 416, month 11,648; supply 28 × (8 × 40 + 16 × 14) =
    // 15,232; score 11,648 / 16,128 = 72.22% = 7,222 bp.
    assert_eq!(m.consumption, Kwh(16_128));
    assert_eq!(m.supply, Kwh(15_232));
    assert_eq!(m.matched, Kwh(11_648));
    assert_eq!(m.unmatched, Kwh(4_480));
    assert_eq!(m.excess, Kwh(3_584));
    assert_eq!(m.score_bp, 7_222);
    assert_eq!(m.hours.len(), 28 * 24);
    assert_eq!((m.hours[8].supply, m.hours[8].matched), (Kwh(40), Kwh(24)));
    assert_eq!((m.hours[7].supply, m.hours[7].matched), (Kwh(14), Kwh(14)));
    // A participant with no meter data has no matching.
    assert_eq!(hourly_match("U9", &contracts, &data), None);
    // U2 gets floor(40 × 3,000 / 9,000) = 13 kWh in generating hours, nothing else; it
    // consumes 4 kWh an hour: matched 8 × 4 × 28 = 896 of 2,688 = 33.33%.
    let u2 = hourly_match("U2", &contracts, &data).unwrap();
    assert_eq!(
        (u2.matched, u2.consumption, u2.score_bp),
        (Kwh(896), Kwh(2_688), 3_333)
    );
}
