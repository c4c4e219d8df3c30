"""Revocation and refresh-token rotation for one config, over a revocation store.

- Every token of a config with ``revocation_store`` has a ``jti``; revoking it stores
  ``jti:<config>:<jti>`` until the token would have expired.
- Refresh tokens (header ``typ: rt+jwt``, never accepted as access tokens) belong to a
  *family* ``fam`` started by the token view; the access tokens issued with them carry the
  same ``fam``. Each use of a refresh token returns a new pair and marks the old one used
  (``used:<config>:<jti>``, set atomically). Presenting a used refresh token again is
  reuse (RFC 9700 §4.14.2): the whole family is revoked (``fam:<config>:<fam>``), so the
  newer tokens of that family stop working too.
- A store that cannot be reached raises StoreUnavailableError: 503, never a pass.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from .exceptions import GrantError, InvalidTokenError, RevokedTokenError
from .issuer import IssuedToken, Issuer
from .limits import REFRESH_TYP
from .keys import KeySet
from .settings import JWTConfig
from .stores import RevocationStore
from .verifier import Verifier

__all__ = ["Revocation"]

log = logging.getLogger("pyramid_jwtnode")


class Revocation:
    """Revocation checks, logout, and refresh grants for one config."""

    def __init__(
        self,
        config: JWTConfig,
        keys: KeySet,
        store: RevocationStore,
        issuer: Issuer | None,
        verifier: Verifier,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.issuer = issuer
        self.verifier = verifier
        self._clock = clock
        name = config.name
        self._jti_key = f"jti:{name}:"
        self._fam_key = f"fam:{name}:"
        self._used_key = f"used:{name}:"
        longest = max(config.expires_in, config.refresh_expires_in or 0)
        self._family_ttl = longest + config.leeway + 1
        self.refresh_verifier: Verifier | None = None
        if config.refresh_expires_in is not None:
            refresh_config = dataclasses.replace(config, typ=REFRESH_TYP, audience=())
            self.refresh_verifier = Verifier(refresh_config, keys, clock=clock)

    # -- checks and revocation ---------------------------------------------------

    def _keys_of(self, claims: Mapping[str, Any]) -> list[str]:
        keys = []
        jti = claims.get("jti")
        if isinstance(jti, str):
            keys.append(self._jti_key + jti)
        fam = claims.get("fam")
        if isinstance(fam, str):
            keys.append(self._fam_key + fam)
        return keys

    def check(self, claims: Mapping[str, Any]) -> None:
        """Refuse a verified token that was revoked, or whose family was; one store round trip."""
        keys = self._keys_of(claims)
        if not keys:
            raise RevokedTokenError("no_jti")  # revocation needs an id to look up
        if self.store.any_of(*keys):
            raise RevokedTokenError("revoked")

    def _remaining(self, claims: Mapping[str, Any]) -> int:
        return max(1, int(claims["exp"] - self._clock()) + self.config.leeway + 1)

    def revoke(self, claims: Mapping[str, Any]) -> None:
        """Revoke a verified token: its ``jti``, and its whole family when it has one."""
        jti = claims.get("jti")
        if isinstance(jti, str):
            self.store.add(self._jti_key + jti, self._remaining(claims))
        fam = claims.get("fam")
        if isinstance(fam, str):
            self.store.add(self._fam_key + fam, self._family_ttl)

    def revoke_token(self, token: str) -> bool:
        """RFC 7009: revoke an access or refresh token of this config if it verifies.

        Returns whether something was revoked; an invalid or expired token is not an error.
        """
        for verifier in (self.verifier, self.refresh_verifier):
            if verifier is None:
                continue
            try:
                claims = verifier.verify(token)
            except InvalidTokenError:
                continue
            self.revoke(claims)
            return True
        return False

    # -- refresh grants ------------------------------------------------------------

    def issue_pair(self, payload: Any) -> IssuedToken:
        """An access token and a refresh token that start a new family."""
        return self._pair(payload, secrets.token_urlsafe(16))

    def _pair(self, payload: Any, family: str) -> IssuedToken:
        assert self.issuer is not None and self.config.refresh_expires_in is not None
        access = self.issuer.issue(payload, extra={"fam": family})
        refresh = self.issuer.refresh_token(payload, family, self.config.refresh_expires_in)
        return dataclasses.replace(access, refresh_token=refresh)

    def refresh(self, refresh_token: str) -> IssuedToken:
        """Rotate: a new pair for a valid, unused refresh token; reuse revokes the family."""
        if self.refresh_verifier is None:
            raise GrantError("unsupported_grant_type", "refresh_disabled")
        try:
            claims = self.refresh_verifier.verify(refresh_token)
        except InvalidTokenError as exc:
            raise GrantError("invalid_grant", exc.reason) from None
        jti, family = claims.get("jti"), claims.get("fam")
        if not isinstance(jti, str) or not isinstance(family, str) or "pld" not in claims:
            raise GrantError("invalid_grant", "not_a_refresh_token")
        if self.store.any_of(self._jti_key + jti, self._fam_key + family):
            raise GrantError("invalid_grant", "revoked")
        if not self.store.add_once(self._used_key + jti, self._remaining(claims)):
            self.store.add(self._fam_key + family, self._family_ttl)
            log.warning("jwt config %s: refresh token reused; its family is revoked (refresh_reuse)",
                        self.config.name)
            raise GrantError("invalid_grant", "refresh_reuse")
        return self._pair(claims["pld"], family)
