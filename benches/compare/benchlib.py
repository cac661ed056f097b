"""Shared plumbing of the side-by-side benchmarks (issue 7): start and stop each broker on
fixed loopback ports with its state in a temp folder, read a process's CPU time and
memory, run switchyard-load, and take medians. Used by benches/compare/bench.py (which
`benches/compare/run` calls) and by the older compare-*.sh scripts through it.

Brokers and what they speak:
  switchyard-uring, switchyard-portable   MQTT, STOMP, AMQP (--io-backend uring|portable)
  mosquitto                               MQTT (Debian's)
  rumqttd                                 MQTT (crates.io 0.20.0, install-rumqttd.sh)
  rabbitmq                                MQTT and STOMP (plugins), AMQP (Debian's)

Ports, all on 127.0.0.1 (fixed, below the ephemeral range, in 21000-23999):
  switchyard MQTT 21883, STOMP 21613, AMQP 21672; mosquitto 21884; rumqttd 21885;
  rabbitmq MQTT 21886, STOMP 21614, AMQP 21673, distribution 21674, its own epmd 21369.
"""

import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLK_TCK = os.sysconf("SC_CLK_TCK")

PORTS = {
    "switchyard": {"mqtt": 21883, "stomp": 21613, "amqp": 21672},
    "mosquitto": {"mqtt": 21884},
    "rumqttd": {"mqtt": 21885},
    "rabbitmq": {"mqtt": 21886, "stomp": 21614, "amqp": 21673},
}
RABBITMQ_DIST_PORT = 21674
EPMD_PORT = 21369

ALL_BROKERS = ["switchyard-uring", "switchyard-portable", "mosquitto", "rumqttd", "rabbitmq"]
SPEAKS = {
    "switchyard-uring": {"mqtt", "stomp", "amqp"},
    "switchyard-portable": {"mqtt", "stomp", "amqp"},
    "mosquitto": {"mqtt"},
    "rumqttd": {"mqtt"},
    "rabbitmq": {"mqtt", "stomp", "amqp"},
}


def family(broker):
    """switchyard-uring -> switchyard: the port table's key."""
    return "switchyard" if broker.startswith("switchyard") else broker


def port_of(broker, protocol):
    return PORTS[family(broker)][protocol]


# --- /proc -----------------------------------------------------------------------------

def cpu_seconds(pid):
    """User + system CPU seconds of a process (all its threads) so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def machine_busy_seconds():
    """CPU seconds the whole machine has been busy (all cores)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / CLK_TCK


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


class RssSampler:
    """Samples a process's RSS every 0.2 s in a thread: the peak during a run, the same
    way for every broker (VmHWM would carry a RabbitMQ node's peak across scenarios)."""

    def __init__(self, pid):
        self.pid, self.peak, self._stop = pid, rss_kib(pid), threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, rss_kib(self.pid))

    def stop(self):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, rss_kib(self.pid))
        return self.peak


# --- Brokers ---------------------------------------------------------------------------

def wait_port(port, pid, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid is not None and not alive(pid):
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_port_free(port, timeout=10):
    """Waits until nothing listens on PORT (a broker just stopped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = socket.socket()
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            time.sleep(0.1)
        finally:
            s.close()
    return False


class Broker:
    """One broker process: start() it fresh, measure `pid` (RabbitMQ: the Erlang VM),
    stop() it. Its state lives in a temp folder removed at the stop."""

    def __init__(self, name, bins, log_path, settings=None):
        self.name, self.bins, self.log_path = name, bins, log_path
        self.settings = settings or {}
        self.proc = None
        self.pid = None
        self.dir = None
        self.epmd = None

    def start(self, timeout=None):
        self.dir = tempfile.mkdtemp(prefix=f"swbench-{self.name}-")
        log = open(self.log_path, "ab")
        f = family(self.name)
        env = dict(os.environ)
        if f == "switchyard":
            cmd = self._switchyard()
        elif f == "mosquitto":
            cmd = self._mosquitto()
        elif f == "rumqttd":
            cmd = self._rumqttd()
        else:
            cmd, env = self._rabbitmq(env)
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir, env=env)
        self.pid = self.proc.pid
        first = min(PORTS[f].values()) if f != "rabbitmq" else PORTS[f]["amqp"]
        t = timeout or (120 if f == "rabbitmq" else 10)
        ok = all(wait_port(p, self.proc.pid, t) for p in PORTS[f].values())
        if not ok:
            self.stop()
            raise RuntimeError(f"{self.name} did not start on port {first}: see {self.log_path}")
        if f == "rabbitmq":
            self.pid = self._rabbitmq_vm_pid()
            # The end of RabbitMQ's boot (plugins, stats) is not counted.
            time.sleep(self.settings.get("settle", 3))

    def _switchyard(self):
        p = PORTS["switchyard"]
        conf = os.path.join(self.dir, "switchyard.toml")
        with open(conf, "w") as f:
            f.write(f"""[server]
data_dir = "{self.dir}/data"

[mqtt]
listen = ["127.0.0.1:{p['mqtt']}"]
max_connections = 1000000
max_inflight = 100
max_queued_messages = 10000

[stomp]
listen = ["127.0.0.1:{p['stomp']}"]

[amqp]
listen = ["127.0.0.1:{p['amqp']}"]

[websocket]
listen = []
""")
            if self.settings.get("store"):
                f.write(f'\n[store]\nenabled = true\nfsync = "{self.settings.get("store_fsync", "batch")}"\n')
        backend = self.name.split("-", 1)[1]
        return [self.bins["switchyard"], "--config", conf, "--shards",
                str(self.settings.get("shards", 2)), "--io-backend", backend]

    def _mosquitto(self):
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"""listener {PORTS['mosquitto']['mqtt']} 127.0.0.1
allow_anonymous true
max_connections -1
max_inflight_messages 100
max_queued_messages 10000
set_tcp_nodelay true
persistence false
""")
        return [self.bins["mosquitto"], "-c", conf]

    def _rumqttd(self):
        conf = os.path.join(self.dir, "rumqttd.toml")
        with open(os.path.join(HERE, "rumqttd.toml")) as f:
            text = f.read()
        lines = []
        for line in text.splitlines():
            if line.startswith('listen = "127.0.0.1:'):
                line = f'listen = "127.0.0.1:{PORTS["rumqttd"]["mqtt"]}"'
            elif line.startswith("max_connections ="):
                # The idle scenarios hold up to 20,000; the fd limit stops them first.
                line = "max_connections = 1000000"
            lines.append(line)
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return [self.bins["rumqttd"], "-q", "-c", conf]

    def _rabbitmq(self, env):
        p = PORTS["rabbitmq"]
        d = self.dir
        for sub in ("home", "log", "mnesia"):
            os.makedirs(os.path.join(d, sub))
        with open(os.path.join(d, "enabled_plugins"), "w") as f:
            f.write("[rabbitmq_mqtt,rabbitmq_stomp].\n")
        open(os.path.join(d, "rabbitmq-env.conf"), "w").close()
        with open(os.path.join(d, "rabbitmq.conf"), "w") as f:
            f.write(f"""listeners.tcp.default = 127.0.0.1:{p['amqp']}
mqtt.listeners.tcp.default = 127.0.0.1:{p['mqtt']}
stomp.listeners.tcp.1 = 127.0.0.1:{p['stomp']}
tcp_listen_options.nodelay = true
mqtt.tcp_listen_options.nodelay = true
stomp.tcp_listen_options.nodelay = true
mqtt.allow_anonymous = true
loopback_users = none
log.file = false
log.console = true
log.console.level = warning
""")
        if self.epmd is None:
            self.epmd = subprocess.Popen(
                ["epmd", "-address", "127.0.0.1", "-port", str(EPMD_PORT)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_port(EPMD_PORT, self.epmd.pid, 10)
        env.update({
            "HOME": os.path.join(d, "home"),
            "RABBITMQ_NODENAME": f"swbench-{os.getpid()}@localhost",
            "RABBITMQ_MNESIA_BASE": os.path.join(d, "mnesia"),
            "RABBITMQ_LOG_BASE": os.path.join(d, "log"),
            "RABBITMQ_PID_FILE": os.path.join(d, "pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(d, "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": os.path.join(d, "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": os.path.join(d, "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": os.path.join(d, "rabbitmq-env.conf"),
            "RABBITMQ_DIST_PORT": str(RABBITMQ_DIST_PORT),
            "ERL_CRASH_DUMP": os.path.join(d, "erl_crash.dump"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_EPMD_PORT": str(EPMD_PORT),
        })
        return [self.bins["rabbitmq"]], env

    def _rabbitmq_vm_pid(self):
        try:
            with open(os.path.join(self.dir, "pid")) as f:
                pid = int(f.read().strip())
                if alive(pid):
                    return pid
        except (OSError, ValueError):
            pass
        # The script execs the VM, or has it as its child.
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
        kids = [int(x) for x in out.stdout.split()]
        return kids[0] if kids else self.proc.pid

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=20 if family(self.name) == "rabbitmq" else 5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            if self.pid and self.pid != self.proc.pid and alive(self.pid):
                try:
                    os.kill(self.pid, 9)
                except OSError:
                    pass
            self.proc = None
        if self.epmd is not None:
            self.epmd.terminate()
            try:
                self.epmd.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.epmd.kill()
            self.epmd = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        for port in PORTS[family(self.name)].values():
            wait_port_free(port)


def versions(bins):
    """One line per broker: its version as it reports it."""
    def run(cmd):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (out.stdout + out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    def dpkg(pkg):
        return run(["dpkg-query", "-W", "-f", "${Version}", pkg])

    return {
        "switchyard": run(["git", "-C", ROOT, "describe", "--always", "--dirty"]),
        "mosquitto": f"mosquitto {dpkg('mosquitto')} (Debian)",
        "rumqttd": run([bins["rumqttd"], "--version"]) + " (crates.io)" if bins.get("rumqttd") else "?",
        "rabbitmq": f"rabbitmq-server {dpkg('rabbitmq-server')} (Debian), Erlang {dpkg('erlang-base')}",
    }


# --- Statistics --------------------------------------------------------------------------

def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
