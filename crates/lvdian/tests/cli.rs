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
