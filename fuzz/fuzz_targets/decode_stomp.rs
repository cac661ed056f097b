//! Arbitrary bytes into STOMP decoders of every version and none (the CONNECT phase),
//! with default and with small limits: the decoder keeps its contract, every decoded
//! frame encodes and decodes back to itself, and where the stream is split changes
//! nothing (see `switchyard_stomp::fuzzing::check_decode` for how the first byte is used).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| switchyard_stomp::fuzzing::check_decode(data));
