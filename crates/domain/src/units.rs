//! Exact units: energy in kWh, prices in fen/MWh, money in fen.
//!
//! Files and APIs speak decimal strings — MWh with up to 3 decimals, yuan/MWh with up to 2, yuan
//! with up to 2 — and this module is the only place that converts between those strings and the
//! integers the engine computes with. Nothing here ever touches a float.

use std::fmt;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

use serde::{Deserialize, Serialize};

/// Why a decimal string is not a valid quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("is empty")]
    Empty,
    #[error("`{0}` is not a decimal number")]
    NotDecimal(String),
    #[error("`{value}` has more than {max} decimals")]
    TooPrecise { value: String, max: u32 },
    #[error("`{0}` is negative")]
    Negative(String),
    #[error("`{0}` is out of range")]
    OutOfRange(String),
}

/// Parses a decimal string into an integer count of `10^-scale` units.
///
/// Accepts an optional leading `-` (when `signed`), digits, and an optional fraction of at most
/// `scale` digits: `"12"`, `"12.5"`, `"12.500"`. Rejects exponents, `+`, spaces, `"."` alone.
fn parse_scaled(text: &str, scale: u32, signed: bool) -> Result<i64, UnitError> {
    if text.is_empty() {
        return Err(UnitError::Empty);
    }
    let not_decimal = || UnitError::NotDecimal(text.to_owned());
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = match body.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (body, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) {
        return Err(not_decimal());
    }
    let fraction = fraction.unwrap_or("");
    if body.ends_with('.') || !all_digits(fraction) {
        return Err(not_decimal());
    }
    if fraction.len() > scale as usize {
        return Err(UnitError::TooPrecise {
            value: text.to_owned(),
            max: scale,
        });
    }
    let out_of_range = || UnitError::OutOfRange(text.to_owned());
    let mut value: i64 = 0;
    for b in whole.bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
            .ok_or_else(out_of_range)?;
    }
    for i in 0..scale as usize {
        let digit = fraction
            .as_bytes()
            .get(i)
            .map_or(0, |b| i64::from(b - b'0'));
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(digit))
            .ok_or_else(out_of_range)?;
    }
    if negative && value != 0 {
        if !signed {
            return Err(UnitError::Negative(text.to_owned()));
        }
        value = -value;
    }
    Ok(value)
}

/// Writes `value / 10^scale` with exactly `scale` decimals.
fn fmt_scaled(value: i64, scale: u32, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let unit = 10u64.pow(scale);
    let magnitude = value.unsigned_abs();
    let sign = if value < 0 { "-" } else { "" };
    if scale == 0 {
        return write!(f, "{sign}{magnitude}");
    }
    write!(
        f,
        "{sign}{}.{:0width$}",
        magnitude / unit,
        magnitude % unit,
        width = scale as usize
    )
}

/// `numerator / denominator`, rounded half away from zero (the spec's only rounding rule).
///
/// # Panics
/// If `denominator` is zero or the quotient does not fit an `i128`.
pub fn div_round_half_away(numerator: i128, denominator: i128) -> i128 {
    assert!(denominator != 0, "division by zero");
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    // |remainder| * 2 >= |denominator| means the fraction is at least one half.
    if remainder.unsigned_abs() * 2 >= denominator.unsigned_abs() {
        if (numerator < 0) == (denominator < 0) {
            quotient + 1
        } else {
            quotient - 1
        }
    } else {
        quotient
    }
}

macro_rules! integer_unit {
    ($name:ident) => {
        impl Add for $name {
            type Output = Self;
            fn add(self, rhs: Self) -> Self {
                Self(self.0 + rhs.0)
            }
        }
        impl Sub for $name {
            type Output = Self;
            fn sub(self, rhs: Self) -> Self {
                Self(self.0 - rhs.0)
            }
        }
        impl AddAssign for $name {
            fn add_assign(&mut self, rhs: Self) {
                self.0 += rhs.0;
            }
        }
        impl SubAssign for $name {
            fn sub_assign(&mut self, rhs: Self) {
                self.0 -= rhs.0;
            }
        }
        impl Neg for $name {
            type Output = Self;
            fn neg(self) -> Self {
                Self(-self.0)
            }
        }
        impl std::iter::Sum for $name {
            fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
                Self(iter.map(|x| x.0).sum())
            }
        }
    };
}

/// Energy in whole kilowatt-hours. Shown as MWh with 3 decimals: `Kwh(1_250_125)` is `"1250.125"`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Kwh(pub i64);

integer_unit!(Kwh);

impl Kwh {
    /// No energy.
    pub const ZERO: Kwh = Kwh(0);

    /// Parses an energy given in MWh with at most 3 decimals. Energy as given by a user is never
    /// negative: `"-1.000"` is refused.
    pub fn parse_mwh(text: &str) -> Result<Kwh, UnitError> {
        parse_scaled(text, 3, false).map(Kwh)
    }

    /// Whole MWh from kWh, rounded down; the sub-MWh rest is `self.0 % 1000`.
    pub fn whole_mwh(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// Displays this energy as MWh with 3 decimals (`"6.500"`).
    pub fn mwh(self) -> MwhDisplay {
        MwhDisplay(self.0)
    }
}

/// Display adapter: kWh written as MWh with 3 decimals.
#[derive(Debug, Clone, Copy)]
pub struct MwhDisplay(i64);

impl fmt::Display for MwhDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_scaled(self.0, 3, f)
    }
}

impl fmt::Display for Kwh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} kWh", self.0)
    }
}

/// A price of energy in fen per MWh (1 fen/MWh = 0.01 yuan/MWh). Shown as yuan/MWh with 2
/// decimals: `Price(40_025)` is `"400.25"`. Prices may be negative where a market allows it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Price(pub i64);

integer_unit!(Price);

impl Price {
    /// A price of zero.
    pub const ZERO: Price = Price(0);

    /// Parses yuan/MWh with at most 2 decimals (`"420.50"`, `"-3.5"`).
    pub fn parse_yuan_per_mwh(text: &str) -> Result<Price, UnitError> {
        parse_scaled(text, 2, true).map(Price)
    }

    /// `(a + b) / 2` rounded half away from zero to 0.01 yuan/MWh (spec §1).
    pub fn midpoint(a: Price, b: Price) -> Price {
        Price(div_round_half_away(i128::from(a.0) + i128::from(b.0), 2) as i64)
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_scaled(self.0, 2, f)
    }
}

/// Money in fen (0.01 yuan). Shown as yuan with 2 decimals.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Fen(pub i64);

integer_unit!(Fen);

impl Fen {
    /// No money.
    pub const ZERO: Fen = Fen(0);

    /// Parses yuan with at most 2 decimals.
    pub fn parse_yuan(text: &str) -> Result<Fen, UnitError> {
        parse_scaled(text, 2, true).map(Fen)
    }

    /// The money of one line item: `energy × price`, computed exactly in `i128` (kWh × fen/MWh),
    /// divided by 1000 and rounded half away from zero to one fen (spec §1).
    ///
    /// # Panics
    /// If the amount does not fit an `i64` of fen (over 92 quadrillion yuan).
    pub fn of(energy: Kwh, price: Price) -> Fen {
        let exact = i128::from(energy.0) * i128::from(price.0);
        let fen = div_round_half_away(exact, 1000);
        Fen(i64::try_from(fen).expect("money overflows i64 fen"))
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_scaled(self.0, 2, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mwh_to_kwh() {
        assert_eq!(Kwh::parse_mwh("1250.125"), Ok(Kwh(1_250_125)));
        assert_eq!(Kwh::parse_mwh("10"), Ok(Kwh(10_000)));
        assert_eq!(Kwh::parse_mwh("6.5"), Ok(Kwh(6_500)));
        assert_eq!(Kwh::parse_mwh("0.001"), Ok(Kwh(1)));
        assert_eq!(Kwh::parse_mwh("-0"), Ok(Kwh(0)));
    }

    #[test]
    fn refuses_bad_energy() {
        assert_eq!(Kwh::parse_mwh(""), Err(UnitError::Empty));
        assert_eq!(
            Kwh::parse_mwh("1.0001"),
            Err(UnitError::TooPrecise {
                value: "1.0001".into(),
                max: 3
            })
        );
        assert_eq!(
            Kwh::parse_mwh("-1.000"),
            Err(UnitError::Negative("-1.000".into()))
        );
        for bad in ["1e3", "+1", " 1", "1.", ".5", "1,5", "abc", "1.2.3", "--1"] {
            assert_eq!(
                Kwh::parse_mwh(bad),
                Err(UnitError::NotDecimal(bad.into())),
                "{bad}"
            );
        }
        assert_eq!(
            Kwh::parse_mwh("99999999999999999.000"),
            Err(UnitError::OutOfRange("99999999999999999.000".into()))
        );
    }

    #[test]
    fn formats_exactly() {
        assert_eq!(Kwh(6_500).mwh().to_string(), "6.500");
        assert_eq!(Kwh(1).mwh().to_string(), "0.001");
        assert_eq!(Price(40_025).to_string(), "400.25");
        assert_eq!(Price(-5).to_string(), "-0.05");
        assert_eq!(Price(-105).to_string(), "-1.05");
        assert_eq!(Fen(60_000).to_string(), "600.00");
    }

    #[test]
    fn prices_parse_with_two_decimals() {
        assert_eq!(Price::parse_yuan_per_mwh("420.50"), Ok(Price(42_050)));
        assert_eq!(Price::parse_yuan_per_mwh("-3.5"), Ok(Price(-350)));
        assert!(matches!(
            Price::parse_yuan_per_mwh("420.505"),
            Err(UnitError::TooPrecise { max: 2, .. })
        ));
    }

    #[test]
    fn midpoint_rounds_half_away_from_zero() {
        assert_eq!(Price::midpoint(Price(42_050), Price(38_000)), Price(40_025));
        assert_eq!(Price::midpoint(Price(1), Price(2)), Price(2));
        assert_eq!(Price::midpoint(Price(-1), Price(-2)), Price(-2));
        assert_eq!(Price::midpoint(Price(-1), Price(2)), Price(1));
        assert_eq!(Price::midpoint(Price(1), Price(-2)), Price(-1));
    }

    #[test]
    fn money_rounds_once_per_line_item() {
        // 1 kWh at 0.05 yuan/MWh = 0.005 fen -> rounds to 0.
        assert_eq!(Fen::of(Kwh(1), Price(5)), Fen(0));
        // 1 kWh at 5.00 yuan/MWh = 0.5 fen -> 1 fen (half away from zero).
        assert_eq!(Fen::of(Kwh(1), Price(500)), Fen(1));
        assert_eq!(Fen::of(Kwh(1), Price(-500)), Fen(-1));
        // 12 MWh at 50.00 yuan/MWh = 600.00 yuan.
        assert_eq!(Fen::of(Kwh(12_000), Price(5_000)), Fen(60_000));
        // 1250.125 MWh at 420.37 yuan/MWh = 525515.04... yuan
        assert_eq!(Fen::of(Kwh(1_250_125), Price(42_037)), Fen(52_551_505));
    }

    proptest::proptest! {
        #[test]
        fn energy_round_trips(kwh in 0i64..1_000_000_000_000) {
            let text = Kwh(kwh).mwh().to_string();
            proptest::prop_assert_eq!(Kwh::parse_mwh(&text), Ok(Kwh(kwh)));
        }

        #[test]
        fn price_round_trips(fen in -1_000_000_000i64..1_000_000_000) {
            let text = Price(fen).to_string();
            proptest::prop_assert_eq!(Price::parse_yuan_per_mwh(&text), Ok(Price(fen)));
        }

        #[test]
        fn rounding_matches_definition(n in -1_000_000i128..1_000_000, d in 1i128..1000) {
            let r = div_round_half_away(n, d);
            // |n/d - r| <= 1/2, and ties go away from zero.
            let diff2 = (n * 2 - r * 2 * d).abs();
            proptest::prop_assert!(diff2 <= d);
            if diff2 == d {
                proptest::prop_assert!(r.abs() * d >= n.abs());
            }
        }
    }
}
