"""What every modal edit form shares: labelled fields with their own error line,
`ctrl+s` to save (errors the service finds shown where they belong), and `Esc` that asks
before throwing changes away."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static, TextArea

from .. import validation as v
from ..i18n import N_, _, pgettext
from ..service import ServiceError
from ..widgets.translated_bindings import TranslatedBindings
from .confirm import ConfirmScreen

ResultT = TypeVar("ResultT")
CORRECT_THE_FIELDS = N_("Please correct the marked fields.")
TEXTUAL_SELECT_PROMPT = "Select"  # what an empty Select shows unless told otherwise


def field_value(widget: Widget) -> Any:
    """The value of an input widget as the service expects it ('' for no selection)."""
    if isinstance(widget, Input):
        return widget.value
    if isinstance(widget, TextArea):
        return widget.text
    if isinstance(widget, Checkbox):
        return widget.value
    if isinstance(widget, Select):
        return "" if widget.value is Select.NULL else widget.value
    raise TypeError(f"not a form input: {widget!r}")


class FormScreen(TranslatedBindings, ModalScreen[ResultT]):
    """Subclasses compose fields with `field(...)` and implement `save()`; labels are
    looked up by the subclass, the title (`title_text`, marked with `N_`) here."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", N_("Save"), priority=True, id="form.save"),
        Binding("escape", "cancel", N_("Cancel"), id="form.cancel"),
    ]

    DEFAULT_CSS = """
    FormScreen { align: center middle; }
    FormScreen > .form {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    FormScreen .form-field { height: auto; }
    FormScreen .form-field Label { color: $text-muted; }
    /* The field being typed in shows by more than colour (NO_COLOR, monochrome): its label
       is drawn reversed. Textual restyles on a focus change only the nodes a :focus-within
       rule targets itself, hence the rule on the field box. */
    FormScreen .form-field:focus-within { height: auto; }
    FormScreen .form-field:focus-within > Label { color: $text; text-style: bold reverse; }
    FormScreen Select:focus-within SelectCurrent { text-style: bold reverse; }
    FormScreen .form-error { color: $error; height: auto; }
    FormScreen .form-error.-empty { display: none; }
    FormScreen .form-hint { color: $text-muted; height: auto; }
    FormScreen .form-hint.-empty { display: none; }
    FormScreen #form-message { color: $error; height: auto; }
    FormScreen #form-message.-empty { display: none; }
    FormScreen .form-keys { color: $text-muted; }
    FormScreen VerticalScroll.form > .form-keys { dock: bottom; background: $surface; }
    FormScreen Input { background: $boost; }
    FormScreen TextArea { height: 4; border: none; background: $boost; }
    FormScreen .-invalid { background: $error 30%; }
    """

    title_text = N_("Form")
    field_names: tuple[str, ...] = ()
    # The field the cursor starts in (the first that needs input); None: the first field.
    first_field: str | None = None

    def __init__(self) -> None:
        super().__init__()
        self._initial: dict[str, Any] = {}

    def field(self, name: str, label: str, widget: Widget, *, hint: bool = False) -> ComposeResult:
        """A label, the input (id `f-<name>`) and the line its error message goes to; with
        `hint`, a line (id `hint-<name>`) for `show_hint`."""
        widget.id = f"f-{name}"
        if isinstance(widget, (Input, Select)):
            widget.compact = True
        if isinstance(widget, Select) and widget.prompt == TEXTUAL_SELECT_PROMPT:
            widget.prompt = pgettext("select prompt", "Select")
        with Vertical(classes="form-field"):
            if label:
                yield Label(label)
            yield widget
            if hint:
                yield Static("", id=f"hint-{name}", classes="form-hint -empty", markup=False)
            yield Static("", id=f"err-{name}", classes="form-error -empty", markup=False)

    def show_hint(self, name: str, text: Text | None) -> None:
        """Show (or, with None, hide) the line under a field made with `hint=True`."""
        line = self.query_one(f"#hint-{name}", Static)
        line.update(text or "")
        line.set_class(text is None, "-empty")

    def form_title(self) -> str:
        return _(self.title_text)

    def header(self) -> Iterator[Widget]:
        yield Static(Text(self.form_title(), "bold"))
        yield Static("", id="form-message", classes="-empty", markup=False)

    def footer(self) -> Widget:
        return Static(_("ctrl+s save    Esc cancel    Tab next field"), classes="form-keys")

    def on_mount(self) -> None:
        # Not the scrolling form box, which would take the focus first: typing at once
        # goes into a field.
        self.query_one(f"#f-{self.first_field or self.field_names[0]}").focus()
        self.call_after_refresh(self.mark_clean)

    def mark_clean(self) -> None:
        self._initial = self.values()

    def values(self) -> dict[str, Any]:
        return {
            name: field_value(widget)
            for name in self.field_names
            for widget in self.query(f"#f-{name}")
        }

    @property
    def dirty(self) -> bool:
        return self.values() != self._initial

    def show_errors(self, errors: Mapping[str, str], message: str = "") -> None:
        """Each message next to its field; errors for fields not on the form go on top."""
        stray = [
            _("{field}: {message}").format(field=v.field_label(name), message=text)
            for name, text in errors.items()
            if name not in self.field_names
        ]
        self.show_message("\n".join(filter(None, [message, *stray])))
        first: Widget | None = None
        for name in self.field_names:
            error = self.query_one(f"#err-{name}", Static)
            widget = self.query_one(f"#f-{name}")
            text = errors.get(name, "")
            error.update(Text(text))
            error.set_class(not text, "-empty")
            widget.set_class(bool(text), "-invalid")
            if text and first is None:
                first = widget
        if first is not None:
            first.focus()

    def show_message(self, message: str) -> None:
        label = self.query_one("#form-message", Static)
        label.update(Text(message))
        label.set_class(not message, "-empty")

    def submit(self, saving: Callable[[], ResultT]) -> None:
        """Run the service call that saves the form: close with what it returns, or stay
        open and show why it was refused."""
        try:
            saved = saving()
        except v.FormErrors as exc:
            self.show_errors(exc.errors, _(CORRECT_THE_FIELDS))
        except v.ValidationError as exc:
            self.show_errors({exc.field: exc.message}, _(CORRECT_THE_FIELDS))
        except ServiceError as exc:
            self.show_errors({}, str(exc))
        else:
            self.dismiss(saved)

    def action_save(self) -> None:
        self.save()

    def save(self) -> None:
        raise NotImplementedError

    def action_cancel(self) -> None:
        if not self.dirty:
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(ConfirmScreen(_("Discard your changes?")), answered)
