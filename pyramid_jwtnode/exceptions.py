"""The exception tree of pyramid_jwtnode.

Two branches never mix, as in PyJWT:

* :class:`InvalidTokenError` and its subclasses: the *token* is bad. The
  security policy turns these into a 401 answer; ``reason`` is a short,
  fixed code for the log (it never contains the token, a claim or a key).
* :class:`IssueError`: the *application* handed the issuer something it
  cannot sign (a payload that is not a mapping, a registered claim the
  configuration owns, a value JSON cannot carry). It is a programming error of
  the host app, answered with a 500 by the token view.

Mistakes in settings or key material are :class:`pyramid.exceptions.ConfigurationError`
and stop start-up; they are never reported as a bad token.
"""

from __future__ import annotations

__all__ = [
    "JWTNodeError",
    "InvalidTokenError",
    "MalformedTokenError",
    "InvalidHeaderError",
    "UnknownKeyError",
    "InvalidSignatureError",
    "ExpiredTokenError",
    "ImmatureTokenError",
    "InvalidClaimError",
    "RevokedTokenError",
    "IssueError",
    "StoreUnavailableError",
    "KeySetUnavailableError",
    "GrantError",
]


class JWTNodeError(Exception):
    """Base class of every error this package raises at run time. ``config`` names the
    jwt-config whose rules refused a token, when the refusal is about one (``None`` else)."""

    config: str | None = None


class InvalidTokenError(JWTNodeError):
    """The token was refused. ``reason`` is a short code safe to log.

    When two values did not match (``iss_mismatch``, ``alg_not_allowed``), ``expected`` is the
    config's and ``seen`` the token's: a value the client chose, shown in a log line only
    through :func:`pyramid_jwtnode.loggable.shown` (capped and escaped).
    """

    default_reason = "invalid_token"

    def __init__(self, reason: str | None = None, *, expected: object = None,
                 seen: object = None) -> None:
        self.reason = reason or self.default_reason
        self.expected = expected
        self.seen = seen
        super().__init__(self.reason)


class MalformedTokenError(InvalidTokenError):
    """Not a well-formed compact JWS: size, segments, base64url or JSON."""

    default_reason = "malformed"


class InvalidHeaderError(InvalidTokenError):
    """The JOSE header asks for something the configuration does not allow."""

    default_reason = "bad_header"


class UnknownKeyError(InvalidTokenError):
    """The header's ``kid`` names no configured key."""

    default_reason = "unknown_kid"


class InvalidSignatureError(InvalidTokenError):
    """The signature does not verify with the configured key."""

    default_reason = "bad_signature"


class ExpiredTokenError(InvalidTokenError):
    """``exp`` has passed (beyond the configured leeway)."""

    default_reason = "expired"


class ImmatureTokenError(InvalidTokenError):
    """``nbf`` or ``iat`` lies in the future (beyond the configured leeway)."""

    default_reason = "not_yet_valid"


class InvalidClaimError(InvalidTokenError):
    """A registered claim is missing, of the wrong type, or not the expected value."""

    default_reason = "bad_claim"


class RevokedTokenError(InvalidTokenError):
    """The token, or its refresh-token family, was revoked."""

    default_reason = "revoked"


class StoreUnavailableError(JWTNodeError):
    """The revocation store cannot be reached: the answer is 503, never a pass (fail closed).
    ``store`` says where it is (a URL without credentials, or ``host:port``), when known."""

    store: str | None = None


class KeySetUnavailableError(JWTNodeError):
    """A remote JWK Set cannot be fetched and the token's key is not cached: the answer is 503
    (fail closed), never 200 and never 401 (the token may well be valid)."""


class GrantError(JWTNodeError):
    """A refresh request was refused; ``error`` is the RFC 6749 §5.2 code, ``reason`` the log code."""

    def __init__(self, error: str, reason: str) -> None:
        self.error = error
        self.reason = reason
        super().__init__(f"{error} ({reason})")


class IssueError(JWTNodeError):
    """The application asked to sign claims that cannot or must not be signed."""
