"""JSON for the hot paths: orjson where it can, the standard library where it cannot.

Every answer costs the bot a few JSON documents: the draft's state it stores (about 1 KB
by the end of the interview), the body of each Bot API call, the getUpdates answer it
reads. With the standard library they were 7% of the bot's CPU in bench/ (py-spy); a
state took 16 µs to encode here, 1.6 µs with orjson, and a sendMessage body 4.9 µs
against 0.3 (timeit).

The results are the standard library's: what orjson refuses or reads another way goes to
``json`` as before: integers beyond 64 bits, keys that are not strings, NaN and Infinity
in what is read, invalid UTF-8 in an answer. Both write compact UTF-8 with the same
values (tests/test_jsoncodec.py holds them side by side), but for NaN and Infinity, which
JSON does not have: json wrote them anyway, orjson writes null. The bot has none to write:
the engine refuses a number too big for a float.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import orjson

_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# orjson writes dataclasses and datetimes itself; json hands them to ``default``.
_AS_JSON_DOES = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
_LONG_TEXT = re.compile(r"\d{19}")
_LONG_BYTES = re.compile(rb"\d{19}")


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


def loads(data: bytes | str) -> Any:
    """Parse JSON; bytes that are not UTF-8 are read with the bad bytes replaced, as
    python-telegram-bot reads the Bot API's answers. Raises ValueError when it is not JSON."""
    # orjson reads an integer beyond 64 bits as a float; json keeps it exact. 19 digits in
    # a row anywhere (in a string too) sends the whole document the slow way.
    long = _LONG_TEXT.search(data) if isinstance(data, str) else _LONG_BYTES.search(data)
    if long is None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:  # NaN, bad UTF-8, or not JSON at all
            pass
    if not isinstance(data, str):
        data = data.decode("utf-8", "replace")
    return json.loads(data)


def _with(default: Callable[[Any], Any]) -> json.JSONEncoder:
    return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=default)
