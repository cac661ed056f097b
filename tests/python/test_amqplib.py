"""AMQP 0-9-1 with a second client library: the node:test suite in tests/amqplib (Node's
amqplib) against the gateway, once per backend.

scripts/install-browser-deps installs tests/amqplib/node_modules (`npm ci`), and scripts/
test runs it before these tests; without node or those modules this test fails rather
than skips. By hand:

    AMQP_URL=amqp://guest:guest@127.0.0.1:PORT/ node --test tests/amqplib/

With AMQP_EXTERNAL=host:port (tests/python/conftest.py) it runs once against that broker
instead, e.g. RabbitMQ, which every test passes.
"""

import os
import shutil
import subprocess

import pytest

from conftest import ROOT

SUITE = ROOT / "tests" / "amqplib"
# The whole suite takes about 10 s; a hung test fails on its own node:test timeout first.
TIMEOUT = 180


def broker_log(broker):
    return broker.log_tail() if hasattr(broker, "log_tail") else ""


def test_amqplib_suite(amqp_broker):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the amqplib suite needs Node.js (20 or later)")
    if not (SUITE / "node_modules" / "amqplib" / "package.json").exists():
        pytest.fail(f"{SUITE}/node_modules has no amqplib: run scripts/install-browser-deps "
                    "(npm ci in tests/amqplib)")
    url = f"amqp://guest:guest@{amqp_broker.host}:{amqp_broker.amqp_port}/"
    env = {**os.environ, "AMQP_URL": url, "NO_COLOR": "1", "FORCE_COLOR": "0"}
    try:
        proc = subprocess.run(
            [node, "--test", "--test-reporter=spec", str(SUITE) + "/"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired as e:
        output = (e.stdout or b"").decode(errors="replace")
        pytest.fail(f"node --test did not finish within {TIMEOUT} s\n{output}\n"
                    + broker_log(amqp_broker))
    output = proc.stdout.decode(errors="replace")
    assert proc.returncode == 0, (
        f"node --test tests/amqplib/ exited with {proc.returncode} against {url} "
        f"({getattr(amqp_broker, 'backend', 'external')})\n{output}\n"
        + broker_log(amqp_broker))
