#!/usr/bin/env bash
# Installs rumqttd (bytebeamio/rumqtt's MQTT broker) from crates.io into a cache folder,
# for the side-by-side MQTT benchmark (issue 7). Does nothing if that version is there.
# Prints the binary's path as its last line of stdout (cargo's output goes to stderr).
#
#   benches/compare/install-rumqttd.sh     # -> ~/.cache/switchyard-bench/rumqttd-0.20.0/bin/rumqttd
#   RUMQTTD_ROOT=/opt/rumqttd benches/compare/install-rumqttd.sh
#
# rumqttd 0.20.0 (March 2024) is the newest release on crates.io. Its own Cargo.lock is
# used (--locked), with one change: `cargo install rumqttd --locked` fails on Rust 1.95,
# because the locked metrics 0.22.1 no longer compiles (error[E0521]: borrowed data
# escapes outside of associated function, in metrics' recorder/mod.rs: newer compilers
# refuse its lifetime cast). metrics 0.22.4 (April 2025) fixed it
# (metrics-rs/metrics#564), so the lock is updated to metrics 0.22.4 and nothing else
# but what that pulls in (ahash 0.8.7 -> 0.8.12, zerocopy 0.7.32 -> 0.8.27). Without
# --locked every dependency would float to its newest compatible release instead.
# So: `cargo fetch` downloads the crate (through a throw-away package that depends on
# it), the crate's .crate archive is unpacked into the build folder, the lock is
# updated, and `cargo install --path <it> --locked --root <cache>` builds it.
#
# Default features (rustls and websocket): the benchmark's configuration uses neither,
# but it is the binary users get from `cargo install rumqttd`. Built under `nice` with
# -j2 in its own folder (RUMQTTD_BUILD_DIR, default /tmp/switchyard-rumqttd-build,
# removed after a successful install), so that it neither touches nor locks the
# workspace's target/. On our 2-core machine a clean build took 134 s of wall time
# (3.5 min of CPU; about 270 crates), and about 4.5 min while another session's cargo
# build shared the cores. Cargo warns that futures-util 0.3.30 and spin 0.9.8 in the
# lock are yanked: harmless here.
#
# Environment:
#   RUMQTTD_VERSION (0.20.0)   the crates.io version (the metrics fix is applied whenever
#                              the lock has metrics 0.22.0 to 0.22.3)
#   RUMQTTD_ROOT               install root (default
#                              ${XDG_CACHE_HOME:-~/.cache}/switchyard-bench/rumqttd-VERSION);
#                              the binary is RUMQTTD_ROOT/bin/rumqttd
#   RUMQTTD_BUILD_DIR          build folder (default /tmp/switchyard-rumqttd-build)
#   JOBS (2)                   cargo -j
set -euo pipefail

RUMQTTD_VERSION="${RUMQTTD_VERSION:-0.20.0}"
RUMQTTD_ROOT="${RUMQTTD_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard-bench/rumqttd-$RUMQTTD_VERSION}"
RUMQTTD_BUILD_DIR="${RUMQTTD_BUILD_DIR:-/tmp/switchyard-rumqttd-build}"
JOBS="${JOBS:-2}"
BIN="$RUMQTTD_ROOT/bin/rumqttd"

# `rumqttd --version` prints "rumqttd 0.20.0".
if [[ -x "$BIN" ]] && [[ "$("$BIN" --version 2>/dev/null)" == "rumqttd $RUMQTTD_VERSION" ]]; then
    echo "$BIN"
    exit 0
fi
command -v cargo >/dev/null || { echo "cargo is missing: rumqttd is built from crates.io" >&2; exit 1; }

start=$SECONDS
echo "==> rumqttd $RUMQTTD_VERSION from crates.io into $RUMQTTD_ROOT (build in $RUMQTTD_BUILD_DIR, -j$JOBS, nice)" >&2
mkdir -p "$RUMQTTD_BUILD_DIR"

# The crate's archive, downloaded by cargo into its registry cache.
fetcher="$RUMQTTD_BUILD_DIR/fetch"
mkdir -p "$fetcher/src"
cat >"$fetcher/Cargo.toml" <<EOF
[package]
name = "fetch-rumqttd"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
rumqttd = "=$RUMQTTD_VERSION"

[workspace]
EOF
: >"$fetcher/src/lib.rs"
cargo fetch --manifest-path "$fetcher/Cargo.toml" >&2
crate_file="$(ls -1 "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"rumqttd-$RUMQTTD_VERSION.crate" 2>/dev/null | head -1)"
[[ -n "$crate_file" ]] || { echo "cargo fetch did not leave rumqttd-$RUMQTTD_VERSION.crate" >&2; exit 1; }

src="$RUMQTTD_BUILD_DIR/rumqttd-$RUMQTTD_VERSION"
rm -rf "$src"
tar -xzf "$crate_file" -C "$RUMQTTD_BUILD_DIR"
[[ -f "$src/Cargo.lock" ]] || { echo "$crate_file has no Cargo.lock" >&2; exit 1; }

# metrics 0.22.0-0.22.3 do not compile on current Rust; 0.22.4 does (see above).
if grep -A1 '^name = "metrics"$' "$src/Cargo.lock" | grep -qE '^version = "0\.22\.[0-3]"$'; then
    echo "==> Cargo.lock: metrics -> 0.22.4 (the locked one does not compile on $(rustc --version))" >&2
    (cd "$src" && cargo update -p metrics --precise 0.22.4 >&2)
fi

mkdir -p "$RUMQTTD_ROOT"
CARGO_TARGET_DIR="$RUMQTTD_BUILD_DIR/target" nice -n 10 \
    cargo install --path "$src" --locked --root "$RUMQTTD_ROOT" -j "$JOBS" --force >&2
cp "$src/Cargo.lock" "$RUMQTTD_ROOT/Cargo.lock.used"
echo "==> rumqttd $RUMQTTD_VERSION built in $((SECONDS - start)) s; the lock it was built with: $RUMQTTD_ROOT/Cargo.lock.used" >&2
rm -rf "$RUMQTTD_BUILD_DIR"

[[ "$("$BIN" --version 2>/dev/null)" == "rumqttd $RUMQTTD_VERSION" ]] ||
    { echo "installed, but $BIN --version does not say rumqttd $RUMQTTD_VERSION" >&2; exit 1; }
echo "$BIN"
