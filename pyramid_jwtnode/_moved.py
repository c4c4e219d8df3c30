"""Old import paths keep working: ``pyramid_jwtnode.<module>`` of the flat layout (before
the tier folders) imports the module that now lives in its folder, as the same object.

New code imports from the new paths; these aliases are resolved on first import only.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import Final

#: old module name -> where it lives now
MOVED: Final = {
    "algorithms": "jose.algorithms", "limits": "jose.limits", "claims": "jose.claims",
    "rules": "jose.rules", "jwks": "jose.jwks", "keys": "jose.keys", "issuer": "jose.issuer",
    "verifier": "jose.verifier", "selection": "jose.choosing",
    "stores": "storage",
    "converters": "integration.converters", "settings": "integration.settings",
    "keyload": "integration.keyload", "interfaces": "integration.interfaces",
    "node": "integration.runtime", "revocation": "integration.revocation",
    "params": "integration.reading", "responses": "integration.responses",
    "cookies": "integration.cookies", "views": "integration.views", "policy": "integration.policy",
    "request": "integration.request", "csrf": "integration.csrf",
    "directives": "integration.directives",
    "cli": "tools.cli", "keygen": "tools.keygen", "testing": "tools.testing",
    "pytest_plugin": "tools.pytest_plugin", "deploy": "tools.deploy", "gunicorn": "tools.gunicorn",
    "flow": "flowimport.flow", "jsliteral": "flowimport.jsliteral",
}


class _Alias(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target
        self._spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target)
        self._spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The target module is imported already. The import system has just set its __spec__
        # to the old name's: put its own back, or a relative import made inside one of its
        # functions would resolve against the old package (ImportWarning, then the wrong module).
        module.__spec__ = self._spec


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: object = None, target: object = None
                  ) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != __package__ or name not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, _Alias(f"{__package__}.{MOVED[name]}"))


def install() -> None:
    """Resolve the old paths from now on (idempotent)."""
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.append(_Finder())
