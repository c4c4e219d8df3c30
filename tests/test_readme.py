"""The README's promises, run: the host-app example and the settings reference."""

from __future__ import annotations

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
