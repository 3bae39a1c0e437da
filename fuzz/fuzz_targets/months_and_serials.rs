//! Months (settlement, exchange, registry) and certificate serials.
#![no_main]

#[allow(dead_code)]
#[path = "../../crates/settlement/tests/it/hostile_input.rs"]
mod settlement_hostile;

#[allow(dead_code)]
#[path = "../../crates/api/tests/it/hostile_input.rs"]
mod api_hostile;

libfuzzer_sys::fuzz_target!(
    init: lvdian_fuzz::write_seeds(api_hostile::month_and_serial_seeds()),
    |data: &[u8]| {
        settlement_hostile::check_month(data);
        api_hostile::check_months_and_serials(data);
    }
);
