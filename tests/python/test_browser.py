"""A real browser against the gateway: headless Chromium (Debian's `chromium`) loads
tests/browser/page.html, in which @stomp/stompjs talks STOMP on ws://.../stomp and MQTT.js
(MQTT 5) talks MQTT on ws://.../mqtt, and messages cross both ways: MQTT -> STOMP and
STOMP -> MQTT, with MQTT 5 user properties <-> custom STOMP headers and the content type.

The page is served from tests/browser by a loopback HTTP server (so that it has a real
http:// origin, as in production); Chromium is driven over the DevTools protocol with the
`websocket-client` package. scripts/install-browser-deps installs Chromium (as root),
tests/browser/node_modules (npm ci) and websocket-client. CHROMIUM_BIN overrides the
browser binary (default: `chromium` on PATH).
"""

import functools
import itertools
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BROWSER_DIR = ROOT / "tests" / "browser"
CHROMIUM = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium")
INSTALL_HINT = "run scripts/install-browser-deps"
# Chromium's start, the page's load and both round trips take about a second; this is a
# ceiling for a loaded machine, not a wait.
START_TIMEOUT = 30.0
PAGE_TIMEOUT = 30.0
CLOSE_TIMEOUT = 5.0

# Skipped only where Chromium is missing and cannot be installed; as root it can be, so
# there its absence fails the test.
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and os.geteuid() != 0,
    reason="Debian's chromium is not installed, and installing it needs root "
           "(apt-get install chromium, or scripts/install-browser-deps as root)")


# --- a loopback HTTP server for tests/browser ---------------------------------------------

class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        self.server.requests.append(format % args)


class PageServer:
    """Serves tests/browser on 127.0.0.1:<free port> from a thread; `requests` logs them."""

    def __init__(self):
        handler = functools.partial(_Handler, directory=str(BROWSER_DIR))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.requests = []
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="page-server",
                                       daemon=True)
        self.thread.start()

    @property
    def requests(self):
        return self.httpd.requests

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(CLOSE_TIMEOUT)


# --- Chromium over the DevTools protocol ---------------------------------------------------

class Chromium:
    """One headless Chromium with its own profile under `workdir`, in its own process
    group (its helpers included) so that close() can end all of it."""

    def __init__(self, workdir):
        import websocket  # websocket-client

        self.profile = Path(workdir) / "chromium-profile"
        self.profile.mkdir(parents=True)
        self.log_path = Path(workdir) / "chromium.log"
        self.console = []  # console messages and uncaught exceptions of the page
        self.ids = itertools.count(1)
        self.ws = None
        args = [
            CHROMIUM, "--headless=new", "--no-sandbox", "--remote-debugging-port=0",
            f"--user-data-dir={self.profile}",
            "--no-first-run", "--no-default-browser-check", "--disable-gpu",
            "--disable-dev-shm-usage", "--disable-extensions", "--disable-sync",
            "--disable-crash-reporter", "--disable-breakpad",
            # Nothing but loopback: no background requests, no name resolves anywhere.
            "--disable-background-networking", "--disable-component-update",
            "--disable-domain-reliability", "--no-pings", "--dns-prefetch-disable",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "about:blank",
        ]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, start_new_session=True)
        try:
            url = self._devtools_url()
            self.ws = websocket.create_connection(url, timeout=START_TIMEOUT,
                                                  suppress_origin=True)
        except BaseException:
            self.close()
            raise

    def _devtools_url(self):
        """Chromium writes DevToolsActivePort (port, then the browser target's path) into
        the profile once it listens."""
        active = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"chromium exited with {self.proc.returncode} while starting\n"
                            + self.log_tail())
            try:
                lines = active.read_text().split()
            except FileNotFoundError:
                lines = []
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{int(lines[0])}{lines[1]}"
            time.sleep(0.05)  # polling for the file, not standing in for an event
        pytest.fail(f"chromium wrote no DevToolsActivePort within {START_TIMEOUT} s\n"
                    + self.log_tail())

    def send(self, method, params=None, session=None, timeout=10.0):
        """One command; returns its result (events that arrive meanwhile are noted)."""
        msg_id = next(self.ids)
        msg = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer to {method} within {timeout} s")
            self.ws.settimeout(left)
            reply = json.loads(self.ws.recv())
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._event(reply)

    def _event(self, event):
        method = event.get("method")
        params = event.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in
                            params.get("args", []))
            self.console.append(f"console.{params.get('type')}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.console.append("exception: " + str(
                details.get("exception", {}).get("description", details.get("text"))))
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            self.console.append(f"log.{entry.get('level')}: {entry.get('text')} "
                                f"{entry.get('url', '')}".rstrip())

    def open_page(self, url):
        """A new tab, attached, with console and log events on; returns its session id."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget",
                            {"targetId": target, "flatten": True})["sessionId"]
        self.send("Runtime.enable", session=session)
        self.send("Log.enable", session=session)
        self.send("Page.enable", session=session)
        nav = self.send("Page.navigate", {"url": url}, session=session)
        assert not nav.get("errorText"), f"navigating to {url}: {nav['errorText']}"
        return session

    def evaluate(self, session, expression):
        reply = self.send("Runtime.evaluate", {"expression": expression,
                                               "returnByValue": True}, session=session)
        if "exceptionDetails" in reply:
            raise RuntimeError(f"evaluating {expression!r}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def log_tail(self, lines=30):
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        # Without a D-Bus (containers, CI) Chromium complains about it at length; noise.
        text = [line for line in text if "dbus/" not in line and line.strip()]
        return "--- chromium log (tail) ---\n" + "\n".join(text[-lines:])

    def close(self):
        """Browser.close, then the whole process group killed if anything is left."""
        if self.ws is not None:
            try:
                self.send("Browser.close", timeout=CLOSE_TIMEOUT)
            except Exception:  # noqa: BLE001 (closing anyway; the kill below ends it)
                pass
            try:
                self.ws.close()
            except Exception:  # noqa: BLE001
                pass
            self.ws = None
        try:
            self.proc.wait(CLOSE_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # helpers that outlived the browser
        except ProcessLookupError:
            pass
        if self.proc.poll() is None:
            self.proc.wait(CLOSE_TIMEOUT)


@pytest.fixture
def chromium(tmp_path):
    if CHROMIUM is None:
        pytest.fail(f"chromium is not installed ({INSTALL_HINT} as root installs it)")
    try:
        import websocket  # noqa: F401
        websocket.create_connection  # noqa: B018 (not the unrelated `websocket` package)
    except (ImportError, AttributeError):
        pytest.fail(f"the websocket-client Python package is missing ({INSTALL_HINT})")
    browser = Chromium(tmp_path)
    yield browser
    browser.close()


@pytest.fixture
def page_server():
    for bundle in ("node_modules/mqtt/dist/mqtt.min.js",
                   "node_modules/@stomp/stompjs/bundles/stomp.umd.min.js"):
        if not (BROWSER_DIR / bundle).is_file():
            pytest.fail(f"tests/browser/{bundle} is missing ({INSTALL_HINT}, or npm ci in "
                        "tests/browser)")
    server = PageServer()
    yield server
    server.close()


def wait_for_result(browser, session, timeout=PAGE_TIMEOUT):
    """Polls window.result until the page says it is done; returns it."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        text = browser.evaluate(session, "JSON.stringify(window.result === undefined ? "
                                         "null : window.result)")
        last = json.loads(text) if text else None
        if last and last.get("done"):
            return last
        time.sleep(0.05)  # polling the page's state, not standing in for an event
    return {"done": False, "error": f"the page did not finish within {timeout} s",
            "last": last}


def test_messages_cross_between_stompjs_and_mqttjs_in_chromium(gateway, chromium,
                                                               page_server):
    tag = uuid.uuid4().hex[:10]
    url = (f"http://127.0.0.1:{page_server.port}/page.html"
           f"?host=127.0.0.1&port={gateway.ws_port}&tag={tag}")
    session = chromium.open_page(url)
    result = wait_for_result(chromium, session)

    def context():
        return ("\n--- window.result ---\n" + json.dumps(result, indent=2, ensure_ascii=False)
                + "\n--- page console ---\n" + "\n".join(chromium.console)
                + "\n--- HTTP requests ---\n" + "\n".join(page_server.requests)
                + "\n" + chromium.log_tail() + "\n" + gateway.log_tail())

    assert result.get("done") and result.get("error") is None, context()
    versions = result["versions"]
    assert versions["mqttjs"].startswith("5."), context()
    assert versions["stompProtocol"] == "1.2", context()  # the newest both sides speak

    mqtt_payload = f"hello from MQTT.js \u00e9\u2713 {tag}"
    stomp_body = f"hello from stompjs \u00fc\u2192 {tag}"
    assert result["sent"]["mqtt"]["payload"] == mqtt_payload, context()
    assert result["sent"]["stomp"]["body"] == stomp_body, context()

    # MQTT.js -> stompjs: topic browser/<tag>/from-mqtt is /topic/browser.<tag>.from-mqtt;
    # MQTT 5 user properties became STOMP headers, the content type content-type.
    assert len(result["toStomp"]) == 1, context()
    msg = result["toStomp"][0]
    assert msg["destination"] == f"/topic/browser.{tag}.from-mqtt", context()
    assert msg["body"] == mqtt_payload, context()
    headers = msg["headers"]
    assert headers.get("x-sent-by") == "mqtt.js", context()
    assert headers.get("x-tag") == tag, context()
    assert headers.get("content-type") == "text/plain; charset=utf-8", context()
    assert headers.get("message-id"), context()
    assert headers.get("subscription"), context()

    # stompjs -> MQTT.js: custom STOMP headers became MQTT 5 user properties (and nothing
    # of the STOMP exchange itself, such as destination or content-length, did).
    assert len(result["toMqtt"]) == 1, context()
    msg = result["toMqtt"][0]
    assert msg["topic"] == f"browser/{tag}/from-stomp", context()
    assert msg["payload"] == stomp_body, context()
    assert msg["qos"] == 1, context()  # STOMP sends are at-least-once
    assert msg["retain"] is False, context()
    props = msg["properties"]
    assert props.get("userProperties") == {"x-sent-by": "stompjs", "x-tag": tag}, context()
    assert props.get("contentType") == "text/plain; charset=utf-8", context()
