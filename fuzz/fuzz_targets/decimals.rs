//! Decimal quantities, prices and money (`Kwh`, `Price`, `Fen`).
#![no_main]

#[allow(dead_code)]
#[path = "../../crates/domain/tests/hostile_input.rs"]
mod domain_hostile;

libfuzzer_sys::fuzz_target!(
    init: lvdian_fuzz::write_seeds(domain_hostile::decimal_seeds()),
    |data: &[u8]| domain_hostile::check_decimals(data)
);
