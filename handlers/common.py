"""What every audience's handlers share: whom they speak to.

Sending, editing, acknowledging and keyboards are the Telegram channel's
(telegram_channel/sending.py, telegram_channel/keyboards.py); button data is built and
read in telegram_channel/buttons.py.
"""

from __future__ import annotations

from telegram import User

from bot.i18n import I18n, Tr
from bot.store import Store


async def reader(store: Store, i18n: I18n, user: User) -> Tr:
    """How to speak to this Telegram user: their chosen language, else Telegram's."""
    chosen = await store.users.language(user.id)
    return i18n.tr(i18n.pick(chosen, user.language_code))
