//! Arbitrary bytes into an MQTT 5.0 decoder, or a server-side decoder (see
//! `switchyard_fuzz::decode` for how the first byte is used).
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_mqtt::Protocol;

fuzz_target!(|data: &[u8]| switchyard_fuzz::decode(data, Protocol::V5));
