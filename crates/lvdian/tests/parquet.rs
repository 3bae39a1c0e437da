//! Meter data in Parquet: `lvdian settle --meters M.parquet` and `lvdian meters import
//! M.parquet` give what the same data gives as `meters.csv`, and the same row errors (a row's
//! `line` is its 1-based row index + 1, as if the file had a header line).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use parquet::basic::{BrotliLevel, Compression, Encoding, GzipLevel, ZstdLevel};
use parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::ColumnPath;

fn lvdian(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lvdian"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lvdian-parquet-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const CONTRACTS: &str = "contract,seller,buyer,mwh,energy_price,env_price,comp_price,carry_kwh\n\
                         c3,G1,U2,5.000,380.00,20.00,25.00,999\n\
                         c1,G1,U1,12.000,400.00,50.00,30.00,340\n\
                         c2,G2,U1,10.000,420.50,48.88,30.00,0\n";

/// One row: meter, participant, (day, quarter) of May 2023, kWh.
type Row = (&'static str, &'static str, (u32, u32), i64);

/// A complete May 2023 for each meter, as in tests/settle.rs.
fn rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for (meter, participant, total) in [
        ("GM1", "G1", 100_000),
        ("GM2", "G2", 6_000),
        ("UM1", "U1", 30_000),
        ("UM1b", "U1", 20_000),
        ("UM2", "U2", 2_501),
    ] {
        for i in 0..2976u32 {
            let kwh = total / 2976 + i64::from(i64::from(i) < total % 2976);
            rows.push((meter, participant, (i / 96 + 1, i % 96), kwh));
        }
    }
    rows
}

fn start_text((day, quarter): (u32, u32)) -> String {
    format!(
        "2023-05-{day:02}T{:02}:{:02}",
        quarter / 4,
        quarter % 4 * 15
    )
}

fn write_csv(path: &Path, rows: &[Row]) {
    let mut out = String::from("meter,participant,start,kwh\n");
    for (meter, participant, start, kwh) in rows {
        out.push_str(&format!(
            "{meter},{participant},{},{kwh}\n",
            start_text(*start)
        ));
    }
    std::fs::write(path, out).unwrap();
}

#[derive(Clone, Copy)]
enum Flavour {
    /// `start` a string, required columns, `kwh` INT32, dictionary-encoded names.
    Text,
    /// As `Text`, the strings DELTA_BYTE_ARRAY-encoded (read by the crate's generic reader).
    TextDelta,
    /// `start` a TIMESTAMP(MICROS) as DuckDB writes it, optional columns, `kwh` INT64, plain
    /// (not dictionary) names, Snappy.
    Timestamp,
}

/// Writes `rows` as Parquet in row groups of `group` rows.
fn write_parquet(path: &Path, rows: &[Row], flavour: Flavour, group: usize) {
    write_parquet_with(path, rows, flavour, group, None);
}

/// [`write_parquet`] with every column compressed by `codec` if given.
fn write_parquet_with(
    path: &Path,
    rows: &[Row],
    flavour: Flavour,
    group: usize,
    codec: Option<Compression>,
) {
    let schema = match flavour {
        Flavour::Text | Flavour::TextDelta => {
            "message m { required binary meter (UTF8); required binary participant (UTF8);
                         required binary start (UTF8); required int32 kwh; }"
        }
        Flavour::Timestamp => {
            "message m { optional binary meter (STRING); optional binary participant (STRING);
                         optional int64 start (TIMESTAMP(MICROS,false)); optional int64 kwh; }"
        }
    };
    let schema = Arc::new(parse_message_type(schema).unwrap());
    let props = match flavour {
        Flavour::Text => WriterProperties::builder().build(),
        Flavour::TextDelta => {
            let mut props = WriterProperties::builder();
            for column in ["meter", "participant", "start"] {
                props = props
                    .set_column_dictionary_enabled(ColumnPath::from(column), false)
                    .set_column_encoding(ColumnPath::from(column), Encoding::DELTA_BYTE_ARRAY);
            }
            props.build()
        }
        Flavour::Timestamp => WriterProperties::builder()
            .set_dictionary_enabled(false)
            .set_encoding(Encoding::PLAIN)
            .set_compression(Compression::SNAPPY)
            .build(),
    };
    let props = match codec {
        Some(codec) => props.into_builder().set_compression(codec).build(),
        None => props,
    };
    let mut writer =
        SerializedFileWriter::new(File::create(path).unwrap(), schema, Arc::new(props)).unwrap();
    // 2023-05-01T00:00 in microseconds since 1970-01-01T00:00.
    const MAY_1_US: i64 = 19_478 * 86_400 * 1_000_000;
    for chunk in rows.chunks(group) {
        let mut rg = writer.next_row_group().unwrap();
        let defs = vec![1i16; chunk.len()];
        let defs = match flavour {
            Flavour::Text | Flavour::TextDelta => None,
            Flavour::Timestamp => Some(&defs[..]),
        };
        let mut k = 0;
        while let Some(mut column) = rg.next_column().unwrap() {
            match k {
                0 | 1 => {
                    let values: Vec<ByteArray> = chunk
                        .iter()
                        .map(|r| ByteArray::from(if k == 0 { r.0 } else { r.1 }))
                        .collect();
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(&values, defs, None)
                        .unwrap();
                }
                2 => match flavour {
                    Flavour::Text | Flavour::TextDelta => {
                        let values: Vec<ByteArray> = chunk
                            .iter()
                            .map(|r| ByteArray::from(start_text(r.2).as_str()))
                            .collect();
                        column
                            .typed::<ByteArrayType>()
                            .write_batch(&values, defs, None)
                            .unwrap();
                    }
                    Flavour::Timestamp => {
                        let values: Vec<i64> = chunk
                            .iter()
                            .map(|&(_, _, (day, quarter), _)| {
                                let minutes = i64::from((day - 1) * 1440 + quarter * 15);
                                MAY_1_US + minutes * 60_000_000
                            })
                            .collect();
                        column
                            .typed::<Int64Type>()
                            .write_batch(&values, defs, None)
                            .unwrap();
                    }
                },
                _ => match flavour {
                    Flavour::Text | Flavour::TextDelta => {
                        let values: Vec<i32> = chunk.iter().map(|r| r.3 as i32).collect();
                        column
                            .typed::<Int32Type>()
                            .write_batch(&values, defs, None)
                            .unwrap();
                    }
                    Flavour::Timestamp => {
                        let values: Vec<i64> = chunk.iter().map(|r| r.3).collect();
                        column
                            .typed::<Int64Type>()
                            .write_batch(&values, defs, None)
                            .unwrap();
                    }
                },
            }
            column.close().unwrap();
            k += 1;
        }
        rg.close().unwrap();
    }
    writer.close().unwrap();
}

fn settle(dir: &Path, meters: &Path) -> Output {
    let contracts = dir.join("C.csv");
    std::fs::write(&contracts, CONTRACTS).unwrap();
    lvdian(&[
        "settle",
        "--month",
        "2023-05",
        "--contracts",
        contracts.to_str().unwrap(),
        "--meters",
        meters.to_str().unwrap(),
    ])
}

fn stdout_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn settle_from_parquet_equals_settle_from_csv() {
    let dir = temp_dir("settle");
    let rows = rows();
    let csv = dir.join("M.csv");
    write_csv(&csv, &rows);
    let expected = stdout_of(&settle(&dir, &csv));
    assert!(expected.contains("\"contract\": \"c3\""), "{expected}");
    for (name, flavour, group) in [
        ("text.parquet", Flavour::Text, 5000),
        ("timestamp.PARQUET", Flavour::Timestamp, 1000),
        ("one-group.parquet", Flavour::Text, rows.len()),
        ("delta.parquet", Flavour::TextDelta, 3000),
    ] {
        let path = dir.join(name);
        write_parquet(&path, &rows, flavour, group);
        assert_eq!(stdout_of(&settle(&dir, &path)), expected, "{name}");
    }
    // Every codec a writer may choose (Polars writes zstd, DuckDB and Spark snappy), with
    // dictionary-encoded text columns and with plain ones.
    let codecs = [
        Compression::UNCOMPRESSED,
        Compression::SNAPPY,
        Compression::GZIP(GzipLevel::default()),
        Compression::LZ4,
        Compression::LZ4_RAW,
        Compression::ZSTD(ZstdLevel::default()),
        Compression::ZSTD(ZstdLevel::try_new(19).unwrap()),
        Compression::BROTLI(BrotliLevel::default()),
    ];
    for codec in codecs {
        for (encoding, flavour) in [("dictionary", Flavour::Text), ("plain", Flavour::Timestamp)] {
            let path = dir.join(format!("{codec}-{encoding}.parquet"));
            write_parquet_with(&path, &rows, flavour, 2000, Some(codec));
            assert_eq!(
                stdout_of(&settle(&dir, &path)),
                expected,
                "{codec}, {encoding}"
            );
        }
    }
    // Rows in another order (by time, then meter) give the same result.
    let mut by_time = rows.clone();
    by_time.sort_by_key(|r| (r.2, r.0));
    let path = dir.join("by-time.parquet");
    write_parquet(&path, &by_time, Flavour::Timestamp, 4096);
    assert_eq!(stdout_of(&settle(&dir, &path)), expected);
}

#[test]
fn bad_rows_are_named_by_line_as_in_csv() {
    let dir = temp_dir("bad");
    let mut rows = rows();
    rows[3000].3 = -5; // 0-based row 3000: line 3002 of the CSV
    rows[7000].2 = (40, 0);
    let csv = dir.join("M.csv");
    write_csv(&csv, &rows);
    let csv_out = settle(&dir, &csv);
    assert!(!csv_out.status.success());
    let csv_err = String::from_utf8(csv_out.stderr).unwrap();
    assert!(
        csv_err.contains("line 3002, field `kwh`: `-5` is negative"),
        "{csv_err}"
    );
    let path = dir.join("M.parquet");
    write_parquet(&path, &rows[..], Flavour::Text, 2048);
    let out = settle(&dir, &path);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    // The same report as for the CSV file, but for the path.
    let csv_name = csv.display().to_string();
    let pq_name = path.display().to_string();
    assert_eq!(err.replace(&pq_name, &csv_name), csv_err);
    assert!(
        err.contains(
            "2 bad rows, nothing imported\n  line 3002, field `kwh`: `-5` is negative\n  \
                      line 7002, field `start`: `2023-05-40T00:00` is not a local time"
        ),
        "{err}"
    );

    // `meters import` refuses it the same way, and imports the good file.
    let url = format!("sqlite:{}", dir.join("m.db").display());
    let import = |file: &Path| {
        lvdian(&[
            "meters",
            "import",
            file.to_str().unwrap(),
            "--month",
            "2023-05",
            "--database-url",
            &url,
        ])
    };
    let out = import(&path);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("line 3002, field `kwh`: `-5` is negative"),
        "{err}"
    );
    // The database is the server's: rows name registered participants by id, and the sellers'
    // meters are their projects'. Named as in the offline files, the good file is refused.
    let good = dir.join("good.parquet");
    write_parquet(&good, &self::rows(), Flavour::Timestamp, 3000);
    let out = import(&good);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(
            "5 meters refused, nothing imported\n  meter `GM1`, field `participant`: \
                      `G1` is not a participant id (a whole number such as 7)"
        ),
        "{err}"
    );
    let ids = register(&url);
    let by_id: Vec<Row> = self::rows()
        .into_iter()
        .map(|(meter, participant, start, kwh)| (meter, ids[participant], start, kwh))
        .collect();
    write_parquet(&good, &by_id, Flavour::Timestamp, 3000);
    let out = import(&good);
    let text = stdout_of(&out);
    assert!(
        text.starts_with("imported 2023-05: 5 meters, 14880 readings, 4 participants"),
        "{text}"
    );
}

/// Registers G1 and G2 (generators, with projects metered by GM1 and GM2) and the users U1 and
/// U2 in the database at `url`; returns each name's id as text.
fn register(url: &str) -> std::collections::HashMap<&'static str, &'static str> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = store::Store::connect(url).await.unwrap();
        store.migrate().await.unwrap();
        let mut ids = std::collections::HashMap::new();
        for (name, role, meter) in [
            ("G1", domain::Role::Generator, Some("GM1")),
            ("G2", domain::Role::Generator, Some("GM2")),
            ("U1", domain::Role::User, None),
            ("U2", domain::Role::User, None),
        ] {
            let new = store::NewParticipant {
                name: name.to_owned(),
                role,
                province: domain::Province::parse("ZJ").unwrap(),
            };
            let p = store.insert_participant(&new, 0).await.unwrap();
            if let Some(meter) = meter {
                let code = format!("3301000000000000{}", &name[1..]);
                let project = domain::Project {
                    code: domain::ProjectCode::parse(&code).unwrap(),
                    technology: domain::Technology::WindOnshore,
                    capacity_kw: 1000,
                    province: new.province.clone(),
                    owner: p.id,
                    subsidised: false,
                    meters: vec![meter.to_owned()],
                };
                store.insert_project(&project, 0).await.unwrap();
            }
            let id: &'static str = Box::leak(p.id.0.to_string().into_boxed_str());
            ids.insert(name, id);
        }
        store.close().await;
        ids
    })
}

#[test]
fn a_wrong_schema_names_the_column() {
    let dir = temp_dir("schema");
    let path = dir.join("M.parquet");
    let schema = Arc::new(
        parse_message_type(
            "message m { required binary meter (UTF8); required binary participant (UTF8);
                         required binary start (UTF8); required double kwh; }",
        )
        .unwrap(),
    );
    let writer = SerializedFileWriter::new(
        File::create(&path).unwrap(),
        schema,
        Arc::new(WriterProperties::builder().build()),
    )
    .unwrap();
    writer.close().unwrap();
    let out = settle(&dir, &path);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("column `kwh` is DOUBLE, expected an integer"),
        "{err}"
    );
}

/// A row that may hold nulls: meter, participant, start (microseconds, and its text in
/// `meters.csv`), kWh.
type NullableRow = (
    Option<String>,
    Option<String>,
    Option<(i64, String)>,
    Option<i64>,
);

/// 2023-05-01T00:00 in microseconds since 1970-01-01T00:00.
const MAY_1_US: i64 = 19_478 * 86_400 * 1_000_000;

fn nullable_rows() -> Vec<NullableRow> {
    rows()
        .into_iter()
        .map(|(meter, participant, (day, quarter), kwh)| {
            let minutes = i64::from((day - 1) * 1440 + quarter * 15);
            let start = (MAY_1_US + minutes * 60_000_000, start_text((day, quarter)));
            (
                Some(meter.to_owned()),
                Some(participant.to_owned()),
                Some(start),
                Some(kwh),
            )
        })
        .collect()
}

/// The rows as `meters.csv` shows them: a null name empty, a null start or reading `NULL`.
fn write_nullable_csv(path: &Path, rows: &[NullableRow]) {
    let mut out = String::from("meter,participant,start,kwh\n");
    for (meter, participant, start, kwh) in rows {
        let kwh = kwh.map_or("NULL".to_owned(), |k| k.to_string());
        let start = start.as_ref().map_or("NULL", |(_, text)| text);
        out.push_str(&format!(
            "{},{},{start},{kwh}\n",
            meter.as_deref().unwrap_or(""),
            participant.as_deref().unwrap_or("")
        ));
    }
    std::fs::write(path, out).unwrap();
}

/// The rows as DuckDB and Polars write them: optional columns, `start` a TIMESTAMP(MICROS),
/// `kwh` INT64, encodings and pages as `props` say.
fn write_nullable_parquet(path: &Path, rows: &[NullableRow], props: WriterProperties) {
    let schema = "message m { optional binary meter (STRING); optional binary participant (STRING);
                  optional int64 start (TIMESTAMP(MICROS,false)); optional int64 kwh; }";
    let schema = Arc::new(parse_message_type(schema).unwrap());
    let mut writer =
        SerializedFileWriter::new(File::create(path).unwrap(), schema, Arc::new(props)).unwrap();
    for chunk in rows.chunks(6000) {
        let mut rg = writer.next_row_group().unwrap();
        let mut k = 0;
        while let Some(mut column) = rg.next_column().unwrap() {
            let defs_of = |present: &dyn Fn(&NullableRow) -> bool| -> Vec<i16> {
                chunk.iter().map(|r| i16::from(present(r))).collect()
            };
            match k {
                0 | 1 => {
                    let name = |r: &NullableRow| if k == 0 { r.0.clone() } else { r.1.clone() };
                    let defs = defs_of(&|r| name(r).is_some());
                    let values: Vec<ByteArray> = chunk
                        .iter()
                        .filter_map(|r| name(r).map(|n| ByteArray::from(n.as_str())))
                        .collect();
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(&values, Some(&defs), None)
                        .unwrap();
                }
                _ => {
                    let value = |r: &NullableRow| {
                        if k == 2 {
                            r.2.as_ref().map(|s| s.0)
                        } else {
                            r.3
                        }
                    };
                    let defs = defs_of(&|r| value(r).is_some());
                    let values: Vec<i64> = chunk.iter().filter_map(value).collect();
                    column
                        .typed::<Int64Type>()
                        .write_batch(&values, Some(&defs), None)
                        .unwrap();
                }
            }
            column.close().unwrap();
            k += 1;
        }
        rg.close().unwrap();
    }
    writer.close().unwrap();
}

/// How many data pages the file's column `i` has, and their encodings.
fn data_pages(path: &Path, i: usize) -> (usize, Vec<Encoding>) {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(File::open(path).unwrap()).unwrap();
    let mut encodings = std::collections::BTreeSet::new();
    let mut pages = 0;
    for g in 0..reader.num_row_groups() {
        let mut column = reader
            .get_row_group(g)
            .unwrap()
            .get_column_page_reader(i)
            .unwrap();
        while let Some(page) = column.get_next_page().unwrap() {
            if page.is_data_page() {
                pages += 1;
                encodings.insert(page.encoding());
            }
        }
    }
    (pages, encodings.into_iter().collect())
}

#[test]
fn timestamp_rows_in_dictionary_pages_are_checked_as_in_csv() {
    let dir = temp_dir("dictionary");
    let good = nullable_rows();
    let csv = dir.join("M.csv");
    write_nullable_csv(&csv, &good);
    let expected = stdout_of(&settle(&dir, &csv));
    // Dictionary pages as DuckDB and Polars write them; small pages, so that a batch of rows
    // spans several; and a dictionary too small for its column, so that the writer falls back
    // to PLAIN pages after the first few.
    let zstd =
        || WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::default()));
    let settings = [
        ("dictionary", zstd().build()),
        (
            "small-pages",
            zstd()
                .set_data_page_row_count_limit(100)
                .set_write_batch_size(100)
                .build(),
        ),
        (
            "fallback",
            zstd()
                .set_dictionary_page_size_limit(16)
                .set_data_page_row_count_limit(500)
                .set_write_batch_size(500)
                .build(),
        ),
    ];
    for (name, props) in &settings {
        let path = dir.join(format!("{name}.parquet"));
        write_nullable_parquet(&path, &good, props.clone());
        assert_eq!(stdout_of(&settle(&dir, &path)), expected, "{name}");
        // The files are as described: the meter column's data pages and their encodings.
        let (pages, encodings) = data_pages(&path, 0);
        let expected_encodings = match *name {
            "fallback" => vec![Encoding::PLAIN, Encoding::RLE_DICTIONARY],
            _ => vec![Encoding::RLE_DICTIONARY],
        };
        assert_eq!(encodings, expected_encodings, "{name}");
        assert!(
            (*name == "small-pages") == (pages > 100),
            "{name}: {pages} pages"
        );
    }

    // Bad rows inside a meter's run of rows, and around it: each named as in the CSV file.
    let mut bad = good.clone();
    bad[10].3 = None;
    bad[20].2 = None;
    bad[30].0 = None;
    bad[3000].2 = bad[2999].2.clone(); // a second reading for an interval
    bad[4000].3 = Some(-1);
    let (us, text) = bad[5000].2.clone().unwrap();
    bad[5000].2 = Some((us + 30_000_000, format!("{text}:30.000000")));
    bad[6000].2 = Some((MAY_1_US - 15 * 60_000_000, "2023-04-30T23:45".to_owned()));
    bad[7000].1 = None;
    bad[8000].1 = Some("U9".to_owned()); // the meter of another participant
    bad[8001].3 = Some(1_000_000_001);
    let csv = dir.join("bad.csv");
    write_nullable_csv(&csv, &bad);
    let csv_out = settle(&dir, &csv);
    assert!(!csv_out.status.success());
    let csv_err = String::from_utf8(csv_out.stderr).unwrap();
    assert!(csv_err.contains("10 bad rows"), "{csv_err}");
    for (name, props) in &settings {
        let path = dir.join(format!("bad-{name}.parquet"));
        write_nullable_parquet(&path, &bad, props.clone());
        let out = settle(&dir, &path);
        assert!(!out.status.success(), "{name}");
        assert!(out.stdout.is_empty(), "{name}");
        let err = String::from_utf8(out.stderr).unwrap();
        let (pq_name, csv_name) = (path.display().to_string(), csv.display().to_string());
        assert_eq!(err.replace(&pq_name, &csv_name), csv_err, "{name}");
    }
}
