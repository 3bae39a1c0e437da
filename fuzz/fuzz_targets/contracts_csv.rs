//! `contracts.csv` (`settlement::parse_contracts`).
#![no_main]

#[allow(dead_code)]
#[path = "../../crates/settlement/tests/it/hostile_input.rs"]
mod settlement_hostile;

libfuzzer_sys::fuzz_target!(
    init: lvdian_fuzz::write_seeds(settlement_hostile::contract_seeds()),
    |data: &[u8]| settlement_hostile::check_contracts_csv(data)
);
