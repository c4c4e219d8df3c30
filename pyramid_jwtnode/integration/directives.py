"""Configurator directives: thin wiring over the plain objects.

``add_jwt_config`` checks its settings at once (the same parser the ini file
goes through) and builds the config in a configuration action, so a mistake in
either stops start-up. Every registration has a discriminator and an
introspectable, and Pyramid's own rules decide what two of them mean: the same
config name declared twice at one level (in code, or in code and in the ini
file) is a :class:`~pyramid.exceptions.ConfigurationConflictError`, while the
app's declaration overrides one made by a package it includes, exactly as with
``add_route``. The routes a config's settings ask for (``token_route`` and the
like) belong to that declaration: they are added only for the one that wins.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.interfaces import PHASE1_CONFIG, PHASE2_CONFIG, ISecurityPolicy
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.security import NO_PERMISSION_REQUIRED

from ..jose.choosing import IndistinguishableError
from .cookies import under
from .csrf import csrf_header, install_storage_policy
from .events import safe_notify
from .interfaces import IJWTMeter, IJWTPolicies, IJWTRuntimes
from .policy import JWTSecurityPolicy
from .request import add_claims_property
from .revocation import Revocation
from .runtime import JWTRuntime, build_runtime, get_jwt_runtime, register_runtime
from .settings import (
    CONFIGS_KEY,
    METRICS_KEY,
    METRICS_ROUTE_KEY,
    METRICS_TOKEN_ENV_KEY,
    SECURITY_POLICY_KEY,
    JWTConfig,
    clock_from_settings,
    configs_from_settings,
    metrics_from_settings,
    parse_config,
    security_policy_from_settings,
)
from .views import (
    Delivery,
    Issuing,
    JWKSView,
    LoggingOut,
    LogoutView,
    MethodNotAllowedView,
    PayloadCallable,
    Refreshing,
    RefreshPayloadCallable,
    RefreshView,
    ResponseCallable,
    RevocationView,
    TokenView,
    VerifyView,
)

log = logging.getLogger("pyramid_jwtnode")

__all__ = [
    "add_jwt_config",
    "add_jwt_token_view",
    "add_jwt_jwks_view",
    "add_jwt_verify_view",
    "add_jwt_refresh_view",
    "add_jwt_revocation_view",
    "add_jwt_logout_view",
    "make_jwt_security_policy",
    "set_jwt_security_policy",
    "add_jwt_metrics",
    "declare_from_settings",
    "DIRECTIVES",
]


class _SettingsInfo:
    """Where an ini-declared registration comes from, for Pyramid's conflict reports."""

    def __str__(self) -> str:
        return f"{CONFIGS_KEY} in the application settings"


def _speaking_for(config: Configurator, info: Any, includepath: tuple[str, ...] | None = None,
                  ) -> Configurator:
    """A configurator on the same registry whose registrations carry ``info`` (and, when
    given, ``includepath``), so that registrations made later, inside an action, are
    reported and overridden as the declaration they come from."""
    speaker = config.with_package(config.package)
    speaker.info = info
    if includepath is not None:
        speaker.includepath = includepath
    return speaker


def _bound_node(registry: Registry, name: str, what: str, *, issue: bool = False) -> JWTRuntime:
    """The ready config a registration refers to, or a ConfigurationError saying why not."""
    try:
        node = get_jwt_runtime(registry, name)
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
    other_methods: Callable[[Request], Any] | None = None,
    **view_options: Any,
) -> None:
    """Register one of the add-on's routes: ``view`` for one method and a 405 with ``Allow``
    for the others (or ``other_methods``), an introspectable under ``jwt <kind> views``, and
    an action that binds the view to its ready config(s) when the configuration commits.

    The default route name, ``jwt.<config>.<kind>:<pattern>``, differs for every route, so
    two views of one config both serve; two registrations of one pattern conflict (the
    first route would hide the second).
    """
    route_name = route_name or f"jwt.{'+'.join(jwt_configs)}.{kind}:{pattern}"
    method = request_method.upper()
    allowed = ("GET", "HEAD") if method == "GET" else (method,)
    view_options.setdefault("permission", NO_PERMISSION_REQUIRED)
    # The add-on's routes guard themselves (the Origin of cookie configs' token, refresh and
    # logout requests; the refresh cookie's CSRF value): Pyramid's require_csrf (and the
    # add-on's own check of cookie-authenticated requests) would refuse a refresh whose access
    # token has expired, or ask a login for a CSRF value it cannot have yet.
    view_options.setdefault("require_csrf", False)
    config.add_route(route_name, pattern)
    config.add_view(view, route_name=route_name, request_method=method, **view_options)
    config.add_view(
        other_methods or MethodNotAllowedView(allowed), route_name=route_name, permission=NO_PERMISSION_REQUIRED,
        require_csrf=False,
    )
    intr = config.introspectable(f"jwt {kind} views", route_name, f"jwt {kind} view {pattern}",
                                 f"jwt {kind} view")
    intr["pattern"] = pattern
    intr["path"] = _path(config, pattern)
    intr["jwt_configs"] = jwt_configs
    intr["request_method"] = method
    for name in jwt_configs:
        intr.relate("jwt configs", name)
    intr.relate("routes", route_name)
    registry = config.registry
    # One action: bound after every order-0 registration (routes, views, their paths), before
    # serving; two of the add-on's routes on one path conflict (the first would hide the second).
    config.action(("jwt-route", intr["path"]), lambda: bind(registry), introspectables=(intr,),
                  order=_REFRESH_BIND if kind == "refresh" else _BIND)


#: The order of the actions that bind views and policies to their ready configs.
#: A refresh route first: it puts its path on its config's runtime, where cookie settings
#: read it (the refresh cookie's path); every other view and policy after it.
_REFRESH_BIND = 1
_BIND = 2


def _path(config: Configurator, pattern: str) -> str:
    """The path a route's pattern has under the configurator's route prefix (as add_route
    does), with its leading ``/`` (Pyramid keeps the prefix ``/api`` as ``api``; a cookie
    ``Path`` without the ``/`` is ignored by browsers, RFC 6265 §5.2.4)."""
    prefix = config.route_prefix
    path = f"{prefix.rstrip('/')}/{pattern.lstrip('/')}" if prefix else pattern
    return path if path.startswith("/") else f"/{path}"


def _declare(config: Configurator, parsed: JWTConfig, clock: Callable[[], float]) -> None:
    """The action that makes ``parsed`` ready at commit, with the routes its settings ask for."""
    name = parsed.name
    registry = config.registry
    origin = _speaking_for(config, config.action_info)
    intr = config.introspectable("jwt configs", name, f"jwt config {name!r}", "jwt config")
    for key, value in parsed.describe().items():
        intr[key] = value
    intr["source"] = str(origin.info)

    def register() -> None:
        register_runtime(registry, build_runtime(parsed, clock=clock, notify=safe_notify(registry.notify),
                                                 meter=registry.queryUtility(IJWTMeter)))
        _declare_routes(origin, parsed)

    config.action(("jwt-config", name), register, introspectables=(intr,), order=PHASE1_CONFIG)


def _declare_routes(config: Configurator, c: JWTConfig) -> None:
    if c.token_route is not None:
        assert c.payload is not None  # the parser requires it with token_route
        add_jwt_token_view(config, c.token_route, jwt_config=c.name, payload=c.payload,
                           request_method=c.token_route_method, response=c.response)
    if c.jwks_route is not None:
        add_jwt_jwks_view(config, c.jwks_route, jwt_config=c.name)
    if c.verify_route is not None:
        add_jwt_verify_view(config, c.verify_route, jwt_config=c.name)
    if c.refresh_route is not None:
        add_jwt_refresh_view(config, c.refresh_route, jwt_config=c.name, response=c.response,
                             refresh_payload=c.refresh_payload)
    if c.revocation_route is not None:
        add_jwt_revocation_view(config, c.revocation_route, jwt_config=c.name)
    if c.logout_route is not None:
        add_jwt_logout_view(config, c.logout_route, jwt_config=c.name)


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
    _declare(config, parse_config(name, settings), clock)


def declare_from_settings(config: Configurator) -> None:
    """Declare every config listed in ``jwt.configs`` and the ``jwt.security_policy``.

    Run by ``includeme`` as an early action (so settings added after the include count).
    The ini file is the app's own configuration: its declarations stand at the app's
    level, beside the app's code, whichever package included this one.
    """
    settings = config.get_settings()
    app = _speaking_for(config, _SettingsInfo(), includepath=())
    clock = clock_from_settings(settings) or time.time
    for name, raw in configs_from_settings(settings).items():
        _declare(app, parse_config(name, raw), clock)
    policy_configs = security_policy_from_settings(settings)
    if policy_configs:
        _install_policy(app, policy_configs, f"{SECURITY_POLICY_KEY} = {' '.join(policy_configs)}")
    metrics = metrics_from_settings(settings)
    if metrics is not None:
        _add_metrics(app, metrics.route, metrics.token_env, None, _METRICS_SETTINGS)
    registry = config.registry

    def some_config_declared() -> None:
        if not registry.queryUtility(IJWTRuntimes):
            raise ConfigurationError(
                "pyramid_jwtnode is included but declares no jwt config. Fix: list names in "
                f"{CONFIGS_KEY} (e.g. '{CONFIGS_KEY} = main' with jwt.main.algorithm, "
                "jwt.main.expires_in and a key), or call config.add_jwt_config(name, ...)."
            )

    config.action(None, some_config_declared, order=PHASE2_CONFIG)

    def cookie_csrf() -> None:
        nodes = registry.queryUtility(IJWTRuntimes) or {}
        if any(node.config.cookies for node in nodes.values()):
            install_storage_policy(registry)

    # After the app's (or Pyramid's default) CSRF storage policy is registered, at order 0.
    config.action(("jwt-csrf-storage-policy",), cookie_csrf, order=_BIND)

    def views_left_open() -> None:
        if registry.queryUtility(ISecurityPolicy) is not None:
            return
        asked = sorted(str(entry["introspectable"].discriminator)
                       for entry in registry.introspector.get_category("permissions") or []
                       if entry["introspectable"].discriminator not in (None, NO_PERMISSION_REQUIRED))
        if asked:
            log.warning(
                "jwt configs are declared and views ask for permissions (%s), but the app has no "
                "security policy, so Pyramid lets every request through to them. Fix: set %s = "
                "<config name> in the settings (or call config.set_jwt_security_policy)",
                ", ".join(map(repr, asked)), SECURITY_POLICY_KEY)

    # Once every view and the security policy (PHASE2) are registered.
    config.action(None, views_left_open, order=_BIND + 1)


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
        view.bind(Issuing(TokenView.issuing(node.issuer, node.revocation),
                          Delivery.of(node.config, node.refresh_path)),
                  node.config.body_limit)

    _route_view(config, "token", pattern, (jwt_config,), view, request_method, route_name, bind,
                **view_options)


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
        limit = 0
        for name in names:
            node = _bound_node(registry, name, f"add_jwt_jwks_view({pattern!r})")
            if node.config.hmac:
                raise ConfigurationError(
                    f"add_jwt_jwks_view({pattern!r}): jwt config {name!r} uses "
                    f"{node.config.algorithm}, a shared secret that must never be published. "
                    "Fix: serve JWKS for RS/PS/ES/EdDSA configs only."
                )
            jwks.extend(node.keys.public_jwks)
            limit = max(limit, node.config.body_limit)
        view.bind(JWKSView.body(jwks), limit)

    _route_view(config, "jwks", pattern, names, view, "GET", route_name, bind)


def _install_policy(config: Configurator, jwt_configs: tuple[str, ...], what: str) -> JWTSecurityPolicy:
    policy = _make_policy(config, jwt_configs, what)
    config.set_security_policy(policy)
    config.add_forbidden_view(policy.challenge)
    return policy


def _make_policy(config: Configurator, jwt_configs: tuple[str, ...], what: str) -> JWTSecurityPolicy:
    if not jwt_configs:
        raise ConfigurationError(f"{what}: name at least one jwt config. Fix: pass its name.")
    policy = JWTSecurityPolicy(name=jwt_configs[0])
    registry = config.registry
    key = " ".join(jwt_configs)
    intr = config.introspectable("jwt security policies", key, f"jwt security policy {key!r}",
                                 "jwt security policy")
    intr["jwt_configs"] = jwt_configs
    for name in jwt_configs:
        intr.relate("jwt configs", name)

    def bind() -> None:
        nodes = [_bound_node(registry, name, what) for name in jwt_configs]
        try:
            policy.bind(*nodes)
        except IndistinguishableError as exc:
            raise ConfigurationError(f"{what}: {exc.problem}. Fix: {exc.fix}.") from None
        policies = registry.queryUtility(IJWTPolicies)
        if policies is None:
            policies = []
            registry.registerUtility(policies, IJWTPolicies)
        policies.append(policy)

    config.action(("jwt-security-policy", jwt_configs), bind, introspectables=(intr,), order=_BIND)
    add_claims_property(config)
    return policy


def make_jwt_security_policy(config: Configurator, *jwt_configs: str) -> JWTSecurityPolicy:
    """A bearer-token security policy for one or more configs, bound when the configuration
    commits.

    It is not installed: pass it to ``config.set_security_policy`` yourself, or
    wrap it in a policy of your own (see the docs on composing policies).
    ``request.jwt_claims`` consults every policy made this way.
    """
    return _make_policy(config, jwt_configs, f"make_jwt_security_policy{jwt_configs!r}")


def set_jwt_security_policy(config: Configurator, *jwt_configs: str) -> JWTSecurityPolicy:
    """Install a bearer-token policy for one or more configs and its RFC 6750 forbidden view.

    From the ini file: ``jwt.security_policy = <name> [<name> ...]``.
    """
    return _install_policy(config, jwt_configs, f"set_jwt_security_policy{jwt_configs!r}")


def add_jwt_verify_view(
    config: Configurator,
    pattern: str,
    jwt_config: str,
    route_name: str | None = None,
) -> None:
    """The recipe's *validate* mode at ``pattern``: the claims of a valid bearer token, else 401/400."""
    view = VerifyView(jwt_config)

    def bind(registry: Registry) -> None:
        node = _bound_node(registry, jwt_config, f"add_jwt_verify_view({pattern!r})")
        view.bind(JWTSecurityPolicy.from_node(node), node.config.body_limit)

    _route_view(config, "verify", pattern, (jwt_config,), view, "GET", route_name, bind)


def _revocation_of(registry: Registry, name: str, what: str, *, refresh: bool = False
                   ) -> tuple[Revocation, int]:
    """The revocation of a ready config, and its body limit."""
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
    return node.revocation, node.config.body_limit


def add_jwt_refresh_view(
    config: Configurator,
    pattern: str,
    jwt_config: str,
    route_name: str | None = None,
    response: ResponseCallable | str | None = None,
    refresh_payload: RefreshPayloadCallable | str | None = None,
) -> None:
    """The refresh endpoint (RFC 6749 §6) at ``pattern``: POST form, a new pair per use.

    ``refresh_payload(request, payload)`` checks the user again at every refresh (see the
    setting of that name); a dotted name is resolved.
    """
    view = RefreshView(jwt_config, config.maybe_dotted(response) if response is not None else None,
                       config.maybe_dotted(refresh_payload) if refresh_payload is not None else None)
    path = _path(config, pattern)

    def bind(registry: Registry) -> None:
        revocation, limit = _revocation_of(registry, jwt_config, f"add_jwt_refresh_view({pattern!r})",
                                           refresh=True)
        register_runtime(registry, dataclasses.replace(get_jwt_runtime(registry, jwt_config), refresh_path=path))
        view.csrf_header = csrf_header(registry)
        view.bind(Refreshing(revocation, Delivery.of(revocation.config, path)), limit)

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
        view.bind(*_revocation_of(registry, jwt_config, f"add_jwt_revocation_view({pattern!r})"))

    _route_view(config, "revocation", pattern, (jwt_config,), view, "POST", route_name, bind)


def add_jwt_logout_view(
    config: Configurator,
    pattern: str,
    jwt_config: str,
    route_name: str | None = None,
) -> None:
    """A logout endpoint at ``pattern`` (POST): ends the refresh family of the request's access
    token or, once that has expired, of its refresh cookie; clears a cookie config's cookies;
    answers ``{"revoked": true|false}``. For a cookie config the route must lie under the
    refresh cookie's ``Path``, or the browser would not send the refresh cookie there."""
    view = LogoutView(jwt_config)
    path = _path(config, pattern)
    what = f"add_jwt_logout_view({pattern!r})"

    def bind(registry: Registry) -> None:
        revocation, limit = _revocation_of(registry, jwt_config, what)
        node = _bound_node(registry, jwt_config, what)
        delivery = Delivery.of(revocation.config, node.refresh_path)
        cookies = delivery.cookies
        if cookies is not None and node.refresh_path is not None and not under(path, cookies.refresh_path):
            raise ConfigurationError(
                f"{what}: the logout route {path} does not lie under the refresh cookie's path "
                f"{cookies.refresh_path}, so the browser would not send the refresh cookie there and "
                f"a logout after the access token expired could not end the session. Fix: put the "
                f"logout route beside the refresh route (e.g. {cookies.refresh_path.rstrip('/')}/logout), "
                f"or set jwt.{jwt_config}.refresh_cookie_path to a path both lie under.")
        view.bind(LoggingOut(node.verifier, revocation, delivery), limit)

    _route_view(config, "logout", pattern, (jwt_config,), view, "POST", route_name, bind)


def add_jwt_metrics(
    config: Configurator,
    route: str | None = None,
    *,
    token_env: str | None = None,
    collector_registry: Any = None,
) -> None:
    """Count every config's verifications (reason codes and time), issued tokens, refresh
    grants and key set fetches in Prometheus metrics; with ``route``, serve them there (GET).

    ``token_env`` names an environment variable holding the token the scraper sends as
    ``Authorization: Bearer <token>`` (read at start-up); any other request to the route gets
    a 404. ``collector_registry`` is the ``prometheus_client`` registry to count into; by
    default, with a route, one of the app's own (the route serves it), without one,
    ``prometheus_client.REGISTRY`` (the app's own exporter serves it). Apps of one process
    counting into one registry share its counts. Needs the ``metrics`` extra; ``jwt.metrics =
    true`` and ``jwt.metrics_route`` call it.
    """
    _add_metrics(config, route, token_env, collector_registry,
                 ("add_jwt_metrics()", "add_jwt_metrics(route=...)", "add_jwt_metrics(token_env=...)"))


#: Where the metrics' settings come from, for messages: (turning them on, the route, the token).
_METRICS_SETTINGS: Final = (METRICS_KEY, METRICS_ROUTE_KEY, METRICS_TOKEN_ENV_KEY)


def _add_metrics(config: Configurator, route: str | None, token_env: str | None,
                 collector_registry: Any, what: tuple[str, str, str]) -> None:
    on_key, route_key, token_key = what
    try:  # only an app that asks for metrics imports prometheus_client
        from prometheus_client import REGISTRY

        from .metrics import MetricsView, meter_for, multiprocess_dir
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("prometheus_client"):
            raise
        raise ConfigurationError(
            f"{on_key}: metrics need prometheus_client, which is not installed. Fix: "
            "pip install \"pyramid_jwtnode[metrics]\"") from None
    if route is not None and not (isinstance(route, str) and route.startswith("/")):
        raise ConfigurationError(f"{route_key} must be a URL path starting with /. Fix: give e.g. /metrics.")
    registry = config.registry
    view = MetricsView() if route is not None else None
    intr = config.introspectable("jwt metrics", "jwt metrics", "jwt metrics", "jwt metrics")
    intr["route"] = route
    intr["token_env"] = token_env  # the variable's name, never its value
    intr["multiprocess_dir"] = multiprocess_dir()

    def register() -> None:
        directory = multiprocess_dir()
        if directory is not None and not os.path.isdir(directory):
            raise ConfigurationError(
                f"{on_key}: PROMETHEUS_MULTIPROC_DIR names a directory that does not exist. Fix: "
                "create it (empty) before the server starts, or unset it for one process.")
        try:
            meter = meter_for(REGISTRY if collector_registry is None and route is None else collector_registry)
        except ValueError:  # prometheus_client: "Duplicated timeseries in CollectorRegistry"
            raise ConfigurationError(
                f"{on_key}: the prometheus_client registry already holds metrics named "
                "pyramid_jwtnode_* that pyramid_jwtnode did not make. Fix: rename those, or count "
                "into a registry of your own (add_jwt_metrics(collector_registry=...)).") from None
        registry.registerUtility(meter, IJWTMeter)
        if view is not None:
            token = _metrics_token(token_env, token_key)
            view.bind(meter, token)

    # Before the configs are made ready (PHASE1_CONFIG): each runtime takes the meter.
    config.action(("jwt-metrics",), register, introspectables=(intr,), order=PHASE1_CONFIG - 1)
    if route is not None:
        assert view is not None
        _route_view(config, "metrics", route, (), view, "GET", "jwt.metrics", lambda registry: None,
                    other_methods=view.other_method)


def _metrics_token(token_env: str | None, token_key: str) -> str | None:
    """The scraper's token, from the environment variable ``token_env`` names."""
    if token_env is None:
        return None
    token = os.environ.get(token_env, "")
    if len(token.strip()) < 16:
        raise ConfigurationError(
            f"{token_key} names the environment variable {token_env}, which is not set or holds "
            f"fewer than 16 characters. Fix: export {token_env} with a long random token (the one "
            "your Prometheus scrape configuration sends as a bearer token) before starting the app.")
    return token.strip()


#: The directives ``includeme`` adds, by name.
DIRECTIVES: dict[str, Callable[..., Any]] = {
    "add_jwt_config": add_jwt_config,
    "add_jwt_token_view": add_jwt_token_view,
    "add_jwt_jwks_view": add_jwt_jwks_view,
    "add_jwt_verify_view": add_jwt_verify_view,
    "add_jwt_refresh_view": add_jwt_refresh_view,
    "add_jwt_revocation_view": add_jwt_revocation_view,
    "add_jwt_logout_view": add_jwt_logout_view,
    "make_jwt_security_policy": make_jwt_security_policy,
    "set_jwt_security_policy": set_jwt_security_policy,
    "add_jwt_metrics": add_jwt_metrics,
}
