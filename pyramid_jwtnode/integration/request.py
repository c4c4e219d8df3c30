"""Request methods: ``request.create_jwt``, ``request.jwt_claims``, ``request.jwt_config``,
``request.revoke_jwt``, ``request.revoke_jwt_subject``.

``includeme`` adds ``create_jwt``, ``revoke_jwt`` and ``revoke_jwt_subject``; ``jwt_claims`` and ``jwt_config`` are
added by the first security policy made, so an app that only issues tokens does not pay for
request properties.
"""

from __future__ import annotations

from typing import Any, Final

from pyramid.config import Configurator
from pyramid.request import Request

from .interfaces import IJWTPolicies
from .policy import JWTSecurityPolicy
from .runtime import get_jwt_runtime

__all__ = ["create_jwt", "jwt_claims", "jwt_config", "revoke_jwt", "revoke_jwt_subject",
           "add_claims_property", "policies_of"]

_CLAIMS_PROPERTY: Final = "pyramid_jwtnode.jwt_claims_property"


def policies_of(request: Request) -> list[JWTSecurityPolicy]:
    """The bound security policies made by ``make_jwt_security_policy``, in order."""
    policies: list[JWTSecurityPolicy] = request.registry.queryUtility(IJWTPolicies) or []
    return policies


def create_jwt(
    request: Request,
    claims: Any,
    config: str | None = None,
    expires_in: int | None = None,
) -> str:
    """``request.create_jwt(claims, config="name")``: sign ``claims`` and return the token."""
    node = get_jwt_runtime(request.registry, config)
    if node.issuer is None:
        raise LookupError(f"jwt config {node.name!r} has no private key: it cannot issue tokens")
    return node.issuer.issue(claims, expires_in=expires_in).token


def jwt_claims(request: Request) -> dict[str, Any] | None:
    """``request.jwt_claims``: the verified claims of the request's bearer token, or ``None``.

    Every policy made by ``make_jwt_security_policy``/``set_jwt_security_policy``
    is asked in turn; the first that verifies the token wins.
    """
    for policy in policies_of(request):
        claims = policy.verified_claims(request)
        if claims is not None:
            return claims
    return None


def jwt_config(request: Request) -> str | None:
    """``request.jwt_config``: the name of the config that verified the request's token, or
    ``None`` (the config a view serves, when a policy accepts several)."""
    for policy in policies_of(request):
        name = policy.verified_config(request)
        if name is not None:
            return name
    return None


def revoke_jwt(request: Request) -> bool:
    """``request.revoke_jwt()``: revoke the request's bearer token and its family (logout).

    True when a valid token was revoked; False when there was none, or its config keeps
    no revocation store. Raises StoreUnavailableError when the store cannot be reached.
    """
    for policy in policies_of(request):
        if policy.revoke(request):
            request.__dict__.pop("jwt_claims", None)
            request.__dict__.pop("jwt_config", None)
            return True
    return False


def revoke_jwt_subject(request: Request, userid: str, config: str | None = None) -> None:
    """``request.revoke_jwt_subject(userid)``: refuse every access and refresh token of ``userid``
    issued at or before now, in every process sharing the store (after a password change,
    say). ``config`` names the config (default: the only one, or the security policy's).

    Raises ``LookupError`` when the config keeps no revocation store, and
    ``StoreUnavailableError`` when the store cannot be reached.
    """
    node = get_jwt_runtime(request.registry, config)
    if node.revocation is None:
        raise LookupError(f"jwt config {node.name!r} has no revocation store: set "
                          f"jwt.{node.name}.revocation_store")
    node.revocation.revoke_subject(userid)


def add_claims_property(config: Configurator) -> None:
    """Add ``request.jwt_claims`` and ``request.jwt_config`` once per app.

    Request properties make Pyramid build a request class per request (~16 us): only
    apps that verify tokens get them, so a token-issuing app pays nothing.
    """
    if not config.registry.get(_CLAIMS_PROPERTY):
        config.registry[_CLAIMS_PROPERTY] = True
        config.add_request_method(jwt_claims, "jwt_claims", reify=True)
        config.add_request_method(jwt_config, "jwt_config", reify=True)
