//! A month's meter data as the month close reads it (spec §5): each participant's metered
//! energy (`G` of a seller, `L` of a buyer), each meter's (for issuance), and each
//! participant's quarter-hours (for hourly matching), from the latest version of every meter.

use std::collections::BTreeMap;

use domain::YearMonth;

/// One meter's month: its id, whose it is (participant id text), its quarter-hour kWh.
#[derive(Debug, Clone, Copy)]
pub struct MeterMonth<'a> {
    /// The meter id.
    pub meter: &'a str,
    /// The participant it measures, as its id text.
    pub participant: &'a str,
    /// kWh per quarter-hour, in time order.
    pub kwh: &'a [i64],
}

/// A participant's meters add up beyond what a total can hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("participant {participant}'s metered energy of {month} is beyond {max} kWh", max = i64::MAX)]
pub struct MeteredTooLarge {
    /// The participant.
    pub participant: String,
    /// The month.
    pub month: YearMonth,
}

/// A month's metered energy, by participant and by meter (kWh).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeterTotals {
    /// Each participant's total over its meters.
    pub by_participant: BTreeMap<String, i64>,
    /// Each meter's total.
    pub by_meter: BTreeMap<String, i64>,
}

/// One meter's month as its total: what settlement and issuance read (the store keeps each
/// meter month's total beside its quarter-hours, so the month close need not unpack them).
#[derive(Debug, Clone, Copy)]
pub struct MeterTotal<'a> {
    /// The meter id.
    pub meter: &'a str,
    /// The participant it measures, as its id text.
    pub participant: &'a str,
    /// The month's kWh: the sum of its quarter-hours, which fits `i64` (at most 2,976 intervals
    /// of 10^9 kWh, spec §1).
    pub kwh: i64,
}

impl<'a> MeterMonth<'a> {
    /// The meter's month as its total.
    pub fn total(&self) -> MeterTotal<'a> {
        MeterTotal {
            meter: self.meter,
            participant: self.participant,
            kwh: self.kwh.iter().sum(),
        }
    }
}

/// Totals of `month`'s meters. A participant's meters, whose number has no bound, are added
/// with a check.
pub fn meter_totals<'a>(
    month: YearMonth,
    meters: impl IntoIterator<Item = MeterTotal<'a>>,
) -> Result<MeterTotals, MeteredTooLarge> {
    let mut totals = MeterTotals::default();
    for m in meters {
        let total = m.kwh;
        let sum = totals
            .by_participant
            .entry(m.participant.to_owned())
            .or_default();
        *sum = sum.checked_add(total).ok_or_else(|| MeteredTooLarge {
            participant: m.participant.to_owned(),
            month,
        })?;
        totals.by_meter.insert(m.meter.to_owned(), total);
    }
    Ok(totals)
}

/// Each participant's quarter-hours of `month`, summed over its meters (checked like
/// [`meter_totals`]).
pub fn participant_intervals<'a>(
    month: YearMonth,
    meters: impl IntoIterator<Item = MeterMonth<'a>>,
) -> Result<BTreeMap<String, Vec<i64>>, MeteredTooLarge> {
    let mut out: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for m in meters {
        let sum = out
            .entry(m.participant.to_owned())
            .or_insert_with(|| vec![0; m.kwh.len()]);
        for (s, v) in sum.iter_mut().zip(m.kwh) {
            *s = s.checked_add(*v).ok_or_else(|| MeteredTooLarge {
                participant: m.participant.to_owned(),
                month,
            })?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_by_participant_and_meter() {
        let month = YearMonth::new(2024, 3).unwrap();
        let meters = [
            MeterMonth {
                meter: "M1",
                participant: "1",
                kwh: &[1, 2, 3],
            },
            MeterMonth {
                meter: "M2",
                participant: "1",
                kwh: &[10, 0, 10],
            },
            MeterMonth {
                meter: "M3",
                participant: "2",
                kwh: &[5, 5, 5],
            },
        ];
        let totals = meter_totals(month, meters.iter().map(MeterMonth::total)).unwrap();
        assert_eq!(
            totals.by_participant,
            [("1".to_owned(), 26), ("2".to_owned(), 15)].into()
        );
        assert_eq!(totals.by_meter["M2"], 20);
        let hours = participant_intervals(month, meters).unwrap();
        assert_eq!(hours["1"], vec![11, 2, 13]);
        let huge = [
            MeterMonth {
                meter: "A",
                participant: "9",
                kwh: &[i64::MAX],
            },
            MeterMonth {
                meter: "B",
                participant: "9",
                kwh: &[1],
            },
        ];
        assert!(meter_totals(month, huge.iter().map(MeterMonth::total)).is_err());
        assert!(participant_intervals(month, huge).is_err());
    }
}
