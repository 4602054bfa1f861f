"""Administration, for admins only: Backups | Audit | Retention | Users | Verification.

Every action goes through the service, which checks the role again and audits it; long
jobs run in workers with a progress bar, so the rest of the app stays usable.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static, TabbedContent, TabPane

from ...config import Settings
from ...i18n import N_, _
from ...roles import Action
from ...service import Service
from ...widgets.keys_footer import KeysFooter
from ...widgets.translated_bindings import TranslatedBindings
from .audit_panel import AuditPanel
from .backups_panel import BackupsPanel
from .retention_panel import RetentionPanel
from .users_panel import UsersPanel
from .verification_panel import VerificationPanel

ADMIN_ACTIONS = (Action.BACKUP, Action.AUDIT, Action.PURGE, Action.USERS, Action.VERIFICATION)


class AdminScreen(TranslatedBindings, Screen[None]):
    """Esc goes back; 1-5 switch tabs."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", N_("Back"), id="admin.back"),
        Binding("1", "tab('backups')", N_("Backups"), show=False, id="admin.tab_backups"),
        Binding("2", "tab('audit')", N_("Audit"), show=False, id="admin.tab_audit"),
        Binding("3", "tab('retention')", N_("Retention"), show=False, id="admin.tab_retention"),
        Binding("4", "tab('users')", N_("Users"), show=False, id="admin.tab_users"),
        Binding(
            "5", "tab('verification')", N_("Verification"), show=False, id="admin.tab_verification"
        ),
    ]

    def __init__(self, service: Service, settings: Settings | None = None) -> None:
        super().__init__()
        self.service = service
        self.settings = settings or Settings.load()
        self.allowed = all(service.can(action) for action in ADMIN_ACTIONS)

    def compose(self) -> ComposeResult:
        yield Header()
        if not self.allowed:
            yield Static(Text(_("Administration is for admins only.")), id="admin-refused")
        else:
            with TabbedContent(initial="backups"):
                with TabPane(_("Backups"), id="backups"):
                    yield BackupsPanel(self.service, self.settings)
                with TabPane(_("Audit"), id="audit"):
                    yield AuditPanel(
                        self.service, self.service.db.path.parent / "exports", self.settings
                    )
                with TabPane(_("Retention"), id="retention"):
                    yield RetentionPanel(self.service, self.settings)
                with TabPane(_("Users"), id="users"):
                    yield UsersPanel(self.service)
                with TabPane(_("Verification"), id="verification"):
                    yield VerificationPanel(self.service, self.settings)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = _("Administration")
        self.call_after_refresh(self._focus_tab)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "audit":
            self.query_one(AuditPanel).action_reload()
        elif event.pane.id == "verification":
            self.query_one(VerificationPanel).action_reload()
        self.call_after_refresh(self._focus_tab)

    def _focus_tab(self) -> None:
        """Put the keys of the visible tab to work: focus its list."""
        if self.allowed:
            pane = self.query_one(TabbedContent).active_pane
            if pane is not None:
                pane.query_one(DataTable).focus()

    def action_tab(self, tab: str) -> None:
        if self.allowed:
            self.query_one(TabbedContent).active = tab

    def action_back(self) -> None:
        self.app.pop_screen()
