"""Settings from the environment, and optionally a TOML file.

The environment wins over the file, so a deployment can keep defaults in
``intake-bot.toml`` and put the token in the environment only. A TOML key is
either the variable's own name (``INTAKE_DB``) or its short lower-case form
(``db``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.dburl import is_postgres, postgres_driver_missing, sqlite_path
from bot.regions import is_code

DEFAULT_API_URL = "https://api.telegram.org/bot"

# environment variable -> short TOML name
KEYS = {
    "INTAKE_BOT_TOKEN": "token",
    "INTAKE_BOT_API_URL": "api_url",
    "INTAKE_DB": "db",
    "INTAKE_ADMIN_IDS": "admin_ids",
    "INTAKE_CASEWORKER_CHAT": "caseworker_chat",
    "INTAKE_SECRET_KEY": "secret_key",
    "INTAKE_WEBHOOK_URL": "webhook_url",
    "INTAKE_WEBHOOK_PORT": "webhook_port",
    "INTAKE_WEBHOOK_SECRET": "webhook_secret",
    "INTAKE_DRAFT_DAYS": "draft_days",
    "INTAKE_RETAIN_DAYS": "retain_days",
    "INTAKE_LOG_LEVEL": "log_level",
    "INTAKE_WEBHOOK_LISTEN": "webhook_listen",
    "INTAKE_RATE_LIMIT": "rate_limit",
    "INTAKE_SEND_RATE": "send_rate",
    "INTAKE_BOT_API_CLIENT": "bot_api_client",
    "INTAKE_LEGAL_AID_HOTLINE": "legal_aid_hotline",
    "INTAKE_PROCURATORATE_HOTLINE": "procuratorate_hotline",
    "INTAKE_DEFAULT_REGION": "default_region",
    "INTAKE_APPROVAL": "approval",
    "INTAKE_MAX_AMOUNT": "max_amount",
    "INTAKE_FIRST_REPLY_DAYS": "first_reply_days",
    "INTAKE_DECISION_DAYS": "decision_days",
    "INTAKE_DIGEST_TIME": "digest_time",
    "INTAKE_CHECKIN_DAYS": "checkin_days",
    "INTAKE_TIMEZONE": "timezone",
    "INTAKE_FILES": "files",
    "INTAKE_TRANSCRIBER": "transcriber",
    "INTAKE_WEB_PORT": "web_port",
    "INTAKE_WEB_LISTEN": "web_listen",
    "INTAKE_WEB_PUBLIC_URL": "web_public_url",
    "INTAKE_WEB_TRUST_PROXY": "web_trust_proxy",
    "INTAKE_WEB_RATE_LIMIT": "web_rate_limit",
}

#: The Bot API clients ``INTAKE_BOT_API_CLIENT`` chooses from (telegram_channel/client.py).
BOT_API_CLIENTS = ("own", "stock")


_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
# A phone number people dial: 12348, 12309, or a county's own line such as 09912345678.
_HOTLINE = re.compile(r"[0-9]{3,15}|0[0-9]{2,3}-[0-9]{5,8}")


class ConfigError(ValueError):
    """A setting is missing or wrong; the message is one line for the operator."""


@dataclass(frozen=True)
class Settings:
    token: str | None = None
    api_url: str = DEFAULT_API_URL
    db_path: str = "intake.db"
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    caseworker_chat: int | None = None
    secret_key: str | None = None
    webhook_url: str | None = None
    webhook_port: int = 8443
    webhook_secret: str | None = None
    draft_days: int = 30  # idle drafts expire after this many days
    retain_days: int = 5 * 365  # decided intakes are anonymised after this many days
    log_level: str = "INFO"
    webhook_listen: str = "0.0.0.0"
    rate_limit: int = 60  # updates one person may send per minute; 0 turns the limit off
    # Messages the bot sends per second, all chats together: Telegram allows about 30, up to
    # 1000 with paid broadcasts; 0 lifts the limit (only for a local Bot API, e.g. a benchmark).
    send_rate: int = 30
    # How the bot talks to the Bot API: "own" (its own HTTP/1.1 client, update reader and
    # send limiter) or "stock" (python-telegram-bot as shipped). A proxy makes it "stock".
    bot_api_client: str = "own"
    # Numbers people are told to call: free legal aid (the justice bureau's 12348) and the
    # procuratorate's own line (12309), where people ask, apply by phone, or ask for a
    # decision to be looked at again. Texts that name them are filled from here when shown:
    # the catalog's (bot/i18n.py, Hotlines) and the flow's ({settings.procuratorate_hotline}).
    legal_aid_hotline: str = "12348"
    procuratorate_hotline: str = "12309"
    # The region (GB/T 2260 division code, or a 2- or 4-digit prefix) of an intake whose
    # flow asks no region question, and of every intake sent before regions existed. Empty:
    # such intakes have no region, and only staff who cover every region see them.
    default_region: str = ""
    # Who must approve a decision besides the caseworker who prepares it: "off" (nobody),
    # "all" (a supervisor confirms every approve and decline), or an amount in yuan above
    # which an approval needs a supervisor (declines then need none). Kept as given.
    approval: str = "off"
    # The largest amount a caseworker may approve, in yuan; more is refused with the limit.
    max_amount: Decimal = Decimal(100_000)
    # The 12309 service's promises, counted from submission: a first (procedural) reply
    # within 7 days, a result within 3 months.
    first_reply_days: int = 7
    decision_days: int = 90
    # When the morning digest of what is due goes out, in the deployment's time zone.
    digest_time: dt.time = dt.time(8, 30)
    # Return visits (回访): days after a decision on which the applicant is asked how
    # things are (bot/casework/checkins.py); empty: none.
    checkin_days: tuple[int, ...] = (30, 90, 180)
    timezone: str = "Asia/Shanghai"
    # Where attachments and voice notes are kept, sealed (bot/files.py); empty: a folder
    # beside the database, ``<db>.files``.
    files: str = ""
    # The speech-to-text engine for voice answers (bot/transcribe.py): "none" (the
    # default: no transcription is claimed), or one registered under that name.
    transcriber: str = "none"
    # The web chat (web_channel/): the port it listens on (None: not served by ``run``;
    # ``intake-bot web`` then uses 8080), the address (loopback: nginx in front), the
    # address people open (https: cookies are Secure), whether to take the client's
    # address from nginx's X-Real-IP, and the requests one session or address may make per
    # minute (0 turns the limit off).
    web_port: int | None = None
    web_listen: str = "127.0.0.1"
    web_public_url: str = ""
    web_trust_proxy: bool = False
    web_rate_limit: int = 60

    @property
    def files_dir(self) -> Path:
        """The file store's folder: INTAKE_FILES, else ``<db>.files`` beside the database."""
        return Path(self.files) if self.files else Path(self.db_path + ".files")

    @property
    def approval_above(self) -> Decimal | None:
        """The amount in yuan above which an approval needs a supervisor: None when no
        approval ever does, 0 when every decision does (``INTAKE_APPROVAL=all``)."""
        if self.approval == "off":
            return None
        if self.approval == "all":
            return Decimal(0)
        return Decimal(self.approval)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def file_url(self) -> str:
        """Where files are downloaded from: Telegram's /file/bot, beside the API's /bot."""
        base = self.api_url.rstrip("/")
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base + "/file/bot"

    def require_token(self) -> str:
        if not self.token:
            raise ConfigError(
                "INTAKE_BOT_TOKEN is not set: get a token from @BotFather and "
                "run INTAKE_BOT_TOKEN=... intake-bot run"
            )
        return self.token

    def require_webhook_secret(self) -> str:
        """The webhook's secret token; without one anyone who finds the URL could post
        updates "from" an admin, so webhook mode does not start."""
        if not self.webhook_secret:
            raise ConfigError(
                "INTAKE_WEBHOOK_URL is set but INTAKE_WEBHOOK_SECRET is not: set it to a random"
                " string of letters, digits, _ and - (for example: openssl rand -hex 32)"
            )
        if not _SECRET_TOKEN.fullmatch(self.webhook_secret):
            raise ConfigError(
                "INTAKE_WEBHOOK_SECRET may only hold letters, digits, _ and -,"
                " at most 256 of them (Telegram's rule for the secret token)"
            )
        return self.webhook_secret


def _int(name: str, value: Any) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None


def _hotline(name: str, value: Any) -> str:
    """A number shown to applicants to dial: a typo here would send people nowhere, so
    anything but 3 to 15 digits, or an area code and a local number (0943-1234567), stops
    the bot at start."""
    number = str(value).strip()
    if not _HOTLINE.fullmatch(number):
        raise ConfigError(
            f"{name} must be a phone number: 3 to 15 digits (for example 12348), or an area"
            f" code, a dash and the local number (for example 0943-1234567), not {number!r}"
        )
    return number


def _yuan(name: str, value: Any) -> Decimal:
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        amount = Decimal(-1)
    if not amount.is_finite() or amount <= 0:
        raise ConfigError(f"{name} must be an amount in yuan above 0, such as 50000, not {value!r}")
    return amount


def _approval(value: str) -> str:
    """off, all, or an amount in yuan (approvals above it need a supervisor)."""
    text = value.strip().lower()
    if text in ("off", "all"):
        return text
    try:
        return str(_yuan("INTAKE_APPROVAL", text))
    except ConfigError:
        raise ConfigError(
            "INTAKE_APPROVAL must be off, all, or an amount in yuan above which a supervisor"
            f" approves (for example 20000), not {value!r}"
        ) from None


def _days_list(name: str, raw: object) -> tuple[int, ...]:
    """Comma-separated days ("30,90,180"), each 1 to 3660, in order; "" or "off": none."""
    if isinstance(raw, list | tuple):  # a TOML list
        raw = ",".join(str(d) for d in raw)
    text = str(raw).strip()
    if text.lower() in ("", "off", "none"):
        return ()
    days = []
    for part in text.split(","):
        part = part.strip()
        if not part.isascii() or not part.isdigit() or not 1 <= int(part) <= 3660:
            raise ConfigError(
                f"{name} must be days after the decision separated by commas, such as"
                f" 30,90,180 (each 1 to 3660), or off, not {text!r}"
            )
        days.append(int(part))
    return tuple(sorted(set(days)))


def _clock(name: str, value: Any) -> dt.time:
    try:
        return dt.time.fromisoformat(str(value).strip())
    except ValueError:
        raise ConfigError(f"{name} must be a time of day such as 08:30, not {value!r}") from None


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"INTAKE_TIMEZONE must be a time zone name such as Asia/Shanghai or Asia/Urumqi, not {name!r}"
        ) from None
    return name


def _ids(name: str, value: Any) -> frozenset[int]:
    if isinstance(value, list):
        parts = [str(v) for v in value]
    else:
        parts = [p for p in str(value).replace(";", ",").split(",") if p.strip()]
    return frozenset(_int(name, p) for p in parts)


def _from_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the settings file {path}: {exc}") from None
    out: dict[str, Any] = {}
    short = {v: k for k, v in KEYS.items()}
    for key, value in data.items():
        name = key if key in KEYS else short.get(key)
        if name is None:
            raise ConfigError(f"unknown setting {key!r} in {path}")
        out[name] = value
    return out


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings; ``INTAKE_CONFIG`` names a TOML file (default ./intake-bot.toml)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    config_file = env.get("INTAKE_CONFIG")
    if config_file:
        values.update(_from_file(Path(config_file)))
    elif Path("intake-bot.toml").is_file():
        values.update(_from_file(Path("intake-bot.toml")))
    for name in KEYS:
        if env.get(name, "").strip():
            values[name] = env[name].strip()

    def get(name: str) -> Any:
        return values.get(name)

    kwargs: dict[str, Any] = {}
    if get("INTAKE_BOT_TOKEN"):
        kwargs["token"] = str(get("INTAKE_BOT_TOKEN"))
    if get("INTAKE_BOT_API_URL"):
        kwargs["api_url"] = str(get("INTAKE_BOT_API_URL"))
    if get("INTAKE_DB"):
        kwargs["db_path"] = sqlite_path(str(get("INTAKE_DB")))
    if get("INTAKE_ADMIN_IDS") is not None:
        kwargs["admin_ids"] = _ids("INTAKE_ADMIN_IDS", get("INTAKE_ADMIN_IDS"))
    if get("INTAKE_CASEWORKER_CHAT") is not None:
        kwargs["caseworker_chat"] = _int("INTAKE_CASEWORKER_CHAT", get("INTAKE_CASEWORKER_CHAT"))
    if get("INTAKE_SECRET_KEY"):
        kwargs["secret_key"] = str(get("INTAKE_SECRET_KEY"))
    if get("INTAKE_WEBHOOK_URL"):
        kwargs["webhook_url"] = str(get("INTAKE_WEBHOOK_URL"))
    if get("INTAKE_WEBHOOK_PORT") is not None:
        kwargs["webhook_port"] = _int("INTAKE_WEBHOOK_PORT", get("INTAKE_WEBHOOK_PORT"))
    if get("INTAKE_WEBHOOK_SECRET"):
        kwargs["webhook_secret"] = str(get("INTAKE_WEBHOOK_SECRET"))
    for name, attr in (("INTAKE_DRAFT_DAYS", "draft_days"), ("INTAKE_RETAIN_DAYS", "retain_days")):
        if get(name) is not None:
            days = _int(name, get(name))
            if days < 1:
                raise ConfigError(f"{name} must be at least 1")
            kwargs[attr] = days
    if get("INTAKE_WEBHOOK_LISTEN"):
        kwargs["webhook_listen"] = str(get("INTAKE_WEBHOOK_LISTEN"))
    if get("INTAKE_RATE_LIMIT") is not None:
        kwargs["rate_limit"] = max(0, _int("INTAKE_RATE_LIMIT", get("INTAKE_RATE_LIMIT")))
    if get("INTAKE_SEND_RATE") is not None:
        kwargs["send_rate"] = max(0, _int("INTAKE_SEND_RATE", get("INTAKE_SEND_RATE")))
    if get("INTAKE_BOT_API_CLIENT"):
        client = str(get("INTAKE_BOT_API_CLIENT")).strip().lower()
        if client not in BOT_API_CLIENTS:
            raise ConfigError(
                f"INTAKE_BOT_API_CLIENT must be one of {', '.join(BOT_API_CLIENTS)}, not {client!r}"
            )
        kwargs["bot_api_client"] = client
    for name, attr in (
        ("INTAKE_LEGAL_AID_HOTLINE", "legal_aid_hotline"),
        ("INTAKE_PROCURATORATE_HOTLINE", "procuratorate_hotline"),
    ):
        if get(name) is not None:
            kwargs[attr] = _hotline(name, get(name))
    if get("INTAKE_DEFAULT_REGION") is not None:
        region = str(get("INTAKE_DEFAULT_REGION")).strip()
        if region and not is_code(region):
            raise ConfigError(
                "INTAKE_DEFAULT_REGION must be an administrative division code (GB/T 2260):"
                f" 6 digits such as 653222, or its first 2 or 4, not {region!r}"
            )
        kwargs["default_region"] = region
    if get("INTAKE_APPROVAL") is not None:
        kwargs["approval"] = _approval(str(get("INTAKE_APPROVAL")))
    if get("INTAKE_MAX_AMOUNT") is not None:
        kwargs["max_amount"] = _yuan("INTAKE_MAX_AMOUNT", get("INTAKE_MAX_AMOUNT"))
    for name, attr in (
        ("INTAKE_FIRST_REPLY_DAYS", "first_reply_days"),
        ("INTAKE_DECISION_DAYS", "decision_days"),
    ):
        if get(name) is not None:
            days = _int(name, get(name))
            if days < 1:
                raise ConfigError(f"{name} must be at least 1")
            kwargs[attr] = days
    if get("INTAKE_DIGEST_TIME") is not None:
        kwargs["digest_time"] = _clock("INTAKE_DIGEST_TIME", get("INTAKE_DIGEST_TIME"))
    if get("INTAKE_CHECKIN_DAYS") is not None:
        kwargs["checkin_days"] = _days_list("INTAKE_CHECKIN_DAYS", get("INTAKE_CHECKIN_DAYS"))
    if get("INTAKE_TIMEZONE") is not None:
        kwargs["timezone"] = _zone(str(get("INTAKE_TIMEZONE")).strip())
    if get("INTAKE_FILES"):
        kwargs["files"] = str(get("INTAKE_FILES"))
    if get("INTAKE_TRANSCRIBER"):
        kwargs["transcriber"] = str(get("INTAKE_TRANSCRIBER")).strip().lower()
    if get("INTAKE_WEB_PORT") is not None:
        port = _int("INTAKE_WEB_PORT", get("INTAKE_WEB_PORT"))
        if not 0 < port < 65536:
            raise ConfigError("INTAKE_WEB_PORT must be a port number, 1 to 65535")
        kwargs["web_port"] = port
    if get("INTAKE_WEB_LISTEN"):
        kwargs["web_listen"] = str(get("INTAKE_WEB_LISTEN"))
    if get("INTAKE_WEB_PUBLIC_URL"):
        url = str(get("INTAKE_WEB_PUBLIC_URL")).strip().rstrip("/")
        if not url.startswith(("https://", "http://")):
            raise ConfigError(
                f"INTAKE_WEB_PUBLIC_URL must start with https:// (or http://), not {url!r}"
            )
        kwargs["web_public_url"] = url
    if get("INTAKE_WEB_TRUST_PROXY") is not None:
        kwargs["web_trust_proxy"] = str(get("INTAKE_WEB_TRUST_PROXY")).strip().lower() in (
            "1",
            "true",
            "yes",
            "on",
        )
    if get("INTAKE_WEB_RATE_LIMIT") is not None:
        kwargs["web_rate_limit"] = max(
            0, _int("INTAKE_WEB_RATE_LIMIT", get("INTAKE_WEB_RATE_LIMIT"))
        )
    if get("INTAKE_LOG_LEVEL"):
        kwargs["log_level"] = str(get("INTAKE_LOG_LEVEL")).upper()
    missing = postgres_driver_missing() if is_postgres(kwargs.get("db_path", "")) else None
    if missing:
        raise ConfigError(f"INTAKE_DB is a PostgreSQL database: {missing}")
    if is_postgres(kwargs.get("db_path", "")) and not (
        kwargs.get("secret_key") and kwargs.get("files")
    ):
        raise ConfigError(
            "INTAKE_DB is a PostgreSQL database: set INTAKE_SECRET_KEY and INTAKE_FILES too"
            " (there is no folder beside it for the key file and the files; every instance"
            " of the bot must share both)"
        )
    return Settings(**kwargs)
