//! What every resource's wire types share: the parsers of text fields, MWh, prices, words,
//! periods and loss fractions (each error names its field), and volumes per period.

use domain::{Kwh, PeriodTemplate, PeriodVolume, Price, Side, TextRule, shown};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// Checks a text field against its rule (length limit, character policy; names come back NFC),
/// before anything reaches the store: a 400 naming the field and the limit or the character.
pub fn parse_text(rule: TextRule, field: &str, value: &str) -> Result<String, ApiError> {
    rule.parse(field, value)
        .map_err(|e| ApiError::field(&e.field, e.problem))
}

/// Parses MWh (≤ 3 decimals), positive.
pub fn parse_mwh(field: &str, text: &str) -> Result<Kwh, ApiError> {
    let kwh = Kwh::parse_mwh(text).map_err(|e| ApiError::field(field, e))?;
    if kwh == Kwh::ZERO {
        return Err(ApiError::field(field, "must be positive"));
    }
    Ok(kwh)
}

/// Parses yuan/MWh (≤ 2 decimals).
pub fn parse_price(field: &str, text: &str) -> Result<Price, ApiError> {
    Price::parse_yuan_per_mwh(text).map_err(|e| ApiError::field(field, e))
}

pub(super) fn parse_enum<T: for<'de> Deserialize<'de>>(
    field: &str,
    text: &str,
    allowed: &str,
) -> Result<T, ApiError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| ApiError::field(field, format!("`{}` is not one of {allowed}", shown(text))))
}

pub(super) fn parse_side(field: &str, text: &str) -> Result<Side, ApiError> {
    Side::parse(text).ok_or_else(|| {
        ApiError::field(
            field,
            format!("`{}` is not \"buy\" or \"sell\"", shown(text)),
        )
    })
}

pub(super) fn parse_period(
    field: &str,
    template: &PeriodTemplate,
    label: &str,
) -> Result<domain::Period, ApiError> {
    template.parse(label).map_err(|e| ApiError::field(field, e))
}

/// A period label of the session's template with a volume.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeriodMwh {
    /// Period label, e.g. `h01`.
    pub period: String,
    /// MWh, up to 3 decimals.
    pub mwh: String,
}

pub(super) fn parse_volumes(
    field: &str,
    template: &PeriodTemplate,
    list: &[PeriodMwh],
) -> Result<Vec<PeriodVolume>, ApiError> {
    let mut volumes: Vec<PeriodVolume> = list
        .iter()
        .enumerate()
        .map(|(i, v)| {
            Ok(PeriodVolume {
                period: parse_period(&format!("{field}[{i}].period"), template, &v.period)?,
                volume: parse_mwh(&format!("{field}[{i}].mwh"), &v.mwh)?,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    volumes.sort_by_key(|v| v.period);
    Ok(volumes)
}

pub(super) fn volumes_view(template: &PeriodTemplate, volumes: &[PeriodVolume]) -> Vec<PeriodMwh> {
    volumes
        .iter()
        .map(|v| PeriodMwh {
            period: template.label(v.period).to_string(),
            mwh: v.volume.mwh().to_string(),
        })
        .collect()
}

/// Parses a loss fraction (`domain::LossRate`, its one parser) into 1/10000 units.
pub(super) fn parse_loss(field: &str, text: &str) -> Result<i64, ApiError> {
    domain::LossRate::parse(text)
        .map(domain::LossRate::ten_thousandths)
        .map_err(|e| ApiError::field(field, e))
}

/// Writes 1/10000 units back as a fraction, e.g. 350 → "0.035".
pub(super) fn loss_text(loss: i64) -> String {
    domain::LossRate::from_ten_thousandths(loss).map_or_else(|| loss.to_string(), |l| l.to_string())
}
