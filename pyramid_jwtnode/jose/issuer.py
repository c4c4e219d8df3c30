"""Building claims and signing them: the plain object behind every token we mint.

An :class:`Issuer` needs no Configurator: give it a checked config and its
loaded keys. The constant parts (the encoded header, the key, the algorithm
object, the configured claims) are computed once in the constructor.

Registered claims are the configuration's: a payload that carries ``iat``,
``exp``, ``nbf``, ``iss``, ``aud`` or ``jti`` is refused with an
:class:`~pyramid_jwtnode.exceptions.IssueError` rather than silently mixed or
overwritten. With ``claims_key`` set the payload is nested under that claim, so
no clash is possible and any JSON value may be signed.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from jwt.utils import base64url_encode as b64url

from ..exceptions import IssueError
from .keys import KeySet
from .limits import MAX_JSON_DEPTH, MAX_NUMERIC_DATE, REFRESH_TYP, RESERVED_CLAIMS, repeated_names, shallow
from .rules import TokenRules

__all__ = ["Issuer", "IssuedToken", "refresh_audience"]


def refresh_audience(config: str) -> str:
    """The ``aud`` of a config's refresh tokens: only that config's refresh endpoint takes them."""
    return f"urn:pyramid_jwtnode:refresh:{config}"


#: One encoder for every claim set (json.dumps with options would build one per call).
_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def _json(value: Any) -> bytes:
    return _ENCODER.encode(value).encode()


@dataclasses.dataclass(frozen=True)
class IssuedToken:
    """A freshly signed token and what went into it."""

    token: str
    claims: Mapping[str, Any]
    expires_in: int
    config: str
    refresh_token: str | None = None
    refresh_expires_in: int | None = None


class Issuer:
    """Signs claims for one config."""

    def __init__(
        self,
        config: TokenRules,
        keys: KeySet,
        *,
        clock: Callable[[], float] = time.time,
        new_jti: Callable[[], str] = lambda: secrets.token_urlsafe(16),
    ) -> None:
        if keys.signing_key is None:
            raise ValueError(f"jwt config {config.name!r} has no private key: it can only verify")
        self.config = config
        self._clock = clock
        self._new_jti = new_jti
        self._sign = keys.signer()
        self._key = keys.signing_key
        header: dict[str, Any] = {"alg": config.algorithm, "typ": config.typ or "JWT"}
        if keys.kid is not None:
            header["kid"] = keys.kid
        self.header: Mapping[str, Any] = header
        self._header_segment = b64url(_json(header)) + b"."
        self._refresh_header_segment = b64url(_json({**header, "typ": REFRESH_TYP})) + b"."
        fixed: dict[str, Any] = {}
        if config.issuer is not None:
            fixed["iss"] = config.issuer
        if config.audience:
            fixed["aud"] = config.audience[0] if len(config.audience) == 1 else list(config.audience)
        self._fixed = fixed
        #: Told ``"access"`` or ``"refresh"`` for each token handed out (the Pyramid
        #: integration counts them); a token signed ``quiet`` is told by :meth:`report`.
        self.on_issue: Callable[[str], None] | None = None

    def claims(self, payload: Any, *, expires_in: int | None = None,
               extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The full claim set for ``payload``: the payload plus the registered claims.

        ``extra`` holds claims the add-on itself sets (a refresh family's ``fam``).
        """
        config = self.config
        lifetime = config.expires_in if expires_in is None else expires_in
        if isinstance(lifetime, bool) or not isinstance(lifetime, int) or lifetime <= 0:
            raise IssueError("expires_in must be a positive whole number of seconds")
        if config.claims_key is not None:
            claims: dict[str, Any] = {config.claims_key: payload}
        else:
            if not isinstance(payload, Mapping):
                raise IssueError(
                    f"jwt config {config.name!r}: the payload must be a mapping of claims, got "
                    f"{type(payload).__name__}; return a dict, or set claims_key to nest any "
                    "JSON value"
                )
            clash = sorted(RESERVED_CLAIMS.intersection(payload))
            if clash:
                raise IssueError(
                    f"jwt config {config.name!r}: the payload sets {', '.join(clash)}, which the "
                    "configuration or the add-on controls; remove them from the payload (set "
                    "issuer, audience, expires_in, not_before or jti in the config instead)"
                )
            if "sub" in payload and not isinstance(payload["sub"], str):
                raise IssueError(
                    f"jwt config {config.name!r}: 'sub' must be a string (RFC 7519 §4.1.2), got "
                    f"{type(payload['sub']).__name__}"
                )
            claims = dict(payload)
        now = int(self._clock())
        claims["iat"] = now
        claims["exp"] = now + lifetime
        if claims["exp"] > MAX_NUMERIC_DATE:
            raise IssueError("expires_in puts exp beyond the year 9999")
        if config.not_before is not None:
            claims["nbf"] = now + config.not_before
        claims.update(self._fixed)
        if config.jti:
            claims["jti"] = self._new_jti()
        if config.cookies:  # the value page script sends back in X-CSRF-Token (double submit)
            claims["csrf"] = secrets.token_urlsafe(24)
        if extra:
            claims.update(extra)
        return claims

    def encode(self, claims: Mapping[str, Any], *, refresh: bool = False) -> str:
        """Sign a complete claim set as a compact JWS with the configured header
        (``typ`` :data:`REFRESH_TYP` for a refresh token)."""
        try:
            payload = _json(claims)
        except RecursionError:
            raise self._too_deep() from None
        except (TypeError, ValueError) as exc:
            raise IssueError(
                f"jwt config {self.config.name!r}: the payload cannot be written as JSON "
                f"({type(exc).__name__}: {_safe_reason(exc)})"
            ) from None
        # With no more opening brackets than the depth limit, it cannot nest deeper.
        if payload.count(b"{") + payload.count(b"[") > MAX_JSON_DEPTH and not shallow(dict(claims)):
            raise self._too_deep()
        if repeated_names(claims if isinstance(claims, dict) else dict(claims)):
            raise IssueError(
                f"jwt config {self.config.name!r}: the payload has keys that are not strings and "
                "would repeat a name once written as JSON (1 and \"1\", None and \"null\"), which "
                "verification refuses; use string keys"
            )
        header = self._refresh_header_segment if refresh else self._header_segment
        signing_input = header + b64url(payload)
        token = signing_input + b"." + b64url(self._sign(signing_input, self._key))
        if len(token) > self.config.max_token_bytes:
            raise IssueError(
                f"jwt config {self.config.name!r}: the token would be {len(token)} bytes, over "
                f"max_token_bytes ({self.config.max_token_bytes}), so verification would refuse "
                "it; sign less, or raise max_token_bytes"
            )
        return token.decode("ascii")

    def _too_deep(self) -> IssueError:
        return IssueError(
            f"jwt config {self.config.name!r}: the payload nests arrays or objects deeper than "
            f"{MAX_JSON_DEPTH} levels, which verification refuses; flatten it"
        )

    def issue(self, payload: Any, *, expires_in: int | None = None,
              extra: Mapping[str, Any] | None = None, quiet: bool = False) -> IssuedToken:
        """Build the claims for ``payload`` and sign them. ``quiet``: a token that may yet be
        thrown away is not reported to :attr:`on_issue` (its caller reports it)."""
        claims = self.claims(payload, expires_in=expires_in, extra=extra)
        issued = IssuedToken(
            token=self.encode(claims),
            claims=claims,
            expires_in=claims["exp"] - claims["iat"],
            config=self.config.name,
        )
        if not quiet and self.on_issue is not None:
            self.on_issue("access")
        return issued

    def report(self, *kinds: str) -> None:
        """Tell :attr:`on_issue` of tokens signed ``quiet`` that are handed out after all."""
        if self.on_issue is not None:
            for kind in kinds:
                self.on_issue(kind)

    def refresh_token(self, payload: Any, family: str, *, jti: str, expires_at: int,
                      subject: str | None = None, csrf: str | None = None, quiet: bool = False) -> str:
        """A refresh token of ``family`` carrying the payload to issue again (``pld``), for this
        config's refresh endpoint only (``aud``: :func:`refresh_audience`), with the user id of
        its access tokens as ``sub`` (so that revoking the subject reaches it) and, for
        cookie-borne tokens, the CSRF value of its access token."""
        now = int(self._clock())
        claims: dict[str, Any] = {"pld": payload, "fam": family, "iat": now, "exp": expires_at,
                                  "jti": jti, "aud": refresh_audience(self.config.name)}
        if self.config.issuer is not None:
            claims["iss"] = self.config.issuer
        if subject is not None:
            claims["sub"] = subject
        if csrf is not None:
            claims["csrf"] = csrf
        token = self.encode(claims, refresh=True)
        if not quiet and self.on_issue is not None:
            self.on_issue("refresh")
        return token

    def new_jti(self) -> str:
        """A fresh random token id."""
        return self._new_jti()


def _safe_reason(exc: Exception) -> str:
    """json's own message names the type or the problem, never the value."""
    text = str(exc)
    if isinstance(exc, TypeError) and text.startswith("Object of type"):
        return text
    if "Circular reference" in text:
        return "circular reference"
    if "Out of range float" in text:
        return "NaN or infinity"
    if "keys must be" in text:
        return "a key that is not a string, number, boolean or null"
    return "unsupported value"
