"""The Textual app: sign in, then the customer list; other screens are opened from here."""

from __future__ import annotations

import gc
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.screen import Screen

from . import i18n
from .config import Settings
from .db import Database
from .files import use_private_umask
from .i18n import N_, _
from .i18n.formats import format_number
from .labels import label
from .roles import Action, scope_of
from .screens.admin import AdminScreen
from .screens.checks import ChecksScreen
from .screens.choice import ChoiceScreen
from .screens.cleaning_report import CleaningReportScreen
from .screens.confirm import ConfirmScreen
from .screens.customer_detail import CustomerDetailScreen
from .screens.customer_form import CustomerFormScreen
from .screens.customers import CustomersScreen
from .screens.dashboard import DashboardScreen
from .screens.due import DueScreen
from .screens.duplicates import DuplicatesScreen
from .screens.help import HelpScreen
from .screens.import_runs import ImportRunsScreen
from .screens.import_screen import ImportScreen
from .screens.login import LoginScreen
from .service import Customer, Service, ServiceError
from .tabular import shown
from .validation import ValidationError
from .widgets.ordered_keys import OrderedKeys
from .widgets.palette import palette_commands


class CrmApp(OrderedKeys, App[None]):
    """tui-crm in the terminal; keys are remappable by binding id from config.toml."""

    TITLE = "tui-crm"
    # Keys typed ahead wait for these results: sign-in, the list a search shows, the due list.
    KEYS_WAIT_FOR = frozenset({"login", "customers.load", "due"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark,f1", "help", N_("Help"), id="app.help"),
        Binding("ctrl+q", "quit", N_("Quit"), id="app.quit", priority=True),
    ]

    def __init__(
        self,
        db: Database,
        *,
        settings: Settings | None = None,
        login_failure_delay: float = 1.0,
        operator: str | None = None,
    ) -> None:
        """`operator` pins the login to one username (an SSH forced command sets it)."""
        use_private_umask()  # exports and any other file the app writes: owner-only
        super().__init__()
        self.db = db
        self.operator = operator
        self.settings = settings or Settings.load()
        self.login_failure_delay = login_failure_delay
        self.service: Service | None = None
        self.quit_question: ConfirmScreen | None = None
        self.set_keymap(self.settings.bindings)

    def on_mount(self) -> None:
        self.push_screen(
            LoginScreen(self.db, failure_delay=self.login_failure_delay, operator=self.operator),
            self._signed_in,
        )

    async def action_quit(self) -> None:
        """Quitting while an import or an undo runs asks first, as Esc is refused then: the
        job stops after the batch it is writing and is finished later from Import runs."""
        running = any(
            isinstance(screen, (ImportScreen, ImportRunsScreen)) and screen.busy
            for screen in self.screen_stack
        )
        if not running or self.screen is self.quit_question:
            self.exit()
            return
        question = _("An import or an undo is still running. Quit anyway?")
        details = Text(
            _(
                "It stops after the batch it is writing. Import runs (ctrl+p, Import runs)"
                " finishes it later: r resumes an import, u finishes an undo."
            )
        )
        self.quit_question = ConfirmScreen(question, details)

        def answered(yes: bool | None) -> None:
            self.quit_question = None
            if yes:
                self.exit()

        self.push_screen(self.quit_question, answered)

    def _signed_in(self, service: Service | None) -> None:
        if service is None:
            self.exit()
            return
        self.service = service
        i18n.activate(service.language(self.settings))
        self._show_user()
        self.push_screen(CustomersScreen(service))
        if service.can(Action.IMPORT):
            self._tell_of_cut_short_imports(service)
        # Startup objects live as long as the app: frozen out of the collector's sight,
        # they no longer make full collections pause the list while the operator types.
        self.call_after_refresh(gc.freeze)

    def _show_user(self) -> None:
        user = self.session.user
        self.sub_title = f"{user.username} ({label('role', user.role)})"

    @property
    def session(self) -> Service:
        if self.service is None:
            raise RuntimeError("nobody is signed in")
        return self.service

    # --- the other screens ---------------------------------------------------------------------

    def open_customer(self, customer_id: int) -> None:
        self.push_screen(CustomerDetailScreen(self.session, customer_id))

    def new_customer(self) -> None:
        if scope_of(self.session.user.role, Action.CUSTOMER_CREATE) is None:
            self.notify(_("Your role may not create customers."), severity="warning", markup=False)
            return
        self.push_screen(CustomerFormScreen(self.session, None), self._created)

    def _created(self, customer: Customer | None) -> None:
        if customer is None:
            return
        if isinstance(self.screen, CustomersScreen):
            self.screen.reload()
        self.open_customer(customer.id)

    def show_due(self) -> None:
        self.push_screen(DueScreen(self.session))

    def show_checks(self) -> None:
        self.push_screen(ChecksScreen(self.session))

    def show_dashboard(self) -> None:
        if scope_of(self.session.user.role, Action.ANALYTICS) is None:
            self.notify(_("Your role has no dashboard."), severity="warning", markup=False)
            return
        self.push_screen(DashboardScreen(self.session))

    def show_duplicates(self) -> None:
        if scope_of(self.session.user.role, Action.CUSTOMER_MERGE) is None:
            self.notify(_("Your role may not merge customers."), severity="warning")
            return
        self.push_screen(DuplicatesScreen(self.session), self._after_duplicates)

    def _after_duplicates(self, _result: None = None) -> None:
        if isinstance(self.screen, CustomersScreen):
            self.screen.reload()  # merged-away customers leave the list

    def show_cleaning_report(self) -> None:
        if not self.session.can(Action.QUALITY_REPORT):
            self.notify(_("The cleaning report is for managers and admins."), severity="warning")
            return
        self.push_screen(CleaningReportScreen(self.session))

    def open_admin(self) -> None:
        if not self.session.can(Action.BACKUP):
            self.notify(_("Administration is for admins only."), severity="warning", markup=False)
            return
        self.push_screen(AdminScreen(self.session))

    def open_import(self) -> None:
        if not self.session.can(Action.IMPORT):
            self.notify(_("Importing is for managers and admins."), severity="warning")
            return
        self.push_screen(ImportScreen(self.session), self._back_from_import)

    def _back_from_import(self, _result: None) -> None:
        if isinstance(self.screen, CustomersScreen):
            self.screen.reload()

    def open_import_runs(self, last_path: Path | None = None) -> None:
        if not self.session.can(Action.IMPORT):
            self.notify(_("Importing is for managers and admins."), severity="warning")
            return
        self.push_screen(ImportRunsScreen(self.session, last_path))

    @work(thread=True, group="app.imports")
    def _tell_of_cut_short_imports(self, service: Service) -> None:
        """Runs and undos cut short (a kill, a crash) are named at sign-in with how to finish
        them."""
        service.imports.interrupted()
        for run in service.imports.runs():
            if run.status == "interrupted":
                message = _(
                    "Import run {id} ({file}) was cut short after line {line}. Finish it"
                    " (r) or undo it (u) in Import runs: ctrl+p, Import runs."
                ).format(id=run.id, file=shown(run.file_name), line=format_number(run.last_line))
                self.call_from_thread(
                    self.notify, message, severity="warning", timeout=30, markup=False
                )
        for run in service.imports.undos_cut_short():
            message = _(
                "The undo of import run {id} ({file}) was cut short. Finish it (u) in"
                " Import runs: ctrl+p, Import runs."
            ).format(id=run.id, file=shown(run.file_name))
            self.call_from_thread(
                self.notify, message, severity="warning", timeout=30, markup=False
            )

    # --- help and command palette -------------------------------------------------------------

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        groups: dict[str, tuple[list[str], str]] = {}
        bindings = [active.binding for active in self.screen.active_bindings.values()]
        for binding in sorted(bindings, key=_help_rank):
            if not binding.description:
                continue
            keys, _text = groups.setdefault(binding.id or binding.action, ([], binding.description))
            keys.append(self.get_key_display(binding))
        rows = [(", ".join(keys), text, ident) for ident, (keys, text) in groups.items()]
        self.push_screen(HelpScreen(rows))

    def action_command_palette(self) -> None:
        """Textual's palette, with its search prompt in the active language."""
        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(
                CommandPalette(placeholder=_("Search for commands…"), id="--command-palette")
            )

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The screen's own commands and the app's Help and Quit; none of Textual's defaults
        (theme, key panel, maximise, and a screenshot that would write revealed values). The
        customer list adds the interface language."""
        yield from palette_commands(screen)
        if self.service is not None and isinstance(screen, CustomersScreen):
            names = " / ".join(i18n.LANGUAGE_NAMES[code] for code in i18n.LANGUAGES)
            yield SystemCommand(
                _("Language: {languages}").format(languages=names),
                _("The language of the interface, remembered for you"),
                self.choose_language,
            )

    # --- interface language -------------------------------------------------------------------

    def choose_language(self) -> None:
        """Offer each language in its own name, and "automatic" (config.toml, then locale)."""
        options = [(code, i18n.LANGUAGE_NAMES[code]) for code in i18n.LANGUAGES]
        self.push_screen(
            ChoiceScreen(
                _("Language / 语言"),
                options,
                any_label=_("Automatic (config file, else the system locale)"),
            ),
            self._language_chosen,
        )

    async def _language_chosen(self, code: str | None) -> None:
        if code is None:
            return
        try:
            self.session.users.set_language(code)
        except (ServiceError, ValidationError) as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        await self.speak(self.session.language(self.settings))

    async def speak(self, language: str) -> None:
        """Switch the whole session to `language`: every screen on the stack is composed
        again (its on_mount run again, so lists reload) and the footer redrawn. Offered on
        the customer list only, where nothing typed would be lost."""
        i18n.activate(language)
        self._show_user()
        for screen in self.screen_stack[1:]:
            await screen.recompose()
            on_mount = getattr(screen, "on_mount", None)
            if on_mount is not None:
                on_mount()
        self.refresh_bindings()
        self.notify(
            _("The interface now speaks {language}.").format(
                language=i18n.LANGUAGE_NAMES[i18n.active_language()]
            ),
            markup=False,
        )

    # --- no screenshots ------------------------------------------------------------------------

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """No key, click or command writes the screen to a file: it may show revealed values."""
        self.notify(
            _("Screenshots are turned off: the screen may show revealed contact details."),
            severity="warning",
            markup=False,
        )

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str | None:
        """Textual's screenshot delivery, refused like the action that leads to it."""
        self.action_screenshot()
        return None


def _help_rank(binding: Binding) -> int:
    """The screen's commands first, then cursor movement, then Textual's own keys."""
    if not binding.id:
        return 2
    return 1 if binding.system else 0
