"""pyramid_jwtnode: named jwt-configs, token views and bearer-token verification for Pyramid.

``config.include("pyramid_jwtnode")`` adds the directives and request methods
below and declares every config listed in the ``jwt.configs`` setting.
"""

from __future__ import annotations

import functools

from pyramid.config import Configurator
from pyramid.interfaces import PHASE1_CONFIG

from .directives import (
    add_jwt_config,
    add_jwt_jwks_view,
    add_jwt_refresh_view,
    add_jwt_revocation_view,
    add_jwt_token_view,
    add_jwt_verify_view,
    configure_from_settings,
    create_jwt,
    get_jwt_node,
    jwt_claims,
    make_jwt_security_policy,
    revoke_jwt,
    set_jwt_security_policy,
)
from .exceptions import (
    ExpiredTokenError,
    ImmatureTokenError,
    InvalidClaimError,
    InvalidHeaderError,
    InvalidSignatureError,
    GrantError,
    InvalidTokenError,
    IssueError,
    RevokedTokenError,
    StoreUnavailableError,
    JWTNodeError,
    MalformedTokenError,
    UnknownKeyError,
)
from .issuer import IssuedToken, Issuer
from .keys import KeySet, load_keys
from .node import JWTNode, build_node
from .policy import JWTSecurityPolicy
from .revocation import Revocation
from .settings import SETTINGS, JWTConfig, parse_config
from .stores import MemoryStore, RedisStore, RevocationStore
from .verifier import Verifier

__all__ = [
    # Pyramid wiring
    "includeme",
    "add_jwt_config",
    "add_jwt_token_view",
    "add_jwt_jwks_view",
    "add_jwt_verify_view",
    "add_jwt_refresh_view",
    "add_jwt_revocation_view",
    "make_jwt_security_policy",
    "set_jwt_security_policy",
    "get_jwt_node",
    "create_jwt",
    "jwt_claims",
    "revoke_jwt",
    # plain objects
    "JWTConfig",
    "SETTINGS",
    "parse_config",
    "KeySet",
    "load_keys",
    "Issuer",
    "IssuedToken",
    "Verifier",
    "JWTSecurityPolicy",
    "JWTNode",
    "build_node",
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
    "StoreUnavailableError",
    "GrantError",
    "MemoryStore",
    "RedisStore",
    "RevocationStore",
    "Revocation",
]


def includeme(config: Configurator) -> None:
    """Add the directives and request methods; declare the ini-listed configs at commit."""
    config.add_directive("add_jwt_config", add_jwt_config)
    config.add_directive("add_jwt_token_view", add_jwt_token_view)
    config.add_directive("add_jwt_jwks_view", add_jwt_jwks_view)
    config.add_directive("add_jwt_verify_view", add_jwt_verify_view)
    config.add_directive("add_jwt_refresh_view", add_jwt_refresh_view)
    config.add_directive("add_jwt_revocation_view", add_jwt_revocation_view)
    config.add_directive("make_jwt_security_policy", make_jwt_security_policy)
    config.add_directive("set_jwt_security_policy", set_jwt_security_policy)
    config.add_request_method(create_jwt, "create_jwt")
    config.add_request_method(revoke_jwt, "revoke_jwt")
    config.action(None, functools.partial(configure_from_settings, config), order=PHASE1_CONFIG)
