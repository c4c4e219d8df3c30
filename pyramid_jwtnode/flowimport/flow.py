"""A flow of the recipe's system (exported Node-RED JSON), translated for ``pjwt import-flow``.

The recipe's flow is ``http in -> function -> jwt (generate) -> function -> http
response`` around a ``jwt-config`` node. :func:`translate` turns the parsed JSON
array into a :class:`Translation`: the ``jwt.*`` ini lines, a module of payload
callables those lines name, the key material to write beside them and a report
of what was mapped, what was skipped and why, and what needs a hand translation.
Nothing here touches the file system or prints; :mod:`pyramid_jwtnode.tools.cli`
writes the files. Bad input raises :class:`FlowError`, which names the node.

JavaScript is never run. A function node that only assigns an object literal to
``msg.payload`` (and returns ``msg``) is read by a small parser of literals:
JSON's values plus what JavaScript adds (bare or single-quoted keys,
single-quoted strings, trailing commas, comments, hex numbers). Anything else
becomes a callable that raises ``NotImplementedError`` with the node's
JavaScript in its docstring.
"""

from __future__ import annotations

import dataclasses
import json
import keyword
import pprint
import re
import textwrap
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pyramid.exceptions import ConfigurationError

from ..integration.settings import CONFIGS_KEY, PREFIX, parse_config
from ..jose.algorithms import ALGORITHMS, HMAC_MIN_BYTES, hmac_secret_problem, is_hmac
from .jsliteral import TOKEN, NotLiteral, payload_literal

__all__ = [
    "INI_FILE",
    "MODULE",
    "MODULE_FILE",
    "FlowError",
    "SecretFile",
    "Translation",
    "parse_flow",
    "translate",
]

#: What ``pjwt import-flow`` writes: the ini lines and the module they name.
INI_FILE: Final = "jwt.ini"
MODULE: Final = "flow_payloads"
MODULE_FILE: Final = f"{MODULE}.py"

#: The recipe's token layout, ``{"data": <payload>, "iat": t, "exp": t + expiresin}``.
_LAYOUT: Final = (("claims_key", "data"), ("jti", "false"))
#: The only route shape that becomes a token view.
TOKEN_SHAPE: Final = ("http in", "function", "jwt", "function", "http response")
_ARROW: Final = " -> "
_TYPE_REASONS: Final = {
    "tab": "a flow tab, which only groups nodes",
    "subflow": "a subflow definition: export the flow with the subflow's nodes in place",
    "group": "a group, which only frames nodes",
    "comment": "a comment",
    "debug": "debug output: the add-on logs refusals on the pyramid_jwtnode logger instead",
}


class FlowError(ValueError):
    """A flow that cannot be imported; ``node_id`` names the node at fault, when there is one."""

    def __init__(self, message: str, node_id: str | None = None) -> None:
        super().__init__(f"node {node_id}: {message}" if node_id is not None else message)
        self.node_id = node_id


@dataclasses.dataclass(frozen=True)
class SecretFile:
    """Key material the flow held, to be written beside :data:`INI_FILE` with mode 0600."""

    filename: str
    data: bytes = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class Translation:
    """Everything ``pjwt import-flow`` writes and prints for one flow."""

    ini: str
    module: str
    secrets: tuple[SecretFile, ...]
    report: tuple[str, ...]
    #: Callables of the module that raise ``NotImplementedError`` until translated by hand.
    stubs: tuple[str, ...]


def parse_flow(text: str) -> Any:
    """The JSON of an exported flow (duplicate member names and ``NaN`` refused)."""

    def members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, value in pairs:
            if key in found:
                raise FlowError(f"the flow is not usable JSON: an object names {key!r} twice")
            found[key] = value
        return found

    def constant(name: str) -> Any:
        raise FlowError(f"the flow is not usable JSON: {name} is not a JSON number")

    try:
        return json.loads(text, object_pairs_hook=members, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise FlowError(f"the flow is not JSON ({exc.msg} at line {exc.lineno}, column "
                        f"{exc.colno}); export it again from the recipe's system") from None
    except RecursionError:
        raise FlowError("the flow is not usable JSON: it is nested too deeply") from None


# -- the nodes --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Node:
    id: str
    type: str
    raw: Mapping[str, Any]
    targets: tuple[str, ...]
    disabled: bool

    @property
    def title(self) -> str:
        """The node's type and name (an ``http in`` node's method and url)."""
        if self.type == "http in":
            method = self.raw.get("method", "get")
            return f"http in {_one_line(method, 10).upper()} {_one_line(self.raw.get('url'))}"
        name = _one_line(self.raw.get("label" if self.type == "tab" else "name"))
        return f"{self.type} {json.dumps(name, ensure_ascii=False)}" if name else self.type

    @property
    def label(self) -> str:
        """How the report names the node: its title and id."""
        return f"{self.title} ({self.id})"


def _one_line(value: Any, limit: int = 80) -> str:
    """Text safe for one line of a report, an ini comment or a docstring's first line."""
    if not isinstance(value, str):
        return ""
    text = " ".join("".join(c if c.isprintable() else " " for c in value).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _nodes(flow: Any) -> list[_Node]:
    if not isinstance(flow, list):
        raise FlowError("the flow is not a JSON array of nodes; export it again from the "
                        "recipe's system (Export, JSON)")
    nodes: list[_Node] = []
    seen: set[str] = set()
    for index, item in enumerate(flow):
        if not isinstance(item, dict):
            raise FlowError(f"item {index} of the flow is not a node (a JSON object)")
        node_id, node_type = item.get("id"), item.get("type")
        if not isinstance(node_id, str) or not node_id.strip() or not node_id.isprintable():
            raise FlowError(f"item {index} of the flow has no usable id")
        if not isinstance(node_type, str):
            raise FlowError("the node has no type", node_id)
        if node_id in seen:
            raise FlowError("two nodes of the flow have this id; export it again", node_id)
        seen.add(node_id)
        wires = item.get("wires", [])
        if not (isinstance(wires, list) and all(
                isinstance(out, list) and all(isinstance(t, str) for t in out) for out in wires)):
            raise FlowError("its wires are not lists of node ids", node_id)
        targets = tuple(dict.fromkeys(t for out in wires for t in out))
        nodes.append(_Node(node_id, node_type, item, targets, item.get("d") is True))
    tabs_off = {n.id for n in nodes if n.type == "tab" and n.raw.get("disabled") is True}
    return [dataclasses.replace(n, disabled=True) if n.raw.get("z") in tabs_off else n
            for n in nodes]


# -- jwt-config nodes -------------------------------------------------------------------


@dataclasses.dataclass
class _Config:
    node: _Node
    name: str
    algorithm: str
    expires_in: int
    settings: dict[str, str] = dataclasses.field(default_factory=dict)
    comments: dict[str, str] = dataclasses.field(default_factory=dict)
    secret_line: str = ""
    token_route: str | None = None
    verify_route: str | None = None


def _ascii_words(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _unique(name: str, taken: set[str], limit: int) -> str:
    candidate, number = name[:limit], 2
    while candidate.lower() in taken:
        suffix = f"_{number}"
        candidate, number = name[:limit - len(suffix)] + suffix, number + 1
    taken.add(candidate.lower())
    return candidate


def _config_name(node: _Node, raw_name: str, taken: set[str]) -> str:
    """A name the add-on takes: letters, digits, '_', '-', starting with a letter, 64 at most."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", _ascii_words(raw_name)).strip("_-")
    if not name:
        name = "jwt_" + re.sub(r"[^A-Za-z0-9_-]+", "_", node.id).strip("_-")
    elif not name[0].isalpha():
        name = "jwt_" + name
    return _unique(name, taken, 64)


def _algorithm(node: _Node) -> str:
    algorithm = node.raw.get("algorithm")
    if isinstance(algorithm, str) and algorithm.strip().lower() == "none":
        raise FlowError("the jwt-config's algorithm is 'none', which signs nothing and which the "
                        "add-on refuses. Fix: choose HS256 (or another algorithm) in the flow",
                        node.id)
    if algorithm not in ALGORITHMS:
        shown = repr(algorithm)[:40] if algorithm is not None else "missing"
        raise FlowError(f"the jwt-config's algorithm {shown} is not one the add-on supports. "
                        f"Fix: choose one of {', '.join(ALGORITHMS)} in the flow", node.id)
    assert isinstance(algorithm, str)
    return algorithm


def _expires_in(node: _Node) -> int:
    value = node.raw.get("expiresin")
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        seconds = int(value)
    else:
        seconds = 0
    if seconds <= 0:
        raise FlowError("the jwt-config's expiresin is not a whole number of seconds above zero. "
                        "Fix: set it in the flow, e.g. 86400 for a day", node.id)
    return seconds


def _flow_secret(node: _Node) -> str | None:
    """The secret a Node-RED export may hold: ``credentials.secret`` or ``secret``."""
    credentials = node.raw.get("credentials")
    found = {value for value in (
        credentials.get("secret") if isinstance(credentials, dict) else None,
        node.raw.get("secret"),
    ) if isinstance(value, str) and value}
    if len(found) > 1:
        raise FlowError("the jwt-config holds two different secrets (secret and "
                        "credentials.secret). Fix: keep one in the flow", node.id)
    return found.pop() if found else None


def _utf8(text: str) -> bytes | None:
    """``text`` as UTF-8, or ``None`` when it holds what UTF-8 cannot (a lone surrogate)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return None


def _env_name(name: str, taken: set[str]) -> str:
    return _unique(re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_JWT_SECRET", taken, 128)


def _key_material(config: _Config, env_names: set[str]) -> SecretFile | None:
    """Set the config's key settings; the file to write, when the flow held usable material."""
    name, algorithm, secret = config.name, config.algorithm, _flow_secret(config.node)
    if not is_hmac(algorithm):
        pem = f"{name}.pem"
        config.settings["private_key_file"] = f"%(here)s/{pem}"
        pem_data = None if secret is None else _utf8(secret.strip() + "\n")
        if pem_data is not None and re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----", secret or ""):
            config.comments["private_key_file"] = f"the flow's private key, in {pem} (mode 0600)"
            config.secret_line = (f"{PREFIX}{name}: the flow's private key is written to {pem} "
                                  f"(mode 0600); keep it beside the ini file these lines go "
                                  "into, and out of version control")
            return SecretFile(pem, pem_data)
        config.comments["private_key_file"] = (f"make it with: pjwt keygen --algorithm {algorithm} "
                                               f"--name {name} --out <this ini file's directory>")
        config.secret_line = (
            f"{PREFIX}{name}: {algorithm} signs with a key pair the flow does not hold"
            + (" (its secret is not a PEM private key, so it is not copied)" if secret else "")
            + f": put the old system's PEM private key in {pem} beside the ini file, so its "
            f"tokens keep verifying, or make a new pair with `pjwt keygen --algorithm "
            f"{algorithm} --out <the ini file's directory> --name {name}`")
        return None
    data = None if secret is None else _utf8(secret)
    problem = None if data is None else hmac_secret_problem(algorithm, data)
    if secret is not None and data is None:
        problem = ("is not text that UTF-8 can hold", "")
    elif secret is not None and problem is None and secret != secret.strip():
        problem = ("has white space around it, which secret_file strips", "")
    if data is not None and problem is None:
        filename = f"{name}.secret"
        config.settings["secret_file"] = f"%(here)s/{filename}"
        config.comments["secret_file"] = f"the flow's secret, in {filename} (mode 0600), never here"
        config.secret_line = (f"{PREFIX}{name}: the flow's secret is written to {filename} (mode "
                              "0600), not into the ini file; keep it beside the ini file these "
                              "lines go into, and out of version control")
        return SecretFile(filename, data + b"\n")
    env = _env_name(name, env_names)
    config.settings["secret_env"] = env
    config.comments["secret_env"] = f"the secret comes from the environment: export {env}"
    source = ("the flow holds no secret" if problem is None else
              f"the flow's secret {problem[0]}, so it is not copied")
    old = (f"to the old system's secret of {config.node.label}, so the tokens it issued keep "
           "verifying, or " if problem is None else "")
    config.secret_line = (
        f"{PREFIX}{name}: {source}; the app reads it from the environment variable {env}. "
        f"Set it {old}to a new random secret of at least {HMAC_MIN_BYTES[algorithm]} bytes, "
        "e.g. $(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')")
    return None


def _configs(nodes: Sequence[_Node]) -> dict[str, _Config]:
    configs: dict[str, _Config] = {}
    names: set[str] = set()
    originals: dict[str, str] = {}
    for node in nodes:
        if node.type != "jwt-config":
            continue
        raw_name = node.raw.get("name", "")
        if not isinstance(raw_name, str):
            raise FlowError("the jwt-config's name is not text", node.id)
        if raw_name.strip() and raw_name.strip() in originals:
            raise FlowError(f"two jwt-configs are named {json.dumps(raw_name.strip())} (this one "
                            f"and {originals[raw_name.strip()]}). Fix: rename one in the flow",
                            node.id)
        originals[raw_name.strip()] = node.id
        configs[node.id] = _Config(node, _config_name(node, raw_name.strip(), names),
                                   _algorithm(node), _expires_in(node))
    return configs


# -- routes -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Route:
    """A straight path from an ``http in`` node, and what it becomes (or why not)."""

    start: _Node
    path: tuple[_Node, ...]
    method: str
    url: str
    jwt: _Node | None
    skipped: str | None


def _generates(node: _Node) -> bool:
    """The jwt node's mode: generate (True) or validate (False)."""
    mode = node.raw.get("generatejwt")
    if mode in (True, "true"):
        return True
    if mode in (False, "false"):
        return False
    raise FlowError(f"the jwt node's generatejwt is {json.dumps(mode)[:40]}; expected true "
                    "(generate) or false (validate)", node.id)


def _check_jwt_nodes(nodes: Sequence[_Node], configs: Mapping[str, _Config]) -> None:
    for node in nodes:
        if node.type != "jwt":
            continue
        ref = node.raw.get("jwtconfig")
        if not isinstance(ref, str) or not ref:
            raise FlowError("the jwt node names no jwt-config. Fix: choose a configuration in "
                            "the jwt node", node.id)
        if ref not in configs:
            raise FlowError(f"the jwt node names jwt-config {ref}, which the flow does not hold. "
                            "Fix: export the flow together with its configuration nodes", node.id)
        _generates(node)


def _walk(start: _Node, by_id: Mapping[str, _Node]) -> tuple[tuple[_Node, ...], str | None]:
    """The straight path from ``start`` (debug taps ignored), or why it is not straight."""
    path = [start]
    while not (path[-1].type == "jwt" and not _generates(path[-1])):
        node = path[-1]
        targets = [t for t in node.targets if t not in by_id or by_id[t].type != "debug"]
        if not targets:
            return tuple(path), None
        if len(targets) > 1:
            return tuple(path), (f"{node.label} sends to several nodes; only a straight path is "
                                 "translated")
        nxt = by_id.get(targets[0])
        if nxt is None:
            return tuple(path), (f"{node.label} is wired to {_one_line(targets[0], 40)}, which "
                                 "the flow does not hold")
        if nxt in path:
            return tuple(path), "the path loops"
        if nxt.disabled:
            return tuple(path), f"{nxt.label} is disabled"
        path.append(nxt)
    return tuple(path), None


_SAFE_URL: Final = re.compile(r"/[A-Za-z0-9._~/-]*")


def _route(start: _Node, by_id: Mapping[str, _Node]) -> _Route:
    method, url = start.raw.get("method", "get"), start.raw.get("url")
    if not isinstance(method, str) or not isinstance(url, str) or not url.strip():
        raise FlowError("the http in node needs a method and a url", start.id)
    method, url = _one_line(method, 10).upper(), url.strip()
    url = url if url.startswith("/") else "/" + url
    path, broken = _walk(start, by_id)
    jwt = next((n for n in path if n.type == "jwt"), None)
    shape = _ARROW.join(n.type for n in path)

    def route(skipped: str | None) -> _Route:
        return _Route(start, path, method, url, jwt, skipped)

    if start.disabled:
        return route("disabled in the flow")
    if broken:
        return route(broken)
    if jwt is None:
        return route(f"no jwt node on its path ({shape})")
    if not _SAFE_URL.fullmatch(url):
        return route("its url has route parameters, wildcards or characters that are not "
                     "translated (letters, digits and / . _ ~ - are)")
    if _generates(jwt):
        if tuple(n.type for n in path) != TOKEN_SHAPE:
            return route(f"its path is {shape}, not {_ARROW.join(TOKEN_SHAPE)}")
        if method not in ("GET", "POST"):
            return route(f"the method is {method}; a token view takes GET or POST")
        return route(None)
    if any(n.type != "function" for n in path[1:-1]):
        return route(f"its path is {shape}, not http in -> (function ->) jwt")
    if method != "GET":
        return route(f"the method is {method}; the verify view answers GET")
    return route(None)


# -- function nodes as Python -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Callable:
    """A function of the generated module; ``stub`` ones raise ``NotImplementedError``."""

    name: str
    code: str
    stub: bool

    @property
    def dotted(self) -> str:
        return f"{MODULE}:{self.name}"


def _identifier(label: str, fallback: str, taken: set[str]) -> str:
    name = re.sub(r"[^a-z0-9]+", "_", _ascii_words(label).lower()).strip("_") or fallback
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    if keyword.iskeyword(name) or name in ("annotations", "any", "request", "issued"):
        name += "_"
    return _unique(name, taken, 60)


def _doc_text(text: str) -> str:
    """``text`` inside a triple-quoted docstring: backslashes, quotes and controls escaped."""
    escaped = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return "".join(c if c.isprintable() or c in "\n\t" else c.encode("unicode_escape").decode("ascii")
                   for c in escaped)


def _read(node: _Node, token: bool) -> dict[str, Any] | None:
    """The object the function node assigns to ``msg.payload``, when that is all it does."""
    func = node.raw.get("func", "")
    if not isinstance(func, str):
        raise FlowError("the function node's func is not text", node.id)
    if node.raw.get("libs") or any(isinstance(node.raw.get(key), str) and node.raw[key].strip()
                                   for key in ("initialize", "finalize")):
        return None
    try:
        value: dict[str, Any] = payload_literal(func, token)
    except NotLiteral:
        return None
    return value


def _source(node: _Node) -> str:
    """The function node's JavaScript, its start-up and stop code included."""
    parts = []
    for key, title in (("initialize", "On Start"), ("func", "On Message"), ("finalize", "On Stop")):
        code = node.raw.get(key)
        if isinstance(code, str) and code.strip():
            parts.append(code if key == "func" else f"// {title}:\n{code}")
    return "\n\n".join(parts).replace("\r\n", "\n") or "// (empty)"


_SIGNATURES: Final = {
    "payload": ("request: Request", "what it assigns to msg.payload",
                ("Return the claims to sign, as the node set msg.payload (request.params holds "
                 "the query, request.POST the form).")),
    "response": ("request: Request, issued: IssuedToken",
                 "its body around the token (issued.token)",
                 ("Return the token view's JSON body, as the node set msg.payload (the token is "
                  "issued.token), then name this function in the config's response setting.")),
}


def _python(node: _Node, role: str, name: str, value: dict[str, Any] | None) -> _Callable:
    params, literal_doc, task = _SIGNATURES[role]
    label = _one_line(node.raw.get("name"))
    head = _doc_text(f"Function node {json.dumps(label, ensure_ascii=False)} ({node.id})"
                     if label else f"Function node {node.id}")
    if value is not None:
        body = pprint.pformat(value, width=88, sort_dicts=False).replace("\n", "\n" + " " * 11)
        return _Callable(name, (f"def {name}({params}) -> Any:\n"
                                f'    """{head}: {literal_doc}."""\n'
                                f"    return {body}\n"), stub=False)
    javascript = "\n".join(("        " + line).rstrip() for line in _source(node).split("\n"))
    message = f"function node {node.id} needs a hand translation: see {MODULE}.{name}"
    task = textwrap.fill(f"{task} The node's JavaScript::", 88, initial_indent="    ",
                         subsequent_indent="    ")
    return _Callable(name, (f"def {name}({params}) -> Any:\n"
                            f'    """{head}: needs a hand translation.\n\n'
                            f"{task}\n\n"
                            f"{_doc_text(javascript)}\n"
                            f'    """\n'
                            f"    raise NotImplementedError({message!r})\n"), stub=True)


def _module(source: str, callables: Sequence[_Callable]) -> str:
    imports = ["from typing import Any", "", "from pyramid.request import Request"]
    if any("issued: IssuedToken" in c.code for c in callables):
        imports += ["", "from pyramid_jwtnode import IssuedToken"]
    flow = _doc_text(json.dumps(_one_line(source), ensure_ascii=False))
    return "\n".join([
        f'"""Payload callables translated by ``pjwt import-flow`` from the flow {flow}.',
        "",
        f"Each function stands for a function node of the recipe's system; {INI_FILE} names",
        f"them ``{MODULE}:<function>``. Rename the module (and those names) as you like.",
        "Functions that raise NotImplementedError need a hand translation: their docstring",
        "holds the node's JavaScript.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        *imports,
    ]) + "\n" + "".join(f"\n\n{c.code}" for c in callables)


# -- the whole translation ----------------------------------------------------------------


class _Builder:
    """The flow's routes, mapped one by one onto the configs; collects the report."""

    def __init__(self, nodes: Sequence[_Node], configs: Mapping[str, _Config]) -> None:
        self.by_id = {n.id: n for n in nodes}
        self.configs = configs
        self.mapped: list[str] = []
        self.hand: list[str] = []
        self.skipped_by: dict[str, str] = {}  # node id -> why, for nodes routes reached
        self.accounted: set[str] = set(configs)
        self.identifiers: set[str] = set()
        self.callables: dict[tuple[str, str], _Callable | None] = {}
        self.patterns: dict[str, _Node] = {}

    def function(self, node: _Node, role: str) -> _Callable | None:
        """The callable for a function node in ``role``; ``None`` for the recipe's
        ``{"access_token": msg.payload}``, which the default body holds."""
        key = (role, node.id)
        if key not in self.callables:
            value = _read(node, token=role == "response")
            if role == "response" and value == {"access_token": TOKEN}:
                self.callables[key] = None
            else:
                name = _identifier(_one_line(node.raw.get("name")), role, self.identifiers)
                self.callables[key] = _python(node, role, name, value)
        return self.callables[key]

    def route(self, node: _Node) -> None:
        route = _route(node, self.by_id)
        if route.skipped is None and route.url in self.patterns:
            route = dataclasses.replace(route, skipped=f"{self.patterns[route.url].label} has "
                                        "the same url; the add-on serves one view per url")
        if route.skipped is not None:
            self.skipped_by.setdefault(node.id, route.skipped)
            for other in route.path[1:]:
                self.skipped_by.setdefault(other.id, f"only on the skipped route of {node.label}")
            return
        assert route.jwt is not None
        self.patterns[route.url] = node
        config = self.configs[route.jwt.raw["jwtconfig"]]
        if _generates(route.jwt):
            self.accounted.update(n.id for n in route.path)
            self.token(route, config)
        else:
            self.accounted.update((node.id, route.jwt.id))
            self.verify(route, config)

    def token(self, route: _Route, config: _Config) -> None:
        start, payload_node, jwt, response_node, answer = route.path
        prefix = f"{PREFIX}{config.name}"
        payload = self.function(payload_node, "payload")
        assert payload is not None
        response = self.function(response_node, "response")
        body = response if response is not None and not response.stub else None
        if config.token_route is None:
            config.token_route = route.url
            config.comments["token_route"] = _ARROW.join(n.title for n in route.path[:3])
            config.settings.update(token_route=route.url, token_route_method=route.method,
                                   payload=payload.dotted)
            if body is not None:
                config.settings["response"] = body.dotted
            self.mapped.append(f"{start.label}{_ARROW}{prefix}.token_route = {route.url}, "
                               f"token_route_method = {route.method}")
        else:
            extra = f', response="{body.dotted}"' if body is not None else ""
            self.hand.append(
                f"{start.label}: {prefix} has a token_route already ({config.token_route}); add "
                f'this one in the app\'s main(): config.add_jwt_token_view("{route.url}", '
                f'jwt_config="{config.name}", payload="{payload.dotted}", '
                f'request_method="{route.method}"{extra})')
            self.mapped.append(f"{start.label}{_ARROW}a token view of {prefix}, added in code")
        if payload.stub:
            self.mapped.append(f"{payload_node.label}{_ARROW}{payload.dotted}, a stub")
            self.hand.append(f"{payload_node.label}{_ARROW}{payload.dotted} raises "
                             "NotImplementedError: translate the JavaScript in its docstring "
                             "to Python returning the claims")
        else:
            self.mapped.append(f"{payload_node.label}{_ARROW}{payload.dotted}, its object literal")
        self.mapped.append(f"{jwt.label}, generate{_ARROW}the token view of {prefix}")
        if response is None:
            self.mapped.append(f"{response_node.label}{_ARROW}the token view's default body, "
                               "which holds access_token (plus token_type and expires_in)")
        elif response.stub:
            self.mapped.append(f"{response_node.label}{_ARROW}{response.dotted}, a stub not yet "
                               "used: the default body until then")
            self.hand.append(f"{response_node.label}{_ARROW}{response.dotted} holds its "
                             "JavaScript; the route answers with the default body (access_token, "
                             "token_type, expires_in) until you translate it and set "
                             f"{prefix}.response = {response.dotted}")
        else:
            self.mapped.append(f"{response_node.label}{_ARROW}{response.dotted}, its object "
                               "literal around the token")
        self.mapped.append(f"{answer.label}{_ARROW}the token view's answer: 200, "
                           "application/json, Cache-Control: no-store")
        lost = _answer_differences(answer)
        if lost:
            self.hand.append(f"{answer.label}: {lost} not kept; the token view answers 200 with "
                             "application/json")

    def verify(self, route: _Route, config: _Config) -> None:
        start, jwt = route.path[0], route.path[-1]
        prefix = f"{PREFIX}{config.name}"
        if config.verify_route is None:
            config.verify_route = route.url
            config.comments["verify_route"] = f"{start.title}{_ARROW}{jwt.title}, validate"
            config.settings["verify_route"] = route.url
            self.mapped.append(f"{start.label}{_ARROW}{prefix}.verify_route = {route.url}")
        else:
            self.hand.append(
                f"{start.label}: {prefix} has a verify_route already ({config.verify_route}); "
                f'add this one in the app\'s main(): config.add_jwt_verify_view("{route.url}", '
                f'jwt_config="{config.name}")')
            self.mapped.append(f"{start.label}{_ARROW}a verify view of {prefix}, added in code")
        self.mapped.append(f"{jwt.label}, validate{_ARROW}the verify view of {prefix}: the claims "
                           "of a valid bearer token, else 401/400 with WWW-Authenticate")
        for between in route.path[1:-1]:
            self.skipped_by.setdefault(between.id, f"before the validate-mode {jwt.label}: the "
                                       "verify view reads the Authorization header itself")
        for after in _downstream(jwt, self.by_id):
            self.skipped_by.setdefault(after.id, f"after the validate-mode {jwt.label}: the "
                                       "verify view answers itself")


def _downstream(start: _Node, by_id: Mapping[str, _Node]) -> list[_Node]:
    """Every node ``start`` leads to."""
    seen: dict[str, _Node] = {}
    todo = list(start.targets)
    while todo:
        node = by_id.get(todo.pop(0))
        if node is not None and node.id not in seen and node is not start:
            seen[node.id] = node
            todo.extend(node.targets)
    return list(seen.values())


def _answer_differences(node: _Node) -> str:
    """What the flow's http response node sets that the token view does not."""
    status, headers = node.raw.get("statusCode"), node.raw.get("headers")
    lost = []
    if status not in (None, "", 200, "200"):
        lost.append(f"its status {_one_line(str(status), 10)}")
    if isinstance(headers, dict):
        names = [_one_line(k, 40) for k, v in headers.items()
                 if not (k.lower() == "content-type" and str(v).startswith("application/json"))]
        if names:
            lost.append(f"its headers {', '.join(names)}")
    return " and ".join(lost)


def _skip_reason(node: _Node, skipped_by: Mapping[str, str]) -> str:
    if node.disabled and node.type != "tab":
        return "disabled in the flow"
    if node.id in skipped_by:
        return skipped_by[node.id]
    if node.type in _TYPE_REASONS:
        return _TYPE_REASONS[node.type]
    if node.type in ("function", "jwt", "http response"):
        return "no http in route leads to it"
    return f"the add-on has no counterpart of {json.dumps(node.type)} nodes"


def _placeholder(request: Any, issued: Any = None) -> Any:
    """Stands for the module's callables while the settings are checked."""


def _check(config: _Config) -> None:
    """The lines must be what the add-on's own parser accepts."""
    raw = {key: _placeholder if key in ("payload", "response") else value
           for key, value in config.settings.items()}
    try:
        parse_config(config.name, raw)
    except ConfigurationError as exc:  # a gap in this module, reported against the node
        raise FlowError(f"the jwt-config does not translate: {str(exc).splitlines()[0]}",
                        config.node.id) from None


def _ini(source: str, configs: Sequence[_Config]) -> str:
    out = [
        ("# pyramid_jwtnode settings translated by `pjwt import-flow` from the flow "
         f"{_one_line(source)}."),
        ("# Paste them into the app's section (e.g. [app:main]); the app does "
         'config.include("pyramid_jwtnode").'),
        f"{CONFIGS_KEY} = {' '.join(c.name for c in configs)}",
    ]
    for config in configs:
        out += ["", f"# {config.node.label}"]
        for key, value in config.settings.items():
            if key in config.comments:
                out.append(f"# {config.comments[key]}")
            out.append(f"{PREFIX}{config.name}.{key} = {value}")
    return "\n".join(out) + "\n"


def _config_line(config: _Config) -> str:
    line = (f"{config.node.label}{_ARROW}{PREFIX}{config.name}: {config.algorithm}, expires_in "
            f"{config.expires_in}, the recipe's token layout (claims_key = data, jti = false)")
    if config.name != config.node.raw.get("name", "").strip():
        line += (f"; named {config.name}, as config names hold letters, digits, '_' and '-' "
                 "and start with a letter")
    return line


def _section(title: str, lines: Sequence[str]) -> list[str]:
    return [f"{title}:", *(f"  {line}" for line in lines)] if lines else [f"{title}: none"]


def translate(flow: Any, source: str = "flow.json") -> Translation:
    """Translate a parsed flow (see :func:`parse_flow`); ``source`` names it in the output."""
    nodes = _nodes(flow)
    configs = _configs(nodes)
    _check_jwt_nodes(nodes, configs)
    if not configs:
        raise FlowError("the flow holds no jwt-config node, so there is nothing to import; export "
                        "the flow together with its configuration nodes")
    env_names: set[str] = set()
    secrets = []
    for config in configs.values():
        config.settings = {"algorithm": config.algorithm, "expires_in": str(config.expires_in),
                           **dict(_LAYOUT)}
        config.comments["claims_key"] = ('the recipe\'s token layout: {"data": <payload>, '
                                         '"iat": t, "exp": t + expires_in}')
        material = _key_material(config, env_names)
        if material is not None:
            secrets.append(material)
    builder = _Builder(nodes, configs)
    for node in nodes:
        if node.type == "http in":
            builder.route(node)
    for config in configs.values():
        _check(config)
    callables = [c for c in builder.callables.values() if c is not None]
    skipped = [f"{n.label}: {_skip_reason(n, builder.skipped_by)}"
               for n in nodes if n.id not in builder.accounted]
    report = [
        f"pjwt import-flow: {len(nodes)} nodes from {_one_line(source)}",
        *_section("mapped", [_config_line(c) for c in configs.values()] + builder.mapped),
        *_section("skipped", skipped),
        *_section("needs a hand translation", builder.hand),
        *_section("secrets", [c.secret_line for c in configs.values()]),
    ]
    return Translation(
        ini=_ini(source, list(configs.values())),
        module=_module(source, callables),
        secrets=tuple(secrets),
        report=tuple(report),
        stubs=tuple(c.name for c in callables if c.stub),
    )
