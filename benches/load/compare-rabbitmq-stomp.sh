#!/usr/bin/env bash
# Switchyard's STOMP gateway beside RabbitMQ's STOMP plugin (issue 4): the STOMP scenarios
# of benches/compare/run, which this script now calls, against those two brokers only,
# without BENCHMARKS.md (summary on stdout, plots in OUT/plots).
#
#   benches/load/compare-rabbitmq-stomp.sh
#   REPS=3 DURATION=8 benches/load/compare-rabbitmq-stomp.sh
#
# Scenarios (ONLY): stomp-queue-auto, stomp-queue-receipts (run's stomp-pairs),
# stomp-topic-open; see benches/compare/bench.py. Environment as benches/compare/run's;
# IO_BACKEND (uring) picks Switchyard's backend.
set -euo pipefail
ONLY="${ONLY:-stomp-queue-auto,stomp-queue-receipts,stomp-topic-open}"
export ONLY="${ONLY//stomp-queue-receipts/stomp-pairs}"
export BROKERS="switchyard-${IO_BACKEND:-uring} rabbitmq" MD=-
exec "$(dirname "$0")/../compare/run"
