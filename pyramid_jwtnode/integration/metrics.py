"""Prometheus metrics: the :class:`~pyramid_jwtnode.integration.meter.Meter` that counts in
``prometheus_client``, and the view that serves what it counted.

Imported only when an app asks for metrics (``jwt.metrics = true``, ``jwt.metrics_route`` or
``config.add_jwt_metrics()``); it needs the ``metrics`` extra
(``pip install "pyramid_jwtnode[metrics]"``). An app that serves them on its own route counts
into a registry of its own; without a route, they go to prometheus_client's default registry,
which the app's own exporter serves.

=============================================  ================================  ==========
metric                                         labels                            type
=============================================  ================================  ==========
``pyramid_jwtnode_verifications_total``        ``config``, ``result``, ``reason``  counter
``pyramid_jwtnode_verification_seconds``       ``config``                        histogram
``pyramid_jwtnode_tokens_issued_total``        ``config``, ``kind``              counter
``pyramid_jwtnode_refresh_total``              ``config``, ``outcome``           counter
``pyramid_jwtnode_keyset_fetches_total``       ``config``, ``outcome``           counter
=============================================  ================================  ==========

Under a server with several worker processes, prometheus_client's multiprocess mode adds the
workers' counts up: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory before the server
starts, and the view serves the sum over every process that wrote there.
"""

from __future__ import annotations

import hmac
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, Final

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client import values as _values
from prometheus_client.multiprocess import MultiProcessCollector
from pyramid.request import Request
from pyramid.response import Response

from .meter import ACCEPTED
from .views import MethodNotAllowedView

__all__ = ["PrometheusMeter", "MetricsView", "meter_for", "multiprocess_dir", "BUCKETS"]

#: Upper bounds (seconds) of the verification-time histogram: a token the verifier remembers
#: takes microseconds, a new RS256 signature a few hundred, a remote key set fetch up to its
#: ``jwks_timeout``.
BUCKETS: Final = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                  0.25, 0.5, 1.0, 2.5, 5.0)


def multiprocess_dir() -> str | None:
    """The directory prometheus_client's multiprocess mode writes to, when it is on (it is
    chosen when prometheus_client is first imported, from ``PROMETHEUS_MULTIPROC_DIR``)."""
    if _values.ValueClass is _values.MutexValue:
        return None
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


_SHARED: weakref.WeakKeyDictionary[CollectorRegistry, PrometheusMeter] = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()


def meter_for(registry: CollectorRegistry | None) -> PrometheusMeter:
    """A meter counting into ``registry``: the one already there, when an app of this process
    counts into it (a registry holds a metric's name once), else a new one. ``None``: a meter
    with a registry of its own."""
    if registry is None:
        return PrometheusMeter()
    with _SHARED_LOCK:
        meter = _SHARED.get(registry)
        if meter is None:
            meter = _SHARED[registry] = PrometheusMeter(registry)
        return meter


class PrometheusMeter:
    """Counts into ``registry`` (by default one of its own; :func:`meter_for` gives the one
    of a shared registry such as ``prometheus_client.REGISTRY``)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True) if registry is None else registry
        self._verifications = Counter(
            "pyramid_jwtnode_verifications", "Bearer tokens checked, by config, result and reason code.",
            ("config", "result", "reason"), registry=self.registry)
        self._seconds = Histogram(
            "pyramid_jwtnode_verification_seconds", "Time to check a request's token (seconds).",
            ("config",), registry=self.registry, buckets=BUCKETS)
        self._issued = Counter(
            "pyramid_jwtnode_tokens_issued", "Tokens handed out, by config and kind (access, refresh).",
            ("config", "kind"), registry=self.registry)
        self._refreshes = Counter(
            "pyramid_jwtnode_refresh", "Refresh grants, by config and outcome.",
            ("config", "outcome"), registry=self.registry)
        self._fetches = Counter(
            "pyramid_jwtnode_keyset_fetches", "Remote key set fetches, by config and outcome.",
            ("config", "outcome"), registry=self.registry)
        # A label set's child, looked up once: labels() takes a lock and checks its arguments
        # at every call, and the verification is on every request's path (one dict lookup
        # there finds both of its children).
        self._children: dict[tuple[Any, ...], Any] = {}
        self._verified: dict[tuple[str, str], tuple[Any, Any]] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def verified(self, config: str, reason: str, seconds: float) -> None:
        children = self._verified.get((config, reason))
        if children is None:
            result = "accepted" if reason == ACCEPTED else "refused"
            children = self._verified[(config, reason)] = (
                self._verifications.labels(config, result, reason), self._seconds.labels(config))
        children[0].inc()
        children[1].observe(seconds)

    def issued(self, config: str, kind: str) -> None:
        self._child(self._issued, config, kind).inc()

    def refreshed(self, config: str, outcome: str) -> None:
        self._child(self._refreshes, config, outcome).inc()

    def fetched(self, config: str, outcome: str) -> None:
        self._child(self._fetches, config, outcome).inc()

    def exposition(self) -> bytes:
        """The text format of what this meter counted: in multiprocess mode, of what every
        process writing to the directory counted."""
        directory = multiprocess_dir()
        if directory is None:
            return prometheus_client.generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        return prometheus_client.generate_latest(registry)


class MetricsView:
    """``GET`` the metrics in Prometheus's text format. With a ``token``, only a request with
    ``Authorization: Bearer <token>`` gets them; any other gets a 404, as if nothing were there."""

    def __init__(self) -> None:
        self.token: bytes | None = None
        self._exposition: Callable[[], bytes] | None = None

    def bind(self, meter: PrometheusMeter, token: str | None = None) -> None:
        """Serve what ``meter`` counted; with ``token``, to its bearer only (done at commit)."""
        self._exposition = meter.exposition
        self.token = token.encode("utf-8") if token is not None else None

    def __call__(self, request: Request) -> Response:
        if self._exposition is None:
            raise RuntimeError("MetricsView used before the configuration was committed")
        if self.token is not None and not self._allowed(request):
            return _not_found()
        return Response(body=self._exposition(), headerlist=[
            ("Content-Type", prometheus_client.CONTENT_TYPE_LATEST), ("Cache-Control", "no-store")])

    def other_method(self, request: Request) -> Response:
        """A method other than GET and HEAD: 405 with ``Allow`` for the scraper, and for anyone
        else, when a token guards the route, the same 404 as a GET (nothing is there)."""
        if self.token is not None and not self._allowed(request):
            return _not_found()
        return MethodNotAllowedView(("GET", "HEAD"))(request)

    def _allowed(self, request: Request) -> bool:
        assert self.token is not None
        words = request.environ.get("HTTP_AUTHORIZATION", "").split()
        supplied = words[1] if len(words) == 2 and words[0].lower() == "bearer" else ""
        return hmac.compare_digest(self.token, supplied.encode("utf-8", "backslashreplace"))


def _not_found() -> Response:
    return Response(status=404, body=b"Not Found",
                    headerlist=[("Content-Type", "text/plain"), ("Cache-Control", "no-store")])
