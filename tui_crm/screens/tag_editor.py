"""Add, create and remove a customer's tags; each change is saved (and audited) at once."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from .. import validation as v
from ..i18n import N_, _
from ..i18n.formats import pad
from ..labels import choices, label
from ..service import Service, ServiceError, Tag
from ..widgets.message_text import message_text
from ..widgets.translated_bindings import TranslatedBindings

TYPE_WIDTH = 9  # cells: "industry" and "行业" with a gap, so the names line up


class TagSuggester(Suggester):
    """Completes a tag name from the existing tags of the chosen type."""

    def __init__(self, service: Service, editor: TagEditorScreen) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.service = service
        self.editor = editor

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        matches = self.service.tags.suggest(value, self.editor.tag_type or None, limit=1)
        return matches[0].name if matches else None


def tag_label(tag: Tag, *, aligned: bool = True) -> Text:
    """The tag's type (dim) and name; `aligned` pads the type so a list's names line up,
    a sentence takes it with one space."""
    kind = label("tag_type", tag.tag_type)
    text = Text(pad(kind, TYPE_WIDTH) if aligned else kind + " ", "dim")
    text.append(v.clean_text(tag.name))
    return text


class TagEditorScreen(TranslatedBindings, ModalScreen[bool]):
    """Dismisses with True when anything changed, so the detail screen reloads."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", N_("Close"), id="tags.close"),
        Binding("ctrl+s", "add", N_("Add tag"), priority=True, id="tags.add"),
        Binding("delete,x", "remove", N_("Remove selected tag"), id="tags.remove"),
    ]

    DEFAULT_CSS = """
    TagEditorScreen { align: center middle; }
    TagEditorScreen > Vertical {
        width: 70; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    TagEditorScreen OptionList { height: auto; max-height: 8; }
    TagEditorScreen #tag-message { height: auto; }
    TagEditorScreen .form-error { color: $error; }
    TagEditorScreen .tag-keys { color: $text-muted; }
    """

    def __init__(self, service: Service, customer_id: int) -> None:
        super().__init__()
        self.service = service
        self.customer_id = customer_id
        self.changed = False
        self.shown: dict[str, Tag] = {}  # the listed tags by option id

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(_("Tags"), "bold"))
            yield OptionList(id="current-tags")
            yield Label(_("Tag type"))
            yield Select(choices("tag_type"), value="custom", id="tag-type", compact=True)
            yield Label(_("Tag name (Tab accepts a suggestion; a new name creates the tag)"))
            yield Input(
                placeholder=_("e.g. {example}").format(example=_("purchase need")),
                suggester=TagSuggester(self.service, self),
                id="tag-name",
                compact=True,
            )
            yield Static("", id="tag-message", markup=False)
            yield Static(
                _("Enter / ctrl+s add    x / Del remove selected    Esc close"),
                classes="tag-keys",
                markup=False,
            )

    def on_mount(self) -> None:
        self.show_tags()
        self.query_one("#tag-name", Input).focus()

    @property
    def tag_type(self) -> str:
        value = self.query_one("#tag-type", Select).value
        return "" if value is Select.NULL else str(value)

    def show_tags(self) -> None:
        tags = self.service.customers.get(self.customer_id).tags
        self.shown = {str(t.id): t for t in tags}
        options = self.query_one("#current-tags", OptionList)
        options.clear_options()
        options.add_options([Option(tag_label(t), id=str(t.id)) for t in tags])
        if not tags:
            options.add_option(Option(Text(_("No tags yet."), "dim"), disabled=True))

    def message(self, text: Text, error: bool = False) -> None:
        label = self.query_one("#tag-message", Static)
        label.update(text)
        label.set_class(error, "form-error")

    @on(Input.Changed, "#tag-name")
    def point_to_existing(self, event: Input.Changed) -> None:
        """A name typed in another case (or width) than an existing tag is that tag: say so
        before it is added, so nobody thinks they are making a new one."""
        typed = v.clean_line(event.value)
        if not typed:
            return  # emptied after an add: the note on what was added stays
        matches = self.service.tags.suggest(typed, self.tag_type or None, limit=1)
        if matches and v.tag_key(matches[0].name) == v.tag_key(typed) and matches[0].name != typed:
            existing = _("Existing tag {tag} — Enter adds it")
            self.message(message_text(existing, tag=tag_label(matches[0], aligned=False)))
        else:
            self.message(Text(""))

    @on(Input.Submitted, "#tag-name")
    def action_add(self) -> None:
        name_input = self.query_one("#tag-name", Input)
        existing = {
            t.id for t in self.service.tags.suggest(name_input.value, self.tag_type or None)
        }
        try:
            tag = self.service.tags.add(self.customer_id, self.tag_type, name_input.value)
        except (v.FormErrors, ServiceError) as exc:  # each error names its field
            self.message(Text(str(exc)), error=True)
            return
        self.changed = True
        added = _("Added {tag}") if tag.id in existing else _("Created and added {tag}")
        self.message(message_text(added, tag=tag_label(tag, aligned=False)))
        name_input.value = ""
        self.show_tags()

    def action_remove(self) -> None:
        options = self.query_one("#current-tags", OptionList)
        if options.highlighted is None:
            self.message(Text(_("Select a tag in the list first (Shift+Tab).")), error=True)
            return
        option = options.get_option_at_index(options.highlighted)
        if option.id is None:
            return
        try:
            self.service.tags.remove(self.customer_id, int(option.id))
        except ServiceError as exc:
            self.message(Text(str(exc)), error=True)
            return
        self.changed = True
        removed = tag_label(self.shown[option.id], aligned=False)
        self.message(message_text(_("Removed {tag}"), tag=removed))
        self.show_tags()

    def action_close(self) -> None:
        self.dismiss(self.changed)
