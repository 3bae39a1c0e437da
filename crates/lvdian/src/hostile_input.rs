//! Hostile input for the binary's own readers (issue 9, item 8): the order file of `lvdian clear`
//! ([`clear::run`]) and Parquet meter files ([`parquet::read_meters`]).
//!
//! Each `check_*` function is one fuzz target's body (`fuzz/fuzz_targets/*.rs` include this file
//! and the modules it tests by `#[path]`); the property tests at the bottom run the same checks
//! in `cargo test`. A check holds the reader to its promise, beyond not panicking: a refused
//! clear file is named by JSON position, top-level field, order or corridor; an accepted one
//! prints a JSON result; a refused Parquet file is named by its path, and an accepted one is a
//! complete month.

use std::path::PathBuf;

use domain::YearMonth;

use crate::{clear, parquet};

/// An order file of `lvdian clear`: never panics; a refusal says where.
pub fn check_clear_file(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let congestion_rent = data.len() % 2 == 1;
    match clear::run(&text, congestion_rent) {
        Ok(output) => {
            let value: serde_json::Value =
                serde_json::from_str(&output).expect("the output is JSON");
            assert!(value["method"].is_string(), "{output}");
            assert!(value["periods"].is_array(), "{output}");
        }
        Err(e) => {
            let places = ["line ", "field `", "orders[", "corridors["];
            assert!(
                places.iter().any(|p| e.location.starts_with(p)),
                "`{e}` does not say where"
            );
            assert!(!e.reason.is_empty(), "{e}");
        }
    }
}

/// The month the Parquet checks read: February 2023 (the month of [`parquet_seeds`]).
pub fn parquet_month() -> YearMonth {
    YearMonth::parse("2023-02").expect("a month")
}

/// A file of this process and thread to hand bytes to the Parquet reader, which reads paths.
fn scratch_file() -> PathBuf {
    let thread = format!("{:?}", std::thread::current().id());
    let thread: String = thread.chars().filter(char::is_ascii_digit).collect();
    std::env::temp_dir().join(format!(
        "lvdian-hostile-{}-{thread}.parquet",
        std::process::id()
    ))
}

/// A Parquet meter file: never panics; a refusal names the file; an accepted file is a
/// complete month.
pub fn check_parquet_file(data: &[u8]) {
    let path = scratch_file();
    std::fs::write(&path, data).expect("the scratch file is writable");
    let month = parquet_month();
    let result = parquet::read_meters(&path, month);
    let _ = std::fs::remove_file(&path);
    match result {
        Ok(meters) => {
            assert_eq!(meters.month(), month);
            for m in meters.meters() {
                assert_eq!(m.intervals().len(), month.intervals(), "{}", m.name());
            }
        }
        Err(e) => {
            let message = format!("{e:#}");
            assert!(
                message.contains(&path.display().to_string()),
                "`{message}` does not name the file"
            );
        }
    }
}

/// Valid order files to mutate: the README's examples.
pub fn clear_seeds() -> Vec<Vec<u8>> {
    vec![
        include_bytes!("../../../examples/auction.json").to_vec(),
        include_bytes!("../../../examples/coupled.json").to_vec(),
        br#"{"method": "high_low", "orders": [
            {"id": "b1", "participant": "U1", "side": "buy", "period": "q96", "mwh": "0.001", "price": "-5"},
            {"id": "s1", "participant": "G1", "side": "sell", "period": "q96", "mwh": "1", "price": "-5.00"}]}"#
            .to_vec(),
    ]
}

/// Valid Parquet meter files to mutate: a few rows of February 2023 (not a complete month, so
/// the reader's answer is a list of missing intervals unless a mutation breaks a row) in each
/// layout the reader supports — string `start` with dictionary pages, DELTA_BYTE_ARRAY strings,
/// and a Snappy-compressed `TIMESTAMP(MICROS)` with optional columns — each in two row groups.
pub fn parquet_seeds() -> Vec<Vec<u8>> {
    use std::sync::Arc;

    use ::parquet::basic::{Compression, Encoding};
    use ::parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type};
    use ::parquet::file::properties::WriterProperties;
    use ::parquet::file::writer::SerializedFileWriter;
    use ::parquet::schema::parser::parse_message_type;
    use ::parquet::schema::types::ColumnPath;

    // 2023-02-01T00:00 local, in microseconds since 1970-01-01T00:00.
    const FEB_1_US: i64 = 19_389 * 86_400 * 1_000_000;
    // (meter, participant, minutes after 2023-02-01T00:00, kWh)
    type Row = (&'static str, &'static str, i64, i64);
    let rows: Vec<Row> = (0..24)
        .map(|i| {
            let meter = if i % 3 == 0 { "UM1" } else { "GM1" };
            let participant = if i % 3 == 0 { "U1" } else { "G1" };
            (meter, participant, i * 15, i * 7)
        })
        .collect();
    let start_text = |minutes: i64| {
        format!(
            "2023-02-{:02}T{:02}:{:02}",
            minutes / 1440 + 1,
            minutes % 1440 / 60,
            minutes % 60
        )
    };
    let mut seeds = Vec::new();
    for flavour in 0..3 {
        let schema = if flavour < 2 {
            "message m { required binary meter (UTF8); required binary participant (UTF8);
                         required binary start (UTF8); required int32 kwh; }"
        } else {
            "message m { optional binary meter (STRING); optional binary participant (STRING);
                         optional int64 start (TIMESTAMP(MICROS,false)); optional int64 kwh; }"
        };
        let schema = Arc::new(parse_message_type(schema).expect("a schema"));
        let mut props = WriterProperties::builder();
        if flavour == 1 {
            for column in ["meter", "participant", "start"] {
                props = props
                    .set_column_dictionary_enabled(ColumnPath::from(column), false)
                    .set_column_encoding(ColumnPath::from(column), Encoding::DELTA_BYTE_ARRAY);
            }
        } else if flavour == 2 {
            props = props
                .set_dictionary_enabled(false)
                .set_encoding(Encoding::PLAIN)
                .set_compression(Compression::SNAPPY);
        }
        let mut out = Vec::new();
        let mut writer =
            SerializedFileWriter::new(&mut out, schema, Arc::new(props.build())).expect("a writer");
        for group in rows.chunks(rows.len() / 2) {
            let mut rg = writer.next_row_group().expect("a row group");
            let ones = vec![1i16; group.len()];
            let defs = (flavour == 2).then_some(&ones[..]);
            let mut k = 0;
            while let Some(mut column) = rg.next_column().expect("a column") {
                let strings = |f: &dyn Fn(&Row) -> String| -> Vec<ByteArray> {
                    group
                        .iter()
                        .map(|r| ByteArray::from(f(r).as_str()))
                        .collect()
                };
                match (k, flavour) {
                    (0, _) => column.typed::<ByteArrayType>().write_batch(
                        &strings(&|r| r.0.to_owned()),
                        defs,
                        None,
                    ),
                    (1, _) => column.typed::<ByteArrayType>().write_batch(
                        &strings(&|r| r.1.to_owned()),
                        defs,
                        None,
                    ),
                    (2, 0 | 1) => column.typed::<ByteArrayType>().write_batch(
                        &strings(&|r| start_text(r.2)),
                        defs,
                        None,
                    ),
                    (2, _) => column.typed::<Int64Type>().write_batch(
                        &group
                            .iter()
                            .map(|r| FEB_1_US + r.2 * 60_000_000)
                            .collect::<Vec<_>>(),
                        defs,
                        None,
                    ),
                    (_, 0 | 1) => column.typed::<Int32Type>().write_batch(
                        &group.iter().map(|r| r.3 as i32).collect::<Vec<_>>(),
                        defs,
                        None,
                    ),
                    _ => column.typed::<Int64Type>().write_batch(
                        &group.iter().map(|r| r.3).collect::<Vec<_>>(),
                        defs,
                        None,
                    ),
                }
                .expect("values written");
                column.close().expect("a column closed");
                k += 1;
            }
            rg.close().expect("a row group closed");
        }
        writer.close().expect("a file closed");
        seeds.push(out);
    }
    seeds
}

#[cfg(test)]
#[path = "../../domain/tests/support/hostile_bytes.rs"]
mod hostile_bytes;

#[cfg(test)]
mod tests {
    use super::hostile_bytes::{hostile, hostile_binary};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_seeds_are_valid_so_mutations_start_deep() {
        for seed in clear_seeds() {
            let text = String::from_utf8(seed).unwrap();
            assert!(clear::run(&text, false).is_ok(), "{text}");
        }
        for seed in parquet_seeds() {
            let path = scratch_file();
            std::fs::write(&path, &seed).unwrap();
            let e = parquet::read_meters(&path, parquet_month()).unwrap_err();
            let _ = std::fs::remove_file(&path);
            // Every row is good: only the month's other intervals are missing.
            let message = format!("{e:#}");
            assert!(
                message.contains("2 meters lack intervals of the month"),
                "{message}"
            );
        }
    }

    /// Reading `crash` as a meter file is an error naming the file (not a panic or an abort),
    /// and it passes the fuzz target's check.
    fn refused_whole(crash: &[u8]) {
        let path = scratch_file();
        std::fs::write(&path, crash).unwrap();
        let e = parquet::read_meters(&path, parquet_month()).unwrap_err();
        let _ = std::fs::remove_file(&path);
        let message = format!("{e:#}");
        assert!(
            message.starts_with(&format!("cannot read {}: ", path.display())),
            "{message}"
        );
        check_parquet_file(crash);
    }

    #[test]
    fn parquet_reader_refuses_a_delta_length_past_its_page_instead_of_panicking() {
        // Found by the `meter_parquet` fuzz target: the `parquet` crate's DELTA_BYTE_ARRAY
        // decoder slices past its page (bytes.rs: "range end out of bounds") on this file.
        let crash = include_bytes!(
            "../../../fuzz/regressions/meter_parquet/delta_length_past_page.parquet"
        );
        refused_whole(crash);
    }

    #[test]
    fn parquet_reader_refuses_a_delta_count_beyond_its_page_instead_of_aborting() {
        // Found by the `meter_parquet` fuzz target in CI: a DELTA_BYTE_ARRAY page whose suffix
        // lengths claim about 2^53 values. The `parquet` crate sized a buffer by that claim
        // (31 PB), and the failed allocation aborted the process (in a release build; a debug
        // build stops earlier, at an overflow the reader catches). The page is refused now
        // (`parquet::tests::delta_streams_claiming_more_than_their_page_are_refused`).
        let crash = include_bytes!(
            "../../../fuzz/regressions/meter_parquet/delta_count_beyond_page.parquet"
        );
        refused_whole(crash);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn clear_order_file_never_panics_and_says_where(data in hostile(clear_seeds(), 1024)) {
            check_clear_file(&data);
        }

        #[test]
        fn parquet_meter_reader_never_panics_on_arbitrary_bytes(
            data in hostile_binary(parquet_seeds(), 2048)
        ) {
            check_parquet_file(&data);
        }
    }
}
