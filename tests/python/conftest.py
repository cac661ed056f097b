"""Starts the real `switchyard` binary for each test.

Environment:
  SWITCHYARD_BIN       the binary (default: target/debug/switchyard under the repo root)
  SWITCHYARD_BACKENDS  comma-separated I/O backends to run every test on (default
                       "uring,portable")
  SWITCHYARD_SHARDS    shards per gateway (default 2, so that cross-shard paths run)
  STOMP_EXTERNAL       host:port[,ws://host:port/path]: the STOMP tests (those using the
                       `stomp_broker` / `make_stomp_broker` fixtures) run once against that
                       broker instead of switchyard, e.g. RabbitMQ with rabbitmq_stomp and
                       rabbitmq_web_stomp: "127.0.0.1:61613,ws://127.0.0.1:15674/ws"
  STOMP_EXTERNAL_MQTT  host:port of the same broker's MQTT listener (test_stomp_mqtt.py;
                       those tests are skipped against an external broker without it)
  AMQP_EXTERNAL        host:port: the AMQP tests (those using the `amqp_broker` /
                       `make_amqp_broker` fixtures) run once against that AMQP 0-9-1 broker
                       (e.g. RabbitMQ) instead of switchyard; tests that need a gateway
                       configuration of their own are skipped

Every test that uses `gateway` (or `make_gateway`) runs once per backend. The gateway is
stopped with SIGTERM at the end of the test, and must exit 0 within a few seconds: a
broker that cannot shut down cleanly fails the test.
"""

import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

import support

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("SWITCHYARD_BIN", ROOT / "target" / "debug" / "switchyard"))
if not BINARY.is_absolute():
    BINARY = ROOT / BINARY
BACKENDS = [b.strip() for b in os.environ.get("SWITCHYARD_BACKENDS", "uring,portable").split(",")
            if b.strip()]
SHARDS = int(os.environ.get("SWITCHYARD_SHARDS", "2"))
START_TIMEOUT = 10.0
# A stopping gateway may take, by design, up to 1 s to close its listeners, 2 s to let
# connections flush and close, and 1 s for a commit in flight plus a final fsync.
STOP_TIMEOUT = 10.0


def _listen_port_range():
    """Ports no client connection takes: below the ephemeral range (or above it, if it
    starts too low to leave room)."""
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    if low > 11_000:
        return 10_000, low
    return min(high + 1, 65_000), 65_535


_PORTS = _listen_port_range()
_handed_out = set()


def free_port():
    """A free loopback port below the ephemeral range: a port that bind(0) returned could
    be taken as the local port of any client connection before the gateway binds it (CI
    saw "Address already in use"). Never the same port twice in one test run."""
    for _ in range(1000):
        port = random.randrange(*_PORTS)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port below the ephemeral range")


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


class Gateway:
    """One switchyard process: `host`, `port` (MQTT), `stomp_port`, `ws_port` (WebSocket:
    MQTT on /mqtt, STOMP on /stomp), `amqp_port`, and start/stop/restart."""

    def __init__(self, workdir, backend, shards, mqtt, server, stomp=None, websocket=None,
                 amqp=None, store=None):
        self.host = "127.0.0.1"
        self.port = free_port()
        self.stomp_port = free_port()
        self.ws_port = free_port()
        self.amqp_port = free_port()
        self.backend = backend
        self.shards = shards
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.workdir / "switchyard.toml"
        self.log_path = self.workdir / "switchyard.log"
        self.proc = None
        self.failed_to_start = False
        self.mqtt = {"listen": [f"{self.host}:{self.port}"], **mqtt}
        self.server = {"data_dir": str(self.workdir / "data"), **server}
        self.stomp = {"listen": [f"{self.host}:{self.stomp_port}"], **(stomp or {})}
        self.websocket = {"listen": [f"{self.host}:{self.ws_port}"], **(websocket or {})}
        self.amqp = {"listen": [f"{self.host}:{self.amqp_port}"], **(amqp or {})}
        self.store = store or {}
        self.write_config()

    @property
    def address(self):
        return (self.host, self.port)

    def write_config(self):
        lines = ["[server]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in self.server.items()]
        for section, keys in (("mqtt", self.mqtt), ("stomp", self.stomp),
                              ("websocket", self.websocket), ("amqp", self.amqp),
                              ("store", self.store)):
            lines += ["", f"[{section}]"]
            lines += [f"{k} = {toml_value(v)}" for k, v in keys.items()]
        self.config_path.write_text("\n".join(lines) + "\n")

    def start(self):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        log = open(self.log_path, "ab")
        cmd = [str(BINARY), "--config", str(self.config_path), "--io-backend", self.backend,
               "--shards", str(self.shards), "-v"]
        env = {**os.environ, "NO_COLOR": "1"}
        env.pop("RUST_LOG", None)
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                     cwd=self.workdir, env=env)
        log.close()
        self.wait_listening()
        return self

    def wait_listening(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.failed_to_start = True
                pytest.fail(f"switchyard exited with {self.proc.returncode} while starting\n"
                            + self.log_tail())
            try:
                with socket.create_connection(self.address, timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)  # polling the port, not standing in for an event
        self.failed_to_start = True
        pytest.fail(f"switchyard did not listen on {self.port} within {START_TIMEOUT} s\n"
                    + self.log_tail())

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Sends `sig` and waits for the exit; returns the exit status (killing the process
        and failing the test if it does not exit within `timeout`)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"switchyard did not exit within {timeout} s of {sig.name}\n"
                        + self.log_tail())

    def stop_clean(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        rc = self.stop(sig, timeout)
        assert rc == 0, f"switchyard exited with {rc} after {sig.name}\n" + self.log_tail()

    def restart(self):
        """Stops (cleanly, asserted) and starts again on the same port and data directory."""
        self.stop_clean()
        return self.start()

    def kill_and_restart(self):
        """SIGKILL (no chance to flush or close anything), then starts again on the same
        ports and data directory."""
        self.proc.kill()
        self.proc.wait()
        # The kernel closes a killed process's io_uring listeners asynchronously: until
        # they are gone, a new process's SO_REUSEPORT listeners would share the ports
        # with them and some connections would be refused.
        deadline = time.monotonic() + START_TIMEOUT
        for port in (self.port, self.stomp_port, self.ws_port, self.amqp_port):
            while time.monotonic() < deadline:
                try:
                    with socket.create_connection((self.host, port), timeout=0.2):
                        pass
                except OSError:
                    break
                time.sleep(0.02)  # polling the port, not standing in for an event
        return self.start()

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines=40):
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "--- switchyard log (tail) ---\n" + "\n".join(text[-lines:])


STOMP_EXTERNAL = os.environ.get("STOMP_EXTERNAL", "").strip()
STOMP_EXTERNAL_MQTT = os.environ.get("STOMP_EXTERNAL_MQTT", "").strip()


def host_port(spec):
    host, _, port = spec.rpartition(":")
    return host or "127.0.0.1", int(port)


class ExternalBroker:
    """A broker that the tests do not start (STOMP_EXTERNAL): `host`, `stomp_port`,
    `stomp_ws_url` (None without one), `port` (its MQTT port, None without
    STOMP_EXTERNAL_MQTT). Configuration the tests ask for is ignored."""

    external = True

    def __init__(self, spec, mqtt_spec):
        stomp_spec, _, ws = spec.partition(",")
        self.host, self.stomp_port = host_port(stomp_spec.strip())
        self.stomp_ws_url = ws.strip() or None
        self.mqtt_host, self.port = host_port(mqtt_spec) if mqtt_spec else (self.host, None)

    @property
    def address(self):
        return (self.mqtt_host, self.port)


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def make_gateway(backend, tmp_path):
    """Factory: make_gateway(shards=N, server={...}, stomp={...}, websocket={...},
    amqp={...}, store={...}, **mqtt_keys) starts a gateway with those keys set in their sections; every gateway
    started is stopped (and checked) afterwards."""
    if not BINARY.exists():
        pytest.fail(f"no switchyard binary at {BINARY} (run `cargo build` or set SWITCHYARD_BIN)")
    started = []

    def make(shards=SHARDS, server=None, stomp=None, websocket=None, amqp=None, store=None,
             **mqtt):
        gw = Gateway(tmp_path / f"gw{len(started)}", backend, shards, mqtt, server or {},
                     stomp, websocket, amqp, store)
        started.append(gw)
        return gw.start()

    yield make
    support.close_all()  # clients first: a stuck client must not decide this test
    failures = []
    for gw in started:
        if not gw.running:
            rc = gw.proc.returncode if gw.proc else None
            if rc not in (0, None) and not gw.failed_to_start:
                failures.append(f"switchyard exited by itself with {rc}\n{gw.log_tail()}")
            continue
        rc = gw.stop()
        if rc != 0:
            failures.append(f"switchyard exited with {rc} after SIGTERM\n{gw.log_tail()}")
    if failures:
        pytest.fail("\n".join(failures))


@pytest.fixture
def gateway(make_gateway):
    """A gateway with the default limits, SWITCHYARD_SHARDS shards."""
    return make_gateway()



if STOMP_EXTERNAL:
    @pytest.fixture
    def make_stomp_broker():
        """make_stomp_broker(**config) -> the external broker (config ignored); every
        client made is closed afterwards."""
        yield lambda **config: ExternalBroker(STOMP_EXTERNAL, STOMP_EXTERNAL_MQTT)
        support.close_all()
else:
    @pytest.fixture
    def make_stomp_broker(make_gateway):
        """make_stomp_broker(**config) -> make_gateway(**config): switchyard, once per
        backend, started and listening on its STOMP and WebSocket ports too (the gateway
        fixture waits for the MQTT port only)."""

        def make(**config):
            gw = make_gateway(**config)
            wait_port(gw, gw.stomp_port)
            wait_port(gw, gw.ws_port)
            return gw

        return make


def wait_port(gw, port):
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            with socket.create_connection((gw.host, port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline or not gw.running:
                pytest.fail(f"switchyard is not listening on {port}\n" + gw.log_tail())
            time.sleep(0.02)  # polling the port, not standing in for an event


@pytest.fixture
def stomp_broker(make_stomp_broker):
    """The broker the STOMP tests talk to: a default switchyard gateway, or STOMP_EXTERNAL."""
    return make_stomp_broker()


AMQP_EXTERNAL = os.environ.get("AMQP_EXTERNAL", "").strip()


class ExternalAmqpBroker:
    """An AMQP broker that the tests do not start (AMQP_EXTERNAL): `host`, `amqp_port`.
    It has no MQTT or STOMP port."""

    external = True

    def __init__(self, spec):
        self.host, self.amqp_port = host_port(spec)


if AMQP_EXTERNAL:
    @pytest.fixture
    def make_amqp_broker():
        """make_amqp_broker(**config) -> the external broker, once (no backends); a test
        that asks for a configuration of its own is skipped. Every client made is closed
        afterwards."""

        def make(**config):
            if config:
                pytest.skip(f"needs a gateway configured with {config}: not against "
                            "AMQP_EXTERNAL")
            return ExternalAmqpBroker(AMQP_EXTERNAL)

        yield make
        support.close_all()
else:
    @pytest.fixture
    def make_amqp_broker(make_gateway):
        """make_amqp_broker(**config) -> make_gateway(**config), listening on its AMQP and
        STOMP ports too."""

        def make(**config):
            gw = make_gateway(**config)
            wait_port(gw, gw.amqp_port)
            wait_port(gw, gw.stomp_port)
            return gw

        return make


@pytest.fixture
def amqp_broker(make_amqp_broker):
    """The broker the AMQP tests (pika) talk to: a default switchyard gateway, or
    AMQP_EXTERNAL."""
    return make_amqp_broker()
