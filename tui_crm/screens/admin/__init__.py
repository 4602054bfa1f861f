"""The admin screen and its tabs (backups, audit, retention, users), each a file here."""

from .screen import ADMIN_ACTIONS, AdminScreen

__all__ = ["ADMIN_ACTIONS", "AdminScreen"]
