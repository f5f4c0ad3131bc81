"""Every button's callback data, built and read here only: named taps in, short strings
out, and back.

``codec`` holds the shape they share and the board each belongs to; ``staff`` the
caseworker's and the partner's taps, each tied to the core's action; ``interview``,
``deletion``, ``language`` and ``flows`` the applicant's and the admin's. Handlers name
taps (``Tap.CLAIM``, ``DeletionOp.REQUEST``) and register each board's ``PATTERN``;
none of them spells a code.
"""

from telegram_channel.buttons.codec import MAX_CALLBACK_BYTES, Board, as_int, fits
from telegram_channel.buttons.staff import (
    CASEWORKER,
    PARTNER,
    SUPERVISOR,
    Pressed,
    Tap,
    codes,
    decode,
    encode,
)

__all__ = [
    "CASEWORKER",
    "MAX_CALLBACK_BYTES",
    "PARTNER",
    "SUPERVISOR",
    "Board",
    "Pressed",
    "Tap",
    "as_int",
    "codes",
    "decode",
    "encode",
    "fits",
]
