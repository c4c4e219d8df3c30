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


def serve_ini(ini: Any, port: int, env: dict[str, str] | None = None) -> Any:
    """The app of ``ini`` on waitress in a process of its own, on 127.0.0.1:``port``."""
    import os
    import socket
    import subprocess
    import sys
    import time

    code = ("import sys, waitress; from pyramid.paster import get_app; "
            "waitress.serve(get_app(sys.argv[1]), listen='127.0.0.1:' + sys.argv[2], threads=2, _quiet=True)")
    process = subprocess.Popen([sys.executable, "-c", code, str(ini), str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=env or {**os.environ, "PYTHONWARNINGS": "ignore"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("waitress did not start")


def http(method: str, url: str, data: dict[str, str] | None = None,
         token: str | None = None) -> tuple[int, Any]:
    """(status, JSON body or None) of one request, errors included."""
    import json
    import urllib.error
    import urllib.parse
    import urllib.request

    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
