//! Participants (市场主体), their roles and provinces, and the projects (generating units) they own.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::DomainError;

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

numeric_id!(
    /// A market participant's id.
    ParticipantId,
    "P"
);
numeric_id!(
    /// A trading session's id.
    SessionId,
    "S"
);
numeric_id!(
    /// An order's id: the sequence number the session gave it on submission.
    OrderId,
    "O"
);
numeric_id!(
    /// A contract's id.
    ContractId,
    "C"
);

/// What a participant is in the market (spec §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 发电企业: owns projects and sells their green power.
    Generator,
    /// 聚合商: sells for many distributed-PV projects.
    Aggregator,
    /// 一级用户: a wholesale user that buys directly.
    User,
    /// 二级用户: a retail user that buys only through a retailer.
    RetailUser,
    /// 售电公司: a retailer buying wholesale for its retail users.
    Retailer,
    /// 电网企业: meters, bills and pays.
    Grid,
    /// 交易中心: the exchange that runs sessions and settlement.
    Operator,
    /// 监管机构: reads everything; every read of sealed data is logged.
    Regulator,
}

impl Role {
    /// All roles, in declaration order.
    pub const ALL: [Role; 8] = [
        Role::Generator,
        Role::Aggregator,
        Role::User,
        Role::RetailUser,
        Role::Retailer,
        Role::Grid,
        Role::Operator,
        Role::Regulator,
    ];

    /// The role's name as written in files and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Generator => "generator",
            Role::Aggregator => "aggregator",
            Role::User => "user",
            Role::RetailUser => "retail_user",
            Role::Retailer => "retailer",
            Role::Grid => "grid",
            Role::Operator => "operator",
            Role::Regulator => "regulator",
        }
    }

    /// Whether this role may sell green power on the exchange (it owns or aggregates projects).
    pub fn may_sell(self) -> bool {
        matches!(self, Role::Generator | Role::Aggregator)
    }

    /// Whether this role may buy green power on the exchange. Retail users buy only through
    /// their retailer, so they may not.
    pub fn may_buy(self) -> bool {
        matches!(self, Role::User | Role::Retailer)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Role, DomainError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                DomainError::invalid("role", format!("unknown role `{}`", crate::shown(s)))
            })
    }
}

/// A province, by its short upper-case code (`ZJ` for Zhejiang, `QH` for Qinghai).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Province(String);

impl Province {
    /// Parses a code of 2 to 8 upper-case ASCII letters.
    pub fn parse(code: &str) -> Result<Province, DomainError> {
        let ok = (2..=8).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_uppercase());
        if !ok {
            return Err(DomainError::invalid(
                "province",
                format!(
                    "`{}` is not a code of 2 to 8 upper-case letters, such as ZJ",
                    crate::shown(code)
                ),
            ));
        }
        Ok(Province(code.to_owned()))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Province {
    type Error = DomainError;
    fn try_from(code: String) -> Result<Province, DomainError> {
        Province::parse(&code)
    }
}

impl From<Province> for String {
    fn from(p: Province) -> String {
        p.0
    }
}

impl fmt::Display for Province {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A market participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// Its id.
    pub id: ParticipantId,
    /// Its registered name.
    pub name: String,
    /// What it is in the market.
    pub role: Role,
    /// The province it belongs to.
    pub province: Province,
}

/// A project's 17-digit filing code (项目备案编码), the first part of its certificates' serials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProjectCode([u8; 17]);

impl ProjectCode {
    /// Parses exactly 17 ASCII digits.
    pub fn parse(code: &str) -> Result<ProjectCode, DomainError> {
        let bytes: [u8; 17] = code
            .as_bytes()
            .try_into()
            .ok()
            .filter(|b: &[u8; 17]| b.iter().all(u8::is_ascii_digit))
            .ok_or_else(|| {
                DomainError::invalid(
                    "filing_code",
                    format!("`{}` is not 17 digits", crate::shown(code)),
                )
            })?;
        Ok(ProjectCode(bytes))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("digits are ASCII")
    }
}

impl TryFrom<String> for ProjectCode {
    type Error = DomainError;
    fn try_from(code: String) -> Result<ProjectCode, DomainError> {
        ProjectCode::parse(&code)
    }
}

impl From<ProjectCode> for String {
    fn from(code: ProjectCode) -> String {
        code.as_str().to_owned()
    }
}

impl fmt::Display for ProjectCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A generating technology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Technology {
    /// 陆上风电.
    WindOnshore,
    /// 海上风电.
    WindOffshore,
    /// 集中式光伏.
    PvCentral,
    /// 分布式光伏.
    PvDistributed,
    /// 水电.
    Hydro,
    /// 生物质.
    Biomass,
    /// 光热 and other renewables.
    Other,
}

impl Technology {
    /// The name used in files and the API: `wind_offshore`, `pv_distributed`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            Technology::WindOnshore => "wind_onshore",
            Technology::WindOffshore => "wind_offshore",
            Technology::PvCentral => "pv_central",
            Technology::PvDistributed => "pv_distributed",
            Technology::Hydro => "hydro",
            Technology::Biomass => "biomass",
            Technology::Other => "other",
        }
    }
}

/// A generating unit (项目) whose metered output can be sold as green power.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// The filing code.
    pub code: ProjectCode,
    /// Its technology.
    pub technology: Technology,
    /// Installed capacity in kW.
    pub capacity_kw: u64,
    /// Where it is.
    pub province: Province,
    /// The generator or aggregator that sells its output.
    pub owner: ParticipantId,
    /// Whether it receives a state subsidy (补贴项目).
    pub subsidised: bool,
    /// The meters measuring its on-grid energy.
    pub meters: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_validated() {
        assert_eq!(
            ProjectCode::parse("33010000000000001").unwrap().as_str(),
            "33010000000000001"
        );
        assert!(ProjectCode::parse("3301000000000000").is_err());
        assert!(ProjectCode::parse("3301000000000000x").is_err());
        assert_eq!(Province::parse("ZJ").unwrap().as_str(), "ZJ");
        assert!(Province::parse("zj").is_err());
        assert!(Province::parse("Z").is_err());
    }

    #[test]
    fn roles_parse_and_know_their_side() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!(Role::Generator.may_sell() && !Role::Generator.may_buy());
        assert!(Role::Retailer.may_buy());
        assert!(!Role::RetailUser.may_buy() && !Role::RetailUser.may_sell());
        assert!(!Role::Grid.may_buy() && !Role::Operator.may_sell());
    }
}
