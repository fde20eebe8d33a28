"""Telegram: the Telethon chat reader and the Telegram Desktop export importer."""
