"""pyramid_jwtnode: named jwt-configs, token views and bearer-token verification for Pyramid.

``config.include("pyramid_jwtnode")`` adds the ``add_jwt_*`` and ``*_jwt_security_policy``
directives and the request methods, and declares every config listed in the
``jwt.configs`` setting. The public names below are what a host app or its tests use;
everything else is private to its module.

Wiring
    :func:`includeme`; :func:`get_jwt_node` finds a ready config in a registry.
Plain objects (usable without a Configurator)
    :class:`JWTConfig` and :func:`parse_config` (settings), :func:`load_keys` (key
    material), :class:`Issuer` and :class:`IssuedToken`, :class:`Verifier`,
    :class:`JWTNode` and :func:`build_node` (a config made ready), :class:`JWTSecurityPolicy`,
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

Modules for tools: :mod:`pyramid_jwtnode.testing` (helpers for host apps' tests),
:mod:`pyramid_jwtnode.settings` (the settings table), :mod:`pyramid_jwtnode.cli` (``pjwt``).
"""

from __future__ import annotations

import functools

from pyramid.config import Configurator
from pyramid.interfaces import PHASE0_CONFIG

from .csrf import csrf_view
from .directives import DIRECTIVES, declare_from_settings
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
from .issuer import IssuedToken, Issuer
from .keys import load_keys
from .node import JWTNode, build_node, get_jwt_node
from .policy import JWTSecurityPolicy
from .request import create_jwt, revoke_jwt, revoke_jwt_subject
from .revocation import Revocation
from .settings import JWTConfig, parse_config
from .stores import MemoryStore, RedisStore, RevocationStore
from .verifier import Verifier
from .views import unavailable_view

__all__ = [
    # wiring
    "includeme",
    "get_jwt_node",
    # plain objects
    "JWTConfig",
    "parse_config",
    "load_keys",
    "Issuer",
    "IssuedToken",
    "Verifier",
    "JWTNode",
    "build_node",
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
    for name, directive in DIRECTIVES.items():
        config.add_directive(name, directive)
    config.add_request_method(create_jwt, "create_jwt")
    config.add_request_method(revoke_jwt, "revoke_jwt")
    config.add_request_method(revoke_jwt_subject, "revoke_jwt_subject")
    config.add_exception_view(unavailable_view, context=StoreUnavailableError)
    config.add_exception_view(unavailable_view, context=KeySetUnavailableError)
    config.add_view_deriver(csrf_view, "jwt_csrf_view", under="secured_view", over="csrf_view")
    config.action(None, functools.partial(declare_from_settings, config), order=PHASE0_CONFIG)
