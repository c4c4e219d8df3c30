"""The algorithms a config may name, and what each asks of its key.

This is the one place that knows the families: every other module asks here.
"""

from __future__ import annotations

from typing import Final

#: HMAC algorithms and the minimum secret length in bytes (RFC 7518 §3.2:
#: a key of the same size as the hash output or larger).
HMAC_MIN_BYTES: Final[dict[str, int]] = {"HS256": 32, "HS384": 48, "HS512": 64}

#: RSA algorithms (PKCS#1 v1.5 and PSS) and the minimum modulus (RFC 7518 §3.3).
RSA_ALGORITHMS: Final[frozenset[str]] = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
)
RSA_MIN_BITS: Final = 2048

#: ECDSA algorithms and the curve each requires (RFC 7518 §3.4).
EC_CURVES: Final[dict[str, str]] = {
    "ES256": "secp256r1",
    "ES384": "secp384r1",
    "ES512": "secp521r1",
}

#: Edwards-curve signatures (RFC 8037): Ed25519 or Ed448 keys.
EDDSA: Final = "EdDSA"

ALGORITHMS: Final[tuple[str, ...]] = (
    *HMAC_MIN_BYTES,
    *sorted(RSA_ALGORITHMS),
    *EC_CURVES,
    EDDSA,
)


def is_hmac(algorithm: str) -> bool:
    """True for the shared-secret algorithms (HS*)."""
    return algorithm in HMAC_MIN_BYTES
