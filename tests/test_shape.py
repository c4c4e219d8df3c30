"""The package's shape: a narrow, documented public API, imports that point one way, and
Pyramid's own rules for registrations an app overrides."""

from __future__ import annotations

import ast
import inspect
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationConflictError
from webtest import TestApp

import pyramid_jwtnode
from pyramid_jwtnode import get_jwt_node

from .conftest import HS256_SECRET

PACKAGE = Path(pyramid_jwtnode.__file__).parent

#: Bottom to top: a module may import only modules listed before it.
LAYERS = [
    "exceptions", "interfaces", "algorithms", "limits", "claims", "rules", "jwks", "keys", "converters",
    "settings", "keyload", "keygen", "stores", "issuer", "verifier", "selection", "revocation", "node", "params", "responses",
    "cookies", "views", "policy", "request", "csrf", "directives", "wiring", "__init__",
]
#: Tools beside the wiring (the CLI, test helpers, serving on gunicorn): they use the plain
#: objects and the registry, never the directives.
TOOLS = {"cli", "deploy", "flow", "gunicorn", "jsliteral", "testing", "pytest_plugin"}


def own_imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.add(node.module or "__init__")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pyramid_jwtnode"):
            found.add((node.module or "").partition(".")[2] or "__init__")
    return found


def test_every_module_has_a_place_in_the_layers() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert modules == set(LAYERS) | TOOLS


@pytest.mark.parametrize("module", LAYERS)
def test_imports_point_down(module: str) -> None:
    below = set(LAYERS[:LAYERS.index(module)])
    assert own_imports(module) <= below, f"{module} imports from above itself"


@pytest.mark.parametrize("module", sorted(TOOLS))
def test_tools_do_not_reach_into_the_wiring(module: str) -> None:
    assert own_imports(module).isdisjoint({"directives", "views", "__init__"})


def test_the_named_imports_of_the_issue() -> None:
    assert "issuer" not in own_imports("verifier")
    assert "views" not in own_imports("policy")


def test_public_api_is_narrow_and_documented() -> None:
    names = pyramid_jwtnode.__all__
    assert len(names) <= 30
    assert len(set(names)) == len(names)
    module_doc = pyramid_jwtnode.__doc__ or ""
    for name in names:
        obj = getattr(pyramid_jwtnode, name)
        assert inspect.getdoc(obj), f"{name} has no docstring"
        assert name in module_doc or name == "includeme", f"{name} is not in the package docstring"


def test_directives_are_reached_through_the_configurator() -> None:
    with Configurator() as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("main", algorithm="HS256", secret=HS256_SECRET, expires_in=60)
        for name in ("add_jwt_config", "add_jwt_token_view", "add_jwt_jwks_view", "add_jwt_verify_view",
                     "add_jwt_refresh_view", "add_jwt_revocation_view", "make_jwt_security_policy",
                     "set_jwt_security_policy"):
            assert callable(getattr(config, name))
            assert name not in pyramid_jwtnode.__all__


# -- Pyramid's override rules ---------------------------------------------------------------

PACKAGE_SECRET = "p" * 40


def included_package(config: Configurator) -> None:
    """What a reusable package that ships a jwt config does in its includeme."""
    config.include("pyramid_jwtnode")
    config.add_jwt_config("api", algorithm="HS256", secret=PACKAGE_SECRET, expires_in=60,
                          token_route="/package/token", payload=lambda request: {"sub": "pkg"})


@pytest.fixture
def package_module(monkeypatch: pytest.MonkeyPatch) -> str:
    module = types.ModuleType("jwt_shipping_package")
    module.includeme = included_package  # type: ignore[attr-defined]
    module.__file__ = __file__
    monkeypatch.setitem(sys.modules, "jwt_shipping_package", module)
    return "jwt_shipping_package"


def payload(request: Any) -> dict[str, str]:
    return {"sub": "app"}


def test_the_app_overrides_a_config_of_an_included_package(package_module: str) -> None:
    with Configurator() as config:
        config.include(package_module)
        config.add_jwt_config("api", algorithm="HS256", secret=HS256_SECRET, expires_in=3600,
                              token_route="/app/token", payload=payload)
    app = TestApp(config.make_wsgi_app())
    node = get_jwt_node(config.registry, "api")
    assert node.config.expires_in == 3600
    token = app.post("/app/token").json["access_token"]
    assert node.verifier.verify(token)["sub"] == "app"
    # the package's declaration lost, with the route its settings asked for
    app.post("/package/token", status=404)
    intr = config.registry.introspector.get("jwt configs", "api")
    assert intr["expires_in"] == 3600


def test_the_ini_file_overrides_a_config_of_an_included_package(package_module: str) -> None:
    settings = {"jwt.configs": "api", "jwt.api.algorithm": "HS256", "jwt.api.secret": HS256_SECRET,
                "jwt.api.expires_in": "120"}
    with Configurator(settings=settings) as config:
        config.include(package_module)
    assert get_jwt_node(config.registry, "api").config.expires_in == 120


def test_without_an_override_the_package_config_serves(package_module: str) -> None:
    with Configurator() as config:
        config.include(package_module)
    app = TestApp(config.make_wsgi_app())
    token = app.post("/package/token").json["access_token"]
    assert get_jwt_node(config.registry, "api").verifier.verify(token)["sub"] == "pkg"


def test_two_declarations_at_one_level_still_conflict() -> None:
    with pytest.raises(ConfigurationConflictError):
        with Configurator() as config:
            config.include("pyramid_jwtnode")
            config.add_jwt_config("api", algorithm="HS256", secret=HS256_SECRET, expires_in=60)
            config.add_jwt_config("api", algorithm="HS256", secret=HS256_SECRET, expires_in=90)


#: The JOSE core: what signs, verifies and holds keys. It knows nothing of Pyramid.
JOSE_CORE = ("algorithms", "limits", "claims", "rules", "jwks", "keys", "issuer", "verifier", "selection")


def test_the_jose_core_imports_without_pyramid() -> None:
    """Importing the JOSE core loads no Pyramid, WebOb or zope module (a fresh interpreter)."""
    code = ("import sys\n"
            + "".join(f"import pyramid_jwtnode.{m}\n" for m in JOSE_CORE)
            + "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('pyramid', 'webob', 'zope'))\n"
            + "assert not loaded, loaded\n")
    done = __import__("subprocess").run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
