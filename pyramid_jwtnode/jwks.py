"""Keys from a remote JWK Set (``jwks_url``, or an OpenID Connect ``discovery_url``).

:class:`RemoteKeySet` fetches a JWK Set on first need, never at start-up, and keeps it:

- only keys usable by the config's *pinned* algorithm are kept (``kty`` of its family,
  ``use`` absent or ``sig``, ``alg`` absent or equal, ``key_ops`` allowing ``verify``, the
  size or curve the algorithm needs, no private members); a key set never chooses the
  algorithm;
- the set is kept ``jwks_cache_ttl`` seconds (less when the answer's ``Cache-Control:
  max-age`` says so, and never under one second); once it is refreshed, a key it no longer
  holds stops verifying;
- a token naming a ``kid`` the set does not hold makes at most one fetch per
  ``refetch_interval`` (one second), for every thread of the process together: concurrent
  requests wait for the one fetch in flight instead of starting their own, so forged kids
  cannot turn the app into a request amplifier;
- a fetch has a timeout and a size cap, follows no redirect, and only a 200 answer holding a
  JWK Set is used. When the set cannot be fetched, the keys already held keep working
  (``stale-if-error``); a token whose key is not held gets
  :class:`~pyramid_jwtnode.exceptions.KeySetUnavailableError` (503, fail closed), while as
  long as the set can be fetched an unknown kid is a plain
  :class:`~pyramid_jwtnode.exceptions.UnknownKeyError` (401).

HTTPS is required, except for loopback hosts (tests, sidecars on the same machine). The
standard library's ``urllib`` does the fetching (no new dependency); PyJWT's algorithm
objects turn each JWK into a key. PyJWT's own ``PyJWKClient`` is not used: it takes the
algorithm from the JWK, holds a lock across the network call, has no size cap, and cannot
tell "not in the set" from "the set cannot be fetched".
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, Final

from jwt.exceptions import InvalidKeyError

from .algorithms import implementation, key_problem, key_type
from .converters import url_problem
from .exceptions import KeySetUnavailableError, UnknownKeyError

__all__ = ["RemoteKeySet", "Fetched", "FetchError", "fetch_json", "keys_of", "PRIVATE_MEMBERS"]

log = logging.getLogger("pyramid_jwtnode")

#: Members that only a private (or symmetric) JWK has: such a key is never used.
PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
#: Largest answer read from a key set or discovery URL.
MAX_ANSWER_BYTES: Final = 256 * 1024
#: Shortest time between two fetches caused by unknown kids (or retries after a failure).
REFETCH_INTERVAL: Final = 1.0


class FetchError(Exception):
    """A fetch gave no usable answer; the message is a short reason code, safe to log."""


class Fetched:
    """A JSON document fetched, and how long its answer may be kept (``max_age``, or None)."""

    __slots__ = ("document", "max_age")

    def __init__(self, document: Any, max_age: float | None) -> None:
        self.document = document
        self.max_age = max_age


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener: Final = urllib.request.build_opener(_NoRedirects)


def _max_age(cache_control: str | None) -> float | None:
    if not cache_control:
        return None
    for directive in cache_control.lower().split(","):
        name, _, value = directive.strip().partition("=")
        if name in ("no-store", "no-cache"):
            return 0.0
        if name == "max-age" and value.strip().isdigit():
            return float(value.strip())
    return None


def fetch_json(url: str, timeout: float) -> Fetched:
    """GET ``url``: a 200 answer of at most :data:`MAX_ANSWER_BYTES` holding JSON, or FetchError."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with _opener.open(request, timeout=timeout) as answer:
            if answer.status != 200:
                raise FetchError(f"status_{answer.status}")
            body = answer.read(MAX_ANSWER_BYTES + 1)
            cache_control = answer.headers.get("Cache-Control")
    except urllib.error.HTTPError as exc:
        raise FetchError(f"status_{exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:  # refused, timeout, TLS, bad URL
        raise FetchError(type(getattr(exc, "reason", exc)).__name__.lower()) from None
    if len(body) > MAX_ANSWER_BYTES:
        raise FetchError("too_large")
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise FetchError("not_json") from None
    return Fetched(document, _max_age(cache_control))


def _usable(algorithm: str, jwk: Any) -> Any:
    """The verification key in ``jwk`` if it may serve ``algorithm``, else ``None``."""
    if not isinstance(jwk, dict) or jwk.get("kty") != key_type(algorithm):
        return None
    if jwk.get("use", "sig") != "sig" or jwk.get("alg", algorithm) != algorithm:
        return None
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return None
    if PRIVATE_MEMBERS.intersection(jwk):
        return None
    try:
        key = implementation(algorithm).from_jwk(jwk)
    except (InvalidKeyError, ValueError, TypeError, KeyError):
        return None
    if key_problem(algorithm, key) is not None:
        return None
    return implementation(algorithm).prepare_key(key)


def keys_of(algorithm: str, document: Any) -> dict[str | None, Any]:
    """The usable keys of a JWK Set document by ``kid`` (``None``: the one key without a kid,
    when the set holds exactly one usable key), or FetchError when it is not a JWK Set."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise FetchError("not_a_jwk_set")
    keys: dict[str | None, Any] = {}
    for jwk in document["keys"]:
        key = _usable(algorithm, jwk)
        kid = jwk.get("kid") if isinstance(jwk, dict) else None
        if key is None or (kid is not None and not isinstance(kid, str)) or kid in keys:
            continue
        keys[kid] = key
    if len(keys) > 1:
        keys.pop(None, None)  # a key without a kid is chosen only when it is the only key
    elif len(keys) == 1 and None not in keys:
        keys[None] = next(iter(keys.values()))
    return keys


class RemoteKeySet:
    """The verification keys of one config, from a remote JWK Set; safe to share between threads.

    ``discovery_url`` (an OpenID Connect ``/.well-known/openid-configuration``) takes the
    place of ``url``: ``jwks_uri`` and ``issuer`` come from it, and a configured ``issuer``
    must equal the document's.
    """

    def __init__(
        self,
        algorithm: str,
        *,
        url: str | None = None,
        discovery_url: str | None = None,
        issuer: str | None = None,
        ttl: float = 300,
        timeout: float = 2.0,
        name: str = "jwt",
        refetch_interval: float = REFETCH_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        fetch: Callable[[str, float], Fetched] = fetch_json,
    ) -> None:
        if (url is None) == (discovery_url is None):
            raise ValueError("give exactly one of url and discovery_url")
        self.algorithm = algorithm
        self.url = url
        self.discovery_url = discovery_url
        self.configured_issuer = issuer
        self.name = name
        self._ttl = ttl
        self._timeout = timeout
        self._interval = refetch_interval
        self._clock = clock
        self._fetch = fetch
        self._lock = threading.Lock()
        self._in_flight: threading.Event | None = None
        self._keys: Mapping[str | None, Any] | None = None
        self._issuer: str | None = issuer
        self._expires = 0.0
        self._attempted = float("-inf")
        self._failing = False
        #: Bumped every time the held keys change: verifiers forget what they verified before.
        self.generation = 0

    # -- what verification asks -------------------------------------------------------

    def key_for(self, kid: str | None) -> Any:
        """The key named ``kid``; UnknownKeyError (401) or KeySetUnavailableError (503)."""
        keys = self._keys
        if keys is not None and kid in keys and (self._clock() < self._expires or self._in_flight):
            return keys[kid]  # fresh, or being refreshed by another request right now
        self._refresh()
        keys = self._keys
        if keys is not None and kid in keys:
            return keys[kid]
        if self._failing:
            raise KeySetUnavailableError(f"jwt config {self.name!r}: the key set cannot be fetched")
        raise UnknownKeyError("unknown_kid")

    @property
    def issuer(self) -> str | None:
        """The issuer tokens must carry: configured, or from the discovery document."""
        if self._issuer is None and self.discovery_url is not None:
            self._refresh()
        return self._issuer

    def holds(self, kid: str) -> bool:
        """True when the set held now has a key named ``kid`` (fetches nothing)."""
        keys = self._keys
        return keys is not None and kid in keys

    def kids(self) -> list[str]:
        """The key ids held now (for ``pjwt configs``; fetches nothing)."""
        return sorted(kid for kid in (self._keys or {}) if kid is not None)

    # -- fetching: one at a time, at most once per interval ------------------------------

    def _refresh(self) -> None:
        with self._lock:
            now = self._clock()
            in_flight = self._in_flight
            if in_flight is None:
                if now - self._attempted < self._interval:
                    return  # fetched (or failed) a moment ago: answer from what is held
                self._in_flight = in_flight = threading.Event()
                self._attempted = now
                leader = True
            else:
                leader = False
        if not leader:
            in_flight.wait(self._timeout * 2 + 1)
            return
        try:
            keys, issuer, max_age = self._fetch_keys()
        except FetchError as exc:
            log.error("jwt config %s: key set not fetched (%s); held keys stay in use", self.name, exc)
            with self._lock:
                self._failing = True
        else:
            ttl = max(1.0, min(self._ttl, max_age)) if max_age is not None else max(1.0, self._ttl)
            with self._lock:
                if self._keys is None or dict(self._keys) != keys:
                    self.generation += 1
                self._keys, self._issuer = keys, issuer
                self._expires = self._clock() + ttl
                self._failing = False
        finally:
            with self._lock:
                self._in_flight = None
            in_flight.set()

    def _fetch_keys(self) -> tuple[dict[str | None, Any], str | None, float | None]:
        url, issuer = self.url, self.configured_issuer
        if self.discovery_url is not None:
            discovered = self._fetch(self.discovery_url, self._timeout).document
            if not isinstance(discovered, dict):
                raise FetchError("discovery_not_an_object")
            url, found = discovered.get("jwks_uri"), discovered.get("issuer")
            if not isinstance(url, str) or url_problem(url) is not None:
                raise FetchError("discovery_bad_jwks_uri")
            if not isinstance(found, str) or (issuer is not None and found != issuer):
                raise FetchError("discovery_issuer_mismatch")
            issuer = found
        assert url is not None
        fetched = self._fetch(url, self._timeout)
        return keys_of(self.algorithm, fetched.document), issuer, fetched.max_age
