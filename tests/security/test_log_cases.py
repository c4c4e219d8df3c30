"""docs/security.rst, logs: tokens redacted after percent-decoding, credentials in a query
string masked by name, and the example's ini logging redacting what the root logger and the
app's own loggers write. The real gunicorn server is run with these cases in
tests/test_gunicorn.py."""

from __future__ import annotations

import io
import logging
import logging.config
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyramid_jwtnode.tools.deploy import REDACTED, RedactionFilter, redact

ROOT = Path(__file__).resolve().parent.parent.parent
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlLXNlY3JldA"
DOTS = JWT.replace(".", "%2E")  # the dots percent-encoded
E = "%65" + JWT[1:]  # the first letter percent-encoded


@pytest.mark.parametrize(("line", "expected"), [
    (f"GET /jwt/verify?access%5Ftoken={DOTS}&keep=1 HTTP/1.1",
     "GET /jwt/verify?access_token=[redacted]&keep=1 HTTP/1.1"),
    (f"GET /jwt/verify?access%5Ftoken={E} HTTP/1.1", "GET /jwt/verify?access_token=[redacted] HTTP/1.1"),
    (f"GET /jwt/verify?access%5Ftoken={E.replace('.', '%2E')} HTTP/1.1",
     "GET /jwt/verify?access_token=[redacted] HTTP/1.1"),
    ("GET /jwt/verify?access%5Ftoken=an-opaque-value&keep=1 HTTP/1.1",
     "GET /jwt/verify?access_token=[redacted]&keep=1 HTTP/1.1"),
    ("GET /x?%72efresh_token=opaque HTTP/1.1", "GET /x?refresh_token=[redacted] HTTP/1.1"),
    (f"GET /a/{DOTS}/b HTTP/1.1", "GET /a/[redacted]/b HTTP/1.1"),  # a token in the path
    (f"GET /a/{E.replace('%65', '%2565').replace('.', '%252E')} HTTP/1.1",
     "GET /a/[redacted] HTTP/1.1"),  # escaped twice
    ("GET /x?q=a%26access_token%3Dopaque HTTP/1.1", "GET /x?q=a&access_token=[redacted] HTTP/1.1"),
    ("GET /x?h=Authorization%3A%20Basic%20dXNlcjpwYXNz HTTP/1.1",
     "GET /x?h=Authorization:%20[redacted] HTTP/1.1"),
])
def test_percent_encoded_tokens_are_redacted_after_decoding(line: str, expected: str) -> None:
    assert redact(line) == expected


@pytest.mark.parametrize(("line", "expected"), [
    ("GET /jwt/generate?username=ada&password=hunter2&client_secret=s3cr3t-value&x=1 HTTP/1.1",
     "GET /jwt/generate?username=ada&password=[redacted]&client_secret=[redacted]&x=1 HTTP/1.1"),
    ("GET /jwt/generate?user%5Bpassword%5D=hunter2&new_password=correct%20horse HTTP/1.1",
     "GET /jwt/generate?user[password]=[redacted]&new_password=[redacted] HTTP/1.1"),
    ("GET /token?PASSWORD=hunter2;client_assertion=eyJx.y.z HTTP/1.1",
     "GET /token?PASSWORD=[redacted];client_assertion=[redacted] HTTP/1.1"),
    ("GET /token?code_verifier=v&device_code=d&api_key=k&keep=secretless HTTP/1.1",
     "GET /token?code_verifier=[redacted]&device_code=[redacted]&api_key=[redacted]&keep=secretless HTTP/1.1"),
    ("GET /x?p%61ssword=hunter2 HTTP/1.1", "GET /x?password=[redacted] HTTP/1.1"),
    ("GET /search?q=passwords&page=2 HTTP/1.1", "GET /search?q=passwords&page=2 HTTP/1.1"),
])
def test_credentials_in_a_query_string_are_masked_by_name(line: str, expected: str) -> None:
    assert redact(line) == expected


def test_a_decoded_line_never_forges_a_log_line() -> None:
    """A run written back decoded is escaped again: no line feed, quote or non-ASCII character
    that the client percent-encoded reaches the log as such."""
    out = redact("GET /x?access%5Ftoken=t%0A2026-01-01%20INFO%20forged%22%C3%A9 HTTP/1.1")
    assert out == "GET /x?access_token=[redacted]%0A2026-01-01%20INFO%20forged%22%C3%A9 HTTP/1.1"
    assert redact("GET /x?a=%zz&b=100% HTTP/1.1") == "GET /x?a=%zz&b=100% HTTP/1.1"


@pytest.fixture
def logging_state() -> Iterator[None]:
    """The logging tree as it was, back after the test (fileConfig replaces the root's
    handlers, this suite's log audit among them, and disables other loggers)."""
    root = logging.getLogger()
    saved_root = (root.handlers[:], root.level)
    loggers = {name: (lg.handlers[:], lg.level, lg.propagate, lg.disabled)
               for name, lg in logging.Logger.manager.loggerDict.items() if isinstance(lg, logging.Logger)}
    try:
        yield
    finally:
        for handler in root.handlers:
            if handler not in saved_root[0]:
                handler.close()
        root.handlers[:], root.level = saved_root
        for name, lg in logging.Logger.manager.loggerDict.items():
            if isinstance(lg, logging.Logger):
                handlers, level, propagate, disabled = loggers.get(name, ([], logging.NOTSET, True, False))
                lg.handlers[:], lg.level, lg.propagate, lg.disabled = handlers, level, propagate, disabled


def emit_everywhere() -> None:
    """Records with token material from the root logger, the app's own, the add-on's and a
    library's, one with a traceback."""
    logging.getLogger().warning("root saw Bearer %s", JWT)
    logging.getLogger("example_app").warning("app got /jwt/verify?access%%5Ftoken=%s", DOTS)
    logging.getLogger("example_app.views").error("login with password=%s", "hunter2")
    logging.getLogger("pyramid_jwtnode").warning("odd token %s", E)
    try:
        raise ValueError(f"failed on access_token={JWT}")
    except ValueError:
        logging.getLogger("some.library").exception("while calling out")


@pytest.mark.parametrize("ini", ["development.ini", "production.ini"])
def test_the_example_ini_logging_redacts_root_and_app_records(ini: str, logging_state: None,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The ini's logging, as pserve (and gunicorn --paste) sets it up from the file, redacts
    every record its handlers write, from any logger."""
    from pyramid.paster import setup_logging

    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)  # the console handler's args = (sys.stderr,)
    setup_logging(str(ROOT / "example_app" / ini))
    emit_everywhere()
    text = stream.getvalue()
    assert text.count(REDACTED) >= 5, text
    for secret in (JWT, "hunter2", "c2lnbmF0dXJl", "eyJzdWIi", "%65yJ"):
        assert secret not in text, text
    assert "ValueError: failed on access_token=[redacted]" in text
    assert "[example_app:" in text and "[root:" in text  # the app's own records are written


def test_the_filter_on_dict_config_handlers(logging_state: None) -> None:
    """With dictConfig, the filter goes on each handler, by its dotted name: the docs'
    example, as written (its console writing here)."""
    import copy
    import runpy

    stream = io.StringIO()
    config: dict[str, Any] = copy.deepcopy(
        runpy.run_path(str(ROOT / "docs" / "examples" / "redacted_logging.py"))["LOGGING"])
    config["handlers"]["console"]["stream"] = stream
    logging.config.dictConfig(config)
    assert isinstance(logging.getLogger().handlers[0].filters[0], RedactionFilter)
    emit_everywhere()
    text = stream.getvalue()
    for secret in (JWT, "hunter2", "c2lnbmF0dXJl", "%65yJ"):
        assert secret not in text, text


@given(st.lists(st.sampled_from([*"abcdeyJXYZ=%&?;:/. -_\"'\n", "eyJ", "Bearer ", "token=", "Cookie: ",
                                  "%65yJ", "%2E", "password=", "authorization"]), max_size=30).map("".join))
def test_the_fast_path_of_redact_changes_nothing(text: str) -> None:
    """redact() leaves a line without any rule's trigger as it is: for any text, the answer is
    the one every rule gives."""
    from pyramid_jwtnode.tools.deploy import _redact_all, redact

    assert redact(text) == _redact_all(text)
