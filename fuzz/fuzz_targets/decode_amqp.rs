//! Arbitrary bytes into AMQP 0-9-1 decoders at several frame-max and channel-max
//! settings: the protocol-header reader answers right, the decoder keeps its contract,
//! every decoded frame (methods parsed to their structs) re-encodes canonically and
//! decodes back to itself, and where the stream is split changes nothing (see
//! `switchyard_amqp::fuzzing::check_decode` for how the first two bytes are used).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| switchyard_amqp::fuzzing::check_decode(data));
