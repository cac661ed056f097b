"""The command line: `switchyard check-config FILE`."""

import subprocess

import pytest

from conftest import BINARY, ROOT


def check(path):
    return subprocess.run([str(BINARY), "check-config", str(path)], capture_output=True,
                          timeout=10, check=False)


@pytest.fixture(autouse=True)
def _binary():
    if not BINARY.exists():
        pytest.fail(f"no switchyard binary at {BINARY}")


def test_example_config_is_valid():
    r = check(ROOT / "switchyard.example.toml")
    assert r.returncode == 0, r.stderr


def test_the_test_config_is_valid(gateway):
    r = check(gateway.config_path)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("text,word", [
    ("[mqtt]\nlisten_on = []\n", "listen_on"),
    ("[mqtt]\nmax_inflight = 0\n", "max_inflight"),
    ("[mqtt]\nlisten = []\n", "listen"),
    ("[mqtt\n", ""),
])
def test_bad_config_is_rejected_with_a_reason(tmp_path, text, word):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    r = check(path)
    assert r.returncode != 0
    assert word in r.stderr.decode(), r.stderr


def test_missing_config_file(tmp_path):
    r = check(tmp_path / "absent.toml")
    assert r.returncode != 0
    assert "absent.toml" in r.stderr.decode()
