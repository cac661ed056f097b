//! AMQP 0-9-1 codec benches (issue 5): placeholder until the codec lands.

fn main() {}
