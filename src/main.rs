//! The `switchyard` binary.

fn main() {
    println!(
        "switchyard {}: the MQTT 3.1.1/5.0 codec is built; the gateway server is not yet",
        env!("CARGO_PKG_VERSION")
    );
}
