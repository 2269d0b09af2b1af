"""A headless Chromium driven over the DevTools protocol, Python's standard library only.

Chromium talks the protocol over two pipes (--remote-debugging-pipe: it reads commands on its fd 3
and answers on fd 4, each message JSON ended by a NUL byte), so no WebSocket client is needed.
Every wait is bounded; the browser is closed on exit.
"""

import base64
import json
import os
import select
import subprocess
import tempfile
import time

# No connection anywhere but the pages under test: no updates, sync, field trials, QUIC probes.
# Flags alone still leave Chromium looking up Google's hosts; the host resolver rules (see
# Browser) make every name but the pages' own fail locally, so no query leaves the machine.
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--no-default-browser-check", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
    "--disable-default-apps", "--disable-extensions", "--disable-breakpad",
    "--disable-client-side-phishing-detection", "--disable-domain-reliability",
    "--disable-field-trial-config", "--metrics-recording-only", "--no-pings",
    "--safebrowsing-disable-auto-update", "--password-store=basic",
    "--disable-features=Translate,OptimizationHints,OptimizationGuideModelDownloading,"
    "MediaRouter,DialMediaRouteProvider,AutofillServerCommunication,"
    "CertificateTransparencyComponentUpdater,NetworkTimeServiceQuerying",
    "--window-size=1280,900",
]


class BrowserError(Exception):
    pass


class Browser:
    def __init__(self, hosts, binary="/usr/bin/chromium", timeout=20.0):
        """`hosts`: the only hosts (names or addresses) the browser may reach."""
        self.timeout = timeout
        self.profile = tempfile.TemporaryDirectory(prefix="vantage-chromium-")
        commands_read, commands_write = os.pipe()
        answers_read, answers_write = os.pipe()

        def at_fds_3_and_4():
            # dup first: a pipe end may already be fd 3 or 4, and dup2 onto itself would keep its
            # close-on-exec flag.
            commands, answers = os.dup(commands_read), os.dup(answers_write)
            os.dup2(commands, 3)
            os.dup2(answers, 4)

        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile.name}", "--remote-debugging-pipe",
             "--host-resolver-rules=MAP * ~NOTFOUND"
             + "".join(f" , EXCLUDE {host}" for host in hosts), "about:blank"],
            preexec_fn=at_fds_3_and_4, close_fds=False, stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=self.log)
        os.close(commands_read)
        os.close(answers_write)
        self.commands = os.fdopen(commands_write, "wb", buffering=0)
        self.answers = answers_read
        self.buffer = b""
        self.events = []
        self.next_id = 0
        target = self.call("Target.createTarget", {"url": "about:blank"})
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target["targetId"], "flatten": True})["sessionId"]
        self.call("Page.enable", session=True)

    def _message(self, deadline):
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.answers], [], [], left)[0]:
                raise BrowserError("Chromium did not answer in time")
            chunk = os.read(self.answers, 1 << 16)
            if not chunk:
                raise BrowserError("Chromium closed its pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, params=None, session=False):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        self.commands.write(json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._message(deadline)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return answer["result"]
            self.events.append(answer)

    def wait_for_load(self):
        """Waits for the next page load (the one the last navigation or submit started)."""
        deadline = time.monotonic() + self.timeout
        while True:
            for index, event in enumerate(self.events):
                if event.get("method") == "Page.loadEventFired":
                    del self.events[: index + 1]
                    return
            self.events.append(self._message(deadline))

    def open(self, url):
        self.events.clear()
        self.call("Page.navigate", {"url": url}, session=True)
        self.wait_for_load()

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                           session=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def dom(self):
        """The document as it is now, after scripts (if any ran) and the browser's parsing."""
        return self.evaluate("document.documentElement.outerHTML")

    def url(self):
        return self.evaluate("location.href")

    def type_text(self, text):
        """Types into the focused element, as a keyboard would."""
        self.call("Input.insertText", {"text": text}, session=True)

    def press(self, key, code, key_code):
        for kind in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent",
                      {"type": kind, "key": key, "code": code, "windowsVirtualKeyCode": key_code,
                       "text": "\r" if key == "Enter" and kind == "keyDown" else ""},
                      session=True)

    def screenshot(self, path):
        shot = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                         session=True)
        with open(path, "wb") as out:
            out.write(base64.b64decode(shot["data"]))

    def close(self):
        try:
            self.call("Browser.close")
            self.process.wait(timeout=10)
        except (BrowserError, OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait(timeout=10)
        self.profile.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
