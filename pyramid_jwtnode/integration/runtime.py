"""What one named jwt-config becomes at start-up (settings, keys, issuer, verifier), and
where the ready configs are kept in a Pyramid registry."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping

from pyramid.registry import Registry

from ..jose.issuer import Issuer
from ..jose.keys import KeySet
from ..jose.verifier import Verifier
from ..storage import RevocationStore, open_store
from .events import KeySetFetchFailed, KeySetRecovered, Notify
from .interfaces import IJWTPolicies, IJWTRuntimes
from .keyload import load_keys
from .meter import Meter, fetch_outcome, refresh_outcome
from .revocation import Revocation
from .settings import JWTConfig, setting_error

__all__ = ["JWTRuntime", "build_runtime", "get_jwt_runtime", "register_runtime"]


@dataclasses.dataclass(frozen=True)
class JWTRuntime:
    """A ready jwt-config. ``issuer`` is ``None`` when the config only verifies;
    ``revocation`` is ``None`` unless the config has a ``revocation_store``."""

    config: JWTConfig
    keys: KeySet
    issuer: Issuer | None
    verifier: Verifier
    revocation: Revocation | None = None
    #: the path of its refresh route (its refresh cookie's path derives from it), once the
    #: route's directive has bound it at commit
    refresh_path: str | None = None
    #: what counts its verifications, tokens, refreshes and fetches (``add_jwt_metrics``)
    meter: Meter | None = None

    @property
    def name(self) -> str:
        return self.config.name


def build_runtime(
    config: JWTConfig,
    *,
    clock: Callable[[], float] = time.time,
    environ: Mapping[str, str] | None = None,
    store: RevocationStore | None = None,
    notify: Notify | None = None,
    meter: Meter | None = None,
) -> JWTRuntime:
    """Load the keys of ``config`` and build its issuer, verifier and revocation.

    ``store`` replaces the one ``revocation_store`` names (tests pass a MemoryStore);
    ``notify`` receives its security events (the directives give the registry's);
    ``meter`` counts what it does (the directives give the one ``add_jwt_metrics`` registered).
    """
    keys = load_keys(config, environ)
    issuer = Issuer(config, keys, clock=clock) if keys.signing_key is not None else None
    verifier = Verifier(config, keys, clock=clock)
    revocation = None
    if config.revocation_store is not None:
        if store is None:
            try:
                store = open_store(config.revocation_store, config.key_prefix, clock)
            except ValueError:  # what redis-py cannot read in the URL (never echoed: it may hold a password)
                raise setting_error(config.name, "revocation_store", "cannot be read as a Redis URL",
                                    "give redis://host:6379/0, redis+cluster://host:7000 or "
                                    "redis+sentinel://host:26379/service/0, with a numeric port") from None
        revocation = Revocation(config, keys, store, issuer, verifier, clock=clock, notify=notify)
    remote = keys.remote
    if remote is not None and (notify is not None or meter is not None):

        def fetched(outcome: str, reason: str | None) -> None:
            if meter is not None:
                meter.fetched(config.name, fetch_outcome(outcome, reason))
            if notify is None:
                return
            if outcome == "failed":
                notify(KeySetFetchFailed(config.name, remote.where, reason or "failed"))
            elif outcome == "recovered":
                notify(KeySetRecovered(config.name, remote.where))

        remote.on_fetch = fetched
    if meter is not None:
        name = config.name
        if issuer is not None:
            issuer.on_issue = lambda kind: meter.issued(name, kind)
        if revocation is not None:
            revocation.on_refresh = lambda outcome: meter.refreshed(name, refresh_outcome(outcome))
    return JWTRuntime(config, keys, issuer, verifier, revocation, meter=meter)


def register_runtime(registry: Registry, node: JWTRuntime) -> None:
    """Keep ``node`` in ``registry`` under its name (done at commit by ``add_jwt_config``)."""
    nodes: dict[str, JWTRuntime] | None = registry.queryUtility(IJWTRuntimes)
    if nodes is None:
        nodes = {}
        registry.registerUtility(nodes, IJWTRuntimes)
    nodes[node.name] = node


def get_jwt_runtime(registry: Registry, name: str | None = None) -> JWTRuntime:
    """The ready config called ``name``; without a name, the only one there is, or with
    several, the (first) config of the app's security policy."""
    nodes: Mapping[str, JWTRuntime] = registry.queryUtility(IJWTRuntimes) or {}
    if name is None:
        if len(nodes) == 1:
            return next(iter(nodes.values()))
        policies = registry.queryUtility(IJWTPolicies) or []
        default = getattr(policies[0], "name", None) if policies else None
        if isinstance(default, str) and default in nodes:
            return nodes[default]
        raise LookupError(
            f"{len(nodes)} jwt configs are registered ({', '.join(sorted(nodes)) or 'none'}) "
            "and no security policy names one; name the one you mean"
        )
    try:
        return nodes[name]
    except KeyError:
        raise LookupError(
            f"no jwt config named {name!r} (registered: {', '.join(sorted(nodes)) or 'none'}). "
            "Fix: list it in jwt.configs or declare it with config.add_jwt_config"
        ) from None


#: The names these had when a ready config was called a "node" (after the recipe's jwt node).
JWTNode = JWTRuntime
build_node = build_runtime
get_jwt_node = get_jwt_runtime
