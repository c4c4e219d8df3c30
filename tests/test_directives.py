"""Layer 2: includeme and the directives, with a real Configurator."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationConflictError, ConfigurationError
from webtest import TestApp

from pyramid_jwtnode import get_jwt_runtime
from pyramid_jwtnode.integration.runtime import JWTRuntime

from .conftest import HS256_SECRET, KeyPair
from .helpers import raises_config_error

INI = {
    "jwt.configs": "main",
    "jwt.main.algorithm": "HS256",
    "jwt.main.secret": HS256_SECRET,
    "jwt.main.expires_in": "3600",
}


def payload(request: Any) -> dict[str, str]:
    return {"sub": "alice"}


def commit(settings: dict[str, Any] | None = None, setup: Any = None) -> Configurator:
    config = Configurator(settings=settings or {})
    config.include("pyramid_jwtnode")
    if setup is not None:
        setup(config)
    config.commit()
    return config


def test_ini_config_is_registered_and_introspectable() -> None:
    config = commit(INI)
    node = get_jwt_runtime(config.registry, "main")
    assert isinstance(node, JWTRuntime)
    assert node.config.expires_in == 3600
    intr = config.registry.introspector.get("jwt configs", "main")
    assert intr["algorithm"] == "HS256"
    assert intr["expires_in"] == 3600
    assert HS256_SECRET not in repr(dict(intr))


def test_settings_added_after_include_still_count() -> None:
    config = Configurator(settings={})
    config.include("pyramid_jwtnode")
    config.registry.settings.update(INI)
    config.commit()
    assert get_jwt_runtime(config.registry).name == "main"


def test_code_and_ini_go_through_one_parser() -> None:
    from_ini = get_jwt_runtime(commit(INI).registry, "main")
    from_code = get_jwt_runtime(
        commit(setup=lambda c: c.add_jwt_config("main", algorithm="HS256", secret=HS256_SECRET,
                                                 expires_in=3600)).registry,
        "main",
    )
    assert from_ini.config == from_code.config


def test_same_name_twice_in_code_conflicts() -> None:
    def setup(config: Configurator) -> None:
        config.add_jwt_config("main", algorithm="HS256", secret=HS256_SECRET, expires_in=60)
        config.add_jwt_config("main", algorithm="HS256", secret=HS256_SECRET, expires_in=60)

    with pytest.raises(ConfigurationConflictError, match="jwt-config"):
        commit(setup=setup)


def test_same_name_in_ini_and_code_conflicts() -> None:
    setup = lambda c: c.add_jwt_config("main", algorithm="HS256", secret=HS256_SECRET, expires_in=60)  # noqa: E731
    # Both stand at the app's level: Pyramid reports them as a conflict.
    with pytest.raises(ConfigurationConflictError) as info:
        commit(INI, setup)
    assert "jwt.configs in the application settings" in str(info.value)
    assert "test_directives.py" in str(info.value)


def test_two_configs_in_one_app(keys: dict[str, KeyPair]) -> None:
    settings = {
        **INI,
        "jwt.configs": "main partners",
        "jwt.partners.algorithm": "ES256",
        "jwt.partners.private_key_file": str(keys["p256"].private),
        "jwt.partners.expires_in": "60",
    }
    registry = commit(settings).registry
    assert get_jwt_runtime(registry, "partners").config.algorithm == "ES256"
    with pytest.raises(LookupError, match="name the one"):
        get_jwt_runtime(registry)
    with pytest.raises(LookupError, match="no jwt config named 'nope'"):
        get_jwt_runtime(registry, "nope")


def test_include_without_any_config_fails() -> None:
    raises_config_error(lambda: commit({}), "jwt.configs")


def test_settings_error_stops_commit_with_key_and_no_secret() -> None:
    raises_config_error(lambda: commit({**INI, "jwt.main.expires_in": "soon"}),
                        "jwt.main.expires_in", HS256_SECRET)


def test_key_error_stops_commit(tmp_path: Any) -> None:
    settings = {"jwt.configs": "rs", "jwt.rs.algorithm": "RS256", "jwt.rs.expires_in": "60",
                "jwt.rs.private_key_file": str(tmp_path / "missing.pem")}
    raises_config_error(lambda: commit(settings), "jwt.rs.private_key_file")


def test_token_view_for_unknown_config_fails_at_commit() -> None:
    setup = lambda c: c.add_jwt_token_view("/t", jwt_config="other", payload=payload)  # noqa: E731
    message = raises_config_error(lambda: commit(INI, setup), "jwt.configs")
    assert "'other'" in message


def test_token_view_for_verify_only_config_fails_at_commit(keys: dict[str, KeyPair]) -> None:
    def setup(config: Configurator) -> None:
        config.add_jwt_config("pub", algorithm="ES256", public_key_file=str(keys["p256"].public),
                              expires_in=60)
        config.add_jwt_token_view("/t", jwt_config="pub", payload=payload)

    raises_config_error(lambda: commit(setup=setup), "jwt.pub.private_key_file")


def test_token_view_payload_must_be_callable() -> None:
    setup = lambda c: c.add_jwt_token_view("/t", jwt_config="main", payload="example_app.__doc__")  # noqa: E731
    with pytest.raises(ConfigurationError, match="payload is not callable"):
        commit(INI, setup)


def test_two_token_views_of_one_config_both_serve() -> None:
    def setup(config: Configurator) -> None:
        config.add_jwt_token_view("/a", jwt_config="main", payload=payload)
        config.add_jwt_token_view("/b", jwt_config="main", payload=lambda r: {"sub": "b"})

    app = TestApp(commit(INI, setup).make_wsgi_app())
    node_of = get_jwt_runtime(app.app.registry, "main")
    assert node_of.verifier.verify(app.post("/a").json["access_token"])["sub"] == "alice"
    assert node_of.verifier.verify(app.post("/b").json["access_token"])["sub"] == "b"


def test_ini_token_route_and_a_directive_token_view_both_serve() -> None:
    settings = {**INI, "jwt.main.token_route": "/jwt/generate", "jwt.main.token_route_method": "GET",
                "jwt.main.payload": "tests.test_directives:payload"}

    def login(request: Any) -> dict[str, str]:
        return {"sub": request.POST["username"]}

    app = TestApp(commit(settings, lambda c: c.add_jwt_token_view(
        "/login", jwt_config="main", payload=login)).make_wsgi_app())
    verify = get_jwt_runtime(app.app.registry).verifier.verify
    assert verify(app.get("/jwt/generate").json["access_token"])["sub"] == "alice"
    assert verify(app.post("/login", {"username": "bob"}).json["access_token"])["sub"] == "bob"


def test_the_same_route_twice_conflicts() -> None:
    def setup(config: Configurator) -> None:
        config.add_jwt_token_view("/a", jwt_config="main", payload=payload)
        config.add_jwt_token_view("/a", jwt_config="main", payload=payload)

    with pytest.raises(ConfigurationConflictError):
        commit(INI, setup)


def test_two_add_on_routes_on_one_pattern_conflict() -> None:
    def setup(config: Configurator) -> None:
        config.add_jwt_token_view("/a", jwt_config="main", payload=payload)
        config.add_jwt_verify_view("/a", jwt_config="main")

    with pytest.raises(ConfigurationConflictError, match="jwt-route"):
        commit(INI, setup)


def test_token_views_are_introspectable() -> None:
    config = commit({**INI, "jwt.main.token_route": "/token",
                     "jwt.main.payload": "tests.test_directives:payload"})
    intr = config.registry.introspector.get("jwt token views", "jwt.main.token:/token")
    assert intr["pattern"] == "/token"
    assert intr["jwt_configs"] == ("main",)
    related = config.registry.introspector.related(intr)
    assert {r.category_name for r in related} >= {"jwt configs", "routes"}


def test_rs256_keys_are_loaded_once_not_per_request(keys: dict[str, KeyPair]) -> None:
    """Neither issuing nor verifying parses or prepares a key after start-up."""
    from cryptography.hazmat.primitives import serialization
    from jwt.algorithms import RSAAlgorithm

    settings = {"jwt.configs": "rs", "jwt.rs.algorithm": "RS256", "jwt.rs.expires_in": "60",
                "jwt.rs.private_key_file": str(keys["rsa"].private),
                "jwt.rs.token_route": "/token", "jwt.rs.payload": "tests.test_directives:payload",
                "jwt.rs.verify_route": "/verify"}
    load_private = mock.Mock(wraps=serialization.load_pem_private_key)
    load_public = mock.Mock(wraps=serialization.load_pem_public_key)
    real_prepare = RSAAlgorithm.prepare_key
    prepare = mock.Mock(side_effect=lambda self, key: real_prepare(self, key))
    with mock.patch.object(serialization, "load_pem_private_key", load_private), \
         mock.patch.object(serialization, "load_pem_public_key", load_public), \
         mock.patch.object(RSAAlgorithm, "prepare_key", lambda self, key: prepare(self, key)):
        with Configurator(settings=settings) as config:
            config.include("pyramid_jwtnode")
        app = TestApp(config.make_wsgi_app())
        after_start = (load_private.call_count, load_public.call_count, prepare.call_count)
        assert load_private.call_count == 1
        for _ in range(20):
            token = app.post("/token", status=200).json["access_token"]
            app.get("/verify", headers={"Authorization": f"Bearer {token}"}, status=200)
        assert (load_private.call_count, load_public.call_count, prepare.call_count) == after_start


def test_create_jwt_request_method() -> None:
    def view(request: Any) -> Any:
        return {"token": request.create_jwt({"sub": "carol"}, config="main")}

    def setup(config: Configurator) -> None:
        config.add_route("mine", "/mine")
        config.add_view(view, route_name="mine", renderer="json")

    with Configurator(settings=INI) as config:
        config.include("pyramid_jwtnode")
        setup(config)
    app = TestApp(config.make_wsgi_app())
    token = app.get("/mine").json["token"]
    claims = get_jwt_runtime(config.registry).verifier.verify(token)
    assert claims["sub"] == "carol"
