//! Valid packets of both versions built by `arbitrary`: encode then decode must give them
//! back, one by one and as one stream.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| switchyard_fuzz::round_trip(data));
