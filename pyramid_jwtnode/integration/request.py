"""Request methods: ``request.create_jwt``, ``request.jwt_claims``, ``request.jwt_config``,
``request.revoke_jwt``, ``request.revoke_jwt_subject``.

``includeme`` adds ``create_jwt``, ``revoke_jwt`` and ``revoke_jwt_subject``; ``jwt_claims`` and ``jwt_config`` are
added by the first security policy made, so an app that only issues tokens does not pay for
request properties.
"""

from __future__ import annotations

from typing import Any, Final

from pyramid.config import PHASE3_CONFIG, Configurator
from pyramid.decorator import reify
from pyramid.interfaces import IRequestFactory
from pyramid.request import Request

from .interfaces import IJWTPolicies
from .policy import JWTSecurityPolicy
from .runtime import get_jwt_runtime

__all__ = ["create_jwt", "jwt_claims", "jwt_config", "revoke_jwt", "revoke_jwt_subject",
           "add_claims_property", "with_claims_properties", "policies_of"]

_CLAIMS_PROPERTY: Final = "pyramid_jwtnode.jwt_claims_property"
# After the actions of the default order, set_request_factory's among them.
_AFTER_REQUEST_FACTORY: Final = PHASE3_CONFIG + 1


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

    Only apps that verify tokens get them. They are properties of the app's request class:
    when the configuration commits, its request factory (Pyramid's ``Request``, or the class
    given to ``config.set_request_factory``) is replaced by a subclass that has them, made
    once. Added as request extensions (``add_request_method``), they would make Pyramid build
    a new request class on every request (~15 µs in-process, and a fifth of the CPU of a token
    request served by granian: bench/budget.py). A request factory that is not a class is
    wrapped: each request it makes is given the subclass of its own class (made once per class).
    """
    if config.registry.get(_CLAIMS_PROPERTY):
        return
    config.registry[_CLAIMS_PROPERTY] = True

    def register() -> None:
        factory = config.registry.queryUtility(IRequestFactory, default=Request)
        made = with_claims_properties(factory) if isinstance(factory, type) else _Subclassing(factory)
        config.registry.registerUtility(made, IRequestFactory)

    config.action(("jwt-request-class",), register, order=_AFTER_REQUEST_FACTORY)


class _Subclassing:
    """A request factory that is not a class, wrapped: the requests it makes get the subclass
    of their class with the two properties (the same layout, so ``__class__`` may change)."""

    def __init__(self, factory: Any) -> None:
        self.factory = factory
        self._classes: dict[type[Request], type[Request]] = {}

    def __call__(self, environ: dict[str, Any]) -> Request:
        request = self.factory(environ)
        cls = type(request)
        made = self._classes.get(cls)
        if made is None:
            made = self._classes[cls] = with_claims_properties(cls)
        request.__class__ = made
        return request

    def blank(self, path: str, *args: Any, **kw: Any) -> Request:
        """What ``pyramid.scripting.prepare`` asks of a request factory."""
        return self(Request.blank(path, *args, **kw).environ)


def with_claims_properties(factory: type[Request]) -> type[Request]:
    """A subclass of the request class ``factory`` with ``jwt_claims`` and ``jwt_config`` as
    reified properties (computed on first use, then kept for the request)."""
    return type(factory.__name__, (factory,), {"__module__": factory.__module__,
                                                "jwt_claims": reify(jwt_claims), "jwt_config": reify(jwt_config)})
