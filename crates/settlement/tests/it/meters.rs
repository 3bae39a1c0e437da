//! Meter file validation: every reason a row is refused, with its exact line; completeness;
//! leap years; and that the result does not depend on row order or on how the file is cut.

use settlement::{
    Incomplete, MeterData, MeterErrors, MeterParser, RowError, RowProblem, YearMonth, merge_parts,
    parse_meters, parse_meters_with,
};

use crate::{may, meter_file, meter_rows};

fn errors(file: &str) -> MeterErrors {
    parse_meters(file.as_bytes(), may()).expect_err("the file is bad")
}

#[test]
fn a_complete_month_gives_totals_and_intervals() {
    let file = meter_file(
        may(),
        &[
            ("GM1", "G1", 100_000),
            ("UM1", "U1", 30_000),
            ("UM1b", "U1", 20_000),
        ],
    );
    let data = parse_meters(file.as_bytes(), may()).unwrap();
    assert_eq!(data.month(), may());
    // Meters sorted by name, participants by name.
    let names: Vec<&str> = data.meters().iter().map(|m| m.name()).collect();
    assert_eq!(names, ["GM1", "UM1", "UM1b"]);
    let parts: Vec<(&str, i64)> = data
        .participants()
        .iter()
        .map(|p| (p.name(), p.total().0))
        .collect();
    assert_eq!(parts, [("G1", 100_000), ("U1", 50_000)]);
    assert_eq!(data.participant_total("U1").0, 50_000);
    assert_eq!(data.participant_total("nobody").0, 0);
    // 100,000 kWh over 2,976 intervals: 33 each, and the first 100,000 - 2,976 × 33 = 1,792
    // intervals get 34.
    let gm1 = data.meter("GM1").unwrap();
    assert_eq!(gm1.intervals().len(), 2976);
    assert_eq!(
        (
            gm1.intervals()[0],
            gm1.intervals()[1791],
            gm1.intervals()[1792]
        ),
        (34, 34, 33)
    );
    assert_eq!(gm1.total().0, 100_000);
    assert_eq!(data.participants()[gm1.participant()].name(), "G1");
    // U1's profile sums its two meters per interval: 30,000 → 10 each +240 extra (first 240
    // intervals 11); 20,000 → 6 each +2,144 extra (first 2,144 intervals 7).
    let u1 = data.participant_intervals("U1").unwrap();
    assert_eq!(
        (u1[0], u1[239], u1[240], u1[2143], u1[2144]),
        (18, 18, 17, 17, 16)
    );
    assert_eq!(u1.iter().sum::<i64>(), 50_000);
    assert_eq!(data.participant_intervals("nobody"), None);
}

#[test]
fn every_reason_for_a_bad_row_is_reported_with_its_line() {
    let file = "meter,participant,start,kwh\n\
                M1,U1,2023-05-01T00:00,10\n\
                M1,U1,2023-05-01T00:15\n\
                M1,U1,2023-05-01T00:30,1.5\n\
                M1,U1,2023-05-01T00:45,-3\n\
                M1,U1,2023-05-01T01:07,4\n\
                M1,U1,2023-05-01 01:15,4\n\
                M1,U1,2023-06-01T00:00,4\n\
                M1,U1,2023-05-01T00:00,11\n\
                M1,U2,2023-05-01T01:00,4\n\
                ,U1,2023-05-01T01:00,4\n\
                \n\
                M2,U2,2023-05-01T00:00,1000000001\n\
                M3,\"U3\",2023-05-01T00:00,1\n\
                M3,,2023-05-01T00:00,1\n\
                M4,U4,2023-05-01T00:00,1,2\n";
    let e = errors(file);
    let expected = vec![
        (3, RowProblem::ColumnCount(3)),
        (4, RowProblem::Kwh("1.5".into())),
        (5, RowProblem::Negative("-3".into())),
        (6, RowProblem::NotQuarterHour("2023-05-01T01:07".into())),
        (7, RowProblem::MalformedStart("2023-05-01 01:15".into())),
        (
            8,
            RowProblem::OutsideMonth("2023-06-01T00:00".into(), may()),
        ),
        (
            9,
            RowProblem::Duplicate {
                meter: "M1".into(),
                start: "2023-05-01T00:00".into(),
            },
        ),
        (
            10,
            RowProblem::ParticipantConflict {
                meter: "M1".into(),
                participant: "U2".into(),
                first: "U1".into(),
                first_line: 2,
            },
        ),
        (11, RowProblem::Empty("meter")),
        // line 12 is empty: skipped, but counted
        (13, RowProblem::TooLarge("1000000001".into())),
        (14, RowProblem::BadName("participant", "\"U3\"".into())),
        (15, RowProblem::Empty("participant")),
        (16, RowProblem::ColumnCount(5)),
    ];
    let expected: Vec<RowError> = expected
        .into_iter()
        .map(|(line, problem)| RowError { line, problem })
        .collect();
    assert_eq!(e.rows, expected);
    assert_eq!(e.bad_rows, 13);
    // Completeness is judged only once the rows are good.
    assert!(e.incomplete.is_empty());
    assert_eq!(
        e.to_string(),
        "13 bad rows, nothing imported\n  \
         line 3: 3 fields, expected 4 (meter,participant,start,kwh)\n  \
         line 4, field `kwh`: `1.5` is not a whole number of kWh\n  \
         line 5, field `kwh`: `-3` is negative\n  \
         line 6, field `start`: `2023-05-01T01:07` is not the start of a 15-minute interval \
         (minute 00, 15, 30 or 45)\n  \
         line 7, field `start`: `2023-05-01 01:15` is not a local time of the form \
         2023-05-01T00:15\n  \
         line 8, field `start`: `2023-06-01T00:00` is outside the month 2023-05\n  \
         line 9, field `start`: meter `M1` already has a reading for 2023-05-01T00:00\n  \
         line 10, field `participant`: meter `M1` belongs to `U1` (line 2), not `U2`\n  \
         line 11, field `meter`: is empty\n  \
         line 13, field `kwh`: `1000000001` kWh in 15 minutes is beyond the bound of 1000000000 kWh\n  \
         line 14, field `participant`: `\"U3\"` is not a plain name (UTF-8, no quotes)\n  \
         line 15, field `participant`: is empty\n  \
         line 16: 5 fields, expected 4 (meter,participant,start,kwh)"
    );
}

#[test]
fn the_header_is_required() {
    for (file, found) in [
        ("M1,U1,2023-05-01T00:00,10\n", "M1,U1,2023-05-01T00:00,10"),
        ("", ""),
        ("meter,participant,start\n", "meter,participant,start"),
    ] {
        let e = errors(file);
        assert_eq!(
            e.rows,
            vec![RowError {
                line: 1,
                problem: RowProblem::Header(found.into())
            }]
        );
        assert_eq!(e.bad_rows, 1);
    }
    // A header alone is an empty month: no meters.
    let data = parse_meters(b"meter,participant,start,kwh", may()).unwrap();
    assert!(data.meters().is_empty());
}

#[test]
fn the_list_of_bad_rows_is_capped_but_counted() {
    let mut file = String::from("meter,participant,start,kwh\n");
    for _ in 0..250 {
        file.push_str("M1,U1,2023-05-01T00:00,x\n");
    }
    let e = errors(&file);
    assert_eq!(e.bad_rows, 250);
    assert_eq!(e.rows.len(), 100);
    assert_eq!(e.rows[99].line, 101);
    assert!(e.to_string().ends_with("\n  ... and 150 more"));
}

#[test]
fn an_incomplete_month_names_the_meters_and_their_first_gap() {
    let month = may();
    let full = meter_rows(month, "M2", "U2", 2976);
    // M1 lacks 2023-05-01T00:15 and 2023-05-31T23:45; M3 has only its first interval.
    let m1: String = meter_rows(month, "M1", "U1", 2976)
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 1 && *i != 2975)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let file = format!("meter,participant,start,kwh\n{m1}{full}M3,U3,2023-05-01T00:00,0\n");
    let e = errors(&file);
    assert!(e.rows.is_empty());
    assert_eq!(
        e.incomplete,
        vec![
            Incomplete {
                meter: "M1".into(),
                missing: 2,
                first_missing: "2023-05-01T00:15".into()
            },
            Incomplete {
                meter: "M3".into(),
                missing: 2975,
                first_missing: "2023-05-01T00:15".into()
            },
        ]
    );
    assert_eq!(e.incomplete_meters, 2);
    assert_eq!(
        e.to_string(),
        "2 meters lack intervals of the month, nothing imported\n  \
         meter `M1`: 2 intervals missing, the first 2023-05-01T00:15\n  \
         meter `M3`: 2975 intervals missing, the first 2023-05-01T00:15"
    );
}

#[test]
fn february_of_a_leap_year_has_29_days() {
    let leap = YearMonth::parse("2024-02").unwrap();
    assert_eq!(leap.intervals(), 2784); // 29 × 96
    let file = crate::meter_file(leap, &[("M1", "U1", 5_000)]);
    assert!(file.contains("M1,U1,2024-02-29T23:45,"));
    let data = parse_meters(file.as_bytes(), leap).unwrap();
    assert_eq!(data.meter("M1").unwrap().intervals().len(), 2784);
    assert_eq!(data.participant_total("U1").0, 5_000);
    // The same file is not February 2023: 29 February does not exist then, so the 97th data
    // row (line 2 + 28 × 96 = 2,690) is malformed and so is every later one.
    let plain = YearMonth::parse("2023-02").unwrap();
    let e = parse_meters(file.replace("2024-", "2023-").as_bytes(), plain).unwrap_err();
    assert_eq!(e.bad_rows, 96);
    assert_eq!(
        e.rows[0],
        RowError {
            line: 2690,
            problem: RowProblem::MalformedStart("2023-02-29T00:00".into())
        }
    );
}

#[test]
fn crlf_line_ends_and_a_byte_order_mark_are_accepted() {
    let file = crate::meter_file(may(), &[("M1", "U1", 7_777)]);
    let windows = format!("\u{feff}{}", file.replace('\n', "\r\n"));
    let a = parse_meters(file.as_bytes(), may()).unwrap();
    let b = parse_meters(windows.as_bytes(), may()).unwrap();
    assert_eq!(a, b);
    // Without the final newline too.
    let c = parse_meters(file.trim_end().as_bytes(), may()).unwrap();
    assert_eq!(a, c);
}

fn two_meter_file() -> String {
    crate::meter_file(may(), &[("M1", "U1", 123_456), ("M2", "U2", 654_321)])
}

#[test]
fn rows_sorted_by_time_give_the_same_data() {
    let file = two_meter_file();
    let mut rows: Vec<&str> = file.lines().skip(1).collect();
    // Interval-major order: sort by start, then meter.
    rows.sort_by_key(|r| {
        let f: Vec<&str> = r.split(',').collect();
        (f[2].to_owned(), f[0].to_owned())
    });
    let by_time = format!("meter,participant,start,kwh\n{}\n", rows.join("\n"));
    assert_eq!(
        parse_meters(by_time.as_bytes(), may()).unwrap(),
        parse_meters(file.as_bytes(), may()).unwrap()
    );
}

#[test]
fn any_cut_and_any_number_of_threads_give_the_same_result() {
    let file = two_meter_file();
    let whole = parse_meters_with(file.as_bytes(), may(), 1).unwrap();
    for threads in [2, 3, 7, 64] {
        assert_eq!(
            parse_meters_with(file.as_bytes(), may(), threads).unwrap(),
            whole,
            "{threads} threads"
        );
    }
    // Fed in pieces of odd sizes (lines straddle pieces).
    for piece in [1, 7, 33, 4096] {
        let mut parser = MeterParser::new(may());
        for chunk in file.as_bytes().chunks(piece) {
            parser.push(chunk);
        }
        assert_eq!(parser.finish().unwrap(), whole, "pieces of {piece}");
    }
}

#[test]
fn bad_rows_across_a_cut_are_reported_as_by_one_pass() {
    // The same interval in both halves, and a meter with a second participant in the second.
    let mut file = two_meter_file();
    file.push_str("M1,U1,2023-05-01T00:00,1\nM2,U9,2023-05-01T00:15,1\n");
    let one: MeterErrors = parse_meters_with(file.as_bytes(), may(), 1).unwrap_err();
    let lines: Vec<u64> = one.rows.iter().map(|r| r.line).collect();
    assert_eq!(lines, [5954, 5955]); // header + 2 × 2,976 rows, then the two bad ones
    assert!(matches!(one.rows[0].problem, RowProblem::Duplicate { .. }));
    assert!(matches!(
        one.rows[1].problem,
        RowProblem::ParticipantConflict {
            first_line: 2978,
            ..
        }
    ));
    for threads in [2, 3, 5] {
        assert_eq!(
            parse_meters_with(file.as_bytes(), may(), threads).unwrap_err(),
            one
        );
    }
    // Parts that clash make merge_parts hand back to a sequential parse.
    let (a, b) = file.as_bytes().split_at(file.len() / 2);
    let mut first = MeterParser::new(may());
    first.push(a);
    let mut second = MeterParser::continuation(may());
    second.push(b);
    assert!(merge_parts(vec![first, second]).is_none());
}

#[test]
fn a_cut_inside_the_header_falls_back_to_one_pass() {
    let file = two_meter_file();
    let (a, b) = file.as_bytes().split_at(5);
    let mut first = MeterParser::new(may());
    first.push(a);
    let mut second = MeterParser::continuation(may());
    second.push(b);
    assert!(merge_parts(vec![first, second]).is_none());
    let whole: MeterData = parse_meters(file.as_bytes(), may()).unwrap();
    let mut first = MeterParser::new(may());
    first.push(&file.as_bytes()[..40]);
    let mut second = MeterParser::continuation(may());
    second.push(&file.as_bytes()[40..]);
    assert_eq!(merge_parts(vec![first, second]).unwrap().unwrap(), whole);
}
