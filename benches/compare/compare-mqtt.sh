#!/usr/bin/env bash
# Switchyard's MQTT beside Mosquitto and rumqttd, without BENCHMARKS.md: the MQTT part of
# benches/compare/run (issue 7), which this script now calls (it was a script of its own;
# the start/stop/median/table plumbing is in benchlib.py and report.py).
#
#   benches/compare/compare-mqtt.sh
#   REPS=3 DURATION=8 benches/compare/compare-mqtt.sh
#   ONLY=fanout-qos0 BROKERS="switchyard rumqttd" REPS=1 benches/compare/compare-mqtt.sh
#
# Scenario names (ONLY) as before, mapped to run's: qos0-closed -> mqtt-qos0-unbounded,
# qos0-backlog -> mqtt-qos0-pairs, qos1-closed -> mqtt-qos1-pairs, qos1-open ->
# mqtt-qos1-open, fanout-qos0 -> mqtt-fanout-qos0, fanout-open -> mqtt-fanout-open; run's
# own names work too. Broker "switchyard" is Switchyard on IO_BACKEND (uring). The
# environment of run (REPS, DURATION, WARMUP, RATE, FANOUT_RATE, SHARDS, OUT,
# SWITCHYARD_BIN, LOAD_BIN, MOSQUITTO, RUMQTTD) applies; the summary goes to stdout, the
# plots to OUT/plots.
set -euo pipefail
ONLY="${ONLY:-qos0-closed,qos0-backlog,qos1-closed,qos1-open,fanout-qos0,fanout-open}"
ONLY="$(sed -E 's/(^|,)qos0-closed/\1mqtt-qos0-unbounded/; s/(^|,)qos0-backlog/\1mqtt-qos0-pairs/;
    s/(^|,)qos1-closed/\1mqtt-qos1-pairs/; s/(^|,)(qos1-open|fanout-qos0|fanout-open)/\1mqtt-\2/g' <<<"$ONLY")"
BROKERS="${BROKERS:-switchyard mosquitto rumqttd}"
BROKERS="${BROKERS//switchyard/switchyard-${IO_BACKEND:-uring}}"
export ONLY BROKERS MD=-
exec "$(dirname "$0")/run"
