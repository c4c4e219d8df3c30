"""Revocation, logout, revoke-all, and refresh-token rotation for one config, over a store.

- Every token of a config with ``revocation_store`` has a ``jti``; revoking it stores the id
  until the token would have expired (``<config>:jti:<jti>``).
- Refresh tokens (header ``typ: rt+jwt``, ``aud`` naming this config's refresh endpoint) belong
  to a *family* ``fam`` started by the token view; the access tokens issued with them carry
  the same ``fam``. The family is one store record (``<config>:fam:<fam>``) holding the id of
  its current refresh token: each refresh swaps it atomically for the new one, so storage
  stays constant however often a family is refreshed. Presenting any older refresh token is
  reuse (RFC 9700 §4.14.2): the family ends, and its newer tokens stop working too — except
  the token just rotated, presented once more within ``refresh_reuse_interval`` (a client
  retrying after a lost answer), which gets a valid pair.
- A family lives at most ``refresh_max_age`` from its start, however recently it was
  rotated; ``refresh_payload`` re-checks the user at every refresh.
- Revoking a subject (``revoke_subject``) refuses every access and refresh token of that
  user issued at or before now, in every process sharing the store.
- A store that cannot be reached raises StoreUnavailableError: 503, never a pass.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..exceptions import GrantError, InvalidTokenError, RevokedTokenError
from ..jose.claims import userid_of
from ..jose.issuer import IssuedToken, Issuer, refresh_audience
from ..jose.keys import KeySet
from ..jose.limits import REFRESH_TYP
from ..jose.verifier import Verifier
from ..storage.stores import RevocationStore, Rotation
from .settings import JWTConfig

__all__ = ["Revocation", "Review"]

log = logging.getLogger("pyramid_jwtnode")

#: ``review(payload) -> payload or None``: the ``refresh_payload`` callable, bound to the request.
Review = Callable[[Any], Any]

_REFUSALS = {Rotation.REUSED: "refresh_reuse", Rotation.ENDED: "revoked",
             Rotation.EXPIRED: "family_too_old", Rotation.UNKNOWN: "unknown_family"}


class Revocation:
    """Revocation checks, logout, revoke-all and refresh grants for one config."""

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
        self._userid_path = tuple(config.userid_claim.split("."))
        longest = max(config.expires_in, config.refresh_max_age if config.refresh_expires_in else 0)
        self._subject_ttl = longest + config.leeway + 1
        self._end_ttl = config.expires_in + config.leeway + 1  # the family's access tokens live this long
        self.refresh_verifier: Verifier | None = None
        if config.refresh_expires_in is not None:
            refresh_config = dataclasses.replace(
                config, typ=REFRESH_TYP, audience=(refresh_audience(config.name),))
            self.refresh_verifier = Verifier(refresh_config, keys, clock=clock)

    # -- store keys: every record of this config lies in its own namespace -----------------

    def _key(self, kind: str, value: Any) -> str | None:
        return f"{self.config.name}:{kind}:{value}" if isinstance(value, str) and value else None

    def _now(self) -> int:
        return int(self._clock())

    # -- checks and revocation ---------------------------------------------------------

    def check(self, claims: Mapping[str, Any]) -> None:
        """Refuse a verified access token that was revoked, whose family ended, or whose subject
        was revoked after it was issued: one store round trip."""
        token = self._key("jti", claims.get("jti"))
        if token is None:
            raise RevokedTokenError("no_jti")  # revocation needs an id to look up
        subject = self._key("sub", userid_of(dict(claims), self._userid_path))
        revoked, cut = self.store.status(token, self._key("fam", claims.get("fam")), subject)
        if revoked:
            raise RevokedTokenError("revoked")
        if cut is not None and _issued_at(claims) <= cut:
            raise RevokedTokenError("subject_revoked")

    def _remaining(self, claims: Mapping[str, Any]) -> int:
        return max(1, int(claims["exp"] - self._clock()) + self.config.leeway + 1)

    def revoke(self, claims: Mapping[str, Any]) -> None:
        """Revoke a verified token: its ``jti``, and its whole family when it has one."""
        token = self._key("jti", claims.get("jti"))
        if token is not None:
            self.store.revoke(token, self._remaining(claims))
        family = self._key("fam", claims.get("fam"))
        if family is not None:
            self.store.end_family(family, self._end_ttl)

    def revoke_subject(self, userid: str) -> None:
        """Refuse every access and refresh token of ``userid`` issued at or before now.

        Token times are whole seconds, so a token issued in this very second is refused too.
        """
        if not isinstance(userid, str) or not userid:
            raise ValueError("userid must be a non-empty string")
        key = self._key("sub", userid)
        assert key is not None
        self.store.cut_off(key, self._now(), self._subject_ttl)

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

    # -- refresh grants ----------------------------------------------------------------

    def issue_pair(self, payload: Any) -> IssuedToken:
        """An access token and a refresh token that start a new family."""
        family, jti, now = secrets.token_urlsafe(16), self._require_issuer().new_jti(), self._now()
        key = self._key("fam", family)
        assert key is not None
        self.store.start_family(key, jti, now, self.config.refresh_max_age + self.config.leeway + 1)
        return self._pair(payload, family, jti, now + self.config.refresh_max_age)

    def _require_issuer(self) -> Issuer:
        assert self.issuer is not None and self.config.refresh_expires_in is not None
        return self.issuer

    def _pair(self, payload: Any, family: str, jti: str, family_ends: int) -> IssuedToken:
        issuer = self._require_issuer()
        assert self.config.refresh_expires_in is not None
        access = issuer.issue(payload, extra={"fam": family})
        expires_at = min(int(access.claims["iat"]) + self.config.refresh_expires_in, family_ends)
        refresh = issuer.refresh_token(payload, family, jti=jti, expires_at=expires_at,
                                       subject=userid_of(dict(access.claims), self._userid_path),
                                       csrf=access.claims.get("csrf"))
        return dataclasses.replace(access, refresh_token=refresh,
                                   refresh_expires_in=expires_at - int(access.claims["iat"]))

    def refresh(self, refresh_token: str, review: Review | None = None) -> IssuedToken:
        """Rotate: a new pair for the family's current refresh token.

        ``review`` (the ``refresh_payload`` callable, bound to the request) gets the payload
        the family carries and returns the payload of the new pair, or ``None`` to refuse;
        a refusal ends the family. Reuse of an older token ends it too.
        """
        if self.refresh_verifier is None:
            raise GrantError("unsupported_grant_type", "refresh_disabled")
        try:
            claims = self.refresh_verifier.verify(refresh_token)
        except InvalidTokenError as exc:
            raise GrantError("invalid_grant", exc.reason) from None
        jti, family_id = claims.get("jti"), claims.get("fam")
        family = self._key("fam", family_id)
        if not isinstance(jti, str) or family is None or "pld" not in claims:
            raise GrantError("invalid_grant", "not_a_refresh_token")
        _, cut = self.store.status(None, None, self._key("sub", claims.get("sub")))
        if cut is not None and _issued_at(claims) <= cut:
            self.store.end_family(family, self._end_ttl)
            raise GrantError("invalid_grant", "subject_revoked")
        payload = claims["pld"]
        if review is not None:
            payload = review(payload)
            if payload is None:
                self.store.end_family(family, self._end_ttl)
                raise GrantError("invalid_grant", "refused_by_refresh_payload")
        new_jti, now = self._require_issuer().new_jti(), self._now()
        outcome, start = self.store.rotate(
            family, jti, new_jti, now, grace=self.config.refresh_reuse_interval,
            max_age=self.config.refresh_max_age, end_ttl=self._end_ttl)
        if outcome not in (Rotation.ROTATED, Rotation.RETRIED):
            if outcome == Rotation.REUSED:
                log.warning("jwt config %s: refresh token reused; family %s ended (refresh_reuse)",
                            self.config.name, family_id)
            raise GrantError("invalid_grant", _REFUSALS[outcome])
        return self._pair(payload, str(family_id), new_jti, start + self.config.refresh_max_age)


def _issued_at(claims: Mapping[str, Any]) -> float:
    """``iat`` as a number; a token without one counts as issued at the epoch (refused by any cut)."""
    iat = claims.get("iat")
    return iat if isinstance(iat, (int, float)) and not isinstance(iat, bool) else 0
