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
- a fetch has a deadline for the whole of it (``jwks_timeout``: connecting, the answer's
  headers and its body together, the discovery document included, however slowly a server
  drips its bytes) and a size cap, follows no redirect, and only a 200 answer holding a JWK
  Set is used. While a fetch is under way, a set past its time is past its time: requests
  needing it wait for the fetch (at most the deadline) rather than use the old keys;
- when the set cannot be fetched, the keys already held keep working (``stale-if-error``)
  for at most ``jwks_max_stale`` seconds past the set's expiry; after that they are dropped
  and their tokens get :class:`~pyramid_jwtnode.exceptions.KeySetUnavailableError` (503),
  so whoever can block the traffic to the identity provider cannot keep a rotated-out key
  valid. A token whose key is not held gets the same 503 while the set cannot be fetched
  (fail closed), while as long as the set can be fetched an unknown kid is a plain
  :class:`~pyramid_jwtnode.exceptions.UnknownKeyError` (401);
- tokens verified before re-check that their key is still held whenever the set is due
  for a refresh, so a withdrawn key verifies nothing ``jwks_cache_ttl`` plus at most the
  refetch interval after it left the set, remembered tokens included;
- choosing among configs asks a remote config only what it already knows
  (:attr:`RemoteKeySet.known_issuer`, :meth:`RemoteKeySet.holds`): a config whose
  discovery document cannot be fetched never slows the tokens of another config.

HTTPS is required, except for loopback hosts (tests, sidecars on the same machine). The
standard library's ``urllib`` does the fetching (no new dependency); PyJWT's algorithm
objects turn each JWK into a key. PyJWT's own ``PyJWKClient`` is not used: it takes the
algorithm from the JWK, holds a lock across the network call, has no size cap, and cannot
tell "not in the set" from "the set cannot be fetched".
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, Final

from jwt.exceptions import InvalidKeyError

from ..exceptions import KeySetUnavailableError, UnknownKeyError
from ..loggable import compared, safe_url
from .algorithms import implementation, key_problem, key_type

__all__ = ["RemoteKeySet", "Fetched", "FetchError", "fetch_json", "keys_of", "url_problem", "PRIVATE_MEMBERS"]

log = logging.getLogger("pyramid_jwtnode")

#: Members that only a private (or symmetric) JWK has: such a key is never used.
PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
#: Largest answer read from a key set or discovery URL.
MAX_ANSWER_BYTES: Final = 256 * 1024
#: Shortest time between two fetches caused by unknown kids (or retries after a failure).
REFETCH_INTERVAL: Final = 1.0
#: Default longest time past its expiry that a key set which cannot be refreshed stays in use.
MAX_STALE: Final = 86400.0


def url_problem(url: str) -> str | None:
    """Why ``url`` may not be fetched: HTTPS only, except plain HTTP to a loopback host."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "is not a URL"
    if not host or parts.scheme not in ("https", "http"):
        return "must be an https:// URL"
    if parts.scheme == "http":
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            return "must use https:// (plain http is allowed only to a loopback host)"
    return None


class FetchError(Exception):
    """A fetch gave no usable answer; the message is a short reason code, safe to log.
    ``url`` is the URL whose answer was not usable (as configured: shown only through
    :func:`~pyramid_jwtnode.loggable.safe_url`), and ``expected``/``seen`` the two values that
    differed, when that is why."""

    def __init__(self, reason: str, *, url: str | None = None, expected: str | None = None,
                 seen: Any = None) -> None:
        super().__init__(reason)
        self.url, self.expected, self.seen = url, expected, seen


class Fetched:
    """A JSON document fetched, and how long its answer may be kept (``max_age``, or None)."""

    __slots__ = ("document", "max_age")

    def __init__(self, document: Any, max_age: float | None) -> None:
        self.document = document
        self.max_age = max_age


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _Deadline:
    """One deadline for a whole fetch: when it passes, every socket the fetch opened is shut
    down, so a read blocked on a server that drips its answer returns at once."""

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def create_connection(self, address: tuple[str, int], timeout: Any = None,
                          source_address: Any = None, **kwargs: Any) -> socket.socket:
        sock = socket.create_connection(address, timeout, source_address, **kwargs)
        with self._lock:
            if self.expired:
                sock.close()
                raise TimeoutError("deadline")
            self._sockets.append(sock)
        return sock

    def connection(self, kind: type[http.client.HTTPConnection]) -> Callable[..., http.client.HTTPConnection]:
        """A connection factory for urllib's handlers whose sockets this deadline watches."""
        def build(host: str, **kwargs: Any) -> http.client.HTTPConnection:
            conn = kind(host, **kwargs)
            conn._create_connection = self.create_connection  # type: ignore[attr-defined]
            return conn
        return build


class _WatchedHTTP(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(self._deadline.connection(http.client.HTTPConnection), req)


class _WatchedHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def https_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(self._deadline.connection(http.client.HTTPSConnection), req,
                            context=self._context)  # type: ignore[attr-defined]


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
    """GET ``url``: a 200 answer of at most :data:`MAX_ANSWER_BYTES` holding JSON, or
    FetchError. ``timeout`` bounds the whole fetch (connect, headers and body together)."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with _Deadline(timeout) as deadline:
        opener = urllib.request.build_opener(_NoRedirects, _WatchedHTTP(deadline), _WatchedHTTPS(deadline))
        try:
            with opener.open(request, timeout=timeout) as answer:
                if answer.status != 200:
                    raise FetchError(f"status_{answer.status}")
                body = answer.read(MAX_ANSWER_BYTES + 1)
                cache_control = answer.headers.get("Cache-Control")
        except urllib.error.HTTPError as exc:
            raise FetchError(f"status_{exc.code}") from None
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            if deadline.expired:
                raise FetchError("timeout") from None
            # refused, timeout, TLS, bad URL
            raise FetchError(type(getattr(exc, "reason", exc)).__name__.lower()) from None
        if deadline.expired:  # the body was cut short when the deadline passed
            raise FetchError("timeout")
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
        max_stale: float = MAX_STALE,
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
        self._max_stale = max_stale
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
        #: Told ``("failed", reason)`` when a fetch fails, ``("recovered", None)`` when one
        #: succeeds after failing and ``("fetched", None)`` when any other succeeds (the
        #: Pyramid integration turns these into security events and counts them).
        self.on_fetch: Callable[[str, str | None], None] | None = None

    # -- what verification asks -------------------------------------------------------

    def key_for(self, kid: str | None) -> Any:
        """The key named ``kid``; UnknownKeyError (401) or KeySetUnavailableError (503)."""
        keys = self._keys
        if keys is not None and kid in keys and self._clock() < self._expires:
            return keys[kid]  # fresh
        self._refresh()
        keys = self._keys
        if keys is not None and self._failing and self._clock() >= self._expires + self._max_stale:
            self._drop(keys)
            keys = None
        if keys is not None and kid in keys:
            return keys[kid]
        if self._failing:
            raise KeySetUnavailableError(f"jwt config {self.name!r}: the key set cannot be fetched")
        raise UnknownKeyError("unknown_kid")

    @property
    def issuer(self) -> str | None:
        """The issuer tokens must carry: configured, or from the discovery document (fetched
        when not known yet)."""
        if self._issuer is None and self.discovery_url is not None:
            self._refresh()
        return self._issuer

    @property
    def where(self) -> str:
        """The URL fetched first (the discovery document's, else the key set's), without
        credentials or query: for logs and events."""
        parts = urllib.parse.urlsplit(self.discovery_url or self.url or "")
        return urllib.parse.urlunsplit((parts.scheme, parts.hostname or "" if parts.port is None
                                        else f"{parts.hostname}:{parts.port}", parts.path, "", ""))

    @property
    def known_issuer(self) -> str | None:
        """The issuer as known now: configured, or from a discovery document already
        fetched; ``None`` otherwise. Never fetches (choosing a config asks this)."""
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
            in_flight.wait(self._timeout + 1)  # the fetch's own deadline ends it before that
            return
        try:
            keys, issuer, max_age = self._fetch_keys(now + self._timeout)
        except FetchError as exc:
            log.error("jwt config %s: key set not fetched from %s (%s%s); held keys stay in use",
                      self.name, safe_url(exc.url or self.discovery_url or self.url or ""), exc,
                      compared(exc.expected, exc.seen))
            with self._lock:
                self._failing = True
            if self.on_fetch is not None:
                self.on_fetch("failed", str(exc))
        else:
            ttl = max(1.0, min(self._ttl, max_age)) if max_age is not None else max(1.0, self._ttl)
            with self._lock:
                if self._keys is None or dict(self._keys) != keys:
                    self.generation += 1
                self._keys, self._issuer = keys, issuer
                self._expires = self._clock() + ttl
                recovered, self._failing = self._failing, False
            if self.on_fetch is not None:
                self.on_fetch("recovered" if recovered else "fetched", None)
        finally:
            with self._lock:
                self._in_flight = None
            in_flight.set()

    def _drop(self, keys: Mapping[str | None, Any]) -> None:
        """Forget a set that could not be refreshed for longer than ``max_stale``."""
        with self._lock:
            if self._keys is keys:
                self._keys = None
                self.generation += 1
                log.error("jwt config %s: key set dropped, not refreshed for %.0f s past its expiry "
                          "(jwks_max_stale); its tokens get 503 until it can be fetched",
                          self.name, self._max_stale)

    def _fetch_keys(self, deadline: float) -> tuple[dict[str | None, Any], str | None, float | None]:
        """Fetch the set (and the discovery document first, if any), all before ``deadline``."""
        url, issuer = self.url, self.configured_issuer
        if self.discovery_url is not None:
            discovered = self._get(self.discovery_url, self._timeout).document
            if not isinstance(discovered, dict):
                raise FetchError("discovery_not_an_object")
            url, found = discovered.get("jwks_uri"), discovered.get("issuer")
            if not isinstance(url, str) or url_problem(url) is not None:
                raise FetchError("discovery_bad_jwks_uri")
            if not isinstance(found, str) or (issuer is not None and found != issuer):
                raise FetchError("discovery_issuer_mismatch", url=self.discovery_url,
                                 expected=issuer, seen=found)
            issuer = found
        assert url is not None
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise FetchError("timeout")
        fetched = self._get(url, remaining)
        try:
            return keys_of(self.algorithm, fetched.document), issuer, fetched.max_age
        except FetchError as exc:
            exc.url = url
            raise

    def _get(self, url: str, timeout: float) -> Fetched:
        """Fetch ``url``; a FetchError names it."""
        try:
            return self._fetch(url, timeout)
        except FetchError as exc:
            exc.url = url
            raise
