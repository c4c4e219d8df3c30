"""The package's shape: folders by tier, imports that point one way, a narrow documented
public API, and Pyramid's own rules for registrations an app overrides."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationConflictError
from webtest import TestApp

import pyramid_jwtnode
from pyramid_jwtnode import get_jwt_runtime

from .conftest import HS256_SECRET

PACKAGE = Path(pyramid_jwtnode.__file__).parent

#: Each tier's folder and its modules, bottom to top: inside a tier, a module imports only
#: modules listed before it. ``""`` is the package's top level.
TIERS: dict[str, list[str]] = {
    "": ["exceptions", "loggable", "_moved", "__init__"],
    "jose": ["__init__", "algorithms", "limits", "claims", "rules", "jwks", "keys", "memo", "issuer", "verifier",
             "choosing"],
    "storage": ["base", "rotation", "memory", "redis", "__init__"],
    "integration": ["__init__", "interfaces", "events", "meter", "converters", "settings", "keyload", "revocation",
                    "runtime", "reading", "responses", "cookies", "views", "policy", "request", "csrf", "metrics",
                    "directives", "wiring"],
    "tools": ["__init__", "deploy", "gunicorn", "granian", "keygen", "testing", "pytest_plugin", "explain", "debugtoolbar", "cli"],
    "flowimport": ["__init__", "jsliteral", "flow"],
}
#: Which tiers each tier may import (besides its own modules).
MAY_IMPORT: dict[str, set[str]] = {
    "jose": {"exceptions", "loggable"},
    "storage": {"exceptions", "loggable"},
    "integration": {"exceptions", "loggable", "jose", "storage"},
    "tools": {"exceptions", "loggable", "jose", "storage", "integration", "flowimport", "__init__"},
    "flowimport": {"exceptions", "loggable", "jose", "integration"},
}
#: The wiring's insides, which tools never reach into (they use plain objects and the registry).
WIRING = {"integration.directives", "integration.views", "integration.wiring"}


def modules() -> list[tuple[str, str]]:
    return [(tier, module) for tier, names in TIERS.items() for module in names]


def own_imports(tier: str, module: str) -> set[str]:
    """The package's modules that ``tier/module`` imports, as ``"tier.module"`` (or
    ``"exceptions"``, ``"__init__"`` for the top level)."""
    path = PACKAGE / tier / f"{module}.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 0:
            if not (node.module or "").startswith("pyramid_jwtnode"):
                continue
            dotted = (node.module or "").partition(".")[2]
        elif node.level == 1:
            dotted = ".".join(p for p in (tier, node.module or "") if p)
        else:
            dotted = node.module or ""
        found.add(dotted or "__init__")
    return found


def tier_of(dotted: str) -> str:
    head, _, rest = dotted.partition(".")
    return head if rest or head in TIERS and head else ""


def test_the_tree_is_the_tiers() -> None:
    """Every module of the package has its place in a tier's folder, and every folder is a tier."""
    found = {(str(p.parent.relative_to(PACKAGE)).replace(".", ""), p.stem) for p in PACKAGE.rglob("*.py")}
    assert found == set(modules())


@pytest.mark.parametrize(("tier", "module"), [m for m in modules() if m[0]])
def test_imports_point_down(tier: str, module: str) -> None:
    names = TIERS[tier]
    below = {f"{tier}.{m}" for m in names[:names.index(module)]}
    if "__init__" in names[:names.index(module)]:
        below.add(tier)
    allowed = below | MAY_IMPORT[tier]
    for dotted in own_imports(tier, module):
        other = dotted.partition(".")[0]
        assert dotted in allowed or other in MAY_IMPORT[tier], f"{tier}.{module} imports {dotted}"


@pytest.mark.parametrize("module", TIERS["tools"])
def test_tools_do_not_reach_into_the_wiring(module: str) -> None:
    assert own_imports("tools", module).isdisjoint(WIRING)


def test_the_named_imports_of_the_issue() -> None:
    assert "jose.issuer" not in own_imports("jose", "verifier")
    assert "integration.views" not in own_imports("integration", "policy")


@pytest.mark.slow
def test_the_jose_core_imports_without_pyramid() -> None:
    """Importing the whole JOSE tier loads no Pyramid, WebOb or zope module (a fresh interpreter)."""
    code = ("import sys\n"
            + "".join(f"import pyramid_jwtnode.jose.{m}\n" for m in TIERS["jose"] if m != "__init__")
            + "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('pyramid', 'webob', 'zope'))\n"
            + "assert not loaded, loaded\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_storage_imports_without_pyramid_or_the_jose_core() -> None:
    code = ("import sys\nimport pyramid_jwtnode.storage\n"
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('pyramid', 'webob', 'zope', 'jwt')"
            " or m.startswith('pyramid_jwtnode.jose'))\nassert not loaded, loaded\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("old", sorted(__import__("pyramid_jwtnode._moved", fromlist=["MOVED"]).MOVED))
def test_old_import_paths_still_work(old: str) -> None:
    """``pyramid_jwtnode.<module>`` of the flat layout is the module in its tier's folder."""
    from importlib import import_module

    from pyramid_jwtnode._moved import MOVED

    assert import_module(f"pyramid_jwtnode.{old}") is import_module(f"pyramid_jwtnode.{MOVED[old]}")
    module = import_module(f"pyramid_jwtnode.{MOVED[old]}")
    assert module.__spec__ is not None and module.__spec__.name == module.__name__  # its own, still


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
    node = get_jwt_runtime(config.registry, "api")
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
    assert get_jwt_runtime(config.registry, "api").config.expires_in == 120


def test_without_an_override_the_package_config_serves(package_module: str) -> None:
    with Configurator() as config:
        config.include(package_module)
    app = TestApp(config.make_wsgi_app())
    token = app.post("/package/token").json["access_token"]
    assert get_jwt_runtime(config.registry, "api").verifier.verify(token)["sub"] == "pkg"


def test_two_declarations_at_one_level_still_conflict() -> None:
    with pytest.raises(ConfigurationConflictError):
        with Configurator() as config:
            config.include("pyramid_jwtnode")
            config.add_jwt_config("api", algorithm="HS256", secret=HS256_SECRET, expires_in=60)
            config.add_jwt_config("api", algorithm="HS256", secret=HS256_SECRET, expires_in=90)


def test_the_old_names_of_a_ready_config_still_import() -> None:
    """A ready config was a "node": the documented names of then are aliases of the new ones."""
    from pyramid_jwtnode import JWTNode, JWTRuntime, build_node, build_runtime, get_jwt_node, get_jwt_runtime

    assert (JWTNode, build_node, get_jwt_node) == (JWTRuntime, build_runtime, get_jwt_runtime)


# -- docs/architecture.rst ------------------------------------------------------------------------

ARCHITECTURE = (Path(__file__).resolve().parent.parent / "docs" / "architecture.rst").read_text()


def _listed(prefix: str) -> dict[str, list[str]]:
    """``Modules of ``x/``: ``a``, ``b``'' (or ``Path of ``x``: ``a`` → ``b``'') lines, by x."""
    import re

    found = {}
    for line in ARCHITECTURE.splitlines():
        match = re.fullmatch(rf"{prefix} ``([\w /]+?)/?``: (.*)", line)
        if match:
            found[match.group(1)] = re.findall(r"``([\w.]+)``", match.group(2))
    return found


def test_the_architecture_page_lists_each_tiers_modules_in_order() -> None:
    listed = _listed("Modules of")
    assert set(listed) == {tier for tier in TIERS if tier}
    for tier, modules in listed.items():
        assert modules == [m for m in TIERS[tier] if m != "__init__"], tier


def test_the_architecture_page_draws_the_path_of_each_request() -> None:
    """The paths on the page are the modules real requests enter, in order (tests/paths.py)."""
    from .paths import four_requests

    listed = _listed("Path of")
    traced = four_requests()
    assert set(listed) == set(traced)
    for name, path in traced.items():
        assert listed[name] == list(dict.fromkeys(path)), name
