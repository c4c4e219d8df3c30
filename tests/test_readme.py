"""The README's promises, run: the host-app example and the settings reference."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import jwt
import pytest
from pyramid.paster import get_app
from webtest import TestApp

from pyramid_jwtnode.settings import reference_markdown

from .conftest import KeyPair

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def block(marker: str) -> str:
    """The fenced code block that follows ``<!-- marker -->`` in the README."""
    match = re.search(rf"<!-- {re.escape(marker)} -->\n```\w+\n(.*?)```", README, re.S)
    assert match, f"README has no block marked {marker}"
    return match.group(1)


def test_settings_reference_is_the_parsers_table() -> None:
    start = README.index("<!-- settings-reference:start -->\n") + len("<!-- settings-reference:start -->\n")
    end = README.index("<!-- settings-reference:end -->")
    assert README[start:end] == reference_markdown(), (
        "README settings reference is stale: paste the output of "
        "`python -c 'from pyramid_jwtnode.settings import reference_markdown as r; print(r(), end=\"\")'`"
    )


@pytest.fixture
def host_app(tmp_path: Path, keys: dict[str, KeyPair], monkeypatch: pytest.MonkeyPatch) -> TestApp:
    """The README's host app, written to disk as a user would and loaded through its ini file."""
    (tmp_path / "readme_host_app.py").write_text(block("host-app:python"))
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "staff.key").write_text("k" * 64 + "\n")
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "partners.pem").write_bytes(keys["p256"].private.read_bytes())
    (tmp_path / "keys" / "partners.pub").write_bytes(keys["p256"].public.read_bytes())
    ini = block("host-app:ini").replace("use = egg:myapp", "use = call:readme_host_app:main")
    (tmp_path / "app.ini").write_text(ini)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "readme_host_app", raising=False)
    return TestApp(get_app(str(tmp_path / "app.ini")))


def test_host_app_hs384_staff_token(host_app: TestApp) -> None:
    res = host_app.post("/staff/token", {"username": "alice", "password": "correct horse battery staple"})
    token = res.json["access_token"]
    assert res.json["expires_in"] == 900
    assert jwt.get_unverified_header(token) == {"alg": "HS384", "typ": "JWT"}
    claims = jwt.decode(token, "k" * 64, algorithms=["HS384"], issuer="https://myapp.example")
    assert claims["sub"] == "alice" and claims["roles"] == ["staff"]
    assert claims["exp"] == claims["iat"] + 900


def test_host_app_wrong_password_is_401(host_app: TestApp) -> None:
    res = host_app.post("/staff/token", {"username": "alice", "password": "guess"}, status=401)
    assert "access_token" not in res.text
    host_app.post("/staff/token", {"username": "mallory", "password": ""}, status=401)


def test_host_app_es256_partner_token(host_app: TestApp, keys: dict[str, KeyPair]) -> None:
    res = host_app.post("/partners/token", {"partner_id": "acme"})
    token = res.json["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256" and header["kid"]
    claims = jwt.decode(token, keys["p256"].public.read_bytes(), algorithms=["ES256"],
                        audience="partner-api")
    assert claims["sub"] == "acme" and claims["scope"] == "orders:read"
    host_app.post("/partners/token", {}, status=400)


# -- every other Python block of the README, each run by the test its marker names -----------


def marked_blocks() -> dict[str, str]:
    return dict(re.findall(r"<!-- run: (\w+) -->\n```python\n(.*?)```", README, re.S))


def test_every_python_block_is_run() -> None:
    python_blocks = re.findall(r"(<!-- [^>]+ -->\n)?```python\n", README)
    assert all(marker for marker in python_blocks), "a ```python block of the README has no run marker"
    names = set(marked_blocks())
    runners = [sys.modules[__name__], importlib.import_module("tests.test_policy")]
    for name in names:
        assert any(hasattr(module, name) for module in runners), f"no test named {name}"


def test_readme_declaring_configs_in_code(tmp_path: Path, keys: dict[str, KeyPair],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "myapp"
    (package / "keys").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "keys" / "partners.pem").write_bytes(keys["p256"].private.read_bytes())
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "myapp", raising=False)
    from pyramid.config import Configurator

    def partner_payload(request: object) -> dict[str, str]:
        return {"sub": "acme"}

    with Configurator() as config:
        config.include("pyramid_jwtnode")
        exec(marked_blocks()["test_readme_declaring_configs_in_code"],
             {"config": config, "partner_payload": partner_payload})
    app = TestApp(config.make_wsgi_app())
    token = app.post("/partners/token").json["access_token"]
    claims = jwt.decode(token, keys["p256"].public.read_bytes(), algorithms=["ES256"], audience="reports")
    assert claims["aud"] == ["partner-api", "reports"] and claims["exp"] - claims["iat"] == 3600


def test_readme_issuing_from_your_own_views() -> None:
    from types import SimpleNamespace

    from pyramid.config import Configurator

    from pyramid_jwtnode import get_jwt_node

    def view(request: object) -> dict[str, str]:
        scope: dict[str, object] = {"request": request, "user": SimpleNamespace(id="u-1")}
        exec(marked_blocks()["test_readme_issuing_from_your_own_views"], scope)
        return {"token": str(scope["token"])}

    with Configurator() as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("staff", algorithm="HS384", secret="k" * 48, expires_in=900)
        config.add_route("mine", "/mine")
        config.add_view(view, route_name="mine", renderer="json")
    app = TestApp(config.make_wsgi_app())
    claims = get_jwt_node(config.registry).verifier.verify(app.get("/mine").json["token"])
    assert claims["sub"] == "u-1" and claims["exp"] - claims["iat"] == 60  # the last line's token


def test_readme_testing_your_app(tmp_path: Path) -> None:
    """The block is a host project's test: run it with the example app and the plugin's fixture."""
    from pyramid_jwtnode.testing import auth_header

    scope: dict[str, object] = {}
    exec(marked_blocks()["test_readme_testing_your_app"], scope)
    testapp = TestApp(get_app(str(Path(__file__).resolve().parent.parent / "example_app" / "testing.ini")))
    scope["test_admin_view"](testapp, lambda claims=None, **kw: auth_header(testapp, claims, **kw))  # type: ignore[operator]
