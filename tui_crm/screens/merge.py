"""Two customers side by side: pick the surviving value of each field, then merge.

Keyboard only: ↑↓ move between fields, ←/`1` keeps the left (surviving) record's value,
→/`2` takes the right one's, space toggles, `x` swaps which record survives, `m` asks
and merges. Values are shown as the detail screen shows them (masked); a `*` marks two
sensitive values that differ although they mask alike. Dismissed with the merge's
result, or None when cancelled.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from .. import validation as v
from ..i18n import N_, _
from ..i18n.formats import fit, pad
from ..service import NotFound, Service, ServiceError
from ..service.cleaning import (
    FieldView,
    MergeResult,
    MergeStale,
    MergeView,
    Side,
    merge_field_label,
)
from ..widgets.keys_footer import KeysFooter
from ..widgets.translated_bindings import TranslatedBindings
from .confirm import ConfirmScreen

LABEL_CELLS = 16
CHOSEN, OTHER = "●", "○"


class MergeScreen(TranslatedBindings, Screen[MergeResult | None]):
    """The side-by-side merge of `merged_id` into `survivor_id`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,1", "pick('survivor')", N_("Keep left"), id="merge.keep_left"),
        Binding("right,2", "pick('merged')", N_("Take right"), id="merge.take_right"),
        Binding("space", "toggle", N_("Toggle"), show=False, id="merge.toggle"),
        Binding("x", "swap", N_("Swap sides"), id="merge.swap"),
        Binding("m", "merge", N_("Merge"), id="merge.merge"),
        Binding("escape", "cancel", N_("Cancel"), id="merge.cancel"),
    ]

    DEFAULT_CSS = """
    MergeScreen #merge-title { padding: 0 1; background: $boost; }
    MergeScreen #merge-heads { padding: 0 1; text-style: bold; }
    MergeScreen OptionList { height: 1fr; }
    MergeScreen #merge-note { padding: 0 1; color: $text-muted; }
    """

    def __init__(self, service: Service, survivor_id: int, merged_id: int) -> None:
        super().__init__()
        self.service = service
        self.ids = (survivor_id, merged_id)
        self.view: MergeView | None = None
        self.sides: dict[str, Side] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="merge-title", markup=False)
        yield Static("", id="merge-heads", markup=False)
        yield OptionList(id="merge-fields")
        yield Static("", id="merge-note", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self._load()

    def on_resize(self, event: events.Resize) -> None:
        if self.view is not None:
            self._draw()

    def _load(self) -> None:
        try:
            self.view = self.service.cleaning.side_by_side(*self.ids)
        except NotFound:
            gone = _("One of the two is no longer there (merged or removed meanwhile);"
                     " ctrl+r rescans.")  # fmt: skip
            self.notify(gone, severity="warning", markup=False)
            self.dismiss(None)
            return
        except ServiceError as exc:
            self.notify(str(exc), severity="error", markup=False)
            self.dismiss(None)
            return
        self.sides = {f.field: f.default for f in self.view.fields}
        self._draw()

    @property
    def shown(self) -> list[FieldView]:
        """The fields worth a row: those with a value on either side."""
        return [f for f in self.view.fields if f.survivor or f.merged] if self.view else []

    def _value_cells(self) -> int:
        return max(10, (self.size.width - LABEL_CELLS - 12) // 2)

    def _draw(self) -> None:
        view = self.view
        assert view is not None
        cells = self._value_cells()
        self.query_one("#merge-title", Static).update(
            Text(
                _(
                    "Merge {merged} into {survivor}: pick the value that stays for each field"
                ).format(merged=view.merged_code, survivor=view.survivor_code)
            )
        )
        heads = Text(pad("", LABEL_CELLS + 2))
        stays = _("{code} stays").format(code=view.survivor_code)
        goes = _("{code} goes").format(code=view.merged_code)
        heads.append(pad(fit(stays, cells + 2), cells + 4))
        heads.append(fit(goes, cells + 2).rstrip())
        self.query_one("#merge-heads", Static).update(heads)
        listing = self.query_one(OptionList)
        highlighted = listing.highlighted
        listing.clear_options()
        listing.add_options(Option(self._row(f, cells), id=f.field) for f in self.shown)
        listing.highlighted = 0 if highlighted is None else highlighted
        self._note()

    def _row(self, f: FieldView, cells: int) -> Text:
        """One field: its name, then each side's value with a mark on the one that stays."""
        text = Text(fit(merge_field_label(f.field), LABEL_CELLS) + " ")
        for side, value in (("survivor", f.survivor), ("merged", f.merged)):
            chosen = self.sides[f.field] == side
            text.append(CHOSEN if chosen else OTHER, "bold green" if chosen else "dim")
            text.append(" ")
            shown = fit(" ".join(v.clean_text(value, multiline=True).split()), cells)
            text.append(shown, "bold" if chosen else "dim")
            text.append("  ")
        if f.sensitive and f.differs and f.survivor == f.merged:
            text.append("*", "bold yellow")
        return text

    def _note(self) -> None:
        self.query_one("#merge-note", Static).update(self._note_text())

    def _note_text(self) -> Text:
        """Which values come from the right, and what a `*` means if one is shown."""
        taken = [merge_field_label(f.field) for f in self.shown if self.sides[f.field] == "merged"]
        note = Text(
            _("Taken from the right: {fields}").format(fields=", ".join(taken))
            if taken
            else _("Every value stays from the left.")
        )
        if any(f.sensitive and f.differs and f.survivor == f.merged for f in self.shown):
            note.append("  " + _("* differs, though it looks alike masked"))
        return note

    def _highlighted(self) -> FieldView | None:
        index = self.query_one(OptionList).highlighted
        shown = self.shown
        return shown[index] if index is not None and index < len(shown) else None

    def _set(self, f: FieldView, side: Side) -> None:
        self.sides[f.field] = side
        index = self.shown.index(f)
        self.query_one(OptionList).replace_option_prompt_at_index(
            index, self._row(f, self._value_cells())
        )
        self._note()

    def action_pick(self, side: Side) -> None:
        f = self._highlighted()
        if f is not None:
            self._set(f, side)

    def action_toggle(self) -> None:
        f = self._highlighted()
        if f is not None:
            self._set(f, "merged" if self.sides[f.field] == "survivor" else "survivor")

    def action_swap(self) -> None:
        self.ids = (self.ids[1], self.ids[0])
        self._load()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_merge(self) -> None:
        view = self.view
        if view is None:
            return
        details = self._note_text()
        question = _(
            "Merge {merged} into {survivor}? {merged} goes for good; its follow-ups,"
            " interactions and tags move over and its code will find {survivor}."
        ).format(merged=view.merged_code, survivor=view.survivor_code)

        def answered(yes: bool | None) -> None:
            if yes:
                self._merge(view)

        self.app.push_screen(ConfirmScreen(question, details), answered)

    def _merge(self, view: MergeView) -> None:
        try:
            result = self.service.cleaning.merge(
                view.survivor_id, view.merged_id, dict(self.sides), view.expected_versions
            )
        except MergeStale as exc:
            self.notify(str(exc), severity="warning", markup=False)
            self._load()
            return
        except (ServiceError, ValueError) as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.dismiss(result)
