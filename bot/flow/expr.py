"""The expression language of flow files (``relevant``, ``constraint``, rule ``when``).

Flow files are written by admins, not by us, so an expression is untrusted text. It is
parsed with :func:`ast.parse` (which only builds a tree, it never runs anything) and the
resulting tree is checked against a small whitelist and converted into our own node
classes. Evaluation walks those nodes; nothing is ever handed to ``eval``, ``exec`` or
``compile``-to-bytecode, so an expression cannot reach attributes, imports or builtins.

The language (see docs/flow-format.md, "Expressions"):

* literals: strings, ints, floats, ``true``/``false``/``null`` (and ``True``/``False``/
  ``None``), lists ``[...]``;
* any other identifier is a variable read from the environment (missing means null);
* ``== != < <= > >=`` (chainable), ``and or not``, ``in``/``not in``, ``+ - * /``,
  unary ``-``/``+``, parentheses;
* the functions ``len(x)``, ``today()`` and ``age(date)``.

Problems of any kind, at compile time or at evaluation time, are reported as
:class:`ExprError` and nothing else, so callers (the flow loader, the interview engine)
have exactly one exception to handle.
"""

from __future__ import annotations

import ast
import datetime
import math
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.i18n_marks import N_

__all__ = ["Expr", "ExprError", "compile_expr", "evaluate", "truthy"]

# Limits. They are far above anything a real flow needs and keep both the parser and
# our recursive walkers well away from Python's recursion limit and from huge values.
MAX_SOURCE_LENGTH = 2000
MAX_DEPTH = 50
MAX_INT = 10**18
# Longest string or list that ``+`` may build: ``a + a + a ...`` over a large answer
# must not be able to eat the bot's memory.
MAX_SEQUENCE_LENGTH = 100_000

# Names that are constants rather than variables.
_CONSTANT_NAMES: dict[str, Any] = {"true": True, "false": False, "null": None}

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class ExprError(Exception):
    """The only exception this module ever raises (for parse AND evaluation problems).

    ``message`` is plain English meant for the admin who wrote the flow file (the loader
    shows it next to the step id), so it never contains a Python traceback. ``template``
    and ``params`` are the same message for gettext: the problems an admin can meet (those
    of compiling) are marked for translation, so a Chinese admin reads no English.
    """

    def __init__(self, template: str, **params: Any) -> None:
        message = template.format(**params) if params else template
        super().__init__(message)
        self.message = message
        self.template = template
        self.params = params

    def __str__(self) -> str:
        return self.message


# --------------------------------------------------------------------------------------
# Compiled tree. Our own small node classes rather than the ``ast`` nodes, so evaluation
# can only ever see constructs that passed the whitelist.


@dataclass(frozen=True, slots=True)
class _Const:
    value: Any


@dataclass(frozen=True, slots=True)
class _Var:
    name: str


@dataclass(frozen=True, slots=True)
class _List:
    items: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Unary:
    op: str  # "not", "-", "+"
    operand: _Node


@dataclass(frozen=True, slots=True)
class _Binary:
    op: str  # "+", "-", "*", "/"
    left: _Node
    right: _Node


@dataclass(frozen=True, slots=True)
class _BoolOp:
    op: str  # "and", "or"
    operands: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Compare:
    first: _Node
    ops: tuple[str, ...]  # "==", "!=", "<", "<=", ">", ">=", "in", "not in"
    rest: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Call:
    func: str
    args: tuple[_Node, ...]


_Node = _Const | _Var | _List | _Unary | _Binary | _BoolOp | _Compare | _Call


@dataclass(frozen=True)
class Expr:
    """A compiled expression: safe to keep in the (shared, immutable) flow model.

    ``names`` lets the loader check that an expression only reads steps that exist and
    come earlier, without evaluating it.
    """

    source: str
    names: frozenset[str]
    _tree: _Node = field(repr=False, compare=False)


# --------------------------------------------------------------------------------------
# Compilation


_BIN_OPS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
}
_UNARY_OPS: dict[type[ast.unaryop], str] = {ast.Not: "not", ast.USub: "-", ast.UAdd: "+"}
_CMP_OPS: dict[type[ast.cmpop], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}
_BOOL_OPS: dict[type[ast.boolop], str] = {ast.And: "and", ast.Or: "or"}

# Function name -> number of positional arguments.
_FUNCTIONS: dict[str, int] = {"len": 1, "today": 0, "age": 1}

# Friendlier messages for the constructs people are most likely to try.
_FORBIDDEN: dict[type[ast.AST], str] = {
    ast.Attribute: N_("attribute access is not allowed"),
    ast.Subscript: N_("subscripts are not allowed"),
    ast.Slice: N_("slices are not allowed"),
    ast.ListComp: N_("comprehensions are not allowed"),
    ast.SetComp: N_("comprehensions are not allowed"),
    ast.DictComp: N_("comprehensions are not allowed"),
    ast.GeneratorExp: N_("comprehensions are not allowed"),
    ast.Lambda: N_("lambdas are not allowed"),
    ast.NamedExpr: N_("assignment expressions are not allowed"),
    ast.JoinedStr: N_("f-strings are not allowed"),
    ast.FormattedValue: N_("f-strings are not allowed"),
    ast.Dict: N_("dictionaries are not allowed"),
    ast.Set: N_("sets are not allowed"),
    ast.Tuple: N_("tuples are not allowed"),
    ast.Starred: N_("starred expressions are not allowed"),
    ast.IfExp: N_("conditional expressions are not allowed"),
    ast.Await: N_("await is not allowed"),
    ast.Yield: N_("yield is not allowed"),
    ast.YieldFrom: N_("yield is not allowed"),
}


def compile_expr(source: str) -> Expr:
    """Parse and check ``source``; raise :class:`ExprError` if it is not in the language.

    Everything that can be checked without values is checked here (forbidden constructs,
    unknown functions, arity, literal ranges), so a bad flow file fails at load time
    rather than in the middle of somebody's interview.
    """
    if not isinstance(source, str):
        raise ExprError(N_("an expression must be a string"))
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExprError(N_("expression is longer than {max} characters"), max=MAX_SOURCE_LENGTH)
    text = source.strip()
    if not text:
        raise ExprError(N_("expression is empty"))
    try:
        # The parser may warn (invalid escapes, "perhaps you missed a comma?"); those go
        # nowhere useful in a bot's log and, under -W error, would surface as SyntaxError.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        # Python's own words for it (English) stay out: the place says where to look.
        if exc.offset:
            raise ExprError(N_("syntax error near character {at}"), at=exc.offset) from None
        raise ExprError(N_("syntax error")) from None
    except ValueError:  # e.g. null bytes (3.11 reports those as ValueError)
        raise ExprError(N_("expression contains characters that are not allowed")) from None
    except (RecursionError, MemoryError):
        raise ExprError(N_("expression is nested too deeply")) from None

    names: set[str] = set()
    try:
        node = _convert(tree.body, names, depth=0)
    except RecursionError:  # belt and braces: _convert already stops at MAX_DEPTH
        raise ExprError(N_("expression is nested too deeply")) from None
    return Expr(source=source, names=frozenset(names), _tree=node)


def _check_name(name: str) -> None:
    if name.startswith("__") or name.endswith("__"):
        raise ExprError(N_("the name '{name}' is not allowed"), name=name)


def _convert(node: ast.AST, names: set[str], depth: int) -> _Node:
    """Turn one whitelisted ``ast`` node into our node; refuse everything else."""
    if depth > MAX_DEPTH:
        raise ExprError(N_("expression is nested too deeply"))
    d = depth + 1

    if isinstance(node, ast.Constant):
        return _Const(_check_literal(node.value))

    if isinstance(node, ast.Name):
        _check_name(node.id)
        if node.id in _CONSTANT_NAMES:
            return _Const(_CONSTANT_NAMES[node.id])
        names.add(node.id)
        return _Var(node.id)

    if isinstance(node, ast.List):
        return _List(tuple(_convert(elt, names, d) for elt in node.elts))

    if isinstance(node, ast.UnaryOp):
        op = _UNARY_OPS.get(type(node.op))
        if op is None:
            raise ExprError(N_("bitwise operators are not allowed"))
        return _Unary(op, _convert(node.operand, names, d))

    if isinstance(node, ast.BinOp):
        op = _BIN_OPS.get(type(node.op))
        if op is None:
            raise ExprError(N_("the operator '{op}' is not allowed"), op=_operator_symbol(node.op))
        return _Binary(op, _convert(node.left, names, d), _convert(node.right, names, d))

    if isinstance(node, ast.BoolOp):
        op = _BOOL_OPS[type(node.op)]
        return _BoolOp(op, tuple(_convert(v, names, d) for v in node.values))

    if isinstance(node, ast.Compare):
        ops = []
        for cmp in node.ops:
            symbol = _CMP_OPS.get(type(cmp))
            if symbol is None:
                raise ExprError(N_("'is' and 'is not' are not allowed; use == and !="))
            ops.append(symbol)
        return _Compare(
            _convert(node.left, names, d),
            tuple(ops),
            tuple(_convert(c, names, d) for c in node.comparators),
        )

    if isinstance(node, ast.Call):
        return _convert_call(node, names, d)

    message = _FORBIDDEN.get(type(node))
    if message is None:
        raise ExprError(N_("'{what}' is not allowed in an expression"), what=type(node).__name__)
    raise ExprError(message)


def _convert_call(node: ast.Call, names: set[str], depth: int) -> _Node:
    if not isinstance(node.func, ast.Name):
        if isinstance(node.func, ast.Attribute):
            raise ExprError(N_("attribute access is not allowed"))
        raise ExprError(N_("only len(), today() and age() can be called"))
    func = node.func.id
    _check_name(func)
    if func not in _FUNCTIONS:
        raise ExprError(N_("unknown function '{name}'"), name=func)
    if node.keywords:
        raise ExprError(N_("{name}() does not take keyword arguments"), name=func)
    if any(isinstance(arg, ast.Starred) for arg in node.args):
        raise ExprError(N_("starred expressions are not allowed"))
    arity = _FUNCTIONS[func]
    if len(node.args) != arity:
        if arity == 1:
            raise ExprError(N_("{name}() takes 1 argument, got {n}"), name=func, n=len(node.args))
        raise ExprError(
            N_("{name}() takes {arity} arguments, got {n}"),
            name=func,
            arity=arity,
            n=len(node.args),
        )
    return _Call(func, tuple(_convert(arg, names, depth) for arg in node.args))


def _check_literal(value: object) -> object:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_INT:
            raise ExprError(N_("number is too large"))
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExprError(N_("number is too large"))
        return value
    # bytes, complex (``1j``), Ellipsis
    raise ExprError(N_("literals of type '{name}' are not allowed"), name=type(value).__name__)


def _operator_symbol(op: ast.operator) -> str:
    symbols: dict[type[ast.operator], str] = {
        ast.Pow: "**",
        ast.FloorDiv: "//",
        ast.Mod: "%",
        ast.MatMult: "@",
        ast.LShift: "<<",
        ast.RShift: ">>",
        ast.BitOr: "|",
        ast.BitXor: "^",
        ast.BitAnd: "&",
    }
    return symbols.get(type(op), type(op).__name__)


# --------------------------------------------------------------------------------------
# Evaluation


def truthy(value: Any) -> bool:
    """Truth of a value the way a flow author expects: None/False/0/''/[] are false.

    Values outside the JSON-like types are simply true: we never call an unknown
    object's ``__bool__``.
    """
    if value is None:
        return False
    if isinstance(value, bool | int | float | str | list | tuple | dict):
        return bool(value)
    return True


def evaluate(expr: Expr, env: Mapping[str, Any], *, today: datetime.date) -> Any:
    """Evaluate ``expr`` with variables from ``env``; raise only :class:`ExprError`.

    ``today`` is passed in (not read from the clock) so that a whole interview step sees
    one date and tests are deterministic.
    """
    if isinstance(today, datetime.datetime):
        today = today.date()
    try:
        return _Evaluator(env, today).eval(expr._tree)
    except ExprError:
        raise
    except RecursionError:  # e.g. == between absurdly nested lists from env
        raise ExprError("a value is nested too deeply") from None
    except Exception as exc:
        # Values in env are answers from our own store, so this should not happen; but the
        # contract is "only ExprError", and a bad answer must not crash the interview.
        raise ExprError(f"could not evaluate the expression ({type(exc).__name__})") from None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


def _check_number(value: int | float) -> int | float:
    if isinstance(value, int):
        if abs(value) > MAX_INT:
            raise ExprError("number is too large")
    elif not math.isfinite(value):
        raise ExprError("number is too large")
    return value


def _parse_date(value: object) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


class _Evaluator:
    """Walks a compiled tree; recursion depth is bounded by MAX_DEPTH from compilation."""

    def __init__(self, env: Mapping[str, Any], today: datetime.date) -> None:
        self.env = env
        self.today = today
        self._calls: dict[str, Callable[[list[Any]], Any]] = {
            "len": self._len,
            "today": self._today,
            "age": self._age,
        }

    def eval(self, node: _Node) -> Any:
        if isinstance(node, _Const):
            return node.value
        if isinstance(node, _Var):
            return self.env.get(node.name)
        if isinstance(node, _List):
            return [self.eval(item) for item in node.items]
        if isinstance(node, _Unary):
            return self._unary(node.op, self.eval(node.operand))
        if isinstance(node, _Binary):
            return self._binary(node.op, self.eval(node.left), self.eval(node.right))
        if isinstance(node, _BoolOp):
            return self._boolop(node)
        if isinstance(node, _Compare):
            return self._compare(node)
        if isinstance(node, _Call):
            return self._calls[node.func]([self.eval(arg) for arg in node.args])
        raise ExprError("malformed expression")  # only reachable with a hand-built Expr

    # -- operators --------------------------------------------------------------------

    def _unary(self, op: str, value: Any) -> Any:
        if op == "not":
            return not truthy(value)
        if value is None:
            return None
        if not _is_number(value):
            raise ExprError(f"unary '{op}' needs a number, got {_type_name(value)}")
        return _check_number(-value if op == "-" else +value)

    def _binary(self, op: str, left: Any, right: Any) -> Any:
        if left is None or right is None:
            return None
        if _is_number(left) and _is_number(right):
            if op == "+":
                result = left + right
            elif op == "-":
                result = left - right
            elif op == "*":
                result = left * right
            else:
                if right == 0:
                    raise ExprError("division by zero")
                result = left / right
            return _check_number(result)
        if op == "+":
            if isinstance(left, str) and isinstance(right, str):
                if len(left) + len(right) > MAX_SEQUENCE_LENGTH:
                    raise ExprError("text is too long")
                return left + right
            if isinstance(left, list | tuple) and isinstance(right, list | tuple):
                if len(left) + len(right) > MAX_SEQUENCE_LENGTH:
                    raise ExprError("list is too long")
                return [*left, *right]
        raise ExprError(f"cannot use '{op}' on {_type_name(left)} and {_type_name(right)}")

    def _boolop(self, node: _BoolOp) -> bool:
        if node.op == "and":
            return all(truthy(self.eval(operand)) for operand in node.operands)
        return any(truthy(self.eval(operand)) for operand in node.operands)

    def _compare(self, node: _Compare) -> bool:
        left = self.eval(node.first)
        for op, right_node in zip(node.ops, node.rest, strict=True):
            right = self.eval(right_node)
            if not _compare_one(op, left, right):
                return False
            left = right
        return True

    # -- functions --------------------------------------------------------------------

    def _len(self, args: list[Any]) -> int:
        (value,) = args
        if value is None:
            return 0
        if isinstance(value, str | list | tuple):
            return len(value)
        raise ExprError(f"len() needs a text or a list, got {_type_name(value)}")

    def _today(self, args: list[Any]) -> str:
        return self.today.isoformat()

    def _age(self, args: list[Any]) -> int | None:
        born = _parse_date(args[0])
        if born is None:
            return None
        today = self.today
        years = today.year - born.year
        # Not yet had this year's birthday. Someone born on 29 February turns a year
        # older on 1 March in common years.
        if (today.month, today.day) < (born.month, born.day):
            years -= 1
        return years


def _compare_one(op: str, left: Any, right: Any) -> bool:
    """One link of a (possibly chained) comparison.

    Equality is Python's. Ordering is defined between numbers and between texts (ISO
    dates compare correctly as texts); anything else, null included, is simply false so
    an unanswered step makes a condition false rather than breaking the interview.
    """
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op == "in":
        return _contains(right, left)
    if op == "not in":
        return not _contains(right, left)
    if _is_number(left) or isinstance(left, bool):
        comparable = _is_number(right) or isinstance(right, bool)
    elif isinstance(left, str):
        comparable = isinstance(right, str)
    else:
        comparable = False
    if not comparable:
        return False
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


def _contains(container: Any, item: Any) -> bool:
    """``item in container``; null on either side is false, text in text is a substring."""
    if container is None or item is None:
        return False
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if isinstance(container, list | tuple):
        return item in container
    raise ExprError(f"'in' needs a text or a list on the right, got {_type_name(container)}")
