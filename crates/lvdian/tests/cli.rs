//! The `lvdian` binary run as a user runs it: real files, real processes, exact output.

use std::path::PathBuf;
use std::process::{Command, Output};

fn lvdian(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lvdian"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn write_temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lvdian-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn clear_prints_the_formats_example() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/auction.json");
    let out = lvdian(&["clear", example]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        r#"{
  "method": "uniform",
  "periods": [
    {
      "period": "h01",
      "volume_mwh": "6.500",
      "price": "400.25",
      "fills": [
        {
          "order": "b1",
          "mwh": "6.500",
          "price": "400.25"
        },
        {
          "order": "s1",
          "mwh": "6.500",
          "price": "400.25"
        }
      ]
    }
  ]
}
"#
    );
    assert!(out.stderr.is_empty());
}

#[test]
fn clear_sorts_periods_by_label_and_keeps_untraded_periods() {
    let path = write_temp(
        "periods.json",
        r#"{"method": "high_low", "orders": [
            {"id": "b2", "participant": "U1", "side": "buy", "period": "h02", "mwh": "1", "price": "300"},
            {"id": "s2", "participant": "G1", "side": "sell", "period": "h02", "mwh": "1", "price": "301"},
            {"id": "b1", "participant": "U1", "side": "buy", "period": "h01", "mwh": "2", "price": "400.01"},
            {"id": "s1", "participant": "G1", "side": "sell", "period": "h01", "mwh": "1.5", "price": "300"}
        ]}"#,
    );
    let out = lvdian(&["clear", path.to_str().unwrap()]);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // h01: 1.5 MWh at midpoint(400.01, 300.00) = 350.005 -> 350.01; h02: no crossing.
    assert_eq!(
        value,
        serde_json::json!({"method": "high_low", "periods": [
            {"period": "h01", "volume_mwh": "1.500", "price": null, "fills": [
                {"order": "b1", "mwh": "1.500", "price": "350.01"},
                {"order": "s1", "mwh": "1.500", "price": "350.01"}]},
            {"period": "h02", "volume_mwh": "0.000", "price": null, "fills": []}
        ]})
    );
}

#[test]
fn bad_input_exits_non_zero_names_the_order_and_writes_nothing_to_stdout() {
    let path = write_temp(
        "bad.json",
        r#"{"method": "uniform", "orders": [
            {"id": "b1", "participant": "U1", "side": "buy", "period": "h01", "mwh": "1.000", "price": "400.123"}
        ]}"#,
    );
    let out = lvdian(&["clear", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!(
            "error: {}: orders[0] (id \"b1\"): field `price`: `400.123` has more than 2 decimals\n",
            path.display()
        )
    );
}

#[test]
fn an_order_beyond_the_volume_bound_is_refused_naming_order_field_and_bound() {
    let path = write_temp(
        "beyond.json",
        r#"{"method": "uniform", "orders": [
            {"id": "s1", "participant": "G1", "side": "sell", "period": "h01", "mwh": "1000000.000", "price": "-100000.00"},
            {"id": "b1", "participant": "U1", "side": "buy", "period": "h01", "mwh": "9000000000000000", "price": "100000.00"}
        ]}"#,
    );
    let out = lvdian(&["clear", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!(
            "error: {}: orders[1] (id \"b1\"): field `mwh`: `9000000000000000` is beyond the bound of 1000000 MWh\n",
            path.display()
        )
    );
}

#[test]
fn the_largest_orders_clear_from_a_file() {
    let path = write_temp(
        "largest.json",
        r#"{"method": "uniform", "orders": [
            {"id": "s1", "participant": "G1", "side": "sell", "period": "h01", "mwh": "1000000.000", "price": "-100000.00"},
            {"id": "s2", "participant": "G2", "side": "sell", "period": "h01", "mwh": "1000000.000", "price": "-100000.00"},
            {"id": "b1", "participant": "U1", "side": "buy", "period": "h01", "mwh": "1000000.000", "price": "100000.00"},
            {"id": "b2", "participant": "U2", "side": "buy", "period": "h01", "mwh": "1000000.000", "price": "100000.00"}
        ]}"#,
    );
    let out = lvdian(&["clear", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Q* = 2,000,000 MWh at P* = midpoint(100,000.00, −100,000.00) = 0.00, every order filled.
    let period = &result["periods"][0];
    assert_eq!(period["volume_mwh"], "2000000.000");
    assert_eq!(period["price"], "0.00");
    let fills: Vec<(&str, &str)> = period["fills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["order"].as_str().unwrap(), f["mwh"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fills,
        [
            ("s1", "1000000.000"),
            ("s2", "1000000.000"),
            ("b1", "1000000.000"),
            ("b2", "1000000.000")
        ]
    );
}
