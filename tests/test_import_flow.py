"""``pjwt import-flow``: the pure translation with plain data, the command through ``main()``,
and the written files served by a fresh host app (the recipe's own flow and hand-made ones)."""

from __future__ import annotations

import ast
import configparser
import io
import json
import re
import stat
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from pyramid.exceptions import ConfigurationError
from pyramid.paster import get_app
from webtest import TestApp

from pyramid_jwtnode.tools.cli import main
from pyramid_jwtnode.flowimport.flow import FlowError, Translation, parse_flow, translate
from pyramid_jwtnode.integration.settings import JWTConfig, configs_from_settings, parse_config

FLOWS = Path(__file__).resolve().parent / "flows"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "import-flow.rst"
DEV_SECRET = "development-only-secret-do-not-use-in-production"
#: What the recipe's "Setting payload to encode" function node assigns to msg.payload.
RECIPE_PAYLOAD = {
    "name": "CYber Group Inc.",
    "Domain": "Information Technology & Services",
    "Offices": {
        "Dallas": "12900 Preston Road, Ste 900, Dallas, TX, 75230",
        "India": "30/1 Knowledge Park III, Greater Noida",
    },
}
WRAP = 'msg.payload = {\n    "access_token" : msg.payload\n}\nreturn msg;'


def flow(name: str) -> Any:
    return json.loads((FLOWS / name).read_text())


def by_id(nodes: list[dict[str, Any]], node_id: str) -> dict[str, Any]:
    return next(n for n in nodes if n["id"] == node_id)


def token_flow(func: str = 'msg.payload = {"a": 1};\nreturn msg;', *, url: str = "/token",
               method: str = "post", config: dict[str, Any] | None = None,
               response: str = WRAP, prefix: str = "") -> list[dict[str, Any]]:
    """A one-route flow of the recipe's shape; ``prefix`` keeps ids apart when flows are joined."""
    p = prefix
    nodes: list[dict[str, Any]] = [
        {"id": f"{p}in", "type": "http in", "url": url, "method": method, "wires": [[f"{p}fn"]]},
        {"id": f"{p}fn", "type": "function", "name": "payload", "func": func, "wires": [[f"{p}jwt"]]},
        {"id": f"{p}jwt", "type": "jwt", "name": "", "jwtconfig": "cfg", "generatejwt": "true",
         "wires": [[f"{p}wrap"]]},
        {"id": f"{p}wrap", "type": "function", "name": "wrap", "func": response, "wires": [[f"{p}out"]]},
        {"id": f"{p}out", "type": "http response", "statusCode": "", "headers": {}, "wires": []},
    ]
    if config is not None or not p:
        nodes.append({"id": "cfg", "type": "jwt-config", "name": "main", "expiresin": "60",
                      "algorithm": "HS256", **(config or {})})
    return nodes


def module_of(result: Translation) -> types.ModuleType:
    """The generated module, executed as the app would import it."""
    module = types.ModuleType("flow_payloads")
    exec(compile(result.module, "flow_payloads.py", "exec"), module.__dict__)  # noqa: S102
    return module


def ini_settings(text: str, here: str = "/srv/app") -> dict[str, str]:
    """The ini lines as PasteDeploy reads them inside an app section."""
    parser = configparser.ConfigParser(defaults={"here": here})
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string("[app:main]\n" + text)
    return {k: v for k, v in parser["app:main"].items() if k != "here"}


def parsed(result: Translation, monkeypatch: pytest.MonkeyPatch) -> dict[str, JWTConfig]:
    """Every config of the ini lines through the add-on's own parser, the module importable."""
    monkeypatch.setitem(sys.modules, "flow_payloads", module_of(result))
    grouped = configs_from_settings(ini_settings(result.ini))
    return {name: parse_config(name, raw) for name, raw in grouped.items()}


def section(result: Translation, title: str) -> list[str]:
    """The report lines under ``title:`` (``[]`` for ``title: none``)."""
    lines = list(result.report)
    if f"{title}: none" in lines:
        return []
    start = lines.index(f"{title}:") + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("  ")), len(lines))
    return [line[2:] for line in lines[start:end]]


# -- the translation, with plain data ---------------------------------------------------------


RECIPE_REPORT = [
    "pjwt import-flow: 6 nodes from recipe.json",
    "mapped:",
    '  jwt-config "igniteadmin" (766dcb94.6ebc04) -> jwt.igniteadmin: HS256, expires_in 86400, '
    "the recipe's token layout (claims_key = data, jti = false)",
    "  http in GET /jwt/generate (588127fb.fa4d78) -> jwt.igniteadmin.token_route = "
    "/jwt/generate, token_route_method = GET",
    '  function "Setting payload to encode" (34c70aa9.45ad56) -> '
    "flow_payloads:setting_payload_to_encode, its object literal",
    '  jwt "creating jwt" (91ef189c.6f3fb8), generate -> the token view of jwt.igniteadmin',
    '  function "Setting jwt as access_token" (f115185f.c4bcd8) -> the token view\'s default '
    "body, which holds access_token (plus token_type and expires_in)",
    "  http response (2efaf863.f0c7a8) -> the token view's answer: 200, application/json, "
    "Cache-Control: no-store",
    "skipped: none",
    "needs a hand translation: none",
    "secrets:",
    "  jwt.igniteadmin: the flow holds no secret; the app reads it from the environment "
    "variable IGNITEADMIN_JWT_SECRET. Set it to the old system's secret of jwt-config "
    '"igniteadmin" (766dcb94.6ebc04), so the tokens it issued keep verifying, or to a new random '
    "secret of at least 32 bytes, e.g. $(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')",
]


def test_the_recipe_becomes_the_examples_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    result = translate(flow("recipe.json"), source="recipe.json")
    assert ini_settings(result.ini) == {
        "jwt.configs": "igniteadmin",
        "jwt.igniteadmin.algorithm": "HS256",
        "jwt.igniteadmin.expires_in": "86400",
        "jwt.igniteadmin.claims_key": "data",
        "jwt.igniteadmin.jti": "false",
        "jwt.igniteadmin.secret_env": "IGNITEADMIN_JWT_SECRET",
        "jwt.igniteadmin.token_route": "/jwt/generate",
        "jwt.igniteadmin.token_route_method": "GET",
        "jwt.igniteadmin.payload": "flow_payloads:setting_payload_to_encode",
    }
    assert module_of(result).setting_payload_to_encode(None) == RECIPE_PAYLOAD
    assert list(result.report) == RECIPE_REPORT
    assert result.secrets == () and result.stubs == ()
    config = parsed(result, monkeypatch)["igniteadmin"]
    assert (config.algorithm, config.expires_in, config.claims_key, config.jti) == ("HS256", 86400, "data", False)


def test_the_module_says_where_it_came_from() -> None:
    result = translate(flow("recipe.json"), source="recipe.json")
    doc = ast.get_docstring(ast.parse(result.module)) or ""
    assert "pjwt import-flow" in doc and '"recipe.json"' in doc
    assert result.ini.startswith("# pyramid_jwtnode settings translated by `pjwt import-flow` "
                                 "from the flow recipe.json.")


def test_two_configs(monkeypatch: pytest.MonkeyPatch) -> None:
    result = translate(flow("two_configs.json"), source="two_configs.json")
    configs = parsed(result, monkeypatch)
    assert list(configs) == ["staff_portal", "partners"]
    staff, partners = configs["staff_portal"], configs["partners"]
    assert (staff.algorithm, staff.expires_in, staff.token_route, staff.token_route_method) == \
        ("HS384", 900, "/staff/token", "POST")
    assert staff.secret_file == "/srv/app/staff_portal.secret" and staff.secret is None
    assert (partners.algorithm, partners.private_key_file, partners.token_route_method) == \
        ("ES256", "/srv/app/partners.pem", "GET")
    module = module_of(result)
    assert module.staff_claims(None) == {"sub": "staff", "roles": ["staff", "reader"], "level": 3}
    assert module.partner_claims(None) == {"partner": "acme", "scopes": ["orders:read"],
                                           "rate": 1.5, "weight": 2, "active": True, "parent": None}
    issued = types.SimpleNamespace(token="t.o.k")
    assert module.token_body(None, issued) == {"token": "t.o.k", "kind": "partner"}
    assert ini_settings(result.ini)["jwt.partners.response"] == "flow_payloads:token_body"
    (secret,) = result.secrets
    assert secret.filename == "staff_portal.secret"
    assert secret.data == b"staff-portal-secret-for-the-import-flow-tests-only\n"
    mapped = section(result, "mapped")
    assert any(line.startswith('jwt-config "staff portal" (cfg.staff) -> jwt.staff_portal') and
               "named staff_portal" in line for line in mapped)
    assert section(result, "skipped") == ['tab "Tokens" (tab.tokens): a flow tab, which only groups nodes']
    secrets = section(result, "secrets")
    assert "staff_portal.secret (mode 0600)" in secrets[0]
    assert "pjwt keygen --algorithm ES256" in secrets[1] and "--name partners" in secrets[1]


def test_a_validate_mode_node_is_a_verify_route(monkeypatch: pytest.MonkeyPatch) -> None:
    result = translate(flow("validate.json"))
    config = parsed(result, monkeypatch)["api"]
    assert config.verify_route == "/jwt/verify" and config.token_route == "/jwt/generate"
    assert "jwt.api.verify_route = /jwt/verify" in result.ini
    assert 'jwt "validating jwt" (jwt.verify), validate -> the verify view of jwt.api: the claims ' \
        "of a valid bearer token, else 401/400 with WWW-Authenticate" in section(result, "mapped")
    skipped = section(result, "skipped")
    assert len(skipped) == 3
    assert skipped[0] == ('function "Authorized" (fn.ok): after the validate-mode jwt "validating '
                          'jwt" (jwt.verify): the verify view answers itself')
    assert [s.split(" (")[0] for s in skipped] == ['function "Authorized"', 'function "Unauthorized"',
                                                   "http response"]


def test_a_function_with_logic_needs_a_hand_translation(monkeypatch: pytest.MonkeyPatch) -> None:
    nodes = flow("logic.json")
    result = translate(nodes)
    assert result.stubs == ("check_user",)
    module = module_of(result)
    with pytest.raises(NotImplementedError, match="fn.check"):
        module.check_user(None)
    doc = module.check_user.__doc__ or ""
    for line in by_id(nodes, "fn.check")["func"].splitlines():
        assert line in doc
    assert section(result, "needs a hand translation") == [
        'function "Check user" (fn.check) -> flow_payloads:check_user raises NotImplementedError: '
        "translate the JavaScript in its docstring to Python returning the claims"]
    assert getattr(parsed(result, monkeypatch)["login"].payload, "__name__", None) == "check_user"


def test_unrelated_nodes_are_skipped_with_reasons() -> None:
    result = translate(flow("unrelated.json"))
    reasons = {line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in section(result, "skipped")}
    assert reasons == {
        'tab "Flow 1" (99f38f53.62683)': "a flow tab, which only groups nodes",
        'comment "Imported from production" (note)': "a comment",
        'debug "see request" (tap.request)':
            "debug output: the add-on logs refusals on the pyramid_jwtnode logger instead",
        'inject "every minute" (tick)': 'the add-on has no counterpart of "inject" nodes',
        'jwt "timer token" (jwt.orphan)': "no http in route leads to it",
        "mqtt out (mqtt.out)": 'the add-on has no counterpart of "mqtt out" nodes',
        "http in PUT /jwt/put (in.put)": "the method is PUT; a token view takes GET or POST",
        "http in GET /users/:id/token (in.params)":
            "its url has route parameters, wildcards or characters that are not translated "
            "(letters, digits and / . _ ~ - are)",
        'function "put payload" (fn.put)': "only on the skipped route of http in PUT /jwt/put (in.put)",
        "jwt (jwt.put)": "only on the skipped route of http in PUT /jwt/put (in.put)",
        "function (fn.put.wrap)": "only on the skipped route of http in PUT /jwt/put (in.put)",
        "http response (out.put)": "only on the skipped route of http in PUT /jwt/put (in.put)",
        "http in GET /hello (in.hello)": "no jwt node on its path (http in -> function -> http response)",
        'function "hello" (fn.hello)': "only on the skipped route of http in GET /hello (in.hello)",
        "http response (out.hello)": "only on the skipped route of http in GET /hello (in.hello)",
        "http in GET /jwt/old (in.off)": "disabled in the flow",
    }
    # the debug tap beside the recipe's route does not break it
    assert ini_settings(result.ini) == ini_settings(translate(flow("recipe.json")).ini)


# -- object literals, read and never run ---------------------------------------------------


@pytest.mark.parametrize(("js", "expected"), [
    ('msg.payload = {"a": 1};\nreturn msg;', {"a": 1}),
    ("msg.payload={a:'x',b:\"y\",}\nreturn msg", {"a": "x", "b": "y"}),
    ("// the claims\nmsg.payload = /* all */ {\n  list: [1, 'two', [3],],\n  'b-c': {d: null, e: true, f: false},\n};\n"
     "return msg; // done", {"list": [1, "two", [3]], "b-c": {"d": None, "e": True, "f": False}}),
    ("msg.payload = {i: 42, neg: -7, f: 1.5, whole: 2.0, e: 1e3, hex: 0x1F, half: .5, plus: +3, "
     "big: 1e21, small: -2.5e-3}; return msg;",
     {"i": 42, "neg": -7, "f": 1.5, "whole": 2, "e": 1000, "hex": 31, "half": 0.5, "plus": 3,
      "big": 1e21, "small": -0.0025}),
    (r"""msg.payload = {q: 'it\'s', dq: "say \"hi\"", n: "a\nb", t: '\t', u: "\u00e9", cp: "\u{1F600}", """
     r"""pair: "\ud83d\ude00", x: '\x41', s: "\/", z: "\0", nb: "é ✓"}; return msg;""",
     {"q": "it's", "dq": 'say "hi"', "n": "a\nb", "t": "\t", "u": "é", "cp": "😀", "pair": "😀",
      "x": "A", "s": "/", "z": "\0", "nb": "é ✓"}),
    ("msg.payload = {a: 1, b: 2, a: 3}; return msg;", {"a": 3, "b": 2}),
    ("msg.payload = {1: 'one', true: 1, return: 2, $x: 3, _y: 4}; return msg;",
     {"1": "one", "true": 1, "return": 2, "$x": 3, "_y": 4}),
    ("msg.payload = {};\nreturn msg;", {}),
])
def test_object_literals_become_python(js: str, expected: dict[str, Any]) -> None:
    result = translate(token_flow(js))
    value = module_of(result).payload(None)
    assert value == expected and list(value) == list(expected)
    assert [type(v) for v in value.values()] == [type(v) for v in expected.values()]
    assert result.stubs == () and section(result, "needs a hand translation") == []


@pytest.mark.parametrize("js", [
    "msg.payload = {user: msg.req.query.user};\nreturn msg;",
    "msg.payload = {a: msg.payload};\nreturn msg;",
    "var p = {a: 1};\nmsg.payload = p;\nreturn msg;",
    "msg.payload = {a: 1};",
    "msg.payload = {a: 1};\nreturn msg.payload;",
    "msg.payload = {a: 1};\nnode.send(msg);\nreturn null;",
    "msg.payload = {a: 1}.a;\nreturn msg;",
    "msg.payload == {a: 1};\nreturn msg;",
    'msg.payload = "text";\nreturn msg;',
    "msg.payload = {a: `template`};\nreturn msg;",
    "msg.payload = {a: NaN};\nreturn msg;",
    "msg.payload = {a: 1e400};\nreturn msg;",
    "msg.payload = {a: undefined};\nreturn msg;",
    "msg.payload = {a};\nreturn msg;",
    "msg.payload = {...defaults};\nreturn msg;",
    "msg.payload = {[key]: 1};\nreturn msg;",
    "msg.payload = {__proto__: {admin: true}};\nreturn msg;",
    "msg.payload = {'__proto__': 1};\nreturn msg;",
    "msg.payload = {get a() { return 1; }};\nreturn msg;",
    "msg.payload = {a: [1,,2]};\nreturn msg;",
    "msg.payload = {a: 010};\nreturn msg;",
    "msg.payload = {a: 1_000};\nreturn msg;",
    "msg.payload = {a: 10n};\nreturn msg;",
    'msg.payload = {a: "\\101"};\nreturn msg;',
    'msg.payload = {a: "line\nbreak"};\nreturn msg;',
    'msg.payload = {a: "unterminated};\nreturn msg;',
    "msg.payload = {a: 1} /* unterminated",
    "msg.payload = {1.5: 'x'};\nreturn msg;",
    "msg.payload = " + "[" * 70 + "]" * 70 + ";\nreturn msg;",
    "msg.payload = {a: " + "[" * 70 + "]" * 70 + "};\nreturn msg;",
    "",
])
def test_anything_else_needs_a_hand_translation(js: str) -> None:
    result = translate(token_flow(js))
    assert result.stubs == ("payload",)
    module = module_of(result)
    with pytest.raises(NotImplementedError):
        module.payload(None)
    for line in js.splitlines():
        assert line.rstrip() in (module.payload.__doc__ or "")
    assert len(section(result, "needs a hand translation")) == 1


def test_start_up_code_needs_a_hand_translation_too() -> None:
    nodes = token_flow()
    by_id(nodes, "fn")["initialize"] = "context.set('n', 0);"
    result = translate(nodes)
    assert result.stubs == ("payload",)
    assert "context.set('n', 0);" in (module_of(result).payload.__doc__ or "")


def test_any_javascript_fits_in_the_docstring() -> None:
    js = ('// """ and \'\'\' and a backslash at the end \\\nvar s = "\\u0041\\n";\r\n'
          'x = "ctrl\x00\x1b\u2028chars";\nreturn "\\""')
    result = translate(token_flow(js))
    doc = module_of(result).payload.__doc__ or ""
    for line in js.replace("\r\n", "\n").split("\n"):
        assert line in doc


def test_a_response_function_with_logic_is_kept_but_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    result = translate(token_flow(response="msg.payload = {token: msg.payload, at: Date.now()};\n"
                                           "return msg;"))
    assert result.stubs == ("wrap",)
    assert parsed(result, monkeypatch)["main"].response is None
    (hand,) = section(result, "needs a hand translation")
    assert "flow_payloads:wrap holds its JavaScript" in hand and "jwt.main.response" in hand


# -- names, routes and secrets ----------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [
    ("igniteadmin", "igniteadmin"), ("Ignite Admin!", "Ignite_Admin"), ("2fa", "jwt_2fa"),
    ("Café", "Cafe"), ("", "jwt_cfg"), ("a" * 80, "a" * 64), ("staff-portal", "staff-portal"),
])
def test_config_names_follow_the_add_ons_rule(name: str, expected: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    result = translate(token_flow(config={"name": name}))
    assert list(parsed(result, monkeypatch)) == [expected]
    config_line = section(result, "mapped")[0]
    assert (f"named {expected}," in config_line) == (name != expected)


def test_names_that_meet_after_cleaning_get_a_suffix(monkeypatch: pytest.MonkeyPatch) -> None:
    nodes = [*token_flow(config={"name": "a b"}),
             {"id": "cfg2", "type": "jwt-config", "name": "a_b", "expiresin": "60", "algorithm": "HS256"},
             {"id": "cfg3", "type": "jwt-config", "name": "a-b", "expiresin": "60", "algorithm": "HS256"}]
    result = translate(nodes)
    assert list(parsed(result, monkeypatch)) == ["a_b", "a_b_2", "a-b"]
    envs = [v for k, v in ini_settings(result.ini).items() if k.endswith(".secret_env")]
    assert envs == ["A_B_JWT_SECRET", "A_B_2_JWT_SECRET", "A_B_JWT_SECRET_2"]


def test_a_second_route_of_a_config_is_added_in_code() -> None:
    nodes = token_flow(url="/a") + token_flow(url="/b", method="get", prefix="2.")
    result = translate(nodes)
    assert ini_settings(result.ini)["jwt.main.token_route"] == "/a"
    assert section(result, "needs a hand translation") == [
        'http in GET /b (2.in): jwt.main has a token_route already (/a); add this one in the '
        'app\'s main(): config.add_jwt_token_view("/b", jwt_config="main", '
        'payload="flow_payloads:payload_2", request_method="GET")']
    assert module_of(result).payload_2(None) == {"a": 1}


def test_one_url_twice_is_served_once() -> None:
    result = translate(token_flow() + token_flow(prefix="2."))
    assert "http in POST /token (2.in): http in POST /token (in) has the same url; the add-on " \
        "serves one view per url" in section(result, "skipped")


@pytest.mark.parametrize(("change", "reason"), [
    (lambda n: by_id(n, "in").update(wires=[["fn", "wrap"]]), "http in POST /token (in) sends to several nodes"),
    (lambda n: by_id(n, "out").update(wires=[["in"]]), "the path loops"),
    (lambda n: by_id(n, "fn").update(wires=[["gone"]]), "is wired to gone, which the flow does not hold"),
    (lambda n: by_id(n, "jwt").update(d=True), 'jwt (jwt) is disabled'),
    (lambda n: by_id(n, "wrap").update(wires=[]), "its path is http in -> function -> jwt -> function, not"),
])
def test_routes_that_are_not_the_recipes_shape_are_skipped(change: Any, reason: str) -> None:
    nodes = token_flow()
    change(nodes)
    result = translate(nodes)
    assert "token_route" not in result.ini
    assert any(line.startswith("http in POST /token (in): ") and reason in line
               for line in section(result, "skipped"))


def test_a_disabled_tab_disables_its_nodes() -> None:
    nodes = [{"id": "t", "type": "tab", "label": "old", "disabled": True}, *token_flow()]
    for node in nodes[1:]:
        node["z"] = "t"
    result = translate(nodes)
    assert "http in POST /token (in): disabled in the flow" in section(result, "skipped")


def test_urls_are_paths() -> None:
    result = translate(token_flow(url="jwt/generate"))
    assert ini_settings(result.ini)["jwt.main.token_route"] == "/jwt/generate"


def test_validate_mode_on_post_is_skipped_and_functions_before_it_are_reported() -> None:
    nodes = flow("validate.json")
    by_id(nodes, "in.verify")["method"] = "post"
    assert "verify_route" not in translate(nodes).ini
    nodes = flow("validate.json")
    by_id(nodes, "in.verify")["wires"] = [["fn.token"]]
    nodes.append({"id": "fn.token", "type": "function", "name": "token from header",
                  "func": "msg.payload = msg.req.headers.authorization; return msg;",
                  "wires": [["jwt.verify"]]})
    result = translate(nodes)
    assert "jwt.api.verify_route = /jwt/verify" in result.ini
    assert 'function "token from header" (fn.token): before the validate-mode jwt "validating ' \
        'jwt" (jwt.verify): the verify view reads the Authorization header itself' in section(result, "skipped")


def test_what_the_http_response_sets_beyond_the_view_is_reported() -> None:
    nodes = token_flow()
    by_id(nodes, "out").update(statusCode="201", headers={"X-Flow": "1", "content-type": "application/json"})
    (hand,) = section(translate(nodes), "needs a hand translation")
    assert hand == ("http response (out): its status 201 and its headers X-Flow not kept; the "
                    "token view answers 200 with application/json")


SECRET = "a-flow-secret-that-is-long-enough-for-hs256"


@pytest.mark.parametrize("where", ["secret", "credentials"])
def test_a_secret_of_the_flow_goes_to_its_own_file(where: str) -> None:
    config = {"secret": SECRET} if where == "secret" else {"credentials": {"secret": SECRET}}
    result = translate(token_flow(config=config))
    assert ini_settings(result.ini)["jwt.main.secret_file"] == "/srv/app/main.secret"
    assert "secret_env" not in result.ini and "jwt.main.secret =" not in result.ini
    assert [(s.filename, s.data) for s in result.secrets] == [("main.secret", SECRET.encode() + b"\n")]
    assert SECRET not in result.ini + result.module + "\n".join(result.report) + repr(result)


@pytest.mark.parametrize(("secret", "problem"), [
    ("too-short", "is shorter than the 32 bytes HS256 needs"),
    (" " + SECRET, "has white space around it"),
    ("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
     "looks like a PEM"),
    ("\ud800" + SECRET, "is not text that UTF-8 can hold"),
])
def test_a_secret_the_add_on_would_refuse_is_not_copied(secret: str, problem: str) -> None:
    result = translate(token_flow(config={"secret": secret}))
    assert result.secrets == ()
    assert ini_settings(result.ini)["jwt.main.secret_env"] == "MAIN_JWT_SECRET"
    (line,) = section(result, "secrets")
    assert problem in line and "not copied" in line and secret not in line


def test_key_pairs_come_from_pem_files(monkeypatch: pytest.MonkeyPatch) -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----"
    nodes = [*token_flow(config={"algorithm": "ES256", "credentials": {"secret": pem}}),
             {"id": "rs", "type": "jwt-config", "name": "rs", "expiresin": "60", "algorithm": "RS256",
              "secret": "not a key"}]
    result = translate(nodes)
    configs = parsed(result, monkeypatch)
    assert (configs["main"].private_key_file, configs["rs"].private_key_file) == \
        ("/srv/app/main.pem", "/srv/app/rs.pem")
    assert [(s.filename, s.data) for s in result.secrets] == [("main.pem", pem.encode() + b"\n")]
    main_line, rs_line = section(result, "secrets")
    assert "main.pem (mode 0600)" in main_line
    assert "not a PEM private key" in rs_line and "pjwt keygen --algorithm RS256" in rs_line


@pytest.mark.parametrize(("nodes", "node_id", "words"), [
    ({"not": "an array"}, None, "not a JSON array of nodes"),
    ([], None, "no jwt-config node"),
    ([1], None, "item 0 of the flow is not a node"),
    ([{"type": "function"}], None, "item 0 of the flow has no usable id"),
    ([{"id": "x"}], "x", "no type"),
    ([{"id": "x", "type": "inject"}, {"id": "x", "type": "debug"}], "x", "two nodes"),
    ([{"id": "x", "type": "inject", "wires": ["y"]}], "x", "wires"),
    (token_flow()[:-1], "jwt", "names jwt-config cfg, which the flow does not hold"),
    ([*token_flow(), {"id": "cfg2", "type": "jwt-config", "name": "main", "expiresin": "1",
                      "algorithm": "HS256"}], "cfg2", 'two jwt-configs are named "main"'),
    (token_flow(config={"algorithm": "none"}), "cfg", "'none'"),
    (token_flow(config={"algorithm": "HS1024"}), "cfg", "'HS1024' is not one the add-on supports"),
    (token_flow(config={"algorithm": "hs256"}), "cfg", "not one the add-on supports"),
    (token_flow(config={"algorithm": None}), "cfg", "missing is not one the add-on supports"),
    (token_flow(config={"expiresin": "1h"}), "cfg", "expiresin"),
    (token_flow(config={"expiresin": 0}), "cfg", "expiresin"),
    (token_flow(config={"name": 7}), "cfg", "name is not text"),
    (token_flow(config={"secret": SECRET, "credentials": {"secret": SECRET + "x"}}), "cfg",
     "two different secrets"),
])
def test_bad_flows_name_the_node(nodes: Any, node_id: str | None, words: str) -> None:
    with pytest.raises(FlowError) as info:
        translate(nodes)
    assert info.value.node_id == node_id
    assert words in str(info.value) and "\n" not in str(info.value)
    if node_id is not None:
        assert str(info.value).startswith(f"node {node_id}: ")


@pytest.mark.parametrize(("change", "words"), [
    ({"generatejwt": "maybe"}, "generatejwt"),
    ({"generatejwt": None}, "generatejwt"),
    ({"jwtconfig": ""}, "names no jwt-config"),
])
def test_bad_jwt_nodes_name_the_node(change: dict[str, Any], words: str) -> None:
    nodes = token_flow()
    by_id(nodes, "jwt").update(change)
    with pytest.raises(FlowError, match=words) as info:
        translate(nodes)
    assert info.value.node_id == "jwt"


@pytest.mark.parametrize(("text", "words"), [
    ("{nope", "not JSON"), ('[{"id": "a", "id": "b"}]', "names 'id' twice"), ("[NaN]", "NaN"), ("", "not JSON"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
])
def test_parse_flow_refuses_what_is_not_json(text: str, words: str) -> None:
    with pytest.raises(FlowError, match=re.escape(words)):
        parse_flow(text)


# -- the command ----------------------------------------------------------------------------------


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_import_flow_writes_the_ini_lines_and_the_module(tmp_path: Path) -> None:
    code, out, err = run("import-flow", str(FLOWS / "recipe.json"), "--out", str(tmp_path / "app"))
    assert code == 0 and err == ""
    assert out.splitlines() == [*RECIPE_REPORT, f"wrote {tmp_path}/app/jwt.ini",
                                f"      {tmp_path}/app/flow_payloads.py"]
    assert sorted(p.name for p in (tmp_path / "app").iterdir()) == ["flow_payloads.py", "jwt.ini"]
    expected = translate(flow("recipe.json"), source="recipe.json")
    assert (tmp_path / "app" / "jwt.ini").read_text() == expected.ini
    assert (tmp_path / "app" / "flow_payloads.py").read_text() == expected.module


def test_import_flow_writes_into_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("import-flow", str(FLOWS / "validate.json"))[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["api.secret", "flow_payloads.py", "jwt.ini"]
    assert stat.S_IMODE((tmp_path / "api.secret").stat().st_mode) == 0o600
    assert (tmp_path / "api.secret").read_text() == "validate-flow-secret-for-the-tests-0123456789\n"


BAD_FLOWS = {
    "not-json": ("{nope", None),
    "not-an-array": ('{"id": "x", "type": "jwt-config"}', None),
    "missing-config": (json.dumps(token_flow()[:-1]), "jwt"),
    "two-configs-of-one-name": (json.dumps([*token_flow(), {"id": "cfg.twin", "type": "jwt-config",
                                "name": "main", "expiresin": "60", "algorithm": "HS256"}]), "cfg.twin"),
    "unsupported-algorithm": (json.dumps(token_flow(config={"algorithm": "HS1"})), "cfg"),
    "algorithm-none": (json.dumps(token_flow(config={"algorithm": "none"})), "cfg"),
}


@pytest.mark.parametrize("case", sorted(BAD_FLOWS))
def test_bad_flows_exit_2_in_one_line_and_write_nothing(case: str, tmp_path: Path) -> None:
    text, node_id = BAD_FLOWS[case]
    (tmp_path / "flow.json").write_text(text)
    code, out, err = run("import-flow", str(tmp_path / "flow.json"), "--out", str(tmp_path / "out"))
    assert code == 2 and out == ""
    assert err.startswith(f"pjwt: {tmp_path / 'flow.json'}: ") and err.count("\n") == 1
    if node_id is not None:
        assert f"node {node_id}: " in err
    assert not (tmp_path / "out").exists()


def test_a_flow_that_cannot_be_read_exits_2(tmp_path: Path) -> None:
    code, _, err = run("import-flow", str(tmp_path / "absent.json"), "--out", str(tmp_path / "out"))
    assert code == 2 and "cannot read" in err and err.count("\n") == 1
    (tmp_path / "latin1.json").write_bytes(b'["\xe9"]')
    assert "cannot read" in run("import-flow", str(tmp_path / "latin1.json"), "--out", str(tmp_path / "out"))[2]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("existing", ["jwt.ini", "flow_payloads.py", "api.secret"])
def test_existing_files_are_kept_unless_force(existing: str, tmp_path: Path) -> None:
    (tmp_path / existing).write_text("mine\n")
    code, out, err = run("import-flow", str(FLOWS / "validate.json"), "--out", str(tmp_path))
    assert code == 2 and out == "" and "--force" in err and existing in err
    assert [p.name for p in tmp_path.iterdir()] == [existing]
    assert (tmp_path / existing).read_text() == "mine\n"
    code, out, _ = run("import-flow", str(FLOWS / "validate.json"), "--out", str(tmp_path), "--force")
    assert code == 0 and f"{tmp_path}/api.secret (mode 0600)" in out
    assert (tmp_path / existing).read_text() != "mine\n"
    assert stat.S_IMODE((tmp_path / "api.secret").stat().st_mode) == 0o600


def test_an_out_path_that_is_a_file_exits_2(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("")
    code, _, err = run("import-flow", str(FLOWS / "recipe.json"), "--out", str(tmp_path / "out"))
    assert code == 2 and f"cannot write into {tmp_path / 'out'}" in err


def test_a_failed_write_takes_back_what_was_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pyramid_jwtnode import cli

    real_write = cli._write

    def write(path: Path, data: bytes, mode: int, force: bool) -> None:
        if path.name == "flow_payloads.py":
            raise OSError(28, "No space left on device")
        real_write(path, data, mode, force)

    monkeypatch.setattr(cli, "_write", write)
    code, out, err = run("import-flow", str(FLOWS / "recipe.json"), "--out", str(tmp_path))
    assert code == 2 and out == "" and err == f"pjwt: cannot write into {tmp_path} (OSError)\n"
    assert list(tmp_path.iterdir()) == []


def test_help_names_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["import-flow", "--help"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 0
    out = capsys.readouterr().out
    assert "import-flow" in out and "FLOW.json" in out and "--force" in out


# -- end to end: the written files in a fresh host app ------------------------------------------

HOST_APP = '''\
from pyramid.config import Configurator


def main(global_config, **settings):
    with Configurator(settings=settings) as config:
        config.include("pyramid_jwtnode")
    return config.make_wsgi_app()
'''


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Import a flow into a fresh directory, then serve it from a tiny host app's ini file."""
    names = ("flow_payloads", "flow_host_app")
    for name in names:
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))

    def serve(flow_name: str, prepare: Any = None) -> tuple[TestApp, str]:
        code, report, err = run("import-flow", str(FLOWS / flow_name), "--out", str(tmp_path))
        assert code == 0, err
        if prepare is not None:
            prepare(tmp_path)
        (tmp_path / "flow_host_app.py").write_text(HOST_APP)
        ini = "[app:main]\nuse = call:flow_host_app:main\n" + (tmp_path / "jwt.ini").read_text()
        (tmp_path / "app.ini").write_text(ini)
        return TestApp(get_app(str(tmp_path / "app.ini"))), report

    yield serve
    for name in names:
        sys.modules.pop(name, None)


def test_the_recipes_flow_serves_the_recipes_tokens(host: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGNITEADMIN_JWT_SECRET", DEV_SECRET)
    app, _ = host("recipe.json")
    before = int(time.time())
    res = app.get("/jwt/generate")
    after = int(time.time())
    token = res.json["access_token"]
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(token, DEV_SECRET, algorithms=["HS256"])
    t = claims["iat"]
    assert before <= t <= after
    assert claims == {"data": RECIPE_PAYLOAD, "iat": t, "exp": t + 86400}


def test_the_recipes_flow_needs_its_secret(host: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IGNITEADMIN_JWT_SECRET", raising=False)
    with pytest.raises(ConfigurationError, match="IGNITEADMIN_JWT_SECRET"):
        host("recipe.json")


def test_two_configs_serve_both_routes(host: Any, tmp_path: Path) -> None:
    def keygen(directory: Path) -> None:  # as the report says
        assert run("keygen", "--algorithm", "ES256", "--out", str(directory), "--name", "partners")[0] == 0

    app, report = host("two_configs.json", keygen)
    staff = app.post("/staff/token").json
    assert jwt.get_unverified_header(staff["access_token"])["alg"] == "HS384"
    claims = jwt.decode(staff["access_token"], "staff-portal-secret-for-the-import-flow-tests-only",
                        algorithms=["HS384"])
    assert claims["data"] == {"sub": "staff", "roles": ["staff", "reader"], "level": 3}
    assert claims["exp"] == claims["iat"] + 900 and set(claims) == {"data", "iat", "exp"}
    partners = app.get("/partners/token").json
    assert set(partners) == {"token", "kind"} and partners["kind"] == "partner"
    claims = jwt.decode(partners["token"], (tmp_path / "partners.pub").read_bytes(), algorithms=["ES256"])
    assert claims["data"]["partner"] == "acme" and claims["exp"] == claims["iat"] + 3600
    assert "wrote " in report and "staff_portal.secret (mode 0600)" in report


def test_the_validate_node_becomes_a_verify_route(host: Any) -> None:
    app, _ = host("validate.json")
    token = app.get("/jwt/generate").json["access_token"]
    claims = app.get("/jwt/verify", headers={"Authorization": f"Bearer {token}"}).json
    assert claims["data"] == {"user": "ada"} and claims["exp"] == claims["iat"] + 600
    res = app.get("/jwt/verify", status=401)
    assert res.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_stub_imports_and_its_route_answers_500_until_translated(
        host: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGIN_JWT_SECRET", "s" * 64)
    app, report = host("logic.json")
    assert "needs a hand translation:\n  function \"Check user\" (fn.check)" in report
    res = app.post("/login", status=500)
    assert res.json["error"] == "server_error" and "access_token" not in res.text


def test_a_flow_with_unrelated_nodes_serves_only_the_recipes_route(
        host: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGNITEADMIN_JWT_SECRET", DEV_SECRET)
    app, _ = host("unrelated.json")
    assert app.get("/jwt/generate").json["expires_in"] == 86400
    for url in ("/hello", "/jwt/put", "/jwt/old"):
        app.get(url, status=404)


@pytest.mark.parametrize("name", sorted(p.name for p in FLOWS.glob("*.json")))
def test_every_fixture_flow_gives_settings_the_parser_accepts(
        name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("import-flow", str(FLOWS / name), "--out", str(tmp_path))[0] == 0
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "flow_payloads", raising=False)
    try:
        settings = ini_settings((tmp_path / "jwt.ini").read_text(), here=str(tmp_path))
        for config, raw in configs_from_settings(settings).items():
            assert parse_config(config, raw).name == config
    finally:
        sys.modules.pop("flow_payloads", None)


# -- the docs show what the command prints and writes -------------------------------------------


EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples" / "import_flow"


def test_the_docs_show_the_real_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/import-flow.rst includes these files: they must be what the command prints and writes."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "recipe.json").write_text((FLOWS / "recipe.json").read_text())
    code, out, _ = run("import-flow", "recipe.json", "--out", "migrated")
    assert code == 0
    assert (EXAMPLES / "report.txt").read_text() == "$ pjwt import-flow recipe.json --out migrated\n" + out
    assert (EXAMPLES / "jwt.ini").read_text() == (tmp_path / "migrated" / "jwt.ini").read_text()
    assert (EXAMPLES / "flow_payloads.py").read_text() == (tmp_path / "migrated" / "flow_payloads.py").read_text()
    module = translate(flow("logic.json")).module
    assert (EXAMPLES / "check_user_stub.py").read_text() == module[module.index("def check_user("):]
    for name in ("report.txt", "jwt.ini", "flow_payloads.py", "check_user_stub.py"):
        assert f"examples/import_flow/{name}" in DOCS.read_text()
