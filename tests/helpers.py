"""Assertions shared by the test modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pyramid.exceptions import ConfigurationError


def raises_config_error(action: Callable[[], Any], key: str, *secrets: str) -> str:
    """``action()`` must raise ConfigurationError naming ``key`` and none of ``secrets``."""
    with pytest.raises(ConfigurationError) as info:
        action()
    message = str(info.value)
    assert key in message, message
    for secret in secrets:
        assert secret not in message, message
    assert "Fix" in message or "fix" in message or "Conflict" in message, message
    return message


def deny_reading(monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    """Make ``open(target)`` fail as an unreadable file does (root reads any file, so
    permission bits cannot show this in CI)."""
    real_open = open

    def deny(path: Any, *args: Any, **kwargs: Any) -> Any:
        if str(path) == target:
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", deny)
