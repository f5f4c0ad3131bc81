"""The web chat: the interview in a phone's browser, for applicants without Telegram."""
