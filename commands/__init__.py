"""Slash-command grammar (text -> typed commands) and the handlers that run them."""
