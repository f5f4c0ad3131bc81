"""The core of the judicial assistance intake bot."""

import os

# python-telegram-bot 22 gives RetryAfter.retry_after as a timedelta when asked to (and warns
# on every access otherwise); the code reads either form.
os.environ.setdefault("PTB_TIMEDELTA", "1")
