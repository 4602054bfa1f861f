"""The only door to the data: a session bound to one signed-in user.

Every read is scoped by the user's role, sensitive values are masked before they leave,
and every write commits in one transaction together with its audit entry. One module per
domain; `Service` (in `session.py`) opens them all.
"""

from ..crypto import SENSITIVE_FIELDS
from .errors import AuthError, ConflictError, NotFound, PermissionDenied, ServiceError
from .models import (
    Customer,
    CustomerRow,
    DueCount,
    DueFollowup,
    DuplicateHint,
    FilterChoices,
    Tag,
    TimelineEntry,
    UserInfo,
    UserRecord,
)
from .session import LOGIN_FAILED, Service, os_identity

__all__ = [
    "LOGIN_FAILED",
    "SENSITIVE_FIELDS",
    "AuthError",
    "ConflictError",
    "Customer",
    "CustomerRow",
    "DueCount",
    "DueFollowup",
    "DuplicateHint",
    "FilterChoices",
    "NotFound",
    "PermissionDenied",
    "Service",
    "ServiceError",
    "Tag",
    "TimelineEntry",
    "UserInfo",
    "UserRecord",
    "os_identity",
]
