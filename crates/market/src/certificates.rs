//! The certificate side of the month close (spec §6): issuance from meter months, and the
//! transfer plan of 证电合一 — which certificates of which project move to which buyer for which
//! settlement line, and what is missing when a seller holds too few.
//!
//! Plans are pure functions of the registry's state; applying one is a sequence of registry
//! commands, so the caller runs both under the registry's lock and commits the resulting
//! ledger entries together (with the month's final record, for a settlement).

use std::collections::BTreeMap;

use domain::{Kwh, ParticipantId, Project, ProjectCode, YearMonth};
use registry::{CertState, Registry, RegistryError, TransferReason};

use crate::close::MonthContract;
use crate::report::{IssuanceReport, IssuedProject, SettlementReport, TransferLine};

/// Why a month's certificates cannot be issued or moved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The registry refused a command.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A project's meters add up beyond what one month can hold.
    #[error("project {project}'s metered energy of {month} is beyond {max} kWh", max = i64::MAX)]
    MeteredTooLarge {
        /// The project.
        project: ProjectCode,
        /// The month.
        month: YearMonth,
    },
}

/// Each project's metered on-grid energy of a month: the sum of its registered meters'
/// totals (`by_meter`: meter id → kWh of the month). Projects with no metered meter are left out.
pub fn project_energy<'a>(
    projects: &'a [Project],
    by_meter: &BTreeMap<String, i64>,
    month: YearMonth,
) -> Result<Vec<(&'a Project, Kwh)>, CertificateError> {
    let mut out = Vec::new();
    for p in projects {
        let mut readings = p.meters.iter().filter_map(|m| by_meter.get(m)).peekable();
        if readings.peek().is_none() {
            continue;
        }
        let total = readings
            .try_fold(0i64, |sum, v| sum.checked_add(*v))
            .ok_or(CertificateError::MeteredTooLarge {
                project: p.code,
                month,
            })?;
        out.push((p, Kwh(total)));
    }
    Ok(out)
}

/// Issues `month`'s certificates of every project with meter data (spec §6: floor to MWh, the
/// remainder carried to the project's next month), in the order of `projects`.
pub fn issue_month(
    registry: &mut Registry,
    projects: &[Project],
    by_meter: &BTreeMap<String, i64>,
    month: YearMonth,
    at_ms: i64,
) -> Result<IssuanceReport, CertificateError> {
    let mut issued = Vec::new();
    for (p, metered) in project_energy(projects, by_meter, month)? {
        let entry = registry.issue(p.code, p.owner, month, metered, at_ms)?;
        let ranges = entry.ranges();
        issued.push(IssuedProject {
            project: p.code.to_string(),
            owner: p.owner.0,
            metered_mwh: metered.mwh().to_string(),
            certificates: ranges.iter().map(|r| u64::from(r.count())).sum(),
            ranges: ranges.iter().map(ToString::to_string).collect(),
        });
    }
    Ok(IssuanceReport {
        month: month.to_string(),
        issued,
    })
}

/// One move of a transfer plan: `count` certificates of `project`'s `month` from the
/// contract's seller to its buyer; `project` is `None` for the part of `Q_env` the seller
/// lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedMove {
    /// The contract (settlement line) the move serves.
    pub contract: String,
    /// Whose certificates move.
    pub seller: ParticipantId,
    /// Who receives them.
    pub buyer: ParticipantId,
    /// The seller's project, or `None` for what is missing.
    pub project: Option<ProjectCode>,
    /// How many certificates.
    pub count: u64,
}

/// The 证电合一 plan of a month's settlement: for each line with `Q_env > 0` (in contract
/// order), its seller's issued certificates of production month `month`, project by project in
/// filing-code order, lowest serials first, until `Q_env` is met; what is left is missing. A
/// seller's certificates serve its contracts in contract order, each counted once.
pub fn transfer_plan(
    registry: &Registry,
    report: &SettlementReport,
    contracts: &[MonthContract],
    projects: &[Project],
    month: YearMonth,
) -> Vec<PlannedMove> {
    let by_key: BTreeMap<&str, &MonthContract> =
        contracts.iter().map(|c| (c.terms.id.as_str(), c)).collect();
    let mut own: BTreeMap<ParticipantId, Vec<ProjectCode>> = BTreeMap::new();
    for p in projects {
        own.entry(p.owner).or_default().push(p.code);
    }
    for codes in own.values_mut() {
        codes.sort();
    }
    // Issued certificates of the month per seller and project, less what the plan already
    // used; read from the registry once per seller.
    let mut available: BTreeMap<ParticipantId, BTreeMap<ProjectCode, u64>> = BTreeMap::new();
    let mut plan = Vec::new();
    for line in &report.lines {
        let wanted: u64 = line.env_mwh.parse().unwrap_or(0);
        let Some(c) = by_key.get(line.contract.as_str()).filter(|_| wanted > 0) else {
            continue;
        };
        let held = available.entry(c.seller).or_insert_with(|| {
            let mut held = BTreeMap::new();
            for h in registry.holdings_of(c.seller, Some(month)) {
                if h.state == CertState::Issued {
                    *held.entry(h.range.project()).or_default() += u64::from(h.range.count());
                }
            }
            held
        });
        let mut left = wanted;
        for &code in own.get(&c.seller).map_or(&[][..], Vec::as_slice) {
            if left == 0 {
                break;
            }
            let Some(held) = held.get_mut(&code) else {
                continue;
            };
            let n = (*held).min(left);
            if n > 0 {
                *held -= n;
                left -= n;
                plan.push(PlannedMove {
                    contract: line.contract.clone(),
                    seller: c.seller,
                    buyer: c.buyer,
                    project: Some(code),
                    count: n,
                });
            }
        }
        if left > 0 {
            plan.push(PlannedMove {
                contract: line.contract.clone(),
                seller: c.seller,
                buyer: c.buyer,
                project: None,
                count: left,
            });
        }
    }
    plan
}

/// Carries out a transfer plan in the registry (each move one `Transfer` command, reason
/// `Settlement` of the contract's session), returning the report's transfer lines with their
/// serial ranges.
pub fn apply_plan(
    registry: &mut Registry,
    plan: &[PlannedMove],
    contracts: &[MonthContract],
    month: YearMonth,
    at_ms: i64,
) -> Result<Vec<TransferLine>, CertificateError> {
    let by_key: BTreeMap<&str, &MonthContract> =
        contracts.iter().map(|c| (c.terms.id.as_str(), c)).collect();
    let mut lines = Vec::with_capacity(plan.len());
    for step in plan {
        let Some(project) = step.project else {
            lines.push(TransferLine {
                contract: step.contract.clone(),
                project: None,
                certificates: 0,
                ranges: Vec::new(),
                certificates_missing: step.count,
            });
            continue;
        };
        let c = by_key[step.contract.as_str()];
        let reason = TransferReason::Settlement {
            contract: c.contract,
            session: c.session,
            settlement_month: month,
        };
        // A count is at most a month's certificates of one project, which the registry's
        // 9-digit sequence bounds below u32::MAX.
        let count = u32::try_from(step.count).expect("a project-month's certificates fit u32");
        let entry = registry.transfer(
            step.seller,
            step.buyer,
            project,
            month,
            count,
            reason,
            at_ms,
        )?;
        lines.push(TransferLine {
            contract: step.contract.clone(),
            project: Some(project.to_string()),
            certificates: step.count,
            ranges: entry.ranges().iter().map(ToString::to_string).collect(),
            certificates_missing: 0,
        });
    }
    Ok(lines)
}

/// The final close's certificate moves (证电合一): plans `report`'s transfers against the
/// registry and applies them; returns the transfer lines of the final report.
pub fn settle_certificates(
    registry: &mut Registry,
    report: &SettlementReport,
    contracts: &[MonthContract],
    projects: &[Project],
    month: YearMonth,
    at_ms: i64,
) -> Result<Vec<TransferLine>, CertificateError> {
    let plan = transfer_plan(registry, report, contracts, projects, month);
    apply_plan(registry, &plan, contracts, month, at_ms)
}
