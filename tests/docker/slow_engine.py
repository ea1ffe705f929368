"""A slow Docker engine for the tests: a unix-socket proxy in front of the real one that holds
back the requests matching a rule (for some seconds, or for ever), and logs every request line.

The engine behind it is the real one; only its answers come late, as from an engine that is
overloaded, stuck on a storage driver or waiting on a hung GPU hook. A request held for ever
is never forwarded: the engine never sees it, as when the engine itself hangs before acting.
"""

from __future__ import annotations

import contextlib
import math
import re
import select
import socket
import tempfile
import threading
import time
from pathlib import Path

# The request line of each HTTP request the SDK sends: "POST /v1.47/containers/ab12/start".
_REQUEST = re.compile(rb"^(GET|POST|PUT|DELETE|HEAD) (\S+) HTTP/1\.[01]\r\n")


class SlowEngine:
    """``with SlowEngine(engine_socket, [(r"POST .*/start$", math.inf)], delay=0.1) as slow:``
    then point DOCKER_HOST at ``slow.url``. Each rule is (regex on "METHOD path", seconds);
    the first match wins, ``delay`` applies to the rest."""

    def __init__(self, target: str, rules: list[tuple[str, float]] = (), delay: float = 0.0):
        self.target = target
        self.rules = [(re.compile(pattern), seconds) for pattern, seconds in rules]
        self.delay = delay
        self.requests: list[str] = []  # "METHOD path", in the order they arrived
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def __enter__(self) -> SlowEngine:
        self._dir = tempfile.TemporaryDirectory(prefix="envkit-slow-engine-")
        path = Path(self._dir.name) / "docker.sock"
        self.url = f"unix://{path}"
        self._listener = socket.socket(socket.AF_UNIX)
        self._listener.bind(str(path))
        self._listener.listen(64)
        self._listener.settimeout(0.1)
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(5)
        with self._lock:
            for s in [self._listener, *self._sockets]:
                s.close()
        self._dir.cleanup()

    def seen(self, pattern: str) -> bool:
        with self._lock:
            return any(re.search(pattern, r) for r in self.requests)

    def _spawn(self, target, *args) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(t)
        t.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            self._spawn(self._pump, client, upstream, True)
            self._spawn(self._pump, upstream, client, False)

    def _pump(self, src: socket.socket, dst: socket.socket, requests: bool) -> None:
        with contextlib.suppress(OSError):
            while not self._stop.is_set():
                if not select.select([src], [], [], 0.1)[0]:
                    continue
                data = src.recv(65536)
                if not data:
                    break
                match = _REQUEST.match(data) if requests else None
                if match:
                    line = f"{match[1].decode()} {match[2].decode()}"
                    with self._lock:
                        self.requests.append(line)
                    if not self._hold(src, self._seconds(line)):
                        break  # the client gave up (or the proxy stops): drop the request
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def _seconds(self, line: str) -> float:
        path = line.split("?")[0]
        return next((s for rule, s in self.rules if rule.search(path)), self.delay)

    def _hold(self, client: socket.socket, seconds: float) -> bool:
        """Wait ``seconds`` (inf: until the client hangs up); False when the client hung up."""
        end = time.monotonic() + seconds if math.isfinite(seconds) else math.inf
        while time.monotonic() < end and not self._stop.is_set():
            if select.select([client], [], [], 0.05)[0]:
                try:
                    if not client.recv(1, socket.MSG_PEEK):
                        return False
                except OSError:
                    return False
                # More bytes of the same request (a body): keep holding.
                time.sleep(0.05)
        return not self._stop.is_set()
