//! A contract over several months (月度分解, spec §4) settles in each of its months through the
//! API, carrying its sub-MWh remainders from month to month (spec §5), and months close in
//! order.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::certificates::{month_csv, upload_month};
use crate::harness::Harness;
use crate::on_both;

async fn year_contract_settles_month_by_month(h: Harness) {
    let (g, gen_token) = h.participant("海上风电一号", "generator").await;
    let (u, user_token) = h.participant("杭州某制造企业", "user").await;
    let (_, grid) = h.participant("国网浙江", "grid").await;
    h.wind_project(g).await;
    // A year-horizon call auction delivering 2024-01..2024-03: 100.500 MWh at 400.00 + 20.00.
    let s = h
        .post(
            "/api/v1/sessions",
            &h.operator,
            json!({"name": "2024年一季度 年度", "scope": "intra", "provinces": ["ZJ"], "horizon": "year",
                "mode": "call_auction", "method": "uniform", "first_month": "2024-01", "last_month": "2024-03",
                "energy_price_min": "332.24", "energy_price_max": "498.36", "lot_mwh": "0.5", "compensation": "50.00"}),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_u64()
        .unwrap();
    h.actions(s, &["announce", "open"]).await;
    let order = |side: &str| json!({"side": side, "period": "h12", "mwh": "100.5", "energy_price": "400.00", "env_price": "20.00"});
    h.submit(
        s,
        &[(&gen_token, order("sell")), (&user_token, order("buy"))],
    )
    .await;
    h.actions(s, &["close", "clear", "publish"]).await;

    // Both read 12 kWh a quarter-hour: 35,712 kWh in January and March, 33,408 in February —
    // more than the contract's months, so everything contracted is delivered.
    for (month, days) in [("2024-01", 31), ("2024-02", 29), ("2024-03", 31)] {
        let csv = month_csv(
            month,
            days,
            &[("MG1", g.to_string(), 12), ("MU1", u.to_string(), 12)],
        );
        let (status, _) = upload_month(&h, &grid, month, csv).await;
        assert_eq!(status, StatusCode::CREATED);
        h.post(
            "/api/v1/certificates/issue",
            &h.operator,
            json!({"month": month}),
            StatusCode::CREATED,
        )
        .await;
    }

    // February cannot close before January: its carry comes from January's final run.
    let early = h
        .post(
            "/api/v1/settlements",
            &h.operator,
            json!({"month": "2024-02", "final": true}),
            StatusCode::CONFLICT,
        )
        .await;
    assert_eq!(early["error"], "earlier_month_open", "{early}");
    assert!(
        early["message"].as_str().unwrap().contains("2024-01"),
        "{early}"
    );

    // Spec §4: 100.500 MWh over 31 + 29 + 31 days is 34,236 + 32,028 + 34,236 kWh. With the
    // carries: January 34,236 → 34 MWh, 236 out; February 32,028 + 236 = 32,264 → 32, 264
    // out; March 34,236 + 264 = 34,500 → 34, 500 out. Environment at 20.00 per MWh, energy at
    // 400.00 per MWh delivered.
    let line = |month: &str,
                volume: &str,
                carry_in: &str,
                env: &str,
                carry_out: &str,
                env_yuan: &str,
                energy_yuan: &str| {
        json!({"month": month, "final": true, "lines": [{
            "contract": format!("S{s}-C1"), "env_mwh": env, "carry_out_kwh": carry_out, "env_yuan": env_yuan,
            "energy_yuan": energy_yuan, "shortfall_mwh": "0.000", "comp_yuan": "0.00", "comp_payer": null,
            "carry_in_kwh": carry_in, "volume_mwh": volume, "delivered_mwh": volume, "sent_mwh": volume,
            "lost_mwh": "0.000"}]})
    };
    let months = [
        ("2024-01", "34.236", "0", "34", "236", "680.00", "13694.40"),
        (
            "2024-02", "32.028", "236", "32", "264", "640.00", "12811.20",
        ),
        (
            "2024-03", "34.236", "264", "34", "500", "680.00", "13694.40",
        ),
    ];
    for (month, volume, carry_in, env, carry_out, env_yuan, energy_yuan) in months {
        let expected = line(
            month,
            volume,
            carry_in,
            env,
            carry_out,
            env_yuan,
            energy_yuan,
        );
        let done = h
            .post(
                "/api/v1/settlements",
                &h.operator,
                json!({"month": month, "final": true}),
                StatusCode::CREATED,
            )
            .await;
        assert_eq!(done["lines"], expected["lines"], "{month}");
        // 证电合一: the month's Q_env certificates of the seller's project move to the buyer.
        let moved: u64 = env.parse().unwrap();
        assert_eq!(
            done["transfers"],
            json!([{"contract": format!("S{s}-C1"), "project": "33010000000000001",
                "certificates": moved, "ranges": [format!(
                    "33010000000000001{}000000001-33010000000000001{}{:09}",
                    month.replace('-', ""), month.replace('-', ""), moved)],
                "certificates_missing": 0}]),
            "{month}"
        );
    }
    // The buyer holds 34 + 32 + 34 certificates; the months add up to the contract.
    let held = h
        .get("/api/v1/certificates", Some(&user_token), StatusCode::OK)
        .await;
    let total: u64 = held["holdings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["certificates"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 100);

    // The year's statistics count the contract in the months it delivers: all of it in 2024,
    // settled in full. Issued: 35,712 → 35 (712 carried), 33,408 + 712 → 34 (120), 35,712 +
    // 120 → 35.
    let stats: Value = h.get("/api/v1/statistics/2024", None, StatusCode::OK).await;
    assert_eq!(
        (
            &stats["traded_mwh"],
            &stats["settled_mwh"],
            &stats["certificates"]
        ),
        (
            &json!("100.500"),
            &json!("100.500"),
            &json!({"issued": 35 + 34 + 35, "transferred": 100, "claimed": 0})
        )
    );
    h.finish().await;
}

on_both!(
    a_year_contract_settles_in_each_of_its_months,
    year_contract_settles_month_by_month
);
