"""Configurator directives and request methods: thin wiring over the plain objects.

``add_jwt_config`` checks its settings at once (the same parser the ini file
goes through) and loads keys in a configuration action, so a mistake in
either stops start-up. Every registration has a discriminator and an
introspectable; declaring the same config name twice, in code or in the ini
file, is a :class:`~pyramid.exceptions.ConfigurationConflictError`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationConflictError, ConfigurationError
from pyramid.interfaces import PHASE1_CONFIG
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.security import NO_PERMISSION_REQUIRED
from zope.interface import Interface

from .node import JWTNode, build_node
from .settings import CONFIGS_KEY, configs_from_settings, parse_config
from .views import MethodNotAllowedView, PayloadCallable, ResponseCallable, TokenView

__all__ = [
    "IJWTNodes",
    "add_jwt_config",
    "add_jwt_token_view",
    "get_jwt_node",
    "create_jwt",
    "configure_from_settings",
]

_DECLARED = "pyramid_jwtnode.declared"


class IJWTNodes(Interface):
    """Marker for the registry utility mapping config names to :class:`JWTNode`."""


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
        config.add_jwt_token_view(  # type: ignore[attr-defined]
            parsed.token_route,
            jwt_config=name,
            payload=parsed.payload,
            request_method=parsed.token_route_method,
            response=parsed.response,
        )


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
    for name, raw in configs_from_settings(config.get_settings()).items():
        _declare(config, name, raw, f"{CONFIGS_KEY} in the application settings", time.time)
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
    route_name = route_name or f"jwt.{jwt_config}.token"
    payload_callable = config.maybe_dotted(payload)
    response_callable = config.maybe_dotted(response) if response is not None else None
    for key, value in (("payload", payload_callable), ("response", response_callable)):
        if value is not None and not callable(value):
            raise ConfigurationError(
                f"add_jwt_token_view({route_name!r}): {key} is not callable. Fix: pass a "
                f"function, e.g. {key}(request)."
            )
    method = request_method.upper()
    allowed = ("GET", "HEAD") if method == "GET" else (method,)
    view = TokenView(jwt_config, payload_callable, response_callable)
    view_options.setdefault("permission", NO_PERMISSION_REQUIRED)

    config.add_route(route_name, pattern)
    config.add_view(view, route_name=route_name, request_method=method, **view_options)
    config.add_view(
        MethodNotAllowedView(allowed), route_name=route_name, permission=NO_PERMISSION_REQUIRED
    )

    intr = config.introspectable(
        "jwt token views", route_name, f"jwt token view {pattern}", "jwt token view"
    )
    intr["pattern"] = pattern
    intr["jwt_config"] = jwt_config
    intr["request_method"] = method
    intr.relate("jwt configs", jwt_config)
    intr.relate("routes", route_name)
    registry = config.registry

    def bind() -> None:
        try:
            node = get_jwt_node(registry, jwt_config)
        except LookupError as exc:
            raise ConfigurationError(f"add_jwt_token_view({pattern!r}): {exc}") from None
        if node.issuer is None:
            raise ConfigurationError(
                f"add_jwt_token_view({pattern!r}): jwt config {jwt_config!r} has no private "
                f"key, so it cannot issue tokens. Fix: set jwt.{jwt_config}.private_key_file."
            )
        view.bind(node.issuer)

    config.action(("jwt-token-view", route_name), bind, introspectables=(intr,))


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
