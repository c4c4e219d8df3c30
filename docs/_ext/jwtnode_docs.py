"""Sphinx directives that write the reference pages from the code, at build time.

``.. jwt-settings::``
    The settings reference, one row per field of
    :data:`pyramid_jwtnode.integration.settings.SETTINGS` (key, type, default, meaning).
    With the ``:global:`` flag: the keys directly under ``jwt.`` from
    :data:`pyramid_jwtnode.integration.settings.GLOBAL_SETTINGS`. Each row is the target of
    the ``:setting:`` role (``:setting:`leeway```, ``:setting:`jwt.configs```);
    a ``:setting:`` that names no row fails the build.

``.. pjwt-reference::``
    The ``pjwt`` command from its own argparse parser
    (:func:`pyramid_jwtnode.tools.cli._parser`): usage, description and every option
    with its help, for the main parser and each sub-command.

``.. jwtnode-api:: MODULE``
    autodoc entries for exactly the names in ``MODULE.__all__``, in that order,
    grouped under the ``# comment`` lines of the ``__all__`` list.

``.. jwtnode-call:: config.add_jwt_token_view`` (or ``request.create_jwt``)
    A directive or request method as its user calls it: the signature without the
    ``config`` or ``request`` parameter, and the function's docstring.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import re
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import make_id

logger = logging.getLogger(__name__)

# -- Markdown inline markup of the settings' docs -> docutils nodes ----------------------

_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*")


def inline(text: str) -> list[nodes.Node]:
    """``text`` with its Markdown code spans and emphasis as docutils nodes."""
    out: list[nodes.Node] = []
    position = 0
    for match in _INLINE.finditer(text):
        if match.start() > position:
            out.append(nodes.Text(text[position:match.start()]))
        code, strong, emphasis = match.groups()
        if code is not None:
            out.append(nodes.literal(code, code))
        elif strong is not None:
            out.append(nodes.strong(strong, strong))
        else:
            out.append(nodes.emphasis(emphasis, emphasis))
        position = match.end()
    if position < len(text):
        out.append(nodes.Text(text[position:]))
    return out


def _table(widths: list[int], header: list[str], rows: list[tuple[str, list[list[nodes.Node]]]],
           ) -> tuple[nodes.table, list[nodes.row]]:
    """A docutils table; each row is (its id, its cells as lists of inline nodes)."""
    table = nodes.table(classes=["jwt-settings"])
    group = nodes.tgroup(cols=len(widths))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    head += nodes.row("", *(nodes.entry("", nodes.paragraph("", "", *inline(h))) for h in header))
    body = nodes.tbody()
    group += body
    made = []
    for row_id, cells in rows:
        row = nodes.row("", *(nodes.entry("", nodes.paragraph("", "", *cell)) for cell in cells))
        row["ids"].append(row_id)
        body += row
        made.append(row)
    return table, made


def _default(setting: Any) -> list[nodes.Node]:
    if setting.required:
        return [nodes.strong("required", "required")]
    if setting.default is None or setting.default == ():
        return [nodes.Text("–")]
    value = str(setting.default).lower() if isinstance(setting.default, bool) else str(setting.default)
    return [nodes.literal(value, value)]


class SettingsDirective(SphinxDirective):
    """``.. jwt-settings::`` (a config's keys) or ``.. jwt-settings:: :global:`` (``jwt.*``)."""

    has_content = False
    option_spec = {"global": directives.flag}

    def run(self) -> list[nodes.Node]:
        from pyramid_jwtnode.integration.settings import GLOBAL_SETTINGS, SETTINGS

        keyed: list[tuple[str, list[list[nodes.Node]]]] = []
        if "global" in self.options:
            header = ["key", "type", "meaning"]
            widths = [22, 10, 68]
            for key, kind, doc in GLOBAL_SETTINGS:
                keyed.append((key, [[nodes.literal(key, key)], [nodes.Text(kind)], inline(doc)]))
            what = "global setting"
        else:
            header = ["key `jwt.<name>.…`", "type", "default", "meaning"]
            widths = [20, 9, 11, 60]
            for s in SETTINGS:
                keyed.append((s.key, [[nodes.literal(s.key, s.key)], [nodes.Text(s.type)],
                                      _default(s), inline(s.doc)]))
            what = "setting of a jwt-config"
        std = self.env.get_domain("std")
        ids = [make_id(self.env, self.state.document, "setting", key) for key, _ in keyed]
        table, rows = _table(widths, header, [(i, cells) for i, (_, cells) in zip(ids, keyed, strict=True)])
        for (key, _), row_id, row in zip(keyed, ids, rows, strict=True):
            row[0][0].insert(0, addnodes.index(entries=[("pair", f"{key}; {what}", row_id, "", None)]))
            self.state.document.note_explicit_target(row)
            std.note_object("setting", key, row_id, location=row)
        return [table]


def _missing_setting(app: Sphinx, env: Any, node: nodes.Element, contnode: nodes.Node) -> None:
    """A ``:setting:`` role naming no row of the reference is an error, not a plain word."""
    if node.get("reftype") == "setting":
        logger.warning("unknown setting %r: it is not in pyramid_jwtnode.integration.settings",
                       node.get("reftarget"), location=node)


# -- the pjwt command, from its argparse parser --------------------------------------------

_RST_SPECIAL = re.compile(r"([\\*`|_])")


def _escape(text: str) -> str:
    return _RST_SPECIAL.sub(r"\\\1", text)


def _usage(parser: argparse.ArgumentParser) -> str:
    formatter = parser.formatter_class(prog=parser.prog, width=88)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return formatter.format_help().strip()


def _help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    if not action.help:
        return ""
    formatter = parser.formatter_class(prog=parser.prog)
    return formatter._expand_help(action)  # the help with %(default)s and %% expanded


def _signature(action: argparse.Action) -> str:
    if not action.option_strings:
        return str(action.metavar or action.dest)
    if action.nargs == 0:
        return ", ".join(action.option_strings)
    metavar = action.metavar or action.dest.upper()
    return ", ".join(f"{option} {metavar}" for option in action.option_strings)


def _block(lines: list[str], text: str, indent: str = "") -> None:
    for line in text.splitlines():
        lines.append(f"{indent}{line}" if line else "")
    lines.append("")


def _parser_lines(parser: argparse.ArgumentParser, heading: str, label: str) -> list[str]:
    title = f"``{parser.prog}``"
    lines = [f".. _{label}:", "", title, heading * len(title), "", f".. program:: {parser.prog}", "",
             ".. code-block:: text", ""]
    _block(lines, _usage(parser), "   ")
    if parser.description:
        _block(lines, _escape(parser.description))
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                lines += [f".. option:: {choice.dest}", ""]
                _block(lines, f"{_escape(choice.help or '')} (:ref:`pjwt-{choice.dest}`)", "   ")
            continue
        lines += [f".. option:: {_signature(action)}", ""]
        text = _escape(_help(parser, action))
        if action.required and action.option_strings:
            text += " Required."
        _block(lines, text.strip() or "(no help)", "   ")
    if parser.epilog:
        _block(lines, _escape(parser.epilog))
    return lines


class PjwtDirective(SphinxDirective):
    """``.. pjwt-reference::`` with sections underlined by ``:heading:`` (default ``~``)."""

    has_content = False
    option_spec = {"heading": directives.single_char_or_unicode}

    def run(self) -> list[nodes.Node]:
        from pyramid_jwtnode.tools.cli import _parser

        heading = self.options.get("heading", "~")
        parser, commands = _parser()
        lines = _parser_lines(parser, heading, "pjwt-usage")
        for name, command in commands.items():
            lines += _parser_lines(command, heading, f"pjwt-{name}")
        return self.parse_text_to_nodes("\n".join(lines), allow_section_headings=True)


# -- the public API, from __all__ ---------------------------------------------------------

#: Explicit signatures where the generated one would not help a reader.
SIGNATURES = {
    # a frozen dataclass with one keyword per setting: see the settings reference
    "pyramid_jwtnode.JWTConfig": "(*, name, **settings)",
}


def public_groups(module_name: str) -> list[tuple[str | None, list[str]]]:
    """``__all__`` of a module, in order, grouped under the comments that precede names."""
    module = importlib.import_module(module_name)
    source = inspect.getsource(module)
    tree = ast.parse(source)
    assignment = next(node for node in tree.body if isinstance(node, ast.Assign)
                      and any(getattr(t, "id", None) == "__all__" for t in node.targets))
    text = ast.get_source_segment(source, assignment) or ""
    groups: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in text.splitlines()[1:]:
        stripped = line.strip()
        if stripped.startswith("#"):
            groups.append((stripped.lstrip("# ").strip(), []))
        groups[-1][1].extend(re.findall(r"""["']([A-Za-z_][A-Za-z0-9_]*)["']""", stripped))
    found = [name for _, names in groups for name in names]
    if found != list(module.__all__):  # __all__ built some other way: one group, as it is
        return [(None, list(module.__all__))]
    return [(title, names) for title, names in groups if names]


class ApiDirective(SphinxDirective):
    """``.. jwtnode-api:: MODULE`` with group sections underlined by ``:heading:``."""

    required_arguments = 1
    option_spec = {"heading": directives.single_char_or_unicode}

    def run(self) -> list[nodes.Node]:
        module_name = self.arguments[0]
        module = importlib.import_module(module_name)
        heading = self.options.get("heading", "~")
        lines: list[str] = []
        for title, names in public_groups(module_name):
            if title is not None:
                title = title[0].upper() + title[1:]
                lines += [title, heading * len(title), ""]
            for name in names:
                obj = getattr(module, name)
                full = f"{module_name}.{name}"
                if isinstance(obj, type) and issubclass(obj, BaseException):
                    lines += [f".. autoexception:: {full}", "   :show-inheritance:", ""]
                elif isinstance(obj, type):
                    lines += [f".. autoclass:: {full}{SIGNATURES.get(full, '')}", "   :members:", ""]
                elif callable(obj):
                    lines += [f".. autofunction:: {full}", ""]
                else:  # a constant, or an object ready to use
                    lines += [f".. autodata:: {full}", "   :no-value:" if not isinstance(
                        obj, (str, tuple)) else "", ""]
        return self.parse_text_to_nodes("\n".join(lines), allow_section_headings=True)


# -- directives and request methods, as they are called -----------------------------------


def _default_text(value: Any) -> str:
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{value.__module__}.{value.__qualname__}"
    return repr(value)


def call_signature(function: Any) -> str:
    """``function``'s parameters after the first (``config``/``request``), without types."""
    parameters = list(inspect.signature(function).parameters.values())[1:]
    parts: list[str] = []
    star = False
    for p in parameters:
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        prefix = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        star = star or p.kind is p.VAR_POSITIONAL
        text = f"{prefix}{p.name}"
        if p.default is not p.empty:
            text += f"={_default_text(p.default)}"
        parts.append(text)
    return ", ".join(parts)


class CallDirective(SphinxDirective):
    """``.. jwtnode-call:: config.NAME`` (a directive) or ``request.NAME`` (a request method)."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        from pyramid_jwtnode import request as request_methods
        from pyramid_jwtnode.integration.directives import DIRECTIVES

        target = self.arguments[0]
        owner, _, name = target.partition(".")
        if owner == "config" and name in DIRECTIVES:
            function = DIRECTIVES[name]
        elif owner == "request" and name in request_methods.__all__:
            function = getattr(request_methods, name)
        else:
            raise self.error(f"jwtnode-call: {target!r} is not a directive or request method")
        doc = inspect.getdoc(function) or ""
        lines = [f".. py:function:: {target}({call_signature(function)})", ""]
        lines += [f"   {line}" if line else "" for line in doc.splitlines()]
        return self.parse_text_to_nodes("\n".join(lines))


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_crossref_type("setting", "setting", indextemplate="pair: %s; setting")
    app.add_directive("jwt-settings", SettingsDirective)
    app.add_directive("pjwt-reference", PjwtDirective)
    app.add_directive("jwtnode-api", ApiDirective)
    app.add_directive("jwtnode-call", CallDirective)
    app.connect("missing-reference", _missing_setting)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
