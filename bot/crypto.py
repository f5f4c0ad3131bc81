"""Protecting sensitive answers at rest: Fernet (AES-128-CBC with HMAC-SHA256).

Answers of ``sensitive: true`` steps, attachments and queued notifications are
stored as ``{"$enc": token}``; everything else stays plain so the queue and
statistics can still be computed in SQL. The key comes from
``INTAKE_SECRET_KEY`` or, when that is unset, from a key file created beside
the database at first start (mode 0600) — back that file up with the
database, or the protected answers cannot be read again.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

log = logging.getLogger(__name__)

MARK = "$enc"


class KeyError_(RuntimeError):
    """The key is missing, malformed, or does not open the stored data."""


def _fernet_key(secret: str) -> bytes:
    """Accept a Fernet key as generated, or derive one from any passphrase."""
    raw = secret.strip().encode()
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except (ValueError, TypeError):
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest())


def key_file_for(db_path: str) -> Path:
    return Path(db_path + ".key")


def load_key(secret: str | None, db_path: str) -> bytes:
    """The key: from the setting, else from (or created in) the file beside the database."""
    if secret:
        return _fernet_key(secret)
    path = key_file_for(db_path)
    if path.exists():
        data = path.read_text(encoding="ascii").strip()
        if not data:
            raise KeyError_(f"the key file {path} is empty")
        return _fernet_key(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key.decode() + "\n")
    log.warning(
        "created the encryption key %s for sensitive answers: back it up with the database, "
        "or set INTAKE_SECRET_KEY instead",
        path,
    )
    return key


class Cipher:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def generate(cls) -> Cipher:
        return cls(Fernet.generate_key())

    def seal(self, value: Any) -> dict[str, str]:
        """Any JSON value, encrypted; stored in place of the value."""
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        return {MARK: self._fernet.encrypt(data).decode("ascii")}

    def open(self, sealed: Any) -> Any:
        """The value inside ``seal``'s output; anything else is returned as it is."""
        if isinstance(sealed, dict) and len(sealed) == 1 and MARK in sealed:
            try:
                return json.loads(self._fernet.decrypt(sealed[MARK].encode("ascii")))
            except InvalidToken:
                raise KeyError_(
                    "a protected answer cannot be read with this key: "
                    "is INTAKE_SECRET_KEY (or the key file) the one the data was written with?"
                ) from None
        return sealed

    def seal_text(self, text: str) -> str:
        return MARK + ":" + self._fernet.encrypt(text.encode()).decode("ascii")

    def open_text(self, stored: str) -> str:
        if stored.startswith(MARK + ":"):
            try:
                return self._fernet.decrypt(stored[len(MARK) + 1 :].encode("ascii")).decode()
            except InvalidToken:
                raise KeyError_("a stored message cannot be read with this key") from None
        return stored


def seal_answers(
    cipher: Cipher, answers: dict[str, Any], protect: frozenset[str]
) -> dict[str, Any]:
    """The answers with those in ``protect`` encrypted (already-sealed ones left as they are)."""
    if not protect:
        return answers
    out = dict(answers)
    for key in protect & answers.keys():
        value = out[key]
        if value is not None and not (isinstance(value, dict) and MARK in value):
            out[key] = cipher.seal(value)
    return out


def open_answers(cipher: Cipher, answers: dict[str, Any]) -> dict[str, Any]:
    if not any(isinstance(v, dict) and MARK in v for v in answers.values()):
        return answers
    return {k: cipher.open(v) for k, v in answers.items()}
