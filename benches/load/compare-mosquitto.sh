#!/usr/bin/env bash
# Switchyard beside Debian's Mosquitto (issue 3's first figures): the QoS 0 and QoS 1
# pairs of benches/compare/run, which this script now calls, against those two brokers
# only, without BENCHMARKS.md (summary on stdout, plots in OUT/plots).
#
#   benches/load/compare-mosquitto.sh
#   REPS=3 DURATION=8 benches/load/compare-mosquitto.sh
#
# Scenarios: mqtt-qos0-unbounded (QoS 0 closed loop, no backlog bound), mqtt-qos1-pairs,
# mqtt-qos1-open (RATE msg/s per publisher); see benches/compare/bench.py. Environment as
# benches/compare/run's; IO_BACKEND (uring) picks Switchyard's backend.
set -euo pipefail
export ONLY="${ONLY:-mqtt-qos0-unbounded,mqtt-qos1-pairs,mqtt-qos1-open}"
export BROKERS="switchyard-${IO_BACKEND:-uring} mosquitto" MD=-
exec "$(dirname "$0")/../compare/run"
