//! Differential fuzzing against `mqttbytes` 0.6: see `switchyard_fuzz::differential`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    switchyard_fuzz::differential::run(data);
});
