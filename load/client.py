"""A small HTTP client for the load test and the HTTP benchmark: one per simulated browser.

Only the standard library (``http.client``), so the load test needs nothing
beyond the app's own dependencies. It keeps the browser's cookies, never
follows redirects (the load test checks them), and times every request
into a shared :class:`Stats` under a route label of the caller's choosing
(``POST /report``), not the URL, so case ids do not split the statistics.
"""

from __future__ import annotations

import http.client
import io
import re
import statistics
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

_HIDDEN = r'name="{0}"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="{0}"'


def hidden_value(html: str, name: str) -> str:
    """The value of a named input (``csrf_token``, ``ticket``, ``version``) in a page."""
    m = re.search(_HIDDEN.format(re.escape(name)), html)
    if m is None:
        raise LoadError(f"no {name} field in the page")
    return m.group(1) if m.group(1) is not None else m.group(2)


class LoadError(RuntimeError):
    """A simulated user met an answer it did not expect: counted as an error of the run."""


@dataclass
class Reply:
    """One answer: status, headers (lower-cased names; Set-Cookie already applied) and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


@dataclass
class Stats:
    """Latencies and outcomes per route label, shared by all client threads."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    error_samples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, label: str, seconds: float) -> None:
        with self.lock:
            self.latencies[label].append(seconds)

    def error(self, label: str, what: str) -> None:
        with self.lock:
            self.errors[label] += 1
            if len(self.error_samples) < 20:
                self.error_samples.append(f"{label}: {what}")

    def summary(self, elapsed: float) -> dict[str, object]:
        """Throughput and p50/p95/p99 per route, in milliseconds, plus error counts."""
        routes: dict[str, object] = {}
        with self.lock:
            total = sum(len(v) for v in self.latencies.values())
            for label in sorted(set(self.latencies) | set(self.errors)):
                times = sorted(self.latencies.get(label, []))
                routes[label] = {
                    "requests": len(times),
                    "per_second": round(len(times) / elapsed, 2) if elapsed else 0.0,
                    "p50_ms": _pct(times, 50),
                    "p95_ms": _pct(times, 95),
                    "p99_ms": _pct(times, 99),
                    "max_ms": round(times[-1] * 1000, 1) if times else None,
                    "errors": self.errors.get(label, 0),
                }
            return {
                "seconds": round(elapsed, 1),
                "requests": total,
                "per_second": round(total / elapsed, 2) if elapsed else 0.0,
                "errors": sum(self.errors.values()),
                "error_samples": list(self.error_samples),
                "routes": routes,
            }


def _pct(sorted_times: list[float], pct: int) -> float | None:
    """The pct-th percentile in ms (linear between ranks); None for a route never answered."""
    if not sorted_times:
        return None
    if len(sorted_times) == 1:
        return round(sorted_times[0] * 1000, 1)
    cuts = statistics.quantiles(sorted_times, n=100, method="inclusive")
    return round(cuts[pct - 1] * 1000, 1)


class Browser:
    """One simulated browser against ``base`` (``http://127.0.0.1:PORT``), with its own cookies."""

    def __init__(self, base: str, stats: Stats | None = None, timeout: float = 120.0) -> None:
        parts = urlsplit(base)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.stats = stats
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, label: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Reply:
        """Send one request (a new connection, as gunicorn's sync workers close each one) and time it."""
        head = {"Accept-Language": "en", **(headers or {})}
        if self.cookies:
            head["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        start = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=head)
            resp = conn.getresponse()
            data = resp.read()
            elapsed = time.perf_counter() - start
            reply = Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
            for raw in resp.headers.get_all("Set-Cookie") or []:
                self._keep_cookie(raw)
        finally:
            conn.close()
        if self.stats is not None:
            self.stats.record(label, elapsed)
        return reply

    def _keep_cookie(self, raw: str) -> None:
        jar: SimpleCookie = SimpleCookie()
        jar.load(raw)
        for name, morsel in jar.items():
            gone = morsel["max-age"] == "0" or (morsel["expires"] and "1970" in morsel["expires"])
            if gone or morsel.value == "":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value

    def get(self, path: str, label: str) -> Reply:
        return self.request("GET", path, label)

    def post_form(self, path: str, fields: dict[str, str], label: str) -> Reply:
        body = urlencode(fields).encode()
        return self.request("POST", path, label, body, {"Content-Type": "application/x-www-form-urlencoded"})

    def post_multipart(
        self, path: str, fields: dict[str, str], files: list[tuple[str, bytes]], label: str, field_name: str = "files"
    ) -> Reply:
        values: MultiDict[str, object] = MultiDict(list(fields.items()))
        for name, data in files:
            upload = FileStorage(io.BytesIO(data), filename=name, content_type="application/octet-stream")
            values.add(field_name, upload)
        boundary, body = encode_multipart(values)
        return self.request("POST", path, label, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
