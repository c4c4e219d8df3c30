"""``pjwt``, through ``main(argv)`` as the console script calls it, and once as a real process."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import jwt
import pytest
from pyramid.paster import get_app
from webtest import TestApp

from pyramid_jwtnode.tools.cli import main

from .conftest import HS256_SECRET

EXAMPLE = Path(__file__).resolve().parent.parent / "example_app"
TESTING_INI = str(EXAMPLE / "testing.ini")
DEV_SECRET = "development-only-secret-do-not-use-in-production"


def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_configs_lists_without_secrets() -> None:
    code, out, err = run("configs", TESTING_INI)
    assert code == 0, err
    assert out.startswith("igniteadmin\n")
    assert "HS256" in out and "86400 s" in out and "token GET /jwt/generate" in out
    assert "verify GET /jwt/verify" in out and "security policy yes" in out
    assert DEV_SECRET not in out + err


def test_configs_json() -> None:
    code, out, _ = run("configs", TESTING_INI, "--json")
    config, demo = json.loads(out)  # in the order jwt.configs lists them
    assert config["name"] == "igniteadmin" and config["claims_key"] == "data"
    assert demo["name"] == "browser" and demo["token_location"] == ["cookie"]
    assert DEV_SECRET not in out


def test_mint_then_verify() -> None:
    code, token, _ = run("mint", TESTING_INI, "--claim", "name=Ada", "--claim", 'roles=["admin"]',
                         "--claim", "n=42", "--expires-in", "60")
    assert code == 0
    claims = jwt.decode(token.strip(), DEV_SECRET, algorithms=["HS256"])
    assert claims["data"] == {"name": "Ada", "roles": ["admin"], "n": 42}
    assert claims["exp"] - claims["iat"] == 60
    code, out, _ = run("verify", TESTING_INI, token.strip())
    assert code == 0 and json.loads(out)["data"]["name"] == "Ada"


def test_verify_accepts_the_token_of_the_example_http_route() -> None:
    token = TestApp(get_app(TESTING_INI)).get("/jwt/generate").json["access_token"]
    code, out, _ = run("verify", TESTING_INI, stdin=f"Bearer {token}\n")
    assert code == 0
    assert json.loads(out)["data"]["name"] == "CYber Group Inc."


@pytest.mark.parametrize("token", ["garbage", "a.b.c"])
def test_verify_refuses_with_a_reason_and_exit_1(token: str) -> None:
    code, out, err = run("verify", TESTING_INI, token)
    assert code == 1 and out == ""
    assert "token refused by jwt config 'igniteadmin'" in err


def test_verify_refuses_another_key() -> None:
    forged = jwt.encode({"data": {}, "exp": 4102444800}, "x" * 40, algorithm="HS256")
    code, _, err = run("verify", TESTING_INI, forged)
    assert code == 1 and "bad_signature" in err and forged not in err


def test_claims_json_file_and_stdin(tmp_path: Path) -> None:
    path = tmp_path / "claims.json"
    path.write_text('{"name": "from-file"}')
    code, token, _ = run("mint", TESTING_INI, "--claims-json", str(path))
    assert jwt.decode(token.strip(), DEV_SECRET, algorithms=["HS256"])["data"] == {"name": "from-file"}
    code, token, _ = run("mint", TESTING_INI, "--claims-json", "-", stdin='{"name": "stdin"}')
    assert jwt.decode(token.strip(), DEV_SECRET, algorithms=["HS256"])["data"] == {"name": "stdin"}


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["configs", "/nonexistent/app.ini"], "", "no ini file"),
        (["mint", TESTING_INI, "--claim", "novalue"], "", "NAME=VALUE"),
        (["mint", TESTING_INI, "--claims-json", "-"], "[1, 2]", "JSON object"),
        (["mint", TESTING_INI, "--claims-json", "-"], "{nope", "cannot read JSON"),
        (["mint", TESTING_INI, "--expires-in", "0"], "", "positive"),
        (["mint", TESTING_INI, "--config", "nope"], "", "no jwt config named 'nope'"),
        (["verify", TESTING_INI], "", "no token given"),
    ],
)
def test_bad_input_exits_2(argv: list[str], stdin: str, message: str) -> None:
    code, out, err = run(*argv, stdin=stdin)
    assert code == 2 and out == ""
    assert message in err


def write_ini(tmp_path: Path, lines: str) -> str:
    path = tmp_path / "app.ini"
    path.write_text("[app:main]\nuse = call:example_app:main\n" + lines)
    return str(path)


def test_refused_configuration_exits_2_without_the_secret(tmp_path: Path) -> None:
    ini = write_ini(tmp_path, "jwt.configs = a\njwt.a.algorithm = HS256\njwt.a.expires_in = 60\n"
                              "jwt.a.secret = short-secret-value\n")
    code, _, err = run("configs", ini)
    assert code == 2 and "jwt.a.secret" in err and "short-secret-value" not in err


def test_several_configs_need_config(tmp_path: Path) -> None:
    ini = write_ini(tmp_path, "jwt.configs = a b\n" + "".join(
        f"jwt.{n}.algorithm = HS256\njwt.{n}.expires_in = 60\njwt.{n}.secret = {'s' * 40}\n" for n in "ab"))
    code, _, err = run("mint", ini)
    assert code == 2 and "--config" in err
    assert run("mint", ini, "--config", "b")[0] == 0


@pytest.mark.parametrize("algorithm", ["ES256", "RS256", "EdDSA", "HS384"])
def test_keygen_writes_keys_an_app_can_use(tmp_path: Path, algorithm: str) -> None:
    code, out, _ = run("keygen", "--algorithm", algorithm, "--out", str(tmp_path / "keys"),
                       "--name", "svc", *(["--bits", "2048"] if algorithm == "RS256" else []))
    assert code == 0
    ini_lines = out.split("# for the ini file (with your own expires_in):\n", 1)[1]
    assert ini_lines.startswith(f"jwt.svc.algorithm = {algorithm}\n")
    secret_file = tmp_path / "keys" / ("svc.key" if algorithm == "HS384" else "svc.pem")
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    ini = write_ini(tmp_path, f"jwt.configs = svc\njwt.svc.expires_in = 60\n{ini_lines}")
    code, token, _ = run("mint", ini, "--claim", "sub=me")
    assert code == 0
    code, out, _ = run("verify", ini, token.strip())
    assert code == 0 and json.loads(out)["sub"] == "me"


def test_keygen_refuses_to_overwrite(tmp_path: Path) -> None:
    assert run("keygen", "--algorithm", "ES256", "--out", str(tmp_path))[0] == 0
    before = (tmp_path / "main.pem").read_bytes()
    code, _, err = run("keygen", "--algorithm", "ES256", "--out", str(tmp_path))
    assert code == 2 and "--force" in err
    assert (tmp_path / "main.pem").read_bytes() == before
    assert run("keygen", "--algorithm", "ES256", "--out", str(tmp_path), "--force")[0] == 0
    assert (tmp_path / "main.pem").read_bytes() != before


def test_keygen_hs_secret_has_the_hash_length(tmp_path: Path) -> None:
    run("keygen", "--algorithm", "HS512", "--out", str(tmp_path))
    assert len((tmp_path / "main.key").read_bytes().strip()) >= 64


def test_help_for_each_command() -> None:
    for command in ("configs", "mint", "verify", "keygen"):
        with pytest.raises(SystemExit) as info:
            main([command, "--help"], stdout=io.StringIO())
        assert info.value.code == 0


@pytest.mark.slow
def test_console_script_as_a_real_process(tmp_path: Path) -> None:
    """The installed entry point, as a new user runs it."""
    env: dict[str, Any] = {**os.environ, "PYTHONWARNINGS": "ignore"}
    pjwt = Path(sys.executable).with_name("pjwt")
    mint = subprocess.run([str(pjwt), "mint", TESTING_INI, "--claim", "name=proc"],
                          capture_output=True, text=True, env=env, check=True)
    verify = subprocess.run([str(pjwt), "verify", TESTING_INI], input=mint.stdout,
                            capture_output=True, text=True, env=env)
    assert verify.returncode == 0, verify.stderr
    assert json.loads(verify.stdout)["data"]["name"] == "proc"


@pytest.mark.slow
def test_a_closed_pipe_is_no_traceback() -> None:
    """pjwt configs app.ini | head -c 10: the reader goes away, pjwt ends quietly."""
    import subprocess
    import sys

    script = ("import sys; from pyramid_jwtnode.tools.cli import main; "
              "sys.exit(main(['configs', 'example_app/development.ini', '--json']))")
    read_fd, write_fd = os.pipe()
    os.close(read_fd)  # nobody reads: every write is a broken pipe
    result = subprocess.run([sys.executable, "-c", script], stdout=write_fd, stderr=subprocess.PIPE,
                            cwd=Path(__file__).resolve().parent.parent, text=True, timeout=60)
    os.close(write_fd)
    assert result.returncode == 141 and result.stderr == "", result.stderr


def test_mint_warns_when_the_policy_would_refuse_the_token(tmp_path: Path) -> None:
    """A token without the userid_claim authenticates nobody: pjwt says so on stderr (exit 0)."""
    ini = tmp_path / "app.ini"
    ini.write_text("[app:main]\nuse = call:example_app:main\njwt.configs = a\njwt.a.algorithm = HS256\n"
                   f"jwt.a.secret = {HS256_SECRET}\njwt.a.expires_in = 60\njwt.security_policy = a\n")
    out, err = io.StringIO(), io.StringIO()
    assert main(["mint", str(ini), "--claim", "role=admin"], stdout=out, stderr=err) == 0
    assert out.getvalue().count(".") == 2
    assert "names no user in its 'sub' claim" in err.getvalue() and "--claim sub=" in err.getvalue()
    err = io.StringIO()
    assert main(["mint", str(ini), "--claim", "sub=alice"], stdout=io.StringIO(), stderr=err) == 0
    assert err.getvalue() == ""
