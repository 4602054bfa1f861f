"""Add a user, change a user's role, or set a user's password."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Select, Static

from ...i18n import N_, _
from ...labels import choices
from ...roles import Role
from ...widgets.translated_bindings import TranslatedBindings


@dataclass(frozen=True)
class UserFormResult:
    username: str
    role: str = ""
    password: str = ""
    display_name: str = ""


class UserFormScreen(TranslatedBindings, ModalScreen[UserFormResult | None]):
    """mode "add" asks everything, "role" only the role, "password" only the password."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", N_("Cancel"), id="user_form.cancel"),
        Binding("ctrl+s", "save", N_("Save"), id="user_form.save"),
    ]

    DEFAULT_CSS = """
    UserFormScreen { align: center middle; }
    UserFormScreen > Vertical {
        width: 60; height: auto; border: round $primary; background: $surface; padding: 0 1;
    }
    UserFormScreen .user-form-keys { color: $text-muted; }
    """

    def __init__(self, mode: str, username: str = "", role: str = "") -> None:
        super().__init__()
        self.mode = mode
        self.username = username
        self.role = role

    def compose(self) -> ComposeResult:
        titles = {
            "add": _("Add a user"),
            "role": _("Change the role of {username}").format(username=self.username),
            "password": _("Set a new password for {username}").format(username=self.username),
        }
        with Vertical():
            yield Static(Text(titles[self.mode], style="bold"))
            if self.mode == "add":
                yield Input(placeholder=_("username"), id="user-name")
                yield Input(placeholder=_("display name (optional)"), id="user-display")
            if self.mode in ("add", "role"):
                yield Select(
                    choices("role"),
                    value=self.role or Role.SALES.value,
                    allow_blank=False,
                    id="user-role",
                )
            if self.mode in ("add", "password"):
                yield Input(placeholder=_("password"), password=True, id="user-password")
            yield Static(Text(_("ctrl+s save    Esc cancel")), classes="user-form-keys")

    @on(Input.Submitted)
    def action_save(self) -> None:
        def value(selector: str) -> str:
            found = self.query(selector)
            return str(found.first().value) if found else ""

        self.dismiss(
            UserFormResult(
                username=value("#user-name") or self.username,
                role=value("#user-role"),
                password=value("#user-password"),
                display_name=value("#user-display"),
            )
        )

    def action_cancel(self) -> None:
        self.dismiss(None)
