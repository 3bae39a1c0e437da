//! §5 settlement cases. Each `check` takes a contracts file, the participants' metered energy
//! and the expected lines, one per contract in id order, written as
//! `id: G_k L_k D_k | env_mwh carry_out | env_yuan energy_yuan | shortfall_mwh comp_yuan payer`.
//! The numbers in the comments are worked by hand.

use std::collections::BTreeMap;

use domain::{Fen, Kwh, Price};
use settlement::{CONTRACTS_HEADER, ContractTerms, Line, Payer, parse_contracts, settle};

use crate::may;

fn render(line: &Line) -> String {
    format!(
        "{}: {} {} {} | {} {} | {} {} | {} {} {}",
        line.contract,
        line.generation_share.0,
        line.load_share.0,
        line.delivered.0,
        line.env_mwh,
        line.carry_out.0,
        line.env_money,
        line.energy_money,
        line.shortfall.mwh(),
        line.comp_money,
        line.comp_payer.map_or("-", Payer::as_str),
    )
}

fn contracts(rows: &str) -> Vec<ContractTerms> {
    parse_contracts(format!("{CONTRACTS_HEADER}\n{rows}").as_bytes()).unwrap()
}

fn check(rows: &str, metered: &[(&str, i64)], expected: &[&str]) {
    check_with_losses(rows, &[], metered, expected);
}

#[test]
fn enough_generation_and_load() {
    check(
        "c1,G1,U1,12.000,400.00,50.00,30.00,340\n",
        &[("G1", 100_000), ("U1", 50_000)],
        // D = 12,000 kWh; 12,000 + 340 carried in = 12 MWh + 340 kWh carried out.
        // env 12 × 50.00 = 600.00; energy 12 MWh × 400.00 = 4,800.00; no shortfall.
        &["c1: 12000 12000 12000 | 12 340 | 600.00 4800.00 | 0.000 0.00 -"],
    );
}

#[test]
fn a_short_seller_shares_its_generation_over_three_contracts() {
    // G1 metered 10,000 kWh against 5,000 + 3,000 + 4,000 = 12,000 contracted. Exact shares
    // 4,166.67 / 2,500 / 3,333.33: floors 4,166 + 2,500 + 3,333 = 9,999, and the one kWh left
    // goes to the largest remainder (c1: .67 > c3: .33 > c2: 0).
    // c1: D 4,167 → 4 MWh, carry 167; env 200.00; energy 4.167 × 400 = 1,666.80;
    //     shortfall 0.833 × 30 = 24.99, the seller's (G_k 4,167 ≤ L_k 5,000).
    // c2: D 2,500 → 2 MWh, carry 500; env 100.00; energy 1,000.00; shortfall 0.500 → 15.00.
    // c3: D 3,333 → 3 MWh, carry 333; env 150.00; energy 1,333.20; shortfall 0.667 → 20.01.
    check(
        "c3,G1,U3,4.000,400.00,50.00,30.00,0\n\
         c1,G1,U1,5.000,400.00,50.00,30.00,0\n\
         c2,G1,U2,3.000,400.00,50.00,30.00,0\n",
        &[
            ("G1", 10_000),
            ("U1", 9_999_999),
            ("U2", 9_999_999),
            ("U3", 9_999_999),
        ],
        &[
            "c1: 4167 5000 4167 | 4 167 | 200.00 1666.80 | 0.833 24.99 seller",
            "c2: 2500 3000 2500 | 2 500 | 100.00 1000.00 | 0.500 15.00 seller",
            "c3: 3333 4000 3333 | 3 333 | 150.00 1333.20 | 0.667 20.01 seller",
        ],
    );
}

#[test]
fn equal_remainders_go_in_contract_id_order_not_file_order() {
    // 2,000 kWh over three contracts of 1,000: 666.67 each, floors 1,998, two kWh left with
    // equal remainders: a and b (by id) get them although the file lists b, c, a.
    // a, b: D 667 → 0 MWh, carry 667; energy 0.667 × 100.00 = 66.70; shortfall 0.333 × 10.00
    // = 3.33. c: D 666; energy 66.60; shortfall 0.334 → 3.34.
    check(
        "b,G1,U1,1.000,100.00,50.00,10.00,0\n\
         c,G1,U1,1.000,100.00,50.00,10.00,0\n\
         a,G1,U1,1.000,100.00,50.00,10.00,0\n",
        &[("G1", 2_000), ("U1", 5_000)],
        &[
            "a: 667 1000 667 | 0 667 | 0.00 66.70 | 0.333 3.33 seller",
            "b: 667 1000 667 | 0 667 | 0.00 66.70 | 0.333 3.33 seller",
            "c: 666 1000 666 | 0 666 | 0.00 66.60 | 0.334 3.34 seller",
        ],
    );
}

#[test]
fn a_short_buyer_shares_its_load_and_pays_compensation() {
    // U9 consumed 7,000 kWh against 4,000 + 6,000: L_k = 2,800 and 4,200 exactly.
    // d1: D 2,800 → 2 MWh, carry 800; env 2 × 20.00 = 40.00; energy 2.8 × 450.00 = 1,260.00;
    //     shortfall 1.200 × 40.00 = 48.00, the buyer's (G_k 4,000 > L_k 2,800).
    // d2: D 4,200 → 4 MWh, carry 200; env 80.00; energy 1,890.00; shortfall 1.800 → 72.00.
    check(
        "d1,G1,U9,4.000,450.00,20.00,40.00,0\n\
         d2,G2,U9,6.000,450.00,20.00,40.00,0\n",
        &[("G1", 50_000), ("G2", 50_000), ("U9", 7_000)],
        &[
            "d1: 4000 2800 2800 | 2 800 | 40.00 1260.00 | 1.200 48.00 buyer",
            "d2: 6000 4200 4200 | 4 200 | 80.00 1890.00 | 1.800 72.00 buyer",
        ],
    );
}

#[test]
fn both_short() {
    // S1 generated 9,000 against e1 + e2 = 12,000: G_k 4,500 each.
    // B1 consumed 3,000 against e1 + e3 = 8,000: L_e1 = 3,000 × 6/8 = 2,250, L_e3 = 750.
    // e1: D = min(6,000, 4,500, 2,250) = 2,250; G_k > L_k, so the buyer pays for 3.750 MWh:
    //     3.75 × 12.34 = 46.275 → 46.28 (half away from zero). energy 2.25 × 300 = 675.00;
    //     env 2 × 10.00 = 20.00, carry 250.
    // e2: B2 has enough, L_k 6,000; D 4,500; the seller pays 1.500 × 12.34 = 18.51.
    //     energy 1,350.00; env 40.00, carry 500.
    // e3: S2 has enough, G_k 2,000; D 750, buyer pays 1.250 × 12.34 = 15.425 → 15.43;
    //     energy 225.00; env 0 MWh + carry 750.
    // f1: G_k = L_k = 1,500 < 2,000: a tie is the seller's (G_k ≤ L_k).
    //     energy 1.5 × 300 = 450.00; env 1 MWh = 10.00, carry 500; shortfall 0.5 → 6.17.
    check(
        "e1,S1,B1,6.000,300.00,10.00,12.34,0\n\
         e2,S1,B2,6.000,300.00,10.00,12.34,0\n\
         e3,S2,B1,2.000,300.00,10.00,12.34,0\n\
         f1,S3,B3,2.000,300.00,10.00,12.34,0\n",
        &[
            ("S1", 9_000),
            ("S2", 100_000),
            ("S3", 1_500),
            ("B1", 3_000),
            ("B2", 10_000),
            ("B3", 1_500),
        ],
        &[
            "e1: 4500 2250 2250 | 2 250 | 20.00 675.00 | 3.750 46.28 buyer",
            "e2: 4500 6000 4500 | 4 500 | 40.00 1350.00 | 1.500 18.51 seller",
            "e3: 2000 750 750 | 0 750 | 0.00 225.00 | 1.250 15.43 buyer",
            "f1: 1500 1500 1500 | 1 500 | 10.00 450.00 | 0.500 6.17 seller",
        ],
    );
}

#[test]
fn carry_in_completes_a_whole_mwh() {
    // g1: 2,400 delivered + 600 carried in = exactly 3 MWh, nothing carried out.
    // g2: the same delivery without carry: 2 MWh, 400 carried out.
    // g3: nothing generated (no meters): 999 carried in stays 999 — a carry is never a
    //     shortfall, the 1.000 MWh contracted is: 1 × 30.00, the seller's (G_k 0 ≤ L_k 1,000).
    // g4: one kWh at 5.00 yuan/MWh is 0.5 fen: rounds half away from zero to 0.01.
    check(
        "g1,G1,U1,2.400,400.00,50.00,30.00,600\n\
         g2,G1,U1,2.400,400.00,50.00,30.00,0\n\
         g3,G9,U1,1.000,400.00,50.00,30.00,999\n\
         g4,G1,U1,0.001,5.00,5.00,5.00,999\n",
        &[("G1", 100_000), ("U1", 9_999_999)],
        &[
            "g1: 2400 2400 2400 | 3 0 | 150.00 960.00 | 0.000 0.00 -",
            "g2: 2400 2400 2400 | 2 400 | 100.00 960.00 | 0.000 0.00 -",
            "g3: 0 1000 0 | 0 999 | 0.00 0.00 | 1.000 30.00 seller",
            "g4: 1 1 1 | 1 0 | 5.00 0.01 | 0.000 0.00 -",
        ],
    );
}

#[test]
fn a_zero_volume_contract_takes_no_share() {
    // G1 is short (1,000 < 1,500); the zero contract gets nothing and owes nothing.
    check(
        "z0,G1,U1,0,400.00,50.00,30.00,10\n\
         z1,G1,U1,1.500,400.00,50.00,30.00,0\n",
        &[("G1", 1_000), ("U1", 9_999)],
        &[
            "z0: 0 0 0 | 0 10 | 0.00 0.00 | 0.000 0.00 -",
            "z1: 1000 1500 1000 | 1 0 | 50.00 400.00 | 0.500 15.00 seller",
        ],
    );
}

#[test]
fn negative_prices_round_half_away_from_zero() {
    // 1.5 kWh is impossible; 3 kWh at -0.50 yuan/MWh = -0.0015 yuan = -0.15 fen → -0.00;
    // 1,001 kWh at -4.99 = -4.99499 yuan → -4.99.
    check(
        "n1,G1,U1,0.003,-0.50,-1.00,0.00,0\n\
         n2,G1,U1,1.001,-4.99,-1.00,0.00,0\n",
        &[("G1", 100_000), ("U1", 100_000)],
        &[
            "n1: 3 3 3 | 0 3 | 0.00 0.00 | 0.000 0.00 -",
            "n2: 1001 1001 1001 | 1 1 | -1.00 -4.99 | 0.000 0.00 -",
        ],
    );
}

#[test]
fn lines_carry_exact_money() {
    let result = settle(
        may(),
        &contracts("c1,G1,U1,1250.125,420.37,50.00,30.00,0\n"),
        |_| Kwh(10_000_000),
    );
    let line = &result.lines[0];
    // 1,250.125 MWh × 420.37 = 525,515.04... yuan (see domain::Fen::of).
    assert_eq!(line.energy_money, Fen(52_551_505));
    assert_eq!(line.env_money, Fen::of(Kwh(1_250_000), Price(5_000)));
    assert_eq!(line.volume, Kwh(1_250_125));
}

#[test]
fn contract_rows_are_validated() {
    let file = format!(
        "{CONTRACTS_HEADER}\n\
         c1,G1,U1,1.000,400.00,50.00,30.00,0\n\
         c1,G1,U2,1.000,400.00,50.00,30.00,0\n\
         c2,G1,U1,1.0001,400.00,50.00,30.00,0\n\
         c3,G1,U1,-1,400.00,50.00,30.00,0\n\
         c4,G1,U1,1,400.001,50.00,30.00,0\n\
         c5,G1,U1,1,400,fifty,30.00,0\n\
         c6,G1,U1,1,400,50,30,1000\n\
         c7,G1,U1,1,400,50,30,-1\n\
         c8,G1,G1,1,400,50,30,0\n\
         c9,,U1,1,400,50,30,0\n\
         c10,G1,U1,1,400,50,30\n\
         \n\
         c11,G1,U1,1,400,50,30,1.5\n"
    );
    let e = parse_contracts(file.as_bytes()).unwrap_err();
    let got: Vec<String> = e.rows.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "line 3, field `contract`: `c1` is already used on line 2",
            "line 4, field `mwh`: `1.0001` has more than 3 decimals",
            "line 5, field `mwh`: `-1` is negative",
            "line 6, field `energy_price`: `400.001` has more than 2 decimals",
            "line 7, field `env_price`: `fifty` is not a decimal number",
            "line 8, field `carry_kwh`: `1000` is not a whole number of kWh from 0 to 999",
            "line 9, field `carry_kwh`: `-1` is not a whole number of kWh from 0 to 999",
            "line 10, field `buyer`: `G1` is also the seller of this contract",
            "line 11, field `seller`: is empty",
            "line 12: 7 fields, expected 8 (contract,seller,buyer,mwh,energy_price,env_price,\
             comp_price,carry_kwh)",
            "line 14, field `carry_kwh`: `1.5` is not a whole number of kWh from 0 to 999",
        ]
    );
    assert_eq!(e.bad_rows, 11);
    let e = parse_contracts(b"contract,seller\nc1,G1\n").unwrap_err();
    assert_eq!(e.rows[0].line, 1);
    assert_eq!(e.rows[0].field, None);
}

/// [`check`] with the first contracts' corridor losses (kWh), as the server settles
/// inter-provincial contracts.
fn check_with_losses(rows: &str, losses: &[i64], metered: &[(&str, i64)], expected: &[&str]) {
    let mut terms = contracts(rows);
    for (c, &loss) in terms.iter_mut().zip(losses) {
        c.loss = Kwh(loss);
    }
    let metered: BTreeMap<&str, i64> = metered.iter().copied().collect();
    let result = settle(may(), &terms, |p| Kwh(metered.get(p).copied().unwrap_or(0)));
    assert_eq!(result.month, may());
    let lines: Vec<String> = result.lines.iter().map(render).collect();
    assert_eq!(lines, expected);
}

#[test]
fn inter_provincial_contracts_settle_what_arrives_and_pay_for_what_is_sent() {
    // c1: QH seller G1 sends 10,000 kWh, 350 lost, so U1 in ZJ receives R = 9,650.
    //   Enough on both sides: D = 9,650 → 9 MWh, carry 650; env 9 × 50.00 = 450.00;
    //   energy on all 10,000 kWh sent: 10 × 300.00 = 3,000.00; no shortfall.
    // c2: G2 sends 4,000 kWh, 200 lost (R 3,800), but generated only 3,000: its share reaches
    //   the buyer less 3,000 × 200 / 4,000 = 150 lost, G' = 2,850 (U2 has plenty): D = 2,850 →
    //   2 MWh, carry 850; env 100.00; energy on 2,850 + 2,850 × 200 / 3,800 = 2,850 + 150 =
    //   3,000 sent: 900.00; shortfall R − D = 950 kWh × 30.00 = 28.50, the seller's.
    // c3: G3 sends 2,000 kWh, 100 lost (R 1,900); U3 consumed only 1,000 (L_k capped by R):
    //   D = 1,000 → 1 MWh; env 50.00; sent for it 1,000 + 1,000 × 100 / 1,900 = 1,000 + 52.63
    //   → 1,053 kWh: 315.90; shortfall 900 kWh → 27.00, the buyer's (G' 1,900 > L 1,000).
    check_with_losses(
        "c1,G1,U1,10.000,300.00,50.00,30.00,0\n\
         c2,G2,U2,4.000,300.00,50.00,30.00,0\n\
         c3,G3,U3,2.000,300.00,50.00,30.00,0\n",
        &[350, 200, 100],
        &[
            ("G1", 99_999),
            ("U1", 99_999),
            ("G2", 3_000),
            ("U2", 99_999),
            ("G3", 99_999),
            ("U3", 1_000),
        ],
        &[
            "c1: 10000 9650 9650 | 9 650 | 450.00 3000.00 | 0.000 0.00 -",
            "c2: 3000 3800 2850 | 2 850 | 100.00 900.00 | 0.950 28.50 seller",
            "c3: 2000 1000 1000 | 1 0 | 50.00 315.90 | 0.900 27.00 buyer",
        ],
    );
}
