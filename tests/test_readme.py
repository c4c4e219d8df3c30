"""The README's promises, run: the host-app example as written, the quick start's commands, and
links that work where the README is read (on PyPI too) and lead to pages the docs have."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import jwt
import pytest
from pyramid.paster import get_app
from webtest import TestApp

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
SECRET = "a-secret-of-at-least-thirty-two-bytes-for-hs256"


def block(marker: str) -> str:
    """The fenced code block that follows ``<!-- marker -->`` in the README."""
    match = re.search(rf"<!-- {re.escape(marker)} -->\n```\w+\n(.*?)```", README, re.S)
    assert match, f"README has no block marked {marker}"
    return match.group(1)


@pytest.fixture
def host_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestApp:
    """The README's host app, written to disk as a user would and loaded through its ini file."""
    (tmp_path / "myapp.py").write_text(block("host-app:python"))
    (tmp_path / "app.ini").write_text(block("host-app:ini").replace("use = egg:myapp", "use = call:myapp:main"))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "myapp", raising=False)
    monkeypatch.setenv("MYAPP_JWT_SECRET", SECRET)
    return TestApp(get_app(str(tmp_path / "app.ini")))


def test_the_host_app_logs_in_and_serves_a_protected_view(host_app: TestApp) -> None:
    res = host_app.post("/token", {"username": "alice", "password": "correct horse battery staple"})
    assert res.json["token_type"] == "Bearer" and res.json["expires_in"] == 900
    token = res.json["access_token"]
    assert jwt.decode(token, SECRET, algorithms=["HS256"])["sub"] == "alice"
    assert host_app.get("/orders", headers={"Authorization": f"Bearer {token}"}).json == {"for": "alice"}
    host_app.get("/orders", status=401)


@pytest.mark.parametrize("password", ["guess", "", "pässwörd ✓"])
def test_the_host_app_refuses_a_wrong_password_with_401(host_app: TestApp, password: str) -> None:
    res = host_app.post("/token", {"username": "alice", "password": password}, status=401)
    assert "access_token" not in res.text


def test_every_python_block_is_the_tested_one() -> None:
    assert README.count("```python") == 1 and "<!-- host-app:python -->\n```python" in README


def test_the_readme_is_a_front_page() -> None:
    assert len(README.splitlines()) <= 150


def test_the_quick_start_commands_are_what_ci_runs() -> None:
    commands = re.findall(r"```sh\n(python3 -m venv .*?)\n```", README)
    assert len(commands) == 2
    serve, test = commands
    assert serve.endswith("pserve example_app/development.ini")
    assert test in (ROOT / ".ci" / "run").read_text()


DOCS_SITE = "https://pyramid-jwtnode.readthedocs.io/en/latest/"


def test_links_are_absolute_and_lead_to_pages_the_docs_have() -> None:
    """Relative links break on PyPI, which shows this README."""
    links = re.findall(r"\]\(([^)]+)\)", README) + re.findall(r"^\[[\w-]+\]: (\S+)$", README, re.M)
    assert links
    for link in links:
        assert link.startswith("https://"), f"{link} is not absolute"
        if link.startswith(DOCS_SITE):
            page = link[len(DOCS_SITE):].split("#")[0].removesuffix(".html") or "index"
            assert (ROOT / "docs" / f"{page}.rst").exists(), f"{link}: no docs/{page}.rst"


def test_ci_stops_at_a_failure_inside_a_command_list() -> None:
    """`set -e` ignores a failing command inside an && list (all but its last): every such list
    in .ci/run ends with its own exit, or a failing pytest would let CI pass."""
    import subprocess

    script = (ROOT / ".ci" / "run").read_text()
    lists = [line for line in script.splitlines() if "&&" in line and not line.lstrip().startswith("#")]
    assert lists
    for line in lists:
        assert re.search(r"\|\| \{ .*exit 1; \}$", line), line
    # and the shell does what the comment in .ci/run says
    done = subprocess.run(["bash", "-c", "set -euo pipefail; true && false && true; echo went-on"],
                          capture_output=True, text=True)
    assert done.stdout.strip() == "went-on"
