"""The Telegram channel: everything that speaks the Bot API.

Reading updates (long polling or the webhook) into the inbox, applying them in order per
chat, sending and editing messages through the send limiter, and the python-telegram-bot
``Application`` that ties the handlers (``handlers/``) to the core (``bot/``). The core
imports nothing from here: see docs/architecture.md.
"""
