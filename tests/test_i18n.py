"""The languages are complete and current: no reader meets an untranslated or stale string.

- every message of every catalog is translated, none fuzzy, placeholders intact;
- ``locales/messages.pot`` is what extraction finds in the code today (no new, no stale msgid);
- every catalog has exactly the template's messages;
- no user-facing literal escapes gettext in ``handlers/`` and the modules of ``bot/`` that
  write to people.
"""

from __future__ import annotations

import ast
import re
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, I18n, resolve

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
PLACEHOLDER = re.compile(r"\{(\w*)\}")


def _catalog(directory: str):  # type: ignore[no-untyped-def]
    path = LOCALES / directory / "LC_MESSAGES" / "messages.po"
    return read_po(BytesIO(path.read_bytes()), locale=directory)


def _template():  # type: ignore[no-untyped-def]
    return read_po(BytesIO((LOCALES / "messages.pot").read_bytes()))


def _ids(catalog) -> set[str]:  # type: ignore[no-untyped-def]
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


def _extracted() -> set[str]:
    found: set[str] = set()
    method_map = [
        (f"{package}/**.py", "python")
        for package in ("bot", "handlers", "telegram_channel", "command_line", "web_channel")
    ]
    for _name, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_template_is_current_with_the_code() -> None:
    in_code = _extracted()
    in_pot = _ids(_template())
    assert not in_code - in_pot, f"new msgids not in messages.pot: {sorted(in_code - in_pot)[:20]}"
    assert not in_pot - in_code, f"stale msgids in messages.pot: {sorted(in_pot - in_code)[:20]}"


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_catalog_is_complete_and_clean(lang: str) -> None:
    directory = LANGUAGES[lang][0]
    catalog = _catalog(directory)
    template_ids = _ids(_template())
    assert _ids(catalog) == template_ids, (
        f"{directory}: missing {sorted(template_ids - _ids(catalog))[:10]}, "
        f"stale {sorted(_ids(catalog) - template_ids)[:10]}"
    )
    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(("fuzzy", ids[0]))
        if not all(strings):
            problems.append(("untranslated", ids[0]))
        wanted = set(PLACEHOLDER.findall(ids[0]))
        if len(ids) > 1:
            # A plural form may name the count the singular leaves out ("once" / "{n} times").
            allowed = wanted | set(PLACEHOLDER.findall(ids[1]))
            bad = [t for t in strings if t and not set(PLACEHOLDER.findall(t)) <= allowed]
        else:
            bad = [t for t in strings if t and set(PLACEHOLDER.findall(t)) != wanted]
        if bad:
            problems.append(("placeholders differ", ids[0]))
    assert not problems, f"{directory}: {problems[:15]}"


def test_catalogs_load_and_a_missing_one_fails_loudly(tmp_path: Path) -> None:
    i18n = I18n.load()
    assert set(i18n.languages) == set(LANGUAGES)
    assert i18n.tr("zh").gettext("Back") != "Back"
    assert i18n.tr("ug").gettext("Back") != "Back"
    from bot import i18n as module

    with pytest.raises(module.CatalogError):
        module._load_catalog("xx_missing")


@pytest.mark.parametrize(
    ("code", "lang"),
    [
        ("zh-hans", "zh"),
        ("zh-cn", "zh"),
        ("zh", "zh"),
        ("zh-hant", "zh"),
        ("en", "en"),
        ("en-us", "en"),
        ("ug", "ug"),
        ("ug-CN", "ug"),
        ("ru", None),
        (None, None),
    ],
)
def test_telegram_language_codes_map_to_our_languages(code: str | None, lang: str | None) -> None:
    assert resolve(code) == lang


def test_amounts_read_in_each_locale() -> None:
    i18n = I18n.load()
    assert i18n.tr("zh").money(3000) == "¥3,000.00"
    assert i18n.tr("en").money(3000) == "CN¥3,000.00"
    assert "3,000.00" in i18n.tr("ug").money(3000)
    # Right-to-left text keeps numbers and references in reading order.
    assert i18n.tr("ug").ltr("ABC-DEF").startswith("\u200e")
    assert i18n.tr("zh").ltr("ABC-DEF") == "ABC-DEF"


# --- no user-facing literal outside gettext ----------------------------------------------

# Calls whose string arguments reach a person.
SENDERS = {
    "send",
    "say",
    "send_message",
    "reply_text",
    "edit_text",
    "edit_message_text",
    "button",
    "InlineKeyboardButton",
    "KeyboardButton",
    "BotCommand",
    "answer",
    "acknowledge",
    "OutMessage",
}
GETTEXT = {"_", "gettext", "ngettext", "N_"}
# Calls whose string arguments are codes, never shown: button data, refusal codes.
CODES = {"pack", "Refusal", "get"}
# What may appear literally: markup, emoji, punctuation, command names, placeholders.
ALLOWED = re.compile(
    r"</?\w+>|/[a-z_]+|\{\w*\}|[\s\W\d_]|ABC-DEF|USER_ID|ROLE|DAYS|\bc:|\bp:|\bf:|\ba:|\br:",
    re.UNICODE,
)
CHECKED = [
    *sorted((ROOT / "handlers").glob("*.py")),
    ROOT / "telegram_channel" / "inbox.py",
    ROOT / "telegram_channel" / "guard.py",
    ROOT / "telegram_channel" / "outbox.py",
    ROOT / "bot" / "messages.py",
    ROOT / "bot" / "cards.py",
    *sorted((ROOT / "bot" / "casework").glob("*.py")),
    ROOT / "telegram_channel" / "staff_buttons.py",
    ROOT / "telegram_channel" / "menu.py",
    ROOT / "bot" / "stats.py",
    ROOT / "bot" / "mydata.py",
    ROOT / "bot" / "housekeeping.py",
]


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _literals_outside_gettext(node: ast.AST) -> list[ast.Constant]:
    """String constants under ``node`` that are not inside a gettext call."""
    if isinstance(node, ast.Call) and _name(node.func) in GETTEXT | CODES:
        return []
    if isinstance(node, ast.Subscript):  # row["chat_id"]: a key, not a text
        return _literals_outside_gettext(node.value)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node]
    found: list[ast.Constant] = []
    for child in ast.iter_child_nodes(node):
        found += _literals_outside_gettext(child)
    return found


def _words(text: str) -> str:
    return ALLOWED.sub("", text)


def test_no_user_facing_literal_escapes_gettext() -> None:
    offenders = []
    for path in CHECKED:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _name(node.func) not in SENDERS:
                continue
            args = list(node.args) + [
                k.value for k in node.keywords if k.arg in (None, "text", "caption")
            ]
            for arg in args:
                for const in _literals_outside_gettext(arg):
                    if _words(const.value):
                        offenders.append(
                            f"{path.relative_to(ROOT)}:{const.lineno}: {const.value!r}"
                        )
    assert not offenders, "literals shown to people without gettext:\n" + "\n".join(offenders)
