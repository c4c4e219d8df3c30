"""Loading and checking a config's key material, once, at start-up.

:func:`load_keys` turns a checked :class:`~pyramid_jwtnode.integration.settings.JWTConfig` into a
:class:`~pyramid_jwtnode.jose.keys.KeySet` of ready key objects. Every problem with a file or a
key is a :class:`~pyramid.exceptions.ConfigurationError` that names the setting and never
contains key material.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from pyramid.path import AssetResolver

from ..jose.algorithms import hmac_secret_problem, implementation, key_problem
from ..jose.jwks import RemoteKeySet
from ..jose.keys import KeySet, PrivateKey, PublicKey, jwk_thumbprint, public_bytes, public_jwk
from .settings import JWTConfig, setting_error

__all__ = ["load_keys", "resolve_path"]

_MAX_KEY_FILE_BYTES = 64 * 1024


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
        if private is not None and public_bytes(private.public_key()) != public_bytes(public):
            raise setting_error(
                config.name, "public_key_file", "does not match private_key_file",
                "give the public half of the private key, or remove public_key_file to "
                "derive it",
            )
    else:
        assert private is not None  # guaranteed by the parser
        public = private.public_key()

    current_jwk = public_jwk(config.algorithm, public)
    kid = config.kid if config.kid is not None else jwk_thumbprint(current_jwk)
    verification: dict[str | None, Any] = {
        None: algorithm.prepare_key(public), kid: algorithm.prepare_key(public)
    }
    jwks = [{**current_jwk, "kid": kid, "use": "sig", "alg": config.algorithm}]
    for previous in config.previous_keys:
        _check_previous_kid(config, previous.kid, verification)
        retired = _load_public(config, "previous_keys", previous.path)
        verification[previous.kid] = algorithm.prepare_key(retired)
        jwks.append({**public_jwk(config.algorithm, retired), "kid": previous.kid, "use": "sig",
                     "alg": config.algorithm})
    signing = algorithm.prepare_key(private) if private is not None else None
    return KeySet(config.algorithm, kid, signing, verification, tuple(jwks))

