//! Hostile input for the API's request bodies (issue 9, item 8): arbitrary bytes deserialised
//! into every request type of `api::dto` and parsed into settings, corridors and commands, and
//! the month and serial texts that arrive in bodies and paths.
//!
//! [`check_request_bodies`] is the body of the `api_bodies` fuzz target (`fuzz/` includes this
//! file by `#[path]`); the property tests below run it in `cargo test`, on mutated JSON and on
//! valid requests whose string values are replaced by hostile text (which gets past serde into
//! the field parsers). Beyond "never panics": every refusal is a 400 whose message names a field
//! of the request (`field `orders[3].mwh``), or the engine's `invalid_settings` for settings that
//! parse but do not make sense together.

use api::dto::{
    ListingRequest, NetworkCorridorRequest, NewParticipantRequest, NewProjectRequest,
    NewSessionRequest, OrderBatchRequest, OrderRequest, ProposalRequest, TakeRequest,
};
use api::error::ApiError;
use domain::{Participant, ParticipantId, PeriodTemplate, Province, Role};

fn participant(id: u64, role: Role) -> Participant {
    Participant {
        id: ParticipantId(id),
        name: format!("P{id}"),
        role,
        province: Province::parse("ZJ").expect("a province"),
    }
}

/// A refusal must be a 400 naming one of `fields` (the request's own field names; a nested
/// field such as `corridors[0].loss` is named by its first segment), or, where `settings`, the
/// engine's 400 `invalid_settings`.
fn assert_named<T>(what: &str, result: Result<T, ApiError>, fields: &[&str], settings: bool) {
    let Err(e) = result else { return };
    assert_eq!(e.status.as_u16(), 400, "{what}: {e:?}");
    if settings && e.code == "invalid_settings" {
        return;
    }
    assert_eq!(e.code, "bad_request", "{what}: {e:?}");
    let named = e
        .message
        .strip_prefix("field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(path, _)| path)
        .unwrap_or_else(|| panic!("{what}: `{}` names no field", e.message));
    let first = named.split(['[', '.']).next().unwrap_or(named);
    assert!(
        fields.contains(&first),
        "{what}: `{named}` is not a field of the request ({fields:?})"
    );
}

/// Every request type of `api::dto` on the same bytes: whatever deserialises is parsed, and
/// whatever is refused names its field.
pub fn check_request_bodies(data: &[u8]) {
    let generator = participant(7, Role::Generator);
    let user = participant(8, Role::User);
    let templates = [PeriodTemplate::Hours, PeriodTemplate::QuarterHours];
    if let Ok(r) = serde_json::from_slice::<NewParticipantRequest>(data) {
        let fields = ["name", "role", "province"];
        assert_named("participant", r.parse(), &fields, false);
    }
    if let Ok(r) = serde_json::from_slice::<NewProjectRequest>(data) {
        let fields = [
            "code",
            "technology",
            "capacity_kw",
            "province",
            "owner",
            "subsidised",
            "meters",
        ];
        assert_named("project", r.parse(), &fields, false);
    }
    if let Ok(r) = serde_json::from_slice::<NewSessionRequest>(data) {
        let fields = [
            "name",
            "scope",
            "provinces",
            "horizon",
            "mode",
            "method",
            "corridors",
            "first_month",
            "last_month",
            "periods",
            "energy_price_min",
            "energy_price_max",
            "env_price_cap",
            "lot_mwh",
            "bid_on",
            "fixed_energy_price",
            "compensation",
        ];
        assert_named("session", r.parse(), &fields, true);
    }
    if let Ok(r) = serde_json::from_slice::<NetworkCorridorRequest>(data) {
        let fields = ["from", "to", "capacity_mwh", "loss", "tariff"];
        assert_named(
            "corridor",
            r.parse("QH", "ZJ", ParticipantId(1), 0),
            &fields,
            false,
        );
    }
    for template in &templates {
        if let Ok(r) = serde_json::from_slice::<OrderRequest>(data) {
            let fields = [
                "side",
                "period",
                "mwh",
                "energy_price",
                "env_price",
                "time_in_force",
            ];
            assert_named("order", r.command("", template, &generator), &fields, false);
        }
        if let Ok(r) = serde_json::from_slice::<OrderBatchRequest>(data) {
            for (i, order) in r.orders.iter().enumerate() {
                let at = format!("orders[{i}].");
                let result = order.command(&at, template, &user);
                if let Err(e) = &result {
                    assert!(e.message.starts_with(&format!("field `{at}")), "{e:?}");
                }
                assert_named("batch", result, &["orders"], false);
            }
        }
        if let Ok(r) = serde_json::from_slice::<ListingRequest>(data) {
            let fields = ["side", "volumes", "energy_price", "env_price"];
            assert_named("listing", r.command(template, &generator), &fields, false);
        }
        if let Ok(r) = serde_json::from_slice::<TakeRequest>(data) {
            assert_named("take", r.command(template, &user, 1), &["volumes"], false);
        }
        if let Ok(r) = serde_json::from_slice::<ProposalRequest>(data) {
            let fields = [
                "counterparty",
                "volumes",
                "energy_price",
                "env_price",
                "compensation",
            ];
            let result = r.command(template, &generator, user.clone());
            assert_named("proposal", result, &fields, false);
        }
    }
}

/// Months and certificate serials as they arrive in bodies and paths: the session's delivery
/// months (`exchange`), production months and serial ranges (`registry`). Accepted text writes
/// back as given; a refused month or serial is quoted in the error.
pub fn check_months_and_serials(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    match text.parse::<domain::YearMonth>() {
        Ok(m) => assert_eq!(m.to_string(), text),
        Err(e) => assert!(e.to_string().contains(text), "{e}"),
    }
    match domain::YearMonth::parse(text) {
        Ok(m) => assert_eq!(m.to_string(), text),
        Err(e) => assert!(e.to_string().contains(text), "{e}"),
    }
    match registry::Serial::parse(text) {
        Ok(s) => assert_eq!(s.to_string(), text),
        Err(e) => assert!(e.to_string().contains(text), "{e}"),
    }
    match registry::SerialRange::parse(text) {
        Ok(r) => assert_eq!(r.to_string(), text),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// Valid request bodies, one or more per type, to mutate.
pub fn body_seeds() -> Vec<Vec<u8>> {
    [
        r#"{"name": "海上风电一号", "role": "generator", "province": "ZJ"}"#,
        r#"{"code": "33010012345678901", "technology": "wind_offshore", "capacity_kw": 300000,
            "province": "ZJ", "owner": 2, "subsidised": false, "meters": ["GM1", "GM2"]}"#,
        r#"{"name": "2024年3月绿电集中竞价", "scope": "intra", "provinces": ["ZJ"], "horizon": "month",
            "mode": "call_auction", "method": "uniform", "first_month": "2024-03",
            "last_month": "2024-03", "energy_price_min": "332.24", "energy_price_max": "498.36",
            "lot_mwh": "0.5", "compensation": "50.00"}"#,
        r#"{"name": "省间", "scope": "inter", "provinces": ["QH", "ZJ"], "horizon": "month",
            "mode": "call_auction", "method": "coupled", "first_month": "2024-03",
            "last_month": "2024-03", "periods": "quarter_hours", "energy_price_min": "0",
            "energy_price_max": "1000", "env_price_cap": "80", "lot_mwh": "1",
            "bid_on": "environment", "fixed_energy_price": "400.00", "compensation": "50.00",
            "corridors": [{"from": "QH", "to": "ZJ", "capacity_mwh": "50.000", "loss": "0.035",
            "tariff": "60.00", "capacity_by_period": {"q01": "10"}}]}"#,
        r#"{"capacity_mwh": "50.000", "loss": "0.035", "tariff": "60.00"}"#,
        r#"{"side": "sell", "period": "h12", "mwh": "6.5", "energy_price": "350.00",
            "env_price": "30.00", "time_in_force": "ioc"}"#,
        r#"{"orders": [{"side": "buy", "period": "q01", "mwh": "10", "energy_price": "400.50",
            "env_price": "20.00"}, {"side": "sell", "period": "q96", "mwh": "0.001",
            "energy_price": "-1", "env_price": "0"}]}"#,
        r#"{"side": "sell", "volumes": [{"period": "h01", "mwh": "1.000"},
            {"period": "h24", "mwh": "2"}], "energy_price": "400.00", "env_price": "30.00"}"#,
        r#"{"volumes": [{"period": "h02", "mwh": "0.5"}]}"#,
        r#"{"counterparty": 8, "volumes": [{"period": "h03", "mwh": "3"}],
            "energy_price": "410.00", "env_price": "25.00", "compensation": "10.00"}"#,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

/// Valid months, serials and serial ranges to mutate.
pub fn month_and_serial_seeds() -> Vec<Vec<u8>> {
    [
        "2024-03",
        "9999-12",
        "33010012345678901202403000000001",
        "33010012345678901202403000000001-33010012345678901202403000000010",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

/// A valid body with its string values (in document order, by index modulo their number)
/// replaced by hostile texts.
pub fn with_values(seed: &[u8], replacements: &[(usize, String)]) -> Vec<u8> {
    /// Visits the string leaves in document order, numbering them from `next`.
    fn visit(
        value: &mut serde_json::Value,
        next: &mut usize,
        f: &mut dyn FnMut(usize, &mut String),
    ) {
        match value {
            serde_json::Value::String(s) => {
                f(*next, s);
                *next += 1;
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| visit(v, next, f)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| visit(v, next, f)),
            _ => {}
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(seed).expect("a valid seed");
    let mut count = 0;
    visit(&mut value, &mut 0, &mut |_, _| count += 1);
    let chosen: std::collections::BTreeMap<usize, &String> = replacements
        .iter()
        .map(|(i, text)| (i % count.max(1), text))
        .collect();
    visit(&mut value, &mut 0, &mut |i, s| {
        if let Some(text) = chosen.get(&i) {
            s.clone_from(text);
        }
    });
    serde_json::to_vec(&value).expect("JSON serialises")
}

#[cfg(test)]
#[path = "../../../domain/tests/support/hostile_bytes.rs"]
mod hostile_bytes;

#[cfg(test)]
mod tests {
    use super::hostile_bytes::{hostile, text};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_seeds_are_valid_so_mutations_start_deep() {
        // Each seed is accepted by the request type it was written for.
        let seeds = body_seeds();
        let generator = participant(7, Role::Generator);
        let hours = PeriodTemplate::Hours;
        let quarters = PeriodTemplate::QuarterHours;
        let parse = |i: usize| -> &[u8] { &seeds[i] };
        let from = |i: usize| serde_json::from_slice::<serde_json::Value>(parse(i)).unwrap();
        macro_rules! body {
            ($t:ty, $i:expr) => {
                serde_json::from_slice::<$t>(parse($i)).unwrap()
            };
        }
        assert!(body!(NewParticipantRequest, 0).parse().is_ok());
        assert!(body!(NewProjectRequest, 1).parse().is_ok());
        assert!(body!(NewSessionRequest, 2).parse().is_ok());
        assert!(body!(NewSessionRequest, 3).parse().is_ok(), "{}", from(3));
        let corridor = body!(NetworkCorridorRequest, 4);
        assert!(corridor.parse("QH", "ZJ", ParticipantId(1), 0).is_ok());
        assert!(
            body!(OrderRequest, 5)
                .command("", &hours, &generator)
                .is_ok()
        );
        for order in body!(OrderBatchRequest, 6).orders {
            let result = order.command("", &quarters, &generator);
            assert!(result.is_ok(), "{result:?}");
        }
        assert!(body!(ListingRequest, 7).command(&hours, &generator).is_ok());
        assert!(body!(TakeRequest, 8).command(&hours, &generator, 1).is_ok());
        let counterparty = participant(8, Role::User);
        let proposal = body!(ProposalRequest, 9);
        assert!(proposal.command(&hours, &generator, counterparty).is_ok());
    }

    #[test]
    fn delivery_month_refusal_quotes_the_month_as_written() {
        // Found by the `months_and_serials` fuzz target: `0004-00` was refused as `4-00`.
        for text in ["0004-00", "0000-01", "2025-13"] {
            let e = text.parse::<domain::YearMonth>().unwrap_err();
            assert!(e.to_string().contains(text), "{e}");
            check_months_and_serials(text.as_bytes());
        }
    }

    /// Hostile texts for string values: mutations of values that are valid somewhere.
    fn hostile_text() -> impl Strategy<Value = String> {
        let values = [
            "10.000",
            "420.50",
            "-3.5",
            "h01",
            "q96",
            "2024-03",
            "ZJ",
            "0.035",
            "generator",
            "call_auction",
            "33010012345678901",
            "环境",
        ];
        hostile(values.iter().map(|v| v.as_bytes().to_vec()).collect(), 24).prop_map(|b| text(&b))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn request_bodies_never_panic_on_arbitrary_bytes(data in hostile(body_seeds(), 1024)) {
            check_request_bodies(&data);
        }

        #[test]
        fn request_bodies_with_hostile_values_are_refused_by_field(
            seed in 0..body_seeds().len(),
            replacements in proptest::collection::vec((any::<usize>(), hostile_text()), 1..4),
        ) {
            check_request_bodies(&with_values(&body_seeds()[seed], &replacements));
        }

        #[test]
        fn months_and_serials_never_panic_on_arbitrary_bytes(
            data in hostile(month_and_serial_seeds(), 80)
        ) {
            check_months_and_serials(&data);
        }
    }
}
