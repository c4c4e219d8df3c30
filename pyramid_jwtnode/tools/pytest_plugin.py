"""The pytest plugin (registered as ``pyramid_jwtnode`` under ``pytest11``).

``jwt_headers`` mints tokens with the app's own configuration, through the host project's
fixture that returns the app (a WebTest ``TestApp``, the WSGI app or its registry): the one
the ``jwt_app_fixture`` ini option names, else the first of ``testapp`` (the name the Pyramid
cookiecutter gives it), ``app`` and ``test_app`` that exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .testing import auth_header

__all__ = ["jwt_headers", "APP_FIXTURES"]


#: The fixture names tried, in order, when ``jwt_app_fixture`` names none.
APP_FIXTURES = ("testapp", "app", "test_app")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("jwt_app_fixture", "the fixture returning the app (TestApp, WSGI app or registry) "
                  f"that jwt_headers mints with; default: the first of {', '.join(APP_FIXTURES)}",
                  default="")


def _app_fixture(request: pytest.FixtureRequest) -> Any:
    configured = str(request.config.getini("jwt_app_fixture")).strip()
    for name in (configured,) if configured else APP_FIXTURES:
        try:
            return request.getfixturevalue(name)
        except pytest.FixtureLookupError:
            if configured:
                break
    wanted = f"a fixture named {configured!r} (jwt_app_fixture)" if configured else \
        f"a fixture named {' or '.join(APP_FIXTURES)}"
    raise pytest.UsageError(
        f"jwt_headers needs {wanted} that returns your app (a webtest.TestApp, the WSGI app or its "
        "registry). Fix: name your app fixture testapp, or set jwt_app_fixture = <its name> in your "
        "pytest configuration.")


@pytest.fixture
def jwt_headers(request: pytest.FixtureRequest) -> Callable[..., dict[str, str]]:
    """``jwt_headers(claims=None, config=None, expires_in=None)``: an ``Authorization`` header."""
    testapp: Any = _app_fixture(request)

    def headers(claims: Any = None, config: str | None = None,
                expires_in: int | None = None) -> dict[str, str]:
        return auth_header(testapp, claims, config, expires_in)

    return headers
