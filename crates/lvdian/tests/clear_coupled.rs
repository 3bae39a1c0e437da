//! `lvdian clear` on a coupled (省间) file, run as a user runs it: exact output, and errors that
//! name the field. Expected values are worked out in
//! `crates/exchange/tests/it/coupling.rs` (the same books).

use std::path::PathBuf;
use std::process::{Command, Output};

fn lvdian(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lvdian"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn write_temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lvdian-coupled-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// h01: QH→ZJ limited to 20 MWh (congested): QH 200.00, ZJ midpoint(500, 450) = 475.00, AH has
/// nothing and no price. h02: QH→ZJ up to 100 MWh (uncongested): 52.632 MWh sent, 50.000
/// delivered, 0.95 × 500.00 = 425.00 + 50.00; AH clears alone at midpoint(300, 280) = 290.00
/// because its corridor has no capacity.
const INPUT: &str = r#"{
  "method": "coupled",
  "orders": [
    {"id": "s1", "participant": "G1", "side": "sell", "period": "h01", "mwh": "100.000", "price": "200.00", "province": "QH"},
    {"id": "b1", "participant": "U1", "side": "buy",  "period": "h01", "mwh": "50.000",  "price": "500.00", "province": "ZJ"},
    {"id": "s2", "participant": "G2", "side": "sell", "period": "h01", "mwh": "10.000",  "price": "450.00", "province": "ZJ"},
    {"id": "s3", "participant": "G1", "side": "sell", "period": "h02", "mwh": "100.000", "price": "200.00", "province": "QH"},
    {"id": "b2", "participant": "U1", "side": "buy",  "period": "h02", "mwh": "50.000",  "price": "500.00", "province": "ZJ"},
    {"id": "b3", "participant": "U2", "side": "buy",  "period": "h02", "mwh": "5.000",   "price": "300.00", "province": "AH"},
    {"id": "s4", "participant": "G3", "side": "sell", "period": "h02", "mwh": "5.000",   "price": "280.00", "province": "AH"}
  ],
  "corridors": [
    {"from": "QH", "to": "ZJ", "capacity_mwh": "100.000", "capacity_by_period": {"h01": "20.000"}, "loss": "0.05", "tariff": "50.00"},
    {"from": "AH", "to": "ZJ", "capacity_mwh": "0.000", "loss": "0.01", "tariff": "10.00"}
  ]
}"#;

const EXPECTED: &str = r#"
{
  "method": "coupled",
  "periods": [
    {
      "period": "h01",
      "volume_mwh": "29.000",
      "price": null,
      "provinces": [
        {
          "province": "AH",
          "price": null,
          "buy_mwh": "0.000",
          "sell_mwh": "0.000"
        },
        {
          "province": "QH",
          "price": "200.00",
          "buy_mwh": "0.000",
          "sell_mwh": "20.000"
        },
        {
          "province": "ZJ",
          "price": "475.00",
          "buy_mwh": "29.000",
          "sell_mwh": "10.000"
        }
      ],
      "flows": [
        {
          "from": "AH",
          "to": "ZJ",
          "sent_mwh": "0.000",
          "delivered_mwh": "0.000"
        },
        {
          "from": "QH",
          "to": "ZJ",
          "sent_mwh": "20.000",
          "delivered_mwh": "19.000"
        }
      ],
      "fills": [
        {
          "order": "s1",
          "mwh": "20.000",
          "price": "200.00"
        },
        {
          "order": "b1",
          "mwh": "29.000",
          "price": "475.00"
        },
        {
          "order": "s2",
          "mwh": "10.000",
          "price": "475.00"
        }
      ]
    },
    {
      "period": "h02",
      "volume_mwh": "55.000",
      "price": null,
      "provinces": [
        {
          "province": "AH",
          "price": "290.00",
          "buy_mwh": "5.000",
          "sell_mwh": "5.000"
        },
        {
          "province": "QH",
          "price": "425.00",
          "buy_mwh": "0.000",
          "sell_mwh": "52.632"
        },
        {
          "province": "ZJ",
          "price": "500.00",
          "buy_mwh": "50.000",
          "sell_mwh": "0.000"
        }
      ],
      "flows": [
        {
          "from": "AH",
          "to": "ZJ",
          "sent_mwh": "0.000",
          "delivered_mwh": "0.000"
        },
        {
          "from": "QH",
          "to": "ZJ",
          "sent_mwh": "52.632",
          "delivered_mwh": "50.000"
        }
      ],
      "fills": [
        {
          "order": "s3",
          "mwh": "52.632",
          "price": "425.00"
        },
        {
          "order": "b2",
          "mwh": "50.000",
          "price": "500.00"
        },
        {
          "order": "b3",
          "mwh": "5.000",
          "price": "290.00"
        },
        {
          "order": "s4",
          "mwh": "5.000",
          "price": "290.00"
        }
      ]
    }
  ]
}
"#;

#[test]
fn clear_coupled_prints_provinces_flows_and_fills() {
    let path = write_temp("coupled.json", INPUT);
    let out = lvdian(&["clear", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), &EXPECTED[1..]);
}

#[test]
fn clear_coupled_names_the_bad_field() {
    let cases = [
        (
            INPUT.replacen(r#", "province": "QH"}"#, "}", 1),
            r#"orders[0] (id "s1"): field `province`: missing (every order of a coupled file names its province)"#,
        ),
        (
            INPUT.replacen(r#""loss": "0.05""#, r#""loss": "0.00005""#, 1),
            "corridors[0]: field `loss`: `0.00005` has more than 4 decimals",
        ),
        (
            INPUT.replacen(r#""loss": "0.05""#, r#""loss": "1.0""#, 1),
            "corridors[0]: field `loss`: `1.0` is beyond the bound of 0.9999 (a loss is a fraction below 1)",
        ),
        (
            INPUT.replacen(r#""from": "AH""#, r#""from": "ZJ""#, 1),
            "corridors[1]: field `to`: `ZJ` is also the corridor's `from` province",
        ),
        (
            INPUT.replacen(r#""h01": "20.000""#, r#""h01": 20"#, 1),
            r#"corridors[0]: field `capacity_by_period.h01`: must be a decimal string such as "20", not a JSON number"#,
        ),
        (
            INPUT.replacen(r#""tariff": "10.00""#, r#""tariff": "-1.00""#, 1),
            "corridors[1]: field `tariff`: `-1.00` is negative",
        ),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        assert_ne!(text, INPUT, "case {i} changes the file");
        let path = write_temp(&format!("bad{i}.json"), text);
        let out = lvdian(&["clear", path.to_str().unwrap()]);
        assert!(!out.status.success(), "case {i}");
        assert!(out.stdout.is_empty(), "nothing half-written (case {i})");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(expected), "case {i}: {stderr}");
    }
}

#[test]
fn clear_coupled_gives_congestion_rent_on_request() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/coupled.json");
    let out = lvdian(&["clear", "--congestion-rent", example]);
    assert!(out.status.success());
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // QH→ZJ is full: 48.25 MWh delivered × 450.00 − 50 MWh sent × (240.00 + 60.00 tariff).
    assert_eq!(
        result["periods"][0]["flows"],
        serde_json::json!([{"from": "QH", "to": "ZJ", "sent_mwh": "50.000",
            "delivered_mwh": "48.250", "congestion_rent_yuan": "6712.50"}])
    );
    // Without the flag the output is formats.md's, with no rent.
    let plain = lvdian(&["clear", example]);
    assert!(
        !String::from_utf8(plain.stdout)
            .unwrap()
            .contains("congestion_rent")
    );
}
