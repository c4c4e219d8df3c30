"""Security events: what an operator wants to hear of as it happens, as Pyramid events.

Subscribe with ``config.add_subscriber(callable, RefreshTokenReused)`` (or any of the classes
below, or :class:`SecurityEvent` for all of them). Each carries the config's name and
plain values only (a family id, a user id, a reason code, a URL without credentials): never a
token, a secret or a claim set. A subscriber runs inside the request that caused the event;
one that raises is logged and ignored, so alerting can never fail a request.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

__all__ = ["SecurityEvent", "RefreshTokenReused", "FamilyEnded", "SubjectRevoked",
           "KeySetFetchFailed", "KeySetRecovered", "StoreUnavailable", "Notify", "safe_notify"]

log = logging.getLogger("pyramid_jwtnode")

Notify = Callable[["SecurityEvent"], None]


@dataclasses.dataclass(frozen=True)
class SecurityEvent:
    """The base of every security event: the jwt config it concerns."""

    config: str


@dataclasses.dataclass(frozen=True)
class RefreshTokenReused(SecurityEvent):
    """A refresh token was presented after it had been rotated (outside the retry grace): it
    was stolen or replayed, and its family has ended."""

    family: str
    subject: str | None


@dataclasses.dataclass(frozen=True)
class FamilyEnded(SecurityEvent):
    """A refresh family ended: ``reason`` is ``logout``, ``refresh_reuse``,
    ``subject_revoked``, ``refused_by_refresh_payload`` or ``subject_changed``."""

    family: str
    subject: str | None
    reason: str


@dataclasses.dataclass(frozen=True)
class SubjectRevoked(SecurityEvent):
    """Every token of ``subject`` issued until now was revoked (``revoke_jwt_subject``)."""

    subject: str


@dataclasses.dataclass(frozen=True)
class KeySetFetchFailed(SecurityEvent):
    """A remote key set (or its discovery document) could not be fetched: ``reason`` is the
    fetch's reason code; held keys stay in use until ``jwks_max_stale``."""

    url: str
    reason: str


@dataclasses.dataclass(frozen=True)
class KeySetRecovered(SecurityEvent):
    """A remote key set was fetched again after failing."""

    url: str


@dataclasses.dataclass(frozen=True)
class StoreUnavailable(SecurityEvent):
    """The revocation store could not be reached: the request was answered 503."""

    reason: str


def safe_notify(notify: Callable[[object], object]) -> Notify:
    """``notify`` (a registry's) wrapped so that a subscriber that raises is logged, never
    raised into the request."""

    def send(event: SecurityEvent) -> None:
        try:
            notify(event)
        except Exception as exc:  # noqa: BLE001 - a subscriber's bug must not fail the request
            log.error("security event %s: a subscriber raised %s", type(event).__name__, type(exc).__name__)

    return send
