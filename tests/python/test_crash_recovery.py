"""The crash test of the durable log: publishers in AMQP (publisher confirms), STOMP
(persistent SEND with receipts) and MQTT (QoS 1, PUBACK; to a durable queue bound to
amq.topic, and to an offline MQTT persistent session) write numbered messages while the
gateway is killed with SIGKILL at a random moment; after each restart every message
whose confirm or RECEIPT came back must be delivered (duplicates allowed: AMQP and
STOMP are at-least-once, and a message whose confirm was lost in the crash may be
published again by a real client). CRASH_CYCLES cycles (default 20); CRASH_SEED fixes
the random moments."""

import os
import random
import threading
import time

import pika
import pytest

import support
from amqp_support import connect
from conftest import wait_port
from stomp_support import Client as StompClient

CYCLES = int(os.environ.get("CRASH_CYCLES", "20"))
SEED = int(os.environ.get("CRASH_SEED", str(random.randrange(1 << 30))))
# Each publisher stops here (keeps each cycle's drain short); the kill comes first in
# most cycles.
MAX_PER_PUBLISHER = 1500
PERSISTENT = pika.BasicProperties(delivery_mode=2)


class AmqpPublisher(threading.Thread):
    """Publishes `name-N` with confirms until the connection dies; `confirmed` holds the
    bodies the broker acknowledged."""

    def __init__(self, gw, queue, name):
        super().__init__(daemon=True)
        self.gw, self.queue, self.name = gw, queue, name
        self.confirmed = []
        self.n = 0

    def run(self):
        try:
            conn = connect(self.gw)
            ch = conn.channel()
            ch.confirm_delivery()
            while self.n < MAX_PER_PUBLISHER:
                body = f"{self.name}-{self.n}".encode()
                self.n += 1
                ch.basic_publish("", self.queue, body, PERSISTENT)  # returns once acked
                self.confirmed.append(body)
        except Exception:  # the kill ends every publisher
            pass


class StompPublisher(threading.Thread):
    """Sends persistent `name-N` with a receipt each; `confirmed` holds the bodies whose
    RECEIPT came back."""

    def __init__(self, gw, queue, name):
        super().__init__(daemon=True)
        self.gw, self.queue, self.name = gw, queue, name
        self.confirmed = []
        self.n = 0

    def run(self):
        try:
            client = StompClient(self.gw)
            while self.n < MAX_PER_PUBLISHER:
                body = f"{self.name}-{self.n}".encode()
                self.n += 1
                client.send(f"/queue/{self.queue}", body, headers={"persistent": "true"})
                self.confirmed.append(body)
        except (Exception, AssertionError):
            pass


class MqttPublisher(threading.Thread):
    """Publishes `name-N` at QoS 1 to `topic`; `confirmed` holds the bodies whose PUBACK
    came back."""

    def __init__(self, gw, topic, name):
        super().__init__(daemon=True)
        self.gw, self.topic, self.name = gw, topic, name
        self.confirmed = []
        self.n = 0

    def run(self):
        try:
            client = support.Client(self.gw)
            while self.n < MAX_PER_PUBLISHER:
                body = f"{self.name}-{self.n}".encode()
                self.n += 1
                # returns once PUBACKed; a dead connection fails it within a second
                client.publish(self.topic, body, qos=1, timeout=1)
                self.confirmed.append(body)
        except (Exception, AssertionError):
            pass


def drain_all(gw, queue):
    """Every message in `queue` (acknowledged, so the next cycle starts empty)."""
    conn = connect(gw)
    ch = conn.channel()
    count = ch.queue_declare(queue, durable=True, passive=True).method.message_count
    got = []
    for method, _, body in ch.consume(queue, inactivity_timeout=5) if count else ():
        assert method is not None, f"{len(got)} of {count} messages arrived"
        got.append(body)
        if len(got) == count:
            ch.basic_ack(method.delivery_tag, multiple=True)
            break
    ch.cancel()
    # A confirmed publish to the queue: the log has the acks before the next kill.
    ch.confirm_delivery()
    ch.basic_publish("", queue, b"barrier", PERSISTENT)
    method, _, body = ch.basic_get(queue)
    assert body == b"barrier"
    ch.basic_ack(method.delivery_tag)
    ch.basic_publish("", queue, b"barrier", PERSISTENT)
    method, _, _ = ch.basic_get(queue)
    ch.basic_ack(method.delivery_tag)
    conn.close()
    return [b for b in got if b != b"barrier"]


def test_confirmed_messages_survive_random_sigkills(make_amqp_broker):
    gw = make_amqp_broker(store={"enabled": True})
    if getattr(gw, "external", False):
        pytest.skip("kills and restarts the broker")
    rng = random.Random(SEED)
    amqp_q, stomp_q, mqtt_q = (support.uid(p) for p in ("crash-a", "crash-s", "crash-m"))
    topic = support.uid("crash")
    conn = connect(gw)
    ch = conn.channel()
    ch.queue_declare(amqp_q, durable=True)
    ch.queue_declare(stomp_q, durable=True)
    ch.queue_declare(mqtt_q, durable=True)
    ch.queue_bind(mqtt_q, "amq.topic", f"{topic}.#")
    conn.close()
    # An MQTT 3.1.1 persistent session, offline while the publishers run: what it holds
    # is in the log too.
    session_id = support.uid("crash-session")
    sub = support.Client(gw, client_id=session_id, version=support.V311, clean=False)
    sub.subscribe(f"{topic}/session/#", qos=1)
    sub.disconnect()
    totals = {"confirmed": 0, "duplicates": 0}
    for cycle in range(CYCLES):
        publishers = [AmqpPublisher(gw, amqp_q, f"a{cycle}.{i}") for i in range(2)]
        publishers += [StompPublisher(gw, stomp_q, f"s{cycle}.{i}") for i in range(2)]
        publishers += [MqttPublisher(gw, f"{topic}/m", f"m{cycle}.{i}") for i in range(2)]
        to_session = [MqttPublisher(gw, f"{topic}/session/x", f"p{cycle}.{i}")
                      for i in range(2)]
        for p in publishers + to_session:
            p.start()
        time.sleep(rng.uniform(0.02, 0.3))  # the random moment of the crash
        # Killed under the publishers' feet (their clients are not thread-safe: closing
        # them from here while they publish would hang), which ends them.
        gw.kill_and_restart()
        for p in publishers + to_session:
            p.join(10)
            assert not p.is_alive(), f"cycle {cycle}: a publisher is stuck (seed {SEED})"
        support.close_all()
        wait_port(gw, gw.amqp_port)
        wait_port(gw, gw.stomp_port)
        delivered = drain_all(gw, amqp_q) + drain_all(gw, stomp_q) + drain_all(gw, mqtt_q)
        seen = set(delivered)
        totals["duplicates"] += len(delivered) - len(seen)
        for p in publishers:
            missing = [b for b in p.confirmed if b not in seen]
            assert not missing, (f"cycle {cycle} (seed {SEED}): {len(missing)} confirmed "
                                 f"messages lost, first {missing[:3]}\n{gw.log_tail()}")
            totals["confirmed"] += len(p.confirmed)
            # nothing that was never published
            assert all(int(b.split(b"-")[1]) < p.n for b in delivered
                       if b.startswith(p.name.encode() + b"-"))
        # The session comes back with every message whose PUBACK came back.
        sub = support.Client(gw, client_id=session_id, version=support.V311, clean=False)
        assert sub.session_present, f"cycle {cycle} (seed {SEED}): the session was lost"
        want = {b for p in to_session for b in p.confirmed}
        got = set()
        while not want <= got:
            try:
                got.add(sub.expect_message().payload)
            except AssertionError:
                missing = sorted(want - got)
                raise AssertionError(
                    f"cycle {cycle} (seed {SEED}): {len(missing)} PUBACKed messages "
                    f"missing from the session, first {missing[:3]}\n{gw.log_tail()}"
                ) from None
        sub.disconnect()
        totals["confirmed"] += len(want)
    assert totals["confirmed"] > 0, "no publish was ever confirmed"
    print(f"crash test: {CYCLES} cycles, seed {SEED}, {totals['confirmed']} confirmed "
          f"messages, all delivered; {totals['duplicates']} duplicates")
