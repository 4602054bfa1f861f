"""The `tui-crm` command: the app, and every admin job as a command for SSH and cron.

`root.py` holds the root group and what the command families share; each family is a
module of its own that adds its commands to the root group when imported here.
"""

from . import (
    analytics,
    audit,
    backups,
    cleaning,
    customers,
    database,
    doctor,
    exports,
    imports,
    retention,
    users,
)
from .root import accept_paths_everywhere, main

accept_paths_everywhere(main)

__all__ = [
    "analytics",
    "audit",
    "backups",
    "cleaning",
    "customers",
    "database",
    "doctor",
    "exports",
    "imports",
    "main",
    "retention",
    "users",
]
