"""Making new key material of the right kind for an algorithm (``pjwt keygen``)."""

from __future__ import annotations

import dataclasses
import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ..jose.algorithms import EC_CURVES, EDDSA, HMAC_MIN_BYTES, RSA_ALGORITHMS, RSA_MIN_BITS, RSA_NEW_KEY_BITS

__all__ = ["GeneratedKey", "generate"]


@dataclasses.dataclass(frozen=True)
class GeneratedKey:
    """A shared secret (``secret``), or a PEM key pair (``private_pem``, ``public_pem``)."""

    algorithm: str
    secret: bytes | None = dataclasses.field(default=None, repr=False)
    private_pem: bytes | None = dataclasses.field(default=None, repr=False)
    public_pem: bytes | None = None


def generate(algorithm: str, rsa_bits: int = RSA_NEW_KEY_BITS) -> GeneratedKey:
    """New key material for ``algorithm``: a random secret for HS*, a key pair otherwise."""
    if algorithm in HMAC_MIN_BYTES:
        # token_urlsafe(n) gives about 1.3 n characters, all kept: >= n bytes of secret.
        return GeneratedKey(algorithm, secret=secrets.token_urlsafe(HMAC_MIN_BYTES[algorithm]).encode())
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    if algorithm in RSA_ALGORITHMS:
        if rsa_bits < RSA_MIN_BITS:
            raise ValueError(f"RSA keys must have {RSA_MIN_BITS} bits or more")
        private = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    elif algorithm in EC_CURVES:
        private = ec.generate_private_key(EC_CURVES[algorithm]())
    elif algorithm == EDDSA:
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ValueError(f"unknown algorithm {algorithm!r}")
    return GeneratedKey(
        algorithm,
        private_pem=private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        public_pem=private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
