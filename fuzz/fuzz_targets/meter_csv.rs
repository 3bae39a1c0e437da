//! `meters.csv` (`settlement::parse_meters`), whole, on threads and pushed in pieces.
#![no_main]

#[allow(dead_code)]
#[path = "../../crates/settlement/tests/it/hostile_input.rs"]
mod settlement_hostile;

libfuzzer_sys::fuzz_target!(
    init: lvdian_fuzz::write_seeds(settlement_hostile::meter_seeds()),
    |data: &[u8]| settlement_hostile::check_meter_csv(data)
);
