//! Exact display of the report's figures: the decimal strings of `market::AnnualReport` read
//! into integers (kWh, fen, ten-thousandths) and written in the units a reader expects —
//! 亿千瓦时 and 万千瓦时 in Chinese, GWh and MWh in English — rounded half away from zero with
//! `domain::div_round_half_away`. No float touches a figure shown as a number.

use anyhow::{Context, Result, bail};
use domain::div_round_half_away;

use super::Lang;

/// A unit a volume is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumeUnit {
    /// 亿千瓦时: 10^8 kWh, 2 decimals.
    Yi,
    /// 万千瓦时: 10^4 kWh, 2 decimals.
    Wan,
    /// GWh: 10^6 kWh, 2 decimals.
    Gwh,
    /// MWh: 10^3 kWh, 3 decimals (exact: the report's own unit).
    Mwh,
}

impl VolumeUnit {
    /// kWh in one unit.
    pub fn kwh(self) -> i128 {
        match self {
            VolumeUnit::Yi => 100_000_000,
            VolumeUnit::Wan => 10_000,
            VolumeUnit::Gwh => 1_000_000,
            VolumeUnit::Mwh => 1_000,
        }
    }

    /// Decimals shown.
    pub fn decimals(self) -> u32 {
        match self {
            VolumeUnit::Mwh => 3,
            _ => 2,
        }
    }

    /// The unit's name.
    pub fn name(self) -> &'static str {
        match self {
            VolumeUnit::Yi => "亿千瓦时",
            VolumeUnit::Wan => "万千瓦时",
            VolumeUnit::Gwh => "GWh",
            VolumeUnit::Mwh => "MWh",
        }
    }

    /// The unit for volumes up to `max_kwh`: 亿千瓦时 from 1亿千瓦时 on and 万千瓦时 below it
    /// in Chinese (from 99,999,950 kWh on, which 万千瓦时 would round to "10,000.00"); GWh
    /// from 1 GWh on and MWh (exact) below it in English.
    pub fn for_volume(lang: Lang, max_kwh: i128) -> VolumeUnit {
        let half_a_hundredth_wan = VolumeUnit::Wan.kwh() / 100 / 2;
        match lang {
            Lang::Zh if max_kwh >= VolumeUnit::Yi.kwh() - half_a_hundredth_wan => VolumeUnit::Yi,
            Lang::Zh => VolumeUnit::Wan,
            Lang::En if max_kwh >= VolumeUnit::Gwh.kwh() => VolumeUnit::Gwh,
            Lang::En => VolumeUnit::Mwh,
        }
    }

    /// `kwh` in this unit with its decimals, rounded half away from zero, thousands grouped:
    /// `Yi.show(8_213_456_789)` is `"82.13"`.
    pub fn show(self, kwh: i128) -> String {
        let step = self.kwh() / 10i128.pow(self.decimals());
        fixed(div_round_half_away(kwh, step), self.decimals())
    }

    /// An axis tick: `kwh` in this unit, exact, without trailing zeros (`"2.5"`, `"40"`).
    pub fn tick(self, kwh: i128) -> String {
        trimmed(kwh, self.kwh())
    }
}

/// A decimal string of the report (`"1250.125"`, `"-3.5"`) as an integer of `10^-scale` units.
/// The report writes its own figures, so anything else is a bug named in the error.
pub fn parse_decimal(text: &str, scale: u32) -> Result<i128> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > scale as usize
        || body.ends_with('.')
    {
        bail!("the report's figure `{text}` is not a decimal with at most {scale} decimals");
    }
    let padding = std::iter::repeat_n(b'0', scale as usize - fraction.len());
    let mut value: i128 = 0;
    for b in whole.bytes().chain(fraction.bytes()).chain(padding) {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(b - b'0')))
            .with_context(|| format!("the report's figure `{text}` is too large"))?;
    }
    Ok(if negative { -value } else { value })
}

/// A MWh string of the report in kWh.
pub fn kwh(mwh: &str) -> Result<i128> {
    parse_decimal(mwh, 3)
}

/// A yuan/MWh string of the report in fen/MWh.
pub fn fen(yuan: &str) -> Result<i128> {
    parse_decimal(yuan, 2)
}

/// A MWh string as shown exactly: `"1234.500"` is `"1,234.500"`.
pub fn mwh(text: &str) -> Result<String> {
    Ok(fixed(kwh(text)?, 3))
}

/// A share of 4 decimals (`"0.2613"`) as a percentage with 2 (`"26.13%"`), exactly.
pub fn share_percent(share: &str) -> Result<String> {
    Ok(format!("{}%", fixed(parse_decimal(share, 4)?, 2)))
}

/// A growth in percent with 2 decimals (`"218.85"`) signed (`"+218.85%"`); `None` (no volume
/// the year before) as a dash.
pub fn growth(percent: Option<&str>) -> Result<String> {
    Ok(match percent {
        None => "—".to_owned(),
        Some(p) => {
            let hundredths = parse_decimal(p, 2)?;
            let sign = if hundredths > 0 { "+" } else { "" };
            format!("{sign}{}%", fixed(hundredths, 2))
        }
    })
}

/// A count with thousands grouped.
pub fn count(n: impl Into<u128>) -> String {
    group(&n.into().to_string())
}

/// `units / 10^decimals` with `decimals` decimals and the whole part grouped by thousands.
pub fn fixed(units: i128, decimals: u32) -> String {
    let scale = 10u128.pow(decimals);
    let magnitude = units.unsigned_abs();
    let sign = if units < 0 { "-" } else { "" };
    let whole = group(&(magnitude / scale).to_string());
    if decimals == 0 {
        return format!("{sign}{whole}");
    }
    format!(
        "{sign}{whole}.{:0width$}",
        magnitude % scale,
        width = decimals as usize
    )
}

/// `value / unit` written exactly (unit a power of ten), trailing zeros dropped, grouped:
/// `trimmed(38_500, 100)` is `"385"`.
pub fn trimmed(value: i128, unit: i128) -> String {
    let decimals = unit.ilog10();
    let text = fixed(value, decimals);
    if decimals == 0 {
        return text;
    }
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Digits grouped by thousands with commas: `"1234567"` is `"1,234,567"`.
fn group(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(unit: VolumeUnit, mwh: &str, expected: &str) {
        assert_eq!(
            unit.show(kwh(mwh).unwrap()),
            expected,
            "{mwh} MWh in {unit:?}"
        );
    }

    #[test]
    fn yi_and_wan_kwh_round_half_away_from_zero_at_their_edges() {
        // 1亿千瓦时 = 100,000 MWh; 0.01亿千瓦时 = 1,000 MWh.
        check(VolumeUnit::Yi, "8213000.000", "82.13");
        check(VolumeUnit::Yi, "100000.000", "1.00");
        check(VolumeUnit::Yi, "99999.999", "1.00");
        check(VolumeUnit::Yi, "499.999", "0.00");
        check(VolumeUnit::Yi, "500.000", "0.01");
        check(VolumeUnit::Yi, "1500.000", "0.02");
        check(VolumeUnit::Yi, "1499.999", "0.01");
        check(VolumeUnit::Yi, "0.000", "0.00");
        check(VolumeUnit::Yi, "123456789012.345", "1,234,567.89");
        // 0.01万千瓦时 = 100 kWh.
        check(VolumeUnit::Wan, "0.049", "0.00");
        check(VolumeUnit::Wan, "0.050", "0.01");
        check(VolumeUnit::Wan, "99999.949", "9,999.99");
        check(VolumeUnit::Wan, "99999.950", "10,000.00");
        check(VolumeUnit::Wan, "-0.050", "-0.01");
        // GWh and exact MWh.
        // 0.01 GWh = 10 MWh.
        check(VolumeUnit::Gwh, "1235.000", "1.24");
        check(VolumeUnit::Gwh, "1234.999", "1.23");
        check(VolumeUnit::Mwh, "1234567.125", "1,234,567.125");
    }

    #[test]
    fn the_unit_follows_the_size() {
        let yi = VolumeUnit::Yi.kwh();
        assert_eq!(VolumeUnit::for_volume(Lang::Zh, yi), VolumeUnit::Yi);
        // Just below 1亿: what 万千瓦时 would show as 10,000.00 is shown as 1.00亿.
        assert_eq!(VolumeUnit::for_volume(Lang::Zh, yi - 50), VolumeUnit::Yi);
        assert_eq!(VolumeUnit::Yi.show(yi - 50), "1.00");
        assert_eq!(VolumeUnit::for_volume(Lang::Zh, yi - 51), VolumeUnit::Wan);
        assert_eq!(VolumeUnit::Wan.show(yi - 51), "9,999.99");
        assert_eq!(VolumeUnit::for_volume(Lang::Zh, 0), VolumeUnit::Wan);
        assert_eq!(VolumeUnit::for_volume(Lang::En, 1_000_000), VolumeUnit::Gwh);
        assert_eq!(VolumeUnit::for_volume(Lang::En, 999_999), VolumeUnit::Mwh);
    }

    #[test]
    fn ticks_are_exact_without_trailing_zeros() {
        assert_eq!(VolumeUnit::Yi.tick(250_000_000), "2.5");
        assert_eq!(VolumeUnit::Wan.tick(400_000), "40");
        assert_eq!(VolumeUnit::Wan.tick(0), "0");
        assert_eq!(VolumeUnit::Wan.tick(1), "0.0001");
        assert_eq!(VolumeUnit::Mwh.tick(12_345_000), "12,345");
    }

    #[test]
    fn shares_growth_and_prices_are_read_exactly() {
        assert_eq!(share_percent("0.2613").unwrap(), "26.13%");
        assert_eq!(share_percent("0").unwrap(), "0.00%");
        assert_eq!(share_percent("1.0000").unwrap(), "100.00%");
        assert_eq!(growth(Some("218.85")).unwrap(), "+218.85%");
        assert_eq!(growth(Some("-0.05")).unwrap(), "-0.05%");
        assert_eq!(growth(Some("0.00")).unwrap(), "0.00%");
        assert_eq!(growth(None).unwrap(), "—");
        assert_eq!(fen("-3.5").unwrap(), -350);
        assert_eq!(mwh("1234.5").unwrap(), "1,234.500");
        assert_eq!(
            kwh("170141183460469231731687303715884105.727").unwrap(),
            i128::MAX
        );
        for bad in [
            "",
            ".",
            "1.",
            "1.2345",
            "+1",
            "1e3",
            "--1",
            " 1",
            "170141183460469231731687303715884105.728",
        ] {
            assert!(kwh(bad).is_err(), "{bad}");
        }
        assert_eq!(count(16_235u64), "16,235");
    }
}
