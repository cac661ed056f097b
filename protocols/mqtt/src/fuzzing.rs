//! Generators of valid packets for fuzzing and property tests.
