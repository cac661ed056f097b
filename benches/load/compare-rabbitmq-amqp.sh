#!/usr/bin/env bash
# Switchyard's AMQP 0-9-1 gateway beside RabbitMQ: the AMQP scenarios of
# benches/compare/run, which this script now calls, against those two brokers only,
# without BENCHMARKS.md (summary on stdout, plots in OUT/plots).
#
#   benches/load/compare-rabbitmq-amqp.sh
#   REPS=3 DURATION=8 benches/load/compare-rabbitmq-amqp.sh
#   ONLY=amqp-durable REPS=3 DURATION=8 benches/load/compare-rabbitmq-amqp.sh
#
# Scenarios (ONLY): amqp-transient, amqp-confirms (run's amqp-pairs), amqp-open,
# amqp-durable (Switchyard's durable log with [store] fsync STORE_FSYNC, default batch,
# beside RabbitMQ's durable classic queues); see benches/compare/bench.py. Environment
# as benches/compare/run's; IO_BACKEND (uring) picks Switchyard's backend.
set -euo pipefail
ONLY="${ONLY:-amqp-transient,amqp-confirms,amqp-open,amqp-durable}"
export ONLY="${ONLY//amqp-confirms/amqp-pairs}"
export BROKERS="switchyard-${IO_BACKEND:-uring} rabbitmq" MD=-
exec "$(dirname "$0")/../compare/run"
