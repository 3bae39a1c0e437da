//! Delivery periods: 96 quarter-hours, 24 hours, or a named time-of-use template (spec §1).
//!
//! A [`Period`] is an index into its session's [`PeriodTemplate`]; the template turns it into a
//! label (`q01`…`q96`, `h01`…`h24`, or a band name such as `peak`) and back.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// One delivery period of a template, as a zero-based index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Period(pub u16);

/// A time-of-use band (峰/平/谷).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TouBand {
    /// 峰: peak.
    Peak,
    /// 平: flat (shoulder).
    Flat,
    /// 谷: valley.
    Valley,
}

impl TouBand {
    /// The band's label, used as the period label.
    pub fn label(self) -> &'static str {
        match self {
            TouBand::Peak => "peak",
            TouBand::Flat => "flat",
            TouBand::Valley => "valley",
        }
    }
}

/// A named time-of-use template: which band each local hour of the day belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TouTemplate {
    name: String,
    hours: [TouBand; 24],
    /// The bands that occur, in peak, flat, valley order; a period indexes this list.
    bands: Vec<TouBand>,
}

impl TouTemplate {
    /// A template from its table of hours (index 0 is 00:00–01:00 local time).
    pub fn new(name: impl Into<String>, hours: [TouBand; 24]) -> Result<TouTemplate, DomainError> {
        let name = name.into();
        if name.trim().is_empty() {
            return Err(DomainError::invalid("tou_template.name", "is empty"));
        }
        let mut bands: Vec<TouBand> = hours.to_vec();
        bands.sort();
        bands.dedup();
        Ok(TouTemplate { name, hours, bands })
    }

    /// An illustrative three-band template (valley 00–08, peak 08–11 and 13–17 and 19–21, flat
    /// otherwise). Real markets configure their own table.
    pub fn example_three_band() -> TouTemplate {
        use TouBand::{Flat as F, Peak as P, Valley as V};
        let hours = [
            V, V, V, V, V, V, V, V, // 00-08
            P, P, P, F, F, // 08-13
            P, P, P, P, F, F, // 13-19
            P, P, F, F, V, // 19-24 (22-23 flat, 23-24 valley)
        ];
        TouTemplate::new("three_band", hours).expect("static template is valid")
    }

    /// The template's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The band of a local hour (0–23).
    pub fn band_of_hour(&self, hour: usize) -> TouBand {
        self.hours[hour]
    }
}

/// How a session divides a delivery day into periods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PeriodTemplate {
    /// 96 quarter-hours, labelled `q01`…`q96`.
    QuarterHours,
    /// 24 hours, labelled `h01`…`h24`.
    Hours,
    /// Time-of-use bands, labelled by band name.
    TimeOfUse(TouTemplate),
}

impl PeriodTemplate {
    /// How many periods a day has under this template.
    pub fn len(&self) -> usize {
        match self {
            PeriodTemplate::QuarterHours => 96,
            PeriodTemplate::Hours => 24,
            PeriodTemplate::TimeOfUse(t) => t.bands.len(),
        }
    }

    /// Never true: every template has at least one period.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All periods in order.
    pub fn periods(&self) -> impl Iterator<Item = Period> + use<> {
        (0..self.len() as u16).map(Period)
    }

    /// Whether the period exists in this template.
    pub fn contains(&self, period: Period) -> bool {
        usize::from(period.0) < self.len()
    }

    /// The label of a period (`q05`, `h01`, `peak`).
    ///
    /// # Panics
    /// If the period is not in the template.
    pub fn label(&self, period: Period) -> PeriodLabel {
        assert!(self.contains(period), "period {} out of template", period.0);
        match self {
            PeriodTemplate::QuarterHours => PeriodLabel::Numbered('q', period.0 + 1),
            PeriodTemplate::Hours => PeriodLabel::Numbered('h', period.0 + 1),
            PeriodTemplate::TimeOfUse(t) => PeriodLabel::Band(t.bands[usize::from(period.0)]),
        }
    }

    /// Parses a period label of this template.
    pub fn parse(&self, label: &str) -> Result<Period, DomainError> {
        let unknown = || DomainError::UnknownPeriod(label.to_owned());
        match self {
            PeriodTemplate::QuarterHours | PeriodTemplate::Hours => {
                let prefix = if matches!(self, PeriodTemplate::Hours) {
                    'h'
                } else {
                    'q'
                };
                let digits = label.strip_prefix(prefix).ok_or_else(unknown)?;
                if digits.len() != 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(unknown());
                }
                let n: u16 = digits.parse().map_err(|_| unknown())?;
                if n == 0 || usize::from(n) > self.len() {
                    return Err(unknown());
                }
                Ok(Period(n - 1))
            }
            PeriodTemplate::TimeOfUse(t) => t
                .bands
                .iter()
                .position(|b| b.label() == label)
                .map(|i| Period(i as u16))
                .ok_or_else(unknown),
        }
    }

    /// The period that a local 15-minute interval of the day (0–95) belongs to.
    pub fn period_of_quarter(&self, quarter: usize) -> Period {
        assert!(quarter < 96, "quarter {quarter} out of day");
        match self {
            PeriodTemplate::QuarterHours => Period(quarter as u16),
            PeriodTemplate::Hours => Period((quarter / 4) as u16),
            PeriodTemplate::TimeOfUse(t) => {
                let band = t.hours[quarter / 4];
                let index = t
                    .bands
                    .iter()
                    .position(|b| *b == band)
                    .expect("band listed");
                Period(index as u16)
            }
        }
    }
}

/// The label of a period, written without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodLabel {
    /// `q05`, `h01`.
    Numbered(char, u16),
    /// `peak`, `flat`, `valley`.
    Band(TouBand),
}

impl fmt::Display for PeriodLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeriodLabel::Numbered(prefix, n) => write!(f, "{prefix}{n:02}"),
            PeriodLabel::Band(band) => f.write_str(band.label()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip() {
        for template in [
            PeriodTemplate::QuarterHours,
            PeriodTemplate::Hours,
            PeriodTemplate::TimeOfUse(TouTemplate::example_three_band()),
        ] {
            for p in template.periods() {
                let label = template.label(p).to_string();
                assert_eq!(template.parse(&label), Ok(p), "{label}");
            }
        }
        assert_eq!(PeriodTemplate::Hours.label(Period(0)).to_string(), "h01");
        assert_eq!(
            PeriodTemplate::QuarterHours.label(Period(95)).to_string(),
            "q96"
        );
    }

    #[test]
    fn unknown_labels_are_refused() {
        for bad in ["h00", "h25", "h1", "q97", "x01", "h001", ""] {
            assert_eq!(
                PeriodTemplate::Hours
                    .parse(bad)
                    .or(PeriodTemplate::QuarterHours.parse(bad)),
                Err(DomainError::UnknownPeriod(bad.into()))
            );
        }
    }

    #[test]
    fn quarters_map_to_periods() {
        assert_eq!(PeriodTemplate::Hours.period_of_quarter(7), Period(1));
        let tou = PeriodTemplate::TimeOfUse(TouTemplate::example_three_band());
        assert_eq!(tou.len(), 3);
        assert_eq!(tou.label(tou.period_of_quarter(0)).to_string(), "valley");
        assert_eq!(tou.label(tou.period_of_quarter(9 * 4)).to_string(), "peak");
        assert_eq!(tou.label(tou.period_of_quarter(12 * 4)).to_string(), "flat");
    }
}
