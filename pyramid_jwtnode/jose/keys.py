"""Key material, ready for use: what one config signs and verifies with.

A :class:`KeySet` holds key objects already prepared for PyJWT's algorithm objects (PyJWT
is never handed PEM text on a request: parsing an RSA PEM costs ~100x the signature
itself). Where the keys come from is :func:`pyramid_jwtnode.load_keys`, which reads a
config's files and secrets once, at start-up; a config fed by a remote JWK Set gets a
:class:`~pyramid_jwtnode.jose.jwks.RemoteKeySet` instead, which fetches nothing until a token
needs a key. This module knows nothing of Pyramid.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from jwt.algorithms import Algorithm
from jwt.utils import base64url_encode

from ..exceptions import UnknownKeyError
from .algorithms import HMAC_HASHES, implementation, is_hmac
from .jwks import RemoteKeySet

__all__ = ["KeySet", "KeySource", "LocalKeys", "jwk_thumbprint", "public_jwk", "public_bytes",
           "PrivateKey", "PublicKey"]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey


class KeySource(Protocol):
    """Where a verifier finds the key a token's ``kid`` names (``None``: no ``kid``)."""

    @property
    def generation(self) -> int:
        """Changes whenever the keys change, so that what was verified before is verified again."""

    def key_for(self, kid: str | None) -> Any:
        """The key, or UnknownKeyError (or KeySetUnavailableError for a remote set)."""


@dataclasses.dataclass(frozen=True)
class LocalKeys:
    """Keys loaded at start-up: an exact-match lookup, nothing else."""

    keys: Mapping[str | None, Any] = dataclasses.field(repr=False)
    generation: int = 0

    def key_for(self, kid: str | None) -> Any:
        try:
            return self.keys[kid]
        except (KeyError, TypeError):  # TypeError: a kid that is not hashable
            raise UnknownKeyError("unknown_kid") from None


@dataclasses.dataclass(frozen=True)
class KeySet:
    """The keys of one config, loaded and checked.

    ``signing_key`` is ``None`` for a verify-only config. ``verification_keys``
    maps each key id to its key; the entry under ``None`` is the current key,
    used for tokens whose header carries no ``kid``. ``source`` is where the
    verifier looks keys up: these keys, or a remote JWK Set.
    """

    algorithm: str
    kid: str | None
    signing_key: Any = dataclasses.field(repr=False)
    verification_keys: Mapping[str | None, Any] = dataclasses.field(repr=False)
    public_jwks: tuple[dict[str, Any], ...] = ()
    remote: RemoteKeySet | None = None

    @property
    def source(self) -> KeySource:
        """Where tokens' keys are looked up."""
        return self.remote if self.remote is not None else LocalKeys(self.verification_keys)

    @property
    def algorithm_object(self) -> Algorithm:
        """PyJWT's implementation of the configured algorithm."""
        return implementation(self.algorithm)

    def signer(self) -> Callable[[bytes, Any], bytes]:
        """``sign(message, key)`` for this algorithm.

        HS* use the standard library's one-shot ``hmac.digest`` (what PyJWT's HMAC
        does, without building an HMAC object per call); the others are PyJWT's.
        """
        if is_hmac(self.algorithm):
            name = HMAC_HASHES[self.algorithm]
            return lambda message, key: hmac.digest(key, message, name)
        return self.algorithm_object.sign

    def checker(self) -> Callable[[bytes, Any, bytes], bool]:
        """``verify(message, key, signature)`` for this algorithm (constant-time for HS*)."""
        if is_hmac(self.algorithm):
            name = HMAC_HASHES[self.algorithm]
            return lambda message, key, signature: hmac.compare_digest(
                hmac.digest(key, message, name), signature
            )
        return self.algorithm_object.verify


def public_bytes(key: PublicKey) -> bytes:
    """The DER SubjectPublicKeyInfo of a public key (to compare two keys)."""
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_jwk(algorithm: str, key: PublicKey) -> dict[str, Any]:
    """The public members of ``key`` as a JWK (no ``kid``, ``use`` or ``alg``)."""
    jwk = dict(implementation(algorithm).to_jwk(key, as_dict=True))
    return {k: jwk[k] for k in ("kty", "crv", "n", "e", "x", "y") if k in jwk}


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK."""
    required = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}
    members = {k: jwk[k] for k in required[jwk["kty"]]}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode())
    return base64url_encode(digest.digest()).decode("ascii")
