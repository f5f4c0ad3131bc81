"""Gettext catalogs, installed as the package data of ``bot.locales``."""
