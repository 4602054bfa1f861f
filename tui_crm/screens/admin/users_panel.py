"""The Users tab: staff accounts with role, status, last login and recent failed sign-ins; add,
change role, disable or enable, unlock and reset password, each through the service (which
checks, audits, and refuses to remove the last active admin)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable

from ...i18n import N_, _
from ...labels import label
from ...service import Service, ServiceError, UserRecord
from ...validation import FormErrors, ValidationError
from .user_form import UserFormResult, UserFormScreen

USER_ERRORS = (ServiceError, ValidationError, FormErrors)
COLUMNS = (N_("User"), N_("Name"), N_("Role"), N_("Status"), N_("Last login"), N_("Failed"))


def _status(user: UserRecord) -> str:
    """`waiting to HH:MM` while some source must wait before trying to sign in again."""
    if user.status == "waiting" and user.waiting_until:
        return _("waiting to {time}").format(time=user.waiting_until[11:16])
    return label("user_status", user.status)


class UsersPanel(Vertical):
    """n add, r role, d disable/enable, u unlock, p password."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "add", N_("Add user"), id="admin.user_add"),
        Binding("r", "role", N_("Role"), id="admin.user_role"),
        Binding("d", "toggle_active", N_("Disable/enable"), id="admin.user_toggle"),
        Binding("u", "unlock", N_("Unlock"), id="admin.user_unlock"),
        Binding("p", "password", N_("Password"), id="admin.user_password"),
    ]

    DEFAULT_CSS = """
    UsersPanel { height: 1fr; }
    UsersPanel DataTable { height: 1fr; }
    """

    def __init__(self, service: Service) -> None:
        super().__init__()
        self.service = service
        self.users: dict[str, UserRecord] = {}

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*(_(title) for title in COLUMNS))
        self.refresh_list()

    def refresh_list(self) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        self.users = {u.username: u for u in self.service.users.list()}
        for u in self.users.values():
            table.add_row(
                Text(u.username),
                Text(u.display_name),
                Text(label("role", u.role)),
                Text(_status(u), style="" if u.status == "active" else "bold yellow"),
                Text((u.last_login_at or "-").replace("T", " ")),
                Text(str(u.failed_attempts), justify="right"),
                key=u.username,
            )
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))

    def _selected(self) -> UserRecord | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return self.users.get(str(key.value))

    def _apply(self, change: Callable[[], None], done: str) -> None:
        try:
            change()
        except USER_ERRORS as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        self.app.notify(done, markup=False)
        self.refresh_list()

    def action_add(self) -> None:
        def added(result: UserFormResult | None) -> None:
            if result is None:
                return

            def add() -> None:
                self.service.users.add(
                    result.username, result.role, result.password, result.display_name
                )

            done = _("Added {username} ({role}).").format(
                username=result.username, role=label("role", result.role)
            )
            self._apply(add, done)

        self.app.push_screen(UserFormScreen("add"), added)

    def action_role(self) -> None:
        user = self._selected()
        if user is None:
            return

        def chosen(result: UserFormResult | None) -> None:
            if result is not None:
                self._apply(
                    lambda: self.service.users.set_role(user.username, result.role),
                    _("{username} is now {role}.").format(
                        username=user.username, role=label("role", result.role)
                    ),
                )

        self.app.push_screen(UserFormScreen("role", user.username, user.role), chosen)

    def action_toggle_active(self) -> None:
        user = self._selected()
        if user is not None:
            done = _("Enabled {username}.") if not user.active else _("Disabled {username}.")
            self._apply(
                lambda: self.service.users.set_active(user.username, not user.active),
                done.format(username=user.username),
            )

    def action_unlock(self) -> None:
        user = self._selected()
        if user is not None:
            self._apply(
                lambda: self.service.users.unlock(user.username),
                _("Unlocked {username}.").format(username=user.username),
            )

    def action_password(self) -> None:
        user = self._selected()
        if user is None:
            return

        def entered(result: UserFormResult | None) -> None:
            if result is not None:
                self._apply(
                    lambda: self.service.users.set_password(user.username, result.password),
                    _("Password of {username} changed.").format(username=user.username),
                )

        self.app.push_screen(UserFormScreen("password", user.username), entered)
