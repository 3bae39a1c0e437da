//! Whose meters an upload may hold: the rules a month of meter data must meet before it is
//! stored, beyond the file's own validity ([`crate::parse_meters`]).
//!
//! Stored meter data decides money and certificates: a seller's metered energy `G` caps what it
//! delivers and the certificates its projects get, a buyer's `L` what it is credited with. So an
//! upload (from the grid over HTTP, or `lvdian meters import`) may only name:
//!
//! - a month of the market ([`domain::MARKET_YEARS`], 2000-01 to 2099-12);
//! - at least one meter (a file with the header alone is refused, not stored as nothing);
//! - meter ids that are identifiers ([`domain::TextRule::IDENTIFIER`]: 1–64 ASCII letters,
//!   digits, `-`, `_`, `.`);
//! - in the participant column, the id of a registered participant, written canonically
//!   (`7`, not `07`, `-1` or `P7`): settlement finds a participant's meters by that text;
//! - for a meter registered to a project, the project's owner, and only it;
//! - for any other meter, a participant that consumes: a `user`, `retail_user` or `retailer`.
//!   Buyers' consumption meters are not registered anywhere, so such a meter is taken as
//!   registered to the participant of its first upload. Sellers (`generator`, `aggregator`)
//!   meter only their projects' registered meters; the grid, the operator and the regulator
//!   have none;
//! - for a meter already stored (any month), the participant it was stored under: a meter never
//!   changes owner by upload. A correction is a new version for the same owner.
//!
//! This is pure: the caller gathers the [`UploadFacts`] from its store and calls
//! [`check_upload`]. A refused upload stores nothing.

use std::collections::BTreeMap;
use std::fmt;

use domain::{MARKET_YEARS, ParticipantId, Role, TextRule, shown};

use crate::meters::{MAX_REPORTED, MeterData, count};
use domain::YearMonth;

/// What the store knows that decides whose meters an upload may hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadFacts {
    /// Every registered participant's role.
    pub participants: BTreeMap<ParticipantId, Role>,
    /// Meters registered to projects: meter id → (project filing code, the project's owner).
    pub project_meters: BTreeMap<String, (String, ParticipantId)>,
    /// The upload's meters already stored, in any month and version: meter id → every
    /// participant text it was stored under (one, unless stored before these rules).
    pub stored_owners: BTreeMap<String, Vec<String>>,
}

/// Why one meter of an upload is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeterProblem {
    /// The meter id is not an identifier.
    BadMeterId(domain::TextProblem),
    /// The participant column is not a participant id written canonically.
    NotAnId(String),
    /// No participant has this id.
    UnknownParticipant(ParticipantId),
    /// The meter is a project's and the row names someone else.
    NotProjectOwner {
        /// The participant the row names.
        participant: ParticipantId,
        /// The project the meter is registered to.
        project: String,
        /// Its owner.
        owner: ParticipantId,
    },
    /// A seller's meter that no project of it registers.
    UnregisteredSellerMeter {
        /// The seller.
        participant: ParticipantId,
        /// Its role.
        role: Role,
    },
    /// A participant whose role meters nothing (grid, operator, regulator).
    RoleHasNoMeters {
        /// The participant.
        participant: ParticipantId,
        /// Its role.
        role: Role,
    },
    /// The meter is stored under another participant.
    OwnerChange {
        /// The participant the row names.
        participant: ParticipantId,
        /// Who it is stored under.
        stored: String,
    },
}

impl MeterProblem {
    /// The column the problem is in.
    pub fn field(&self) -> &'static str {
        match self {
            MeterProblem::BadMeterId(_) => "meter",
            _ => "participant",
        }
    }
}

impl fmt::Display for MeterProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MeterProblem::BadMeterId(problem) => write!(f, "{problem}"),
            MeterProblem::NotAnId(text) => write!(
                f,
                "`{}` is not a participant id (a whole number such as 7)",
                shown(text)
            ),
            MeterProblem::UnknownParticipant(id) => {
                write!(f, "participant {} does not exist", id.0)
            }
            MeterProblem::NotProjectOwner {
                participant,
                project,
                owner,
            } => write!(
                f,
                "the meter is registered to project {project}, owned by participant {}, not {}",
                owner.0, participant.0
            ),
            MeterProblem::UnregisteredSellerMeter { participant, role } => write!(
                f,
                "participant {} is a {role}, whose meters are its projects' registered meters, \
                 and no project registers this one",
                participant.0
            ),
            MeterProblem::RoleHasNoMeters { participant, role } => write!(
                f,
                "participant {} is a {role}, which has no meters",
                participant.0
            ),
            MeterProblem::OwnerChange {
                participant,
                stored,
            } => write!(
                f,
                "the meter is stored under participant {}, not {}: a meter does not change owner \
                 by upload",
                shown(stored),
                participant.0
            ),
        }
    }
}

/// One refused meter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterRefusal {
    /// The meter id, as uploaded.
    pub meter: String,
    /// Why.
    pub problem: MeterProblem,
}

impl fmt::Display for MeterRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "meter `{}`, field `{}`: {}",
            shown(&self.meter),
            self.problem.field(),
            self.problem
        )
    }
}

/// Why an upload is refused; nothing of it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadError {
    /// The month is outside [`MARKET_YEARS`].
    MonthOutsideMarket(YearMonth),
    /// The file has no data rows.
    NoRows,
    /// Meters that may not be stored as given, in meter order: at most [`MAX_REPORTED`] listed,
    /// `count` in all.
    Meters {
        /// The first refused meters.
        refused: Vec<MeterRefusal>,
        /// How many meters are refused in all.
        count: usize,
    },
}

impl fmt::Display for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UploadError::MonthOutsideMarket(month) => write!(
                f,
                "month {month} is outside the market's months, {:04}-01 to {:04}-12",
                MARKET_YEARS.start(),
                MARKET_YEARS.end()
            ),
            UploadError::NoRows => write!(f, "the file has no data rows, nothing imported"),
            UploadError::Meters { refused, count: n } => {
                write!(f, "{} refused, nothing imported", count(*n, "meter"))?;
                for r in refused {
                    write!(f, "\n  {r}")?;
                }
                if *n > refused.len() {
                    write!(f, "\n  ... and {} more", n - refused.len())?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for UploadError {}

/// Whether `month` is a month of the market ([`MARKET_YEARS`]). Checked before the file is
/// read.
pub fn check_market_month(month: YearMonth) -> Result<(), UploadError> {
    if MARKET_YEARS.contains(&month.year()) {
        Ok(())
    } else {
        Err(UploadError::MonthOutsideMarket(month))
    }
}

/// A participant id written canonically: decimal digits, no sign, no leading zero.
fn participant_id(text: &str) -> Option<ParticipantId> {
    let canonical = !text.is_empty()
        && text.len() <= 20
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !canonical {
        return None;
    }
    text.parse().ok().map(ParticipantId)
}

/// The problem of one meter stored under `participant`, if any.
fn problem(meter: &str, participant: &str, facts: &UploadFacts) -> Option<MeterProblem> {
    if let Err(e) = TextRule::IDENTIFIER.parse("meter", meter) {
        return Some(MeterProblem::BadMeterId(e.problem));
    }
    let Some(id) = participant_id(participant) else {
        return Some(MeterProblem::NotAnId(participant.to_owned()));
    };
    let Some(&role) = facts.participants.get(&id) else {
        return Some(MeterProblem::UnknownParticipant(id));
    };
    match facts.project_meters.get(meter) {
        Some((project, owner)) if *owner != id => {
            return Some(MeterProblem::NotProjectOwner {
                participant: id,
                project: project.clone(),
                owner: *owner,
            });
        }
        Some(_) => {}
        None if role.may_sell() => {
            return Some(MeterProblem::UnregisteredSellerMeter {
                participant: id,
                role,
            });
        }
        None if !matches!(role, Role::User | Role::RetailUser | Role::Retailer) => {
            return Some(MeterProblem::RoleHasNoMeters {
                participant: id,
                role,
            });
        }
        None => {}
    }
    let stored = facts.stored_owners.get(meter).into_iter().flatten();
    if let Some(other) = stored.into_iter().find(|s| s.as_str() != participant) {
        return Some(MeterProblem::OwnerChange {
            participant: id,
            stored: other.clone(),
        });
    }
    None
}

/// Checks a parsed upload against the rules of this module (see the module's documentation),
/// every meter, so one refusal lists all the bad ones.
pub fn check_upload(data: &MeterData, facts: &UploadFacts) -> Result<(), UploadError> {
    check_market_month(data.month())?;
    if data.meters().is_empty() {
        return Err(UploadError::NoRows);
    }
    let participants = data.participants();
    let mut refused = Vec::new();
    let mut n = 0;
    for meter in data.meters() {
        let participant = participants[meter.participant()].name();
        if let Some(problem) = problem(meter.name(), participant, facts) {
            n += 1;
            if refused.len() < MAX_REPORTED {
                refused.push(MeterRefusal {
                    meter: meter.name().to_owned(),
                    problem,
                });
            }
        }
    }
    if n > 0 {
        return Err(UploadError::Meters { refused, count: n });
    }
    Ok(())
}

/// Whether meters about to be registered to a project of `owner` may be: none has data stored
/// under another participant, since a meter never changes owner. The first that has is returned
/// as its index in `meters` and the participant it is stored under.
pub fn check_project_meters(
    owner: ParticipantId,
    meters: &[String],
    stored_owners: &BTreeMap<String, Vec<String>>,
) -> Result<(), (usize, String)> {
    let owner = owner.0.to_string();
    for (i, meter) in meters.iter().enumerate() {
        let stored = stored_owners.get(meter).into_iter().flatten();
        if let Some(other) = stored.into_iter().find(|s| **s != owner) {
            return Err((i, other.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_meters;

    /// A complete February 2024 (29 days) for each (meter, participant).
    fn month(meters: &[(&str, &str)]) -> MeterData {
        let mut csv = String::from("meter,participant,start,kwh\n");
        for (meter, participant) in meters {
            for i in 0..29 * 96 {
                let (day, q) = (i / 96 + 1, i % 96);
                csv.push_str(&format!(
                    "{meter},{participant},2024-02-{day:02}T{:02}:{:02},1\n",
                    q / 4,
                    q % 4 * 15
                ));
            }
        }
        parse_meters(csv.as_bytes(), YearMonth::parse("2024-02").unwrap()).unwrap()
    }

    /// Participants 1 generator (project 3301… with meter MG1), 2 user, 3 grid, 4 aggregator,
    /// 5 retailer; MU1 stored under 2.
    fn facts() -> UploadFacts {
        UploadFacts {
            participants: [
                (1, Role::Generator),
                (2, Role::User),
                (3, Role::Grid),
                (4, Role::Aggregator),
                (5, Role::Retailer),
            ]
            .into_iter()
            .map(|(id, role)| (ParticipantId(id), role))
            .collect(),
            project_meters: [(
                "MG1".to_owned(),
                ("33010000000000001".to_owned(), ParticipantId(1)),
            )]
            .into(),
            stored_owners: [("MU1".to_owned(), vec!["2".to_owned()])].into(),
        }
    }

    fn refusal(meters: &[(&str, &str)]) -> String {
        check_upload(&month(meters), &facts())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn owners_projects_and_consumers_pass() {
        let data = month(&[("MG1", "1"), ("MU1", "2"), ("MU2", "2"), ("MR1", "5")]);
        assert_eq!(check_upload(&data, &facts()), Ok(()));
    }

    #[test]
    fn each_rule_refuses_and_names_the_meter() {
        assert_eq!(
            refusal(&[("MG1", "1"), ("MX", "-1")]),
            "1 meter refused, nothing imported\n  meter `MX`, field `participant`: `-1` is not \
             a participant id (a whole number such as 7)"
        );
        assert_eq!(
            refusal(&[("MX", "07")]),
            "1 meter refused, nothing imported\n  meter `MX`, field `participant`: `07` is not \
             a participant id (a whole number such as 7)"
        );
        assert_eq!(
            refusal(&[("MX", "999999")]),
            "1 meter refused, nothing imported\n  meter `MX`, field `participant`: participant \
             999999 does not exist"
        );
        assert_eq!(
            refusal(&[("MG1", "4")]),
            "1 meter refused, nothing imported\n  meter `MG1`, field `participant`: the meter \
             is registered to project 33010000000000001, owned by participant 1, not 4"
        );
        assert_eq!(
            refusal(&[("MG9", "1")]),
            "1 meter refused, nothing imported\n  meter `MG9`, field `participant`: participant \
             1 is a generator, whose meters are its projects' registered meters, and no project \
             registers this one"
        );
        assert_eq!(
            refusal(&[("MN", "3")]),
            "1 meter refused, nothing imported\n  meter `MN`, field `participant`: participant \
             3 is a grid, which has no meters"
        );
        assert_eq!(
            refusal(&[("MU1", "5"), ("MU9", "\u{202E}2")]),
            "2 meters refused, nothing imported\n  meter `MU1`, field `participant`: the meter \
             is stored under participant 2, not 5: a meter does not change owner by upload\n  \
             meter `MU9`, field `participant`: `\\u{202e}2` is not a participant id (a whole \
             number such as 7)"
        );
        assert_eq!(
            refusal(&[("M\u{1}1", "2")]),
            "1 meter refused, nothing imported\n  meter `M\\u{1}1`, field `meter`: contains the \
             control character U+0001 at position 2"
        );
    }

    #[test]
    fn a_project_may_not_take_a_meter_stored_under_another() {
        let stored = facts().stored_owners;
        let meters = ["MG1".to_owned(), "MU1".to_owned()];
        assert_eq!(
            check_project_meters(ParticipantId(1), &meters, &stored),
            Err((1, "2".to_owned()))
        );
        assert_eq!(
            check_project_meters(ParticipantId(2), &meters, &stored),
            Ok(())
        );
    }

    #[test]
    fn empty_files_and_months_outside_the_market_are_refused() {
        let header = b"meter,participant,start,kwh\n";
        let empty = parse_meters(header, YearMonth::parse("2024-02").unwrap()).unwrap();
        assert_eq!(check_upload(&empty, &facts()), Err(UploadError::NoRows));
        for (text, ok) in [
            ("1999-12", false),
            ("2000-01", true),
            ("2099-12", true),
            ("2100-01", false),
            ("9999-12", false),
        ] {
            let m = YearMonth::parse(text).unwrap();
            assert_eq!(check_market_month(m).is_ok(), ok, "{text}");
        }
        assert_eq!(
            check_market_month(YearMonth::parse("9999-12").unwrap())
                .unwrap_err()
                .to_string(),
            "month 9999-12 is outside the market's months, 2000-01 to 2099-12"
        );
        // The month types refuse year 0 themselves.
        assert!(YearMonth::parse("0000-01").is_err());
    }
}
