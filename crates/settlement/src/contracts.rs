//! The month's contracts: a validating parser for `contracts.csv`.
//!
//! `contract,seller,buyer,mwh,energy_price,env_price,comp_price,carry_kwh` with a header
//! (formats.md). Like meter data, a file with any bad row imports nothing; every bad row is
//! reported with its 1-based line number, field and reason.

use std::collections::HashMap;
use std::fmt;

use domain::{Kwh, Price};

use crate::meters::{MAX_REPORTED, count};

/// The header `contracts.csv` must start with.
pub const CONTRACTS_HEADER: &str =
    "contract,seller,buyer,mwh,energy_price,env_price,comp_price,carry_kwh";

const FIELDS: [&str; 8] = [
    "contract",
    "seller",
    "buyer",
    "mwh",
    "energy_price",
    "env_price",
    "comp_price",
    "carry_kwh",
];

/// One contract's terms for the month being settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractTerms {
    /// The contract's id; lines of the result are sorted by it (byte order).
    pub id: String,
    /// The seller, as named in the meter file.
    pub seller: String,
    /// The buyer, as named in the meter file.
    pub buyer: String,
    /// `C_k`: the contract's volume for the month.
    pub volume: Kwh,
    /// 电能量价格: price of the energy, fen/MWh.
    pub energy_price: Price,
    /// 绿色环境价值: price of the environmental value, fen/MWh.
    pub env_price: Price,
    /// 偏差补偿价格: compensation per MWh of shortfall, fen/MWh.
    pub comp_price: Price,
    /// `carry_in_k`: the sub-MWh remainder carried in from last month, 0–999 kWh.
    pub carry_in: Kwh,
    /// Of `volume`, the energy lost on corridors on the way to the buyer (an inter-provincial
    /// contract of a coupled session, spec §3.5): `volume` is what the seller sends, `volume −
    /// loss` what the buyer receives. Zero within a province and in `contracts.csv`.
    pub loss: Kwh,
}

/// A bad row of `contracts.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractError {
    /// 1-based line number (the header is line 1).
    pub line: u64,
    /// The column, when the problem is in one.
    pub field: Option<&'static str>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ContractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field {
            Some(field) => write!(f, "line {}, field `{field}`: {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

/// Why a contract file was refused; nothing of it was imported.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContractErrors {
    /// Bad rows in line order, at most [`MAX_REPORTED`].
    pub rows: Vec<ContractError>,
    /// How many rows are bad in all.
    pub bad_rows: usize,
}

impl ContractErrors {
    fn push(&mut self, line: u64, field: Option<&'static str>, reason: impl Into<String>) {
        self.bad_rows += 1;
        if self.rows.len() < MAX_REPORTED {
            self.rows.push(ContractError {
                line,
                field,
                reason: reason.into(),
            });
        }
    }
}

impl fmt::Display for ContractErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, nothing imported", count(self.bad_rows, "bad row"))?;
        for error in &self.rows {
            write!(f, "\n  {error}")?;
        }
        if self.bad_rows > self.rows.len() {
            write!(f, "\n  ... and {} more", self.bad_rows - self.rows.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for ContractErrors {}

/// Parses and validates `contracts.csv`; returns the contracts in file order.
///
/// Refuses the whole file if any row is bad: not 8 fields, an empty or quoted name, the same
/// participant as seller and buyer, `mwh` not a non-negative MWh with at most 3 decimals or
/// beyond `Kwh::MAX_CONTRACT_MONTH` (96,000,000 MWh), a price not yuan/MWh with at most 2
/// decimals or beyond ±100,000.00, `carry_kwh` not a whole number 0–999, or a contract id
/// used twice. Empty lines are skipped; `\r\n` line ends and a UTF-8 byte-order mark are allowed.
pub fn parse_contracts(bytes: &[u8]) -> Result<Vec<ContractTerms>, ContractErrors> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut errors = ContractErrors::default();
    let mut contracts = Vec::new();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut lines = bytes.split(|&b| b == b'\n');
    let header = lines.next().map(trim_cr).unwrap_or_default();
    if header != CONTRACTS_HEADER.as_bytes() {
        let found = String::from_utf8_lossy(header);
        errors.push(
            1,
            None,
            format!("the header must be `{CONTRACTS_HEADER}`, found `{found}`"),
        );
        return Err(errors);
    }
    for (i, raw) in lines.enumerate() {
        let line = i as u64 + 2;
        let raw = trim_cr(raw);
        if raw.is_empty() {
            continue;
        }
        let Ok(text) = std::str::from_utf8(raw) else {
            errors.push(line, None, "is not UTF-8");
            continue;
        };
        match parse_row(text) {
            Ok(contract) => match first_line.get(&contract.id) {
                Some(&first) => errors.push(
                    line,
                    Some("contract"),
                    format!("`{}` is already used on line {first}", contract.id),
                ),
                None => {
                    first_line.insert(contract.id.clone(), line);
                    contracts.push(contract);
                }
            },
            Err((field, reason)) => errors.push(line, field, reason),
        }
    }
    if errors.bad_rows > 0 {
        return Err(errors);
    }
    Ok(contracts)
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

type FieldError = (Option<&'static str>, String);

fn parse_row(text: &str) -> Result<ContractTerms, FieldError> {
    let fields: Vec<&str> = text.split(',').collect();
    if fields.len() != FIELDS.len() {
        return Err((
            None,
            format!(
                "{} fields, expected {} ({})",
                fields.len(),
                FIELDS.len(),
                FIELDS.join(",")
            ),
        ));
    }
    let name = |i: usize| -> Result<String, FieldError> {
        let value = fields[i];
        if value.is_empty() {
            return Err((Some(FIELDS[i]), "is empty".into()));
        }
        if value.contains('"') {
            return Err((
                Some(FIELDS[i]),
                format!("`{value}` is not a plain name (quoted fields are not supported)"),
            ));
        }
        Ok(value.to_owned())
    };
    let price = |i: usize| {
        Price::parse_yuan_per_mwh(fields[i]).map_err(|e| (Some(FIELDS[i]), e.to_string()))
    };
    let id = name(0)?;
    let seller = name(1)?;
    let buyer = name(2)?;
    if seller == buyer {
        return Err((
            Some("buyer"),
            format!("`{buyer}` is also the seller of this contract"),
        ));
    }
    // A month of a contract: up to 96 periods of the volume bound (spec §1).
    let volume =
        Kwh::parse_contract_month_mwh(fields[3]).map_err(|e| (Some("mwh"), e.to_string()))?;
    let energy_price = price(4)?;
    let env_price = price(5)?;
    let comp_price = price(6)?;
    let carry = fields[7];
    let carry_in = carry
        .parse::<u16>()
        .ok()
        .filter(|&c| c <= 999 && !carry.is_empty() && carry.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            (
                Some("carry_kwh"),
                format!("`{carry}` is not a whole number of kWh from 0 to 999"),
            )
        })?;
    Ok(ContractTerms {
        id,
        seller,
        buyer,
        volume,
        energy_price,
        env_price,
        comp_price,
        carry_in: Kwh(i64::from(carry_in)),
        loss: Kwh::ZERO,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_contract() {
        let file = format!("{CONTRACTS_HEADER}\r\nc1,G1,U1,1250.125,420.50,50,30.00,340\r\n");
        let contracts = parse_contracts(file.as_bytes()).unwrap();
        assert_eq!(
            contracts,
            vec![ContractTerms {
                id: "c1".into(),
                seller: "G1".into(),
                buyer: "U1".into(),
                volume: Kwh(1_250_125),
                energy_price: Price(42_050),
                env_price: Price(5_000),
                comp_price: Price(3_000),
                carry_in: Kwh(340),
                loss: Kwh::ZERO,
            }]
        );
    }
}
