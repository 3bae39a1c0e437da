//! Hostile input for settlement's file parsers (issue 9, item 8): `meters.csv` in both layouts
//! ([`parse_meters`]), `contracts.csv` ([`parse_contracts`]) and the month ([`YearMonth::parse`]).
//!
//! Each `check_*` function is one fuzz target's body (`fuzz/fuzz_targets/*.rs` include this file
//! by `#[path]`); the property tests below run the same checks on every `cargo test`. Besides
//! "never panics", a check holds the parser to its contract: a refusal lists bad rows by line
//! (within the file, in line order, each naming its field when it is in one), and an accepted
//! file is complete and consistent. The meter parser must also give the same answer however the
//! file is cut, into threads or into pushed pieces, since both happen in production.

use settlement::{
    CONTRACTS_HEADER, DAY_ROWS_HEADER, MAX_INTERVAL_KWH, MAX_REPORTED, METERS_HEADER, MeterData,
    MeterErrors, MeterParser, YearMonth, parse_contracts, parse_meters, parse_meters_with,
    write_day_rows,
};

/// The month the meter checks read files for: February 2023, the shortest (2,688 intervals).
pub fn fuzz_month() -> YearMonth {
    YearMonth::parse("2023-02").expect("a month")
}

/// 1-based lines of a file: one more than its newlines.
fn lines_in(data: &[u8]) -> u64 {
    data.iter().filter(|&&b| b == b'\n').count() as u64 + 1
}

fn check_meter_errors(data: &[u8], month: YearMonth, e: &MeterErrors) {
    let message = e.to_string();
    assert!(
        e.bad_rows > 0 || e.incomplete_meters > 0,
        "a refusal without a reason"
    );
    if e.bad_rows > 0 {
        assert!(
            e.incomplete.is_empty(),
            "completeness judged despite bad rows"
        );
        assert_eq!(e.rows.len(), e.bad_rows.min(MAX_REPORTED), "{message}");
        let lines = lines_in(data);
        let mut previous = 0;
        for row in &e.rows {
            assert!(
                (1..=lines).contains(&row.line),
                "line {} of {lines}",
                row.line
            );
            assert!(row.line >= previous, "rows out of order: {message}");
            previous = row.line;
            let shown = row.to_string();
            assert!(shown.starts_with(&format!("line {}", row.line)), "{shown}");
            if let Some(field) = row.problem.field() {
                assert!(shown.contains(&format!("field `{field}`")), "{shown}");
            }
        }
    } else {
        assert_eq!(
            e.incomplete.len(),
            e.incomplete_meters.min(MAX_REPORTED),
            "{message}"
        );
        for meter in &e.incomplete {
            assert!((1..=month.intervals()).contains(&meter.missing), "{meter}");
            assert!(
                message.contains(&format!("meter `{}`", meter.meter)),
                "{message}"
            );
        }
    }
}

fn check_meter_data(month: YearMonth, data: &MeterData) {
    assert_eq!(data.month(), month);
    for meter in data.meters() {
        assert_eq!(
            meter.intervals().len(),
            month.intervals(),
            "{}",
            meter.name()
        );
        assert!(
            meter
                .intervals()
                .iter()
                .all(|v| (0..=MAX_INTERVAL_KWH).contains(v))
        );
        assert_eq!(meter.total().0, meter.intervals().iter().sum::<i64>());
    }
    for p in data.participants() {
        let sum: i64 = p.meters().iter().map(|&m| data.meters()[m].total().0).sum();
        assert_eq!(p.total().0, sum, "{}", p.name());
    }
}

/// `meters.csv`: never panics; a refusal names lines and fields; an accepted month is complete;
/// and the answer is the same parsed whole, on 2 or 3 threads, or pushed in small pieces.
pub fn check_meter_csv(data: &[u8]) {
    let month = fuzz_month();
    let whole = parse_meters(data, month);
    match &whole {
        Ok(meters) => check_meter_data(month, meters),
        Err(e) => check_meter_errors(data, month, e),
    }
    for threads in [2, 3] {
        assert_eq!(
            parse_meters_with(data, month, threads),
            whole,
            "{threads} threads"
        );
    }
    let piece = 1 + data.len() % 61;
    let mut parser = MeterParser::new(month);
    for chunk in data.chunks(piece) {
        parser.push(chunk);
    }
    assert_eq!(parser.finish(), whole, "pushed in pieces of {piece} bytes");
}

/// `contracts.csv`: never panics; a refusal names lines (and fields of the header's columns);
/// accepted contracts have distinct ids, two different plain names, and carries of 0–999 kWh.
pub fn check_contracts_csv(data: &[u8]) {
    match parse_contracts(data) {
        Ok(contracts) => {
            let mut ids = std::collections::BTreeSet::new();
            for c in &contracts {
                assert!(ids.insert(c.id.as_str()), "`{}` accepted twice", c.id);
                for name in [&c.id, &c.seller, &c.buyer] {
                    assert!(
                        !name.is_empty() && !name.contains(['"', ',', '\n']),
                        "{name:?}"
                    );
                }
                assert_ne!(c.seller, c.buyer);
                assert!(
                    c.volume.0 >= 0 && (0..=999).contains(&c.carry_in.0),
                    "{c:?}"
                );
                assert_eq!(c.loss.0, 0);
            }
        }
        Err(e) => {
            assert!(e.bad_rows > 0 && e.rows.len() == e.bad_rows.min(MAX_REPORTED));
            let columns: Vec<&str> = CONTRACTS_HEADER.split(',').collect();
            let lines = lines_in(data);
            let mut previous = 0;
            for row in &e.rows {
                assert!(
                    (1..=lines).contains(&row.line),
                    "line {} of {lines}",
                    row.line
                );
                assert!(row.line >= previous, "rows out of order: {e}");
                previous = row.line;
                let shown = row.to_string();
                assert!(shown.starts_with(&format!("line {}", row.line)), "{shown}");
                if let Some(field) = row.field {
                    assert!(columns.contains(&field), "{shown}");
                }
            }
        }
    }
}

/// `YYYY-MM` months: an accepted month writes back as given; a refusal quotes the text.
pub fn check_month(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match YearMonth::parse(&text) {
        Ok(month) => {
            assert_eq!(month.to_string(), text);
            assert_eq!(month.intervals(), 96 * usize::from(month.days()));
        }
        Err(e) => assert!(e.to_string().contains(text.as_ref()), "{e}"),
    }
}

/// Valid `meters.csv` files to mutate, as interval rows and as day rows: February 2023 whole for
/// one meter (so mutations reach completeness and the thread cuts), short files whose rows reach
/// every row rule, and the header alone.
pub fn meter_seeds() -> Vec<Vec<u8>> {
    let month = fuzz_month();
    let mut full = format!("{METERS_HEADER}\n");
    for i in 0..month.intervals() {
        full.push_str(&format!("GM1,G1,{},{}\n", month.interval_start(i), i % 97));
    }
    let short = format!(
        "\u{feff}{METERS_HEADER}\r\nGM1,G1,2023-02-01T00:00,5\r\n\r\nUM1,U1,2023-02-28T23:45,0\r\n\
         GM2,G1,2023-02-14T12:30,12345\r\n"
    );
    // The same as day rows (96点).
    let mut full_days = format!("{DAY_ROWS_HEADER}\n").into_bytes();
    let values: Vec<i64> = (0..month.intervals() as i64).map(|i| i % 97).collect();
    write_day_rows(&mut full_days, "GM1", "G1", month, &values);
    let day = |meter: &str, date: &str, kwh: &str| {
        format!("{meter},G1,{date},{}\r\n", vec![kwh; 96].join(","))
    };
    let short_days = format!(
        "\u{feff}{DAY_ROWS_HEADER}\r\n{}\r\n{}{}",
        day("GM1", "2023-02-01", "5"),
        day("UM1", "2023-02-28", "0"),
        day("GM2", "2023-02-14", "12345"),
    );
    vec![
        full.into_bytes(),
        short.into_bytes(),
        format!("{METERS_HEADER}\n").into_bytes(),
        full_days,
        short_days.into_bytes(),
        format!("{DAY_ROWS_HEADER}\n").into_bytes(),
    ]
}

/// Valid `contracts.csv` files to mutate.
pub fn contract_seeds() -> Vec<Vec<u8>> {
    vec![
        format!(
            "{CONTRACTS_HEADER}\nc3,G1,U2,5.000,380.00,20.00,25.00,999\n\
             c1,G1,U1,12.000,400.00,50.00,30.00,340\nc2,G2,U1,10.000,420.50,48.88,30.00,0\n"
        )
        .into_bytes(),
        format!("\u{feff}{CONTRACTS_HEADER}\r\nc1,G1,U1,1250.125,-420.50,50,30.00,0\r\n\r\n")
            .into_bytes(),
    ]
}

#[cfg(test)]
#[path = "../../../domain/tests/support/hostile_bytes.rs"]
mod hostile_bytes;

#[cfg(test)]
mod tests {
    use super::hostile_bytes::hostile;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_seeds_are_valid_so_mutations_start_deep() {
        let seeds = meter_seeds();
        let [full, short, header, full_days, short_days, days_header] = &seeds[..] else {
            panic!("six meter seeds")
        };
        let data = parse_meters(full, fuzz_month()).expect("a complete month");
        assert_eq!(data.meters().len(), 1);
        assert_eq!(parse_meters(full_days, fuzz_month()), Ok(data));
        // The short seeds have only good rows: what they lack is intervals, not validity.
        for short in [short, short_days] {
            let e = parse_meters(short, fuzz_month()).unwrap_err();
            assert_eq!((e.bad_rows, e.incomplete_meters), (0, 3), "{e}");
        }
        for header in [header, days_header] {
            assert_eq!(
                parse_meters(header, fuzz_month()).unwrap().meters().len(),
                0
            );
        }
        for seed in contract_seeds() {
            assert!(!parse_contracts(&seed).unwrap().is_empty());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn meter_csv_never_panics_and_does_not_depend_on_cuts(
            data in hostile(meter_seeds(), 512)
        ) {
            check_meter_csv(&data);
        }

        #[test]
        fn contracts_csv_never_panics_and_names_lines(data in hostile(contract_seeds(), 512)) {
            check_contracts_csv(&data);
        }

        #[test]
        fn month_parser_never_panics_on_arbitrary_bytes(
            data in hostile(vec![b"2023-05".to_vec(), b"2024-02".to_vec(), b"9999-12".to_vec()], 12)
        ) {
            check_month(&data);
        }
    }
}
