"""The baseline: the same interview written the way python-telegram-bot's examples write one.

Modelled on PTB's ``examples/conversationbot.py`` and ``examples/persistentconversationbot.py``:

* one ``ConversationHandler``, one state per question (the state is the question's index in
  the flow), ``/start`` as entry point and ``/cancel`` as fallback;
* answers kept in ``context.user_data``, persisted by ``PicklePersistence(filepath=...)`` with
  ``name=..., persistent=True`` and the default ``update_interval`` (60 s): the whole pickle is
  rewritten once a minute and at shutdown, so an answer is NOT on disk when the reply to it is
  sent (the intake bot commits every answer to SQLite before replying);
* ``Application.builder()...build()`` without ``concurrent_updates``: the examples' default,
  updates are handled one at a time.

Same questions in the same order, same buttons (callback data laid out like the intake bot's,
``a:0:{step}:{op}:{arg}`` and ``r:0:u:0``, so the same simulated applicants drive both), same
messages per answer (the tapped question is edited to show the answer, the next question is
sent; the phone answer is confirmed with the keyboard removed; a review before sending), and
roughly the same validation of typed answers. The question texts are read from
``bot/flows/judicial-assistance.yaml`` with PyYAML; the rules of which question is asked when
("relevant") are written by hand, as such a bot would.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import secrets
import warnings
from collections.abc import Awaitable, Callable
from importlib.resources import files
from typing import Any

import yaml
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)
from telegram.warnings import PTBUserWarning

FLOW: dict[str, Any] = yaml.safe_load(
    (files("bot.flows") / "judicial-assistance.yaml").read_text(encoding="utf-8")
)
STEPS: list[dict[str, Any]] = FLOW["steps"]
REVIEW = len(STEPS)  # the state after the last question

Context = ContextTypes.DEFAULT_TYPE
Callback = Callable[[Update, Context], Awaitable[int]]


def _age(answers: dict[str, Any]) -> int:
    born = answers.get("birth_date")
    if not born:
        return 999
    b = dt.date.fromisoformat(born)
    today = dt.date.today()
    return today.year - b.year - ((today.month, today.day) < (b.month, b.day))


# Which questions are asked when: the flow's `relevant` expressions, by hand.
RELEVANT: dict[str, Callable[[dict[str, Any]], bool]] = {
    "relationship": lambda a: a.get("applying_for") == "relative",
    "helper_role": lambda a: a.get("applying_for") == "official",
    "guardian_name": lambda a: _age(a) < 18,
    "guardian_relation": lambda a: _age(a) < 18,
    "guardian_consent": lambda a: _age(a) < 14,
    "relationship_other": lambda a: a.get("relationship") == "other",
    "applicant_name": lambda a: a.get("applying_for") in ("relative", "official"),
    "what_happened_other": lambda a: a.get("what_happened") == "other",
    "injury": lambda a: a.get("what_happened") in ("crime_injury", "witness_harm", "tort_injury"),
    "dependants": lambda a: a.get("what_happened") == "crime_death",
    "authority_name": lambda a: a.get("authority") in ("police", "procuratorate", "court"),
    "case_stage": lambda a: a.get("authority") != "none",
    "case_number": lambda a: a.get("authority") != "none",
    "no_compensation_reason": lambda a: a.get("compensation") != "full",
    "hardship_resolved": lambda a: (
        bool(a.get("social_assistance")) and "none" not in a["social_assistance"]
    ),
}

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "agree": "✅ 我同意",
        "decline": "我不同意",
        "back": "⬅️ 返回",
        "skip": "⏭ 跳过",
        "done": "✔️ 选好了",
        "share": "📱 发送我的手机号",
        "agreed": "同意",
        "none": "（无）",
        "no_answer": "（未回答）",
        "buttons": "请点问题下面的按钮。",
        "empty": "请写几个字。",
        "too_long": "太长了，最多 {n} 个字。",
        "number": "请发一个数字，比如 3。",
        "whole": "请发整数，不要带小数点。",
        "small": "这个数太小了，最少是 {n}。",
        "large": "这个数太大了，最多是 {n}。",
        "date": "请按 2024-03-05（年-月-日）这样写日期。",
        "early": "这个日期太早了。",
        "late": "这个日期太晚了。",
        "phone": "这看起来不像电话号码，请按 13812345678 这样写。",
        "id_number": "这个身份证号码对不上，请对照身份证重新发送。",
        "choose_one": "请至少选一项。",
        "moved_on": "这个按钮属于前面的问题，这是现在的问题。",
        "review": "请在发送前核对您的回答：",
        "send": "📨 发送",
        "change": "✏️ 修改回答",
        "thanks": "谢谢。您的申请已经发送。",
        "ref": "您的编号：{ref}",
        "declined": "没有您的同意，我们不能继续。想好了可以再发 /start。",
        "cancelled": "已停止，您的回答已删除。",
        "received": "已收到 {n} 个文件。",
    },
    "en": {
        "agree": "✅ I agree",
        "decline": "I do not agree",
        "back": "⬅️ Back",
        "skip": "⏭ Skip",
        "done": "✔️ Done",
        "share": "📱 Share my phone number",
        "agreed": "Agreed",
        "none": "(none)",
        "no_answer": "(no answer)",
        "buttons": "Please tap one of the buttons under the question.",
        "empty": "Please write a few words.",
        "too_long": "That is too long: at most {n} characters.",
        "number": "Please send a number, for example 3.",
        "whole": "Please send a whole number, without a decimal point.",
        "small": "That number is too small: it must be at least {n}.",
        "large": "That number is too large: it must be at most {n}.",
        "date": "Please send a date like 2024-03-05 (year-month-day).",
        "early": "That date is too early.",
        "late": "That date is too late.",
        "phone": "That does not look like a phone number. Please send it like 13812345678.",
        "id_number": "That ID card number does not add up. Please compare it with the card.",
        "choose_one": "Please choose at least one.",
        "moved_on": "That button belongs to an earlier question. Here is the current one.",
        "review": "Please check your answers before sending:",
        "send": "📨 Send",
        "change": "✏️ Change an answer",
        "thanks": "Thank you. Your application has been sent.",
        "ref": "Your reference: {ref}",
        "declined": "We cannot go on without your agreement. If you change your mind, send /start.",
        "cancelled": "Stopped; your answers were deleted.",
        "received": "{n} file(s) received.",
    },
}


def lang_of(update: Update) -> str:
    code = (update.effective_user.language_code if update.effective_user else "") or ""
    code = code.lower()
    if code.startswith("en"):
        return "en"
    if code.startswith("ug"):
        return "ug"
    return "zh"


def t(lang: str, key: str, **kw: Any) -> str:
    text = LABELS.get(lang, LABELS["zh"])[key]
    return text.format(**kw) if kw else text


# The settings a flow text may name ({settings.procuratorate_hotline}), at their defaults.
SETTINGS = {"procuratorate_hotline": "12309", "legal_aid_hotline": "12348", "draft_days": "30"}
_SETTING = re.compile(r"\{settings\.(\w+)\}")


def pick(texts: Any, lang: str) -> str:
    if isinstance(texts, dict):
        text = str(texts.get(lang) or texts.get("zh") or next(iter(texts.values())))
    else:
        text = str(texts)
    return _SETTING.sub(lambda m: SETTINGS.get(m.group(1), m.group(0)), text)


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def mask(phone: str) -> str:
    return phone[:3] + "•" * (len(phone) - 5) + phone[-2:]


# --- rendering ---------------------------------------------------------------------------


def question_text(i: int, lang: str, pending: list[Any], error: str | None = None) -> str:
    step = STEPS[i]
    parts = []
    if error:
        parts.append("⚠️ " + esc(error))
    parts.append("<b>" + esc(pick(step["text"], lang)) + "</b>")
    if step.get("help"):
        parts.append("<i>" + esc(pick(step["help"], lang)) + "</i>")
    if step["type"] == "multi_choice" and pending:
        chosen = [pick(c["label"], lang) for c in step["choices"] if c["value"] in pending]
        parts.append(esc(", ".join(chosen)))
    if step["type"] == "attachments" and pending:
        parts.append(esc(t(lang, "received", n=len(pending))))
    return "\n\n".join(parts)


def question_markup(i: int, lang: str, pending: list[Any]) -> Any:
    step = STEPS[i]
    kind, required = step["type"], step.get("required", True)

    def data(op: str, arg: int = 0) -> str:
        return f"a:0:{i}:{op}:{arg}"

    if kind == "phone":
        keys = [[KeyboardButton(t(lang, "share"), request_contact=True)]]
        extra = [] if required else [KeyboardButton(t(lang, "skip"))]
        keys.append([*extra, KeyboardButton(t(lang, "back"))])
        return ReplyKeyboardMarkup(keys, resize_keyboard=True, one_time_keyboard=True)
    rows: list[list[InlineKeyboardButton]] = []
    if kind == "consent":
        rows.append([InlineKeyboardButton(t(lang, "agree"), callback_data=data("y"))])
        rows.append([InlineKeyboardButton(t(lang, "decline"), callback_data=data("n"))])
    elif kind == "choice":
        labels = [pick(c["label"], lang) for c in step["choices"]]
        per_row = 2 if all(len(x) <= 12 for x in labels) and len(labels) > 3 else 1
        buttons = [
            InlineKeyboardButton(label, callback_data=data("c", n))
            for n, label in enumerate(labels)
        ]
        rows += [buttons[n : n + per_row] for n in range(0, len(buttons), per_row)]
    elif kind == "multi_choice":
        for n, c in enumerate(step["choices"]):
            mark = "✅ " if c["value"] in pending else "▫️ "
            label = mark + pick(c["label"], lang)
            rows.append([InlineKeyboardButton(label, callback_data=data("t", n))])
        rows.append([InlineKeyboardButton(t(lang, "done"), callback_data=data("d"))])
    elif kind == "attachments" and pending:
        rows.append([InlineKeyboardButton(t(lang, "done"), callback_data=data("d"))])
    nav = []
    if not required and kind != "consent":
        nav.append(InlineKeyboardButton(t(lang, "skip"), callback_data=data("s")))
    nav.append(InlineKeyboardButton(t(lang, "back"), callback_data=data("b")))
    rows.append(nav)
    return InlineKeyboardMarkup(rows)


def answer_text(step: dict[str, Any], value: Any, lang: str) -> str:
    if value is None:
        return t(lang, "no_answer")
    kind = step["type"]
    if kind == "consent":
        return t(lang, "agreed")
    if kind == "choice":
        return next(pick(c["label"], lang) for c in step["choices"] if c["value"] == value)
    if kind == "multi_choice":
        labels = [pick(c["label"], lang) for c in step["choices"] if c["value"] in value]
        return ", ".join(labels) or t(lang, "none")
    if kind in ("phone", "id_number"):
        return mask(str(value))
    if kind == "attachments":
        return str(len(value))
    return str(value)


# --- reading typed answers ------------------------------------------------------------------


def read_typed(step: dict[str, Any], text: str, answers: dict[str, Any], lang: str) -> Any:
    """The value of a typed answer; raises ValueError with the message to show."""
    kind, s = step["type"], text.strip()
    if kind == "text":
        if not s:
            raise ValueError(t(lang, "empty"))
        if len(s) > int(step.get("max_length", 4000)):
            raise ValueError(t(lang, "too_long", n=step["max_length"]))
        return s
    if kind == "number":
        if not re.fullmatch(r"\d+(\.\d+)?", s):
            raise ValueError(t(lang, "number"))
        if "." in s and step.get("integer", True):
            raise ValueError(t(lang, "whole"))
        value: float | int = float(s) if "." in s else int(s)
        if "min" in step and value < step["min"]:
            raise ValueError(t(lang, "small", n=step["min"]))
        if "max" in step and value > step["max"]:
            raise ValueError(t(lang, "large", n=step["max"]))
        if step["id"] == "earners" and value > answers.get("household_size", value):
            raise ValueError(pick(step["constraint_message"], lang))
        return value
    if kind == "date":
        m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", s)
        try:
            day = dt.date(*(int(g) for g in m.groups())) if m else None
        except ValueError:
            day = None
        if day is None:
            raise ValueError(t(lang, "date"))
        if day < dt.date(1900, 1, 1):
            raise ValueError(t(lang, "early"))
        if day > dt.date.today():
            raise ValueError(t(lang, "late"))
        return day.isoformat()
    if kind == "phone":
        digits = re.sub(r"\D", "", s)
        if len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]
        if not re.fullmatch(r"1[3-9]\d{9}", digits):
            raise ValueError(t(lang, "phone"))
        return digits
    if kind == "id_number":
        number = re.sub(r"\s", "", s).upper()
        weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
        if (
            not re.fullmatch(r"\d{17}[\dX]", number)
            or number[17]
            != "10X98765432"[sum(int(d) * w for d, w in zip(number, weights, strict=False)) % 11]
        ):
            raise ValueError(t(lang, "id_number"))
        return number
    raise ValueError(t(lang, "buttons"))


# --- the conversation ------------------------------------------------------------------------


def next_question(i: int, answers: dict[str, Any]) -> int:
    for j in range(i + 1, len(STEPS)):
        step = STEPS[j]
        rule = RELEVANT.get(step["id"])
        if step["type"] != "note" and (rule is None or rule(answers)):
            return j
    return REVIEW


async def ask(update: Update, context: Context, i: int, error: str | None = None) -> int:
    lang = lang_of(update)
    pending = context.user_data.get("pending", [])  # type: ignore[union-attr]
    await context.bot.send_message(
        update.effective_chat.id,  # type: ignore[union-attr]
        question_text(i, lang, pending, error),
        parse_mode=ParseMode.HTML,
        reply_markup=question_markup(i, lang, pending),
    )
    return i


async def go_next(update: Update, context: Context, i: int) -> int:
    data: dict[str, Any] = context.user_data  # type: ignore[assignment]
    data["path"].append(i)
    data["pending"] = []
    j = next_question(i, data["answers"])
    if j == REVIEW:
        return await show_review(update, context)
    return await ask(update, context, j)


async def go_back(update: Update, context: Context, i: int) -> int:
    data: dict[str, Any] = context.user_data  # type: ignore[assignment]
    data["pending"] = []
    if data["path"]:
        i = data["path"].pop()
    return await ask(update, context, i)


async def show_review(update: Update, context: Context) -> int:
    lang = lang_of(update)
    answers: dict[str, Any] = context.user_data["answers"]  # type: ignore[index]
    lines = ["<b>" + esc(t(lang, "review")) + "</b>"]
    n = 0
    for step in STEPS:
        if step["id"] in answers:
            n += 1
            value = answer_text(step, answers[step["id"]], lang)
            lines.append(f"{n}. {esc(pick(step['text'], lang))}\n→ <b>{esc(value)}</b>")
    chunks, chunk = [], ""
    for line in lines:
        if len(chunk) + len(line) > 3500:
            chunks.append(chunk)
            chunk = ""
        chunk += line + "\n\n"
    chunks.append(chunk)
    chat_id = update.effective_chat.id  # type: ignore[union-attr]
    for text in chunks[:-1]:
        await context.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
    markup = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(t(lang, "send"), callback_data="r:0:u:0")],
            [InlineKeyboardButton(t(lang, "change"), callback_data="r:0:m:0")],
            [InlineKeyboardButton(t(lang, "back"), callback_data="r:0:b:0")],
        ]
    )
    await context.bot.send_message(
        chat_id, chunks[-1], parse_mode=ParseMode.HTML, reply_markup=markup
    )
    return REVIEW


async def start(update: Update, context: Context) -> int:
    data: dict[str, Any] = context.user_data  # type: ignore[assignment]
    data["answers"], data["path"], data["pending"] = {}, [], []
    lang = lang_of(update)
    welcome = STEPS[0]
    text = esc(pick(welcome["text"], lang))
    if welcome.get("help"):
        text += "\n\n<i>" + esc(pick(welcome["help"], lang)) + "</i>"
    await context.bot.send_message(
        update.effective_chat.id,  # type: ignore[union-attr]
        text,
        parse_mode=ParseMode.HTML,
    )
    return await ask(update, context, next_question(0, data["answers"]))


async def cancel(update: Update, context: Context) -> int:
    context.user_data.clear()  # type: ignore[union-attr]
    await context.bot.send_message(
        update.effective_chat.id,  # type: ignore[union-attr]
        t(lang_of(update), "cancelled"),
        reply_markup=ReplyKeyboardRemove(),
    )
    return ConversationHandler.END


def on_typed(i: int) -> Callback:
    step = STEPS[i]

    async def handler(update: Update, context: Context) -> int:
        lang = lang_of(update)
        message = update.effective_message
        answers: dict[str, Any] = context.user_data["answers"]  # type: ignore[index]
        text = (message.text or "") if message else ""
        if text.strip() == t(lang, "back"):
            return await go_back(update, context, i)
        try:
            if step["type"] == "phone" and message is not None and message.contact:
                value = read_typed(step, message.contact.phone_number, answers, lang)
            else:
                value = read_typed(step, text, answers, lang)
        except ValueError as err:
            return await ask(update, context, i, str(err))
        answers[step["id"]] = value
        if step["type"] == "phone":
            await context.bot.send_message(
                update.effective_chat.id,  # type: ignore[union-attr]
                "✔️ " + esc(mask(value)),
                parse_mode=ParseMode.HTML,
                reply_markup=ReplyKeyboardRemove(),
            )
        return await go_next(update, context, i)

    return handler


def on_attachment(i: int) -> Callback:
    async def handler(update: Update, context: Context) -> int:
        message = update.effective_message
        pending: list[Any] = context.user_data.setdefault("pending", [])  # type: ignore[union-attr]
        if message is not None and message.photo:
            pending.append(message.photo[-1].file_id)
        elif message is not None and message.document:
            pending.append(message.document.file_id)
        return await ask(update, context, i)

    return handler


def on_button(i: int) -> Callback:
    step = STEPS[i]

    async def handler(update: Update, context: Context) -> int:
        query = update.callback_query
        assert query is not None
        await query.answer()
        lang = lang_of(update)
        data: dict[str, Any] = context.user_data  # type: ignore[assignment]
        answers: dict[str, Any] = data["answers"]
        parts = (query.data or "").split(":")
        if len(parts) != 5 or parts[0] != "a" or parts[2] != str(i) or not parts[4].isdigit():
            return await ask(update, context, i, t(lang, "moved_on"))
        op, arg = parts[3], int(parts[4])
        if op == "b":
            return await go_back(update, context, i)
        if op == "t" and step["type"] == "multi_choice" and arg < len(step["choices"]):
            pending: list[str] = data.setdefault("pending", [])
            value = step["choices"][arg]["value"]
            if value in pending:
                pending.remove(value)
            else:
                pending.append(value)
            await query.edit_message_text(
                question_text(i, lang, pending),
                parse_mode=ParseMode.HTML,
                reply_markup=question_markup(i, lang, pending),
            )
            return i
        if op == "n" and step["type"] == "consent":
            data.clear()
            await query.edit_message_reply_markup(None)
            await context.bot.send_message(
                update.effective_chat.id,  # type: ignore[union-attr]
                t(lang, "declined"),
                reply_markup=ReplyKeyboardRemove(),
            )
            return ConversationHandler.END
        if op == "y" and step["type"] == "consent":
            value: Any = True
        elif op == "c" and step["type"] == "choice" and arg < len(step["choices"]):
            value = step["choices"][arg]["value"]
        elif op == "s" and not step.get("required", True):
            value = None
        elif op == "d" and step["type"] in ("multi_choice", "attachments"):
            chosen = data.get("pending", [])
            if step["type"] == "multi_choice":
                order = [c["value"] for c in step["choices"]]
                chosen = sorted(chosen, key=order.index)
                if step.get("required", True) and not chosen:
                    return await ask(update, context, i, t(lang, "choose_one"))
                if "none" in chosen and len(chosen) > 1:
                    return await ask(update, context, i, pick(step["constraint_message"], lang))
            value = list(chosen)
        else:
            return await ask(update, context, i, t(lang, "moved_on"))
        answers[step["id"]] = value
        question = "<b>" + esc(pick(step["text"], lang)) + "</b>"
        await query.edit_message_text(
            question + "\n\n✔️ " + esc(answer_text(step, value, lang)), parse_mode=ParseMode.HTML
        )
        return await go_next(update, context, i)

    return handler


def refuse_typed(i: int) -> Callback:
    async def handler(update: Update, context: Context) -> int:
        return await ask(update, context, i, t(lang_of(update), "buttons"))

    return handler


async def on_review(update: Update, context: Context) -> int:
    query = update.callback_query
    assert query is not None
    await query.answer()
    lang = lang_of(update)
    data: dict[str, Any] = context.user_data  # type: ignore[assignment]
    op = (query.data or "").split(":")[2:3]
    if op == ["b"]:
        await query.edit_message_reply_markup(None)
        return await go_back(update, context, REVIEW)
    if op != ["u"]:
        return REVIEW
    ref = secrets.token_hex(3).upper()
    submitted = data.setdefault("submitted", [])
    submitted.append(
        {"ref": ref, "answers": data["answers"], "at": dt.datetime.now(dt.UTC).isoformat()}
    )
    data["answers"], data["path"], data["pending"] = {}, [], []
    await query.edit_message_reply_markup(None)
    await context.bot.send_message(
        update.effective_chat.id,  # type: ignore[union-attr]
        esc(t(lang, "thanks")) + "\n\n" + esc(t(lang, "ref", ref=ref)),
        parse_mode=ParseMode.HTML,
        reply_markup=ReplyKeyboardRemove(),
    )
    return ConversationHandler.END


def state_handlers(i: int) -> list[BaseHandler[Any, Any, Any]]:
    kind = STEPS[i]["type"]
    typed = filters.TEXT & ~filters.COMMAND
    if kind in ("text", "number", "date", "id_number"):
        return [
            MessageHandler(typed, on_typed(i)),
            CallbackQueryHandler(on_button(i), pattern=r"^a:"),
        ]
    if kind == "phone":
        return [MessageHandler(typed | filters.CONTACT, on_typed(i))]
    if kind == "attachments":
        return [
            MessageHandler(filters.PHOTO | filters.Document.ALL, on_attachment(i)),
            CallbackQueryHandler(on_button(i), pattern=r"^a:"),
            MessageHandler(typed, refuse_typed(i)),
        ]
    return [
        CallbackQueryHandler(on_button(i), pattern=r"^a:"),
        MessageHandler(typed, refuse_typed(i)),
    ]


def build_conversation(
    token: str,
    base_url: str,
    pickle_path: str,
    *,
    customise: Callable[[ApplicationBuilder], ApplicationBuilder] | None = None,
) -> Application:
    """The examples' way: PicklePersistence, a persistent ConversationHandler, defaults."""
    persistence = PicklePersistence(filepath=pickle_path)
    builder = ApplicationBuilder().token(token).base_url(base_url).persistence(persistence)
    if customise is not None:
        builder = customise(builder)  # only for bench/run.py --what-if
    app = builder.build()
    states: dict[object, list[BaseHandler[Any, Any, Any]]] = {
        i: state_handlers(i) for i, step in enumerate(STEPS) if step["type"] != "note"
    }
    states[REVIEW] = [CallbackQueryHandler(on_review, pattern=r"^r:")]
    with warnings.catch_warnings():
        # "per_message=False: CallbackQueryHandler will not be tracked for every message":
        # the examples get the same warning and live with it.
        warnings.simplefilter("ignore", PTBUserWarning)
        conversation = ConversationHandler(
            entry_points=[CommandHandler("start", start)],
            states=states,
            fallbacks=[CommandHandler("cancel", cancel)],
            name="intake",
            persistent=True,
        )
    app.add_handler(conversation)
    return app
