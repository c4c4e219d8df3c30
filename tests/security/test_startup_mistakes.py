"""docs/security.rst, start-up mistakes: each through the ini path a deployer takes
(settings -> config.include -> commit), asserting a ConfigurationError that names
the setting and never contains the secret or key material.

The parser and key loader are also tested alone, with plain dicts, in
tests/test_settings.py and tests/test_keys.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pyramid.config import Configurator

from ..conftest import HS256_SECRET, KeyPair
from ..helpers import deny_reading, raises_config_error

HS = {"jwt.configs": "main", "jwt.main.algorithm": "HS256", "jwt.main.secret": HS256_SECRET,
      "jwt.main.expires_in": "600"}


def start(settings: dict[str, Any]) -> None:
    config = Configurator(settings=settings)
    config.include("pyramid_jwtnode")
    config.commit()


def with_(**changes: Any) -> dict[str, Any]:
    settings = dict(HS)
    for key, value in changes.items():
        full = f"jwt.main.{key}"
        if value is None:
            settings.pop(full, None)
        else:
            settings[full] = value
    return settings


def rs(keys: dict[str, KeyPair], algorithm: str = "RS256", **raw: Any) -> dict[str, Any]:
    return {"jwt.configs": "main", "jwt.main.algorithm": algorithm, "jwt.main.expires_in": "600",
            **{f"jwt.main.{k}": str(v) for k, v in raw.items()}}


PEM_LIKE = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMx\n-----END PUBLIC KEY-----"


@pytest.mark.parametrize(
    ("settings", "key", "secret"),
    [
        pytest.param({"pyramid.includes": ""}, "jwt.configs", None, id="no-configs-at-all"),
        pytest.param({"jwt.configs": " "}, "jwt.configs", None, id="no-configs-listed"),
        pytest.param({"jwt.configs": "main"}, "jwt.main", None, id="listed-config-without-settings"),
        pytest.param({**HS, "jwt.configs": "main main"}, "jwt.configs", HS256_SECRET, id="duplicate-names"),
        pytest.param(with_(expire_in="60"), "jwt.main.expire_in", HS256_SECRET, id="unknown-key-typo"),
        pytest.param(with_(algorithm=None), "jwt.main.algorithm", HS256_SECRET, id="algorithm-missing"),
        pytest.param(with_(algorithm="HS1"), "jwt.main.algorithm", HS256_SECRET, id="algorithm-unknown"),
        pytest.param(with_(algorithm="none"), "jwt.main.algorithm", HS256_SECRET, id="algorithm-none"),
        pytest.param(with_(algorithm="NONE"), "jwt.main.algorithm", HS256_SECRET, id="algorithm-NONE"),
        pytest.param(with_(algorithm="None"), "jwt.main.algorithm", HS256_SECRET, id="algorithm-None"),
        pytest.param(with_(private_key_file="/k.pem"), "jwt.main.private_key_file", HS256_SECRET,
                     id="secret-and-key-file"),
        pytest.param(with_(secret=None), "jwt.main.secret", None, id="neither-secret-nor-key"),
        pytest.param(with_(secret="s" * 31), "jwt.main.secret", "s" * 31, id="hs256-secret-under-32-bytes"),
        pytest.param(with_(algorithm="HS384", secret="s" * 47), "jwt.main.secret", "s" * 47,
                     id="hs384-secret-under-48-bytes"),
        pytest.param(with_(algorithm="HS512", secret="s" * 63), "jwt.main.secret", "s" * 63,
                     id="hs512-secret-under-64-bytes"),
        pytest.param(with_(secret=PEM_LIKE), "jwt.main.secret", "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A",
                     id="secret-looks-like-pem"),
        pytest.param(with_(secret='{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}'),
                     "jwt.main.secret", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA", id="secret-looks-like-jwk"),
        pytest.param(with_(secret="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"),
                     "jwt.main.secret", "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0", id="secret-looks-like-ssh-key"),
        pytest.param(with_(expires_in="0"), "jwt.main.expires_in", HS256_SECRET, id="expires-in-zero"),
        pytest.param(with_(expires_in="-60"), "jwt.main.expires_in", HS256_SECRET, id="expires-in-negative"),
        pytest.param(with_(expires_in="1h"), "jwt.main.expires_in", HS256_SECRET, id="expires-in-not-integer"),
        pytest.param(with_(leeway="-1"), "jwt.main.leeway", HS256_SECRET, id="leeway-negative"),
        pytest.param(with_(leeway="301"), "jwt.main.leeway", HS256_SECRET, id="leeway-above-300"),
        pytest.param(with_(token_route="/t", payload="no_such_package.module:payload"), "jwt.main.payload",
                     HS256_SECRET, id="payload-does-not-resolve"),
        pytest.param(with_(token_route="/t", payload="pyramid_jwtnode.integration.settings:PREFIX"), "jwt.main.payload",
                     HS256_SECRET, id="payload-not-callable"),
    ],
)
def test_settings_mistake(settings: dict[str, Any], key: str, secret: str | None) -> None:
    raises_config_error(lambda: start(settings), key, *([secret] if secret else []))


def _pem_text(path: Path) -> list[str]:
    """Lines of key material that must never appear in a message."""
    return [line for line in path.read_text().splitlines() if line and not line.startswith("-----")][:3]


def test_key_file_missing(keys: dict[str, KeyPair], tmp_path: Path) -> None:
    raises_config_error(lambda: start(rs(keys, private_key_file=tmp_path / "none.pem")),
                        "jwt.main.private_key_file")


def test_key_file_unreadable(keys: dict[str, KeyPair], monkeypatch: pytest.MonkeyPatch) -> None:
    target = str(keys["rsa"].private)
    deny_reading(monkeypatch, target)
    raises_config_error(lambda: start(rs(keys, private_key_file=target)), "jwt.main.private_key_file")


def test_key_file_unparseable(keys: dict[str, KeyPair], tmp_path: Path) -> None:
    path = tmp_path / "broken.pem"
    path.write_text(keys["rsa"].private.read_text()[:300])
    raises_config_error(lambda: start(rs(keys, private_key_file=path)), "jwt.main.private_key_file",
                        *_pem_text(path))


def test_key_file_encrypted_without_passphrase(keys: dict[str, KeyPair]) -> None:
    pair = keys["encrypted"]
    raises_config_error(lambda: start(rs(keys, private_key_file=pair.private)),
                        "jwt.main.private_key_file", *_pem_text(pair.private))


def test_rsa_key_under_2048_bits(keys: dict[str, KeyPair]) -> None:
    pair = keys["rsa1024"]
    raises_config_error(lambda: start(rs(keys, private_key_file=pair.private)),
                        "jwt.main.private_key_file", *_pem_text(pair.private))


def test_ec_curve_not_matching_the_algorithm(keys: dict[str, KeyPair]) -> None:
    pair = keys["p384"]
    raises_config_error(lambda: start(rs(keys, "ES256", private_key_file=pair.private)),
                        "jwt.main.private_key_file", *_pem_text(pair.private))


def test_key_type_not_matching_the_algorithm(keys: dict[str, KeyPair]) -> None:
    pair = keys["p256"]
    raises_config_error(lambda: start(rs(keys, "RS256", private_key_file=pair.private)),
                        "jwt.main.private_key_file", *_pem_text(pair.private))


def test_public_key_not_matching_the_private_key(keys: dict[str, KeyPair]) -> None:
    raises_config_error(
        lambda: start(rs(keys, "ES256", private_key_file=keys["p256"].private,
                         public_key_file=keys["p256b"].public)),
        "jwt.main.public_key_file", *_pem_text(keys["p256"].private), *_pem_text(keys["p256b"].public),
    )
