//! WebSocket (RFC 6455), server side: the upgrade request parser, the message decoder
//! (frames, fragments, control frames, close bodies) and the encoders. Byte 0 picks the
//! check, bytes 1-2 where the input is split; see
//! `switchyard_websocket::fuzzing::check_fuzz_input`:
//! 0 = handshake, then frames from the bytes after the request; 1 = a server's message
//! decoder; 2 = a client's message decoder; 3 = valid client streams and server
//! encodings from `arbitrary`, which must decode into the messages they were built from.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| switchyard_websocket::fuzzing::check_fuzz_input(data));
