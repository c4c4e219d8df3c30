"""Loading and checking key material, once, at start-up.

:func:`load_keys` turns a checked :class:`~pyramid_jwtnode.settings.JWTConfig`
into a :class:`KeySet` of ready key objects: PyJWT is never handed PEM text on a
request (parsing an RSA PEM costs ~100x the signature itself). Every problem
with a file or a key is a :class:`~pyramid.exceptions.ConfigurationError` that
names the setting and never contains key material. A config fed by a remote JWK
Set gets a :class:`~pyramid_jwtnode.jwks.RemoteKeySet` instead, which fetches
nothing until a token needs a key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from jwt.algorithms import Algorithm
from jwt.utils import base64url_encode
from pyramid.path import AssetResolver

from .algorithms import HMAC_HASHES, hmac_secret_problem, implementation, is_hmac, key_problem
from .exceptions import UnknownKeyError
from .jwks import RemoteKeySet
from .settings import JWTConfig, setting_error

__all__ = ["KeySet", "KeySource", "LocalKeys", "load_keys", "resolve_path", "jwk_thumbprint"]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey

_MAX_KEY_FILE_BYTES = 64 * 1024


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


def resolve_path(spec: str) -> str:
    """An absolute path for a file path (relative ones from the current directory) or a
    ``package:relative/path`` asset spec."""
    if os.path.isabs(spec) or ":" not in spec:
        return os.path.abspath(spec)
    return str(AssetResolver(None).resolve(spec).abspath())


def _read(name: str, key: str, spec: str) -> bytes:
    try:
        path = resolve_path(spec)
    except (ImportError, ValueError):
        raise setting_error(
            name, key, "names a package that cannot be imported",
            "give a file path (use %(here)s in ini files) or package:path",
        ) from None
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        raise setting_error(
            name, key, f"names a file that does not exist ({path})",
            "check the path; relative paths start from the current directory, so prefer "
            "%(here)s/... in ini files",
        ) from None
    except IsADirectoryError:
        raise setting_error(name, key, "names a directory, not a file", "give the file's path") from None
    except OSError as exc:
        raise setting_error(
            name, key, f"names a file that cannot be read ({type(exc).__name__})",
            "check the file's permissions for the user running the app",
        ) from None
    if len(data) > _MAX_KEY_FILE_BYTES:
        raise setting_error(name, key, "names a file too large to be a key", "check the path")
    return data


def _secret(config: JWTConfig, environ: Mapping[str, str]) -> tuple[str, bytes]:
    """The shared secret and the key it came from."""
    if config.secret_env is not None:
        value = environ.get(config.secret_env)
        if value:
            return "secret_env", value.encode("utf-8")
        if config.secret is None and config.secret_file is None:
            raise setting_error(
                config.name, "secret_env",
                f"names the environment variable {config.secret_env}, which is not set or is empty",
                f"export {config.secret_env} with the secret before starting the app",
            )
    if config.secret_file is not None:
        return "secret_file", _read(config.name, "secret_file", config.secret_file).strip()
    assert config.secret is not None  # guaranteed by the parser
    return "secret", config.secret.encode("utf-8")


def _load_private(config: JWTConfig) -> PrivateKey:
    assert config.private_key_file is not None
    data = _read(config.name, "private_key_file", config.private_key_file)
    password = (
        config.private_key_passphrase.encode("utf-8")
        if config.private_key_passphrase is not None
        else None
    )
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except TypeError:
        if password is None:
            raise setting_error(
                config.name, "private_key_file", "is encrypted but no passphrase is set",
                f"set jwt.{config.name}.private_key_passphrase",
            ) from None
        raise setting_error(
            config.name, "private_key_passphrase", "is set but the key is not encrypted",
            "remove the passphrase",
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        if password is not None:
            raise setting_error(
                config.name, "private_key_file",
                "could not be read as a PEM private key with the given passphrase",
                "check the file and jwt.{0}.private_key_passphrase".format(config.name),
            ) from None
        raise setting_error(
            config.name, "private_key_file", "is not a PEM private key",
            "give a file starting with '-----BEGIN PRIVATE KEY-----' (see `pjwt keygen`)",
        ) from None
    checked: PrivateKey = _check_type(config, "private_key_file", key)
    return checked


def _load_public(config: JWTConfig, key_name: str, spec: str) -> PublicKey:
    data = _read(config.name, key_name, spec)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise setting_error(
            config.name, key_name, "is not a PEM public key",
            "give a file starting with '-----BEGIN PUBLIC KEY-----'",
        ) from None
    checked: PublicKey = _check_type(config, key_name, key)
    return checked


def _check_type(config: JWTConfig, key_name: str, key: Any) -> Any:
    """The key's type, size and curve must suit the algorithm."""
    problem = key_problem(config.algorithm, key)
    if problem is not None:
        raise setting_error(config.name, key_name, *problem)
    return key


def _public_bytes(key: PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _public_jwk(algorithm: str, key: PublicKey) -> dict[str, Any]:
    jwk = dict(implementation(algorithm).to_jwk(key, as_dict=True))
    return {k: jwk[k] for k in ("kty", "crv", "n", "e", "x", "y") if k in jwk}


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK."""
    required = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}
    members = {k: jwk[k] for k in required[jwk["kty"]]}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode())
    return base64url_encode(digest.digest()).decode("ascii")


def load_keys(config: JWTConfig, environ: Mapping[str, str] | None = None) -> KeySet:
    """Read, check and prepare every key of ``config``. Call once, at start-up."""
    if config.hmac:
        return _hmac_keys(config, os.environ if environ is None else environ)
    if config.remote:
        remote = RemoteKeySet(config.algorithm, url=config.jwks_url, discovery_url=config.discovery_url,
                              issuer=config.issuer, ttl=config.jwks_cache_ttl,
                              timeout=config.jwks_timeout, max_stale=config.jwks_max_stale,
                              name=config.name)
        return KeySet(config.algorithm, None, None, {}, remote=remote)
    return _asymmetric_keys(config)


def _check_previous_kid(config: JWTConfig, kid: str, verification: Mapping[str | None, Any]) -> None:
    if kid in verification:
        raise setting_error(
            config.name, "previous_keys", "reuses the current key id",
            "give each retired key its own id",
        )


def _check_secret(config: JWTConfig, key_name: str, secret: bytes) -> bytes:
    problem = hmac_secret_problem(config.algorithm, secret)
    if problem is not None:
        raise setting_error(config.name, key_name, *problem)
    return secret


def _hmac_keys(config: JWTConfig, environ: Mapping[str, str]) -> KeySet:
    algorithm = implementation(config.algorithm)
    key_name, secret = _secret(config, environ)
    current = algorithm.prepare_key(_check_secret(config, key_name, secret))
    verification: dict[str | None, Any] = {None: current}
    if config.kid is not None:
        verification[config.kid] = current
    for previous in config.previous_keys:
        _check_previous_kid(config, previous.kid, verification)
        old = _read(config.name, "previous_keys", previous.path).strip()
        verification[previous.kid] = algorithm.prepare_key(_check_secret(config, "previous_keys", old))
    return KeySet(config.algorithm, config.kid, current, verification)


def _asymmetric_keys(config: JWTConfig) -> KeySet:
    algorithm = implementation(config.algorithm)
    private = _load_private(config) if config.private_key_file is not None else None
    public: PublicKey
    if config.public_key_file is not None:
        public = _load_public(config, "public_key_file", config.public_key_file)
        if private is not None and _public_bytes(private.public_key()) != _public_bytes(public):
            raise setting_error(
                config.name, "public_key_file", "does not match private_key_file",
                "give the public half of the private key, or remove public_key_file to "
                "derive it",
            )
    else:
        assert private is not None  # guaranteed by the parser
        public = private.public_key()

    current_jwk = _public_jwk(config.algorithm, public)
    kid = config.kid if config.kid is not None else jwk_thumbprint(current_jwk)
    verification: dict[str | None, Any] = {
        None: algorithm.prepare_key(public), kid: algorithm.prepare_key(public)
    }
    jwks = [{**current_jwk, "kid": kid, "use": "sig", "alg": config.algorithm}]
    for previous in config.previous_keys:
        _check_previous_kid(config, previous.kid, verification)
        retired = _load_public(config, "previous_keys", previous.path)
        verification[previous.kid] = algorithm.prepare_key(retired)
        jwks.append({**_public_jwk(config.algorithm, retired), "kid": previous.kid, "use": "sig",
                     "alg": config.algorithm})
    signing = algorithm.prepare_key(private) if private is not None else None
    return KeySet(config.algorithm, kid, signing, verification, tuple(jwks))

