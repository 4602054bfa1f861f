"""Sign in: username and password, checked by the service, which audits every attempt.

With an operator pinned by the launcher (`tui-crm --operator NAME`, e.g. an SSH forced
command), the username is shown fixed and only the password is asked for.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Static

from ..db import Database
from ..i18n import N_, _
from ..service import AuthError, Service
from ..throttle import source_from_env
from ..widgets.keys_footer import KeysFooter
from ..widgets.translated_bindings import TranslatedBindings


class LoginScreen(TranslatedBindings, Screen[Service]):
    """Dismissed with the signed-in session; failures say only what the service says."""

    DEFAULT_CSS = """
    LoginScreen { align: center middle; }
    LoginScreen #login-box {
        width: 52; height: auto; border: round $primary; padding: 1 2;
    }
    LoginScreen #login-title { text-style: bold; margin-bottom: 1; }
    LoginScreen Input { margin-bottom: 1; }
    LoginScreen Input:focus { border: heavy $border; }  /* seen without colour too */
    LoginScreen #operator { margin-bottom: 1; padding: 0 1; }
    LoginScreen #demo-hint { color: $text-muted; margin-bottom: 1; }
    LoginScreen #login-message { color: $error; height: auto; min-height: 1; }
    LoginScreen Button { width: 100%; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "app.quit", N_("Quit"), id="app.quit_login"),
    ]

    def __init__(
        self, db: Database, *, failure_delay: float = 1.0, operator: str | None = None
    ) -> None:
        super().__init__()
        self.db = db
        self.failure_delay = failure_delay
        self.operator = operator

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="login-box"):
            yield Static(_("tui-crm — sign in"), id="login-title")
            if self.db.meta("demo") == "1":
                yield Static(
                    _("Demo data: sign in as admin, manager, service or sales1, password demo."),
                    id="demo-hint",
                )
            if self.operator is None:
                yield Input(placeholder=_("Username"), id="username")
            else:
                yield Static(Text.assemble(_("User: "), (self.operator, "bold")), id="operator")
            yield Input(placeholder=_("Password"), password=True, id="password")
            yield Static("", id="login-message")
            yield Button(_("Log in"), id="login", variant="primary")
        yield KeysFooter()

    def on_mount(self) -> None:
        if self.operator is not None:
            self.query_one("#password", Input).focus()

    @property
    def username(self) -> str:
        if self.operator is not None:
            return self.operator
        return self.query_one("#username", Input).value

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "username":
            self.query_one("#password", Input).focus()
        else:
            self.attempt()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.attempt()

    def attempt(self) -> None:
        username = self.username
        password = self.query_one("#password", Input)
        if not username.strip():
            self._say(_("Enter your username and password."))
            self.query_one("#username", Input).focus()
            return
        self._say(_("Checking…"))
        self.query_one("#login", Button).disabled = True
        self._login(username, password.value)

    @work(thread=True, exclusive=True, group="login")
    def _login(self, username: str, password: str) -> None:
        try:
            service = Service.login(
                self.db,
                username,
                password,
                failure_delay=self.failure_delay,
                source=source_from_env(operator=self.operator),
            )
        except AuthError as exc:
            self.app.call_from_thread(self._failed, str(exc))
        else:
            self.app.call_from_thread(self.dismiss, service)

    def _failed(self, message: str) -> None:
        self._say(message)
        self.query_one("#login", Button).disabled = False
        password = self.query_one("#password", Input)
        password.value = ""
        password.focus()

    def _say(self, message: str) -> None:
        self.query_one("#login-message", Static).update(Text(message))
