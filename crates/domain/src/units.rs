//! Exact units: energy in kWh, prices in fen/MWh, money in fen.
//!
//! Files and APIs speak decimal strings — MWh with up to 3 decimals, yuan/MWh with up to 2, yuan
//! with up to 2 — and this module is the only place that converts between those strings and the
//! integers the engine computes with. Nothing here ever touches a float.
//!
//! # Bounds (spec §1)
//!
//! Every quantity a user gives is bounded here, at parse time, so that no caller has to check
//! and no sum or product the engines form can overflow:
//!
//! - a volume (of an order, a listing, a proposal, a contract period, a corridor's capacity in a
//!   period, a session's lot) is at most [`Kwh::MAX_VOLUME`] = 10^9 kWh (1,000,000 MWh);
//! - a price is within ±[`Price::MAX_ABS`] = 10^7 fen/MWh (±100,000.00 yuan/MWh), and a money
//!   amount given per certificate (1 MWh) within ±[`Fen::MAX_PRICE`], the same 10^7 fen;
//! - one 15-minute meter interval is at most [`Kwh::MAX_INTERVAL`] = 10^9 kWh.
//!
//! Why that is enough: a product of a volume and a price is at most 10^9 × 2·10^7 (a two-part
//! total) = 2·10^16 kWh·fen/MWh, far inside `i128` where it is formed, and its fen
//! (÷ 1000) inside `i64`. Sums are bounded where they grow, by the crates that form them: a
//! session caps how many orders, listings and proposals it takes
//! (`exchange::session::MAX_ORDERS`, …), so its per-period totals stay below 10^17 kWh
//! (`i64::MAX` ≈ 9.2·10^18), and totals over unbounded numbers of sessions or months are
//! formed in `i128`.

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
    /// Beyond the bound the spec sets for this kind of quantity (§1); `bound` is written in the
    /// user's unit, e.g. `1000000 MWh`.
    #[error("`{value}` is beyond the bound of {bound}")]
    TooLarge { value: String, bound: &'static str },
}

/// The largest magnitude a parsed quantity may have, in `10^-scale` units, and how to name it.
#[derive(Clone, Copy)]
struct Bound {
    max: i64,
    name: &'static str,
}

/// Parses a decimal string into an integer count of `10^-scale` units, at most `bound.max` in
/// magnitude.
///
/// Accepts an optional leading `-` (when `signed`), digits, and an optional fraction of at most
/// `scale` digits: `"12"`, `"12.5"`, `"12.500"`. Rejects exponents, `+`, spaces, `"."` alone.
/// A value beyond the bound, however many digits it has, is [`UnitError::TooLarge`].
fn parse_scaled(text: &str, scale: u32, signed: bool, bound: Bound) -> Result<i64, UnitError> {
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
    let too_large = || UnitError::TooLarge {
        value: text.to_owned(),
        bound: bound.name,
    };
    if negative
        && !signed
        && (whole.bytes().any(|b| b != b'0') || fraction.bytes().any(|b| b != b'0'))
    {
        return Err(UnitError::Negative(text.to_owned()));
    }
    let mut value: i64 = 0;
    for b in whole.bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
            .filter(|v| *v <= bound.max)
            .ok_or_else(too_large)?;
    }
    for i in 0..scale as usize {
        let digit = fraction
            .as_bytes()
            .get(i)
            .map_or(0, |b| i64::from(b - b'0'));
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(digit))
            .filter(|v| *v <= bound.max)
            .ok_or_else(too_large)?;
    }
    if negative {
        // `value <= bound.max < i64::MAX`, so the negation cannot overflow.
        value = -value;
    }
    Ok(value)
}

/// Writes `value / 10^scale` with exactly `scale` decimals.
fn fmt_scaled(value: impl Into<i128>, scale: u32, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let value: i128 = value.into();
    let unit = 10u128.pow(scale);
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

    /// The most energy of one order, listing, proposal or contract in one period, of a
    /// corridor's capacity in one period, and of a session's lot: 1,000,000 MWh (spec §1).
    pub const MAX_VOLUME: Kwh = Kwh(1_000_000_000);

    /// The most energy of one 15-minute meter interval: 10^9 kWh (spec §1).
    pub const MAX_INTERVAL: Kwh = Kwh(1_000_000_000);

    /// The most energy of one contract in one month, as settlement files state it: a contract
    /// has at most 96 periods of at most [`Kwh::MAX_VOLUME`] each, and a month's share is at
    /// most the whole, so 96,000,000 MWh.
    pub const MAX_CONTRACT_MONTH: Kwh = Kwh(96 * Kwh::MAX_VOLUME.0);

    /// [`Kwh::MAX_CONTRACT_MONTH`] as users write it.
    pub const MAX_CONTRACT_MONTH_TEXT: &'static str = "96000000 MWh";

    /// [`Kwh::MAX_VOLUME`] as users write it.
    pub const MAX_VOLUME_TEXT: &'static str = "1000000 MWh";

    /// [`Kwh::MAX_INTERVAL`] as users write it.
    pub const MAX_INTERVAL_TEXT: &'static str = "1000000000 kWh";

    /// Parses an energy given in MWh with at most 3 decimals, at most [`Kwh::MAX_VOLUME`].
    /// Energy as given by a user is never negative: `"-1.000"` is refused.
    pub fn parse_mwh(text: &str) -> Result<Kwh, UnitError> {
        let bound = Bound {
            max: Kwh::MAX_VOLUME.0,
            name: Kwh::MAX_VOLUME_TEXT,
        };
        parse_scaled(text, 3, false, bound).map(Kwh)
    }

    /// Parses a contract's volume of one month in MWh (at most 3 decimals, not negative), at
    /// most [`Kwh::MAX_CONTRACT_MONTH`].
    pub fn parse_contract_month_mwh(text: &str) -> Result<Kwh, UnitError> {
        let bound = Bound {
            max: Kwh::MAX_CONTRACT_MONTH.0,
            name: Kwh::MAX_CONTRACT_MONTH_TEXT,
        };
        parse_scaled(text, 3, false, bound).map(Kwh)
    }

    /// Whether `kwh` is a valid reading of one 15-minute meter interval: not negative and at
    /// most [`Kwh::MAX_INTERVAL`]; the error names the value and the bound. (Meter files are
    /// parsed from bytes by `settlement`, which applies this rule.)
    pub fn check_interval(kwh: i64) -> Result<Kwh, UnitError> {
        if kwh < 0 {
            return Err(UnitError::Negative(kwh.to_string()));
        }
        if kwh > Kwh::MAX_INTERVAL.0 {
            return Err(UnitError::TooLarge {
                value: kwh.to_string(),
                bound: Kwh::MAX_INTERVAL_TEXT,
            });
        }
        Ok(Kwh(kwh))
    }

    /// Whole MWh from kWh, rounded down; the sub-MWh rest is `self.0 % 1000`.
    pub fn whole_mwh(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// Displays this energy as MWh with 3 decimals (`"6.500"`).
    pub fn mwh(self) -> MwhDisplay {
        MwhDisplay(i128::from(self.0))
    }

    /// Displays a total of kWh formed in `i128` (sums over many sessions or months, which no
    /// bound keeps inside `i64`) as MWh with 3 decimals.
    pub fn total_mwh(kwh: i128) -> MwhDisplay {
        MwhDisplay(kwh)
    }
}

/// Display adapter: kWh written as MWh with 3 decimals.
#[derive(Debug, Clone, Copy)]
pub struct MwhDisplay(i128);

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

    /// The largest magnitude of a price a user gives: 100,000.00 yuan/MWh (spec §1), so every
    /// price is within `-MAX_ABS..=MAX_ABS` and a two-part total within twice that.
    pub const MAX_ABS: Price = Price(10_000_000);

    /// [`Price::MAX_ABS`] as users write it.
    pub const MAX_ABS_TEXT: &'static str = "±100000.00 yuan/MWh";

    /// Parses yuan/MWh with at most 2 decimals (`"420.50"`, `"-3.5"`), within ±[`Price::MAX_ABS`].
    pub fn parse_yuan_per_mwh(text: &str) -> Result<Price, UnitError> {
        let bound = Bound {
            max: Price::MAX_ABS.0,
            name: Price::MAX_ABS_TEXT,
        };
        parse_scaled(text, 2, true, bound).map(Price)
    }

    /// Whether the price is within ±[`Price::MAX_ABS`].
    pub fn within_bounds(self) -> bool {
        self.0.unsigned_abs() <= Price::MAX_ABS.0.unsigned_abs()
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

    /// The largest magnitude of an amount a user gives (the price of one certificate, which is
    /// 1 MWh, so bounded like a price per MWh): 100,000.00 yuan.
    pub const MAX_PRICE: Fen = Fen(10_000_000);

    /// [`Fen::MAX_PRICE`] as users write it.
    pub const MAX_PRICE_TEXT: &'static str = "±100000.00 yuan";

    /// Parses yuan with at most 2 decimals, within ±[`Fen::MAX_PRICE`].
    pub fn parse_yuan(text: &str) -> Result<Fen, UnitError> {
        let bound = Bound {
            max: Fen::MAX_PRICE.0,
            name: Fen::MAX_PRICE_TEXT,
        };
        parse_scaled(text, 2, true, bound).map(Fen)
    }

    /// The money of one line item: `energy × price`, computed exactly in `i128` (kWh × fen/MWh),
    /// divided by 1000 and rounded half away from zero to one fen (spec §1).
    ///
    /// The product of two `i64`s always fits `i128`; the fen fit `i64` whenever
    /// `|energy| × |price| < 9.2·10^21`, e.g. any energy up to 10^14 kWh (100 million
    /// contract-period bounds) at any price up to 3·10^7 fen/MWh (a two-part total, or a
    /// contract's energy part, of bounded prices). Every caller stays inside that, and
    /// [`Fen::checked_of`] is there for one that cannot show it.
    ///
    /// # Panics
    /// If the amount does not fit an `i64` of fen (over 92 quadrillion yuan).
    pub fn of(energy: Kwh, price: Price) -> Fen {
        Fen::checked_of(energy, price).expect("money overflows i64 fen")
    }

    /// [`Fen::of`], or `None` if the amount does not fit an `i64` of fen.
    pub fn checked_of(energy: Kwh, price: Price) -> Option<Fen> {
        let exact = i128::from(energy.0) * i128::from(price.0);
        let fen = div_round_half_away(exact, 1000);
        i64::try_from(fen).ok().map(Fen)
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_scaled(self.0, 2, f)
    }
}

/// The share of a corridor's sent energy lost on the way (网损率), in 1/10000: `"0.035"` is 350.
///
/// Written as a decimal fraction from `0` to `0.9999` with at most 4 decimals, in session
/// settings, the corridor registry and order files alike; [`LossRate::parse`] is its one parser
/// and its `Display` the one canonical spelling (`"0.035"`, `"0"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LossRate(u16);

impl LossRate {
    /// Units in a whole: a loss is `ten_thousandths / DENOMINATOR` of the energy sent.
    pub const DENOMINATOR: i64 = 10_000;

    /// No loss.
    pub const ZERO: LossRate = LossRate(0);

    /// Parses a fraction `0` to `0.9999` with at most 4 decimals (`"0.035"`, `"0"`, `"0.0350"`).
    pub fn parse(text: &str) -> Result<LossRate, UnitError> {
        let bound = Bound {
            max: LossRate::DENOMINATOR - 1,
            name: "0.9999 (a loss is a fraction below 1)",
        };
        let value = parse_scaled(text, 4, false, bound)?;
        Ok(LossRate(
            u16::try_from(value).expect("0..=9999 by the bound"),
        ))
    }

    /// The loss of `units` ten-thousandths, if below a whole.
    pub fn from_ten_thousandths(units: i64) -> Option<LossRate> {
        (0..LossRate::DENOMINATOR)
            .contains(&units)
            .then_some(LossRate(units as u16))
    }

    /// The loss in ten-thousandths of the energy sent, `0..10000`.
    pub fn ten_thousandths(self) -> i64 {
        i64::from(self.0)
    }
}

impl fmt::Display for LossRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = format!("{:04}", self.0);
        match digits.trim_end_matches('0') {
            "" => f.write_str("0"),
            fraction => write!(f, "0.{fraction}"),
        }
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
            Err(UnitError::TooLarge {
                value: "99999999999999999.000".into(),
                bound: "1000000 MWh"
            })
        );
    }

    #[test]
    fn volumes_are_bounded_at_one_million_mwh() {
        assert_eq!(Kwh::parse_mwh("1000000"), Ok(Kwh(1_000_000_000)));
        assert_eq!(Kwh::parse_mwh("1000000.000"), Ok(Kwh::MAX_VOLUME));
        assert_eq!(Kwh::parse_mwh("0001000000.000"), Ok(Kwh::MAX_VOLUME));
        let one_kwh_more = Kwh::parse_mwh("1000000.001").unwrap_err();
        assert_eq!(
            one_kwh_more.to_string(),
            "`1000000.001` is beyond the bound of 1000000 MWh"
        );
        // The order: far beyond i64 once in kWh, refused with the bound, not wrapped.
        assert_eq!(
            Kwh::parse_mwh("9000000000000000").unwrap_err().to_string(),
            "`9000000000000000` is beyond the bound of 1000000 MWh"
        );
        assert_eq!(
            Kwh::parse_mwh("99999999999999999999999999")
                .unwrap_err()
                .to_string(),
            "`99999999999999999999999999` is beyond the bound of 1000000 MWh"
        );
        // Negative is named before size.
        assert_eq!(
            Kwh::parse_mwh("-9000000000000000"),
            Err(UnitError::Negative("-9000000000000000".into()))
        );
    }

    #[test]
    fn prices_are_bounded_at_one_hundred_thousand_yuan_either_way() {
        assert_eq!(
            Price::parse_yuan_per_mwh("100000.00"),
            Ok(Price(10_000_000))
        );
        assert_eq!(Price::parse_yuan_per_mwh("-100000"), Ok(Price(-10_000_000)));
        assert_eq!(
            Price::parse_yuan_per_mwh("100000.01")
                .unwrap_err()
                .to_string(),
            "`100000.01` is beyond the bound of ±100000.00 yuan/MWh"
        );
        assert_eq!(
            Price::parse_yuan_per_mwh("-100000.01")
                .unwrap_err()
                .to_string(),
            "`-100000.01` is beyond the bound of ±100000.00 yuan/MWh"
        );
        assert!(Price::MAX_ABS.within_bounds() && (-Price::MAX_ABS).within_bounds());
        assert!(!Price(10_000_001).within_bounds() && !Price(i64::MIN).within_bounds());
        assert_eq!(Fen::parse_yuan("-100000.00"), Ok(Fen(-10_000_000)));
        assert_eq!(
            Fen::parse_yuan("100000.01").unwrap_err().to_string(),
            "`100000.01` is beyond the bound of ±100000.00 yuan"
        );
    }

    #[test]
    fn contract_months_are_bounded_at_96_periods() {
        assert_eq!(
            Kwh::parse_contract_month_mwh("96000000.000"),
            Ok(Kwh(96_000_000_000))
        );
        assert_eq!(
            Kwh::parse_contract_month_mwh("96000000.001")
                .unwrap_err()
                .to_string(),
            "`96000000.001` is beyond the bound of 96000000 MWh"
        );
    }

    #[test]
    fn meter_intervals_are_bounded_at_a_billion_kwh() {
        assert_eq!(Kwh::check_interval(1_000_000_000), Ok(Kwh::MAX_INTERVAL));
        assert_eq!(
            Kwh::check_interval(1_000_000_001).unwrap_err().to_string(),
            "`1000000001` is beyond the bound of 1000000000 kWh"
        );
        assert_eq!(
            Kwh::check_interval(-1),
            Err(UnitError::Negative("-1".into()))
        );
    }

    #[test]
    fn money_of_the_largest_values_fits() {
        // 1,000,000 MWh at ±100,000.00 yuan/MWh: ±10^11 yuan.
        assert_eq!(
            Fen::of(Kwh::MAX_VOLUME, Price::MAX_ABS),
            Fen(10_000_000_000_000)
        );
        assert_eq!(
            Fen::of(Kwh::MAX_VOLUME, -Price::MAX_ABS),
            Fen(-10_000_000_000_000)
        );
        // A contract month of 96 full periods at three times the bound (a total's energy part).
        let kwh = Kwh(96 * Kwh::MAX_VOLUME.0);
        assert_eq!(
            Fen::of(kwh, Price(3 * Price::MAX_ABS.0)),
            Fen(2_880_000_000_000_000)
        );
        assert_eq!(Fen::checked_of(Kwh(i64::MAX), Price(i64::MAX)), None);
    }

    #[test]
    fn formats_exactly() {
        assert_eq!(Kwh(6_500).mwh().to_string(), "6.500");
        assert_eq!(Kwh(1).mwh().to_string(), "0.001");
        assert_eq!(Price(40_025).to_string(), "400.25");
        assert_eq!(Price(-5).to_string(), "-0.05");
        assert_eq!(Price(-105).to_string(), "-1.05");
        assert_eq!(Fen(60_000).to_string(), "600.00");
        assert_eq!(
            Kwh::total_mwh(i128::from(i64::MAX) * 4 + 3).to_string(),
            "36893488147419103.231"
        );
        assert_eq!(Kwh::total_mwh(-1).to_string(), "-0.001");
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
        fn energy_round_trips(kwh in 0i64..=1_000_000_000) {
            let text = Kwh(kwh).mwh().to_string();
            proptest::prop_assert_eq!(Kwh::parse_mwh(&text), Ok(Kwh(kwh)));
        }

        #[test]
        fn price_round_trips(fen in -10_000_000i64..=10_000_000) {
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

    #[test]
    fn a_loss_rate_has_one_spelling() {
        for (text, units, shown) in [
            ("0.035", 350, "0.035"),
            ("0", 0, "0"),
            ("0.0350", 350, "0.035"),
            ("0.9999", 9_999, "0.9999"),
            ("00.5", 5_000, "0.5"),
        ] {
            let loss = LossRate::parse(text).unwrap();
            assert_eq!(
                (loss.ten_thousandths(), loss.to_string().as_str()),
                (units, shown),
                "{text}"
            );
        }
        for bad in [
            "", ".5", "0.", "1", "1.0", "0.00001", "-0.1", "0,5", "+0.1", "0.1e1",
        ] {
            assert!(LossRate::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            LossRate::parse("1").unwrap_err().to_string(),
            "`1` is beyond the bound of 0.9999 (a loss is a fraction below 1)"
        );
        assert_eq!(LossRate::from_ten_thousandths(10_000), None);
    }
}
