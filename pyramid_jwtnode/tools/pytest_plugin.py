"""The pytest plugin (registered as ``pyramid_jwtnode`` under ``pytest11``).

``jwt_headers`` uses the host project's ``testapp`` fixture (the name the Pyramid
cookiecutter gives it) to mint tokens with the app's own configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .testing import auth_header

__all__ = ["jwt_headers"]


@pytest.fixture
def jwt_headers(request: pytest.FixtureRequest) -> Callable[..., dict[str, str]]:
    """``jwt_headers(claims=None, config=None, expires_in=None)``: an ``Authorization`` header."""
    testapp: Any = request.getfixturevalue("testapp")

    def headers(claims: Any = None, config: str | None = None,
                expires_in: int | None = None) -> dict[str, str]:
        return auth_header(testapp, claims, config, expires_in)

    return headers
