//! Placeholder: filled in with the codec (issue 5).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = data;
});
