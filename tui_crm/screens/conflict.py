"""Someone else saved the customer first: show both versions and let the operator choose."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from .. import validation as v
from ..i18n import N_, _
from ..labels import field_label
from ..service import SENSITIVE_FIELDS, Customer
from ..widgets.translated_bindings import TranslatedBindings

COMPARED = (
    "name",
    "kind",
    "customer_type",
    "contact_name",
    "contact_title",
    "phone",
    "email",
    "id_number",
    "credit_code",
    "province",
    "city",
    "address",
    "industry",
    "company_size",
    "source",
    "notes",
    "owner",
    "legal_hold",
)


def _shown(value: Any) -> Text:
    return Text(v.clean_text(str(value)).replace("\n", " ") if value not in (None, "") else "—")


def comparison(started_from: Customer, mine: dict[str, Any], theirs: Customer) -> Table:
    """Every field either side changed: yours next to what is saved now."""
    table = Table(expand=True, show_lines=False)
    table.add_column(_("Field"), style="dim", no_wrap=True)
    table.add_column(_("Your change"))
    table.add_column(_("Saved meanwhile"))
    for name in COMPARED:
        theirs_value = getattr(theirs, name)
        they_changed = getattr(started_from, name) != theirs_value
        if name not in mine and not they_changed:
            continue
        yours = mine.get(name, getattr(started_from, name))
        if name in SENSITIVE_FIELDS and name in mine:
            yours = _("(new value typed)")
        style = "bold red" if name in mine and they_changed else ""
        table.add_row(Text(field_label(name), style), _shown(yours), _shown(theirs_value))
    return table


class ConflictScreen(TranslatedBindings, ModalScreen[str | None]):
    """`o` overwrites with your changes, `r` reloads theirs, Esc goes back to the form."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "choose('overwrite')", N_("Overwrite with mine"), id="conflict.overwrite"),
        Binding("r", "choose('reload')", N_("Reload theirs"), id="conflict.reload"),
        Binding("escape", "choose(None)", N_("Back to my edit"), id="conflict.back"),
    ]

    DEFAULT_CSS = """
    ConflictScreen { align: center middle; }
    ConflictScreen > Vertical {
        width: 100; max-width: 100%; height: auto; max-height: 100%;
        border: thick $error; background: $surface; padding: 0 1;
    }
    ConflictScreen VerticalScroll { height: auto; max-height: 16; }
    ConflictScreen .conflict-keys { color: $text-muted; }
    """

    def __init__(self, started_from: Customer, mine: dict[str, Any], theirs: Customer) -> None:
        super().__init__()
        self.started_from = started_from
        self.mine = mine
        self.theirs = theirs

    def compose(self) -> ComposeResult:
        with Vertical():
            headline = _(
                "Someone else saved {code} while you were editing (now version {version})."
            ).format(code=self.theirs.code, version=self.theirs.version)
            yield Static(Text(headline, "bold"))
            with VerticalScroll():
                yield Static(comparison(self.started_from, self.mine, self.theirs))
            yield Static(
                _("o overwrite with mine    r reload theirs (drop mine)    Esc back to my edit"),
                classes="conflict-keys",
                markup=False,
            )

    def action_choose(self, choice: str | None) -> None:
        self.dismiss(choice)
