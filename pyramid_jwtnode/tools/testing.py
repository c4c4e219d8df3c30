"""Helpers for testing a host app that uses pyramid_jwtnode.

Plain functions, usable from any test runner::

    from pyramid_jwtnode.tools.testing import auth_header
    res = testapp.get("/api/orders", headers=auth_header(testapp, {"sub": "alice", "roles": ["admin"]}))

With pytest the fixture ``jwt_headers`` (from the plugin this package registers)
does the same from the host's ``testapp`` fixture::

    def test_admin_sees_orders(testapp, jwt_headers):
        res = testapp.get("/api/orders", headers=jwt_headers({"sub": "alice", "roles": ["admin"]}))
        assert res.status_int == 200
"""

from __future__ import annotations

from typing import Any

from pyramid.registry import Registry

from ..integration.runtime import get_jwt_runtime

__all__ = ["Clock", "registry_of", "mint_token", "bearer", "auth_header"]


class Clock:
    """A settable clock for ``add_jwt_config(..., clock=Clock(...))``: ``clock()`` is ``clock.now``."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def registry_of(app: Any) -> Registry:
    """The Pyramid registry of a ``webtest.TestApp``, a WSGI router, a request or a registry."""
    for candidate in (app, getattr(app, "app", None), getattr(app, "registry", None)):
        if isinstance(candidate, Registry):
            return candidate
        registry = getattr(candidate, "registry", None)
        if isinstance(registry, Registry):
            return registry
    raise TypeError(f"cannot find a Pyramid registry on {type(app).__name__}")


def mint_token(app: Any, claims: Any = None, config: str | None = None,
               expires_in: int | None = None) -> str:
    """A token signed by the running app's config (the only one, or ``config``)."""
    node = get_jwt_runtime(registry_of(app), config)
    if node.issuer is None:
        raise LookupError(f"jwt config {node.name!r} has no private key: it cannot issue tokens")
    payload = claims if claims is not None else ({} if node.config.claims_key is None else None)
    return node.issuer.issue(payload, expires_in=expires_in).token


def bearer(token: str) -> dict[str, str]:
    """``{"Authorization": "Bearer <token>"}``."""
    return {"Authorization": f"Bearer {token}"}


def auth_header(app: Any, claims: Any = None, config: str | None = None,
                expires_in: int | None = None) -> dict[str, str]:
    """The ``Authorization`` header of a fresh token from the app's config."""
    return bearer(mint_token(app, claims, config, expires_in))
