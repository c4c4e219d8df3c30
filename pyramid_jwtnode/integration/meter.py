"""What the add-on counts, and the fixed words it counts under.

A :class:`Meter` is told of every verification (its config, its reason code, how long it
took), every token handed out, every refresh grant and every remote key set fetch.
:mod:`pyramid_jwtnode.integration.metrics` is the one for Prometheus; nothing here needs it.

A label may only take a value from a fixed, documented vocabulary: a config's name, or one of
the words below. Whatever the code passes that is not one of them is counted as ``other``, so
no token, header or URL byte can ever become a label, and the number of series stays bounded.
"""

from __future__ import annotations

from typing import Final, Protocol

__all__ = ["Meter", "VERIFICATION_REASONS", "REFRESH_OUTCOMES", "FETCH_OUTCOMES", "TOKEN_KINDS",
           "OTHER", "ACCEPTED", "verification_reason", "refresh_outcome", "fetch_outcome"]

#: The label of a value outside a vocabulary (never expected: a test holds the code to it).
OTHER: Final = "other"
#: The reason label of an accepted token.
ACCEPTED: Final = "ok"

#: Why a request's credentials were refused: the reason codes the policy logs.
VERIFICATION_REASONS: Final = frozenset({
    # the request: Authorization header or query
    "empty_token", "several_tokens", "malformed_query",
    # the token's shape
    "too_large", "not_ascii", "not_text", "segments", "bad_base64", "header_too_large", "bad_header",
    "bad_header_json", "bad_payload_json", "duplicate_header_member", "duplicate_payload_member",
    "deep_header", "deep_payload", "header_not_object", "payload_not_object", "empty_signature",
    "malformed",
    # the header, the key, the signature
    "alg_missing", "alg_not_allowed", "crit", "b64", "typ", "refresh_token_as_access_token",
    "unknown_kid", "bad_signature",
    # the claims
    "exp_missing", "expired", "nbf_future", "iat_future", "not_yet_valid", "exp_not_numeric_date",
    "nbf_not_numeric_date", "iat_not_numeric_date", "sub_not_string", "iss_missing", "iss_mismatch",
    "aud_missing", "aud_not_string", "aud_mismatch", "aud_unexpected", "bad_claim",
    # where it came from, its revocation, its user
    "query_token_not_allowed", "header_not_allowed", "no_jti", "revoked", "subject_revoked",
    "no_userid", "identity_refused",
    # what could not be reached (answered 503)
    "store_unavailable", "key_set_unavailable",
    "invalid_token",
})

#: How a refresh grant ended. ``rotated``: a new pair; ``retried``: a new pair for a retry
#: within ``refresh_reuse_interval``; the rest are refusals (``reuse``: a rotated token
#: presented again, the family ended; ``revoked``: the family had ended; ``expired``: the
#: refresh token's ``exp`` passed; ``invalid``: any other refusal of the token itself;
#: ``refused``: the ``refresh_payload`` callable refused the user), or ``store_unavailable``
#: (503) and ``error`` (a 500: the host's ``refresh_payload`` raised, or its payload cannot be
#: signed).
REFRESH_OUTCOMES: Final = frozenset({
    "rotated", "retried", "reuse", "revoked", "subject_revoked", "family_too_old", "unknown_family",
    "expired", "invalid", "refused", "subject_changed", "store_unavailable", "error",
})

#: How a remote key set (or discovery document) fetch ended: ``ok``, or why not.
FETCH_OUTCOMES: Final = frozenset({
    "ok", "timeout", "http_error", "connection_error", "too_large", "not_json", "not_a_jwk_set",
    "discovery_not_an_object", "discovery_bad_jwks_uri", "discovery_issuer_mismatch",
})

#: What kind of token was handed out.
TOKEN_KINDS: Final = frozenset({"access", "refresh"})

_REFRESH_REASONS: Final = {"refresh_reuse": "reuse", "refused_by_refresh_payload": "refused"}


class Meter(Protocol):
    """What the add-on tells whoever counts (its arguments are already bounded words)."""

    def verified(self, config: str, reason: str, seconds: float) -> None:
        """A request's token was checked: ``reason`` is :data:`ACCEPTED` or a reason code."""

    def issued(self, config: str, kind: str) -> None:
        """A token of ``kind`` (``access`` or ``refresh``) was handed out."""

    def refreshed(self, config: str, outcome: str) -> None:
        """A refresh grant ended with ``outcome`` (one of :data:`REFRESH_OUTCOMES`)."""

    def fetched(self, config: str, outcome: str) -> None:
        """A remote key set fetch ended with ``outcome`` (one of :data:`FETCH_OUTCOMES`)."""


def verification_reason(reason: str | None) -> str:
    """The reason label of a verification: :data:`ACCEPTED` for ``None``, the code when it is
    one of :data:`VERIFICATION_REASONS`, else :data:`OTHER`."""
    if reason is None:
        return ACCEPTED
    return reason if reason in VERIFICATION_REASONS else OTHER


def refresh_outcome(reason: str) -> str:
    """The outcome label of a refresh grant, from its outcome or its refusal's reason code."""
    if reason in REFRESH_OUTCOMES:
        return reason
    mapped = _REFRESH_REASONS.get(reason)
    if mapped is not None:
        return mapped
    return "invalid"  # the refresh token itself was refused (bad signature, wrong type, ...)


def fetch_outcome(outcome: str, reason: str | None) -> str:
    """The outcome label of a key set fetch told ``(outcome, reason)`` by the remote key set."""
    if outcome != "failed":
        return "ok"
    if reason is None:
        return OTHER
    if reason.startswith("status_"):
        return "http_error"
    if reason in FETCH_OUTCOMES:
        return reason
    return "connection_error"  # the network's own error, named after its type
