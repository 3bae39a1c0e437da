//! Meter files of day rows (96点): the same month as interval rows gives the same data and the
//! same completeness errors; every reason a day row is refused, with its line and field; hostile
//! files; and that the result does not depend on how the file is cut or pushed.

use std::collections::BTreeMap;

use proptest::prelude::*;
use settlement::{
    DAY_ROWS_HEADER, MAX_INTERVAL_KWH, MeterData, MeterErrors, MeterParser, RowError, RowProblem,
    YearMonth, merge_parts, parse_meters, parse_meters_with, write_day_rows,
};

use crate::{may, meter_file};

/// The day rows of a file of interval rows: each meter's complete days (a day lacking any
/// interval is left out), meters in the order they first appear, days in date order, readings as
/// written.
fn day_rows_of(intervals: &str) -> String {
    type Days<'a> = BTreeMap<&'a str, Vec<Option<&'a str>>>;
    let mut meters: Vec<(&str, &str, Days)> = Vec::new();
    for row in intervals.lines().skip(1).filter(|l| !l.is_empty()) {
        let f: Vec<&str> = row.split(',').collect();
        let [meter, participant, start, kwh] = f[..] else {
            panic!("not an interval row: {row}")
        };
        let i = match meters.iter().position(|m| m.0 == meter) {
            Some(i) => i,
            None => {
                meters.push((meter, participant, BTreeMap::new()));
                meters.len() - 1
            }
        };
        let quarter = start[11..13].parse::<usize>().unwrap() * 4
            + start[14..16].parse::<usize>().unwrap() / 15;
        let day = meters[i]
            .2
            .entry(&start[..10])
            .or_insert_with(|| vec![None; 96]);
        assert!(day[quarter].replace(kwh).is_none(), "{row} twice");
    }
    let mut out = format!("{DAY_ROWS_HEADER}\n");
    for (meter, participant, days) in meters {
        for (date, readings) in days {
            if let Some(readings) = readings.into_iter().collect::<Option<Vec<&str>>>() {
                out.push_str(&format!(
                    "{meter},{participant},{date},{}\n",
                    readings.join(",")
                ));
            }
        }
    }
    out
}

/// A day row of `date` whose readings are all `kwh`.
fn flat_row(meter: &str, participant: &str, date: &str, kwh: i64) -> String {
    let readings = vec![kwh.to_string(); 96].join(",");
    format!("{meter},{participant},{date},{readings}\n")
}

fn errors(file: &str) -> MeterErrors {
    parse_meters(file.as_bytes(), may()).expect_err("the file is bad")
}

fn three_meters() -> String {
    meter_file(
        may(),
        &[
            ("GM1", "G1", 100_000),
            ("UM1", "U1", 30_000),
            ("UM1b", "U1", 20_000),
        ],
    )
}

#[test]
fn a_month_of_day_rows_gives_the_data_of_its_interval_rows() {
    let intervals = three_meters();
    let days = day_rows_of(&intervals);
    assert_eq!(days.lines().count(), 1 + 3 * 31);
    let expected = parse_meters(intervals.as_bytes(), may()).unwrap();
    assert_eq!(parse_meters(days.as_bytes(), may()).unwrap(), expected);
    // 3 × 31 rows of 96 readings in about a tenth of the bytes.
    assert!(
        days.len() * 8 < intervals.len(),
        "{} {}",
        days.len(),
        intervals.len()
    );
}

#[test]
fn write_day_rows_writes_what_parses_back() {
    let data = parse_meters(three_meters().as_bytes(), may()).unwrap();
    let mut file = format!("{DAY_ROWS_HEADER}\n").into_bytes();
    for meter in data.meters() {
        let participant = data.participants()[meter.participant()].name();
        write_day_rows(
            &mut file,
            meter.name(),
            participant,
            may(),
            meter.intervals(),
        );
    }
    assert_eq!(
        String::from_utf8(file.clone()).unwrap(),
        day_rows_of(&three_meters()),
        "the interval file is sorted by meter, as the writer writes"
    );
    assert_eq!(parse_meters(&file, may()).unwrap(), data);
    // Extremes.
    let feb = YearMonth::parse("2024-02").unwrap();
    let values: Vec<i64> = (0..feb.intervals())
        .map(|i| [0, MAX_INTERVAL_KWH, 7, 10, 99_999][i % 5])
        .collect();
    let mut file = format!("{DAY_ROWS_HEADER}\n").into_bytes();
    write_day_rows(&mut file, "M-1", "参与者", feb, &values);
    let text = String::from_utf8(file.clone()).unwrap();
    assert!(text.contains("\nM-1,参与者,2024-02-29,"), "{text}");
    assert!(text.starts_with(&format!(
        "{DAY_ROWS_HEADER}\nM-1,参与者,2024-02-01,0,1000000000,7,10,99999,0,"
    )));
    let data = parse_meters(&file, feb).unwrap();
    assert_eq!(data.meter("M-1").unwrap().intervals(), values);
}

#[test]
#[should_panic(expected = "the intervals of 2023-05")]
fn write_day_rows_needs_the_whole_month() {
    write_day_rows(&mut Vec::new(), "M1", "U1", may(), &[0; 95]);
}

#[test]
#[should_panic(expected = "-1 kWh is not a reading")]
fn write_day_rows_refuses_negative_readings() {
    let mut values = vec![0; may().intervals()];
    values[100] = -1;
    write_day_rows(&mut Vec::new(), "M1", "U1", may(), &values);
}

#[test]
#[should_panic(expected = "participant")]
fn write_day_rows_refuses_names_it_could_not_read_back() {
    write_day_rows(&mut Vec::new(), "M1", "U,1", may(), &[0; 2976]);
}

#[test]
fn an_incomplete_meter_is_reported_as_for_interval_rows() {
    // M1 lacks 2 May and 31 May; M3 has only 1 May; M2 is complete.
    let file = three_meters();
    let mut lines: Vec<&str> = file
        .lines()
        .filter(|l| !(l.starts_with("GM1,G1,2023-05-02") || l.starts_with("GM1,G1,2023-05-31")))
        .collect();
    lines.retain(|l| !l.starts_with("UM1b,") || l.contains(",2023-05-01T"));
    let intervals = lines.join("\n") + "\n";
    let days = day_rows_of(&intervals);
    let expected = parse_meters(intervals.as_bytes(), may()).unwrap_err();
    assert_eq!(expected.incomplete_meters, 2, "{expected}");
    assert_eq!(parse_meters(days.as_bytes(), may()).unwrap_err(), expected);
    assert_eq!(
        expected.to_string(),
        "2 meters lack intervals of the month, nothing imported\n  \
         meter `GM1`: 192 intervals missing, the first 2023-05-02T00:00\n  \
         meter `UM1b`: 2880 intervals missing, the first 2023-05-02T00:00"
    );
}

#[test]
fn every_reason_for_a_bad_day_row_is_reported_with_its_line() {
    let good = |date: &str| flat_row("M1", "U1", date, 1);
    let mut twelve_x: Vec<String> = vec!["1".into(); 96];
    twelve_x[42] = "12x".into();
    let with = |i: usize, text: &str| {
        let mut readings: Vec<&str> = vec!["1"; 96];
        readings[i] = text;
        format!("M1,U1,2023-05-02,{}\n", readings.join(","))
    };
    let lines = [
        format!("{DAY_ROWS_HEADER}\n"),
        good("2023-05-01"),                                        // 2
        format!("M1,U1,2023-05-02,{}\n", twelve_x.join(",")),      // 3
        with(0, "-3"),                                             // 4
        with(95, "1000000001"),                                    // 5
        with(7, "99999999999999999999999"),                        // 6
        with(8, ""),                                               // 7
        with(9, "1.5"),                                            // 8
        format!("M1,U1,2023-05-02,{}\n", vec!["1"; 95].join(",")), // 9
        format!("M1,U1,2023-05-02,{}\n", vec!["1"; 97].join(",")), // 10
        good("2023-06-01"),                                        // 11
        good("2023-05-32"),                                        // 12
        good("2023-05-01T00:00"),                                  // 13
        good("2023-05-01"),                                        // 14
        flat_row("M1", "U2", "2023-05-02", 1),                     // 15
        flat_row("", "U2", "2023-05-02", 1),                       // 16
        flat_row("M2", "\"U2\"", "2023-05-02", 1),                 // 17
        "\n".into(),                                               // 18
        "M1,U1,2023-05-01T00:00,1\n".into(),                       // 19
        with(95, " 1"),                                            // 20
    ];
    let e = errors(&lines.concat());
    let reading = |quarter: usize, problem: RowProblem| RowProblem::Reading {
        quarter,
        problem: Box::new(problem),
    };
    let expected = vec![
        (3, reading(42, RowProblem::Kwh("12x".into()))),
        (4, reading(0, RowProblem::Negative("-3".into()))),
        (5, reading(95, RowProblem::TooLarge("1000000001".into()))),
        (
            6,
            reading(7, RowProblem::TooLarge("99999999999999999999999".into())),
        ),
        (7, reading(8, RowProblem::Kwh("".into()))),
        (8, reading(9, RowProblem::Kwh("1.5".into()))),
        (9, RowProblem::DayColumnCount(98)),
        (10, RowProblem::DayColumnCount(100)),
        (11, RowProblem::DateOutsideMonth("2023-06-01".into(), may())),
        (12, RowProblem::MalformedDate("2023-05-32".into())),
        (13, RowProblem::MalformedDate("2023-05-01T00:00".into())),
        (
            14,
            RowProblem::DuplicateDay {
                meter: "M1".into(),
                date: "2023-05-01".into(),
            },
        ),
        (
            15,
            RowProblem::ParticipantConflict {
                meter: "M1".into(),
                participant: "U2".into(),
                first: "U1".into(),
                first_line: 2,
            },
        ),
        (16, RowProblem::Empty("meter")),
        (17, RowProblem::BadName("participant", "\"U2\"".into())),
        // line 18 is empty: skipped, but counted
        (19, RowProblem::DayColumnCount(4)),
        (20, reading(95, RowProblem::Kwh(" 1".into()))),
    ];
    let expected: Vec<RowError> = expected
        .into_iter()
        .map(|(line, problem)| RowError { line, problem })
        .collect();
    assert_eq!(e.rows, expected);
    assert_eq!(e.bad_rows, 17);
    assert!(e.incomplete.is_empty());
    assert_eq!(
        e.to_string(),
        "17 bad rows, nothing imported\n  \
         line 3, field `10:30`: `12x` is not a whole number of kWh\n  \
         line 4, field `00:00`: `-3` is negative\n  \
         line 5, field `23:45`: `1000000001` kWh in 15 minutes is beyond the bound of 1000000000 kWh\n  \
         line 6, field `01:45`: `99999999999999999999999` kWh in 15 minutes is beyond the bound of 1000000000 kWh\n  \
         line 7, field `02:00`: `` is not a whole number of kWh\n  \
         line 8, field `02:15`: `1.5` is not a whole number of kWh\n  \
         line 9: 98 fields, expected 99 (meter,participant,date and 96 quarter-hours)\n  \
         line 10: 100 fields, expected 99 (meter,participant,date and 96 quarter-hours)\n  \
         line 11, field `date`: `2023-06-01` is outside the month 2023-05\n  \
         line 12, field `date`: `2023-05-32` is not a date of the form 2023-05-01\n  \
         line 13, field `date`: `2023-05-01T00:00` is not a date of the form 2023-05-01\n  \
         line 14, field `date`: meter `M1` already has readings for 2023-05-01\n  \
         line 15, field `participant`: meter `M1` belongs to `U1` (line 2), not `U2`\n  \
         line 16, field `meter`: is empty\n  \
         line 17, field `participant`: `\"U2\"` is not a plain name (UTF-8, no quotes)\n  \
         line 19: 4 fields, expected 99 (meter,participant,date and 96 quarter-hours)\n  \
         line 20, field `23:45`: ` 1` is not a whole number of kWh"
    );
}

#[test]
fn the_list_of_bad_day_rows_is_capped_but_counted() {
    let mut file = format!("{DAY_ROWS_HEADER}\n");
    for _ in 0..250 {
        file.push_str(&flat_row("M1", "U1", "2023-05-01", -1));
    }
    let e = errors(&file);
    assert_eq!(e.bad_rows, 250);
    assert_eq!(e.rows.len(), 100);
    assert_eq!(e.rows[99].line, 101);
    assert!(e.to_string().ends_with("\n  ... and 150 more"));
}

#[test]
fn hostile_files_of_day_rows() {
    let header = format!("{DAY_ROWS_HEADER}\n");
    // An empty file has no header; a header alone is an empty month.
    assert_eq!(
        errors("").rows,
        [RowError {
            line: 1,
            problem: RowProblem::Header(String::new())
        }]
    );
    let windows_header = format!("\u{feff}{DAY_ROWS_HEADER}\r\n");
    for file in [header.as_str(), DAY_ROWS_HEADER, windows_header.as_str()] {
        let data = parse_meters(file.as_bytes(), may()).unwrap();
        assert!(data.meters().is_empty(), "{file:?}");
    }
    // A header with 95 or 97 quarter-hours, or one of them misnamed, is no header.
    let short = DAY_ROWS_HEADER.strip_suffix(",23:45").unwrap();
    for bad in [
        short.to_owned(),
        format!("{DAY_ROWS_HEADER},24:00"),
        DAY_ROWS_HEADER.replace("10:30", "10:31"),
        DAY_ROWS_HEADER.replace("date", "day"),
    ] {
        let e = errors(&format!("{bad}\n{}", flat_row("M1", "U1", "2023-05-01", 0)));
        assert_eq!(e.rows[0].problem, RowProblem::Header(bad.clone()));
        assert_eq!(e.bad_rows, 1);
    }
    // February 2023 has no 29th.
    let feb = YearMonth::parse("2023-02").unwrap();
    let e = parse_meters(
        format!("{header}{}", flat_row("M1", "U1", "2023-02-29", 0)).as_bytes(),
        feb,
    )
    .unwrap_err();
    assert_eq!(
        e.rows[0].problem,
        RowProblem::MalformedDate("2023-02-29".into())
    );
    // A row cut off at the end of the file, without its newline.
    let whole = day_rows_of(&three_meters());
    let cut = &whole[..whole.len() - 20];
    let e = errors(cut);
    assert_eq!(e.bad_rows, 1);
    assert_eq!(e.rows[0].line, 1 + 93);
    assert!(matches!(e.rows[0].problem, RowProblem::DayColumnCount(n) if n < 99));
    // The last row without its newline, CRLF line ends and a byte-order mark are all fine.
    let expected = parse_meters(whole.as_bytes(), may()).unwrap();
    let windows = format!("\u{feff}{}", whole.replace('\n', "\r\n"));
    for file in [whole.trim_end(), &windows, windows.trim_end()] {
        assert_eq!(parse_meters(file.as_bytes(), may()).unwrap(), expected);
    }
    // Interval rows under a day-row header, and day rows under an interval header.
    let intervals = three_meters();
    let mixed = format!("{header}{}", intervals.lines().nth(1).unwrap());
    assert_eq!(
        errors(&mixed).rows[0].problem,
        RowProblem::DayColumnCount(4)
    );
    let mixed = format!(
        "meter,participant,start,kwh\n{}",
        whole.lines().nth(1).unwrap()
    );
    assert_eq!(errors(&mixed).rows[0].problem, RowProblem::ColumnCount(99));
}

#[test]
fn day_rows_sorted_by_date_give_the_same_data() {
    let file = day_rows_of(&three_meters());
    let mut rows: Vec<&str> = file.lines().skip(1).collect();
    rows.sort_by_key(|r| {
        let f: Vec<&str> = r.splitn(4, ',').collect();
        (f[2].to_owned(), f[0].to_owned())
    });
    let by_date = format!("{DAY_ROWS_HEADER}\n{}\n", rows.join("\n"));
    assert_eq!(
        parse_meters(by_date.as_bytes(), may()).unwrap(),
        parse_meters(file.as_bytes(), may()).unwrap()
    );
}

#[test]
fn any_cut_and_any_number_of_threads_give_the_same_result() {
    let file = day_rows_of(&three_meters());
    let whole = parse_meters_with(file.as_bytes(), may(), 1).unwrap();
    for threads in [2, 3, 7, 64, 200] {
        assert_eq!(
            parse_meters_with(file.as_bytes(), may(), threads).unwrap(),
            whole,
            "{threads} threads"
        );
    }
    for piece in [1, 7, 33, 599, 4096] {
        let mut parser = MeterParser::new(may());
        for chunk in file.as_bytes().chunks(piece) {
            parser.push(chunk);
        }
        assert_eq!(parser.finish().unwrap(), whole, "pieces of {piece}");
    }
    // Every cut into two parts, around the header and the first rows.
    for at in (0..1500).step_by(7) {
        let (a, b) = file.as_bytes().split_at(at);
        let mut first = MeterParser::new(may());
        first.push(a);
        let mut second = MeterParser::continuation(may());
        second.push(b);
        if let Some(result) = merge_parts(vec![first, second]) {
            assert_eq!(result.unwrap(), whole, "cut at {at}");
        } else {
            assert!(
                at <= DAY_ROWS_HEADER.len(),
                "a good file cut at {at} fell back"
            );
        }
    }
}

#[test]
fn bad_day_rows_across_a_cut_are_reported_as_by_one_pass() {
    let mut file = day_rows_of(&three_meters());
    file.push_str(&flat_row("GM1", "G1", "2023-05-01", 1));
    file.push_str(&flat_row("UM1", "U9", "2023-05-01", 1));
    let one: MeterErrors = parse_meters_with(file.as_bytes(), may(), 1).unwrap_err();
    let lines: Vec<u64> = one.rows.iter().map(|r| r.line).collect();
    assert_eq!(lines, [95, 96]); // header + 3 × 31 rows, then the two bad ones
    assert!(matches!(
        one.rows[0].problem,
        RowProblem::DuplicateDay { .. }
    ));
    assert!(matches!(
        one.rows[1].problem,
        RowProblem::ParticipantConflict { first_line: 33, .. }
    ));
    for threads in [2, 3, 5] {
        assert_eq!(
            parse_meters_with(file.as_bytes(), may(), threads).unwrap_err(),
            one
        );
    }
    // A day-row file's second part has no header: a part that reads interval rows, or day rows
    // under an interval header, disagrees with the first part and falls back.
    let intervals = three_meters();
    let (a, b) = file.as_bytes().split_at(file.len() / 2);
    let (c, d) = intervals.as_bytes().split_at(intervals.len() / 2);
    for (first_bytes, second_bytes) in [(a, d), (c, b)] {
        let mut first = MeterParser::new(may());
        first.push(first_bytes);
        let mut second = MeterParser::continuation(may());
        second.push(second_bytes);
        assert!(merge_parts(vec![first, second]).is_none());
    }
}

/// The next of a xorshift64 sequence (`state` never 0).
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// One meter's readings of February 2023 in one of several shapes, from a seed.
fn readings(seed: u64, shape: u8) -> Vec<i64> {
    let month = YearMonth::parse("2023-02").unwrap();
    let mut state = seed | 1;
    (0..month.intervals())
        .map(|i| {
            let state = xorshift(&mut state);
            match shape {
                0 => 0,
                1 => [0, MAX_INTERVAL_KWH][(state % 2) as usize],
                2 if (24..76).contains(&(i % 96)) => (state % 61) as i64, // PV
                2 => 0,
                _ => (state % (MAX_INTERVAL_KWH as u64 + 1)) as i64,
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Written as day rows or as interval rows, in any order of rows, a month parses to the same
    /// data on any number of threads, and that data holds the readings written.
    #[test]
    fn day_rows_round_trip(
        meters in proptest::collection::vec((any::<u64>(), 0u8..4, 0usize..3), 1..4),
        shuffle in any::<u64>(),
        threads in 1usize..5,
    ) {
        let month = YearMonth::parse("2023-02").unwrap();
        let mut intervals = String::from("meter,participant,start,kwh\n");
        let mut days = format!("{DAY_ROWS_HEADER}\n").into_bytes();
        let mut expected = Vec::new();
        for (i, &(seed, shape, participant)) in meters.iter().enumerate() {
            let (meter, participant) = (format!("M{i}"), format!("U{participant}"));
            let values = readings(seed, shape);
            for (k, v) in values.iter().enumerate() {
                let start = month.interval_start(k);
                intervals.push_str(&format!("{meter},{participant},{start},{v}\n"));
            }
            write_day_rows(&mut days, &meter, &participant, month, &values);
            expected.push((meter, values));
        }
        let text = String::from_utf8(days).unwrap();
        let mut rows: Vec<&str> = text.lines().skip(1).collect();
        let mut state = shuffle | 1;
        for i in (1..rows.len()).rev() {
            rows.swap(i, (xorshift(&mut state) % (i as u64 + 1)) as usize);
        }
        let shuffled = format!("{DAY_ROWS_HEADER}\n{}\n", rows.join("\n"));
        let data: MeterData = parse_meters(intervals.as_bytes(), month).unwrap();
        prop_assert_eq!(&parse_meters_with(text.as_bytes(), month, threads).unwrap(), &data);
        prop_assert_eq!(&parse_meters_with(shuffled.as_bytes(), month, threads).unwrap(), &data);
        for (meter, values) in expected {
            prop_assert_eq!(data.meter(&meter).unwrap().intervals(), &values[..]);
        }
    }
}
