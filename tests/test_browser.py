"""The example app's demo page, driven in a real headless Chromium (Debian's, by Playwright).

Each step as a user takes it: sign in, read protected data, change state (CSRF), refresh
silently when the access token has expired, sign out; and what page script cannot do (read
the access token) and another site cannot do (change state with the user's cookies, or sign
the user in to an account of its choosing: login CSRF).

Runs where Chromium and Playwright are installed (``.ci/run`` installs both and sets
``JWTNODE_REQUIRE_BROWSER=1``, which turns a missing browser into a failure). Set
``JWTNODE_SCREENSHOTS=DIR`` to write a screenshot of each step into DIR.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pyramid.paster import get_appsettings

from .conftest import NOW, Clock

pytestmark = pytest.mark.slow  # a real browser or Sphinx


EXAMPLE = Path(__file__).resolve().parent.parent / "example_app"
CHROMIUM = os.environ.get("JWTNODE_CHROMIUM", "/usr/bin/chromium")
#: As the machine's own probe starts it: headless, and quiet on a closed network.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _browser_or_skip() -> Any:
    required = os.environ.get("JWTNODE_REQUIRE_BROWSER") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            pytest.fail("playwright is required (JWTNODE_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("playwright not installed (pip install -e '.[testing]')")
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
        if required:
            pytest.fail(f"Chromium is required (JWTNODE_REQUIRE_BROWSER=1) but {CHROMIUM} is missing")
        pytest.skip("Chromium not installed: apt-get install chromium (CI installs it)")
    return sync_playwright


class Served:
    """A WSGI app on waitress in a thread of this process, on a free loopback port."""

    def __init__(self, app: Any) -> None:
        from waitress.server import create_server

        self.server = create_server(app, host="127.0.0.1", port=0, threads=4)
        self.port = self.server.socket.getsockname()[1]
        threading.Thread(target=self.server.run, daemon=True).start()

    def close(self) -> None:
        self.server.close()


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture(scope="module")
def demo(clock: Clock) -> Iterator[Served]:
    """The example app as development.ini makes it, with a clock the test moves."""
    from example_app import demo as demo_module
    from example_app import main

    demo_module.NOTES.clear()
    settings = {**get_appsettings(str(EXAMPLE / "development.ini")), "jwt.clock": clock}
    served = Served(main({}, **settings))
    yield served
    served.close()


@pytest.fixture(scope="module")
def attacker() -> Iterator[ThreadingHTTPServer]:
    """Another site (127.0.0.1 is not the same site as localhost) with a page that tries to
    change the user's notes on the demo, with a script and with a plain form."""
    target: dict[str, str] = {}

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            page = f"""<!doctype html><meta charset="utf-8"><title>a page elsewhere</title>
<form id="f" method="post" action="{target['notes']}"><input name="text" value="forged by a form"></form>
<form id="login" method="post" action="{target.get('login', '')}"><input name="username" value="ada">
<input name="password" value="lovelace"></form>
<p id="done">…</p>
<script>
  fetch("{target['notes']}", {{method: "POST", credentials: "include",
        body: new URLSearchParams({{text: "forged by fetch"}})}})
    .then(r => document.title = "fetch answered " + r.status)
    .catch(e => document.title = "fetch refused")
    .finally(() => {{ document.getElementById("done").textContent = "done"; }});
</script>""".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    server.target = target  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


class Steps:
    """Takes a screenshot after each step when JWTNODE_SCREENSHOTS names a directory."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.count = 0
        directory = os.environ.get("JWTNODE_SCREENSHOTS")
        self.directory = Path(directory) if directory else None
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)

    def done(self, name: str, page: Any = None) -> None:
        self.count += 1
        if self.directory is not None:
            shot = self.directory / f"{self.count:02d}-{name}.png"
            (page or self.page).screenshot(path=str(shot), full_page=True)


def test_the_demo_page_in_a_real_browser(demo: Served, attacker: ThreadingHTTPServer, clock: Clock) -> None:
    sync_playwright = _browser_or_skip()
    from example_app import demo as demo_module

    origin = f"http://localhost:{demo.port}"
    attacker.target["notes"] = f"{origin}/demo/api/notes"  # type: ignore[attr-defined]
    attacker.target["login"] = f"{origin}/demo/login"  # type: ignore[attr-defined]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            page = context.new_page()
            steps = Steps(page)
            page.goto(f"{origin}/demo/")
            steps.done("page")

            # 1. sign in: the answer holds no token; the tokens are HttpOnly cookies
            page.fill("#password", "lovelace")
            page.click("#signin-button")
            page.wait_for_selector("#account:not([hidden])")
            assert page.inner_text("#status") == "Signed in as ada."
            assert "holds no token" in page.inner_text("#log")
            steps.done("signed-in")

            # 2. page script cannot read the access (or refresh) token, only the CSRF value
            visible = page.evaluate("document.cookie")
            assert "browser_csrf=" in visible
            assert "browser_access" not in visible and "browser_refresh" not in visible
            cookies = {c["name"]: c for c in context.cookies(origin)}
            assert cookies["browser_access"]["httpOnly"] and cookies["browser_access"]["sameSite"] == "Lax"
            assert not cookies["browser_csrf"]["httpOnly"]
            assert cookies["browser_access"]["value"].count(".") == 2  # a JWT, out of script's reach

            # 3. protected data
            page.click("#whoami")
            page.wait_for_selector("#me:not(:empty)")
            assert page.inner_text("#me") == "ada (config browser)"
            steps.done("protected-data")

            # 4. a state change, with the token's CSRF value in X-CSRF-Token
            page.fill("#note", "hello from the browser")
            page.click("#add-note")
            page.wait_for_selector("#notes li")
            assert page.inner_text("#notes") == "hello from the browser"
            steps.done("state-change")

            # 5. the access token expires: the next call refreshes silently and succeeds
            clock.advance(301)
            page.evaluate("document.querySelector('#me').textContent = ''")
            page.click("#whoami")
            page.wait_for_selector("#me:not(:empty)")
            assert page.inner_text("#me") == "ada (config browser)"
            assert "refreshed silently" in page.inner_text("#log")
            steps.done("silent-refresh")

            # 6. another site cannot change state with the user's cookies
            other = context.new_page()
            other.goto(f"http://127.0.0.1:{attacker.server_address[1]}/")
            other.wait_for_selector("#done:text('done')")
            other.evaluate("document.getElementById('f').submit()")
            other.wait_for_load_state()
            steps.done("cross-site", other)
            other.close()
            assert demo_module.NOTES == {"ada": ["hello from the browser"]}

            # 7. sign out: the cookies are gone and the token refused
            access = context.cookies(origin)
            page.click("#signout")
            page.wait_for_selector("#signin:not([hidden])")
            assert not [c for c in context.cookies(origin) if c["name"].startswith("browser_")]
            steps.done("signed-out")
            context.add_cookies([c for c in access if c["name"] == "browser_access"])
            status = page.evaluate("fetch('/demo/api/me', {credentials: 'same-origin'}).then(r => r.status)")
            assert status == 401
            assert "the session revoked" in page.inner_text("#log")

            # 8. login CSRF: another site's form posting credentials to the login signs nobody in
            context.clear_cookies()
            other = context.new_page()
            other.goto(f"http://127.0.0.1:{attacker.server_address[1]}/")
            other.wait_for_selector("#done:text('done')")
            with other.expect_navigation():
                other.evaluate("document.getElementById('login').submit()")
            other.wait_for_load_state()
            assert "cross_site_request" in other.inner_text("body")
            steps.done("login-csrf-refused", other)
            other.close()
            assert not [c for c in context.cookies(origin) if c["name"].startswith("browser_")]
        finally:
            browser.close()


def test_the_debug_toolbar_panel_in_a_real_browser(demo: Served, clock: Clock) -> None:
    """development.ini's toolbar, its "JWT" tab opened in Chromium: the token route's token,
    used on a protected view, shows its config, outcome, checks, claims, principals and the ACL
    entry that allowed it, and never its signature. With JWTNODE_SCREENSHOTS set, the panel's
    screenshot (the docs show it)."""
    import json
    import urllib.request

    sync_playwright = _browser_or_skip()
    origin = f"http://127.0.0.1:{demo.port}"
    with urllib.request.urlopen(f"{origin}/jwt/generate", timeout=10) as answer:
        token = json.load(answer)["access_token"]
    request = urllib.request.Request(f"{origin}/jwt/offices", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
            page.goto(f"{origin}/_debug_toolbar/")  # the last request's toolbar: the protected view's
            page.click("#pDebugPanel-jwt a")
            panel = page.locator("#pDebugPanel-jwt-content")
            panel.wait_for(state="visible")
            shown = panel.inner_text()
            assert "Policy of igniteadmin, browser" in shown
            assert "accepted" in shown and "igniteadmin" in shown and "Authorization header" in shown
            assert "signature\tpass" in shown or "signature pass" in shown.replace("\t", " ")
            assert '"name": "CYber Group Inc."' in shown
            assert "view\tallowed" in shown and "system.Authenticated" in shown  # the ACL entry
            assert token.rpartition(".")[2] not in panel.inner_html()
            assert page.inner_text("#pDebugPanel-jwt").strip().startswith("accepted")  # the tab's badge
            directory = os.environ.get("JWTNODE_SCREENSHOTS")
            if directory:
                Path(directory).mkdir(parents=True, exist_ok=True)
                page.add_style_tag(content=".navbar-fixed-top { display: none; }")  # it covers the panel's top
                panel.screenshot(path=str(Path(directory) / "debugtoolbar-jwt-panel.png"))
        finally:
            browser.close()
