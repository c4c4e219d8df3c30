"""What the issuer and the verifier need to know of a config, as a protocol.

:class:`~pyramid_jwtnode.integration.settings.JWTConfig` (the parsed settings) is one; any object with
these read-only attributes will do, so the JOSE core (keys, issuer, verifier, remote key
sets) needs neither the settings table nor Pyramid.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["TokenRules"]


class TokenRules(Protocol):
    """The rules one config's tokens are issued and verified by."""

    @property
    def name(self) -> str:
        """The config's name (in messages and logs)."""

    @property
    def algorithm(self) -> str:
        """The pinned JWS algorithm."""

    @property
    def expires_in(self) -> int:
        """Token lifetime in seconds."""

    @property
    def issuer(self) -> str | None:
        """The ``iss`` tokens carry, and must carry."""

    @property
    def audience(self) -> tuple[str, ...]:
        """The ``aud`` values; a token must carry one of them."""

    @property
    def not_before(self) -> int | None:
        """Seconds after ``iat`` that ``nbf`` is set to, if any."""

    @property
    def leeway(self) -> int:
        """Seconds of clock skew allowed on ``exp``, ``nbf`` and ``iat``."""

    @property
    def jti(self) -> bool:
        """Whether every token gets a unique ``jti``."""

    @property
    def typ(self) -> str | None:
        """The ``typ`` header tokens carry, and must carry when set."""

    @property
    def claims_key(self) -> str | None:
        """The claim the payload is nested under (the recipe's ``data``), if any."""

    @property
    def max_token_bytes(self) -> int:
        """The largest token issued or verified."""

    @property
    def cookies(self) -> bool:
        """Whether tokens travel in cookies (they then carry a ``csrf`` claim)."""
