"""Layer 1: loading key material, with files on disk and no Pyramid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pyramid_jwtnode.integration.keyload import load_keys, resolve_path
from pyramid_jwtnode.jose.keys import jwk_thumbprint
from pyramid_jwtnode.integration.settings import parse_config

from .conftest import HS256_SECRET, KeyPair
from .helpers import deny_reading, raises_config_error


def config(**raw: Any) -> Any:
    return parse_config("main", {"expires_in": 60, **raw})


def test_rsa_pair_loads_objects_and_derives_public_key(keys: dict[str, KeyPair]) -> None:
    ks = load_keys(config(algorithm="RS256", private_key_file=str(keys["rsa"].private)))
    assert isinstance(ks.signing_key, rsa.RSAPrivateKey)
    assert isinstance(ks.verification_keys[None], rsa.RSAPublicKey)
    assert ks.kid == ks.public_jwks[0]["kid"] == jwk_thumbprint(ks.public_jwks[0])
    assert set(ks.public_jwks[0]) == {"kty", "n", "e", "kid", "use", "alg"}


def test_verification_never_uses_a_private_key(keys: dict[str, KeyPair]) -> None:
    ks = load_keys(config(algorithm="ES256", private_key_file=str(keys["p256"].private)))
    assert all(isinstance(k, ec.EllipticCurvePublicKey) for k in ks.verification_keys.values())


def test_configured_kid_wins_over_thumbprint(keys: dict[str, KeyPair]) -> None:
    ks = load_keys(config(algorithm="EdDSA", private_key_file=str(keys["ed25519"].private), kid="ed-1"))
    assert ks.kid == "ed-1"
    assert set(ks.verification_keys) == {None, "ed-1"}


def test_public_key_only_config_cannot_sign(keys: dict[str, KeyPair]) -> None:
    ks = load_keys(config(algorithm="PS256", public_key_file=str(keys["rsa"].public)))
    assert ks.signing_key is None
    assert isinstance(ks.verification_keys[None], rsa.RSAPublicKey)


def test_encrypted_key_with_passphrase(keys: dict[str, KeyPair]) -> None:
    ks = load_keys(config(algorithm="RS256", private_key_file=str(keys["encrypted"].private),
                          private_key_passphrase="correct horse"))
    assert isinstance(ks.signing_key, rsa.RSAPrivateKey)


def test_thumbprint_matches_rfc7638_example() -> None:
    # RFC 7638 §3.1
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_secret_file_is_stripped(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text(HS256_SECRET + "\n")
    ks = load_keys(config(algorithm="HS256", secret_file=str(path)))
    assert ks.signing_key == HS256_SECRET.encode()


def test_secret_env_wins_when_set() -> None:
    other = "e" * 40
    ks = load_keys(config(algorithm="HS256", secret=HS256_SECRET, secret_env="MY_SECRET"),
                   environ={"MY_SECRET": other})
    assert ks.signing_key == other.encode()


def test_secret_env_falls_back_when_unset() -> None:
    ks = load_keys(config(algorithm="HS256", secret=HS256_SECRET, secret_env="MY_SECRET"), environ={})
    assert ks.signing_key == HS256_SECRET.encode()


# -- every start-up mistake with key material (docs/security.rst) ------------------------


def test_secret_env_unset_without_fallback() -> None:
    raises_config_error(lambda: load_keys(config(algorithm="HS256", secret_env="NOPE"), environ={}),
                        "jwt.main.secret_env")


def test_secret_env_too_short() -> None:
    short = "short-secret"
    raises_config_error(
        lambda: load_keys(config(algorithm="HS256", secret_env="S"), environ={"S": short}),
        "jwt.main.secret_env", short,
    )


def test_secret_file_too_short(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("tiny-secret")
    raises_config_error(lambda: load_keys(config(algorithm="HS512", secret_file=str(path))),
                        "jwt.main.secret_file", "tiny-secret")


def test_secret_file_holding_a_public_key(tmp_path: Path, keys: dict[str, KeyPair]) -> None:
    raises_config_error(
        lambda: load_keys(config(algorithm="HS256", secret_file=str(keys["rsa"].public))),
        "jwt.main.secret_file", "BEGIN",
    )


@pytest.mark.parametrize("key", ["private_key_file", "public_key_file"])
def test_missing_key_file(tmp_path: Path, key: str) -> None:
    raises_config_error(lambda: load_keys(config(algorithm="RS256", **{key: str(tmp_path / "nope.pem")})),
                        f"jwt.main.{key}")


def test_unreadable_key_file(keys: dict[str, KeyPair], monkeypatch: pytest.MonkeyPatch) -> None:
    target = str(keys["rsa"].private)
    deny_reading(monkeypatch, target)
    message = raises_config_error(
        lambda: load_keys(config(algorithm="RS256", private_key_file=target)),
        "jwt.main.private_key_file",
    )
    assert "PermissionError" in message


def test_key_file_is_a_directory(tmp_path: Path) -> None:
    raises_config_error(lambda: load_keys(config(algorithm="RS256", private_key_file=str(tmp_path))),
                        "jwt.main.private_key_file")


def test_unparseable_private_key(tmp_path: Path) -> None:
    path = tmp_path / "junk.pem"
    path.write_text("-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n")
    raises_config_error(lambda: load_keys(config(algorithm="RS256", private_key_file=str(path))),
                        "jwt.main.private_key_file", "not base64")


def test_unparseable_public_key(tmp_path: Path) -> None:
    path = tmp_path / "junk.pub"
    path.write_text("hello")
    raises_config_error(lambda: load_keys(config(algorithm="RS256", public_key_file=str(path))),
                        "jwt.main.public_key_file")


def test_encrypted_key_without_passphrase(keys: dict[str, KeyPair]) -> None:
    message = raises_config_error(
        lambda: load_keys(config(algorithm="RS256", private_key_file=str(keys["encrypted"].private))),
        "jwt.main.private_key_file",
    )
    assert "private_key_passphrase" in message


def test_encrypted_key_with_wrong_passphrase(keys: dict[str, KeyPair]) -> None:
    raises_config_error(
        lambda: load_keys(config(algorithm="RS256", private_key_file=str(keys["encrypted"].private),
                                 private_key_passphrase="wrong guess")),
        "jwt.main.private_key_file", "wrong guess",
    )


def test_rsa_key_under_2048_bits(keys: dict[str, KeyPair]) -> None:
    message = raises_config_error(
        lambda: load_keys(config(algorithm="RS256", private_key_file=str(keys["rsa1024"].private))),
        "jwt.main.private_key_file",
    )
    assert "2048" in message


@pytest.mark.parametrize(
    ("algorithm", "pair"),
    [("ES256", "p384"), ("ES384", "p256"), ("ES512", "p256")],
)
def test_ec_curve_not_matching_algorithm(keys: dict[str, KeyPair], algorithm: str, pair: str) -> None:
    raises_config_error(
        lambda: load_keys(config(algorithm=algorithm, private_key_file=str(keys[pair].private))),
        "jwt.main.private_key_file",
    )


@pytest.mark.parametrize(
    ("algorithm", "pair"),
    [("RS256", "p256"), ("PS256", "ed25519"), ("ES256", "rsa"), ("EdDSA", "rsa"), ("EdDSA", "p256")],
)
def test_key_type_not_matching_algorithm(keys: dict[str, KeyPair], algorithm: str, pair: str) -> None:
    raises_config_error(
        lambda: load_keys(config(algorithm=algorithm, private_key_file=str(keys[pair].private))),
        "jwt.main.private_key_file",
    )


def test_public_key_not_matching_private_key(keys: dict[str, KeyPair]) -> None:
    raises_config_error(
        lambda: load_keys(config(algorithm="ES256", private_key_file=str(keys["p256"].private),
                                 public_key_file=str(keys["p256b"].public))),
        "jwt.main.public_key_file",
    )


def test_previous_key_of_wrong_type(keys: dict[str, KeyPair]) -> None:
    raises_config_error(
        lambda: load_keys(config(algorithm="ES256", private_key_file=str(keys["p256"].private),
                                 previous_keys=f"old {keys['rsa'].public}")),
        "jwt.main.previous_keys",
    )


def test_previous_key_reusing_current_kid(keys: dict[str, KeyPair]) -> None:
    raises_config_error(
        lambda: load_keys(config(algorithm="ES256", private_key_file=str(keys["p256"].private),
                                 kid="k1", previous_keys=f"k1 {keys['p256b'].public}")),
        "jwt.main.previous_keys",
    )


def test_relative_path_is_read_from_the_current_directory(
    keys: dict[str, KeyPair], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "k.pem").write_bytes(keys["p256"].private.read_bytes())
    monkeypatch.chdir(tmp_path)
    ks = load_keys(config(algorithm="ES256", private_key_file="keys/k.pem"))
    assert isinstance(ks.signing_key, ec.EllipticCurvePrivateKey)


def test_asset_spec_path() -> None:
    path = resolve_path("pyramid_jwtnode:py.typed")
    assert path.endswith("pyramid_jwtnode/py.typed") and Path(path).is_file()
    raises_config_error(
        lambda: load_keys(config(algorithm="ES256", private_key_file="no_such_pkg_x:k.pem")),
        "jwt.main.private_key_file",
    )
