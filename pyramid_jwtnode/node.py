"""What one named jwt-config becomes at start-up: settings, keys, issuer, verifier."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping

from .issuer import Issuer
from .keys import KeySet, load_keys
from .revocation import Revocation
from .settings import JWTConfig
from .stores import RevocationStore, open_store
from .verifier import Verifier

__all__ = ["JWTNode", "build_node"]


@dataclasses.dataclass(frozen=True)
class JWTNode:
    """A ready jwt-config. ``issuer`` is ``None`` when the config only verifies;
    ``revocation`` is ``None`` unless the config has a ``revocation_store``."""

    config: JWTConfig
    keys: KeySet
    issuer: Issuer | None
    verifier: Verifier
    revocation: Revocation | None = None

    @property
    def name(self) -> str:
        return self.config.name


def build_node(
    config: JWTConfig,
    *,
    clock: Callable[[], float] = time.time,
    environ: Mapping[str, str] | None = None,
    store: RevocationStore | None = None,
) -> JWTNode:
    """Load the keys of ``config`` and build its issuer, verifier and revocation.

    ``store`` replaces the one ``revocation_store`` names (tests pass a MemoryStore).
    """
    keys = load_keys(config, environ)
    issuer = Issuer(config, keys, clock=clock) if keys.signing_key is not None else None
    verifier = Verifier(config, keys, clock=clock)
    revocation = None
    if config.revocation_store is not None:
        revocation = Revocation(config, keys, store or open_store(config.revocation_store), issuer,
                                verifier, clock=clock)
    return JWTNode(config, keys, issuer, verifier, revocation)
