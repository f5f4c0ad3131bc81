"""JSON the bot writes for every answer: orjson where it can, json where it cannot.

Every answer costs the bot a few JSON documents: the draft's state it stores (about 1 KB
by the end of the interview) and the body of each Bot API call. orjson writes them ten
times faster or more than json (the figures are in bench/README.md). Reading stays with json:
orjson read a getUpdates answer only a little faster, and reads integers beyond 64 bits as
floats.

What orjson refuses (integers beyond 64 bits, keys that are not strings) goes to json as
before, and both write compact UTF-8 with the same values (tests/test_jsoncodec.py holds
them side by side), but for NaN and Infinity, which JSON does not have: json wrote them
anyway, orjson writes null. The bot has none to write: the engine refuses a number too
big for a float.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# orjson writes dataclasses and datetimes itself; json hands them to ``default``.
_AS_JSON_DOES = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def dumps(value: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """``value`` as compact UTF-8 JSON; ``default`` turns what JSON lacks into JSON."""
    try:
        return orjson.dumps(value, default=default, option=_AS_JSON_DOES)
    except TypeError:  # orjson.JSONEncodeError: a big int, a non-str key, ...
        encoder = _compact if default is None else _with(default)
        return encoder.encode(value).encode()


def dumps_text(value: Any) -> str:
    """As ``dumps``, for a TEXT column."""
    return dumps(value).decode()


def _with(default: Callable[[Any], Any]) -> json.JSONEncoder:
    return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=default)
