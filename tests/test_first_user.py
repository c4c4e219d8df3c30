"""The rough edges a first user hits: logout through Pyramid's forget, one answer to "is this
request authenticated?", routes that never vanish, pjwt as people type it, helpers with
several configs, fixed clocks for ini configs, and messages that say what to fix."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path
from typing import Any

import jwt
import pytest
from pyramid.authorization import Allow, Authenticated, Everyone
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.interfaces import ISecurityPolicy
from pyramid.paster import get_app
from pyramid.security import forget
from webtest import TestApp

from pyramid_jwtnode import IssueError, get_jwt_runtime
from pyramid_jwtnode.tools.cli import main
from pyramid_jwtnode.tools.testing import Clock, auth_header, mint_token

from .conftest import HS256_SECRET, NOW
from .helpers import raises_config_error

EXAMPLE = Path(__file__).resolve().parent.parent / "example_app"
DEV_INI = str(EXAMPLE / "development.ini")
DEV_SECRET = "development-only-secret-do-not-use-in-production"


class Root:
    __acl__ = [(Allow, Authenticated, "read")]

    def __init__(self, request: Any) -> None:
        pass


def facts(request: Any) -> dict[str, Any]:
    policy = request.registry.queryUtility(ISecurityPolicy)
    return {"userid": request.authenticated_userid, "is_authenticated": request.is_authenticated,
            "principals": policy.principals(request), "claims": request.jwt_claims,
            "identity": request.identity is not None,
            "may_read": bool(request.has_permission("read", Root(request)))}


def app_with(store: str = "memory", **raw: Any) -> TestApp:
    with Configurator(root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("api", algorithm="HS256", secret=HS256_SECRET, expires_in=600,
                              revocation_store=store, clock=Clock(NOW), **raw)
        config.set_jwt_security_policy("api")
        config.add_route("facts", "/facts")
        config.add_view(facts, route_name="facts", renderer="json")
        config.add_route("read", "/read")
        config.add_view(lambda r: {"ok": True}, route_name="read", permission="read", renderer="json")
        config.add_route("logout", "/logout")
        config.add_view(lambda r: {"headers": forget(r)}, route_name="logout", renderer="json")
        config.add_route("revoke", "/revoke-mine")
        config.add_view(lambda r: {"revoked": r.revoke_jwt()}, route_name="revoke", renderer="json")
    return TestApp(config.make_wsgi_app())


def bearer_of(app: TestApp, claims: dict[str, Any]) -> dict[str, str]:
    token = get_jwt_runtime(app.app.registry).issuer.issue(claims).token
    return {"Authorization": f"Bearer {token}"}


# -- the security policy keeps Pyramid's promises -----------------------------------------------


def test_forget_logs_out_by_revoking_the_presented_token() -> None:
    app = app_with()
    auth = bearer_of(app, {"sub": "alice"})
    app.get("/read", headers=auth, status=200)
    assert app.get("/logout", headers=auth).json == {"headers": []}
    res = app.get("/read", headers=auth, status=401)
    assert 'error="invalid_token"' in res.headers["WWW-Authenticate"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_revoke_jwt_and_forget_answer_503_when_the_store_is_down() -> None:
    app = app_with(store=f"redis://127.0.0.1:{free_port()}/0", store_prefix="t:")
    auth = bearer_of(app, {"sub": "alice"})
    for path in ("/revoke-mine", "/logout"):
        res = app.get(path, headers=auth, status=503)
        assert res.json["error"] == "temporarily_unavailable" and res.headers["Retry-After"] == "5"


def test_revoke_jwt_raises_store_unavailable_as_documented() -> None:
    from pyramid.testing import DummyRequest

    from pyramid_jwtnode import StoreUnavailableError
    from pyramid_jwtnode.integration.request import revoke_jwt

    app = app_with(store=f"redis://127.0.0.1:{free_port()}/0", store_prefix="t:")
    request = DummyRequest(environ={"HTTP_AUTHORIZATION": bearer_of(app, {"sub": "alice"})["Authorization"]})
    request.registry = app.app.registry
    with pytest.raises(StoreUnavailableError):
        revoke_jwt(request)


@pytest.mark.parametrize("claims", [{"sub": "alice"}, {"roles": ["admin"]}, {"sub": ""}, {"sub": None}])
def test_one_answer_to_is_this_request_authenticated(claims: dict[str, Any]) -> None:
    app = app_with(store="memory", principals_claim="roles", jti=True)
    auth = bearer_of(app, {k: v for k, v in claims.items() if v is not None})
    seen = app.get("/facts", headers=auth).json
    if claims.get("sub"):
        assert seen["userid"] == "alice" and seen["is_authenticated"] is True
        assert seen["principals"] == [Everyone, Authenticated, "alice", "jwt-config:api"]
        assert seen["identity"] and seen["may_read"]
        app.get("/read", headers=auth, status=200)
    else:  # verified, but it names nobody: anonymous everywhere, claims still readable
        assert seen["userid"] is None and seen["is_authenticated"] is False
        assert seen["principals"] == [Everyone]
        assert not seen["identity"] and not seen["may_read"]
        assert seen["claims"] is not None
        assert app.get("/read", headers=auth, status=401).json["error"] == "invalid_token"


# -- messages that say what to fix ------------------------------------------------------------


def start(settings: dict[str, Any]) -> None:
    with Configurator(settings=settings) as config:
        config.include("pyramid_jwtnode")


HS = {"jwt.configs": "main", "jwt.main.algorithm": "HS256", "jwt.main.expires_in": "60"}


def test_missing_key_file_shows_the_path_it_resolved_to(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    message = raises_config_error(lambda: start({**HS, "jwt.main.algorithm": "ES256",
                                                 "jwt.main.private_key_file": "keys/none.pem"}),
                                  "jwt.main.private_key_file")
    assert str(tmp_path / "keys" / "none.pem") in message


def test_unset_secret_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MYAPP_JWT_SECRET", raising=False)
    message = raises_config_error(lambda: start({**HS, "jwt.main.secret_env": "MYAPP_JWT_SECRET"}),
                                  "jwt.main.secret_env")
    assert message.count("MYAPP_JWT_SECRET") >= 2  # what is missing, and what to export


@pytest.mark.parametrize(("dotted", "missing"), [("no_such_module_q.sub:payload", "no_such_module_q"),
                                                 ("example_app:no_such_payload", "no_such_payload")])
def test_unimportable_payload_names_what_was_not_found(dotted: str, missing: str) -> None:
    message = raises_config_error(lambda: start({**HS, "jwt.main.secret": HS256_SECRET,
                                                 "jwt.main.token_route": "/t", "jwt.main.payload": dotted}),
                                  "jwt.main.payload")
    assert repr(missing) in message


@pytest.mark.parametrize("dotted", [":fn", "::", ":", ".relative:payload"])
@pytest.mark.parametrize("key", ["jwt.main.payload", "jwt.clock"])
def test_a_dotted_name_without_a_module_is_a_configuration_error(dotted: str, key: str) -> None:
    settings = {**HS, "jwt.main.secret": HS256_SECRET, "jwt.main.token_route": "/t",
                "jwt.main.payload": "example_app:recipe_payload", key: dotted}
    message = raises_config_error(lambda: start(settings), key)
    assert "is not an absolute dotted name" in message and "myapp.auth:payload" in message


@pytest.mark.parametrize(("key", "meant"), [("jwt.config", "jwt.configs"),
                                            ("jwt.security_polcy", "jwt.security_policy"),
                                            ("jwt.clocks", "jwt.clock")])
def test_misspelt_global_key_gets_a_suggestion(key: str, meant: str) -> None:
    message = raises_config_error(lambda: start({**HS, "jwt.main.secret": HS256_SECRET, key: "main"}), key)
    assert f"did you mean {meant}?" in message


@pytest.mark.parametrize("settings", [
    {**HS, "jwt.main.secret": HS256_SECRET, "jwt.main.expires": "60"},
    {**HS, "jwt.main.secret": HS256_SECRET, "jwt.config": "x"},
    {**HS, "jwt.main.secret": "short"},
    {**HS, "jwt.main.secret": HS256_SECRET, "jwt.main.token_route": "/t"},
])
def test_no_doubled_punctuation(settings: dict[str, Any]) -> None:
    message = raises_config_error(lambda: start(settings), "jwt.")
    for doubled in ("?.", "..", ".?", ". ."):
        assert doubled not in message, message


def test_payload_may_not_set_the_claims_refresh_tokens_rely_on() -> None:
    with Configurator() as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("api", algorithm="HS256", secret=HS256_SECRET, expires_in=60)
    issuer = get_jwt_runtime(config.registry).issuer
    assert issuer is not None
    for claim in ("fam", "pld"):
        with pytest.raises(IssueError, match=claim):
            issuer.issue({"sub": "a", claim: "x"})
    raises_config_error(lambda: start({**HS, "jwt.main.secret": HS256_SECRET, "jwt.main.claims_key": "fam"}),
                        "jwt.main.claims_key")


# -- pjwt as people type it ---------------------------------------------------------------------


def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err), out.getvalue(), err.getvalue()


def test_pjwt_verify_with_options_between_positionals() -> None:
    token = TestApp(get_app(DEV_INI)).get("/jwt/generate").json["access_token"]
    code, out, err = run("verify", DEV_INI, "--config", "igniteadmin", token)
    assert code == 0, err
    assert json.loads(out)["data"]["name"] == "CYber Group Inc."
    code, out, err = run("verify", "--config", "igniteadmin", DEV_INI, token)
    assert code == 0, err


def several(tmp_path: Path) -> str:
    path = tmp_path / "app.ini"
    path.write_text("[app:main]\nuse = call:example_app:main\njwt.configs = a b\n"
                    "jwt.security_policy = b\n" + "".join(
                        f"jwt.{n}.algorithm = HS256\njwt.{n}.expires_in = 60\njwt.{n}.secret = {n * 40}\n"
                        for n in "ab"))
    return str(path)


def test_pjwt_defaults_to_the_security_policys_config(tmp_path: Path) -> None:
    ini = several(tmp_path)
    code, token, err = run("mint", ini, "--claim", "sub=me")
    assert code == 0, err
    assert jwt.decode(token.strip(), "b" * 40, algorithms=["HS256"])["sub"] == "me"
    assert run("verify", ini, token.strip())[0] == 0


def test_pjwt_claim_of_the_wrong_json_type_says_how_to_write_it(tmp_path: Path) -> None:
    code, _, err = run("mint", several(tmp_path), "--claim", "sub=42")
    assert code == 2
    assert "--claim 'sub=\"42\"'" in err
    code, _, err = run("mint", several(tmp_path), "--claim", "exp=1")
    assert code == 2 and "--expires-in" in err


def test_pjwt_keygen_prints_paths_as_the_ini_file_writes_them(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("keygen", "--algorithm", "ES256", "--out", "keys", "--name", "partners")
    assert code == 0
    assert "jwt.partners.private_key_file = %(here)s/keys/partners.pem" in out
    assert "jwt.partners.public_key_file = %(here)s/keys/partners.pub" in out
    (tmp_path / "conf").mkdir()
    code, out, _ = run("keygen", "--algorithm", "HS256", "--out", str(tmp_path / "conf" / "k"),
                       "--ini", str(tmp_path / "conf" / "app.ini"))
    assert "jwt.main.secret_file = %(here)s/k/main.key" in out


def test_pjwt_start_up_errors_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.ini"
    path.write_text("[app:main]\nuse = call:example_app:main\njwt.configs = a\n"
                    "jwt.a.algorithm = HS256\njwt.a.expires_in = 60\njwt.a.secret_file = /nonexistent/k\n")
    code, _, err = run("configs", str(path))
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "jwt.a.secret_file" in err and "/nonexistent/k" in err


# -- test helpers with several configs, and a fixed clock for ini configs ------------------------


def test_helpers_default_to_the_policys_config(tmp_path: Path) -> None:
    app = TestApp(get_app(several(tmp_path)))
    token = mint_token(app, {"sub": "x"})
    assert jwt.decode(token, "b" * 40, algorithms=["HS256"])["sub"] == "x"
    assert auth_header(app, {"sub": "x"}, config="a")["Authorization"].startswith("Bearer ")


def test_jwt_clock_fixes_the_time_of_ini_configs() -> None:
    from example_app import main as example_main
    from pyramid.paster import get_appsettings

    clock = Clock(NOW)
    settings = {**get_appsettings(str(EXAMPLE / "testing.ini")), "jwt.clock": clock}
    app = TestApp(example_main({}, **settings))
    token = app.get("/jwt/generate").json["access_token"]
    claims = jwt.decode(token, DEV_SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["iat"] == NOW
    app.get("/jwt/verify", headers={"Authorization": f"Bearer {token}"}, status=200)
    clock.advance(86400)
    app.get("/jwt/verify", headers={"Authorization": f"Bearer {token}"}, status=401)


def test_jwt_clock_as_a_dotted_name() -> None:
    raises_config_error(lambda: start({**HS, "jwt.main.secret": HS256_SECRET, "jwt.clock": "nope_mod:x"}),
                        "jwt.clock")
    with Configurator(settings={**HS, "jwt.main.secret": HS256_SECRET, "jwt.clock": "tests.conftest:Clock"}) as c:
        c.include("pyramid_jwtnode")
    # the class itself is the callable here: calling it returns a Clock, so use an instance in real
    # tests; what matters is that the dotted name resolved without a start-up error
    assert get_jwt_runtime(c.registry).name == "main"


def test_configuration_error_type_for_the_clock() -> None:
    with pytest.raises(ConfigurationError):
        start({**HS, "jwt.main.secret": HS256_SECRET, "jwt.clock": "42"})


# -- issue 22's rough edges ----------------------------------------------------------------------


def test_a_security_policy_list_with_commas_says_to_use_spaces() -> None:
    from pyramid_jwtnode.integration.settings import security_policy_from_settings

    with pytest.raises(ConfigurationError) as info:
        security_policy_from_settings({"jwt.security_policy": "staff,partners"})
    assert "jwt.security_policy = staff partners" in str(info.value) and "spaces" in str(info.value)


def test_a_config_without_expires_in_says_why_it_is_needed() -> None:
    from pyramid_jwtnode.integration.settings import parse_config

    with pytest.raises(ConfigurationError) as info:
        parse_config("idp", {"algorithm": "RS256", "jwks_url": "https://idp.example/jwks",
                             "issuer": "https://idp.example"})
    message = str(info.value)
    assert "jwt.idp.expires_in is required" in message and "only verifies" in message


def test_the_docs_extra_installs_what_the_api_page_imports() -> None:
    """pip install -e ".[docs]" alone builds the docs: the API page imports the serving
    helpers, and pyramid_jwtnode.tools.gunicorn imports gunicorn (granian's is imported lazily)."""
    import configparser

    parser = configparser.ConfigParser()
    parser.read(Path(__file__).resolve().parent.parent / "setup.cfg")
    docs = parser["options.extras_require"]["docs"]
    assert "gunicorn" in docs
    source = (Path(__file__).resolve().parent.parent / "pyramid_jwtnode" / "tools" / "granian.py").read_text()
    assert "\nfrom granian" not in source and "\nimport granian" not in source  # only inside serve()


def test_configs_and_guarded_views_without_a_security_policy_warn_at_start_up(
        caplog: pytest.LogCaptureFixture) -> None:
    settings = {"jwt.configs": "api", "jwt.api.algorithm": "HS256", "jwt.api.secret": HS256_SECRET,
                "jwt.api.expires_in": "60"}

    def start(**extra: str) -> None:
        with Configurator(settings={**settings, **extra}) as config:
            config.include("pyramid_jwtnode")
            config.add_route("admin", "/admin")
            config.add_view(lambda r: {}, route_name="admin", permission="admin", renderer="json")
        config.make_wsgi_app()

    with caplog.at_level("WARNING", logger="pyramid_jwtnode"):
        start()
    assert "has no security policy" in caplog.text and "jwt.security_policy" in caplog.text
    assert "'admin'" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="pyramid_jwtnode"):
        start(**{"jwt.security_policy": "api"})
    assert "security policy" not in caplog.text


def test_request_jwt_config_is_none_without_a_token_and_absent_without_a_policy() -> None:
    """docs/verification.rst: the properties come with a jwt security policy; an app that only
    issues tokens does not pay for them (and reading them there raises AttributeError)."""
    settings = {"jwt.configs": "api", "jwt.api.algorithm": "HS256", "jwt.api.secret": HS256_SECRET,
                "jwt.api.expires_in": "60"}
    for policy, expected in (({"jwt.security_policy": "api"}, {"config": None, "claims": None}), ({}, "absent")):
        with Configurator(settings={**settings, **policy}) as config:
            config.include("pyramid_jwtnode")
            config.add_route("x", "/x")

            def view(request: Any) -> Any:
                try:
                    return {"config": request.jwt_config, "claims": request.jwt_claims}
                except AttributeError:
                    return "absent"

            config.add_view(view, route_name="x", renderer="json")
        assert TestApp(config.make_wsgi_app()).get("/x").json == expected
