"""The mail tests' fixtures: a real SMTP server (tests/mailserver.py)."""

from tests.mailserver import mail_server

__all__ = ["mail_server"]
