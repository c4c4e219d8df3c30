"""pyramid_jwtnode: named jwt-configs, token views and bearer-token verification for Pyramid.

``config.include("pyramid_jwtnode")`` adds the ``add_jwt_*`` and ``*_jwt_security_policy``
directives and the request methods, and declares every config listed in the
``jwt.configs`` setting. The public names below are what a host app or its tests use;
everything else is private to its module.

Wiring
    :func:`includeme`; :func:`get_jwt_runtime` finds a ready config in a registry (its old
    name ``get_jwt_node``, like ``JWTNode`` and ``build_node``, still imports).
Plain objects (usable without a Configurator)
    :class:`JWTConfig` and :func:`parse_config` (settings), :func:`load_keys` (key
    material), :class:`Issuer` and :class:`IssuedToken`, :class:`Verifier`,
    :class:`JWTRuntime` and :func:`build_runtime` (a config made ready), :class:`JWTSecurityPolicy`,
    :class:`Revocation`.
Revocation stores
    :class:`RevocationStore` (the protocol), :class:`MemoryStore`, :class:`RedisStore`.
Errors
    :class:`JWTNodeError` is the base. A bad *token* is an :class:`InvalidTokenError`,
    whose subclasses say why: :class:`MalformedTokenError`, :class:`InvalidHeaderError`,
    :class:`UnknownKeyError`, :class:`InvalidSignatureError`, :class:`ExpiredTokenError`,
    :class:`ImmatureTokenError`, :class:`InvalidClaimError`, :class:`RevokedTokenError`.
    The app handing the issuer what cannot be signed is an :class:`IssueError`; a refused
    refresh is a :class:`GrantError`; a revocation store that cannot be reached is a
    :class:`StoreUnavailableError`, a remote key set that cannot be fetched (for a key not
    held) a :class:`KeySetUnavailableError`: both are answered 503. Bad settings or keys are Pyramid's
    ``ConfigurationError``, at start-up.

Modules for tools: :mod:`pyramid_jwtnode.tools.testing` (helpers for host apps' tests),
:mod:`pyramid_jwtnode.integration.settings` (the settings table), :mod:`pyramid_jwtnode.tools.cli` (``pjwt``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import _moved

# The exception tree imports nothing: it is always here.
from .exceptions import (
    ExpiredTokenError,
    GrantError,
    ImmatureTokenError,
    InvalidClaimError,
    InvalidHeaderError,
    InvalidSignatureError,
    InvalidTokenError,
    IssueError,
    JWTNodeError,
    KeySetUnavailableError,
    MalformedTokenError,
    RevokedTokenError,
    StoreUnavailableError,
    UnknownKeyError,
)

_moved.install()  # the flat layout's module paths keep working

if TYPE_CHECKING:
    from pyramid.config import Configurator

    from .integration.keyload import load_keys
    from .integration.policy import JWTSecurityPolicy
    from .integration.revocation import Revocation
    from .integration.runtime import JWTRuntime, build_runtime, get_jwt_runtime
    from .integration.settings import JWTConfig, parse_config
    from .jose.issuer import IssuedToken, Issuer
    from .jose.verifier import Verifier
    from .storage import MemoryStore, RedisStore, RevocationStore

#: Where each public name lives. They are imported on first use, so that importing the JOSE
#: core (``pyramid_jwtnode.jose.verifier``, ``.issuer``, ``.keys``, ``.jwks``) loads no Pyramid.
_LAZY = {
    "get_jwt_runtime": "integration.runtime", "JWTRuntime": "integration.runtime",
    "build_runtime": "integration.runtime",
    # the names of before 0.1's shape work (a config made ready was a "node"), still importable
    "get_jwt_node": "integration.runtime", "JWTNode": "integration.runtime",
    "build_node": "integration.runtime",
    "JWTConfig": "integration.settings", "parse_config": "integration.settings",
    "load_keys": "integration.keyload",
    "Issuer": "jose.issuer", "IssuedToken": "jose.issuer",
    "Verifier": "jose.verifier",
    "JWTSecurityPolicy": "integration.policy",
    "Revocation": "integration.revocation",
    "RevocationStore": "storage", "MemoryStore": "storage", "RedisStore": "storage",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pyramid_jwtnode' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    # wiring
    "includeme",
    "get_jwt_runtime",
    # plain objects
    "JWTConfig",
    "parse_config",
    "load_keys",
    "Issuer",
    "IssuedToken",
    "Verifier",
    "JWTRuntime",
    "build_runtime",
    "JWTSecurityPolicy",
    "Revocation",
    # revocation stores
    "RevocationStore",
    "MemoryStore",
    "RedisStore",
    # errors
    "JWTNodeError",
    "InvalidTokenError",
    "MalformedTokenError",
    "InvalidHeaderError",
    "UnknownKeyError",
    "InvalidSignatureError",
    "ExpiredTokenError",
    "ImmatureTokenError",
    "InvalidClaimError",
    "RevokedTokenError",
    "IssueError",
    "GrantError",
    "StoreUnavailableError",
    "KeySetUnavailableError",
]


def includeme(config: Configurator) -> None:
    """Add the directives and request methods; declare the ini-listed configs at commit."""
    from .integration.wiring import include

    include(config)
