//! STOMP decode and encode benches (issue 4): placeholder until the codec lands.

fn main() {}
