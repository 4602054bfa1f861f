"""What the service refuses with: messages fit to show the operator as they are."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Customer


class ServiceError(Exception):
    """An error whose message is fit to show the operator as it is."""


class AuthError(ServiceError):
    pass


class PermissionDenied(ServiceError):
    pass


class NotFound(ServiceError):
    pass


class ConflictError(ServiceError):
    """Someone else saved the record first; `current` is what they saved."""

    def __init__(self, current: Customer) -> None:
        super().__init__(
            f"{current.code} was changed by someone else (now version {current.version})"
        )
        self.current = current
