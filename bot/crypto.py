"""Personal data at rest: AES-256-GCM, under a key from INTAKE_SECRET_KEY or a key file.

What is sealed (bot/store/): the whole engine state of every intake and preview (every
answer, what a step has collected so far, the path), the conversation on an intake, a
partner's clue, referral requests and outcomes, decision reasons, typed answers the bot
waits for (``pending``) and queued notifications. Only the answers a flow marks as plain for
statistics (``Flow.plain``: choice codes) are also kept in the clear, beside the sealed state.

A sealed value is a BLOB: one format byte (1), a random 12-byte nonce, and the AES-256-GCM
ciphertext with its tag. A value stored as TEXT is plain; a database written before holds
Fernet tokens (``$enc``) and plain text, which ``Store.open`` rewrites once at start.

The key: ``INTAKE_SECRET_KEY``, or when that is unset a key file created beside the
database at first start (mode 0600; keep a copy apart from the backups, or the data cannot
be read again). ``intake-bot keys rotate`` replaces it (bot/rotation.py); while a rotation
is under way a cipher opens with its ``previous`` key what the new one does not. A value that is a generated key (URL-safe base64 of 32 random bytes, as the
key file holds) is the key itself; anything else is a passphrase, stretched with scrypt
(``Kdf``) and a random salt kept in the database. Sealing uses a key derived from that one
with HKDF, so the same secret never serves two algorithms; so do the pseudonyms of erased
people and the blind index that finds names and numbers (``blind``, bot/lookup.py), each
with a label of its own.

Why one AES-GCM value per row and not one per answer: sealing a whole state with AES-GCM
costs about a third of what a Fernet token did, and one per answer would be forty of them per
save (the figures are in bench/README.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from bot import jsoncodec

log = logging.getLogger(__name__)

MARK = "$enc"  # Fernet values written before AES-GCM: {"$enc": token} and "$enc:token"
FORMAT = b"\x01"  # the first byte of a sealed value
NONCE = 12
KEY_BYTES = 32
_INFO = b"intake-bot: personal data at rest, AES-256-GCM, v1"
_PSEUDONYMS = b"intake-bot: pseudonyms of erased people, HMAC-SHA256, v1"
_INDEX = b"intake-bot: blind index of names, phones and ID numbers, HMAC-SHA256, v1"
BLIND_BYTES = 16


class SecretKeyError(RuntimeError):
    """The secret key (INTAKE_SECRET_KEY or the key file) is missing, malformed, or does not
    open the stored data: the bot stops rather than make up a key and lose what is stored."""


@dataclass(frozen=True)
class Kdf:
    """How a passphrase becomes the key: scrypt with these parameters and this salt.

    n=2**15, r=8 take about 0.1 s and 32 MiB, once at start."""

    salt: bytes
    n: int = 2**15
    r: int = 8
    p: int = 1

    @classmethod
    def new(cls) -> Kdf:
        return cls(os.urandom(16))

    def to_json(self) -> str:
        salt = base64.b64encode(self.salt).decode("ascii")
        return json.dumps({"alg": "scrypt", "salt": salt, "n": self.n, "r": self.r, "p": self.p})

    @classmethod
    def from_json(cls, text: str) -> Kdf:
        data = json.loads(text)
        if data.get("alg") != "scrypt":
            raise SecretKeyError(f"unknown key derivation {data.get('alg')!r} in the database")
        return cls(base64.b64decode(data["salt"]), int(data["n"]), int(data["r"]), int(data["p"]))

    def derive(self, passphrase: str) -> bytes:
        scrypt = Scrypt(salt=self.salt, length=KEY_BYTES, n=self.n, r=self.r, p=self.p)
        return scrypt.derive(passphrase.strip().encode())


def generated_key(secret: str) -> bytes | None:
    """The key itself if ``secret`` is a generated key (URL-safe base64 of 32 bytes), else
    None: it is a passphrase."""
    raw = secret.strip().encode()
    if len(raw) != 44:
        return None
    try:
        key = base64.b64decode(raw, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == KEY_BYTES else None


def legacy_key(secret: str) -> bytes:
    """The key an earlier version made of ``secret``: a generated key as it is, a passphrase
    through one unsalted SHA-256 (only to read a database written then, and re-key it)."""
    raw = secret.strip().encode()
    try:
        key = base64.urlsafe_b64decode(raw)
        if len(key) == KEY_BYTES:
            return key
    except (ValueError, TypeError):
        pass
    return hashlib.sha256(raw).digest()


def key_file_for(db_path: str) -> Path:
    return Path(db_path + ".key")


def read_secret(secret: str | None, db_path: str, *, create: bool) -> str:
    """The secret: the setting, else the key file beside the database, created (with a new
    generated key, mode 0600) when ``create`` and there is none."""
    if secret:
        return secret
    path = key_file_for(db_path)
    if path.exists():
        data = path.read_text(encoding="ascii").strip()
        if not data:
            raise SecretKeyError(f"the key file {path} is empty")
        return data
    if not create:
        raise SecretKeyError(
            f"the key file {path} is missing, but the database holds protected "
            "answers: restore the file from your backup, or set INTAKE_SECRET_KEY to that key"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    key = base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    log.warning(
        "created the encryption key %s for personal data: back it up with the database, "
        "or set INTAKE_SECRET_KEY instead",
        path,
    )
    return key


_WRONG_KEY = (
    "the stored data cannot be read with this key: "
    "is INTAKE_SECRET_KEY (or the key file) the one the data was written with?"
)


class Cipher:
    """Seals and opens values with one 32-byte key (see the module's docstring)."""

    def __init__(self, key: bytes, previous: Cipher | None = None) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("the key must be 32 bytes")
        derived = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=_INFO)
        self._aead = AESGCM(derived.derive(key))
        macs = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=_PSEUDONYMS)
        self._mac_key = macs.derive(key)
        index = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=_INDEX)
        self._index_key = index.derive(key)
        # What an earlier version wrote with this key: read, never written.
        self._fernet = Fernet(base64.urlsafe_b64encode(key))
        # While a key rotation is under way (bot/rotation.py): the key it replaces, which
        # opens what is not sealed again yet. Nothing is sealed with it.
        self.previous = previous

    @classmethod
    def generate(cls) -> Cipher:
        return cls(os.urandom(KEY_BYTES))

    # -- the format written now ------------------------------------------------------------

    def seal_bytes(self, data: bytes) -> bytes:
        nonce = os.urandom(NONCE)
        return FORMAT + nonce + self._aead.encrypt(nonce, data, None)

    def open_bytes(self, sealed: bytes) -> bytes:
        if sealed[:1] != FORMAT:
            raise SecretKeyError("a stored value is in an unknown format")
        try:
            return self._aead.decrypt(sealed[1 : 1 + NONCE], sealed[1 + NONCE :], None)
        except InvalidTag:
            if self.previous is not None:
                return self.previous.open_bytes(sealed)
            raise SecretKeyError(_WRONG_KEY) from None

    def seal_text(self, text: str) -> bytes:
        return self.seal_bytes(text.encode())

    def open_text(self, stored: str | bytes) -> str:
        """A sealed text; a TEXT value as it is (plain, or a Fernet token from before)."""
        if isinstance(stored, bytes):
            return self.open_bytes(stored).decode()
        if stored.startswith(MARK + ":"):
            try:
                return self._fernet.decrypt(stored[len(MARK) + 1 :].encode("ascii")).decode()
            except InvalidToken:
                raise SecretKeyError(_WRONG_KEY) from None
        return stored

    def seal_json(self, value: Any) -> bytes:
        return self.seal_bytes(jsoncodec.dumps(value))

    def open_json(self, stored: str | bytes) -> Any:
        """A sealed JSON value; a TEXT value parsed, its Fernet-sealed parts opened."""
        if isinstance(stored, bytes):
            return json.loads(self.open_bytes(stored))
        return self.open(json.loads(stored))

    def pseudonym(self, user_id: int) -> bytes:
        """A keyed hash of a Telegram id: recognises the id again without keeping it (an id
        alone is easily guessed from a hash without a key)."""
        return hmac.new(self._mac_key, str(user_id).encode(), hashlib.sha256).digest()[:16]

    def blind(self, kind: str, value: str) -> bytes:
        """The blind index of a normalised ``value`` of ``kind`` (bot/lookup.py): a keyed
        hash under a key of its own (HKDF, its own label), so the same name or number is
        found again without being stored, and nobody without the key can test a guess
        (an ID number or the last 4 digits of a phone are easily guessed from a plain
        hash). The kind is hashed with it: "1234" as a name is not "1234" as digits."""
        data = kind.encode() + b"\x00" + value.encode()
        return hmac.new(self._index_key, data, hashlib.sha256).digest()[:BLIND_BYTES]

    # -- what an earlier version wrote -----------------------------------------------------

    def open(self, sealed: Any) -> Any:
        """The value inside an earlier version's ``{"$enc": token}``; anything else as it is."""
        if isinstance(sealed, dict) and len(sealed) == 1 and MARK in sealed:
            try:
                return json.loads(self._fernet.decrypt(sealed[MARK].encode("ascii")))
            except InvalidToken:
                raise SecretKeyError(_WRONG_KEY) from None
        return sealed


def open_answers(cipher: Cipher, answers: dict[str, Any]) -> dict[str, Any]:
    """Answers as an earlier version stored them, each protected one sealed on its own."""
    if not any(isinstance(v, dict) and MARK in v for v in answers.values()):
        return answers
    return {k: cipher.open(v) for k, v in answers.items()}


# Storage code holds ``Cipher | None`` (a Database opened without a Store has none): these
# seal when there is a cipher and store plain JSON/text when there is not.


def seal_text(cipher: Cipher | None, text: str) -> str | bytes:
    return text if cipher is None else cipher.seal_text(text)


def open_text(cipher: Cipher | None, stored: str | bytes) -> str:
    if cipher is not None:
        return cipher.open_text(stored)
    if isinstance(stored, bytes):
        raise SecretKeyError("a sealed value cannot be read without the key")
    return stored


def seal_json(cipher: Cipher | None, value: Any) -> str | bytes:
    return jsoncodec.dumps_text(value) if cipher is None else cipher.seal_json(value)


def open_json(cipher: Cipher | None, stored: str | bytes) -> Any:
    if cipher is not None:
        return cipher.open_json(stored)
    if isinstance(stored, bytes):
        raise SecretKeyError("a sealed value cannot be read without the key")
    return json.loads(stored)
