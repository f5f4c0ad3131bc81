"""Load and validate a flow file against docs/flow-format.md.

An admin fixing a file wants every problem at once, each with its line, not
one error per attempt; so validation walks the whole YAML node tree (which
keeps line numbers) and collects problems instead of stopping at the first.
Problem messages are gettext templates with parameters, so the bot can show
them in the admin's language and the command line in English.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.flow.expr import Expr, ExprError, compile_expr
from bot.flow.model import FILE_KINDS, KNOWN_TAGS, STEP_TYPES, Choice, Flow, Rule, Step, Text
from bot.flow.variables import NAMES, unknown_names
from bot.i18n_marks import N_
from bot.regions import is_code

FLOW_ID_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
STEP_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
LANG_RE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")
MAX_FILE_BYTES = 256 * 1024
MAX_TEXT_LENGTH = 4000  # a Telegram message holds 4096 characters
MAX_CHOICE_VALUE_BYTES = 24  # a choice's value travels in button data (64 bytes in all)
# What a file may hold. Reading and checking cost grows with these, so an upload cannot
# keep the bot busy or eat its memory; each is many times what a real flow needs (the
# built-in one: 43 steps, 11 choices, 9 rules a list, 2,456 values, 6 levels).
MAX_DEPTH = 50  # mappings and lists inside each other
MAX_NODES = 20_000  # values of every kind in the whole file
MAX_STEPS = 300
MAX_CHOICES = 90  # with the navigation row, a keyboard Telegram accepts (100 buttons)
MAX_RULES = 200  # in each of eligibility, exclusions, to_check and priority
MAX_PROBLEMS = 200  # an admin fixes a file a screenful at a time; more is only work

TOP_KEYS = {
    "id",
    "languages",
    "title",
    "steps",
    "eligibility",
    "exclusions",
    "to_check",
    "priority",
}
COMMON_STEP_KEYS = {
    "id",
    "type",
    "text",
    "help",
    "required",
    "relevant",
    "constraint",
    "constraint_message",
    "sensitive",
    "tags",
    # Only a choice step may route an intake; on any other it is a problem of its own
    # (clearer than "unknown key").
    "region",
}
TYPE_KEYS: dict[str, set[str]] = {
    "note": {"id", "type", "text", "help", "relevant", "tags", "region"},
    "consent": COMMON_STEP_KEYS - {"constraint", "constraint_message", "required"},
    "text": COMMON_STEP_KEYS | {"max_length", "voice"},
    "number": COMMON_STEP_KEYS | {"min", "max", "integer"},
    "date": COMMON_STEP_KEYS | {"min", "max"},
    "phone": set(COMMON_STEP_KEYS),
    "id_number": set(COMMON_STEP_KEYS),
    "choice": COMMON_STEP_KEYS | {"choices"},
    "multi_choice": COMMON_STEP_KEYS | {"choices"},
    "attachments": (COMMON_STEP_KEYS - {"constraint", "constraint_message"})
    | {"max_files", "max_size", "kinds"},
}
RULE_KEYS = {"id", "when", "label"}
PRIORITY_KEYS = {"id", "when", "label", "points"}


@dataclass(frozen=True)
class Phrase:
    """A piece of a problem message ("the text of step 'name'"), translated with it."""

    template: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, gettext: Callable[[str], str]) -> str:
        # A phrase without values is said as written: "a mapping in { } that is not
        # closed" has braces to show, not to fill (format() raised KeyError on them).
        said = gettext(self.template)
        return said.format(**_rendered(self.params, gettext)) if self.params else said

    def __str__(self) -> str:
        return self.render(lambda t: t)


def P(template: str, **params: Any) -> Phrase:
    return Phrase(template, params)


def _rendered(params: dict[str, Any], gettext: Callable[[str], str]) -> dict[str, Any]:
    return {k: v.render(gettext) if isinstance(v, Phrase) else v for k, v in params.items()}


What = str | Phrase  # what a problem is about: "step 'name'", "the title", ...


# PyYAML's words for what is wrong (English), as an admin reads them in their language;
# the most common first. Anything else is said in general words, never in PyYAML's.
# PyYAML's own (pure Python) scanner and parser, not libyaml's: their words differ.
_YAML_PROBLEMS: tuple[tuple[str, str], ...] = (
    ("mapping values are not allowed here", N_("mapping values are not allowed here")),
    ("could not find expected ':'", N_("a line without the colon after its key")),
    ("found character '\\t'", N_("a tab: indent with spaces only")),
    ("found unexpected end of stream", N_("the file ends inside a text or a list")),
    ("expected ',' or ']'", N_("a list in [ ] that is not closed")),
    ("expected ',' or '}'", N_("a mapping in { } that is not closed")),
    ("found undefined alias", N_("an alias (*name) with no anchor (&name)")),
    ("found duplicate anchor", N_("an anchor (&name) used twice")),
    ("expected <block end>", N_("the indentation does not line up with the lines above")),
    ("could not determine a constructor", N_("a tag (!name) the flow format does not have")),
)


def yaml_problem(exc: yaml.YAMLError) -> Phrase:
    """What PyYAML found wrong, in words gettext translates (never its English text)."""
    # A duplicate anchor is said in the context ("found duplicate anchor 'x'; first
    # occurrence"), the problem being only "second occurrence".
    parts = (getattr(exc, "context", None), getattr(exc, "problem", None))
    said = " ".join(str(part) for part in parts if part) or str(exc)
    for start, phrase in _YAML_PROBLEMS:
        if start in said:
            return P(phrase)
    return P(N_("the layout is broken here (check the indentation, colons, quotes and brackets)"))


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a flow file: a gettext template, its values, and the line."""

    line: int
    template: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return self.template.format(**_rendered(self.params, lambda t: t))

    def render(self, gettext: Callable[[str], str]) -> str:
        """The problem in a reader's language, e.g. for an admin in the chat."""
        return gettext("line {line}: {message}").format(
            line=self.line,
            message=gettext(self.template).format(**_rendered(self.params, gettext)),
        )

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class FlowError(Exception):
    """A flow file with problems; it must not be published."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__("\n".join(str(p) for p in self.problems))


class _Refused(Exception):
    """A file given up on while it is read: one problem, and nothing more is read."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


class FlowYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader with the limits of a flow file, reading ``?`` as YAML 1.2 does.

    Anchors and aliases are refused as soon as the parser meets the first one, before
    any tree exists: an alias is a pointer, so 36 KB of them can stand for millions of
    values (one step with 2,000 aliased choices, aliased 2,000 times), and every checker
    that walks the tree would walk each copy. A flow has no use for them; texts are
    written out. Nesting and the number of values are counted as the tree is built, so
    a deep file ends in a problem, not in ``RecursionError``.

    Admins write ``text: {en: Who are you applying for?}`` (docs/flow-format.md does);
    PyYAML follows YAML 1.1 there and stops the scalar at the question mark.
    """

    allow_aliases = False

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.flow_depth = 0
        self.flow_nodes = 0  # values read, an alias counting as the values it stands for
        self.anchor_sizes: dict[str, int] = {}

    def compose_node(self, parent: Node | None, index: object) -> Node:
        event = self.peek_event()
        line = event.start_mark.line + 1
        anchor = getattr(event, "anchor", None)
        if anchor is not None and not self.allow_aliases:
            raise _Refused(
                Problem(
                    line,
                    N_(
                        "anchors and aliases (& and *) are not allowed in a flow file;"
                        " write each value out in full"
                    ),
                )
            )
        if isinstance(event, yaml.AliasEvent):
            self._count(self.anchor_sizes.get(str(anchor), 1), line)
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        before = self.flow_nodes
        self._count(1, line)
        if self.flow_depth >= MAX_DEPTH:
            raise _Refused(
                Problem(
                    line,
                    N_("the file is nested too deeply (at most {limit} levels)"),
                    {"limit": MAX_DEPTH},
                )
            )
        self.flow_depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self.flow_depth -= 1
        if anchor is not None:
            self.anchor_sizes[anchor] = self.flow_nodes - before
        return node  # type: ignore[no-any-return]

    def _count(self, values: int, line: int) -> None:
        self.flow_nodes += values
        if self.flow_nodes > MAX_NODES:
            raise _Refused(
                Problem(
                    line, N_("the file has too many values (at most {limit})"), {"limit": MAX_NODES}
                )
            )

    def scan_plain(self) -> yaml.tokens.ScalarToken:
        """PyYAML's own scanner of a plain value; inside { } and [ ] it would stop at a
        question mark, so there the question mark is shown to it as a letter (``prefix``
        still takes the text as written). Positions are PyYAML's as ever (``start_mark``)."""
        if not self.flow_level:
            return super().scan_plain()  # type: ignore[no-any-return]
        peek = self.peek
        self.peek = lambda index=0: "a" if (ch := peek(index)) == "?" else ch  # type: ignore[method-assign]
        try:
            return super().scan_plain()  # type: ignore[no-any-return]
        finally:
            del self.peek


class _PublishedFlowYamlLoader(FlowYamlLoader):
    """For versions already published: files checked before anchors were refused may use them.

    Refusing them now would stop intakes in the middle of such a version. Each alias still
    counts as every value it stands for, so the budget of values holds all the same.
    """

    allow_aliases = True


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _line_at(node: Node, value: str, offset: int) -> int:
    """The line of character ``offset`` of a scalar: inside a literal block (``|``) each
    line of the text is a line of the file, after the one with the ``|``."""
    if isinstance(node, ScalarNode) and node.style == "|":
        return _line(node) + 1 + value[:offset].count("\n")
    return _line(node)


class _TooManyProblems(Exception):
    pass


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.languages: tuple[str, ...] = ()
        # One per load: a constructor remembers every node it built, so a shared one kept
        # every flow ever loaded (uploads and versions) in memory for good.
        self._constructor = yaml.constructor.SafeConstructor()

    def add(self, node: Node | int, template: str, **params: Any) -> None:
        line = node if isinstance(node, int) else _line(node)
        self.problems.append(Problem(line, template, params))
        if len(self.problems) >= MAX_PROBLEMS:
            raise _TooManyProblems()

    def value(self, node: Node) -> Any:
        return self._constructor.construct_object(node, deep=True)

    def at_most(self, node: SequenceNode, limit: int, template: str, **params: Any) -> list[Node]:
        """The items of a list, the first ``limit`` of them if it is longer (a problem)."""
        if len(node.value) > limit:
            self.add(node, template, n=len(node.value), limit=limit, **params)
        return list(node.value[:limit])

    # -- generic shapes -------------------------------------------------------------

    def mapping(
        self, node: Node, allowed: set[str], required: set[str], what: What
    ) -> dict[str, Node] | None:
        if not isinstance(node, MappingNode):
            self.add(node, N_("{what} must be a mapping of keys to values"), what=what)
            return None
        out: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                self.add(key_node, N_("keys must be words, not {value}"), value=repr(key))
                continue
            if key in out:
                self.add(key_node, N_("key '{key}' appears twice"), key=key)
                continue
            if key not in allowed:
                self.add(
                    key_node,
                    N_("unknown key '{key}' in {what} (allowed: {allowed})"),
                    key=key,
                    what=what,
                    allowed=", ".join(sorted(allowed)),
                )
                continue
            out[key] = value_node
        for key in sorted(required - out.keys()):
            self.add(node, N_("{what} is missing the key '{key}'"), what=what, key=key)
        return out

    def scalar(self, node: Node, kinds: tuple[type, ...], what: What) -> Any:
        if not isinstance(node, ScalarNode):
            self.add(node, N_("{what} must be a single value"), what=what)
            return None
        value = self.value(node)
        if isinstance(value, bool) and bool not in kinds:
            self.add(node, N_("{what} must not be true/false"), what=what)
            return None
        if not isinstance(value, kinds):
            templates = {
                (str,): N_("{what} must be text"),
                (int,): N_("{what} must be a whole number"),
                (bool,): N_("{what} must be true or false"),
            }
            self.add(
                node, templates.get(kinds, N_("{what} has the wrong kind of value")), what=what
            )
            return None
        return value

    def raw(self, node: Node, what: What) -> str | None:
        """A scalar exactly as written: ``yes`` stays the word yes, ``1.0`` stays 1.0."""
        if not isinstance(node, ScalarNode):
            self.add(node, N_("{what} must be a single value"), what=what)
            return None
        return str(node.value)

    def ident(self, node: Node, pattern: re.Pattern[str], what: What) -> str | None:
        value = self.scalar(node, (str,), what)
        if value is None:
            return None
        if not pattern.match(value):
            self.add(
                node,
                N_("{what} '{value}' is not allowed: use {rule}"),
                what=what,
                value=value,
                rule=pattern.pattern.strip("^$"),
            )
            return None
        return value

    def text(self, node: Node, what: What) -> Text:
        if not self.languages:  # the languages themselves are wrong: that is reported once
            return {}
        mapping = self.mapping(node, set(self.languages), set(), what)
        if mapping is None:
            return {}
        out: Text = {}
        for lang in self.languages:
            if lang not in mapping:
                self.add(node, N_("{what} has no text in '{lang}'"), what=what, lang=lang)
                continue
            value = self.raw(mapping[lang], P(N_("{what} ({lang})"), what=what, lang=lang))
            if value is None:
                continue
            if not value.strip():
                self.add(mapping[lang], N_("{what} is empty in '{lang}'"), what=what, lang=lang)
                continue
            if len(value) > MAX_TEXT_LENGTH:
                self.add(
                    mapping[lang],
                    N_("{what} is too long in '{lang}' (at most {limit} characters)"),
                    what=what,
                    lang=lang,
                    limit=MAX_TEXT_LENGTH,
                )
            for name, at in unknown_names(value):
                self.add(
                    _line_at(mapping[lang], value, at),
                    N_(
                        "{what} names an unknown setting '{name}' in '{lang}' "
                        "(a text may name: {allowed})"
                    ),
                    what=what,
                    name=name,
                    lang=lang,
                    allowed=", ".join("{settings." + n + "}" for n in NAMES),
                )
            out[lang] = value.strip()
        return out

    def flag(self, node: Node | None, what: What, default: bool) -> bool:
        if node is None:
            return default
        value = self.scalar(node, (bool,), what)
        return default if value is None else value

    def expression(
        self, node: Node | None, what: What, allowed_names: set[str], answer_ok: bool
    ) -> Expr | None:
        if node is None:
            return None
        source = self.scalar(node, (str, bool, int, float), what)
        if source is None:
            return None
        if isinstance(source, bool):
            source = "true" if source else "false"
        try:
            expr = compile_expr(str(source))
        except ExprError as exc:
            self.add(node, N_("{what}: {error}"), what=what, error=P(exc.template, **exc.params))
            return None
        ok = True
        for name in sorted(expr.names):
            if name == "answer":
                if not answer_ok:
                    self.add(
                        node,
                        N_("{what}: 'answer' can only be used in a constraint"),
                        what=what,
                    )
                    ok = False
            elif name not in allowed_names:
                self.add(
                    node,
                    N_("{what}: '{name}' is not a step that comes before this one"),
                    what=what,
                    name=name,
                )
                ok = False
        return expr if ok else None

    # -- the parts of a flow ------------------------------------------------------

    def languages_of(self, node: Node | None) -> tuple[str, ...]:
        if node is None:
            return ()
        if not isinstance(node, SequenceNode) or not node.value:
            self.add(node, N_("languages must be a list such as [zh, en]"))
            return ()
        langs: list[str] = []
        for item in node.value:
            code = self.ident(item, LANG_RE, P(N_("language code")))
            if code is None:
                continue
            if code in langs:
                self.add(item, N_("language '{lang}' is listed twice"), lang=code)
                continue
            langs.append(code)
        return tuple(langs)

    def bound(self, node: Node | None, step_type: str, what: What) -> Any:
        if node is None:
            return None
        value = self.value(node) if isinstance(node, ScalarNode) else None
        if step_type == "date":
            if value == "today":
                return "today"
            if isinstance(value, dt.datetime):
                value = value.date()
            if isinstance(value, dt.date):
                return value.isoformat()
            if isinstance(value, str):
                try:
                    return dt.date.fromisoformat(value).isoformat()
                except ValueError:
                    pass
            self.add(node, N_("{what} must be a date like 2024-01-31, or today"), what=what)
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(node, N_("{what} must be a number"), what=what)
            return None
        return value

    def choices(
        self, node: Node | None, step_id: str, *, region: bool = False
    ) -> tuple[Choice, ...]:
        """A step's choices; with ``region``, each value must be a division code."""
        if node is None:
            return ()
        if not isinstance(node, SequenceNode) or not node.value:
            self.add(node, N_("choices must be a list of {{value, label}} items"))
            return ()
        seen: set[str] = set()
        out: list[Choice] = []
        for item in self.at_most(
            node,
            MAX_CHOICES,
            N_("step '{id}' has too many choices ({n}; at most {limit})"),
            id=step_id,
        ):
            keys = self.mapping(item, {"value", "label"}, {"value", "label"}, P(N_("a choice")))
            if keys is None or "value" not in keys or "label" not in keys:
                continue
            value = self.raw(keys["value"], P(N_("a choice value")))
            label = self.text(keys["label"], P(N_("the label of a choice of '{id}'"), id=step_id))
            if value is None:
                continue
            if value in seen:
                self.add(keys["value"], N_("choice value '{value}' appears twice"), value=value)
                continue
            if region and not is_code(value):
                self.add(
                    keys["value"],
                    N_(
                        "choice value '{value}' of the region step '{id}' must be a division"
                        " code of 2, 4 or 6 digits, such as 653222"
                    ),
                    value=value,
                    id=step_id,
                )
            if len(value.encode()) > MAX_CHOICE_VALUE_BYTES:
                self.add(
                    keys["value"],
                    N_("choice value '{value}' is too long (at most {limit} letters)"),
                    value=value,
                    limit=MAX_CHOICE_VALUE_BYTES,
                )
            seen.add(value)
            out.append(Choice(value=value, label=label))
        return tuple(out)

    def tags(self, node: Node | None) -> tuple[str, ...]:
        if node is None:
            return ()
        if not isinstance(node, SequenceNode):
            self.add(node, N_("tags must be a list such as [partner, stats]"))
            return ()
        out: list[str] = []
        for item in node.value:
            tag = self.scalar(item, (str,), P(N_("a tag")))
            if tag is None:
                continue
            if tag not in KNOWN_TAGS:
                self.add(
                    item,
                    N_("unknown tag '{tag}' (known: {known})"),
                    tag=tag,
                    known=", ".join(KNOWN_TAGS),
                )
                continue
            out.append(tag)
        return tuple(out)

    def kinds(self, node: Node | None) -> tuple[str, ...]:
        if node is None:
            return ("photo", "document")
        if not isinstance(node, SequenceNode) or not node.value:
            self.add(node, N_("kinds must be a list such as [photo, document, voice]"))
            return ("photo", "document")
        out: list[str] = []
        for item in node.value:
            kind = self.scalar(item, (str,), P(N_("a kind of file")))
            if kind is None:
                continue
            if kind not in FILE_KINDS:
                self.add(
                    item,
                    N_("unknown kind of file '{kind}' (known: {known})"),
                    kind=kind,
                    known=", ".join(FILE_KINDS),
                )
                continue
            if kind not in out:
                out.append(kind)
        return tuple(out) or ("photo", "document")

    def positive_int(self, node: Node | None, what: What, default: int, limit: int) -> int:
        if node is None:
            return default
        value = self.scalar(node, (int,), what)
        if value is None:
            return default
        if not 1 <= value <= limit:
            self.add(node, N_("{what} must be between 1 and {limit}"), what=what, limit=limit)
            return default
        return value

    def step(self, node: Node, earlier: set[str], seen_ids: dict[str, int]) -> Step | None:
        if not isinstance(node, MappingNode):
            self.add(node, N_("each step must be a mapping with id, type and text"))
            return None
        raw_type = None
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == "type":
                raw_type = self.value(value_node) if isinstance(value_node, ScalarNode) else None
        step_type = raw_type if raw_type in STEP_TYPES else None
        allowed = (
            TYPE_KEYS[step_type]
            if step_type
            else COMMON_STEP_KEYS | set().union(*TYPE_KEYS.values())
        )
        keys = self.mapping(node, allowed, {"id", "type", "text"}, P(N_("a step")))
        if keys is None:
            return None
        step_id = self.ident(keys["id"], STEP_ID_RE, P(N_("step id"))) if "id" in keys else None
        what = P(N_("step '{id}'"), id=step_id) if step_id else P(N_("a step"))
        if step_id is not None:
            if step_id in seen_ids:
                self.add(
                    keys["id"],
                    N_("step id '{id}' is already used at line {other}"),
                    id=step_id,
                    other=seen_ids[step_id],
                )
            else:
                seen_ids[step_id] = _line(keys["id"])
        if "type" in keys and step_type is None:
            self.add(
                keys["type"],
                N_("unknown step type '{type}' (known: {known})"),
                type=raw_type,
                known=", ".join(STEP_TYPES),
            )
        text = (
            self.text(keys["text"], P(N_("the text of {what}"), what=what))
            if "text" in keys
            else {}
        )
        help_text = (
            self.text(keys["help"], P(N_("the help of {what}"), what=what))
            if "help" in keys
            else None
        )
        relevant = self.expression(
            keys.get("relevant"), P(N_("relevant of {what}"), what=what), earlier, False
        )
        constraint = self.expression(
            keys.get("constraint"), P(N_("constraint of {what}"), what=what), earlier, True
        )
        message = (
            self.text(
                keys["constraint_message"], P(N_("the constraint_message of {what}"), what=what)
            )
            if "constraint_message" in keys
            else None
        )
        required = self.flag(keys.get("required"), P(N_("required of {what}"), what=what), True)
        sensitive = self.flag(keys.get("sensitive"), P(N_("sensitive of {what}"), what=what), False)
        tags = self.tags(keys.get("tags"))
        region = self.flag(keys.get("region"), P(N_("region of {what}"), what=what), False)
        if region and step_type is not None and step_type != "choice":
            self.add(
                keys["region"],
                N_("region: true is only for a choice step whose values are division codes"),
            )
            region = False
        choices: tuple[Choice, ...] = ()
        if step_type in ("choice", "multi_choice"):
            if "choices" not in keys:
                self.add(node, N_("{what} needs choices"), what=what)
            choices = self.choices(keys.get("choices"), step_id or "?", region=region)
        lo = self.bound(keys.get("min"), step_type or "", P(N_("min of {what}"), what=what))
        hi = self.bound(keys.get("max"), step_type or "", P(N_("max of {what}"), what=what))
        if lo is not None and hi is not None and "today" not in (lo, hi) and lo > hi:
            self.add(keys["min"], N_("min of {what} is above its max"), what=what)
        integer = self.flag(keys.get("integer"), P(N_("integer of {what}"), what=what), True)
        max_length = self.positive_int(
            keys.get("max_length"), P(N_("max_length of {what}"), what=what), 1000, MAX_TEXT_LENGTH
        )
        max_files = self.positive_int(
            keys.get("max_files"), P(N_("max_files of {what}"), what=what), 10, 50
        )
        # Telegram's Bot API lets a bot download files up to 20 MB: no more can be kept.
        max_size = self.positive_int(
            keys.get("max_size"), P(N_("max_size of {what}"), what=what), 20, 20
        )
        kinds = self.kinds(keys.get("kinds"))
        voice = self.flag(keys.get("voice"), P(N_("voice of {what}"), what=what), False)
        if step_id is None or step_type is None:
            return None
        return Step(
            id=step_id,
            type=step_type,
            text=text,
            help=help_text,
            required=required if step_type not in ("note", "consent") else True,
            relevant=relevant,
            constraint=constraint,
            constraint_message=message,
            sensitive=sensitive,
            tags=tags,
            region=region,
            choices=choices,
            max_length=max_length,
            min=lo,
            max=hi,
            integer=integer,
            max_files=max_files,
            max_size=max_size,
            kinds=kinds,
            voice=voice,
            line=_line(node),
        )

    def rules(self, node: Node | None, all_steps: set[str], kind: str) -> tuple[Rule, ...]:
        if node is None:
            return ()
        if not isinstance(node, SequenceNode):
            self.add(node, N_("{kind} must be a list of rules"), kind=kind)
            return ()
        is_priority = kind == "priority"
        out: list[Rule] = []
        seen: set[str] = set()
        for item in self.at_most(
            node, MAX_RULES, N_("{kind} has too many rules ({n}; at most {limit})"), kind=kind
        ):
            keys = self.mapping(
                item,
                PRIORITY_KEYS if is_priority else RULE_KEYS,
                {"when", "label", "points"} if is_priority else {"id", "when", "label"},
                P(N_("a rule in {kind}"), kind=kind),
            )
            if keys is None:
                continue
            rule_id = self.ident(keys["id"], STEP_ID_RE, P(N_("rule id"))) if "id" in keys else None
            if rule_id is not None:
                if rule_id in seen:
                    self.add(keys["id"], N_("rule id '{id}' appears twice"), id=rule_id)
                seen.add(rule_id)
            what = (
                P(N_("rule '{id}'"), id=rule_id)
                if rule_id
                else P(N_("a rule in {kind}"), kind=kind)
            )
            when = self.expression(
                keys.get("when"), P(N_("when of {what}"), what=what), all_steps, False
            )
            label = (
                self.text(keys["label"], P(N_("the label of {what}"), what=what))
                if "label" in keys
                else {}
            )
            points = 0
            if is_priority and "points" in keys:
                points = (
                    self.scalar(keys["points"], (int,), P(N_("points of {what}"), what=what)) or 0
                )
            if when is not None and (rule_id or is_priority):
                rule_id = rule_id or f"priority_{len(out) + 1}"
                out.append(Rule(id=rule_id, when=when, label=label, points=points))
        return tuple(out)

    def flow(self, root: Node) -> Flow | None:
        keys = self.mapping(
            root, TOP_KEYS, {"id", "languages", "title", "steps"}, P(N_("the flow"))
        )
        if keys is None:
            return None
        flow_id = self.ident(keys["id"], FLOW_ID_RE, P(N_("flow id"))) if "id" in keys else None
        self.languages = self.languages_of(keys.get("languages"))
        title = self.text(keys["title"], P(N_("the title"))) if "title" in keys else {}
        steps: list[Step] = []
        earlier: set[str] = set()
        seen_ids: dict[str, int] = {}
        steps_node = keys.get("steps")
        if steps_node is not None:
            if not isinstance(steps_node, SequenceNode) or not steps_node.value:
                self.add(steps_node, N_("steps must be a list with at least one step"))
            else:
                for item in self.at_most(
                    steps_node, MAX_STEPS, N_("the flow has too many steps ({n}; at most {limit})")
                ):
                    step = self.step(item, earlier, seen_ids)
                    if step is not None:
                        steps.append(step)
                        earlier.add(step.id)
                if not any(s.asks_input for s in steps) and not self.problems:
                    self.add(steps_node, N_("the flow has no step that asks anything"))
        consent_seen = False
        for step in steps:
            if step.type == "consent" and step.relevant is None:
                consent_seen = True
            elif (step.sensitive or step.type == "attachments") and not consent_seen:
                # PIPL: sensitive personal information needs consent before it is asked.
                self.add(
                    step.line,
                    N_("step '{id}' asks for sensitive information before any consent step"),
                    id=step.id,
                )
        routing = [s for s in steps if s.region]
        for extra in routing[1:]:
            self.add(
                extra.line,
                N_(
                    "step '{id}' is a second region step; a flow routes by one"
                    " (the first is '{first}')"
                ),
                id=extra.id,
                first=routing[0].id,
            )
        all_ids = set(seen_ids)
        eligibility = self.rules(keys.get("eligibility"), all_ids, "eligibility")
        exclusions = self.rules(keys.get("exclusions"), all_ids, "exclusions")
        to_check = self.rules(keys.get("to_check"), all_ids, "to_check")
        priority = self.rules(keys.get("priority"), all_ids, "priority")
        if self.problems or flow_id is None or not self.languages:
            return None
        return Flow(
            id=flow_id,
            languages=self.languages,
            title=title,
            steps=tuple(steps),
            eligibility=eligibility,
            exclusions=exclusions,
            priority=priority,
            to_check=to_check,
        )


def load_flow_text(source: str, *, version: int = 0, published: bool = False) -> Flow:
    """Parse and validate a flow; raise FlowError listing every problem found.

    ``published``: the source of a version stored earlier (see _PublishedFlowYamlLoader).
    """
    if len(source.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        raise FlowError(
            [
                Problem(
                    1, N_("the file is too large (at most {kb} KB)"), {"kb": MAX_FILE_BYTES // 1024}
                )
            ]
        )
    try:
        root = yaml.compose(
            source, Loader=_PublishedFlowYamlLoader if published else FlowYamlLoader
        )
    except _Refused as refused:
        raise FlowError([refused.problem]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise FlowError(
            [Problem(line, N_("YAML syntax: {error}"), {"error": yaml_problem(exc)})]
        ) from None
    except yaml.YAMLError as exc:
        raise FlowError(
            [Problem(1, N_("YAML syntax: {error}"), {"error": yaml_problem(exc)})]
        ) from None
    if root is None:
        raise FlowError([Problem(1, N_("the file is empty"))])
    checker = _Checker()
    try:
        flow = checker.flow(root)
    except _TooManyProblems:
        last = max(p.line for p in checker.problems)
        checker.problems.append(
            Problem(
                last,
                N_("checking stopped after {n} problems; fix these and send the file again"),
                {"n": MAX_PROBLEMS},
            )
        )
        flow = None
    except yaml.YAMLError as exc:  # e.g. a bad tag inside a value
        checker.problems.append(
            Problem(1, N_("YAML syntax: {error}"), {"error": yaml_problem(exc)})
        )
        flow = None
    if flow is None:
        raise FlowError(checker.problems or [Problem(1, N_("the flow is not valid"))])
    if version:
        flow = Flow(
            id=flow.id,
            languages=flow.languages,
            title=flow.title,
            steps=flow.steps,
            eligibility=flow.eligibility,
            exclusions=flow.exclusions,
            priority=flow.priority,
            to_check=flow.to_check,
            version=version,
        )
    return flow


def load_flow_file(path: str | Path) -> tuple[Flow, str]:
    """Read a file (as UTF-8) and load it; returns the flow and its source text."""
    data = Path(path).read_bytes()
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError:
        raise FlowError([Problem(1, N_("the file is not UTF-8 text"))]) from None
    return load_flow_text(source), source


def default_flow_source() -> str:
    """The embedded judicial-assistance flow, as shipped in the package."""
    from importlib.resources import files

    return (files("bot.flows") / "judicial-assistance.yaml").read_text(encoding="utf-8")
