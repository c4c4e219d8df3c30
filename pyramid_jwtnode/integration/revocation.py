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
  rotated; ``refresh_payload`` re-checks the user at every refresh. A family belongs to the
  user it started with: a refresh whose payload names another user ends it.
- Revoking a subject (``revoke_subject``) refuses every access and refresh token of that
  user issued at or before now, in every process sharing the store. The rotation reads the
  cut-off in its own atomic step, so a refresh under way when the subject is revoked (its
  ``refresh_payload`` asking a database, say) is refused, never rotated past the cut-off.
- Records are kept only as long as they matter: a live family until its newest refresh
  token could expire, an ended one until its access tokens could, a cut-off until the
  longest token issued before it could.
- A store that cannot be reached raises StoreUnavailableError: 503, never a pass.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..exceptions import GrantError, InvalidTokenError, RevokedTokenError, StoreUnavailableError
from ..jose.claims import userid_of
from ..jose.issuer import IssuedToken, Issuer, refresh_audience
from ..jose.keys import KeySet
from ..jose.limits import REFRESH_TYP
from ..jose.verifier import Verifier
from ..storage import RevocationStore, Rotation
from .events import FamilyEnded, Notify, RefreshTokenReused, SubjectRevoked
from .settings import JWTConfig

__all__ = ["Revocation", "Review"]

log = logging.getLogger("pyramid_jwtnode")

#: ``review(payload) -> payload or None``: the ``refresh_payload`` callable, bound to the request.
Review = Callable[[Any], Any]

_REFUSALS = {Rotation.REUSED: "refresh_reuse", Rotation.ENDED: "revoked",
             Rotation.EXPIRED: "family_too_old", Rotation.UNKNOWN: "unknown_family",
             Rotation.SUBJECT_REVOKED: "subject_revoked"}


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
        notify: Notify | None = None,
    ) -> None:
        self.config = config
        #: where security events go (the registry's, through events.safe_notify); none by default
        self.notify: Notify = notify or (lambda event: None)
        #: told how each refresh grant ended: ``rotated``, ``retried``, the refusal's reason
        #: code, ``store_unavailable`` or ``error`` (metrics count it); none by default
        self.on_refresh: Callable[[str], None] | None = None
        self.store = store
        self.issuer = issuer
        self.verifier = verifier
        self._clock = clock
        self._userid_path = tuple(config.userid_claim.split("."))
        # a cut-off outlives every token issued before it (refresh tokens at most refresh_expires_in)
        self._subject_ttl = max(config.expires_in, config.refresh_expires_in or 0) + config.leeway + 1
        self._end_ttl = config.expires_in + config.leeway + 1  # the family's access tokens live this long
        self._refresh_audience = refresh_audience(config.name)
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

    def _subject(self, claims: Mapping[str, Any]) -> str | None:
        """The store key of the user of a verified access or refresh token (refresh tokens
        carry the user id of their access tokens as ``sub``): a family is kept with it."""
        if "pld" in claims and claims.get("aud") == self._refresh_audience:
            return self._key("sub", claims.get("sub"))
        return self._key("sub", userid_of(dict(claims), self._userid_path))

    # -- checks and revocation ---------------------------------------------------------

    def check(self, claims: Mapping[str, Any]) -> None:
        """Refuse a verified access token that was revoked, whose family ended, or whose subject
        was revoked after it was issued: one store round trip."""
        token = self._key("jti", claims.get("jti"))
        if token is None:
            raise RevokedTokenError("no_jti")  # revocation needs an id to look up
        subject = self._subject(claims)
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
            subject = self._subject(claims)
            self.store.end_family(family, self._end_ttl, subject=subject)
            self.notify(FamilyEnded(self.config.name, str(claims["fam"]), _user(subject), "logout"))

    def revoke_subject(self, userid: str) -> None:
        """Refuse every access and refresh token of ``userid`` issued at or before now.

        Token times are whole seconds, so a token issued in this very second is refused too.
        """
        if not isinstance(userid, str) or not userid:
            raise ValueError("userid must be a non-empty string")
        key = self._key("sub", userid)
        assert key is not None
        self.store.cut_off(key, self._now(), self._subject_ttl)
        self.notify(SubjectRevoked(self.config.name, userid))

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
        issuer = self._require_issuer()
        family, jti = secrets.token_urlsafe(16), issuer.new_jti()
        access = issuer.issue(payload, extra={"fam": family}, quiet=True)
        start = int(access.claims["iat"])
        pair = self._with_refresh(access, payload, family, jti, start + self.config.refresh_max_age)
        key = self._key("fam", family)
        assert key is not None and pair.refresh_expires_in is not None
        self.store.start_family(key, jti, start, pair.refresh_expires_in + self.config.leeway + 1,
                                subject=self._subject(access.claims))
        issuer.report("access", "refresh")  # handed out once the store holds their family
        return pair

    def _require_issuer(self) -> Issuer:
        assert self.issuer is not None and self.config.refresh_expires_in is not None
        return self.issuer

    def _with_refresh(self, access: IssuedToken, payload: Any, family: str, jti: str,
                      family_ends: int) -> IssuedToken:
        """``access`` with the refresh token ``jti`` of ``family`` beside it."""
        issuer = self._require_issuer()
        assert self.config.refresh_expires_in is not None
        expires_at = min(int(access.claims["iat"]) + self.config.refresh_expires_in, family_ends)
        refresh = issuer.refresh_token(payload, family, jti=jti, expires_at=expires_at,
                                       subject=userid_of(dict(access.claims), self._userid_path),
                                       csrf=access.claims.get("csrf"), quiet=True)
        return dataclasses.replace(access, refresh_token=refresh,
                                   refresh_expires_in=expires_at - int(access.claims["iat"]))

    def refresh(self, refresh_token: str, review: Review | None = None) -> IssuedToken:
        """Rotate: a new pair for the family's current refresh token (:meth:`rotate`), with
        how it ended told to :attr:`on_refresh`."""
        told = self.on_refresh
        if told is None:
            return self.rotate(refresh_token, review)[0]
        try:
            issued, outcome = self.rotate(refresh_token, review)
        except GrantError as exc:
            told(exc.reason)
            raise
        except StoreUnavailableError:
            told("store_unavailable")
            raise
        except Exception:  # the host's refresh_payload, or a payload that cannot be signed
            told("error")
            raise
        told(outcome)
        return issued

    def rotate(self, refresh_token: str, review: Review | None = None) -> tuple[IssuedToken, str]:
        """Rotate: a new pair for the family's current refresh token, and ``rotated`` (or
        ``retried``, for the token just rotated presented again within the grace).

        ``review`` (the ``refresh_payload`` callable, bound to the request) gets the payload
        the family carries and returns the payload of the new pair, or ``None`` to refuse;
        a refusal ends the family, and so does a payload naming another user. Reuse of an
        older token ends it too, and so does a cut-off of the family's user at or after the
        presented token's ``iat``: read in the same atomic step as the rotation itself.
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
        subject = self._subject(claims)
        payload = claims["pld"]
        if review is not None:
            payload = review(payload)
            if payload is None:
                self.store.end_family(family, self._end_ttl, subject=subject)
                self.notify(FamilyEnded(self.config.name, str(family_id), _user(subject),
                                        "refused_by_refresh_payload"))
                raise GrantError("invalid_grant", "refused_by_refresh_payload")
        issuer = self._require_issuer()
        # The access token is built before the rotation: a payload it cannot carry leaves the
        # family as it was, and its user must be the family's.
        access = issuer.issue(payload, extra={"fam": family_id}, quiet=True)
        if self._subject(access.claims) != subject:
            self.store.end_family(family, self._end_ttl, subject=subject)
            self.notify(FamilyEnded(self.config.name, str(family_id), _user(subject), "subject_changed"))
            raise GrantError("invalid_grant", "subject_changed")
        new_jti, config = issuer.new_jti(), self.config
        assert config.refresh_expires_in is not None
        outcome, start = self.store.rotate(
            family, jti, new_jti, int(access.claims["iat"]), grace=config.refresh_reuse_interval,
            max_age=config.refresh_max_age, lifetime=config.refresh_expires_in,
            slack=config.leeway + 1, end_ttl=self._end_ttl, subject=subject,
            issued_at=_issued_at(claims))
        if outcome not in (Rotation.ROTATED, Rotation.RETRIED):
            if outcome == Rotation.REUSED:
                log.warning("jwt config %s: refresh token reused; family %s ended (refresh_reuse)",
                            config.name, family_id)
                self.notify(RefreshTokenReused(config.name, str(family_id), _user(subject)))
                self.notify(FamilyEnded(config.name, str(family_id), _user(subject), "refresh_reuse"))
            elif outcome == Rotation.SUBJECT_REVOKED:
                self.notify(FamilyEnded(config.name, str(family_id), _user(subject), "subject_revoked"))
            raise GrantError("invalid_grant", _REFUSALS[outcome])
        pair = self._with_refresh(access, payload, str(family_id), new_jti, start + config.refresh_max_age)
        issuer.report("access", "refresh")
        return pair, str(outcome)


def _user(subject_key: str | None) -> str | None:
    """The user id of a subject's store key (``<config>:sub:<user id>``)."""
    return subject_key.split(":sub:", 1)[1] if subject_key is not None else None


def _issued_at(claims: Mapping[str, Any]) -> float:
    """``iat`` as a number; a token without one counts as issued at the epoch (refused by any cut)."""
    iat = claims.get("iat")
    return iat if isinstance(iat, (int, float)) and not isinstance(iat, bool) else 0
