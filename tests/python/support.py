"""Test helpers: a paho-mqtt 2.x client on paho's loop thread with reconnection off (a
client taken over must stay off), whose events land in queues the tests wait on with
timeouts.

    c = Client(gw, version=V5)             # connects, asserts CONNACK success
    c.subscribe("a/#", qos=1)              # waits for SUBACK, returns the reason codes
    c.publish("a/b", b"x", qos=1)          # waits for PUBACK/PUBCOMP
    m = c.expect_message()                 # paho MQTTMessage, or AssertionError
"""

import itertools
import os
import queue
import socket
import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

import mqtt_raw

V311 = mqtt.MQTTv311
V5 = mqtt.MQTTv5
VERSIONS = [V311, V5]
VERSION_IDS = ["v311", "v5"]
TIMEOUT = float(os.environ.get("SWITCHYARD_TEST_TIMEOUT", "5"))
# How long to wait when proving that something does NOT arrive.
ABSENCE = 0.3

_open = []  # every client made, closed by the autouse fixture in conftest
_counter = itertools.count()


def uid(prefix="t"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}-{next(_counter)}"


def properties(packet_type, **values):
    p = Properties(packet_type)
    for name, value in values.items():
        setattr(p, name, value)
    return p


def reason(packet_type, name):
    return ReasonCode(packet_type, name)


def wait_until(predicate, timeout=TIMEOUT, interval=0.05, what="condition"):
    """Polls `predicate` until it returns a true value (returned) or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class Client:
    """A paho client connected to `gw`. `connect_props` are MQTT 5 CONNECT properties by
    paho name (e.g. ReceiveMaximum=3); `will` is a dict: topic, payload, qos, retain,
    props (paho names)."""

    def __init__(self, gw, client_id=None, version=V5, clean=True, session_expiry=None,
                 keepalive=60, username=None, password=None, will=None, manual_ack=False,
                 connect_props=None, connect=True, expect_success=True):
        self.gw = gw
        self.version = version
        self.client_id = uid("c") if client_id is None else client_id
        self.clean = clean
        self.session_expiry = session_expiry
        self.keepalive = keepalive
        self.connect_props = connect_props or {}
        kw = {} if version == V5 else {"clean_session": clean}
        self.paho = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                                protocol=version, manual_ack=manual_ack,
                                reconnect_on_failure=False, **kw)
        self.paho.max_queued_messages_set(0)
        self.messages = queue.Queue()
        self.connacks = queue.Queue()
        self.disconnects = queue.Queue()
        self._acks = {}
        self._cond = threading.Condition()
        self._thread = None
        self.session_present = None
        self.connack_reason = None
        self.connack_props = None
        if username is not None:
            self.paho.username_pw_set(username, password)
        if will:
            will_props = None
            if version == V5 and will.get("props"):
                will_props = properties(PacketTypes.WILLMESSAGE, **will["props"])
            self.paho.will_set(will["topic"], will.get("payload"), will.get("qos", 0),
                               will.get("retain", False), properties=will_props)
        p = self.paho
        p.on_connect = lambda c, u, flags, rc, props: self.connacks.put((flags, rc, props))
        p.on_message = lambda c, u, msg: self.messages.put(msg)
        p.on_subscribe = lambda c, u, mid, rcs, props: self._ack(("sub", mid), rcs)
        p.on_unsubscribe = lambda c, u, mid, rcs, props: self._ack(("unsub", mid), rcs)
        p.on_publish = lambda c, u, mid, rc, props: self._ack(("pub", mid), (rc, props))
        p.on_disconnect = lambda c, u, flags, rc, props: self.disconnects.put((rc, props))
        _open.append(self)
        if connect:
            self.connect(expect_success)

    # --- connection -------------------------------------------------------------------

    def connect(self, expect_success=True, timeout=TIMEOUT):
        if self.version == V5:
            props = properties(PacketTypes.CONNECT, **self.connect_props)
            if self.session_expiry is not None:
                props.SessionExpiryInterval = self.session_expiry
            self.paho.connect(self.gw.host, self.gw.port, self.keepalive,
                              clean_start=self.clean, properties=props)
        else:
            self.paho.connect(self.gw.host, self.gw.port, self.keepalive)
        self.paho.loop_start()
        self._thread = self.paho._thread  # to join it after paho forgets it
        try:
            flags, rc, props = self.connacks.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"{self.client_id}: no CONNACK within {timeout} s") from None
        self.session_present = flags.session_present
        self.connack_reason, self.connack_props = rc, props
        if expect_success:
            assert not rc.is_failure, f"{self.client_id}: CONNACK refused: {rc}"
        return self

    def _ack(self, key, value):
        with self._cond:
            self._acks[key] = value
            self._cond.notify_all()

    def _wait_ack(self, key, timeout):
        with self._cond:
            if not self._cond.wait_for(lambda: key in self._acks, timeout):
                raise AssertionError(f"{self.client_id}: no {key[0]} ack for mid {key[1]} "
                                     f"within {timeout} s")
            return self._acks.pop(key)

    @property
    def connected(self):
        return self.paho.is_connected()

    def disconnect(self, reason_code=None, props=None, timeout=TIMEOUT):
        """A clean DISCONNECT (MQTT 5: with `reason_code`, e.g. 4 = with will message)."""
        rc = None if reason_code is None else ReasonCode(PacketTypes.DISCONNECT,
                                                         identifier=reason_code)
        dprops = None if props is None else properties(PacketTypes.DISCONNECT, **props)
        self.paho.disconnect(reasoncode=rc, properties=dprops)
        self.join(timeout)

    def join(self, timeout=TIMEOUT):
        if self._thread is not None:
            self._thread.join(timeout)
            assert not self._thread.is_alive(), f"{self.client_id}: loop still running"

    def close(self):
        """Stops the loop and drops the socket without DISCONNECT (an abnormal close)."""
        sock = self.paho.socket()
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes paho's select: EOF, loop ends
            except OSError:
                pass
        self.paho.loop_stop()
        if self._thread is not None:
            self._thread.join(TIMEOUT)

    def expect_disconnect(self, timeout=TIMEOUT):
        """Waits for the connection to end (server DISCONNECT or closed socket); returns
        (paho ReasonCode, properties)."""
        try:
            return self.disconnects.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"{self.client_id}: still connected after {timeout} s") from None

    # --- operations ---------------------------------------------------------------------

    def subscribe(self, topic, qos=0, no_local=False, retain_as_published=False,
                  retain_handling=0, sub_id=None, user_props=None, timeout=TIMEOUT,
                  expect_success=True):
        """Subscribes and returns the SUBACK codes as ints."""
        if self.version == V5:
            opts = SubscribeOptions(qos=qos, noLocal=no_local,
                                    retainAsPublished=retain_as_published,
                                    retainHandling=retain_handling)
            props = properties(PacketTypes.SUBSCRIBE)
            if sub_id is not None:
                props.SubscriptionIdentifier = sub_id
            if user_props:
                props.UserProperty = user_props
            rc, mid = self.paho.subscribe(topic, options=opts, properties=props)
        else:
            rc, mid = self.paho.subscribe(topic, qos)
        assert rc == mqtt.MQTT_ERR_SUCCESS, f"subscribe not sent: {rc}"
        codes = [c.value for c in self._wait_ack(("sub", mid), timeout)]
        if expect_success:
            assert all(c < 0x80 for c in codes), f"SUBACK refused {topic}: {codes}"
        return codes

    def unsubscribe(self, topic, timeout=TIMEOUT):
        rc, mid = self.paho.unsubscribe(topic)
        assert rc == mqtt.MQTT_ERR_SUCCESS
        return self._wait_ack(("unsub", mid), timeout)

    def publish(self, topic, payload=b"", qos=0, retain=False, wait=True, timeout=TIMEOUT,
                **props):
        """Publishes; with `wait` and QoS > 0, waits for the PUBACK/PUBCOMP and returns
        (reason code, properties) of it. `props` are MQTT 5 PUBLISH properties by paho name."""
        pprops = properties(PacketTypes.PUBLISH, **props) if props else None
        info = self.paho.publish(topic, payload, qos, retain, properties=pprops)
        assert info.rc == mqtt.MQTT_ERR_SUCCESS, f"publish not sent: {info.rc}"
        if wait and qos > 0:
            return self._wait_ack(("pub", info.mid), timeout)
        return info

    def ack(self, msg):
        """With manual_ack: acknowledge a received QoS 1/2 message."""
        self.paho.ack(msg.mid, msg.qos)

    def expect_message(self, timeout=TIMEOUT):
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"{self.client_id}: no message within {timeout} s") from None

    def expect_messages(self, n, timeout=TIMEOUT):
        """`n` messages; the timeout applies to the whole batch."""
        deadline = time.monotonic() + timeout
        got = []
        while len(got) < n:
            try:
                got.append(self.messages.get(timeout=max(deadline - time.monotonic(), 0)))
            except queue.Empty:
                raise AssertionError(
                    f"{self.client_id}: {len(got)} of {n} messages within {timeout} s: "
                    f"{[(m.topic, m.payload[:40]) for m in got[-5:]]}") from None
        return got

    def expect_no_message(self, timeout=ABSENCE):
        try:
            msg = self.messages.get(timeout=timeout)
        except queue.Empty:
            return
        raise AssertionError(f"{self.client_id}: unexpected message {msg.topic} {msg.payload!r} "
                             f"retain={msg.retain}")

    def drain(self):
        out = []
        while True:
            try:
                out.append(self.messages.get_nowait())
            except queue.Empty:
                return out


def raw(gw, version=4, **kw):
    """A RawClient to `gw`, closed at the end of the test."""
    c = mqtt_raw.RawClient(gw.host, gw.port, version=version, **kw)
    _open.append(c)
    return c


def close_all():
    while _open:
        c = _open.pop()
        try:
            c.close()
        except Exception:  # noqa: BLE001 - best-effort cleanup
            pass


def sys_value(client, topic, timeout=TIMEOUT):
    """The next value published on `topic` to `client` (subscribed to it), as a str."""
    deadline = time.monotonic() + timeout
    while True:
        msg = client.expect_message(max(deadline - time.monotonic(), 0.01))
        if msg.topic == topic:
            return msg.payload.decode()
