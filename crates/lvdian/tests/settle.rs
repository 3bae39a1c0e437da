//! `lvdian settle` run as a user runs it: real files, the real binary, exact output.

use std::path::PathBuf;
use std::process::{Command, Output};

fn lvdian(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lvdian"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn write_temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lvdian-settle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A complete May 2023 (31 days × 96 quarter-hours) for each `(meter, participant, total kWh)`:
/// each interval gets `total / 2976`, the first `total % 2976` intervals one kWh more.
fn may_meters(meters: &[(&str, &str, i64)]) -> String {
    let mut out = String::from("meter,participant,start,kwh\n");
    for (meter, participant, total) in meters {
        for i in 0..2976 {
            let (day, quarter) = (i / 96 + 1, i % 96);
            let kwh = total / 2976 + i64::from(i < total % 2976);
            out.push_str(&format!(
                "{meter},{participant},2023-05-{day:02}T{:02}:{:02},{kwh}\n",
                quarter / 4,
                quarter % 4 * 15
            ));
        }
    }
    out
}

const CONTRACTS: &str = "contract,seller,buyer,mwh,energy_price,env_price,comp_price,carry_kwh\n\
                         c3,G1,U2,5.000,380.00,20.00,25.00,999\n\
                         c1,G1,U1,12.000,400.00,50.00,30.00,340\n\
                         c2,G2,U1,10.000,420.50,48.88,30.00,0\n";

fn meters() -> String {
    may_meters(&[
        ("GM1", "G1", 100_000),
        ("GM2", "G2", 6_000),
        ("UM1", "U1", 30_000),
        ("UM1b", "U1", 20_000),
        ("UM2", "U2", 2_501),
    ])
}

#[test]
fn settle_prints_one_line_per_contract_in_id_order() {
    let contracts = write_temp("C.csv", CONTRACTS);
    let meters = write_temp("M.csv", &meters());
    let out = lvdian(&[
        "settle",
        "--month",
        "2023-05",
        "--contracts",
        contracts.to_str().unwrap(),
        "--meters",
        meters.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // G1 generated 100,000 kWh for 17,000 contracted; G2 6,000 for 10,000 (short);
    // U1 consumed 30,000 + 20,000 on two meters for 22,000; U2 2,501 for 5,000 (short).
    // c1: D 12,000 + 340 carried in → 12 MWh, 340 out; env 12 × 50.00 = 600.00;
    //     energy 12 × 400.00 = 4,800.00; no shortfall.
    // c2: G_k 6,000 < L_k 10,000: D 6,000 → 6 MWh; env 6 × 48.88 = 293.28;
    //     energy 6 × 420.50 = 2,523.00; shortfall 4.000 × 30.00 = 120.00, the seller's.
    // The formats.md keys come first, in their order; then what the month close adds (carry in,
    // the month's volume, delivered, sent, lost).
    // c3: G_k 5,000 > L_k 2,501: D 2,501 + 999 = 3 MWh + 500; env 3 × 20.00 = 60.00;
    //     energy 2.501 × 380.00 = 950.38; shortfall 2.499 × 25.00 = 62.475 → 62.48, the
    //     buyer's.
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        r#"{
  "month": "2023-05",
  "lines": [
    {
      "contract": "c1",
      "env_mwh": "12",
      "carry_out_kwh": "340",
      "env_yuan": "600.00",
      "energy_yuan": "4800.00",
      "shortfall_mwh": "0.000",
      "comp_yuan": "0.00",
      "comp_payer": null,
      "carry_in_kwh": "340",
      "volume_mwh": "12.000",
      "delivered_mwh": "12.000",
      "sent_mwh": "12.000",
      "lost_mwh": "0.000"
    },
    {
      "contract": "c2",
      "env_mwh": "6",
      "carry_out_kwh": "0",
      "env_yuan": "293.28",
      "energy_yuan": "2523.00",
      "shortfall_mwh": "4.000",
      "comp_yuan": "120.00",
      "comp_payer": "seller",
      "carry_in_kwh": "0",
      "volume_mwh": "10.000",
      "delivered_mwh": "6.000",
      "sent_mwh": "6.000",
      "lost_mwh": "0.000"
    },
    {
      "contract": "c3",
      "env_mwh": "3",
      "carry_out_kwh": "500",
      "env_yuan": "60.00",
      "energy_yuan": "950.38",
      "shortfall_mwh": "2.499",
      "comp_yuan": "62.48",
      "comp_payer": "buyer",
      "carry_in_kwh": "999",
      "volume_mwh": "5.000",
      "delivered_mwh": "2.501",
      "sent_mwh": "2.501",
      "lost_mwh": "0.000"
    }
  ]
}
"#
    );
    assert!(out.stderr.is_empty());
}

#[test]
fn no_contracts_is_an_empty_month() {
    let contracts = write_temp("C0.csv", CONTRACTS.lines().next().unwrap());
    let meters = write_temp("M0.csv", "meter,participant,start,kwh\n");
    let out = lvdian(&[
        "settle",
        "--month",
        "2023-05",
        "--contracts",
        contracts.to_str().unwrap(),
        "--meters",
        meters.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\n  \"month\": \"2023-05\",\n  \"lines\": []\n}\n"
    );
}

#[test]
fn a_bad_meter_row_names_file_line_and_field_and_prints_nothing() {
    let contracts = write_temp("C1.csv", CONTRACTS);
    // Line 3 (the second data row) has a negative reading.
    let bad = meters().replacen(
        "GM1,G1,2023-05-01T00:15,34",
        "GM1,G1,2023-05-01T00:15,-34",
        1,
    );
    let meters = write_temp("M1.csv", &bad);
    let out = lvdian(&[
        "settle",
        "--month",
        "2023-05",
        "--contracts",
        contracts.to_str().unwrap(),
        "--meters",
        meters.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("M1.csv"), "{stderr}");
    assert!(
        stderr.contains("line 3, field `kwh`: `-34` is negative"),
        "{stderr}"
    );
}

#[test]
fn a_bad_contract_row_names_file_line_and_field() {
    let contracts = write_temp("C2.csv", &CONTRACTS.replace("12.000", "12.0001"));
    let meters = write_temp("M2.csv", &meters());
    let out = lvdian(&[
        "settle",
        "--month",
        "2023-05",
        "--contracts",
        contracts.to_str().unwrap(),
        "--meters",
        meters.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("C2.csv"), "{stderr}");
    assert!(
        stderr.contains("line 3, field `mwh`: `12.0001` has more than 3 decimals"),
        "{stderr}"
    );
}

#[test]
fn a_bad_month_is_refused() {
    let contracts = write_temp("C3.csv", CONTRACTS);
    let meters = write_temp("M3.csv", "meter,participant,start,kwh\n");
    for month in ["2023-5", "2023-13", "May"] {
        let out = lvdian(&[
            "settle",
            "--month",
            month,
            "--contracts",
            contracts.to_str().unwrap(),
            "--meters",
            meters.to_str().unwrap(),
        ]);
        assert!(!out.status.success(), "{month}");
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains("--month"), "{stderr}");
        assert!(stderr.contains("YYYY-MM"), "{stderr}");
    }
}
