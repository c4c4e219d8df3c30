"""The algorithms a config may name, and what each asks of its key.

This is the one place that knows the families, their hash names, curves and key
sizes: the settings parser, the key loader, the key generator and the remote key
set all ask here.
"""

from __future__ import annotations

import hashlib
from typing import Final

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from jwt.algorithms import Algorithm, get_default_algorithms
from jwt.exceptions import InvalidKeyError

#: HMAC algorithms and their hash (RFC 7518 §3.2).
HMAC_HASHES: Final[dict[str, str]] = {"HS256": "sha256", "HS384": "sha384", "HS512": "sha512"}

#: The minimum HMAC secret in bytes: the size of the hash output (RFC 7518 §3.2).
HMAC_MIN_BYTES: Final[dict[str, int]] = {
    alg: hashlib.new(name).digest_size for alg, name in HMAC_HASHES.items()
}

#: RSA algorithms (PKCS#1 v1.5 and PSS) and the minimum modulus (RFC 7518 §3.3).
RSA_ALGORITHMS: Final[frozenset[str]] = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
)
RSA_MIN_BITS: Final = 2048
#: Size of new RSA keys (``pjwt keygen``): above the floor, as NIST SP 800-57 advises past 2030.
RSA_NEW_KEY_BITS: Final = 3072

#: ECDSA algorithms and the curve each requires (RFC 7518 §3.4).
EC_CURVES: Final[dict[str, type[ec.EllipticCurve]]] = {
    "ES256": ec.SECP256R1,
    "ES384": ec.SECP384R1,
    "ES512": ec.SECP521R1,
}

#: Edwards-curve signatures (RFC 8037): Ed25519 or Ed448 keys.
EDDSA: Final = "EdDSA"

ALGORITHMS: Final[tuple[str, ...]] = (
    *HMAC_HASHES,
    *sorted(RSA_ALGORITHMS),
    *EC_CURVES,
    EDDSA,
)

_PYJWT: Final = get_default_algorithms()


def is_hmac(algorithm: str) -> bool:
    """True for the shared-secret algorithms (HS*)."""
    return algorithm in HMAC_HASHES


def key_type(algorithm: str) -> str:
    """The JWK ``kty`` of the keys ``algorithm`` uses (RFC 7518 §6, RFC 8037)."""
    if is_hmac(algorithm):
        return "oct"
    if algorithm in RSA_ALGORITHMS:
        return "RSA"
    return "EC" if algorithm in EC_CURVES else "OKP"


def implementation(algorithm: str) -> Algorithm:
    """PyJWT's implementation of ``algorithm`` (signing, verifying, JWK conversion)."""
    return _PYJWT[algorithm]


def hmac_secret_problem(algorithm: str, secret: bytes) -> tuple[str, str] | None:
    """Why ``secret`` cannot be an HMAC secret for ``algorithm`` (problem, fix), or ``None``.

    PyJWT decides what is really a PEM, DER, JWK or SSH key; the length rule is ours.
    """
    try:
        implementation(algorithm).prepare_key(secret)
    except InvalidKeyError:
        return (
            "looks like a PEM, DER, JWK or SSH key, or is empty, not a shared secret",
            "an HS* secret must be random bytes; for key pairs use an RS/PS/ES/EdDSA "
            "algorithm with private_key_file",
        )
    minimum = HMAC_MIN_BYTES[algorithm]
    if len(secret) < minimum:
        return (
            f"is shorter than the {minimum} bytes {algorithm} needs (RFC 7518 §3.2)",
            f"use at least {minimum} random bytes, e.g. the output of "
            f"`python -c \"import secrets; print(secrets.token_urlsafe({minimum}))\"`",
        )
    return None


def key_problem(algorithm: str, key: object) -> tuple[str, str] | None:
    """Why ``key`` cannot serve ``algorithm`` (problem, fix): its type, size or curve; or ``None``.

    Private and public key objects alike; the key loader and the remote key set both ask here.
    """
    if algorithm in RSA_ALGORITHMS:
        if not isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
            return f"is not an RSA key, as {algorithm} needs", "give an RSA key or change the algorithm"
        if key.key_size < RSA_MIN_BITS:
            return (f"is an RSA key under {RSA_MIN_BITS} bits (RFC 7518 §3.3)",
                    f"generate a key of {RSA_MIN_BITS} bits or more")
    elif algorithm in EC_CURVES:
        if not isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
            return f"is not an EC key, as {algorithm} needs", "give an EC key or change the algorithm"
        curve = EC_CURVES[algorithm]().name
        if key.curve.name != curve:
            return (f"is on a curve that {algorithm} does not use (RFC 7518 §3.4)",
                    f"{algorithm} needs a {curve} key")
    elif algorithm == EDDSA:
        if not isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey,
                                ed448.Ed448PrivateKey, ed448.Ed448PublicKey)):
            return ("is not an Ed25519 or Ed448 key, as EdDSA needs",
                    "give an Ed25519 key or change the algorithm")
    return None
