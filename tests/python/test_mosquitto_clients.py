"""Smoke test with Mosquitto's command-line clients (Debian package mosquitto-clients;
scripts/test installs it when run as root)."""

import shutil
import subprocess

import pytest

from support import uid

PUB = shutil.which("mosquitto_pub")
SUB = shutil.which("mosquitto_sub")
pytestmark = pytest.mark.skipif(
    not (PUB and SUB),
    reason="mosquitto_pub/mosquitto_sub not installed (Debian: apt-get install mosquitto-clients)")

VERSIONS = pytest.mark.parametrize("proto", ["mqttv311", "mqttv5"])


def run(*args, timeout=10):
    return subprocess.run(list(args), capture_output=True, timeout=timeout, check=False)


def common(gw, proto):
    return ["-h", gw.host, "-p", str(gw.port), "-V", proto]


@VERSIONS
def test_pub_sub_round_trip(gateway, proto):
    # A retained message first: when mosquitto_sub prints it, its subscription is in place,
    # so the live message that follows cannot be missed.
    topic = uid("mosq")
    r = run(PUB, *common(gateway, proto), "-t", topic, "-m", "first", "-r", "-q", "1")
    assert r.returncode == 0, r.stderr
    sub = subprocess.Popen([SUB, *common(gateway, proto), "-t", topic, "-q", "1", "-C", "2",
                            "-v"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = sub.stdout.readline()  # blocks until the retained message is printed
        assert line.decode().strip() == f"{topic} first", (line, sub.stderr.read1(4096))
        r = run(PUB, *common(gateway, proto), "-t", topic, "-m", "second", "-q", "2")
        assert r.returncode == 0, r.stderr
        out, err = sub.communicate(timeout=10)
    finally:
        if sub.poll() is None:
            sub.kill()
            sub.wait()
    assert sub.returncode == 0, err
    assert out.decode().strip() == f"{topic} second"


@VERSIONS
def test_credentials(gateway, proto):
    topic = uid("mosq")
    ok = run(PUB, *common(gateway, proto), "-t", topic, "-m", "x", "-u", "guest", "-P", "guest")
    assert ok.returncode == 0, ok.stderr
    bad = run(PUB, *common(gateway, proto), "-t", topic, "-m", "x", "-u", "guest", "-P", "nope")
    assert bad.returncode != 0
    text = (bad.stdout + bad.stderr).decode().lower()
    assert "bad user name or password" in text or "not authori" in text, text


@VERSIONS
def test_many_messages_from_stdin(gateway, proto):
    topic = uid("mosq")
    n = 500
    # The subscriber is ready when it has printed the retained "ready" message.
    r = run(PUB, *common(gateway, proto), "-t", topic + "/ready", "-m", "ready", "-r", "-q", "1")
    assert r.returncode == 0, r.stderr
    sub = subprocess.Popen([SUB, *common(gateway, proto), "-t", topic, "-t", topic + "/ready",
                            "-q", "1", "-C", str(n + 1)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert sub.stdout.readline().strip() == b"ready"
        lines = "".join(f"line {i}\n" for i in range(n)).encode()
        r = subprocess.run([PUB, *common(gateway, proto), "-t", topic, "-q", "1", "-l"],
                           input=lines, capture_output=True, timeout=20, check=False)
        assert r.returncode == 0, r.stderr
        out, err = sub.communicate(timeout=20)
    finally:
        if sub.poll() is None:
            sub.kill()
            sub.wait()
    assert sub.returncode == 0, err
    lines = out.decode().splitlines()
    assert len(lines) == n and lines == [f"line {i}" for i in range(n)], (
        f"{len(lines)} lines; missing {sorted(set(f'line {i}' for i in range(n)) - set(lines))[:5]}, "
        f"unexpected {[x for x in lines if not x.startswith('line ')][:5]}")
