//! The reports the month close and the certificate rules produce, as the CLI prints them and the
//! API answers them: one type each, serialised by serde (never a format written twice).
//!
//! Quantities are decimal strings as everywhere in lvdian's files and API: MWh with 3
//! decimals, yuan with 2, whole kWh and whole MWh as integers in text.

use serde::{Deserialize, Serialize};
use settlement::Line;

/// One month's settlement (spec §5): a line per contract delivering in the month.
///
/// `lvdian settle` prints it with `month` and `lines` (the formats.md keys first, in their
/// order); `POST /api/v1/settlements` adds `final`, and for a final run the certificate
/// `transfers` (证电合一).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettlementReport {
    /// The month settled, `YYYY-MM`.
    pub month: String,
    /// Whether the run is final (recorded, certificates moved, never reopened). Absent from
    /// the offline `lvdian settle` output.
    #[serde(rename = "final", default, skip_serializing_if = "Option::is_none")]
    pub is_final: Option<bool>,
    /// One line per contract, sorted by contract id (byte order).
    pub lines: Vec<SettlementLine>,
    /// Of a final run: the certificates moved to each contract's buyer, or missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfers: Option<Vec<TransferLine>>,
    /// Retailers' settled `Q_env` allocated to their retail users (`market::retail`); absent
    /// when no retailer with retail contracts bought green power in the month.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retail: Vec<RetailLine>,
}

/// Where a page of a settlement report starts: after a line (its contract) or after a retail
/// allocation (its retail contract). Written `line:<contract>` or `retail:<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettlementCursor {
    /// After the line of this contract (lines are in byte order of their contract).
    Line(String),
    /// After the allocation of this retail contract (every line comes before; allocations are
    /// in report order, by retailer, then retail contract).
    Retail(u64),
}

impl SettlementCursor {
    /// Reads `line:<contract>` or `retail:<id>`.
    pub fn parse(text: &str) -> Option<SettlementCursor> {
        if let Some(contract) = text.strip_prefix("line:") {
            return (!contract.is_empty()).then(|| SettlementCursor::Line(contract.to_owned()));
        }
        let id = text.strip_prefix("retail:")?;
        (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
            .then(|| id.parse().ok())
            .flatten()
            .map(SettlementCursor::Retail)
    }
}

impl std::fmt::Display for SettlementCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SettlementCursor::Line(contract) => write!(f, "line:{contract}"),
            SettlementCursor::Retail(id) => write!(f, "retail:{id}"),
        }
    }
}

impl SettlementReport {
    /// One page of the report: up to `limit` items after `after` (or from the start), the
    /// lines first, then the retail allocations, each line with its certificate transfers.
    /// Returns the page and, when more follow, the cursor of its last item.
    pub fn page(
        &self,
        after: Option<&SettlementCursor>,
        limit: usize,
    ) -> (SettlementReport, Option<SettlementCursor>) {
        let first_line = match after {
            None => 0,
            Some(SettlementCursor::Line(c)) => self
                .lines
                .partition_point(|l| l.contract.as_bytes() <= c.as_bytes()),
            Some(SettlementCursor::Retail(_)) => self.lines.len(),
        };
        let lines: Vec<SettlementLine> = self.lines[first_line..]
            .iter()
            .take(limit)
            .cloned()
            .collect();
        let first_retail = match after {
            // In report order (by retailer, then retail contract); an unknown one ends the
            // report.
            Some(SettlementCursor::Retail(id)) => self
                .retail
                .iter()
                .position(|r| r.retail_contract == *id)
                .map_or(self.retail.len(), |i| i + 1),
            _ => 0,
        };
        let retail: Vec<RetailLine> = self.retail[first_retail..]
            .iter()
            .take(limit - lines.len())
            .cloned()
            .collect();
        let more = first_line + lines.len() < self.lines.len()
            || first_retail + retail.len() < self.retail.len();
        let next = more.then(|| match retail.last() {
            Some(r) => SettlementCursor::Retail(r.retail_contract),
            None => SettlementCursor::Line(
                lines
                    .last()
                    .map_or_else(String::new, |l| l.contract.clone()),
            ),
        });
        let contracts: std::collections::BTreeSet<&str> =
            lines.iter().map(|l| l.contract.as_str()).collect();
        let transfers = self.transfers.as_ref().map(|all| {
            all.iter()
                .filter(|t| contracts.contains(t.contract.as_str()))
                .cloned()
                .collect()
        });
        let page = SettlementReport {
            month: self.month.clone(),
            is_final: self.is_final,
            lines,
            transfers,
            retail,
        };
        (page, next)
    }
}

/// What the statistics read of a final settlement: its month and each line's contract and
/// delivered energy. Deserializes from a stored [`SettlementReport`]'s JSON, skipping the rest.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SettledVolumes {
    /// The month settled, `YYYY-MM`.
    pub month: String,
    /// One per contract.
    pub lines: Vec<SettledVolume>,
}

/// One contract's delivered energy in a [`SettledVolumes`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SettledVolume {
    /// The contract's key (`S<session>-C<contract>`).
    pub contract: String,
    /// `D`, MWh.
    pub delivered_mwh: String,
}

impl From<&SettlementReport> for SettledVolumes {
    fn from(report: &SettlementReport) -> SettledVolumes {
        SettledVolumes {
            month: report.month.clone(),
            lines: report
                .lines
                .iter()
                .map(|l| SettledVolume {
                    contract: l.contract.clone(),
                    delivered_mwh: l.delivered_mwh.clone(),
                })
                .collect(),
        }
    }
}

/// A retail user's share of its retailer's settled environmental value in the month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetailLine {
    /// The retail contract.
    pub retail_contract: u64,
    /// The retailer (participant id).
    pub retailer: u64,
    /// The retail user (participant id).
    pub user: u64,
    /// Its green demand of the month, whole MWh.
    pub demand_mwh: String,
    /// Environmental value allocated to it, whole MWh.
    pub env_mwh: String,
}

/// A contract's settlement in the month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettlementLine {
    /// The contract's id (`S<session>-C<contract>` in the service).
    pub contract: String,
    /// `Q_env`: environmental value settled, whole MWh (= certificates that move).
    pub env_mwh: String,
    /// `carry_out`: kWh short of a whole MWh, carried to the contract's next month (0–999).
    pub carry_out_kwh: String,
    /// Environmental money, `Q_env × p_env`, yuan.
    pub env_yuan: String,
    /// Energy money, energy sent for what was delivered × energy price, yuan.
    pub energy_yuan: String,
    /// `S = C − losses − D`, MWh.
    pub shortfall_mwh: String,
    /// Compensation, `S × p_comp`, yuan.
    pub comp_yuan: String,
    /// Who pays the compensation: `seller`, `buyer`, or null without shortfall.
    pub comp_payer: Option<String>,
    /// `carry_in`: kWh carried in from the contract's previous final month (0–999).
    #[serde(default)]
    pub carry_in_kwh: String,
    /// `C(M)`: the contract's volume of the month (its window volume's share, spec §4), MWh.
    #[serde(default)]
    pub volume_mwh: String,
    /// `D`: green energy delivered at the buyer's end, MWh.
    #[serde(default)]
    pub delivered_mwh: String,
    /// Energy sent for `D` (`D` plus its share of the losses), MWh.
    #[serde(default)]
    pub sent_mwh: String,
    /// Of the month's volume, lost on corridors (zero within a province), MWh.
    #[serde(default)]
    pub lost_mwh: String,
}

/// A report's MWh figure (3 decimals, up to a contract month's bound) back in kWh.
pub(crate) fn kwh_of(text: &str) -> Option<i64> {
    domain::Kwh::parse_contract_month_mwh(text)
        .ok()
        .map(|k| k.0)
}

impl SettlementLine {
    /// The line of a settled contract that brought `carry_in` kWh.
    pub fn of(line: &Line, carry_in: domain::Kwh) -> SettlementLine {
        SettlementLine {
            contract: line.contract.clone(),
            env_mwh: line.env_mwh.to_string(),
            carry_out_kwh: line.carry_out.0.to_string(),
            env_yuan: line.env_money.to_string(),
            energy_yuan: line.energy_money.to_string(),
            shortfall_mwh: line.shortfall.mwh().to_string(),
            comp_yuan: line.comp_money.to_string(),
            comp_payer: line.comp_payer.map(|p| p.as_str().to_owned()),
            carry_in_kwh: carry_in.0.to_string(),
            volume_mwh: line.volume.mwh().to_string(),
            delivered_mwh: line.delivered.mwh().to_string(),
            sent_mwh: line.energy_sent.mwh().to_string(),
            lost_mwh: line.loss.mwh().to_string(),
        }
    }
}

/// Certificates of one project moved to a contract's buyer by a final settlement (证电合一), or
/// — with no project — how many the seller lacked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransferLine {
    /// The contract.
    pub contract: String,
    /// The seller's project whose certificates moved; absent on a line of missing ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Certificates (MWh) moved.
    #[serde(default)]
    pub certificates: u64,
    /// Their serial ranges.
    #[serde(default)]
    pub ranges: Vec<String>,
    /// Certificates the contract's `Q_env` asked for that the seller did not hold (issued, of
    /// the month); zero when all moved.
    #[serde(default)]
    pub certificates_missing: u64,
}

/// A month's certificate issuance: one line per project with metered energy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuanceReport {
    /// The production month, `YYYY-MM`.
    pub month: String,
    /// Projects issued, by filing code.
    pub issued: Vec<IssuedProject>,
}

/// One project's certificates of the month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuedProject {
    /// The 17-digit filing code.
    pub project: String,
    /// Its owner (participant id), who receives them.
    pub owner: u64,
    /// The project's metered on-grid energy of the month, MWh.
    pub metered_mwh: String,
    /// Certificates issued (whole MWh of metered energy and the carried kWh).
    pub certificates: u64,
    /// Their serial ranges.
    pub ranges: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_records_stored_before_the_month_close_still_read() {
        // A record as the service wrote it before `market` (no carry_in_kwh or volume_mwh; a
        // missing-certificates transfer without `certificates`).
        let old = r#"{"month": "2024-03", "final": true, "lines": [{"contract": "S1-C1",
            "delivered_mwh": "5.952", "lost_mwh": "0.000", "sent_mwh": "5.952", "env_mwh": "5",
            "carry_out_kwh": "952", "env_yuan": "125.00", "energy_yuan": "2233.49",
            "shortfall_mwh": "0.548", "comp_yuan": "27.40", "comp_payer": "buyer"}],
            "transfers": [{"contract": "S1-C1", "certificates_missing": 5}]}"#;
        let report: SettlementReport = serde_json::from_str(old).unwrap();
        assert_eq!(report.lines[0].carry_out_kwh, "952");
        assert_eq!(report.lines[0].carry_in_kwh, "");
        let transfers = report.transfers.unwrap();
        assert_eq!(
            (transfers[0].certificates, transfers[0].certificates_missing),
            (0, 5)
        );
    }
}
