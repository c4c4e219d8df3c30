"""Configurator directives and request methods: thin wiring over the plain objects.

``add_jwt_config`` checks its settings at once (the same parser the ini file
goes through) and loads keys in a configuration action, so a mistake in
either stops start-up. Every registration has a discriminator and an
introspectable; declaring the same config name twice, in code or in the ini
file, is a :class:`~pyramid.exceptions.ConfigurationConflictError`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationConflictError, ConfigurationError
from pyramid.interfaces import PHASE1_CONFIG
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.security import NO_PERMISSION_REQUIRED

from .interfaces import IJWTNodes, IJWTPolicies
from .node import JWTNode, build_node
from .policy import JWTSecurityPolicy
from .settings import (
    CONFIGS_KEY,
    SECURITY_POLICY_KEY,
    configs_from_settings,
    parse_config,
    security_policy_from_settings,
)
from .revocation import Revocation
from .views import (
    JWKSView,
    MethodNotAllowedView,
    PayloadCallable,
    RefreshView,
    ResponseCallable,
    RevocationView,
    TokenView,
    VerifyView,
)

__all__ = [
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
    "configure_from_settings",
]

_DECLARED = "pyramid_jwtnode.declared"
_CLAIMS_PROPERTY = "pyramid_jwtnode.jwt_claims_property"


def get_jwt_node(registry: Registry, name: str | None = None) -> JWTNode:
    """The ready config called ``name``; without a name, the only one there is."""
    nodes: Mapping[str, JWTNode] = registry.queryUtility(IJWTNodes) or {}
    if name is None:
        if len(nodes) == 1:
            return next(iter(nodes.values()))
        raise LookupError(
            f"{len(nodes)} jwt configs are registered ({', '.join(sorted(nodes)) or 'none'}); "
            "name the one you mean"
        )
    try:
        return nodes[name]
    except KeyError:
        raise LookupError(
            f"no jwt config named {name!r} (registered: {', '.join(sorted(nodes)) or 'none'}). "
            f"Fix: list it in {CONFIGS_KEY} or declare it with config.add_jwt_config"
        ) from None


def _bound_node(registry: Registry, name: str, what: str, *, issue: bool = False) -> JWTNode:
    """The ready config a registration refers to, or a ConfigurationError saying why not."""
    try:
        node = get_jwt_node(registry, name)
    except LookupError as exc:
        raise ConfigurationError(f"{what}: {exc}") from None
    if issue and node.issuer is None:
        raise ConfigurationError(
            f"{what}: jwt config {name!r} has no private key, so it cannot issue tokens. "
            f"Fix: set jwt.{name}.private_key_file."
        )
    return node


def _route_view(
    config: Configurator,
    kind: str,
    pattern: str,
    jwt_configs: tuple[str, ...],
    view: Callable[..., Any],
    request_method: str,
    route_name: str | None,
    bind: Callable[[Registry], None],
    **view_options: Any,
) -> None:
    """Register one of the add-on's routes: ``view`` for one method and a 405 with ``Allow``
    for the others, an introspectable under ``jwt <kind> views``, and an action that binds
    the view to its ready config(s) when the configuration commits."""
    route_name = route_name or f"jwt.{'+'.join(jwt_configs)}.{kind}"
    method = request_method.upper()
    allowed = ("GET", "HEAD") if method == "GET" else (method,)
    view_options.setdefault("permission", NO_PERMISSION_REQUIRED)
    config.add_route(route_name, pattern)
    config.add_view(view, route_name=route_name, request_method=method, **view_options)
    config.add_view(
        MethodNotAllowedView(allowed), route_name=route_name, permission=NO_PERMISSION_REQUIRED
    )
    intr = config.introspectable(f"jwt {kind} views", route_name, f"jwt {kind} view {pattern}",
                                 f"jwt {kind} view")
    intr["pattern"] = pattern
    intr["jwt_configs"] = jwt_configs
    intr["request_method"] = method
    for name in jwt_configs:
        intr.relate("jwt configs", name)
    intr.relate("routes", route_name)
    registry = config.registry
    config.action((f"jwt-{kind}-view", route_name), lambda: bind(registry), introspectables=(intr,))


def _declare(
    config: Configurator,
    name: str,
    settings: Mapping[str, Any],
    source: str,
    clock: Callable[[], float],
) -> None:
    parsed = parse_config(name, settings)
    registry = config.registry
    declared: dict[str, str] = registry.setdefault(_DECLARED, {})
    if name in declared:
        raise ConfigurationConflictError({("jwt-config", name): [declared[name], source]})
    declared[name] = source

    intr = config.introspectable("jwt configs", name, f"jwt config {name!r}", "jwt config")
    for key, value in parsed.describe().items():
        intr[key] = value
    intr["source"] = source

    def register() -> None:
        node = build_node(parsed, clock=clock)
        nodes = registry.queryUtility(IJWTNodes)
        if nodes is None:
            nodes = {}
            registry.registerUtility(nodes, IJWTNodes)
        nodes[name] = node

    config.action(("jwt-config", name), register, introspectables=(intr,), order=PHASE1_CONFIG)
    if parsed.token_route is not None:
        assert parsed.payload is not None  # the parser requires it with token_route
        add_jwt_token_view(
            config,
            parsed.token_route,
            jwt_config=name,
            payload=parsed.payload,
            request_method=parsed.token_route_method,
            response=parsed.response,
        )
    if parsed.jwks_route is not None:
        add_jwt_jwks_view(config, parsed.jwks_route, jwt_config=name)
    if parsed.verify_route is not None:
        add_jwt_verify_view(config, parsed.verify_route, jwt_config=name)
    if parsed.refresh_route is not None:
        add_jwt_refresh_view(config, parsed.refresh_route, jwt_config=name, response=parsed.response)
    if parsed.revocation_route is not None:
        add_jwt_revocation_view(config, parsed.revocation_route, jwt_config=name)


def add_jwt_config(
    config: Configurator,
    name: str,
    *,
    clock: Callable[[], float] = time.time,
    **settings: Any,
) -> None:
    """Declare the jwt-config ``name`` from code.

    ``settings`` take the same keys as ``jwt.<name>.<key>`` in the ini file,
    as strings or native values (``expires_in=3600``, ``audience=["a", "b"]``,
    ``payload=callable``). ``clock`` replaces ``time.time`` for this config's
    issuer and verifier (tests use it to fix the time).
    """
    _declare(config, name, settings, str(config.action_info), clock)


def configure_from_settings(config: Configurator) -> None:
    """Declare every config listed in ``jwt.configs``; run as an action by includeme."""
    settings = config.get_settings()
    for name, raw in configs_from_settings(settings).items():
        _declare(config, name, raw, f"{CONFIGS_KEY} in the application settings", time.time)
    policy_config = security_policy_from_settings(settings)
    if policy_config is not None:
        if policy_config not in config.registry.get(_DECLARED, {}):
            raise ConfigurationError(
                f"{SECURITY_POLICY_KEY} names {policy_config!r}, which is not a declared jwt "
                f"config. Fix: name one of the configs in {CONFIGS_KEY}."
            )
        set_jwt_security_policy(config, policy_config)
    if not config.registry.get(_DECLARED):
        raise ConfigurationError(
            "pyramid_jwtnode is included but declares no jwt config. Fix: list names in "
            f"{CONFIGS_KEY} (e.g. '{CONFIGS_KEY} = main' with jwt.main.algorithm, "
            "jwt.main.expires_in and a key), or call config.add_jwt_config(name, ...)."
        )


def add_jwt_token_view(
    config: Configurator,
    pattern: str,
    jwt_config: str,
    payload: PayloadCallable | str,
    route_name: str | None = None,
    request_method: str = "POST",
    response: ResponseCallable | str | None = None,
    **view_options: Any,
) -> None:
    """Expose a token endpoint at ``pattern`` that signs what ``payload(request)`` returns.

    ``payload`` and ``response`` may be callables or dotted names. Other
    keyword arguments go to ``config.add_view`` (``permission`` defaults to
    :data:`~pyramid.security.NO_PERMISSION_REQUIRED`: a token endpoint is where
    clients come to authenticate).
    """
    payload_callable = config.maybe_dotted(payload)
    response_callable = config.maybe_dotted(response) if response is not None else None
    for key, value in (("payload", payload_callable), ("response", response_callable)):
        if value is not None and not callable(value):
            raise ConfigurationError(
                f"add_jwt_token_view({pattern!r}): {key} is not callable. Fix: pass a "
                f"function, e.g. {key}(request)."
            )
    view = TokenView(jwt_config, payload_callable, response_callable)

    def bind(registry: Registry) -> None:
        node = _bound_node(registry, jwt_config, f"add_jwt_token_view({pattern!r})", issue=True)
        assert node.issuer is not None
        view.bind(node.issuer, node.revocation)

    _route_view(config, "token", pattern, (jwt_config,), view, request_method, route_name, bind,
                **view_options)


def create_jwt(
    request: Request,
    claims: Any,
    config: str | None = None,
    expires_in: int | None = None,
) -> str:
    """``request.create_jwt(claims, config="name")``: sign ``claims`` and return the token."""
    node = get_jwt_node(request.registry, config)
    if node.issuer is None:
        raise LookupError(f"jwt config {node.name!r} has no private key: it cannot issue tokens")
    return node.issuer.issue(claims, expires_in=expires_in).token


def add_jwt_jwks_view(
    config: Configurator,
    pattern: str,
    jwt_config: str | Sequence[str],
    route_name: str | None = None,
) -> None:
    """Serve the public keys of one or more asymmetric configs as a JWK Set at ``pattern``."""
    names = (jwt_config,) if isinstance(jwt_config, str) else tuple(jwt_config)
    view = JWKSView(names)

    def bind(registry: Registry) -> None:
        jwks: list[Mapping[str, Any]] = []
        for name in names:
            node = _bound_node(registry, name, f"add_jwt_jwks_view({pattern!r})")
            if node.config.hmac:
                raise ConfigurationError(
                    f"add_jwt_jwks_view({pattern!r}): jwt config {name!r} uses "
                    f"{node.config.algorithm}, a shared secret that must never be published. "
                    "Fix: serve JWKS for RS/PS/ES/EdDSA configs only."
                )
            jwks.extend(node.keys.public_jwks)
        view.bind(jwks)

    _route_view(config, "jwks", pattern, names, view, "GET", route_name, bind)


def make_jwt_security_policy(config: Configurator, jwt_config: str) -> JWTSecurityPolicy:
    """A bearer-token security policy for ``jwt_config``, bound when the configuration commits.

    It is not installed: pass it to ``config.set_security_policy`` yourself, or
    wrap it in a policy of your own (see the README on composing policies).
    ``request.jwt_claims`` consults every policy made this way.
    """
    policy = JWTSecurityPolicy(name=jwt_config)
    registry = config.registry
    intr = config.introspectable("jwt security policies", jwt_config,
                                 f"jwt security policy {jwt_config!r}", "jwt security policy")
    intr["jwt_config"] = jwt_config
    intr.relate("jwt configs", jwt_config)

    def bind() -> None:
        policy.bind(_bound_node(registry, jwt_config, f"jwt security policy for {jwt_config!r}"))
        policies = registry.queryUtility(IJWTPolicies)
        if policies is None:
            policies = []
            registry.registerUtility(policies, IJWTPolicies)
        policies.append(policy)

    config.action(("jwt-security-policy", jwt_config), bind, introspectables=(intr,))
    if not registry.get(_CLAIMS_PROPERTY):
        # A request property makes Pyramid build a request class per request (~25 us):
        # only apps that verify tokens get it, so a token-issuing app pays nothing.
        registry[_CLAIMS_PROPERTY] = True
        config.add_request_method(jwt_claims, "jwt_claims", reify=True)
    return policy


def set_jwt_security_policy(config: Configurator, jwt_config: str) -> JWTSecurityPolicy:
    """Install a bearer-token policy for ``jwt_config`` and its RFC 6750 forbidden view.

    From the ini file: ``jwt.security_policy = <name>``.
    """
    policy = make_jwt_security_policy(config, jwt_config)
    config.set_security_policy(policy)
    config.add_forbidden_view(policy.challenge)
    return policy


def add_jwt_verify_view(
    config: Configurator,
    pattern: str,
    jwt_config: str,
    route_name: str | None = None,
) -> None:
    """The recipe's *validate* mode at ``pattern``: the claims of a valid bearer token, else 401/400."""
    policy = JWTSecurityPolicy(name=jwt_config)

    def bind(registry: Registry) -> None:
        policy.bind(_bound_node(registry, jwt_config, f"add_jwt_verify_view({pattern!r})"))

    _route_view(config, "verify", pattern, (jwt_config,), VerifyView(policy), "GET", route_name, bind)


def jwt_claims(request: Request) -> dict[str, Any] | None:
    """``request.jwt_claims``: the verified claims of the request's bearer token, or ``None``.

    Every policy made by ``make_jwt_security_policy``/``set_jwt_security_policy``
    is asked in turn; the first that verifies the token wins.
    """
    policies: list[JWTSecurityPolicy] = request.registry.queryUtility(IJWTPolicies) or []
    for policy in policies:
        claims = policy.verified_claims(request)
        if claims is not None:
            return claims
    return None


def _revocation_of(registry: Registry, name: str, what: str, *, refresh: bool = False) -> Revocation:
    node = _bound_node(registry, name, what)
    if node.revocation is None:
        raise ConfigurationError(
            f"{what}: jwt config {name!r} has no revocation store. Fix: set "
            f"jwt.{name}.revocation_store (memory, or redis://host:6379/0)."
        )
    if refresh and node.revocation.refresh_verifier is None:
        raise ConfigurationError(
            f"{what}: jwt config {name!r} does not issue refresh tokens. Fix: set "
            f"jwt.{name}.refresh_expires_in."
        )
    return node.revocation


def add_jwt_refresh_view(
    config: Configurator,
    pattern: str,
    jwt_config: str,
    route_name: str | None = None,
    response: ResponseCallable | str | None = None,
) -> None:
    """The refresh endpoint (RFC 6749 §6) at ``pattern``: POST form, a new pair per use."""
    view = RefreshView(jwt_config, config.maybe_dotted(response) if response is not None else None)

    def bind(registry: Registry) -> None:
        view.bind(_revocation_of(registry, jwt_config, f"add_jwt_refresh_view({pattern!r})", refresh=True))

    _route_view(config, "refresh", pattern, (jwt_config,), view, "POST", route_name, bind)


def add_jwt_revocation_view(
    config: Configurator,
    pattern: str,
    jwt_config: str,
    route_name: str | None = None,
) -> None:
    """The RFC 7009 revocation endpoint at ``pattern``: POST ``token=...``, always 200."""
    view = RevocationView(jwt_config)

    def bind(registry: Registry) -> None:
        view.bind(_revocation_of(registry, jwt_config, f"add_jwt_revocation_view({pattern!r})"))

    _route_view(config, "revocation", pattern, (jwt_config,), view, "POST", route_name, bind)


def revoke_jwt(request: Request) -> bool:
    """``request.revoke_jwt()``: revoke the request's bearer token and its family (logout).

    True when a valid token was revoked; False when there was none, or its config keeps
    no revocation store. Raises StoreUnavailableError when the store cannot be reached.
    """
    policies: list[JWTSecurityPolicy] = request.registry.queryUtility(IJWTPolicies) or []
    for policy in policies:
        if policy.revoke(request):
            request.__dict__.pop("jwt_claims", None)
            return True
    return False
