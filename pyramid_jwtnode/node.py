"""What one named jwt-config becomes at start-up: settings, keys, issuer, verifier."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping

from .issuer import Issuer
from .keys import KeySet, load_keys
from .settings import JWTConfig
from .verifier import Verifier

__all__ = ["JWTNode", "build_node"]


@dataclasses.dataclass(frozen=True)
class JWTNode:
    """A ready jwt-config. ``issuer`` is ``None`` when the config only verifies."""

    config: JWTConfig
    keys: KeySet
    issuer: Issuer | None
    verifier: Verifier

    @property
    def name(self) -> str:
        return self.config.name


def build_node(
    config: JWTConfig,
    *,
    clock: Callable[[], float] = time.time,
    environ: Mapping[str, str] | None = None,
) -> JWTNode:
    """Load the keys of ``config`` and build its issuer and verifier."""
    keys = load_keys(config, environ)
    issuer = Issuer(config, keys, clock=clock) if keys.signing_key is not None else None
    return JWTNode(config, keys, issuer, Verifier(config, keys, clock=clock))
