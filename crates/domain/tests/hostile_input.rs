//! Hostile input for the domain's text parsers (issue 9, item 8): the decimal parsers of
//! quantities, prices and money, period labels, province codes, roles and filing codes.
//!
//! Each `check_*` function is one fuzz target's body (`fuzz/fuzz_targets/*.rs` include this file
//! by `#[path]`); the property tests below run the same checks on every `cargo test`. A check
//! says more than "does not panic": whatever is accepted is exactly what a reference reading of
//! the text says, and whatever is refused is refused with an error that quotes the text.

use domain::{
    Fen, Kwh, PeriodTemplate, Price, ProjectCode, Province, Role, TouTemplate, UnitError,
};

/// A reference reading of a decimal with at most `scale` decimals, sign ignored: `None` for
/// malformed or too precise text, `Some(i128::MAX)` for well-formed text too large for `i128`.
fn reference(text: &str, scale: usize) -> Option<i128> {
    let body = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > scale {
        return None;
    }
    if body.ends_with('.') {
        return None;
    }
    let padded = format!("{whole}{fraction:0<scale$}");
    let magnitude = padded
        .bytes()
        .try_fold(0i128, |v, b| {
            v.checked_mul(10)?.checked_add(i128::from(b - b'0'))
        })
        .unwrap_or(i128::MAX);
    Some(if text.starts_with('-') {
        -magnitude
    } else {
        magnitude
    })
}

/// Checks one decimal parser's answer for `text` against [`reference`]; `shown` is how an
/// accepted value is written back.
fn check_decimal(text: &str, scale: usize, signed: bool, parsed: Result<(i64, String), UnitError>) {
    let expected = reference(text, scale);
    match parsed {
        Ok((value, shown)) => {
            assert_eq!(
                expected,
                Some(i128::from(value)),
                "{text:?} read as {value}"
            );
            assert!(signed || value >= 0, "{text:?}: negative {value} accepted");
            assert_eq!(
                reference(&shown, scale),
                Some(i128::from(value)),
                "{value} written as {shown:?}, which does not read back"
            );
            assert!(
                shown.split_once('.').is_some_and(|(_, f)| f.len() == scale),
                "{shown:?} is not written with {scale} decimals"
            );
        }
        Err(e) => {
            let malformed = matches!(
                e,
                UnitError::Empty | UnitError::NotDecimal(_) | UnitError::TooPrecise { .. }
            );
            // Malformed text is refused as malformed, and well-formed text only for its sign
            // or its size.
            assert_eq!(malformed, expected.is_none(), "{text:?} refused with {e:?}");
            if text.is_empty() {
                assert_eq!(e, UnitError::Empty);
            } else {
                assert!(e.to_string().contains(text), "{e} does not quote {text:?}");
            }
        }
    }
}

/// The decimal parsers: `Kwh::parse_mwh` (3 decimals, not negative), `Price::parse_yuan_per_mwh`
/// and `Fen::parse_yuan` (2 decimals, signed).
pub fn check_decimals(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    let kwh = Kwh::parse_mwh(text).map(|k| (k.0, k.mwh().to_string()));
    check_decimal(text, 3, false, kwh);
    let price = Price::parse_yuan_per_mwh(text).map(|p| (p.0, p.to_string()));
    check_decimal(text, 2, true, price);
    let fen = Fen::parse_yuan(text).map(|f| (f.0, f.to_string()));
    check_decimal(text, 2, true, fen);
}

/// Period labels under each kind of template: an accepted label is the label of the period it
/// names; a refused one is an unknown period that quotes it.
pub fn check_period_labels(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    for template in [
        PeriodTemplate::Hours,
        PeriodTemplate::QuarterHours,
        PeriodTemplate::TimeOfUse(TouTemplate::example_three_band()),
    ] {
        match template.parse(text) {
            Ok(period) => {
                assert!(template.contains(period), "{text:?} gave {period:?}");
                assert_eq!(template.label(period).to_string(), text);
            }
            Err(e) => assert!(e.to_string().contains(text), "{e} does not quote {text:?}"),
        }
    }
}

/// Province codes, roles and project filing codes: accepted text is kept as given (so it writes
/// back unchanged); refused text is named with its field.
pub fn check_names(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    match Province::parse(text) {
        Ok(p) => {
            assert_eq!(p.as_str(), text);
            assert!((2..=8).contains(&text.len()));
        }
        Err(e) => assert!(e.to_string().starts_with("province: "), "{e}"),
    }
    match text.parse::<Role>() {
        Ok(r) => assert_eq!(r.as_str(), text),
        Err(e) => assert!(e.to_string().starts_with("role: "), "{e}"),
    }
    match ProjectCode::parse(text) {
        Ok(c) => {
            assert_eq!(c.as_str(), text);
            assert_eq!(text.len(), 17);
        }
        Err(e) => assert!(e.to_string().starts_with("filing_code: "), "{e}"),
    }
}

fn seeds(texts: &[&str]) -> Vec<Vec<u8>> {
    texts.iter().map(|t| t.as_bytes().to_vec()).collect()
}

/// Valid decimals to mutate, at and near the `i64` bounds of each scale.
pub fn decimal_seeds() -> Vec<Vec<u8>> {
    seeds(&[
        "1250.125",
        "420.50",
        "-3.5",
        "0",
        "0.001",
        "9223372036854775.807",
        "92233720368547758.07",
        "-92233720368547758.08",
        "00.5",
    ])
}

/// Valid period labels to mutate.
pub fn label_seeds() -> Vec<Vec<u8>> {
    seeds(&["h01", "h24", "q01", "q96", "peak", "flat", "valley"])
}

/// Valid province codes, roles and filing codes to mutate.
pub fn name_seeds() -> Vec<Vec<u8>> {
    seeds(&[
        "ZJ",
        "QHAIXYZW",
        "generator",
        "retail_user",
        "33010012345678901",
    ])
}

#[cfg(test)]
#[path = "support/hostile_bytes.rs"]
mod hostile_bytes;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hostile_bytes::hostile;
    use proptest::prelude::*;

    #[test]
    fn the_reference_reading_is_the_documented_syntax() {
        // The oracle itself, on the cases the parsers' docs name.
        assert_eq!(reference("12", 3), Some(12_000));
        assert_eq!(reference("12.5", 3), Some(12_500));
        assert_eq!(reference("-3.5", 2), Some(-350));
        for bad in [
            "", ".", "-", ".5", "5.", "1e3", "+1", " 1", "1.2345", "1.2.3",
        ] {
            assert_eq!(reference(bad, 3), None, "{bad:?}");
        }
        assert_eq!(reference(&"9".repeat(60), 3), Some(i128::MAX));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn decimal_parsers_are_exact_and_never_panic_on_arbitrary_bytes(
            data in hostile(decimal_seeds(), 32)
        ) {
            check_decimals(&data);
        }

        #[test]
        fn period_labels_never_panic_on_arbitrary_bytes(
            data in hostile(label_seeds(), 8)
        ) {
            check_period_labels(&data);
        }

        #[test]
        fn province_role_and_filing_code_parsers_never_panic_on_arbitrary_bytes(
            data in hostile(name_seeds(), 24)
        ) {
            check_names(&data);
        }
    }
}
